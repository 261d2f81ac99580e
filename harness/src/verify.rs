//! `benchseal verify REPORT_OR_BASELINE`. Filled in by the sign-off work.

use anyhow::Result;

use crate::Outcome;

/// Arguments of `benchseal verify REPORT_OR_BASELINE`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn execute(_args: VerifyArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
