//! `benchseal signoff --version V`: evaluate the SLOs, decide GO / NO-GO, write the report.
//!
//! Everything with side effects happens here (reading the run, the baseline and the SLO
//! file, asking git about the tree, measuring the process objectives, writing files); the
//! decision itself is [`SignoffReport::derive`], a pure function of what was gathered.
//! All three formats are rendered in memory before anything is written, and each file is
//! written atomically, so a failure never leaves a half-written report; `benchseal verify`
//! re-renders the Markdown and HTML from `signoff.json`, so a mix of old and new files
//! (a crash between two renames) is detected too.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::Outcome;
use crate::engine::process::{self, ProcessPlan};
use crate::exit::{Irreproducible, bad_input};
use crate::record::RunRecord;
use crate::report::{HistoryPoint, ReportInputs, SignoffReport, SourceState, render_all};
use crate::slo::{ProcessSpec, SloFile};

/// Arguments of `benchseal signoff --version V`.
/// (`--version` names the release here, so `cli.rs` gives the subcommand no version flag.)
#[derive(Debug, clap::Args)]
pub struct SignoffArgs {
    /// The release being signed off, e.g. 0.1.0; the report goes to OUT_DIR/vVERSION/.
    #[arg(long, value_parser = parse_version)]
    pub version: String,
    /// The service-level objectives.
    #[arg(long, default_value = "slo.toml")]
    pub slo: PathBuf,
    /// Compare with this baseline version (baselines/V0/<machine-class>.json).
    #[arg(long, value_name = "V0", value_parser = parse_version)]
    pub baseline: Option<String>,
    /// A stored run record to sign off; without it the sign-off suite (`benchseal run`: every
    /// tier on the wall engine, tiny and small on the instr engine) is run first.
    #[arg(long, value_name = "RUN")]
    pub run: Option<PathBuf>,
    /// Sign off from a working tree with uncommitted changes (the report says so).
    #[arg(long)]
    pub allow_dirty: bool,
    /// Where reports go.
    #[arg(long, default_value = "reports")]
    pub out_dir: PathBuf,
    /// Where baselines are stored (for --baseline and the history trend).
    #[arg(long, default_value = "baselines")]
    pub baselines_dir: PathBuf,
    /// Do not measure the `[[process]]` commands of the SLO file; their objectives are
    /// skipped unless the run already holds them.
    #[arg(long)]
    pub no_processes: bool,
}

