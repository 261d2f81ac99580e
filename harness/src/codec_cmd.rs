//! `benchseal codec decode`. Filled in by the codec work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal codec decode`.
#[derive(Debug, clap::Args)]
pub struct CodecArgs {}

pub fn execute(_args: CodecArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
