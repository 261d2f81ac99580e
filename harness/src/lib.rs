//! benchseal: a benchmark harness whose numbers can be trusted.
//!
//! The library holds everything; `main.rs` only parses arguments and maps the outcome of
//! [`run`] to an exit code. Cores are pure (statistics, comparison policy, SLO evaluation,
//! digests take values and return values); I/O stays at the edges (engines, stores,
//! report writers), which is what lets the cores be property-tested.

pub mod baseline;
pub mod cli;
pub mod compare;
pub mod digest;
pub mod digests;
pub mod engine;
pub mod env;
pub mod env_cmd;
pub mod exit;
pub mod fsutil;
pub mod history;
pub mod measure;
pub mod record;
pub mod report;
pub mod run;
pub mod signoff;
pub mod slo;
pub mod stats;
pub mod verify;

use anyhow::Result;

pub use exit::Outcome;

/// Runs one parsed command line.
pub fn run(cli: cli::Cli) -> Result<Outcome> {
    use cli::Command;
    match cli.command {
        Command::Run(args) => run::execute(args),
        Command::Env(args) => env_cmd::execute(args),
        Command::Baseline(args) => baseline::execute(args),
        Command::Compare(args) => compare::execute(args),
        Command::History(args) => history::execute(args),
        Command::Signoff(args) => signoff::execute(args),
        Command::Verify(args) => verify::execute(args),
        Command::Measure(args) => measure::execute(args),
        Command::Codec(args) => kernel_tool(benchseal_kernel_cli::codec::execute(args)),
        Command::Sync(args) => kernel_tool(benchseal_kernel_cli::sync::execute(args)),
        Command::Digests(args) => digests::execute(args),
    }
}

/// The outcome of one of the kernels' own tools (`codec`, `sync`): success and failure as
/// they are, and bad input as the harness's [`exit::BadInput`] (exit code 2) with the same
/// message.
fn kernel_tool(result: Result<benchseal_kernel_cli::ToolExit>) -> Result<Outcome> {
    use benchseal_kernel_cli::{ToolExit, is_bad_input};
    match result {
        Ok(ToolExit::Success) => Ok(Outcome::Success),
        Ok(ToolExit::Failed) => Ok(Outcome::Failed),
        Err(err) if is_bad_input(&err) => Err(exit::bad_input(format!("{err:#}"))),
        Err(err) => Err(err),
    }
}
