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

use anyhow::{Context, Result};

use crate::analysis::signoff::{
    HistoryPoint, PreconditionRow, ReportInputs, SignoffReport, SourceState,
};
use crate::analysis::slo::SloFile;
use crate::model::outcome::Outcome;
use crate::model::outcome::bad_input;
use crate::model::record::RunRecord;
use crate::pipeline::engine::process;
use crate::present::report::render_all;

/// Examples and exit codes, after `--help`.
const SIGNOFF_HELP: &str = r#"Examples:
  benchseal signoff --version 0.1.2 --baseline 0.1.1 --sign-key ~/.ssh/release_ed25519
  benchseal signoff --version 0.1.2 --run reports/runs/<run-id>.json --baseline 0.1.1
  benchseal signoff --version 0.1.2 --run amd.json --run intel.json --baseline 0.1.1
  benchseal signoff --version 0.1.2 --run fleet-runs/ --baseline 0.1.1   # a fleet
  benchseal signoff --version 0.1.2 --baseline 0.1.1 --quick   # a pull request's check
  benchseal verify reports/v0.1.2                        # what an auditor runs afterwards

Exit codes: 0 GO; 1 NO-GO (for a fleet: a required class NO-GO or without a run); 2 bad
input (an unsigned run or unknown signer, another commit or version, a bad slo.toml, a
shard that was not merged, two runs of one class); 3 reproducibility broken."#;

/// Arguments of `benchseal signoff --version V`.
/// (`--version` names the release here, so `app/mod.rs` gives the subcommand no version flag.)
#[derive(Debug, clap::Args)]
#[command(after_help = SIGNOFF_HELP)]
pub struct SignoffArgs {
    /// The release being signed off, e.g. 0.1.0; the report goes to OUT_DIR/vVERSION/.
    #[arg(long, value_parser = parse_version)]
    pub version: String,
    /// The service-level objectives.
    #[arg(long, default_value = "slo.toml")]
    pub slo: PathBuf,
    /// Compare with this baseline version (`baselines/V0/<machine-class>.json`).
    #[arg(long, value_name = "V0", value_parser = parse_version)]
    pub baseline: Option<String>,
    /// A stored run record to sign off, or a directory of them; repeat it for a fleet (one
    /// record per machine class: each class is judged against its own baseline, and the
    /// release is GO only when every required class is). Without it the sign-off suite
    /// (`benchseal run`: every tier on the wall engine, tiny and small on the instr engine)
    /// is run first.
    #[arg(long, value_name = "RUN")]
    pub run: Vec<PathBuf>,
    /// Sign off from a working tree with uncommitted changes (the report says so).
    #[arg(long)]
    pub allow_dirty: bool,
    /// Run the quick suite instead of the sign-off suite (small tier, short sampling; 5
    /// executions a side when paired): a pull request's check, not a release's. The report
    /// says so in its notes, and objectives on other tiers have no data
    #[arg(long, conflicts_with = "run")]
    pub quick: bool,
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
    /// Whose signatures count (ssh-keygen's allowed_signers format).
    #[arg(long, value_name = "FILE", default_value = crate::sys::sign::ALLOWED_SIGNERS)]
    pub allowed_signers: PathBuf,
    /// Sign off a run that no listed signer signed; the report states it as blocking, so
    /// the decision is NO-GO.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Sign off a run made from another commit than this checkout's HEAD (recorded).
    #[arg(long)]
    pub allow_other_commit: bool,
    /// Sign off a run whose benchseal version differs from --version (recorded).
    #[arg(long)]
    pub allow_other_version: bool,
    /// Do not run the SLO file's `[preconditions]` commands (CI that ran them already);
    /// each is a `skipped (--skip-preconditions)` row of the report.
    #[arg(long)]
    pub skip_preconditions: bool,
    /// Signs the run this sign-off measures and the report's files.
    #[command(flatten)]
    pub sign: super::args::SignArgs,
}

