//! The kernel's CPU list format (`0-3,8,10-11`), as used by `isolated`, `online`,
//! `smp_affinity_list` and `affected_cpus`.

use std::collections::BTreeSet;

/// Parses a CPU list; an empty string is the empty set. Space-separated lists (as in
/// `affected_cpus`) are accepted too.
pub fn parse(text: &str) -> Result<BTreeSet<usize>, String> {
    let mut cpus = BTreeSet::new();
    for part in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let bad = || format!("`{part}` is not a CPU list entry");
        match part.split_once('-') {
            Some((lo, hi)) => {
                let lo: usize = lo.parse().map_err(|_| bad())?;
                let hi: usize = hi.parse().map_err(|_| bad())?;
                if hi < lo || hi - lo > 1 << 16 {
                    return Err(bad());
                }
                cpus.extend(lo..=hi);
            }
            None => {
                cpus.insert(part.parse().map_err(|_| bad())?);
            }
        }
    }
    Ok(cpus)
}

/// Formats CPUs as the kernel does, with ranges; the empty set is `""`.
pub fn format<'a>(cpus: impl IntoIterator<Item = &'a usize>) -> String {
    let sorted: BTreeSet<usize> = cpus.into_iter().copied().collect();
    let mut parts = Vec::new();
    let mut iter = sorted.into_iter().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_lists() {
        assert_eq!(parse("0-3,8,10-11").unwrap().len(), 7);
        assert!(parse("").unwrap().is_empty());
        assert_eq!(format(&parse("0 1 2 5").unwrap()), "0-2,5");
        assert!(parse("3-1").is_err());
        assert!(parse("a").is_err());
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(cpus in proptest::collection::btree_set(0usize..300, 0..40)) {
            prop_assert_eq!(parse(&format(&cpus)).unwrap(), cpus);
        }
    }
}
