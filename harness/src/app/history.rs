//! `benchseal history`: the trend of each benchmark over stored runs and baselines, with
//! change points (see `analysis::history`). History only reports: it exits 0 whatever the
//! trend shows (a broken or tampered file is still exit 2 or 3), because a change point is
//! a question for a person, not a verdict.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::StoreArgs;
use crate::analysis::compare::Policy;
use crate::analysis::history::build_history;
use crate::analysis::projection::{Over, project};
use crate::model::outcome::{Outcome, bad_input};
use crate::present::history::render_markdown;

/// `--over`: what a projection steps over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OverArg {
    Releases,
    Runs,
}

impl From<OverArg> for Over {
    fn from(arg: OverArg) -> Over {
        match arg {
            OverArg::Releases => Over::Releases,
            OverArg::Runs => Over::Runs,
        }
    }
}

/// Output of `history`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Md,
    Json,
}

/// The SLO file projected when `--slo` is not given, if it exists.
const DEFAULT_SLO: &str = "slo.toml";

/// Examples and exit codes, after `--help`.
const HISTORY_HELP: &str = r#"Examples:
  benchseal history --workload codec/comp3               # trend and change points, Markdown
  benchseal history --workload sync --format json
  benchseal history --slo slo.toml --over runs          # projections over every stored run

Each objective of the SLO file (`slo.toml` when it exists) is projected: the Theil-Sen slope
of its value over the last 8 releases (or runs) and in how many more at that slope it
crosses its target, "no trend" within the metric's noise, or "no projection" with fewer
than 3 points.

Exit codes: 0 printed; 2 bad input (no stored record matches, an unsealed record, an SLO
file that cannot be read)."#;

/// Arguments of `benchseal history`.
#[derive(Debug, clap::Args)]
#[command(after_help = HISTORY_HELP)]
pub struct HistoryArgs {
    /// A workload id, or a prefix of ids (`codec/comp3`); default: every workload.
    #[arg(long)]
    pub workload: Option<String>,
    /// Only this machine class.
    #[arg(long)]
    pub machine_class: Option<String>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: HistoryFormat,
    /// Smallest shift (percent) reported as a change point, for every metric.
    #[arg(long)]
    pub min_shift_pct: Option<f64>,
    /// SLO file whose objectives are projected [default: slo.toml, when it exists]
    #[arg(long, value_name = "FILE")]
    pub slo: Option<PathBuf>,
    /// What a projection steps over: release baselines, or every stored run
    #[arg(long, value_enum, default_value = "releases")]
    pub over: OverArg,
    #[command(flatten)]
    pub stores: StoreArgs,
}

pub fn execute(args: HistoryArgs) -> Result<Outcome> {
    if let Some(shift) = args.min_shift_pct
        && !(shift.is_finite() && shift >= 0.0)
    {
        return Err(bad_input(format!(
            "--min-shift-pct must be ≥ 0, not {shift}"
        )));
    }
    let (records, skipped) = crate::store::history_records(&(&args.stores).into())?;
    let mut history = build_history(
        &records,
        args.workload.as_deref(),
        args.machine_class.as_deref(),
        args.min_shift_pct.map(|p| p / 100.0),
        &Policy::default(),
    );
    history.skipped = skipped;
    let slo = match &args.slo {
        Some(path) => Some(crate::store::load_slo(path)?),
        None if Path::new(DEFAULT_SLO).exists() => {
            Some(crate::store::load_slo(Path::new(DEFAULT_SLO))?)
        }
        None => None,
    };
    if let Some(slo) = &slo {
        history.projections = project(
            slo,
            &records,
            args.workload.as_deref(),
            args.machine_class.as_deref(),
            args.over.into(),
        );
    }
    if history.series.is_empty() && args.workload.is_some() {
        eprintln!(
            "benchseal: no stored record measured a workload matching `{}`",
            args.workload.as_deref().unwrap_or_default()
        );
    }
    match args.format {
        HistoryFormat::Md => print!("{}", render_markdown(&history)),
        HistoryFormat::Json => println!("{}", serde_json::to_string_pretty(&history)?),
    }
    Ok(Outcome::Success)
}
