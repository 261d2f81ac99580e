//! A run from the command line: progress on stderr, then the summary and where the time
//! went. Shared by `run`, `compare --ab`, `signoff` and `verify --rerun`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use benchseal_benches::Workload;
use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::pipeline::{Progress, RunConfig, RunOutput};

/// Progress on stderr, whatever goes to stdout: where stderr is a terminal a phase is a
/// bar (done/total, ETA, the item last finished) and lines print above it; elsewhere each
/// item is a plain line.
pub struct Stderr;

/// The bar of the phase under way, when stderr is a terminal (one stderr, one bar).
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn bar() -> std::sync::MutexGuard<'static, Option<ProgressBar>> {
    BAR.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Progress for Stderr {
    fn line(&self, text: &str) {
        match &*bar() {
            Some(bar) => bar.println(format!("benchseal: {text}")),
            None => eprintln!("benchseal: {text}"),
        }
    }

    fn phase_start(&self, phase: &str, total: usize) {
        if total == 0 || !std::io::stderr().is_terminal() {
            return;
        }
        let template = if crate::present::style::stderr_color() {
            "benchseal: {prefix:.bold} [{bar:30.green}] {pos}/{len} ETA {eta} {wide_msg:.dim}"
        } else {
            "benchseal: {prefix} [{bar:30}] {pos}/{len} ETA {eta} {wide_msg}"
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
            .with_key("eta", eta);
        let new = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_prefix(phase.to_string());
        new.enable_steady_tick(Duration::from_millis(250));
        if let Some(old) = bar().replace(new) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, phase: &str, done: usize, total: usize, item: &str) {
        match &*bar() {
            Some(bar) => {
                bar.set_position(done as u64);
                bar.set_message(item.to_string());
            }
            None => eprintln!("benchseal: {phase} [{done}/{total}] {item}"),
        }
    }

    fn phase_end(&self) {
        let Some(bar) = bar().take() else { return };
        let done = bar.position();
        bar.finish_and_clear();
        eprintln!(
            "benchseal: {} [{done}/{}] in {:.1} s",
            bar.prefix(),
            bar.length().unwrap_or(0),
            bar.elapsed().as_secs_f64()
        );
    }
}

/// The time left at the pace so far (items take long and unevenly: the mean of those done
/// is steadier than a recent rate); `-` before the first is done.
fn eta(state: &ProgressState, out: &mut dyn std::fmt::Write) {
    let (done, total) = (state.pos(), state.len().unwrap_or(0));
    let _ = match done {
        0 => write!(out, "-"),
        _ => {
            let left = state.elapsed().as_secs_f64() * total.saturating_sub(done) as f64;
            let left = Duration::from_secs_f64(left / done as f64);
            write!(out, "{}", HumanDuration(left))
        }
    };
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
        SummaryTo::Stdout => crate::present::style::print_out(&text),
        SummaryTo::Stderr => crate::present::style::print_err(&text),
        SummaryTo::StderrWithRecordJson => {
            crate::present::style::print_err(&text);
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
