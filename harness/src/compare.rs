//! `benchseal compare A B`. Filled in by the baselines work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal compare A B`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {}

pub fn execute(_args: CompareArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
