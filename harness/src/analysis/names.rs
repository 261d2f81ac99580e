//! Names that are almost right: the valid names closest to a misspelt one, for error
//! messages that say what was probably meant.

/// Edit distance (insertions, deletions, substitutions) between two strings, in chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Up to three of `valid` closest to `name`, closest first (ties in the order given);
/// only names within a third of `name`'s length in edits (at least two), so that a name
/// unlike every valid one gets no suggestion rather than a random one.
pub fn closest<'a>(name: &str, valid: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = valid
        .into_iter()
        .map(|v| (distance(name, v), v))
        .filter(|&(d, _)| d <= limit)
        .collect();
    scored.sort_by_key(|&(d, _)| d);
    scored.into_iter().take(3).map(|(_, v)| v).collect()
}

/// The `n` of `valid` nearest to `name` by edit distance, nearest first (ties in the order
/// given), however far: for a list of names to choose from rather than a correction.
pub fn nearest<'a>(name: &str, valid: impl IntoIterator<Item = &'a str>, n: usize) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> =
        valid.into_iter().map(|v| (distance(name, v), v)).collect();
    scored.sort_by_key(|&(d, _)| d);
    scored.into_iter().take(n).map(|(_, v)| v).collect()
}

/// Whether `id` matches `pattern`: a glob when the pattern has `*` (any run of characters,
/// `/` included) or `?` (one character), else the id itself or a prefix of whole
/// `/`-separated segments (`codec/comp3` matches `codec/comp3/customer/small`, `codec/comp`
/// does not).
pub fn matches_pattern(pattern: &str, id: &str) -> bool {
    if pattern.contains(['*', '?']) {
        return glob(pattern.as_bytes(), id.as_bytes());
    }
    let pattern = pattern.trim_end_matches('/');
    id == pattern
        || id
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `*` and `?` wildcard matching, iterative with backtracking to the last `*`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// `(closest: a, b, c)`, or nothing when there is nothing to suggest.
pub fn closest_hint<'a>(name: &str, valid: impl IntoIterator<Item = &'a str>) -> String {
    let close = closest(name, valid);
    if close.is_empty() {
        String::new()
    } else {
        format!(" (closest: {})", close.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_segment_prefixes_or_globs() {
        let id = "codec/comp3/customer/small";
        for yes in [
            id,
            "codec",
            "codec/comp3",
            "codec/comp3/",
            "codec/*/small",
            "*small",
            "codec/comp?/*",
            "*",
        ] {
            assert!(matches_pattern(yes, id), "{yes}");
        }
        for no in [
            "codec/comp",
            "comp3",
            "codec/*/large",
            "sync",
            "codec/comp3/customer/smallx",
            "?",
        ] {
            assert!(!matches_pattern(no, id), "{no}");
        }
    }

    #[test]
    fn nearest_lists_n_however_far() {
        let valid = [
            "sync/plan/a/small",
            "codec/comp3/a/large",
            "codec/display/a/large",
        ];
        assert_eq!(
            nearest("codec/comp3/a/larg", valid, 2),
            ["codec/comp3/a/large", "codec/display/a/large"]
        );
        assert_eq!(nearest("zzz", valid, 5).len(), 3);
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn closest_names_come_first() {
        let valid = [
            "codec/display/a/large",
            "codec/comp3/a/large",
            "sync/plan/a/small",
        ];
        assert_eq!(
            closest("codec/displya/a/large", valid)[0],
            "codec/display/a/large"
        );
        assert_eq!(closest_hint("x", []), "");
        assert_eq!(closest_hint("harness-startup", valid), "", "nothing alike");
    }
}
