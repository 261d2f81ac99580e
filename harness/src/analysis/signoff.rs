//! The sign-off report: one typed model, three renderings.
//!
//! [`SignoffReport`] is derived, by a pure function, from its [`ReportInputs`] (the sealed
//! run record, the baseline record, the parsed SLO file, the history points and the state
//! of the source tree). The inputs travel inside the report, so anyone holding
//! `signoff.json` can derive the report again and compare it field by field with what it
//! claims: that is how `benchseal verify` names the first field an edit touched. The seal
//! is the SHA-256 of the model's canonical JSON (without `seal`), and `field_seals` holds
//! the digest of each top-level field, so an edit to a field that is an input rather than
//! a derived value is still named.
//!
//! The renderings (Markdown, HTML, JSON) live in `present::report`; the figures the model
//! carries are already written out (by `analysis::format`), so every rendering shows the
//! same text.

use crate::model::digest::SealScheme;
use std::collections::BTreeMap;

use benchseal_benches::{Family, KernelPath, Size};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::analysis::slo::{self, Evaluation, SloError, SloFile, SloVerdict, Subject};
use crate::model::record::{RunRecord, Status, Tuning};

/// Schema name and version of sign-off reports.
pub const REPORT_SCHEMA: &str = "benchseal.signoff/1";

/// The rule behind GO / NO-GO, stated in every report.
pub const DECISION_RULE: &str = "NO-GO when a critical or high objective fails, when a critical objective \
could not be evaluated (skipped), when the comparison with the baseline finds a regression its policy \
counts as failing, when the run is incomplete, or when reproducibility is broken (an output or input \
digest differs from the golden or baseline digest). Medium objectives and skipped high or medium \
objectives are reported but do not block. Exit codes: 0 GO, 1 NO-GO, 3 reproducibility broken.";

/// What a quick sign-off adds to [`DECISION_RULE`].
pub const QUICK_RULE: &str = " A quick sign-off (`--quick`, a pull request's check) runs the small \
tier only: a critical objective on a tier the run did not select is reported as not covered by the \
quick suite and does not block; a release is signed off on the full suite.";

/// What a sign-off with release preconditions adds to [`DECISION_RULE`].
pub const PRECONDITION_RULE: &str = " Release preconditions (`[preconditions]` of the SLO file) \
run first: one that fails, or that the sign-off's time budget left unrun, is NO-GO; one skipped \
with --skip-preconditions is stated, not blocking.";

/// One release precondition (a `[preconditions]` command) as `signoff` ran it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreconditionRow {
    /// The command line as run.
    pub command: String,
    /// `pass | fail | skipped`.
    pub status: String,
    /// Why it failed (exit status or OS error, then the last lines it printed) or was
    /// skipped (`bounded by policy: …`, `--skip-preconditions`).
    pub reason: Option<String>,
    /// Seconds it ran; `None` when it did not run.
    pub seconds: Option<f64>,
}

impl PreconditionRow {
    /// Whether this row keeps the release from GO: a failure, or a command the budget
    /// left unrun (a precondition nobody checked is no precondition met).
    pub fn blocks(&self) -> bool {
        self.status == "fail"
            || (self.status == "skipped"
                && self
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with(BOUNDED_BY_POLICY)))
    }
}

/// How the reason of work the sign-off's budget left undone begins.
pub const BOUNDED_BY_POLICY: &str = "bounded by policy";

/// The tier of `objective`'s workloads that `run` did not select (`run --size`), if any:
/// the run never set out to measure it.
fn tier_not_selected(objective: &slo::Objective, run: &RunRecord) -> Option<Size> {
    let mut ids = Vec::new();
    if let Subject::Workload(id) = &objective.subject {
        ids.push(id);
    }
    if let Some(slo::SpeedupBase::Workload { reference }) = &objective.speedup {
        ids.push(reference);
    }
    ids.into_iter()
        .map(|id| id.size)
        .find(|size| !run.options.sizes.contains(size))
}

/// Rendering or deriving a report failed.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error(transparent)]
    Slo(#[from] SloError),
    #[error("rendering {format}: {message}")]
    Render {
        format: &'static str,
        message: String,
    },
    #[error("serialising the report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("sealing the report: {0}")]
    Seal(String),
}

/// State of the source tree the sign-off was made from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceState {
    pub git_commit: Option<String>,
    /// Whether the working tree had uncommitted changes; `None` when not a git checkout.
    pub git_dirty: Option<bool>,
    /// Whether `--allow-dirty` was given.
    pub allow_dirty: bool,
}

