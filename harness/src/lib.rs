//! benchseal: a benchmark harness whose numbers can be trusted.
//!
//! The library holds everything; `main.rs` only parses arguments and maps the outcome of
//! [`run`] to an exit code. Cores are pure (statistics, comparison policy, SLO evaluation,
//! digests take values and return values); I/O stays at the edges (engines, stores,
//! report writers), which is what lets the cores be property-tested.

pub mod baseline;
pub mod cli;
pub mod codec_cmd;
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
pub mod sync_cmd;
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
        Command::Codec(args) => codec_cmd::execute(args),
        Command::Sync(args) => sync_cmd::execute(args),
        Command::Digests(args) => digests::execute(args),
    }
}
