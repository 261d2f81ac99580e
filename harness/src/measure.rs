//! `benchseal measure`: the process engine on a whole command. Filled in by the sign-off work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal measure`.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {}

pub fn execute(_args: MeasureArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
