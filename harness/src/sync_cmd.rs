//! `benchseal sync plan`. Filled in by the sync work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal sync plan`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {}

pub fn execute(_args: SyncArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
