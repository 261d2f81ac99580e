//! The checks `benchseal verify` makes: of a sign-off report, of a run record or baseline,
//! and of one run's numbers re-derived from another.
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

use crate::analysis::compare::Policy;
use crate::analysis::fleet::{FleetReport, class_of};
use crate::analysis::format::significant;
use crate::analysis::signoff::{ReportInputs, SignoffReport, first_difference};
use crate::model::digest::SealScheme;
use crate::model::golden::GoldenDigests;
use crate::model::outcome::Outcome;
use crate::model::record::RunRecord;

/// The fresh rendering of a report file by its name; `None` for a name that is not one.
pub type Renderer = dyn Fn(&SignoffReport, &str) -> Option<Result<String, String>>;

/// The fresh rendering of a fleet report's file by its name, as [`Renderer`].
pub type FleetRenderer = dyn Fn(&FleetReport, &str) -> Option<Result<String, String>>;

/// A report's renderings as found beside it: `(file name, content)`.
pub type Renderings = Vec<(String, String)>;

/// The verdict on one checked item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Ok(String),
    /// Not comparable (missing on one side); listed, never counted as a pass or failure.
    Unchecked(String),
    /// Reported to be read, never counted: a wall change across sessions.
    Info(String),
    /// Outside the policy: exit 1.
    Outside(String),
    /// Seal, digest or content mismatch: exit 3.
    Broken(String),
}

impl Check {
    pub fn outcome(&self) -> Outcome {
        match self {
            Check::Ok(_) | Check::Unchecked(_) | Check::Info(_) => Outcome::Success,
            Check::Outside(_) => Outcome::Failed,
            Check::Broken(_) => Outcome::Irreproducible,
        }
    }

    pub fn line(&self) -> String {
        match self {
            Check::Ok(s) => format!("ok         {s}"),
            Check::Unchecked(s) => format!("unchecked  {s}"),
            Check::Info(s) => format!("info       {s}"),
            Check::Outside(s) => format!("OUTSIDE    {s}"),
            Check::Broken(s) => format!("BROKEN     {s}"),
        }
    }
}

/// The seal scheme of a sign-off report made under `rules`.
pub fn seal_scheme_of_rules(rules: u32) -> SealScheme {
    if rules >= 3 {
        SealScheme::Jcs
    } else {
        SealScheme::Legacy
    }
}

