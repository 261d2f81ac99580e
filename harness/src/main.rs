//! The `benchseal` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = benchseal::app::Cli::parse();
    match benchseal::app::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            eprintln!("benchseal: error: {err:#}");
            ExitCode::from(benchseal::app::exit::code_for_error(&err))
        }
    }
}