/// What the signers file says of the run's signature, refused (exit 2, with the fix) unless
/// `--allow-unsigned`; the allowance is recorded.
fn run_trust(
    args: &SignoffArgs,
    signature: crate::sys::sign::SignatureCheck,
    run_path: &Path,
    allowances: &mut Vec<String>,
) -> Result<crate::analysis::signoff::Trust> {
    let run_signed = signature.is_signed();
    if !run_signed {
        if !args.allow_unsigned {
            return Err(bad_input(format!(
                "{}: {signature}; sign it with `benchseal sign --sign-key KEY {}` using a key \
                 listed in {} (or run the sign-off with --sign-key), or pass --allow-unsigned, \
                 which makes the report NO-GO",
                run_path.display(),
                run_path.display(),
                args.allowed_signers.display()
            )));
        }
        allowances.push(format!("--allow-unsigned: the run is {signature}"));
    }
    Ok(crate::analysis::signoff::Trust {
        run_signature: signature.to_string(),
        run_signed,
        allowances: allowances.clone(),
    })
}

/// The signers file; without one, every run is unsigned as far as this sign-off can tell,
/// which only `--allow-unsigned` accepts.
fn allowed_signers(args: &SignoffArgs) -> Result<Option<crate::sys::sign::AllowedSigners>> {
    if !args.allowed_signers.exists() && args.allow_unsigned {
        return Ok(None);
    }
    crate::sys::sign::AllowedSigners::load(&args.allowed_signers).map(Some)
}