/// A stored run or baseline the trend chart shows, with each objective's measured value
/// (base units) in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub label: String,
    pub run_id: String,
    pub values: BTreeMap<String, Option<f64>>,
}

/// One row of the comparison with the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    pub subject: String,
    pub metric: String,
    pub baseline: String,
    pub current: String,
    pub change_pct: Option<f64>,
    /// The statistics behind the verdict (CI, p-value, threshold), as text.
    pub statistics: String,
    /// `improved | regressed | unchanged | inconclusive`.
    pub verdict: String,
    /// How the verdict was obtained and the noise floor measured for it (paired same
    /// session, cross-session informational, instruction counts); absent in reports of
    /// derivation rules 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
    /// Whether this row blocks the release under the regression policy.
    pub blocks: bool,
}

/// Everything a report is derived from; embedded in the report so it can be re-derived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportInputs {
    pub version: String,
    pub generated_at: String,
    pub source: SourceState,
    pub slo: SloFile,
    pub run: RunRecord,
    pub baseline_version: Option<String>,
    pub baseline: Option<RunRecord>,
    /// The baseline's own build measured in the run's session (the A side of a paired
    /// session): wall and instruction verdicts come from it when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_baseline: Option<RunRecord>,
    pub history: Vec<HistoryPoint>,
    /// The derivation rules the report was made under (see [`RULES`]); absent in reports
    /// made under rules 1, which are re-derived under those rules.
    #[serde(default = "first_rules", skip_serializing_if = "is_first_rules")]
    pub rules: u32,
    /// How the Markdown and HTML renderings are laid out (see [`LAYOUT`]); absent in
    /// reports rendered in the first layout, which verify against that layout.
    #[serde(default = "first_layout", skip_serializing_if = "is_first_layout")]
    pub layout: u32,
    /// Who signed the run and what the sign-off was allowed to overlook; absent in
    /// reports made before runs were signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<Trust>,
    /// A `signoff --quick`: a pull request's check on the quick suite. A critical objective
    /// on a tier that suite does not run is reported as not covered instead of blocking
    /// ([`QUICK_RULE`]); absent (false) in every other report.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quick: bool,
    /// The release preconditions as run before measuring; absent (empty) when the SLO file
    /// has no `[preconditions]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preconditions: Vec<PreconditionRow>,
    /// The functions behind each instruction count that regressed or improved (from the
    /// callgrind profiles kept beside the two records); absent when none moved or in
    /// reports made before profiles were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explanations: Vec<crate::analysis::callgrind::Explanation>,
}

/// What the run's signature proved when it was signed off, and the explicit allowances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trust {
    /// e.g. `signed by release@example.org (SHA256:…)`, or why it is not.
    pub run_signature: String,
    /// Signed by a key the signers file lists, valid at the time.
    pub run_signed: bool,
    /// The flags that let the sign-off go on: `--allow-unsigned`, `--allow-other-commit`,
    /// `--allow-other-version`, each with what it allowed.
    pub allowances: Vec<String>,
}

/// What the report is about, stated up front: the run's own commit, version and machine
/// class (which may differ from the signing checkout's only by an explicit allowance),
/// and who signed the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    pub run_commit: Option<String>,
    pub run_version: String,
    pub machine_class: String,
    pub run_signature: String,
    pub allowances: Vec<String>,
}

/// Derivation rules of new reports. 1: every wall verdict gates. 2: wall verdicts gate
/// only from a paired same-session comparison; cross-session ones are informational, and
/// across machine classes wall and instruction counts are not compared. 3: a paired wall
/// line's interval is at least the Student-t interval over its pair ratios. 4: and its
/// noise floor and interval at least the moderated ones of the session's paired lines
/// ([`crate::analysis::replicates::moderate`]). 5: an objective's measured time or memory
/// is written in the largest unit that keeps it at least 1 ([`slo::format_natural`]), not
/// in its target's unit. 6: an objective on a workload carries the workload's fraction of
/// its roof and its ratio to a peer, both from the same run ([`crate::analysis::roof`]).
pub const RULES: u32 = 6;

/// How a run's note begins when its sign-off could not pair wall clock with the baseline's
/// own build; the reason follows.
pub const WALL_NOT_PAIRED: &str = "wall clock not paired with baseline";