/// The checks of a sign-off report: embedded seals, re-derivation, field seals, seal,
/// and the Markdown/HTML renderings given (`(file name, content)`).
///
/// `render` gives the fresh rendering of a file name (`None` for a name that is not a
/// rendering of the report).
pub fn check_report(
    json_text: &str,
    renderings: &[(String, String)],
    render: &Renderer,
) -> Result<(SignoffReport, Vec<Check>), String> {
    let stored: serde_json::Value = serde_json::from_str(json_text)
        .map_err(|e| format!("signoff.json is not valid JSON: {e}"))?;
    let report = SignoffReport::from_json(json_text)?;
    let mut checks = Vec::new();
    let inputs: &ReportInputs = &report.inputs;
    for (name, record) in [
        ("inputs.run", Some(&inputs.run)),
        ("inputs.baseline", inputs.baseline.as_ref()),
        ("inputs.session_baseline", inputs.session_baseline.as_ref()),
    ] {
        if let Some(record) = record {
            checks.push(match record.verify_seal() {
                Ok(scheme) => Check::Ok(format!(
                    "{name}: seal of run {} matches ({})",
                    record.run_id,
                    scheme.describe()
                )),
                Err(why) => Check::Broken(format!("{name}: {why}")),
            });
        }
    }
    // Re-derived under the report's own rules, sealed in their scheme: RFC 8785 from rules
    // 3 on, the earlier scheme before (the rules are inside the seal; the seal's own form is
    // not trusted to choose).
    let scheme = seal_scheme_of_rules(report.inputs.rules);
    match SignoffReport::derive_sealed(inputs.clone(), scheme) {
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
    let field_seals = report.compute_field_seals(scheme)?;
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
    checks.push(match &report.seal {
        Some(s) => match crate::model::digest::check_seal(&stored, s) {
            Ok(found) if found != scheme => Check::Broken(format!(
                "seal {s} is of the scheme {}, but a report of rules {} is sealed with {}",
                found.describe(),
                report.inputs.rules,
                scheme.describe()
            )),
            Ok(found) => Check::Ok(format!("seal {s} matches ({})", found.describe())),
            Err(why) => Check::Broken(why),
        },
        None => Check::Broken("the report has no seal".into()),
    });
    for (name, content) in renderings {
        let Some(expected) = render(&report, name) else {
            continue;
        };
        checks.push(rendering_check(name, &expected?, content));
    }
    Ok((report, checks))
}

/// The checks of a fleet report against the class reports beside it (already checked on
/// their own): the fleet report derived again from them equals the stored one field by
/// field (its seal among them), and each rendering given (`(file name, content)`) equals
/// a fresh one (`render`, `None` for a name that is not a rendering).
pub fn check_fleet(
    json_text: &str,
    reports: &[SignoffReport],
    renderings: &[(String, String)],
    render: &FleetRenderer,
) -> Result<(FleetReport, Vec<Check>), String> {
    let stored: serde_json::Value = serde_json::from_str(json_text)
        .map_err(|e| format!("signoff.json is not valid JSON: {e}"))?;
    let fleet = FleetReport::from_json(json_text)?;
    let mut checks = Vec::new();
    for c in &fleet.classes {
        let found = reports.iter().find(|r| class_of(r) == c.class);
        if c.report.is_some() && found.is_none() {
            checks.push(Check::Broken(format!(
                "the report of class {} is missing or could not be read",
                c.class
            )));
        }
    }
    match FleetReport::derive(&fleet.version, &fleet.generated_at, reports) {
        Err(e) => checks.push(Check::Broken(format!(
            "the fleet report cannot be derived from its class reports: {e}"
        ))),
        Ok(derived) => {
            let derived = serde_json::to_value(&derived).map_err(|e| e.to_string())?;
            checks.push(match first_difference(&derived, &stored) {
                None => Check::Ok(
                    "every field equals the fleet report derived again from its class reports"
                        .into(),
                ),
                Some((path, expected, actual)) => Check::Broken(format!(
                    "field `{path}` differs: the fleet report says {actual}, its class reports \
                     give {expected}"
                )),
            });
        }
    }
    checks.push(match &fleet.seal {
        Some(s) => match crate::model::digest::check_seal(&stored, s) {
            Ok(found) => Check::Ok(format!("seal {s} matches ({})", found.describe())),
            Err(why) => Check::Broken(why),
        },
        None => Check::Broken("the fleet report has no seal".into()),
    });
    for (name, content) in renderings {
        let Some(expected) = render(&fleet, name) else {
            continue;
        };
        checks.push(rendering_check(name, &expected?, content));
    }
    Ok((fleet, checks))
}

/// Whether `content` of the file `name` equals its fresh rendering, else the first line
/// that differs.
fn rendering_check(name: &str, expected: &str, content: &str) -> Check {
    match first_line_difference(expected, content) {
        None => Check::Ok(format!("{name} equals the rendering of signoff.json")),
        Some((line, want, got)) => Check::Broken(format!(
            "{name} line {line} differs from the rendering of signoff.json: expected \
             `{want}`, found `{got}`"
        )),
    }
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
pub fn check_record(record: &RunRecord, golden: Option<&GoldenDigests>) -> Vec<Check> {
    let mut checks = vec![match record.verify_seal() {
        Ok(scheme) => Check::Ok(format!(
            "seal of run {} matches ({})",
            record.run_id,
            scheme.describe()
        )),
        // No seal at all is an interrupted write (the run stopped before it was sealed),
        // not an edit.
        Err(_) if record.seal.is_none() => Check::Outside(format!(
            "run {} is not sealed: it was interrupted before it finished (not an edit)",
            record.run_id
        )),
        Err(why) => Check::Broken(why),
    }];
    if !record.complete && record.seal.is_some() {
        checks.push(Check::Outside(format!(
            "run {} is incomplete (sealed with complete: false): it was interrupted and \
             holds only what it measured before",
            record.run_id
        )));
    }
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
                        crate::analysis::slo::short(d),
                        crate::analysis::slo::short(&g.output_sha256)
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
    use crate::analysis::compare::{Metric, Side, Verdict, compare_records};
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
                    crate::analysis::slo::short(a)
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
        line += &format!(") {}", m.verdict_with_basis());
        if let Some(note) = &m.note {
            line += &format!("; {note}");
        }
        let within = match m.metric {
            Metric::PeakRss | Metric::Allocations => !m.fails,
            Metric::Instructions => m.verdict == Verdict::Unchanged,
            Metric::Wall | Metric::ProcessWall => {
                matches!(m.verdict, Verdict::Unchanged | Verdict::Inconclusive)
            }
        };
        checks.push(if !m.gates() {
            Check::Info(line)
        } else if within {
            Check::Ok(line)
        } else {
            Check::Outside(line)
        });
    }
    for n in &comparison.not_compared {
        checks.push(Check::Unchecked(format!("{}: {}", n.benchmark, n.reason)));
    }
    if let Some(caveat) = &comparison.caveat {
        // Said first: how far the numbers below can be judged at all.
        checks.insert(0, Check::Info(caveat.clone()));
    }
    checks
}
