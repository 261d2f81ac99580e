//! `benchseal run`. Filled in by the run-pipeline work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

pub fn execute(_args: RunArgs) -> Result<Outcome> {
    anyhow::bail!("benchseal run is not built yet")
}
