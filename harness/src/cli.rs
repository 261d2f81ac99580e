//! Command-line definition. Each subcommand's arguments live in the module that runs it.

use clap::{Parser, Subcommand};

/// benchseal: benchmark numbers that are real, reproducible and good enough to ship.
#[derive(Debug, Parser)]
#[command(name = "benchseal", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the suite: digest pass, wall-clock and instruction-count engines, sealed record.
    Run(crate::run::RunArgs),
    /// Print, check, pin or reset the environment that can change a number.
    Env(crate::env_cmd::EnvArgs),
    /// Save, list and show versioned baselines.
    Baseline(crate::baseline::BaselineArgs),
    /// Compare two stored runs or baselines.
    Compare(crate::compare::CompareArgs),
    /// The trend of a workload over stored runs, with change points.
    History(crate::history::HistoryArgs),
    /// Evaluate the SLOs and write the sign-off report of a release.
    #[command(disable_version_flag = true)]
    Signoff(crate::signoff::SignoffArgs),
    /// Re-check a report or baseline: seal, digests, instruction counts, wall-clock.
    Verify(crate::verify::VerifyArgs),
    /// Measure a whole command N times: p50/p95/p99 wall time and peak RSS.
    Measure(crate::measure::MeasureArgs),
    /// Decode COBOL copybook records.
    Codec(benchseal_kernel_cli::codec::CodecArgs),
    /// Repository sync: plan a directory sync.
    Sync(benchseal_kernel_cli::sync::SyncArgs),
    /// Show, check or rewrite the committed golden output digests.
    Digests(crate::digests::DigestsArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
