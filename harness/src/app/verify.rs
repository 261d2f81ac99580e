//! `benchseal verify REPORT_OR_BASELINE [--rerun | --run RUN]`: re-check a sign-off report
//! or a baseline, then re-derive its numbers from another run.
//!
//! A report is checked in three ways, any failure of which is exit 3 and names the first
//! field that differs:
//! 1. the run record and baseline embedded in `signoff.json` still match their own seals;
//! 2. the report derived again from its embedded inputs equals the report as stored, field
//!    by field (so an edited measured value, status or digest is named by its path, e.g.
//!    `objectives[1].status`), and the per-field seals and the overall seal match;
//! 3. `signoff.md` and `signoff.html` beside it equal a fresh rendering of the stored model
//!    (an edit there is named by line).
//!
//! A baseline is checked against its seal and against the golden digests stored beside it.
//! With `--run RUN` (or `--rerun`, a fresh run of the same suite), every number is compared:
//! output digests must be equal (else exit 3); instruction counts equal when the bench
//! executable has the same SHA-256, within the policy's tolerance otherwise; wall-clock
//! medians within the comparison policy (else exit 1).
//!
//! Each block of checks ends with its counts; the last line is `integrity: …`, followed for
//! a report by the release decision it records, so an intact NO-GO report never reads as
//! an approval.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use benchseal_benches::Size;

use crate::analysis::compare::Policy;
use crate::analysis::signoff::{REPORT_SCHEMA, SignoffReport};
use crate::analysis::verify::{Check, check_record, check_report, reproduce};
use crate::model::outcome::{Outcome, bad_input};
use crate::model::record::{EngineKind, RUN_SCHEMA, RunRecord};
use crate::pipeline::RunConfig;
use crate::present::report::formats;
use crate::present::style;
use crate::store::Seal;

/// Examples and exit codes, after `--help`.
const VERIFY_HELP: &str = r#"Examples:
  benchseal verify reports/v0.1.1               # seals, re-derivation, renderings, signatures
  benchseal verify baselines/0.1.1/<class>.json --rerun --size tiny
  benchseal verify reports/v0.1.1 --run reports/runs/<run-id>.json

Exit codes: 0 integrity OK (a NO-GO report is intact, not approved: the last line says
which); 1 re-derived numbers outside the policy, or an incomplete record; 2 bad input;
3 broken: an edit, a digest that differs, a bad or missing signature."#;

/// Arguments of `benchseal verify REPORT_OR_BASELINE`.
#[derive(Debug, clap::Args)]
#[command(after_help = VERIFY_HELP)]
pub struct VerifyArgs {
    /// A report directory, one of its files (signoff.json/.md/.html), a baseline or a run
    /// record.
    pub target: PathBuf,
    /// Run the same workloads again (`benchseal run`, same engines, sizes and `--quick`)
    /// and re-derive every number from the fresh run.
    #[arg(long, conflicts_with = "run")]
    pub rerun: bool,
    /// With --rerun: only these tiers of the reference, comma-separated (e.g. `tiny` for a
    /// quick check) [default: every tier the reference has]
    #[arg(
        long = "size",
        value_name = "TIER",
        value_delimiter = ',',
        requires = "rerun"
    )]
    pub sizes: Vec<Size>,
    /// Re-derive every number from this run record.
    #[arg(long, value_name = "RUN")]
    pub run: Option<PathBuf>,
    /// Regression policy for a baseline or run record (a report carries its own).
    #[arg(long)]
    pub slo: Option<PathBuf>,
    /// Whose signatures count (ssh-keygen's allowed_signers format).
    #[arg(long, value_name = "FILE", default_value = crate::sys::sign::ALLOWED_SIGNERS)]
    pub allowed_signers: PathBuf,
}

