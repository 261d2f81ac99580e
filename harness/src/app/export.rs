//! `benchseal export RUN --format F`: one run's numbers for Bencher, github-action-benchmark
//! or a spreadsheet. It judges nothing, so it exits 0 whatever the numbers are.

use std::path::PathBuf;

use anyhow::Result;

use crate::model::outcome::{Outcome, bad_input};
use crate::present::export::{ExportFormat, render};

crate::app::args::value_enum!(ExportFormat);

/// Arguments of `benchseal export`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    benchseal export 20261203T214716Z-16446 --format bmf > bmf.json\n  \
    bencher run --project benchseal --branch main --testbed \"$CLASS\" --adapter json --file bmf.json\n  \
    benchseal export reports/runs/latest.json --format custom-smaller-is-better -o times.json\n  \
    benchseal export 0.1.1 --format csv > v0.1.1.csv\n\n\
    Exit codes: 0 written, 2 bad input (no such run, an unsealed record, an unwritable -o), \
    3 a record whose seal does not match.")]
pub struct ExportArgs {
    /// The run: a run file, a run id, or a baseline version (tried in that order).
    pub run: String,
    #[arg(long, value_enum, default_value = "bmf")]
    pub format: ExportFormat,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Machine class to read when RUN is a baseline saved for several classes.
    #[arg(long)]
    pub machine_class: Option<String>,
    #[command(flatten)]
    pub stores: super::args::StoreArgs,
}

pub fn execute(args: ExportArgs) -> Result<Outcome> {
    let resolved = crate::store::resolve(
        &args.run,
        &args.stores.runs_dir,
        &args.stores.baselines_dir,
        args.machine_class.as_deref(),
        None,
    )?;
    let text = render(&resolved.record, args.format);
    match &args.out {
        Some(path) => {
            crate::sys::fs::write_atomic(path, text.as_bytes())
                .map_err(|e| bad_input(format!("-o {}: {e:#}", path.display())))?;
            eprintln!(
                "benchseal: wrote {} ({}, run {})",
                path.display(),
                args.format.name(),
                resolved.record.run_id
            );
        }
        None => print!("{text}"),
    }
    Ok(Outcome::Success)
}
