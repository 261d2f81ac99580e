//! `benchseal measure [--runs N] [--id ID] [--out RUN_FILE] -- CMD ARGS...`: the process
//! engine on one command line.
//!
//! With `--out`, the measurement is added to a run record (replacing a measurement with
//! the same id) and the record is resealed; a record whose seal is already broken is
//! refused, so `measure` never launders an edited record into a freshly sealed one.

use std::path::PathBuf;

use anyhow::Result;
use benchseal_benches::Unit;

use crate::model::outcome::{Outcome, bad_input};
use crate::pipeline::engine::process::{self, ProcessPlan};

/// Examples and exit codes, after `--help`.
const MEASURE_HELP: &str = r#"Examples:
  benchseal measure --runs 20 -- gzip -k -f big.tar
  benchseal measure --unit bytes --units 268435456 --out reports/runs/<run-id>.json -- \
      benchseal codec decode --layout x10.json in.bin

Exit codes: 0 measured; 1 the command failed; 2 bad input; 3 --out names a record whose
seal does not match."#;

/// Arguments of `benchseal measure`.
#[derive(Debug, clap::Args)]
#[command(after_help = MEASURE_HELP)]
pub struct MeasureArgs {
    /// Measured runs.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,
    /// Unmeasured runs first.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// Id of the measurement (default: the program's file name).
    #[arg(long)]
    pub id: Option<String>,
    /// Unit of work one run of the command performs (bytes, weights, files, operations,
    /// tokens).
    #[arg(long, requires = "units", value_parser = str::parse::<Unit>)]
    pub unit: Option<Unit>,
    /// Units of work per run of the command.
    #[arg(long, requires = "unit")]
    pub units: Option<u64>,
    /// A run record to add the measurement to (resealed); created if missing.
    #[arg(long, value_name = "RUN_FILE")]
    pub out: Option<PathBuf>,
    /// Print the measurement as JSON on stdout instead of the summary (what `signoff`
    /// reads when it measures its `[[process]]` commands in a process of their own).
    #[arg(long, hide = true, conflicts_with = "out")]
    pub json: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn execute(args: MeasureArgs) -> Result<Outcome> {
    if let Some(out) = &args.out {
        crate::sys::fs::check_output_file(out)?;
    }
    let id = args.id.clone().unwrap_or_else(|| {
        std::path::Path::new(&args.command[0])
            .file_name()
            .map_or_else(
                || args.command[0].clone(),
                |n| n.to_string_lossy().into_owned(),
            )
    });
    let plan = ProcessPlan {
        id,
        command: args.command.clone(),
        runs: args.runs,
        warmup: args.warmup,
        unit: args.unit,
        units: args.units,
    };
    let record = process::measure(&plan).map_err(|e| bad_input(e.to_string()))?;
    if args.json {
        println!("{}", serde_json::to_string(&record)?);
    } else {
        crate::present::style::print_out(&crate::present::summary::process(&record));
    }
    if let Some(out) = &args.out {
        process::append_to_run(out, record.clone())?;
        println!("added to {} (resealed)", out.display());
    }
    Ok(if record.status.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