/// Layout of new reports' Markdown and HTML. 1: every digest, instruction count and
/// compared line in full tables, skipped items one per line. 2: what needs attention in
/// full, the rest counted (and listed in collapsed HTML sections and `signoff.json`);
/// skipped items grouped by reason; the history drawn per objective with a value axis.
/// 3: as 2, and the Markdown shows at most ten decision reasons, the ten largest changes
/// (blocking ones first) and ten differing instruction counts, counting the rest (a quick
/// sign-off fits a pull request comment); the HTML shows at most ten reasons.
pub const LAYOUT: u32 = 3;

fn first_layout() -> u32 {
    1
}

fn is_first_layout(layout: &u32) -> bool {
    *layout == 1
}

fn first_rules() -> u32 {
    1
}

fn is_first_rules(rules: &u32) -> bool {
    *rules == 1
}

/// GO or NO-GO, with the reasons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// `GO` or `NO-GO`.
    pub verdict: String,
    pub go: bool,
    pub reproducibility_broken: bool,
    /// The exit code `benchseal signoff` ends with.
    pub exit_code: u8,
    pub reasons: Vec<String>,
    pub rule: String,
}

/// One row of the SLO compliance matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveRow {
    pub id: String,
    pub description: Option<String>,
    pub subject: String,
    pub family: String,
    pub metric: String,
    pub priority: String,
    pub target: String,
    pub target_base: f64,
    pub measured: String,
    pub measured_base: Option<f64>,
    pub margin: String,
    pub margin_pct: Option<f64>,
    /// `pass | fail | skipped`.
    pub status: String,
    pub reason: Option<String>,
    pub source: String,
    /// The objective's workload path over its roof, from the same run: `62 % of copy`,
    /// `-` when the roof is missing from the run (rules 6; absent before, and for
    /// processes and workloads that name no roof).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roof: Option<String>,
    /// The workload's `simd` path over a peer measured in the same run, where it has one
    /// (the system's iconv for DISPLAY): `11.6x iconv` (rules 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// One output digest of the run, checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestRow {
    pub workload: String,
    pub path: String,
    pub output: Option<String>,
    pub golden: Option<String>,
    pub baseline: Option<String>,
    /// `reproduced | differs | unchecked`.
    pub verdict: String,
}

/// Instruction count of a workload path, against the baseline's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstrRow {
    pub workload: String,
    pub path: String,
    pub current: u64,
    pub baseline: Option<u64>,
    pub same_executable: Option<bool>,
    /// `equal | differs | no baseline`; differing counts of the same executable are a
    /// finding, since they should be exact.
    pub verdict: String,
}

/// The reproducibility section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reproducibility {
    pub broken: bool,
    pub checked: usize,
    pub reproduced: usize,
    pub mismatches: Vec<String>,
    pub digests: Vec<DigestRow>,
    pub instructions: Vec<InstrRow>,
    pub machine_class: String,
    pub baseline_machine_class: Option<String>,
    /// `key = value` lines of the environment snapshot.
    pub environment: Vec<String>,
    /// Differences from the baseline's environment.
    pub env_diff: Vec<String>,
    /// Settings that changed during the run.
    pub env_changes: Vec<String>,
    pub tuning: Tuning,
}

/// An item that was not measured, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedRow {
    pub item: String,
    pub reason: String,
}

/// One line of evidence per family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceLine {
    pub family: String,
    pub line: String,
}

/// The sign-off report of one release (an unknown top-level field is refused, not carried
/// outside the seal).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignoffReport {
    pub schema: String,
    pub version: String,
    pub generated_at: String,
    pub decision: Decision,
    pub source: SourceState,
    /// A sentence when the sign-off was made from a dirty tree with `--allow-dirty`.
    pub dirty_statement: Option<String>,
    /// The run's own commit, version, class and signer (reports since runs are signed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<Binding>,
    pub run_id: String,
    pub run_seal: Option<String>,
    pub baseline_version: Option<String>,
    pub baseline_run_id: Option<String>,
    pub objectives: Vec<ObjectiveRow>,
    /// The release preconditions' gate rows (see [`ReportInputs::preconditions`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preconditions: Vec<PreconditionRow>,
    /// The comparison's one-line summary (all verdicts), when there is a baseline.
    pub comparison_headline: Option<String>,
    /// Lines of the comparison that are not `unchanged`.
    pub comparisons: Vec<ComparisonRow>,
    pub reproducibility: Reproducibility,
    pub skipped: Vec<SkippedRow>,
    pub evidence: Vec<EvidenceLine>,
    pub inputs: ReportInputs,
    /// SHA-256 of the canonical JSON of each top-level field.
    pub field_seals: BTreeMap<String, String>,
    /// SHA-256 of the canonical JSON of everything else.
    pub seal: Option<String>,
}

