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
