//! `benchseal history`. Filled in by the baselines work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {}

pub fn execute(_args: HistoryArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
