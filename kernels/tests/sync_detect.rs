//! Binary detection: the rules at their edges, and every SIMD level against the oracle.

use std::path::Path;

use benchseal_kernels::simd::SimdLevel;
use benchseal_kernels::sync::detect::{
    FileKind, Reason, SAMPLE_LEN, by_extension, detect, detect_content, sample_stats_at,
    sample_stats_scalar,
};
use proptest::prelude::*;

/// The levels this CPU runs, worked out (and the others named) once per test binary,
/// not once per property case.
static LEVELS: std::sync::LazyLock<Vec<SimdLevel>> = std::sync::LazyLock::new(SimdLevel::runnable);

#[test]
fn extensions_decide_before_content_and_ignore_case() {
    assert_eq!(by_extension(Path::new("src/main.RS")), Some(FileKind::Text));
    assert_eq!(by_extension(Path::new("logo.PNG")), Some(FileKind::Binary));
    assert_eq!(by_extension(Path::new("Makefile")), None);
    assert_eq!(by_extension(Path::new(".gitignore")), None);
    assert_eq!(by_extension(Path::new("x.averyverylongextension")), None);
    // A NUL-laden .txt is still text by its extension; a clean .png is still binary.
    let d = detect(Path::new("notes.txt"), b"\0\0\0");
    assert_eq!((d.kind, d.reason), (FileKind::Text, Reason::TextExtension));
    let d = detect(Path::new("a.png"), b"hello");
    assert_eq!(
        (d.kind, d.reason),
        (FileKind::Binary, Reason::BinaryExtension)
    );
    assert_eq!(d.stats, None, "the extension decided; nothing was scanned");
    let d = detect(Path::new("README"), b"hello\n");
    assert_eq!(d.stats, Some(sample_stats_scalar(b"hello\n")));
    assert_eq!(
        (d.kind, d.reason),
        (FileKind::Text, Reason::MostlyPrintable)
    );
}

#[test]
fn empty_is_text_and_any_nul_in_the_sample_is_binary() {
    assert_eq!(detect_content(b"").reason, Reason::Empty);
    assert_eq!(detect_content(b"").kind, FileKind::Text);
    let mut text = vec![b'a'; SAMPLE_LEN + 100];
    text[SAMPLE_LEN - 1] = 0;
    assert_eq!(detect_content(&text).reason, Reason::Nul);
    // A NUL past the sample is not seen.
    text[SAMPLE_LEN - 1] = b'a';
    text[SAMPLE_LEN] = 0;
    assert_eq!(detect_content(&text).kind, FileKind::Text);
}

#[test]
fn exactly_thirty_percent_is_text_and_one_more_byte_is_binary() {
    // 3 suspicious bytes in 10: exactly 30%, not more.
    let mut sample = b"abcdefg\x01\x02\xff".to_vec();
    assert_eq!(detect_content(&sample).kind, FileKind::Text);
    sample[0] = 0x80;
    let d = detect_content(&sample);
    assert_eq!(
        (d.kind, d.reason),
        (FileKind::Binary, Reason::SuspiciousShare)
    );
    // TAB, LF and CR are never suspicious.
    assert_eq!(sample_stats_scalar(b"\t\n\r\t\n\r").suspicious, 0);
}

#[test]
fn every_byte_value_is_classified_the_same_on_every_level() {
    let all: Vec<u8> = (0..=255).collect();
    for &level in LEVELS.iter() {
        for len in [1, 31, 32, 63, 64, 65, 256] {
            let sample: Vec<u8> = all.iter().cycle().skip(7).take(len).copied().collect();
            assert_eq!(
                sample_stats_at(&sample, level),
                sample_stats_scalar(&sample),
                "{level} len {len}"
            );
        }
    }
}

fn biased_bytes() -> impl Strategy<Value = Vec<u8>> {
    // Mostly printable with a tunable share of controls, high bytes and NULs, so both
    // verdicts and the 30% boundary are exercised.
    (0u8..=100, 0usize..SAMPLE_LEN + 300).prop_flat_map(|(suspicious_pct, len)| {
        proptest::collection::vec(
            (0u8..100, any::<u8>(), 0u16..2000).prop_map(move |(roll, raw, nul_roll)| {
                if nul_roll == 0 {
                    0
                } else if roll < suspicious_pct {
                    if raw < 128 { (raw % 31) + 1 } else { raw }
                } else {
                    32 + raw % 95
                }
            }),
            len,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn simd_levels_match_the_oracle(bytes in biased_bytes(), start in 0usize..64) {
        let start = start.min(bytes.len());
        let slice = &bytes[start..];
        let expected = sample_stats_scalar(slice);
        for &level in LEVELS.iter() {
            prop_assert_eq!(sample_stats_at(slice, level), expected, "level {}", level);
        }
    }
}

/// Unix text (printable lines ending in LF) with a few bytes of any value planted at random
/// places: the AVX-512 scan skips 64-byte pieces whose only controls are LF, so the pieces
/// next to a planted TAB, CR, NUL or high byte must take the full rule.
fn unix_text_with_planted_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(32u8..127, 0..SAMPLE_LEN + 300),
        1usize..120,
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    )
        .prop_map(|(mut bytes, line, planted)| {
            for i in (line..bytes.len()).step_by(line) {
                bytes[i] = b'\n';
            }
            if !bytes.is_empty() {
                for (at, value) in planted {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn unix_text_matches_the_oracle(bytes in unix_text_with_planted_bytes(), start in 0usize..64) {
        let start = start.min(bytes.len());
        let slice = &bytes[start..];
        let expected = sample_stats_scalar(slice);
        for &level in LEVELS.iter() {
            prop_assert_eq!(sample_stats_at(slice, level), expected, "level {}", level);
        }
    }
}
