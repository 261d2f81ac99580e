//! The `benchseal` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = benchseal::cli::Cli::parse();
    match benchseal::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) => {
            eprintln!("benchseal: error: {err:#}");
            ExitCode::from(benchseal::exit::code_for_error(&err))
        }
    }
}