fn family_of(subject: &Subject) -> String {
    match subject {
        Subject::Workload(id) => id.family.name().to_string(),
        Subject::Workloads(prefix) => prefix
            .split('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("all")
            .to_string(),
        Subject::Process(_) => "harness".to_string(),
    }
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// The roof fraction and the peer ratio of the workload an objective reads, from `run`.
fn roof_and_peer(objective: &slo::Objective, run: &RunRecord) -> (Option<String>, Option<String>) {
    let slo::Subject::Workload(id) = &objective.subject else {
        return (None, None);
    };
    let Some(w) = run.workload(id) else {
        return (None, None);
    };
    let path = match objective.speedup {
        Some(slo::SpeedupBase::Path { fast, .. }) => fast,
        _ => slo::default_path(w, objective.path),
    };
    let roof = match crate::analysis::roof::fraction(run, w, path) {
        Ok(f) => f.map(|f| f.short()),
        Err(_) => Some("-".into()),
    };
    let peer = crate::analysis::roof::peer(w).map(|p| {
        let ratio = crate::analysis::format::format_speedup(p.peer_ns, p.ours_ns);
        format!("{ratio} {}", p.name)
    });
    (roof, peer)
}

fn objective_row(
    objective: &slo::Objective,
    evaluation: &Evaluation,
    run: &RunRecord,
    rules: u32,
) -> ObjectiveRow {
    let (roof, peer) = if rules >= 6 {
        roof_and_peer(objective, run)
    } else {
        (None, None)
    };
    let show = |m: f64| slo::format_measured(&objective.target.unit, m, rules >= 5);
    let measured_base = finite(evaluation.measured_base);
    let margin_pct = finite(evaluation.margin_pct);
    let (status, reason) = match &evaluation.verdict {
        SloVerdict::Pass => ("pass", None),
        SloVerdict::Fail(why) => ("fail", Some(why.clone())),
        SloVerdict::Skipped(why) => ("skipped", Some(why.clone())),
    };
    ObjectiveRow {
        id: objective.id.clone(),
        description: objective.description.clone(),
        subject: objective.subject.to_string(),
        family: family_of(&objective.subject),
        metric: objective.metric.name().to_string(),
        priority: objective.priority.name().to_string(),
        target: objective.target.to_string(),
        target_base: objective.target.base_value(),
        measured: measured_base.map_or("-".into(), show),
        measured_base,
        margin: margin_pct.map_or("-".into(), |m| format!("{m:+.1} %")),
        margin_pct,
        status: status.into(),
        reason,
        source: evaluation.source.clone(),
        roof,
        peer,
    }
}

/// A comparison line as the report shows it: values in their unit, statistics as text.
fn comparison_row(m: &crate::analysis::compare::MetricComparison) -> ComparisonRow {
    use crate::analysis::format::format_value;
    let show = |v: f64| format_value(m.metric, v);
    let mut statistics = format!("ratio {}", crate::analysis::format::significant(m.ratio, 4));
    if let (Some(lower), Some(upper)) = (m.ratio_lower, m.ratio_upper) {
        statistics += &format!(
            ", CI [{}, {}]",
            crate::analysis::format::significant(lower, 4),
            crate::analysis::format::significant(upper, 4)
        );
    }
    if let Some(p) = m.p_value {
        statistics += &format!(", p = {}", crate::analysis::format::significant(p, 2));
    }
    if let Some(note) = &m.note {
        statistics += &format!("; {note}");
    }
    ComparisonRow {
        subject: m.benchmark.clone(),
        metric: m.metric.name().into(),
        baseline: show(m.old),
        current: show(m.new),
        change_pct: finite(Some(m.change_pct())),
        statistics,
        verdict: m.verdict.name().into(),
        how: m.basis.as_ref().map(|basis| match m.noise_floor_pct {
            Some(floor) => format!("{basis}; noise floor {floor:.2} %"),
            None => basis.to_string(),
        }),
        blocks: m.fails,
    }
}

fn reproducibility_section(run: &RunRecord, baseline: Option<&RunRecord>) -> Reproducibility {
    let summary = slo::reproducibility(run, baseline, "");
    let mut digests = Vec::new();
    let mut instructions = Vec::new();
    for w in &run.workloads {
        let base = baseline.and_then(|b| b.workload(&w.id));
        for p in &w.paths {
            let base_path = base.and_then(|b| b.path(p.path));
            let baseline_digest = base_path.and_then(|bp| bp.output_sha256.clone());
            let verdict = match &p.output_sha256 {
                None if p.status.is_invalid() => "differs",
                None => "unchecked",
                Some(d) => {
                    let golden_ok = w.golden_output_sha256.as_ref().is_none_or(|g| g == d);
                    let base_ok = baseline_digest.as_ref().is_none_or(|b| b == d);
                    let paths_ok = w
                        .paths
                        .iter()
                        .filter_map(|q| q.output_sha256.as_ref())
                        .all(|q| q == d);
                    if golden_ok && base_ok && paths_ok && !p.status.is_invalid() {
                        "reproduced"
                    } else {
                        "differs"
                    }
                }
            };
            digests.push(DigestRow {
                workload: w.id.to_string(),
                path: p.path.name().into(),
                output: p.output_sha256.clone(),
                golden: w.golden_output_sha256.clone(),
                baseline: baseline_digest,
                verdict: verdict.into(),
            });
            if let Some(current) = p
                .instr
                .as_ref()
                .and_then(|r| r.metrics.as_ref())
                .map(|m| m.instructions)
            {
                let base_count = base_path
                    .and_then(|bp| bp.instr.as_ref())
                    .and_then(|r| r.metrics.as_ref())
                    .map(|m| m.instructions);
                let exe = |r: &RunRecord| {
                    r.artifact
                        .bench_executables
                        .get("instr")
                        .map(|e| e.sha256.clone())
                };
                let same_executable = baseline.map(|b| exe(run).is_some() && exe(run) == exe(b));
                let verdict = match base_count {
                    None => "no baseline",
                    Some(b) if b == current => "equal",
                    Some(_) => "differs",
                };
                instructions.push(InstrRow {
                    workload: w.id.to_string(),
                    path: p.path.name().into(),
                    current,
                    baseline: base_count,
                    same_executable,
                    verdict: verdict.into(),
                });
            }
        }
    }
    let environment = crate::analysis::env::flatten_snapshot(&run.env)
        .map(|flat| {
            flat.into_iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect()
        })
        .unwrap_or_else(|e| vec![format!("(the snapshot cannot be listed: {e})")]);
    Reproducibility {
        broken: !summary.mismatches.is_empty(),
        checked: summary.checked,
        reproduced: summary.reproduced,
        mismatches: summary.mismatches,
        digests,
        instructions,
        machine_class: run.env.machine_class.clone(),
        baseline_machine_class: baseline.map(|b| b.env.machine_class.clone()),
        environment,
        env_diff: baseline
            .map(|b| crate::analysis::env::changes(&b.env, &run.env))
            .unwrap_or_default(),
        env_changes: run.env_changes.clone(),
        tuning: run.tuning.clone(),
    }
}

fn skipped_items(run: &RunRecord, rows: &[ObjectiveRow]) -> Vec<SkippedRow> {
    let mut out: Vec<SkippedRow> = rows
        .iter()
        .filter(|r| r.status == "skipped")
        .map(|r| SkippedRow {
            item: format!("objective {}", r.id),
            reason: r.reason.clone().unwrap_or_default(),
        })
        .collect();
    for w in &run.workloads {
        for p in &w.paths {
            if let Status::Skipped(why) = &p.status {
                out.push(SkippedRow {
                    item: format!("{} {}", w.id, p.path),
                    reason: why.clone(),
                });
            }
            for (engine, status) in [
                ("wall", p.wall.as_ref().map(|r| &r.status)),
                ("instr", p.instr.as_ref().map(|r| &r.status)),
            ] {
                if let (Some(Status::Skipped(why)), true) = (status, p.status.is_ok()) {
                    out.push(SkippedRow {
                        item: format!("{} {} {engine}", w.id, p.path),
                        reason: why.clone(),
                    });
                }
            }
        }
    }
    for p in &run.processes {
        if let Status::Skipped(why) = &p.status {
            out.push(SkippedRow {
                item: format!("process {}", p.id),
                reason: why.clone(),
            });
        }
    }
    out
}

fn evidence_lines(run: &RunRecord, rows: &[ObjectiveRow]) -> Vec<EvidenceLine> {
    let objectives_line = |family: &str| {
        let of: Vec<_> = rows.iter().filter(|r| r.family == family).collect();
        let count = |s: &str| of.iter().filter(|r| r.status == s).count();
        format!(
            "objectives {} pass, {} fail, {} skipped",
            count("pass"),
            count("fail"),
            count("skipped")
        )
    };
    let mut lines = Vec::new();
    for family in Family::ALL {
        let workloads: Vec<_> = run
            .workloads
            .iter()
            .filter(|w| w.family == family)
            .collect();
        if workloads.is_empty() && !rows.iter().any(|r| r.family == family.name()) {
            continue;
        }
        let paths: Vec<_> = workloads.iter().flat_map(|w| w.paths.iter()).collect();
        let ok = paths.iter().filter(|p| p.status.is_ok()).count();
        let invalid = paths.iter().filter(|p| p.status.is_invalid()).count();
        let repro = slo::reproducibility(run, None, &format!("{}/", family.name()));
        let simd_paths: Vec<_> = paths
            .iter()
            .filter(|p| p.path == KernelPath::Simd && p.status.is_ok())
            .map(|p| p.label.as_str())
            .collect();
        let label = simd_paths
            .first()
            .map(|l| format!("; fast path {l}"))
            .unwrap_or_default();
        lines.push(EvidenceLine {
            family: family.name().into(),
            line: format!(
                "{} workloads, {} paths ({ok} ok, {} skipped, {invalid} invalid), {}/{} output digests reproduced{label}; {}",
                workloads.len(),
                paths.len(),
                paths.len() - ok - invalid,
                repro.reproduced,
                repro.checked,
                objectives_line(family.name())
            ),
        });
    }
    if !run.processes.is_empty() || rows.iter().any(|r| r.family == "harness") {
        let ok = run.processes.iter().filter(|p| p.status.is_ok()).count();
        let runs: u32 = run.processes.iter().map(|p| p.runs).sum();
        lines.push(EvidenceLine {
            family: "harness".into(),
            line: format!(
                "{} whole commands measured by the process engine ({ok} ok, {runs} timed runs in all); {}",
                run.processes.len(),
                objectives_line("harness")
            ),
        });
    }
    lines
}

impl SignoffReport {
    /// Derives the report from its inputs (pure). `Err` when an objective cannot be applied
    /// to the run (a unit that does not fit the workload).
    pub fn derive(inputs: ReportInputs) -> Result<SignoffReport, ReportError> {
        Self::derive_sealed(inputs, SealScheme::Jcs)
    }

    /// As [`SignoffReport::derive`], sealed in `scheme` (re-deriving a report written
    /// before 0.1.2 in the scheme it was sealed in).
    pub fn derive_sealed(
        inputs: ReportInputs,
        scheme: SealScheme,
    ) -> Result<SignoffReport, ReportError> {
        let run = &inputs.run;
        let baseline = inputs.baseline.as_ref();
        let mut rows = Vec::new();
        for objective in &inputs.slo.objectives {
            let evaluation = slo::evaluate(objective, run, baseline)?;
            rows.push(objective_row(objective, &evaluation, run, inputs.rules));
        }
        let reproducibility = reproducibility_section(run, baseline);
        let mut reasons = Vec::new();
        for p in inputs.preconditions.iter().filter(|p| p.blocks()) {
            let why = p.reason.as_deref().unwrap_or_default();
            // The reason's first line: the exit status, OS error or budget; the rows hold
            // the command's last lines.
            let first = why.lines().next().unwrap_or_default();
            reasons.push(format!(
                "precondition {}: `{}`: {first}",
                p.status, p.command
            ));
        }
        for (row, objective) in rows.iter_mut().zip(&inputs.slo.objectives) {
            let blocks_fail = row.status == "fail" && objective.priority.blocks_release();
            let mut blocks_skip =
                row.status == "skipped" && objective.priority == slo::Priority::Critical;
            if row.status == "skipped"
                && inputs.quick
                && let Some(size) = tier_not_selected(objective, run)
            {
                blocks_skip = false;
                row.reason = Some(format!(
                    "not covered by the quick suite (tier {}); the release sign-off runs it",
                    size.name()
                ));
            }
            if blocks_fail || blocks_skip {
                reasons.push(format!(
                    "{} objective {} {}: {}",
                    row.priority,
                    row.id,
                    row.status,
                    row.reason.clone().unwrap_or_default()
                ));
            }
        }
        let comparison = inputs.session_baseline.as_ref().or(baseline).map(|b| {
            let old = crate::analysis::compare::Side::of(
                b,
                inputs.baseline_version.as_deref().unwrap_or("baseline"),
                None,
            );
            let new =
                crate::analysis::compare::Side::of(run, &format!("v{}", inputs.version), None);
            use crate::analysis::compare::{PairedInterval, compare_records_with};
            let interval = match inputs.rules {
                ..=2 => PairedInterval::Bootstrap,
                3 => PairedInterval::WidenedByStudentT,
                _ => PairedInterval::Session,
            };
            let comparison =
                compare_records_with(b, run, &inputs.slo.regression, old, new, interval);
            if inputs.rules < 2 {
                comparison.under_first_rules()
            } else {
                comparison
            }
        });
        let comparisons: Vec<ComparisonRow> = comparison
            .iter()
            .flat_map(|c| c.metrics.iter())
            .filter(|m| m.verdict != crate::analysis::compare::Verdict::Unchanged)
            .map(comparison_row)
            .collect();
        let mut reproducibility = reproducibility;
        for issue in comparison.iter().flat_map(|c| c.reproducibility.iter()) {
            let line = format!("{}: {}", issue.benchmark, issue.problem);
            if !reproducibility.mismatches.contains(&line) {
                reproducibility.mismatches.push(line);
            }
            reproducibility.broken = true;
        }
        for c in comparisons.iter().filter(|c| c.blocks) {
            reasons.push(format!(
                "regression: {} {} {}",
                c.subject,
                c.metric,
                c.change_pct.map_or(String::new(), |p| format!("{p:+.1} %"))
            ));
        }
        if !run.complete {
            reasons.push("the run is incomplete".into());
        }
        if let Some(trust) = inputs.trust.as_ref().filter(|t| !t.run_signed) {
            reasons.push(format!(
                "the run is not signed by a listed signer ({}); signed off with \
                 --allow-unsigned, which no release may be",
                trust.run_signature
            ));
        }
        if reproducibility.broken {
            reasons.push(format!(
                "reproducibility broken: {} of {} output digests differ, {} finding(s) in all; first: {}",
                reproducibility.checked - reproducibility.reproduced,
                reproducibility.checked,
                reproducibility.mismatches.len(),
                reproducibility.mismatches.first().map(String::as_str).unwrap_or("-")
            ));
        }
        let go = reasons.is_empty();
        let exit_code = if reproducibility.broken {
            3
        } else if go {
            0
        } else {
            1
        };
        let dirty = inputs.source.git_dirty == Some(true) || run.artifact.git_dirty == Some(true);
        let dirty_statement = (dirty && inputs.source.allow_dirty).then(|| {
            let mut what = Vec::new();
            if inputs.source.git_dirty == Some(true) {
                what.push("the working tree had uncommitted changes when this report was made");
            }
            if run.artifact.git_dirty == Some(true) {
                what.push("the run was made from a tree with uncommitted changes");
            }
            format!("Signed off with --allow-dirty: {}.", what.join("; "))
        });
        let mut report = SignoffReport {
            schema: REPORT_SCHEMA.into(),
            version: inputs.version.clone(),
            generated_at: inputs.generated_at.clone(),
            decision: Decision {
                verdict: if go { "GO" } else { "NO-GO" }.into(),
                go,
                reproducibility_broken: reproducibility.broken,
                exit_code,
                reasons,
                rule: format!(
                    "{DECISION_RULE}{}{}",
                    if inputs.quick { QUICK_RULE } else { "" },
                    if inputs.preconditions.is_empty() {
                        ""
                    } else {
                        PRECONDITION_RULE
                    }
                ),
            },
            source: inputs.source.clone(),
            dirty_statement,
            binding: inputs.trust.as_ref().map(|t| Binding {
                run_commit: run.artifact.git_commit.clone(),
                run_version: run.artifact.version.clone(),
                machine_class: run.env.machine_class.clone(),
                run_signature: t.run_signature.clone(),
                allowances: t.allowances.clone(),
            }),
            run_id: run.run_id.clone(),
            run_seal: run.seal.clone(),
            baseline_version: inputs.baseline_version.clone(),
            baseline_run_id: baseline.map(|b| b.run_id.clone()),
            skipped: skipped_items(run, &rows),
            evidence: evidence_lines(run, &rows),
            objectives: rows,
            preconditions: inputs.preconditions.clone(),
            comparison_headline: comparison.as_ref().map(|c| {
                // How far the comparison can judge wall clock, said with its headline: why
                // it is not paired, when the baseline's code could not be measured.
                let mut headline = c.headline();
                let why_not_paired = run
                    .notes
                    .iter()
                    .filter(|n| n.starts_with(WALL_NOT_PAIRED))
                    .map(String::as_str);
                for note in c.caveat.as_deref().into_iter().chain(why_not_paired) {
                    headline.push_str(" — ");
                    headline.push_str(note);
                }
                headline
            }),
            comparisons,
            reproducibility,
            inputs,
            field_seals: BTreeMap::new(),
            seal: None,
        };
        report.field_seals = report
            .compute_field_seals(scheme)
            .map_err(ReportError::Seal)?;
        report.seal =
            Some(crate::model::digest::seal_with(&report, scheme).map_err(ReportError::Seal)?);
        Ok(report)
    }

    /// Digest of each top-level field except `field_seals` and `seal`, in `scheme`.
    pub fn compute_field_seals(
        &self,
        scheme: SealScheme,
    ) -> Result<BTreeMap<String, String>, String> {
        let value = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let mut out = BTreeMap::new();
        if let Some(map) = value.as_object() {
            for (k, v) in map
                .iter()
                .filter(|(k, _)| *k != "field_seals" && *k != "seal")
            {
                out.insert(k.clone(), scheme.digest(v)?);
            }
        }
        Ok(out)
    }

    /// Parses `signoff.json`, rejecting other schemas.
    pub fn from_json(text: &str) -> Result<SignoffReport, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(REPORT_SCHEMA) => {}
            Some(other) => {
                return Err(format!(
                    "schema `{other}` is not supported (expected `{REPORT_SCHEMA}`)"
                ));
            }
            None => {
                return Err(format!(
                    "field `schema` is missing (expected `{REPORT_SCHEMA}`)"
                ));
            }
        }
        serde_json::from_value(value).map_err(|e| format!("invalid sign-off report: {e}"))
    }
}

