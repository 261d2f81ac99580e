//! The command line: clap's types and the commands, the only place `clap` appears. Each
//! command module parses its arguments into the typed values of the layers below, calls
//! them, and prints through `present`; [`exit`] maps what ended a command to its exit
//! code.

pub mod args;
pub mod baseline;
pub mod compare;
pub mod digests;
pub mod env;
pub mod exit;
pub mod export;
pub mod history;
pub mod measure;
pub mod merge;
pub mod preconditions;
pub mod run;
pub mod session;
pub mod shell;
pub mod sign;
pub mod signoff;
pub mod verify;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};

use crate::model::outcome::Outcome;
use crate::present::style::ColorChoice;

/// benchseal: benchmark numbers that are real, reproducible and good enough to ship.
#[derive(Debug, Parser)]
#[command(name = "benchseal", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// When to colour the output: auto colours what goes to a terminal unless NO_COLOR is
    /// set (CLICOLOR_FORCE forces it); pipes and files get plain text
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

args::value_enum!(ColorChoice);

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the suite: digest pass, wall-clock and instruction-count engines, sealed record.
    Run(run::RunArgs),
    /// Print, check, pin or reset the environment that can change a number.
    Env(env::EnvArgs),
    /// Join the shard records of one machine class (`run --shard I/N`) into one record.
    Merge(merge::MergeArgs),
    /// Save, list and show versioned baselines.
    Baseline(baseline::BaselineArgs),
    /// Compare two stored runs or baselines.
    Compare(compare::CompareArgs),
    /// The trend of a workload over stored runs, with change points.
    History(history::HistoryArgs),
    /// Evaluate the SLOs and write the sign-off report of a release.
    #[command(disable_version_flag = true)]
    Signoff(signoff::SignoffArgs),
    /// Re-check a report or baseline: seal, digests, instruction counts, wall-clock.
    Verify(verify::VerifyArgs),
    /// Measure a whole command N times: mean ± σ, range, the percentiles its runs support, peak RSS.
    Measure(measure::MeasureArgs),
    /// Decode COBOL copybook records.
    Codec(benchseal_kernel_cli::codec::CodecArgs),
    /// Repository sync: plan a directory sync; write a planning workload's trees.
    Sync(benchseal_kernel_cli::sync::SyncArgs),
    /// Show, check or rewrite the committed golden output digests.
    Digests(digests::DigestsArgs),
    /// Sign files with an SSH key (detached SSHSIG `<file>.sig`, namespace `benchseal`).
    Sign(sign::SignCommandArgs),
    /// Export one run's numbers: Bencher (BMF), github-action-benchmark, JSON or CSV.
    Export(export::ExportArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or PowerShell.
    Completions(shell::CompletionsArgs),
    /// Print the manual page, or write one page per subcommand into a directory.
    Man(shell::ManArgs),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    crate::present::style::init(cli.color);
    match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Env(args) => env::execute(args),
        Command::Merge(args) => merge::execute(args),
        Command::Baseline(args) => baseline::execute(args),
        Command::Compare(args) => compare::execute(args),
        Command::History(args) => history::execute(args),
        Command::Signoff(args) => signoff::execute(args),
        Command::Verify(args) => verify::execute(args),
        Command::Measure(args) => measure::execute(args),
        Command::Codec(args) => kernel_tool(benchseal_kernel_cli::codec::execute(args)),
        Command::Sync(args) => kernel_tool(benchseal_kernel_cli::sync::execute(args)),
        Command::Digests(args) => digests::execute(args),
        Command::Sign(args) => sign::execute(args),
        Command::Export(args) => export::execute(args),
        Command::Completions(args) => shell::completions(args, Cli::command()),
        Command::Man(args) => shell::man(args, Cli::command()),
    }
}

/// The outcome of one of the kernels' own tools (`codec`, `sync`); their bad-input errors
/// keep their exit code 2 through [`exit::code_for_error`].
fn kernel_tool(result: Result<benchseal_kernel_cli::ToolExit>) -> Result<Outcome> {
    use benchseal_kernel_cli::ToolExit;
    result.map(|exit| match exit {
        ToolExit::Success => Outcome::Success,
        ToolExit::Failed => Outcome::Failed,
    })
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
