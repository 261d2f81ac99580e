//! Content comparison: the documented definitions on hand-made cases, and every SIMD level
//! against the oracle on random buffers and difference positions.

use benchseal_kernels::simd::SimdLevel;
use benchseal_kernels::sync::compare::{
    ChangedLines, Comparison, Difference, compare, compare_at, compare_scalar,
};
use proptest::prelude::*;

/// The levels this CPU runs, worked out (and the others named) once per test binary,
/// not once per property case.
static LEVELS: std::sync::LazyLock<Vec<SimdLevel>> = std::sync::LazyLock::new(SimdLevel::runnable);

fn diff(old: &[u8], new: &[u8]) -> Difference {
    compare_scalar(old, new).difference.expect("buffers differ")
}

#[test]
fn equal_buffers_have_no_difference() {
    assert!(compare(b"", b"").is_equal());
    assert!(compare(b"same\n", b"same\n").is_equal());
    assert_eq!(compare(b"x", b"x").to_bytes(), [0; 56]);
}

#[test]
fn one_changed_byte_names_its_offset_and_line() {
    let d = diff(b"one\ntwo\nthree\n", b"one\ntwX\nthree\n");
    assert_eq!((d.offset, d.old_end, d.new_end), (6, 7, 7));
    assert_eq!(
        d.lines,
        ChangedLines {
            first: 2,
            old_last: 2,
            new_last: 2
        }
    );
}

#[test]
fn inserted_lines_span_more_lines_in_the_new_buffer() {
    let d = diff(b"a\nc\n", b"a\nb\nb\nc\n");
    // Common prefix "a\n", common suffix "c\n": the region is
    // empty in old (insertion at line 2) and "b\nb\n" in new, lines 2..=3.
    assert_eq!(d.offset, 2);
    assert_eq!(d.old_end, 2);
    assert_eq!(d.new_end, 6);
    assert_eq!(
        d.lines,
        ChangedLines {
            first: 2,
            old_last: 2,
            new_last: 3
        }
    );
}

#[test]
fn prefix_of_the_other_differs_at_the_shorter_length() {
    let d = diff(b"abc", b"abcdef");
    assert_eq!((d.offset, d.old_end, d.new_end), (3, 3, 6));
    let d = diff(b"abc\n\n", b"abc");
    assert_eq!((d.offset, d.old_end, d.new_end), (3, 5, 3));
    assert_eq!(
        d.lines,
        ChangedLines {
            first: 1,
            old_last: 2,
            new_last: 1
        }
    );
}

#[test]
fn a_change_to_a_newline_byte_belongs_to_the_line_it_ends() {
    let d = diff(b"ab\ncd", b"abXcd");
    assert_eq!(d.offset, 2);
    assert_eq!(
        d.lines,
        ChangedLines {
            first: 1,
            old_last: 1,
            new_last: 1
        }
    );
}

fn check_all_levels(old: &[u8], new: &[u8]) -> Result<(), TestCaseError> {
    let expected: Comparison = compare_scalar(old, new);
    for &level in LEVELS.iter() {
        prop_assert_eq!(compare_at(old, new, level), expected, "level {}", level);
    }
    Ok(())
}

fn text_like(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
    // A small alphabet with many LFs so line counts and suffix matches are non-trivial.
    proptest::collection::vec(
        prop_oneof![Just(b'\n'), Just(b'a'), Just(b'b'), any::<u8>()],
        len,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn simd_matches_oracle_on_point_edits(
        base in text_like(0..3000),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        start in 0usize..70,
    ) {
        let mut changed = base.clone();
        for (at, byte) in &edits {
            if !changed.is_empty() {
                let i = at.index(changed.len());
                changed[i] = *byte;
            }
        }
        let start = start.min(base.len());
        check_all_levels(&base[start..], &changed[start..])?;
    }

    #[test]
    fn simd_matches_oracle_on_insertions_and_truncations(
        base in text_like(0..3000),
        at in any::<prop::sample::Index>(),
        inserted in text_like(0..200),
        cut in 0usize..300,
    ) {
        let at = if base.is_empty() { 0 } else { at.index(base.len() + 1).min(base.len()) };
        let mut grown = base[..at].to_vec();
        grown.extend_from_slice(&inserted);
        grown.extend_from_slice(&base[at..]);
        check_all_levels(&base, &grown)?;
        check_all_levels(&grown, &base)?;
        let truncated = &base[..base.len().saturating_sub(cut)];
        check_all_levels(&base, truncated)?;
    }

    #[test]
    fn simd_matches_oracle_on_unrelated_buffers(a in text_like(0..600), b in text_like(0..600)) {
        check_all_levels(&a, &b)?;
    }
}