/// The signature lines of `files` (each beside the document): who signed, or what is wrong.
/// A bad signature or an unknown signer is broken; an unsigned file is broken when
/// `required` (a report made since runs are signed, or a file of a signed set), else said.
fn signature_checks(args: &VerifyArgs, files: &[PathBuf], required: bool) -> Result<Vec<Check>> {
    use crate::sys::sign::{AllowedSigners, SignatureCheck};
    let signers = if args.allowed_signers.exists() {
        Some(AllowedSigners::load(&args.allowed_signers)?)
    } else {
        None
    };
    let mut checks = Vec::new();
    for file in files {
        let name = file.display();
        let Some(signers) = &signers else {
            let sig = crate::sys::sign::sig_path(file);
            if required || sig.exists() {
                checks.push(Check::Broken(format!(
                    "{name}: who signed it cannot be checked: {} does not exist (pass \
                     --allowed-signers FILE)",
                    args.allowed_signers.display()
                )));
            }
            continue;
        };
        checks.push(match signers.check_file(file)? {
            SignatureCheck::Signed {
                principals,
                fingerprint,
            } => Check::Ok(format!(
                "{name}: signed by {principals} ({fingerprint}), namespace {}",
                crate::sys::sign::NAMESPACE
            )),
            SignatureCheck::Unsigned if !required => {
                Check::Info(format!("{name}: unsigned (no .sig beside it)"))
            }
            other => Check::Broken(format!("{name}: {other}")),
        });
    }
    Ok(checks)
}

fn print_checks(title: &str, checks: &[Check]) -> Outcome {
    println!("{title}");
    let mut outcome = Outcome::Success;
    for c in checks {
        style::print_out(&format!("  {}\n", style::verdict(&c.line())));
        outcome = outcome.worst(c.outcome());
    }
    println!("  {}", check_counts(checks));
    outcome
}

/// `"142 checks: 140 ok, 2 unchecked"`: the count of each kind present, worst last.
fn check_counts(checks: &[Check]) -> String {
    let mut counts = [0usize; 5];
    for c in checks {
        counts[match c {
            Check::Ok(_) => 0,
            Check::Info(_) => 1,
            Check::Unchecked(_) => 2,
            Check::Outside(_) => 3,
            Check::Broken(_) => 4,
        }] += 1;
    }
    let kinds = ["ok", "info", "unchecked", "OUTSIDE", "BROKEN"]
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect::<Vec<_>>();
    format!(
        "{} check{}: {}",
        checks.len(),
        if checks.len() == 1 { "" } else { "s" },
        kinds.join(", ")
    )
}

/// The last line of `verify`: what the checks say about the files (the exit code), and,
/// for a sign-off report, the release decision it records, named as such so that an
/// intact NO-GO report does not read as an approval.
fn integrity_line(outcome: Outcome, decision: Option<&str>) -> String {
    let integrity = match outcome {
        Outcome::Success => "OK",
        Outcome::Failed => {
            "OUTSIDE POLICY (intact, but incomplete or not reproduced within the policy)"
        }
        Outcome::Irreproducible => "BROKEN (the document was edited or its inputs no longer match)",
    };
    let integrity = style::verdict(integrity);
    match decision {
        Some(decision) => format!(
            "integrity: {integrity}; release decision recorded: {}",
            style::verdict(decision)
        ),
        None => format!("integrity: {integrity}"),
    }
}