/// The path of the first value that differs between two JSON documents, in document
/// order (`objectives[2].measured`), with both values; `None` when equal.
pub fn first_difference(
    expected: &serde_json::Value,
    actual: &serde_json::Value,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    fn walk(path: &str, e: &Value, a: &Value) -> Option<(String, String, String)> {
        match (e, a) {
            (Value::Object(eo), Value::Object(ao)) => {
                let mut keys: Vec<&String> = eo.keys().chain(ao.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let sub = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match (eo.get(k), ao.get(k)) {
                        (Some(ev), Some(av)) => {
                            if let Some(d) = walk(&sub, ev, av) {
                                return Some(d);
                            }
                        }
                        (ev, av) => return Some((sub, show(ev), show(av))),
                    }
                }
                None
            }
            (Value::Array(ea), Value::Array(aa)) => {
                for (i, (ev, av)) in ea.iter().zip(aa).enumerate() {
                    if let Some(d) = walk(&format!("{path}[{i}]"), ev, av) {
                        return Some(d);
                    }
                }
                (ea.len() != aa.len()).then(|| {
                    (
                        format!("{path}.length"),
                        ea.len().to_string(),
                        aa.len().to_string(),
                    )
                })
            }
            _ => (e != a).then(|| (path.to_string(), e.to_string(), a.to_string())),
        }
    }
    fn show(v: Option<&Value>) -> String {
        v.map_or("(absent)".into(), |v| v.to_string())
    }
    walk("", expected, actual)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture;

    /// The fixture's inputs with the large tier left out of the run, as the quick suite
    /// does: the critical DISPLAY objective (large tier) has no data.
    fn without_large(quick: bool, deselect: bool) -> SignoffReport {
        let mut inputs = fixture::inputs();
        inputs.quick = quick;
        inputs.run.workloads.retain(|w| w.id.size != Size::Large);
        if deselect {
            inputs.run.options.sizes.retain(|s| *s != Size::Large);
        }
        SignoffReport::derive(inputs).expect("the fixture derives")
    }

    fn blocks_on_display(report: &SignoffReport) -> bool {
        report
            .decision
            .reasons
            .iter()
            .any(|r| r.contains("codec-display-throughput"))
    }

    #[test]
    fn a_quick_signoff_does_not_block_on_a_tier_it_did_not_select() {
        let report = without_large(true, true);
        assert!(!blocks_on_display(&report), "{:?}", report.decision.reasons);
        let row = report
            .objectives
            .iter()
            .find(|r| r.id == "codec-display-throughput")
            .expect("the objective is reported");
        assert_eq!(row.status, "skipped");
        assert_eq!(
            row.reason.as_deref(),
            Some("not covered by the quick suite (tier large); the release sign-off runs it")
        );
        assert!(report.decision.rule.ends_with(QUICK_RULE));
    }

    #[test]
    fn a_critical_objective_without_data_still_blocks_otherwise() {
        // A full sign-off of a run that left the tier out.
        assert!(blocks_on_display(&without_large(false, true)));
        // A quick sign-off whose run selected the tier but has no data for it.
        assert!(blocks_on_display(&without_large(true, false)));
        assert_eq!(without_large(false, true).decision.rule, DECISION_RULE);
    }
}
