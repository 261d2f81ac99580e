//! `benchseal baseline save|list|show`. Filled in by the baselines work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal baseline save|list|show`.
#[derive(Debug, clap::Args)]
pub struct BaselineArgs {}

pub fn execute(_args: BaselineArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