/// Refuses (exit 2) a run made from another commit than HEAD, or of another version than
/// the report's, unless the matching `--allow-…` flag was given; allowances are recorded.
fn check_binding(
    args: &SignoffArgs,
    run_commit: Option<&str>,
    run_version: &str,
    head: Option<&str>,
    allowances: &mut Vec<String>,
) -> Result<()> {
    if run_commit != head || head.is_none() {
        let what = format!(
            "the run was made from commit {}, this checkout is at {}",
            run_commit.unwrap_or("(none recorded)"),
            head.unwrap_or("(not a git checkout)")
        );
        if !args.allow_other_commit {
            return Err(bad_input(format!(
                "{what}; check out the run's commit, or pass --allow-other-commit, which the \
                 report records"
            )));
        }
        allowances.push(format!("--allow-other-commit: {what}"));
    }
    if run_version != args.version {
        let what = format!(
            "the run is benchseal {run_version}, the report is for {}",
            args.version
        );
        if !args.allow_other_version {
            return Err(bad_input(format!(
                "{what}; set the workspace version to {} first, or pass --allow-other-version, \
                 which the report records",
                args.version
            )));
        }
        allowances.push(format!("--allow-other-version: {what}"));
    }
    Ok(())
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

/// Runs the suite (the run pipeline with `config`, its record under `reports/runs/`) and
/// returns the new record. The suite's own outcome (a broken digest, say) is not an error
/// here: the record says it, and the report judges it.
pub fn run_suite(config: crate::pipeline::RunConfig) -> Result<RunRecord> {
    let config = crate::pipeline::RunConfig {
        out: PathBuf::from(crate::store::RUNS_DIR),
        ..config
    };
    let run = super::run::run_and_report(
        &config,
        &benchseal_benches::registry(),
        super::run::SummaryTo::Stdout,
        None,
    )
    .context("running the suite")?;
    Ok(run.record)
}

/// The baseline's own code, built for a paired session with the sign-off run. Every reason
/// it cannot be is said exactly: no baseline for this machine class, a record from a dirty
/// checkout or without a commit, a commit not in this repository, a build that fails.
fn paired_with_baseline(
    baselines_dir: &Path,
    version: &str,
) -> std::result::Result<crate::pipeline::Paired, String> {
    let class = crate::sys::env::snapshot().machine_class;
    let path = crate::store::baselines::baseline_path(baselines_dir, version, &class)
        .map_err(|e| format!("{e:#}"))?;
    if !path.exists() {
        return Err(format!(
            "baseline {version} has no record for this machine class ({} is missing)",
            path.display()
        ));
    }
    let record =
        crate::store::load(&path, crate::store::Seal::Required).map_err(|e| format!("{e:#}"))?;
    let Some(commit) = record.artifact.git_commit.clone() else {
        return Err(format!(
            "baseline {version} names no commit, so its code cannot be rebuilt"
        ));
    };
    if record.artifact.git_dirty == Some(true) {
        return Err(format!(
            "baseline {version} was recorded from a checkout of {commit} with uncommitted \
             changes, so its code cannot be rebuilt"
        ));
    }
    let root = crate::pipeline::benches::workspace_root()
        .ok_or_else(|| "not inside the benchseal workspace".to_string())?;
    let a = crate::pipeline::commit_build::build_commit(&root, &commit, &super::run::Stderr)
        .map_err(|e| format!("{e:#}"))?;
    Ok(crate::pipeline::Paired {
        a,
        a_reference: Some(record),
        b: None,
    })
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
    let found = crate::store::baselines::versions(baselines_dir)?;
    for problem in &found.unreadable {
        eprintln!("benchseal: warning: skipping {problem} in the history trend");
    }
    let mut versions: Vec<String> = found
        .versions
        .into_iter()
        // Directories that are not version names (e.g. hidden ones) are not baselines.
        .filter(|v| crate::store::baselines::validate_name(v, "version").is_ok())
        .filter(|v| version_key(v) < version_key(version))
        .collect();
    versions.sort_by_key(|v| version_key(v));
    let mut points = Vec::new();
    for v in versions {
        let path = crate::store::baselines::baseline_path(baselines_dir, &v, machine_class)?;
        if !path.exists() {
            continue;
        }
        // An unreadable older baseline costs its history point, not the sign-off; an
        // edited one (its seal broken) still stops it.
        let record = match crate::store::load(&path, crate::store::Seal::Required) {
            Ok(record) => record,
            Err(e) if super::exit::code_for_error(&e) == 3 => {
                return Err(e.context(format!("reading baseline {v} for the history trend")));
            }
            Err(e) => {
                eprintln!("benchseal: warning: skipping baseline {v} in the history trend: {e:#}");
                continue;
            }
        };
        let values = slo
            .objectives
            .iter()
            .map(|o| {
                (
                    o.id.clone(),
                    crate::analysis::slo::evaluate(o, &record, None)
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

/// The note a `--quick` sign-off adds to its run, so the report says what it covers.
const QUICK_NOTE: &str = "quick suite (small tier, short sampling), not the sign-off suite: \
                          a pull request's check, not a release's";

/// A run about to be signed off, with what its signature proved and, for a paired session,
/// the baseline's side.
struct ToSign {
    run: RunRecord,
    trust: crate::analysis::signoff::Trust,
    session_baseline: Option<RunRecord>,
    /// The directory the run's record (and the session baseline's) lives in: where their
    /// callgrind profiles are.
    record_dir: PathBuf,
}

/// The record files `--run` names: each file as given, each directory as the `*.json`
/// files in it (sorted). A directory without one is bad input.
fn run_files(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in given {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))
            .map_err(|e| bad_input(format!("{e:#}")))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect();
        if found.is_empty() {
            return Err(bad_input(format!(
                "{}: the directory holds no run records (*.json); pass record files or a \
                 directory of them to --run",
                path.display()
            )));
        }
        found.sort();
        files.append(&mut found);
    }
    Ok(files)
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!(
        (std::fs::canonicalize(a), std::fs::canonicalize(b)),
        (Ok(a), Ok(b)) if a == b
    )
}

/// Loads the records to sign off and refuses (exit 2, naming the files) what cannot be
/// signed off together: the same file twice, two runs of one machine class (two shards of
/// one: merge them first), a shard that was not merged, a record whose `machine_class`
/// field is not the class its snapshot gives.
fn load_runs(files: &[PathBuf]) -> Result<Vec<(PathBuf, RunRecord)>> {
    let mut runs: Vec<(PathBuf, RunRecord, String)> = Vec::new();
    for path in files {
        let run = crate::store::load(path, crate::store::Seal::Required)?;
        let class = crate::analysis::env::class::MachineClass::of(&run.env).id;
        if files.len() > 1 && run.env.machine_class != class {
            return Err(bad_input(format!(
                "{}: its machine_class field says `{}`, its environment snapshot gives `{class}`",
                path.display(),
                run.env.machine_class
            )));
        }
        if let Some((other, other_run, _)) = runs.iter().find(|(_, _, c)| *c == class) {
            let (a, b) = (other.display(), path.display());
            return Err(bad_input(if same_file(other, path) {
                format!("{b} is given twice")
            } else if other_run.shard.is_some() && run.shard.is_some() {
                format!(
                    "{a} and {b} are shards of one machine class (`{class}`): merge them \
                         with `benchseal merge` (every shard of the class), then sign off the \
                         merged record"
                )
            } else {
                format!(
                    "{a} and {b} are both runs of machine class `{class}`: a sign-off \
                         judges one run per class; pass only one of them"
                )
            }));
        }
        runs.push((path.clone(), run, class));
    }
    for (path, run, class) in &runs {
        if let Some(shard) = &run.shard {
            return Err(bad_input(format!(
                "{}: the record is shard {}/{} of a run of machine class `{class}` (its `shard` \
                 field is set), not a whole run: join the class's shards with `benchseal \
                 merge`, then sign off the merged record",
                path.display(),
                shard.index,
                shard.count
            )));
        }
        crate::store::baselines::validate_name(class, "machine class")?;
    }
    Ok(runs.into_iter().map(|(path, run, _)| (path, run)).collect())
}

pub fn execute(args: SignoffArgs) -> Result<Outcome> {
    let slo = crate::store::load_slo(&args.slo)?;
    let dir = args.out_dir.join(format!("v{}", args.version));
    crate::sys::fs::check_output_dir(&dir)?;
    let key = args.sign.key()?;
    let signers = allowed_signers(&args)?;
    let given = load_runs(&run_files(&args.run)?)?;
    // One sign-off of a version at a time, from before measuring until the files are in.
    let _lock = crate::sys::fs::lock_dir(&dir)?;
    let (git_commit, git_dirty, changed) = crate::sys::git::state(Path::new("."));
    if git_dirty == Some(true) && !args.allow_dirty {
        return Err(bad_input(format!(
            "the working tree has {} uncommitted change(s) (first: `{}`); commit them or pass --allow-dirty, which the report will state",
            changed.len(),
            changed.first().map(String::as_str).unwrap_or("")
        )));
    }
    let mut wall_note = None;
    let check = |file: &Path| -> Result<crate::sys::sign::SignatureCheck> {
        match &signers {
            Some(signers) => signers.check_file(file),
            None => Ok(crate::sys::sign::SignatureCheck::UnknownSigner {
                fingerprint: "-".into(),
                why: format!("{} does not exist", args.allowed_signers.display()),
            }),
        }
    };
    let budget = super::preconditions::Budget::start(&slo);
    let mut to_sign = Vec::new();
    for (path, run) in given {
        let mut allowances = Vec::new();
        check_binding(
            &args,
            run.artifact.git_commit.as_deref(),
            &run.artifact.version,
            git_commit.as_deref(),
            &mut allowances,
        )?;
        let trust = run_trust(&args, check(&path)?, &path, &mut allowances)?;
        to_sign.push(ToSign {
            run,
            trust,
            session_baseline: None,
            record_dir: path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        });
    }
    let mut preconditions = Vec::new();
    if !to_sign.is_empty() {
        preconditions = super::preconditions::run_all(&slo, args.skip_preconditions, &budget);
    }
    if to_sign.is_empty() {
        let mut allowances = Vec::new();
        // Everything that would refuse the run is checked before measuring.
        check_binding(
            &args,
            git_commit.as_deref(),
            env!("CARGO_PKG_VERSION"),
            git_commit.as_deref(),
            &mut allowances,
        )?;
        if key.is_none() && !args.allow_unsigned {
            return Err(bad_input(format!(
                "the sign-off run would be unsigned: pass --sign-key KEY (or set ${}) with \
                 a key listed in {}, or --allow-unsigned, which makes the report NO-GO",
                crate::sys::sign::KEY_ENV,
                args.allowed_signers.display()
            )));
        }
        preconditions = super::preconditions::run_all(&slo, args.skip_preconditions, &budget);
        if let Some(why) = unmeasured(&preconditions, &budget) {
            crate::present::style::print_out(&crate::present::report::not_measured(
                &args.version,
                &preconditions,
                &why,
            ));
            return Ok(Outcome::Failed);
        }
        let mut config = crate::pipeline::RunConfig {
            quick: args.quick,
            deadline: budget.deadline(),
            ..crate::pipeline::RunConfig::default()
        };
        if let Some(version) = &args.baseline {
            match paired_with_baseline(&args.baselines_dir, version) {
                Ok(paired) => config.paired = Some(paired),
                Err(why) => {
                    let note = format!(
                        "{} {version}: {why}; wall changes are informational, \
                         instruction counts gate",
                        crate::analysis::signoff::WALL_NOT_PAIRED
                    );
                    eprintln!("benchseal: {note}");
                    wall_note = Some(note);
                }
            }
        }
        let run = super::run::run_and_report(
            &crate::pipeline::RunConfig {
                out: PathBuf::from(crate::store::RUNS_DIR),
                ..config
            },
            &benchseal_benches::registry(),
            super::run::SummaryTo::Stdout,
            key.as_ref(),
        )
        .context("running the suite")?;
        let trust = run_trust(&args, check(&run.path)?, &run.path, &mut allowances)?;
        to_sign.push(ToSign {
            run: run.record,
            trust,
            session_baseline: run.partner.map(|(record, _)| record),
            record_dir: run
                .path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        });
    }
    if args.quick {
        wall_note = Some(match wall_note {
            Some(note) => format!("{QUICK_NOTE}; {note}"),
            None => QUICK_NOTE.into(),
        });
    }
    if let Some(note) = wall_note {
        for s in &mut to_sign {
            s.run.notes.push(note.clone());
            s.run.seal()?;
        }
    }
    let fleet = is_fleet(&slo, &to_sign);
    // A fleet's `[[process]]` commands are measured here, so only for the run of this
    // machine's class; the other classes' objectives use what their runs hold.
    let here = (fleet && !args.no_processes && !slo.processes.is_empty())
        .then(|| crate::sys::env::snapshot().machine_class);
    let source = SourceState {
        git_commit,
        git_dirty,
        allow_dirty: args.allow_dirty,
    };
    let generated_at = crate::sys::clock::document_time_rfc3339();
    let mut reports = Vec::new();
    for s in to_sign {
        let measure = !args.no_processes
            && (!fleet
                || here.as_ref()
                    == Some(&crate::analysis::env::class::MachineClass::of(&s.run.env).id));
        reports.push(class_report(
            &args,
            &slo,
            &source,
            &generated_at,
            s,
            Measure {
                processes: measure,
                preconditions: &preconditions,
                budget: &budget,
            },
        )?);
    }
    if !fleet {
        let report = reports.remove(0);
        write_report(&dir, &report, key.as_ref())?;
        crate::present::style::print_out(&crate::present::report::summary(&report, &dir));
        return Ok(outcome_of(report.decision.exit_code));
    }
    let fleet = crate::analysis::fleet::FleetReport::derive(&args.version, &generated_at, &reports)
        .map_err(|e| bad_input(e.to_string()))?;
    write_fleet_report(&dir, &fleet, &reports, key.as_ref())?;
    crate::present::style::print_out(&crate::present::report::fleet::summary(&fleet, &dir));
    Ok(outcome_of(fleet.decision.exit_code))
}

/// Whether the sign-off is a fleet's: more than one machine class given, or a class the
/// SLO file's `[fleet]` table requires that is not the one given.
fn is_fleet(slo: &SloFile, to_sign: &[ToSign]) -> bool {
    let mut classes: std::collections::BTreeSet<String> = to_sign
        .iter()
        .map(|s| crate::analysis::env::class::MachineClass::of(&s.run.env).id)
        .collect();
    if let Some(fleet) = &slo.fleet {
        classes.extend(fleet.required.iter().cloned());
    }
    classes.len() > 1
}

fn outcome_of(exit_code: u8) -> Outcome {
    match exit_code {
        0 => Outcome::Success,
        3 => Outcome::Irreproducible,
        _ => Outcome::Failed,
    }
}

/// Why the sign-off cannot measure: a precondition that blocks (failed, or left unrun by
/// the budget), or a budget already spent before the suite would start.
fn unmeasured(
    preconditions: &[PreconditionRow],
    budget: &super::preconditions::Budget,
) -> Option<String> {
    if let Some(p) = preconditions.iter().find(|p| p.blocks()) {
        return Some(format!("precondition {}: `{}`", p.status, p.command));
    }
    budget
        .spent()
        .map(|why| format!("the suite was not run: {why}"))
}

/// Why a quick sign-off does not measure `spec`: its `quick = false` (a cold build, the
/// whole test suite) leaves it to the release sign-off.
fn left_to_release(quick: bool, spec: &crate::analysis::slo::ProcessSpec) -> Option<String> {
    (quick && !spec.quick).then(|| {
        format!(
            "{}: `quick = false`, measured by the release sign-off only",
            crate::analysis::signoff::BOUNDED_BY_POLICY
        )
    })
}

/// What a class's sign-off measures besides its run: the `[[process]]` commands (when
/// `processes`, and only while no precondition blocks and the budget lasts), with the
/// preconditions' rows it reports.
struct Measure<'a> {
    processes: bool,
    preconditions: &'a [PreconditionRow],
    budget: &'a super::preconditions::Budget,
}

/// The sign-off of one run against the baseline of its own machine class: the dirty-run
/// refusal, the `[[process]]` measurements (see [`Measure`]), the baseline and history,
/// then the pure derivation.
fn class_report(
    args: &SignoffArgs,
    slo: &SloFile,
    source: &SourceState,
    generated_at: &str,
    to_sign: ToSign,
    measure: Measure<'_>,
) -> Result<SignoffReport> {
    let ToSign {
        mut run,
        trust,
        session_baseline,
        record_dir,
    } = to_sign;
    if run.artifact.git_dirty == Some(true) && !args.allow_dirty {
        return Err(bad_input(format!(
            "run {} was made from a tree with uncommitted changes; pass --allow-dirty to sign it off anyway",
            run.run_id
        )));
    }
    if measure.processes {
        let mut measured_any = false;
        let blocked = measure.preconditions.iter().find(|p| p.blocks());
        for spec in &slo.processes {
            if run.processes.iter().any(|p| p.id == spec.id) {
                continue;
            }
            // Nothing is measured for a release a precondition already stops; work the
            // budget leaves no time for is named as bounded by policy.
            let not_measured = match blocked {
                Some(p) => Some(format!(
                    "not measured: precondition `{}` {}",
                    p.command, p.status
                )),
                None => left_to_release(args.quick, spec).or_else(|| measure.budget.spent()),
            };
            let record = match not_measured {
                Some(why) => process::skipped_record(spec, why),
                None => {
                    eprintln!("measuring process {} ({} runs)", spec.id, spec.runs);
                    process::measure_spec(spec).map_err(|e| bad_input(format!("{e:#}")))?
                }
            };
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
            let path = crate::store::baselines::baseline_path(
                &args.baselines_dir,
                v,
                &run.env.machine_class,
            )?;
            if !path.exists() {
                return Err(bad_input(format!(
                    "baseline {v} has no record for machine class `{}` ({} is missing)",
                    run.env.machine_class,
                    path.display()
                )));
            }
            Some(crate::store::load(&path, crate::store::Seal::Required)?)
        }
    };
    let history = history(
        slo,
        &args.baselines_dir,
        &run.env.machine_class,
        &args.version,
    )?;
    // The baseline the comparison reads: this session's own build of it, else the stored
    // record (whose profiles `baseline save` kept beside it).
    let baseline_dir = match (&session_baseline, &args.baseline) {
        (Some(_), _) => Some(record_dir.clone()),
        (None, Some(v)) => Some(args.baselines_dir.join(v)),
        (None, None) => None,
    };
    let mut inputs = ReportInputs {
        version: args.version.clone(),
        generated_at: generated_at.to_string(),
        source: source.clone(),
        slo: slo.clone(),
        run,
        baseline_version: args.baseline.clone(),
        baseline,
        session_baseline,
        history,
        rules: crate::analysis::signoff::RULES,
        layout: crate::analysis::signoff::LAYOUT,
        trust: Some(trust),
        quick: args.quick,
        preconditions: measure.preconditions.to_vec(),
        explanations: Vec::new(),
    };
    let report = SignoffReport::derive(inputs.clone()).map_err(|e| bad_input(e.to_string()))?;
    let old = inputs
        .session_baseline
        .as_ref()
        .or(inputs.baseline.as_ref());
    let (Some(old), Some(old_dir)) = (old, baseline_dir) else {
        return Ok(report);
    };
    // Which functions account for each instruction count that moved: from the two sides'
    // callgrind profiles, part of the report's inputs (an explanation changes no verdict).
    inputs.explanations = report
        .comparisons
        .iter()
        .filter(|c| {
            c.metric == "instructions" && matches!(c.verdict.as_str(), "regressed" | "improved")
        })
        .map(|c| {
            crate::store::profiles::explain(&c.subject, (old, &old_dir), (&inputs.run, &record_dir))
        })
        .collect();
    if inputs.explanations.is_empty() {
        return Ok(report);
    }
    SignoffReport::derive(inputs).map_err(|e| bad_input(e.to_string()))
}

/// The flame graphs of each explained instruction count (`<flame>.svg` of the new run,
/// `<flame>-diff.svg` of the change), drawn from the profiles the explanation read, read
/// again only with the digests their records sealed. A profile gone or changed since costs
/// its pictures (said once), not the report.
fn flame_graphs(report: &SignoffReport) -> Vec<(String, Vec<u8>)> {
    use crate::present::flamegraph;
    use crate::store::profiles::read_sealed;
    let mut files = Vec::new();
    for e in report
        .inputs
        .explanations
        .iter()
        .filter(|e| !e.functions.is_empty())
    {
        let (Some(old), Some(new), Some(old_sha), Some(new_sha)) =
            (&e.old_profile, &e.new_profile, &e.old_sha256, &e.new_sha256)
        else {
            continue;
        };
        let name = crate::present::report::view::flame_name(&e.benchmark);
        let drawn = read_sealed(Path::new(old), old_sha)
            .and_then(|old| Ok((old, read_sealed(Path::new(new), new_sha)?)))
            .map_err(anyhow::Error::msg)
            .and_then(|(old, new)| {
                Ok((
                    flamegraph::of_profile(&new, &e.benchmark)?,
                    flamegraph::of_change(&old, &new, &format!("{} (old → new)", e.benchmark))?,
                ))
            });
        match drawn {
            Ok((run, change)) => {
                files.push((format!("{name}.svg"), run.into_bytes()));
                files.push((format!("{name}-diff.svg"), change.into_bytes()));
            }
            Err(e) => eprintln!("benchseal: no flame graph: {e:#}"),
        }
    }
    files
}

/// The files of `rendered`, under `prefix`, each followed by its signature with `key`.
fn signed_files(
    rendered: Vec<(&'static str, String)>,
    prefix: &str,
    key: Option<&crate::sys::sign::SigningKey>,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for (name, text) in rendered {
        if let Some(key) = key {
            files.push((
                format!("{prefix}{name}.sig"),
                key.sign_bytes(text.as_bytes())?.into_bytes(),
            ));
        }
        files.push((format!("{prefix}{name}"), text.into_bytes()));
    }
    Ok(files)
}

/// Writes a fleet sign-off as one unit: the fleet report in `dir`, each class's own report
/// in `dir/<class>/`, all rendered (and signed) before anything is written.
pub fn write_fleet_report(
    dir: &Path,
    fleet: &crate::analysis::fleet::FleetReport,
    reports: &[SignoffReport],
    key: Option<&crate::sys::sign::SigningKey>,
) -> Result<()> {
    let rendered =
        crate::present::report::fleet::render_all(fleet).context("rendering the fleet report")?;
    let mut files = signed_files(rendered, "", key)?;
    for report in reports {
        let class = crate::analysis::fleet::class_of(report);
        let rendered =
            render_all(report).with_context(|| format!("rendering the report of class {class}"))?;
        let prefix = format!("{}/", crate::analysis::fleet::class_report_dir(&class));
        files.extend(signed_files(rendered, &prefix, key)?);
    }
    crate::sys::fs::replace_dir_atomic(dir, &files)?;
    if let Some(key) = key {
        eprintln!(
            "benchseal: signed the fleet report's files in {} ({})",
            dir.display(),
            key.fingerprint()
        );
    }
    Ok(())
}

/// Renders every format (and signs each with `key`), then replaces `dir` with exactly
/// those files as one unit: the set is old or new, never mixed. The caller holds the
/// directory's lock ([`crate::sys::fs::lock_dir`]).
pub fn write_report(
    dir: &Path,
    report: &SignoffReport,
    key: Option<&crate::sys::sign::SigningKey>,
) -> Result<()> {
    let rendered = render_all(report).context("rendering the report")?;
    let mut files = signed_files(rendered, "", key)?;
    files.extend(flame_graphs(report));
    crate::sys::fs::replace_dir_atomic(dir, &files)?;
    if let Some(key) = key {
        eprintln!(
            "benchseal: signed the report's files in {} ({})",
            dir.display(),
            key.fingerprint()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_sign_off_leaves_release_only_processes_bounded_by_policy() {
        let text = "schema = \"benchseal.slo/1\"\n[[process]]\nid = \"build\"\ncommand = [\"true\"]\nquick = false\n[[process]]\nid = \"start\"\ncommand = [\"true\"]\n";
        let slo = SloFile::parse(text, "t.toml").unwrap();
        let (build, start) = (slo.process("build").unwrap(), slo.process("start").unwrap());
        let why = left_to_release(true, build).unwrap();
        assert!(
            why.starts_with("bounded by policy: `quick = false`"),
            "{why}"
        );
        assert_eq!(left_to_release(false, build), None);
        assert_eq!(left_to_release(true, start), None);
    }
}
