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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;
use benchseal_benches::Size;

use crate::Outcome;
use crate::compare::Policy;
use crate::exit::bad_input;
use crate::record::{EngineKind, RUN_SCHEMA, RunRecord};
use crate::report::{REPORT_SCHEMA, ReportInputs, SignoffReport, first_difference, formats};
use crate::run::RunConfig;
use crate::slo::{SloFile, significant};

/// Arguments of `benchseal verify REPORT_OR_BASELINE`.
#[derive(Debug, clap::Args)]
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
}

/// The verdict on one checked item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Ok(String),
    /// Not comparable (missing on one side); listed, never counted as a pass or failure.
    Unchecked(String),
    /// Outside the policy: exit 1.
    Outside(String),
    /// Seal, digest or content mismatch: exit 3.
    Broken(String),
}

impl Check {
    fn outcome(&self) -> Outcome {
        match self {
            Check::Ok(_) | Check::Unchecked(_) => Outcome::Success,
            Check::Outside(_) => Outcome::Failed,
            Check::Broken(_) => Outcome::Irreproducible,
        }
    }

    fn line(&self) -> String {
        match self {
            Check::Ok(s) => format!("ok         {s}"),
            Check::Unchecked(s) => format!("unchecked  {s}"),
            Check::Outside(s) => format!("OUTSIDE    {s}"),
            Check::Broken(s) => format!("BROKEN     {s}"),
        }
    }
}

/// The checks of a sign-off report: embedded seals, re-derivation, field seals, seal,
/// and the Markdown/HTML renderings given (`(file name, content)`).
pub fn check_report(
    json_text: &str,
    renderings: &[(String, String)],
) -> Result<(SignoffReport, Vec<Check>), String> {
    let stored: serde_json::Value = serde_json::from_str(json_text)
        .map_err(|e| format!("signoff.json is not valid JSON: {e}"))?;
    let report = SignoffReport::from_json(json_text)?;
    let mut checks = Vec::new();
    let inputs: &ReportInputs = &report.inputs;
    for (name, record) in [
        ("inputs.run", Some(&inputs.run)),
        ("inputs.baseline", inputs.baseline.as_ref()),
    ] {
        if let Some(record) = record {
            checks.push(match record.verify_seal() {
                Ok(()) => Check::Ok(format!("{name}: seal of run {} matches", record.run_id)),
                Err(why) => Check::Broken(format!("{name}: {why}")),
            });
        }
    }
    match SignoffReport::derive(inputs.clone()) {
        Err(e) => checks.push(Check::Broken(format!(
            "the report cannot be derived from its inputs: {e}"
        ))),
        Ok(derived) => {
            let derived = serde_json::to_value(&derived).map_err(|e| e.to_string())?;
            checks.push(match first_difference(&derived, &stored) {
                None => {
                    Check::Ok("every field equals the report derived again from its inputs".into())
                }
                Some((path, expected, actual)) => Check::Broken(format!(
                    "field `{path}` differs: the report says {actual}, its inputs give {expected}"
                )),
            });
        }
    }
    let field_seals = report.compute_field_seals().map_err(|e| e.to_string())?;
    let broken_field = field_seals
        .iter()
        .find(|(k, v)| report.field_seals.get(*k) != Some(*v))
        .map(|(k, _)| k.clone());
    checks.push(match broken_field {
        None => Check::Ok("field seals match".into()),
        Some(field) => Check::Broken(format!(
            "field seal of `{field}` does not match its content"
        )),
    });
    let seal = crate::digest::seal_of(&stored).map_err(|e| e.to_string())?;
    checks.push(match &report.seal {
        Some(s) if *s == seal => Check::Ok(format!("seal {seal} matches")),
        Some(s) => Check::Broken(format!(
            "seal mismatch: stored {s}, content hashes to {seal}"
        )),
        None => Check::Broken("the report has no seal".into()),
    });
    for (name, content) in renderings {
        let Some(format) = formats().into_iter().find(|f| f.file_name() == name) else {
            continue;
        };
        let expected = format.render(&report).map_err(|e| e.to_string())?;
        checks.push(match first_line_difference(&expected, content) {
            None => Check::Ok(format!("{name} equals the rendering of signoff.json")),
            Some((line, want, got)) => Check::Broken(format!("{name} line {line} differs from the rendering of signoff.json: expected `{want}`, found `{got}`")),
        });
    }
    Ok((report, checks))
}

fn first_line_difference(expected: &str, actual: &str) -> Option<(usize, String, String)> {
    let clip = |s: &str| s.chars().take(160).collect::<String>();
    let mut e = expected.lines();
    let mut a = actual.lines();
    for n in 1.. {
        match (e.next(), a.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                return Some((
                    n,
                    clip(x.unwrap_or("(end of file)")),
                    clip(y.unwrap_or("(end of file)")),
                ));
            }
        }
    }
    None
}

/// Checks a baseline or run record: its seal, and its digests against the golden digest
/// file stored beside it, if any.
pub fn check_record(
    record: &RunRecord,
    golden: Option<&crate::digests::GoldenDigests>,
) -> Vec<Check> {
    let mut checks = vec![match record.verify_seal() {
        Ok(()) => Check::Ok(format!("seal of run {} matches", record.run_id)),
        Err(why) => Check::Broken(why),
    }];
    let Some(golden) = golden else {
        checks.push(Check::Unchecked(
            "no digests.json beside the record: output digests were not checked".into(),
        ));
        return checks;
    };
    for w in &record.workloads {
        let Some(g) = golden.workloads.get(&w.id.to_string()) else {
            continue;
        };
        for p in &w.paths {
            if let Some(d) = &p.output_sha256 {
                checks.push(if *d == g.output_sha256 {
                    Check::Ok(format!(
                        "{} {} output digest equals digests.json",
                        w.id, p.path
                    ))
                } else {
                    Check::Broken(format!(
                        "{} {} output digest {} differs from digests.json {}",
                        w.id,
                        p.path,
                        crate::slo::short(d),
                        crate::slo::short(&g.output_sha256)
                    ))
                });
            }
        }
    }
    checks
}

