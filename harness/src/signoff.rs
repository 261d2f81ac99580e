//! `benchseal signoff --version V`. Filled in by the sign-off work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal signoff --version V`.
#[derive(Debug, clap::Args)]
pub struct SignoffArgs {}

pub fn execute(_args: SignoffArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
