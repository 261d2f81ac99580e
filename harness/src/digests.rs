//! `benchseal digests`: the committed golden output digests. Filled in by the run-pipeline work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal digests`.
#[derive(Debug, clap::Args)]
pub struct DigestsArgs {}

pub fn execute(_args: DigestsArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
