//! `benchseal env`: print, check, pin and reset the environment. Filled in by the environment work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal env`.
#[derive(Debug, clap::Args)]
pub struct EnvArgs {}

pub fn execute(_args: EnvArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