/// The run that measures the same workloads the same way as `reference` (engines, tiers,
/// `--quick`, and the tiers it counted instructions on), limited to `tiers` when any are
/// given. A tier the reference does not have is bad input.
pub fn rerun_config(reference: &RunRecord, tiers: &[Size]) -> Result<RunConfig> {
    let present: BTreeSet<Size> = reference.workloads.iter().map(|w| w.id.size).collect();
    if let Some(absent) = tiers.iter().find(|t| !present.contains(t)) {
        return Err(bad_input(format!(
            "--size {absent}: run {} has no workload of that tier (it has: {})",
            reference.run_id,
            present
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let chosen = |size: Size| tiers.is_empty() || tiers.contains(&size);
    let workloads: Vec<String> = reference
        .workloads
        .iter()
        .filter(|w| chosen(w.id.size))
        .map(|w| w.id.to_string())
        .collect();
    let sizes: Vec<Size> = present.iter().copied().filter(|s| chosen(*s)).collect();
    let counted = |w: &&crate::model::record::WorkloadRecord| {
        w.paths
            .iter()
            .any(|p| p.instr.as_ref().is_some_and(|r| r.status.is_ok()))
    };
    let instr_sizes: BTreeSet<Size> = reference
        .workloads
        .iter()
        .filter(counted)
        .map(|w| w.id.size)
        .filter(|s| chosen(*s))
        .collect();
    let o = &reference.options;
    Ok(RunConfig {
        suites: o.suites.clone(),
        sizes,
        instr_sizes: instr_sizes.into_iter().collect(),
        quick: o.quick,
        engines: if o.engines.is_empty() {
            EngineKind::ALL.to_vec()
        } else {
            o.engines.clone()
        },
        workloads,
        // Scaling again only where the record measured it; its thread counts, as far as
        // this machine has the cores.
        scaling: (!reference.scaling.is_empty())
            .then(|| {
                let counts: Vec<usize> = reference
                    .scaling
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| p.threads))
                    .filter(|&t| t <= crate::pipeline::scaling::cores())
                    .collect();
                crate::pipeline::scaling::Threads::new(
                    &counts,
                    crate::pipeline::scaling::cores(),
                    false,
                )
                .ok()
            })
            .flatten(),
        ..RunConfig::default()
    })
}

/// Whether `record` sits in a baseline version directory (`…/baselines/V/<class>.json`),
/// where a `digests.json` belongs beside it.
fn in_baseline_store(record: &Path) -> bool {
    record
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .is_some_and(|n| n == crate::store::BASELINES_DIR)
}

/// Finds `signoff.json` for a report directory or any file of it.
fn report_json(target: &Path) -> Option<PathBuf> {
    if target.is_dir() {
        return Some(target.join("signoff.json"));
    }
    let name = target.file_name()?.to_str()?;
    matches!(name, "signoff.json" | "signoff.md" | "signoff.html")
        .then(|| target.with_file_name("signoff.json"))
}

/// The renderings beside the report `json_path` (`(file name, content)`) and the checks of
/// that set of files: a rendering missing (broken in a signed set, else not checked) and
/// each file's signature.
fn report_files(
    args: &VerifyArgs,
    json_path: &Path,
    signed_set: bool,
) -> Result<(crate::analysis::verify::Renderings, Vec<Check>)> {
    let dir = json_path.parent().unwrap_or(Path::new("."));
    let mut renderings = Vec::new();
    let mut checks = Vec::new();
    let mut present = vec![json_path.to_path_buf()];
    for name in ["signoff.md", "signoff.html"] {
        let path = dir.join(name);
        if path.exists() {
            renderings.push((name.to_string(), crate::sys::fs::read_to_string(&path)?));
            present.push(path);
        } else if signed_set {
            checks.push(Check::Broken(format!(
                "{name} is missing beside the signed report {}",
                json_path.display()
            )));
        } else {
            checks.push(Check::Unchecked(format!(
                "{name} is not beside the report: its rendering was not checked"
            )));
        }
    }
    checks.extend(signature_checks(args, &present, signed_set)?);
    Ok((renderings, checks))
}

/// Whether the report `text` at `json_path` is a signed set: made since runs are signed
/// (it records who signed the run), or carrying a signature. Each of its files must then be
/// there and signed by a listed signer.
fn is_signed_set(json_path: &Path, text: &str) -> bool {
    let claims_trust = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v["inputs"].get("trust").is_some());
    claims_trust || crate::sys::sign::sig_path(json_path).exists()
}

/// The checks of the sign-off report `json_path` (whose text is `text`): its seals and
/// derivation, the renderings beside it, the signatures of its files.
fn report_checks(
    args: &VerifyArgs,
    json_path: &Path,
    text: &str,
) -> Result<(SignoffReport, Vec<Check>)> {
    let (renderings, files) = report_files(args, json_path, is_signed_set(json_path, text))?;
    let render = |report: &SignoffReport, name: &str| {
        formats()
            .into_iter()
            .find(|f| f.file_name() == name)
            .map(|f| f.render(report).map_err(|e| e.to_string()))
    };
    let (report, mut checks) = check_report(text, &renderings, &render)
        .map_err(|e| bad_input(format!("{}: {e}", json_path.display())))?;
    checks.extend(files);
    Ok((report, checks))
}

/// Checks a fleet report: each class report beside it (printed as its own block), then the
/// fleet report derived again from them, its renderings and signatures. Returns the worst
/// outcome and the fleet's decision.
fn verify_fleet(args: &VerifyArgs, json_path: &Path, text: &str) -> Result<(Outcome, String)> {
    if args.rerun || args.run.is_some() {
        return Err(bad_input(format!(
            "{} is a fleet report: re-derive one class's numbers from that class's own report, \
             e.g. `benchseal verify {}/<class> --rerun`",
            json_path.display(),
            json_path.parent().unwrap_or(Path::new(".")).display()
        )));
    }
    let fleet = crate::analysis::fleet::FleetReport::from_json(text)
        .map_err(|e| bad_input(format!("{}: {e}", json_path.display())))?;
    let dir = json_path.parent().unwrap_or(Path::new("."));
    let mut outcome = Outcome::Success;
    let mut reports = Vec::new();
    let mut signed_set = crate::sys::sign::sig_path(json_path).exists();
    let mut first_broken: Option<(PathBuf, String)> = None;
    let mut note_broken = |path: &Path, checks: &[Check]| {
        if first_broken.is_none()
            && let Some(first) = checks.iter().find(|c| matches!(c, Check::Broken(_)))
        {
            first_broken = Some((
                path.to_path_buf(),
                first.line().trim_start_matches("BROKEN").trim().to_string(),
            ));
        }
    };
    for class in fleet.classes.iter().filter(|c| c.report.is_some()) {
        let path = dir
            .join(crate::analysis::fleet::class_report_dir(&class.class))
            .join("signoff.json");
        let Ok(class_text) = crate::sys::fs::read_to_string(&path) else {
            continue; // named by `check_fleet` as missing
        };
        signed_set |= is_signed_set(&path, &class_text);
        let (report, checks) = report_checks(args, &path, &class_text)?;
        outcome = outcome.worst(print_checks(
            &format!(
                "report {} (class {}, v{}, {})",
                path.display(),
                class.class,
                report.version,
                report.decision.verdict
            ),
            &checks,
        ));
        note_broken(&path, &checks);
        reports.push(report);
    }
    let (renderings, files) = report_files(args, json_path, signed_set)?;
    let render = |fleet: &crate::analysis::fleet::FleetReport, name: &str| {
        crate::present::report::fleet::formats()
            .into_iter()
            .find(|(file, _)| *file == name)
            .map(|(_, render)| render(fleet).map_err(|e| e.to_string()))
    };
    let (fleet, mut checks) =
        crate::analysis::verify::check_fleet(text, &reports, &renderings, &render)
            .map_err(|e| bad_input(format!("{}: {e}", json_path.display())))?;
    checks.extend(files);
    outcome = outcome.worst(print_checks(
        &format!(
            "fleet report {} (v{}, {} classes, {})",
            json_path.display(),
            fleet.version,
            fleet.classes.len(),
            fleet.decision.verdict
        ),
        &checks,
    ));
    note_broken(json_path, &checks);
    if let Some((path, why)) = first_broken {
        eprintln!("benchseal: {}: {why}", path.display());
    }
    Ok((outcome, fleet.decision.verdict))
}

pub fn execute(args: VerifyArgs) -> Result<Outcome> {
    let json_path = report_json(&args.target).unwrap_or_else(|| args.target.clone());
    let text =
        crate::sys::fs::read_to_string(&json_path).map_err(|e| bad_input(format!("{e:#}")))?;
    let schema = serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| bad_input(format!("{}: not valid JSON: {e}", json_path.display())))?
        .get("schema")
        .and_then(|s| s.as_str().map(str::to_string));
    let mut decision: Option<String> = None;
    let (reference, policy, mut outcome) = match schema.as_deref() {
        Some(crate::analysis::fleet::FLEET_SCHEMA) => {
            let (outcome, decision) = verify_fleet(&args, &json_path, &text)?;
            style::print_out(&format!("{}\n", integrity_line(outcome, Some(&decision))));
            return Ok(outcome);
        }
        Some(REPORT_SCHEMA) => {
            let (report, checks) = report_checks(&args, &json_path, &text)?;
            let outcome = print_checks(
                &format!(
                    "report {} (v{}, {})",
                    json_path.display(),
                    report.version,
                    report.decision.verdict
                ),
                &checks,
            );
            if let Some(first) = checks.iter().find(|c| matches!(c, Check::Broken(_))) {
                eprintln!(
                    "benchseal: {}: {}",
                    json_path.display(),
                    first.line().trim_start_matches("BROKEN").trim()
                );
            }
            decision = Some(report.decision.verdict.clone());
            (
                report.inputs.run.clone(),
                report.inputs.slo.regression.clone(),
                outcome,
            )
        }
        Some(RUN_SCHEMA) => {
            let record = RunRecord::from_json(&text)
                .map_err(|e| bad_input(format!("{}: {e}", json_path.display())))?;
            let golden_path = json_path.with_file_name("digests.json");
            let signed = crate::sys::sign::sig_path(&json_path).exists();
            let golden = if golden_path.exists() {
                Some(crate::store::golden::load(&golden_path)?)
            } else {
                None
            };
            let mut checks = check_record(&record, golden.as_ref());
            checks.extend(crate::store::profiles::checks(
                &record,
                json_path.parent().unwrap_or(Path::new(".")),
            ));
            let mut files = vec![json_path.clone()];
            if golden.is_some() {
                files.push(golden_path.clone());
            } else if signed && in_baseline_store(&json_path) {
                checks.push(Check::Broken(format!(
                    "{} is missing beside the signed baseline {}",
                    golden_path.display(),
                    json_path.display()
                )));
            }
            checks.extend(signature_checks(&args, &files, false)?);
            let outcome = print_checks(
                &format!("record {} (run {})", json_path.display(), record.run_id),
                &checks,
            );
            let policy = match &args.slo {
                Some(path) => crate::store::load_slo(path)?.regression,
                None => Policy::default(),
            };
            (record, policy, outcome)
        }
        other => {
            return Err(bad_input(format!(
                "{}: schema {other:?} is neither a sign-off report (`{REPORT_SCHEMA}`) nor a run record or baseline (`{RUN_SCHEMA}`)",
                json_path.display()
            )));
        }
    };
    if outcome == Outcome::Irreproducible {
        style::print_out(&format!(
            "{}\n",
            integrity_line(outcome, decision.as_deref())
        ));
        return Ok(outcome);
    }
    let fresh = if args.rerun {
        Some(crate::app::signoff::run_suite(rerun_config(
            &reference,
            &args.sizes,
        )?)?)
    } else if let Some(path) = &args.run {
        Some(crate::store::load(path, Seal::Required)?)
    } else {
        None
    };
    if let Some(fresh) = fresh {
        // A rerun limited to some tiers re-derives those tiers only: the others are one
        // line, not one "unchecked" line each.
        let mut reference = reference;
        let before = reference.workloads.len();
        if !args.sizes.is_empty() {
            reference
                .workloads
                .retain(|w| args.sizes.contains(&w.id.size));
        }
        let mut checks = reproduce(&reference, &fresh, &policy);
        if reference.workloads.len() < before {
            checks.push(Check::Unchecked(format!(
                "{} workloads of other tiers than {} were not re-run (--size)",
                before - reference.workloads.len(),
                args.sizes
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        outcome = outcome.worst(print_checks(
            &format!(
                "numbers of run {} re-derived from run {}",
                reference.run_id, fresh.run_id
            ),
            &checks,
        ));
    }
    style::print_out(&format!(
        "{}\n",
        integrity_line(outcome, decision.as_deref())
    ));
    Ok(outcome)
}
