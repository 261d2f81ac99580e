//! A run from the command line: progress on stderr, then the summary and where the time
//! went. Shared by `run`, `compare --ab`, `signoff` and `verify --rerun`.

use anyhow::{Context, Result};
use benchseal_benches::Workload;

use crate::pipeline::{Progress, RunConfig, RunOutput};

/// Progress lines on stderr, whatever goes to stdout.
pub struct Stderr;

impl Progress for Stderr {
    fn line(&self, text: &str) {
        eprintln!("benchseal: {text}");
    }
}

/// Where the run's summary table goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryTo {
    Stdout,
    /// Stdout is for something else (a comparison in a machine format).
    Stderr,
    /// The summary on stderr, the record as JSON on stdout (`run --json`).
    StderrWithRecordJson,
}

/// Runs the pipeline with progress on stderr, then prints the summary where `to` says and
/// where the time went. An interrupted run is an error naming its partial record.
///
/// With a signing key, a complete run's records (and the baseline side's of a paired
/// session) are signed once sealed; a partial record is never signed.
pub fn run_and_report(
    config: &RunConfig,
    registry: &[Workload],
    to: SummaryTo,
    sign: Option<&crate::sys::sign::SigningKey>,
) -> Result<RunOutput> {
    let run = crate::pipeline::run_with(config, registry, &Stderr)?;
    let text = crate::present::summary::render(&run.record);
    match to {
        SummaryTo::Stdout => print!("{text}"),
        SummaryTo::Stderr => eprint!("{text}"),
        SummaryTo::StderrWithRecordJson => {
            eprint!("{text}");
            println!(
                "{}",
                serde_json::to_string_pretty(&run.record).context("printing the run record")?
            );
        }
    }
    for line in crate::present::summary::timing_lines(&run.record) {
        Stderr.line(&line);
    }
    Stderr.line(&format!("sealed run record {}", run.path.display()));
    if run.interrupted {
        return Err(anyhow::anyhow!(
            "interrupted; the partial record is {}",
            run.path.display()
        ));
    }
    let mut files = vec![run.path.as_path()];
    files.extend(run.partner.as_ref().map(|(_, path)| path.as_path()));
    super::args::sign_files(sign, &files)?;
    Ok(run)
}
