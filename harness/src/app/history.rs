//! `benchseal history`: the trend of each benchmark over stored runs and baselines, with
//! change points (see `analysis::history`). History only reports: it exits 0 whatever the
//! trend shows (a broken or tampered file is still exit 2 or 3), because a change point is
//! a question for a person, not a verdict.

use anyhow::Result;

use super::args::StoreArgs;
use crate::analysis::compare::Policy;
use crate::analysis::history::build_history;
use crate::model::outcome::{Outcome, bad_input};
use crate::present::history::render_markdown;

/// Output of `history`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    Md,
    Json,
}

/// Examples and exit codes, after `--help`.
const HISTORY_HELP: &str = r#"Examples:
  benchseal history --workload codec/comp3               # trend and change points, Markdown
  benchseal history --workload sync --format json

Exit codes: 0 printed; 2 bad input (no stored record matches, an unsealed record)."#;

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