fn parse_version(text: &str) -> Result<String, String> {
    let text = text.strip_prefix('v').unwrap_or(text);
    let ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        && text.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}` is not a version such as 0.1.0"))
    }
}

/// The commit and cleanliness of the git tree around `dir`; `(None, None)` outside git.
pub fn git_state(dir: &Path) -> (Option<String>, Option<bool>, Vec<String>) {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]).map(|s| s.trim().to_string());
    match git(&["status", "--porcelain"]) {
        Some(status) => {
            let changed: Vec<String> = status.lines().map(|l| l.trim().to_string()).collect();
            (commit, Some(!changed.is_empty()), changed)
        }
        None => (commit, None, Vec::new()),
    }
}

/// Loads a run record and insists on its seal (a broken seal is exit 3).
pub fn load_sealed(path: &Path) -> Result<RunRecord> {
    let run = RunRecord::load(path)?;
    run.verify_seal()
        .map_err(|why| Irreproducible(format!("{}: {why}", path.display())))?;
    Ok(run)
}

/// Runs the suite (the run pipeline with `config`, its record under `reports/runs/`) and
/// returns the new record. The suite's own outcome (a broken digest, say) is not an error
/// here: the record says it, and the report judges it.
pub fn run_suite(config: crate::run::RunConfig) -> Result<RunRecord> {
    let config = crate::run::RunConfig {
        out: PathBuf::from(crate::compare::RUNS_DIR),
        ..config
    };
    let run = crate::run::run(&config).context("running the suite")?;
    Ok(run.record)
}

fn version_key(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Each stored baseline of this machine class older than `version`, as a history point.
fn history(
    slo: &SloFile,
    baselines_dir: &Path,
    machine_class: &str,
    version: &str,
) -> Result<Vec<HistoryPoint>> {
    let mut versions: Vec<String> = crate::baseline::versions(baselines_dir)?
        .into_iter()
        // Directories that are not version names (e.g. hidden ones) are not baselines.
        .filter(|v| crate::baseline::validate_name(v, "version").is_ok())
        .filter(|v| version_key(v) < version_key(version))
        .collect();
    versions.sort_by_key(|v| version_key(v));
    let mut points = Vec::new();
    for v in versions {
        let path = crate::baseline::baseline_path(baselines_dir, &v, machine_class)?;
        if !path.exists() {
            continue;
        }
        let record = load_sealed(&path)
            .with_context(|| format!("reading baseline {v} for the history trend"))?;
        let values = slo
            .objectives
            .iter()
            .map(|o| {
                (
                    o.id.clone(),
                    crate::slo::evaluate(o, &record, None)
                        .ok()
                        .and_then(|e| e.measured_base),
                )
            })
            .collect();
        points.push(HistoryPoint {
            label: format!("v{v}"),
            run_id: record.run_id,
            values,
        });
    }
    Ok(points)
}

/// Replaces `{benchseal}` and `{scratch}` in an argv.
fn expand(argv: &[String], benchseal: &str, scratch: &str) -> Vec<String> {
    argv.iter()
        .map(|a| {
            a.replace("{benchseal}", benchseal)
                .replace("{scratch}", scratch)
        })
        .collect()
}

/// Measures one `[[process]]` of the SLO file with the process engine.
pub fn measure_process(spec: &ProcessSpec) -> Result<crate::record::ProcessRecord> {
    let exe = std::env::current_exe().context("locating the benchseal executable")?;
    let exe = exe.to_string_lossy().into_owned();
    let scratch = tempfile::Builder::new()
        .prefix("benchseal-process-")
        .tempdir()
        .context("creating a scratch directory")?;
    let scratch_path = scratch.path().to_string_lossy().into_owned();
    let plan = ProcessPlan {
        id: spec.id.clone(),
        command: expand(&spec.command, &exe, &scratch_path),
        runs: spec.runs,
        warmup: spec.warmup,
        unit: spec.unit,
        units: spec.units,
    };
    if let Some(setup) = &spec.setup {
        let argv = expand(setup, &exe, &scratch_path);
        let sample = process::run_once(&spec.id, &argv)?;
        if sample.exit_code != Some(0) {
            let why = format!(
                "setup `{}` failed ({})",
                argv.join(" "),
                sample.describe_exit()
            );
            return Ok(process::unmeasured(
                &plan,
                crate::record::Status::Invalid(why),
            ));
        }
    }
    Ok(process::measure(&plan)?)
}

pub fn execute(args: SignoffArgs) -> Result<Outcome> {
    let slo = SloFile::load(&args.slo)?;
    let (git_commit, git_dirty, changed) = git_state(Path::new("."));
    if git_dirty == Some(true) && !args.allow_dirty {
        return Err(bad_input(format!(
            "the working tree has {} uncommitted change(s) (first: `{}`); commit them or pass --allow-dirty, which the report will state",
            changed.len(),
            changed.first().map(String::as_str).unwrap_or("")
        )));
    }
    let mut run = match &args.run {
        Some(path) => load_sealed(path)?,
        None => run_suite(crate::run::RunConfig::default())?,
    };
    if run.artifact.git_dirty == Some(true) && !args.allow_dirty {
        return Err(bad_input(format!(
            "run {} was made from a tree with uncommitted changes; pass --allow-dirty to sign it off anyway",
            run.run_id
        )));
    }
    if !args.no_processes {
        let mut measured_any = false;
        for spec in &slo.processes {
            if run.processes.iter().any(|p| p.id == spec.id) {
                continue;
            }
            eprintln!("measuring process {} ({} runs)", spec.id, spec.runs);
            let record = measure_process(spec).map_err(|e| bad_input(format!("{e:#}")))?;
            run.processes.push(record);
            measured_any = true;
        }
        if measured_any {
            run.seal()?;
        }
    }
    let baseline = match &args.baseline {
        None => None,
        Some(v) => {
            let path =
                crate::baseline::baseline_path(&args.baselines_dir, v, &run.env.machine_class)?;
            if !path.exists() {
                return Err(bad_input(format!(
                    "baseline {v} has no record for machine class `{}` ({} is missing)",
                    run.env.machine_class,
                    path.display()
                )));
            }
            Some(load_sealed(&path)?)
        }
    };
    let history = history(
        &slo,
        &args.baselines_dir,
        &run.env.machine_class,
        &args.version,
    )?;
    let inputs = ReportInputs {
        version: args.version.clone(),
        generated_at: crate::measure::now_rfc3339(),
        source: SourceState {
            git_commit,
            git_dirty,
            allow_dirty: args.allow_dirty,
        },
        slo,
        run,
        baseline_version: args.baseline.clone(),
        baseline,
        history,
    };
    let report = SignoffReport::derive(inputs).map_err(|e| bad_input(e.to_string()))?;
    let dir = args.out_dir.join(format!("v{}", args.version));
    write_report(&dir, &report)?;
    print!("{}", summary(&report, &dir));
    Ok(match report.decision.exit_code {
        0 => Outcome::Success,
        3 => Outcome::Irreproducible,
        _ => Outcome::Failed,
    })
}

/// Renders every format, then writes each file atomically into `dir`.
pub fn write_report(dir: &Path, report: &SignoffReport) -> Result<()> {
    let rendered = render_all(report).context("rendering the report")?;
    for (name, text) in rendered {
        crate::fsutil::write_atomic(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// The terminal summary: decision, matrix, where the files are.
pub fn summary(report: &SignoffReport, dir: &Path) -> String {
    let mut out = format!(
        "benchseal v{} sign-off: {}\n",
        report.version, report.decision.verdict
    );
    for reason in &report.decision.reasons {
        out += &format!("  - {reason}\n");
    }
    let width = report
        .objectives
        .iter()
        .map(|o| o.id.len())
        .max()
        .unwrap_or(0);
    for o in &report.objectives {
        out += &format!(
            "  {:<width$}  {:<8}  {:>18}  {:>18}  {:>9}  {}\n",
            o.id, o.priority, o.target, o.measured, o.margin, o.status
        );
    }
    out += &format!(
        "  reproducibility: {}/{} output digests reproduced\n",
        report.reproducibility.reproduced, report.reproducibility.checked
    );
    out += &format!(
        "  report: {}/signoff.{{md,html,json}}  seal {}\n",
        dir.display(),
        report.seal.as_deref().unwrap_or("-")
    );
    out
}
