//! The protocol between the harness and the bench executables, defined once and used by
//! both sides.
//!
//! The harness decides which cases run (after its digest pass has proven each one produces
//! the golden output) and hands them to a bench executable in [`CASES_VAR`]: a
//! comma-separated list of case keys `workload-id@path`. Workload ids never contain `@`;
//! the last `@` separates the path. The instr target names each case `cases_<index>`
//! ([`INSTR_CASE_PREFIX`]), the index into that list, in gungraun's output and summary
//! files; and writes the path label the measured process saw into a file under
//! [`LABELS_VAR`].

use std::time::Duration;

/// The variable naming the cases to run.
pub const CASES_VAR: &str = "BENCHSEAL_CASES";

/// The variable naming the directory of the instr target's label files.
pub const LABELS_VAR: &str = "BENCHSEAL_INSTR_LABELS";

/// The prefix of the instr target's case ids: `cases_<index>`.
pub const INSTR_CASE_PREFIX: &str = "cases_";

/// The key of one workload on one path: `workload-id@path` (also from the names criterion
/// reports, group = workload id and function = path).
pub fn case_key(id: impl std::fmt::Display, path: impl std::fmt::Display) -> String {
    format!("{id}@{path}")
}

/// A case key split into its workload id and path name; `None` without an `@`.
pub fn split_case_key(key: &str) -> Option<(&str, &str)> {
    key.rsplit_once('@')
}

/// The [`CASES_VAR`] value for these keys.
pub fn case_list<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    keys.into_iter().collect::<Vec<_>>().join(",")
}

/// The length the instr engine pads a [`CASES_VAR`] value to (a multiple of it), with
/// empty entries.
pub const PADDED_CASE_LIST: usize = 32 * 1024;

/// The [`CASES_VAR`] value for these keys, padded with commas to a multiple of
/// [`PADDED_CASE_LIST`] bytes. A callgrind count depends by a few instructions on where the
/// bench process's heap and stack put the kernel's buffers, and both depend on the size of
/// the environment and of what is parsed from it; a list of one length whatever cases a run
/// took (a shard, a `--workload` filter) keeps those the same, so a case counts the same
/// instructions in every run.
pub fn padded_case_list<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
    let mut list = case_list(keys);
    let target = list.len().div_ceil(PADDED_CASE_LIST).max(1) * PADDED_CASE_LIST;
    list.extend(std::iter::repeat_n(',', target - list.len()));
    list
}

/// The keys of a [`CASES_VAR`] value (empty entries skipped).
pub fn parse_case_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').filter(|entry| !entry.is_empty())
}

/// The case index of an instr case id `cases_<index>` (also found at the start of a
/// longer string, such as gungraun's `cases_3:<args>`).
pub fn instr_case_index(text: &str) -> Option<usize> {
    let rest = text.strip_prefix(INSTR_CASE_PREFIX)?;
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

/// The criterion samples the wall bench executable takes of a case whose call takes `run`:
/// the configured count where that many calls fit in `measurement`, else as many as fit,
/// never fewer than criterion's least (10). A whole-model decode step on the scalar oracle
/// takes seconds; 100 samples of linearly growing call counts would take most of an hour.
pub fn samples_within(run: Duration, measurement: Duration, configured: usize) -> usize {
    let fit = measurement.as_secs_f64() / run.as_secs_f64().max(1e-9);
    configured.min(fit.floor().max(10.0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_calls_get_fewer_samples_never_below_ten() {
        let ms = Duration::from_millis;
        assert_eq!(samples_within(ms(1), ms(2000), 50), 50);
        assert_eq!(samples_within(ms(100), ms(2000), 50), 20);
        assert_eq!(samples_within(ms(2500), ms(2000), 50), 10);
        assert_eq!(samples_within(Duration::ZERO, ms(2000), 50), 50);
    }
    use crate::{KernelPath, WorkloadId};

    #[test]
    fn keys_round_trip_through_the_case_list() {
        let id: WorkloadId = "sync/compare/identical-13b/tiny".parse().unwrap();
        let keys = [
            case_key(&id, KernelPath::Scalar),
            case_key(&id, KernelPath::Simd),
        ];
        let list = case_list(keys.iter().map(String::as_str));
        assert_eq!(
            list,
            "sync/compare/identical-13b/tiny@scalar,sync/compare/identical-13b/tiny@simd"
        );
        let back: Vec<_> = parse_case_list(&list).collect();
        assert_eq!(back, keys);
        assert_eq!(
            split_case_key(&keys[1]),
            Some(("sync/compare/identical-13b/tiny", "simd"))
        );
        assert_eq!(split_case_key("no-path"), None);
        assert_eq!(parse_case_list(",,").count(), 0);
        let padded = padded_case_list(keys.iter().map(String::as_str));
        assert_eq!(padded.len(), PADDED_CASE_LIST);
        assert_eq!(parse_case_list(&padded).collect::<Vec<_>>(), back);
    }

    #[test]
    fn instr_case_ids_give_their_index() {
        assert_eq!(instr_case_index("cases_12"), Some(12));
        assert_eq!(instr_case_index("cases_3:(x)"), Some(3));
        assert_eq!(instr_case_index("cases_"), None);
        assert_eq!(instr_case_index("other_1"), None);
    }
}