/// Re-derives every number of `reference` from `fresh` through the comparison policy:
/// equal output digests are listed one by one; a broken digest, input or same-executable
/// instruction count is `Broken`; a wall-clock or instruction change the policy calls real
/// (either way), or a failing memory growth, is `Outside`.
pub fn reproduce(reference: &RunRecord, fresh: &RunRecord, policy: &Policy) -> Vec<Check> {
    use crate::compare::{Metric, Side, Verdict, compare_records};
    let comparison = compare_records(
        reference,
        fresh,
        policy,
        Side::of(reference, "reference", None),
        Side::of(fresh, "fresh", None),
    );
    let mut checks = Vec::new();
    for w in &reference.workloads {
        let Some(fw) = fresh.workload(&w.id) else {
            continue;
        };
        for p in &w.paths {
            let fresh_digest = fw.path(p.path).and_then(|fp| fp.output_sha256.as_ref());
            if let (Some(a), Some(b)) = (&p.output_sha256, fresh_digest)
                && a == b
            {
                checks.push(Check::Ok(format!(
                    "{}@{} output digest {} equal",
                    w.id,
                    p.path,
                    crate::slo::short(a)
                )));
            }
        }
    }
    for issue in &comparison.reproducibility {
        checks.push(Check::Broken(format!(
            "{}: {}",
            issue.benchmark, issue.problem
        )));
    }
    for m in &comparison.metrics {
        let mut line = format!("{} {}: ", m.benchmark, m.metric.name());
        if m.metric == Metric::Instructions && m.old == m.new {
            checks.push(Check::Ok(format!("{line}{} equal", m.new as u64)));
            continue;
        }
        line += &format!(
            "{} -> {} ({:+.2} %",
            significant(m.old, 6),
            significant(m.new, 6),
            m.change_pct()
        );
        if let (Some(lo), Some(hi)) = (m.ratio_lower, m.ratio_upper) {
            line += &format!(
                ", ratio CI [{}, {}]",
                significant(lo, 4),
                significant(hi, 4)
            );
        }
        if let Some(p) = m.p_value {
            line += &format!(", p = {}", significant(p, 2));
        }
        line += &format!(") {}", m.verdict);
        if let Some(note) = &m.note {
            line += &format!("; {note}");
        }
        let within = match m.metric {
            Metric::PeakRss => !m.fails,
            Metric::Instructions => m.verdict == Verdict::Unchanged,
            Metric::Wall | Metric::ProcessWall => {
                matches!(m.verdict, Verdict::Unchanged | Verdict::Inconclusive)
            }
        };
        checks.push(if within {
            Check::Ok(line)
        } else {
            Check::Outside(line)
        });
    }
    for n in &comparison.not_compared {
        checks.push(Check::Unchecked(format!("{}: {}", n.benchmark, n.reason)));
    }
    checks
}

fn print_checks(title: &str, checks: &[Check]) -> Outcome {
    println!("{title}");
    let mut outcome = Outcome::Success;
    for c in checks {
        println!("  {}", c.line());
        outcome = outcome.worst(c.outcome());
    }
    outcome
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
    let counted = |w: &&crate::record::WorkloadRecord| {
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
        ..RunConfig::default()
    })
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

pub fn execute(args: VerifyArgs) -> Result<Outcome> {
    let json_path = report_json(&args.target).unwrap_or_else(|| args.target.clone());
    let text =
        crate::fsutil::read_to_string(&json_path).map_err(|e| bad_input(format!("{e:#}")))?;
    let schema = serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| bad_input(format!("{}: not valid JSON: {e}", json_path.display())))?
        .get("schema")
        .and_then(|s| s.as_str().map(str::to_string));
    let (reference, policy, mut outcome) = match schema.as_deref() {
        Some(REPORT_SCHEMA) => {
            let dir = json_path.parent().unwrap_or(Path::new("."));
            let mut renderings = Vec::new();
            let mut missing = Vec::new();
            for name in ["signoff.md", "signoff.html"] {
                let path = dir.join(name);
                if path.exists() {
                    renderings.push((name.to_string(), crate::fsutil::read_to_string(&path)?));
                } else {
                    missing.push(Check::Unchecked(format!(
                        "{name} is not beside the report: its rendering was not checked"
                    )));
                }
            }
            let (report, mut checks) = check_report(&text, &renderings)
                .map_err(|e| bad_input(format!("{}: {e}", json_path.display())))?;
            checks.extend(missing);
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
            let golden = if golden_path.exists() {
                Some(crate::digests::GoldenDigests::load(&golden_path)?)
            } else {
                None
            };
            let checks = check_record(&record, golden.as_ref());
            let outcome = print_checks(
                &format!("record {} (run {})", json_path.display(), record.run_id),
                &checks,
            );
            let policy = match &args.slo {
                Some(path) => SloFile::load(path)?.regression,
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
        println!("overall: BROKEN (the document was edited or its inputs no longer match)");
        return Ok(outcome);
    }
    let fresh = if args.rerun {
        Some(crate::signoff::run_suite(rerun_config(
            &reference,
            &args.sizes,
        )?)?)
    } else if let Some(path) = &args.run {
        Some(crate::signoff::load_sealed(path)?)
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
    println!(
        "overall: {}",
        match outcome {
            Outcome::Success => "OK",
            Outcome::Failed => "OUTSIDE POLICY",
            Outcome::Irreproducible => "BROKEN",
        }
    );
    Ok(outcome)
}
