//! `benchseal compare A B` and the comparison policy. Filled in by the baselines work.

use anyhow::Result;

use crate::Outcome;
use crate::record::RunRecord;

/// Arguments of `benchseal compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {}

pub fn execute(_args: CompareArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}

/// Compares a finished run with the stored baseline `version` of its machine class, prints
/// the comparison and returns its outcome (used by `benchseal run --compare-to V`).
/// (Contract kept by the baselines work.)
pub fn compare_to_baseline(
    _record: &RunRecord,
    _version: &str,
    _allow_env_mismatch: bool,
) -> Result<Outcome> {
    anyhow::bail!("comparison is not built yet")
}
