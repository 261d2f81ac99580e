//! The comparison of two runs, and its policy.
//!
//! A comparison answers two questions about an old record A (usually a baseline) and a
//! new record B: *are the numbers still the same work?* and *did they change for real?*
//!
//! - Reproducibility comes first. The same workload must read the same input and produce
//!   the same output digests on both sides, and the same instruction-count executable
//!   (same SHA-256) must count the same instructions; otherwise nothing else can be trusted
//!   and the comparison ends with exit code 3.
//! - Wall-clock time is noisy, so it gets statistics: the bootstrap confidence interval
//!   of the ratio of medians, confirmed by a Mann–Whitney U test, against a noise
//!   threshold (rules in [`crate::analysis::stats::classify_ratio`]).
//! - Instruction counts are exact for one executable, so they get limits, as gungraun
//!   defines them: a soft limit in percent of the old count and optional hard limits in
//!   absolute counts.
//! - Peak memory gets a plain percentage threshold that fails the comparison (or only
//!   warns, by policy).
//!
//! [`compare_records`] is pure (records in, [`Comparison`] out). Resolving a side from the
//! command line is `store::resolve`, the command `app::compare`, and the renderers, one
//! small type per format, `present::compare`.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::analysis::roof::{self, RoofFraction};
use crate::analysis::stats::{RankEvidence, fnv1a};
pub use crate::analysis::stats::{RatioEstimate, Verdict};
use crate::model::outcome::Outcome;
use crate::model::outcome::bad_input;
use crate::model::record::{EngineResult, RunRecord, Session, Status, WallStats, WorkloadRecord};
use benchseal_benches::KernelPath;

/// Schema of the JSON form of a comparison (`--format json`).
pub const COMPARISON_SCHEMA: &str = "benchseal.comparison/1";

/// Seed of the bootstrap resampling: fixed, so a comparison is reproducible bit for bit.
pub const BOOTSTRAP_SEED: u64 = 0x0BE7_C45E_A15E_ED01;

/// The bootstrap seed of one benchmark's line: fixed per name, so a comparison is
/// repeatable.
fn seed_for(name: &str) -> u64 {
    BOOTSTRAP_SEED ^ fnv1a(name.as_bytes())
}

/// How each metric is judged. Deserialisable from the regression policy of `slo.toml`;
/// every field has a default, so a partial table is fine:
///
/// ```toml
/// [regression.wall]
/// threshold_pct = 3.0    # noise threshold: smaller changes are never a regression
/// confidence = 0.95      # of the bootstrap interval; the rank test uses 1 - confidence
/// resamples = 10000
/// [regression.instructions]
/// soft_limit_pct = 0.5   # more instructions than old + 0.5% is a regression
/// hard_limit = 5000000   # optional: more than this many instructions is a regression
/// hard_limits = { "codec/comp3/s9v2/tiny" = 120000 }   # optional, per workload id
/// [regression.memory]
/// threshold_pct = 25.0   # peak RSS above old + 25% is a regression
/// fail = true            # whether a memory regression fails (exit 1) or only warns
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub wall: WallPolicy,
    pub instructions: InstructionsPolicy,
    pub memory: MemoryPolicy,
}

/// Wall-clock policy (also used for the process engine's whole-command times).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WallPolicy {
    /// Changes of the median smaller than this (percent) count as noise.
    pub threshold_pct: f64,
    /// Coverage of the bootstrap interval; the Mann–Whitney test runs at 1 − confidence.
    pub confidence: f64,
    /// Bootstrap resamples.
    pub resamples: usize,
}

impl Default for WallPolicy {
    fn default() -> Self {
        // 3%: at 2% sample noise and 20 samples a side, the simulations in stats.rs
        // (`simulated_*` tests) assert that at most 1% of A/A comparisons are flagged and
        // at least 95% of 5% shifts are detected under exactly this policy.
        WallPolicy {
            threshold_pct: 3.0,
            confidence: 0.95,
            resamples: 10_000,
        }
    }
}

/// Instruction-count limits, as gungraun defines them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstructionsPolicy {
    /// Soft limit: a change above this percentage of the old count is a regression (below
    /// its negative, an improvement). gungraun's soft limits are percentages too.
    /// (`threshold_pct` is accepted as another name.)
    #[serde(alias = "threshold_pct")]
    pub soft_limit_pct: f64,
    /// Hard limit: a new count above this absolute number is a regression, whatever the
    /// old count was.
    pub hard_limit: Option<u64>,
    /// Hard limits per workload id; they take precedence over `hard_limit`.
    pub hard_limits: BTreeMap<String, u64>,
}

impl Default for InstructionsPolicy {
    fn default() -> Self {
        InstructionsPolicy {
            soft_limit_pct: 0.5,
            hard_limit: None,
            hard_limits: BTreeMap::new(),
        }
    }
}

/// Peak-memory policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryPolicy {
    /// Peak RSS (and per-run heap allocation) growth above this percentage is a regression.
    pub threshold_pct: f64,
    /// Whether a memory regression fails the comparison (exit 1) or is only reported.
    /// (`fails` is accepted as another name.)
    #[serde(alias = "fails")]
    pub fail: bool,
}

impl Default for MemoryPolicy {
    fn default() -> Self {
        MemoryPolicy {
            threshold_pct: 25.0,
            fail: true,
        }
    }
}

/// Fewest bootstrap resamples a policy may ask for: fewer make the interval noise.
pub const MIN_RESAMPLES: usize = 100;
/// Most bootstrap resamples a policy may ask for (ten times the default): each costs time
/// for every workload compared, and memory for every draw kept.
pub const MAX_RESAMPLES: usize = 100_000;

impl Policy {
    /// Checks that the numbers make sense; the message names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let w = &self.wall;
        if !(w.threshold_pct.is_finite() && w.threshold_pct >= 0.0) {
            return Err(format!(
                "wall.threshold_pct must be ≥ 0, not {}",
                w.threshold_pct
            ));
        }
        if !(w.confidence > 0.5 && w.confidence < 1.0) {
            return Err(format!(
                "wall.confidence must lie in (0.5, 1), not {}",
                w.confidence
            ));
        }
        if !(MIN_RESAMPLES..=MAX_RESAMPLES).contains(&w.resamples) {
            return Err(format!(
                "wall.resamples must lie in {MIN_RESAMPLES}..={MAX_RESAMPLES}, not {}",
                w.resamples
            ));
        }
        let soft = self.instructions.soft_limit_pct;
        if !(soft.is_finite() && soft >= 0.0) {
            return Err(format!(
                "instructions.soft_limit_pct must be ≥ 0, not {soft}"
            ));
        }
        let memory = self.memory.threshold_pct;
        if !(memory.is_finite() && memory >= 0.0) {
            return Err(format!("memory.threshold_pct must be ≥ 0, not {memory}"));
        }
        Ok(())
    }
}

/// The metric a line of a comparison is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Median wall-clock time per run of the kernel (criterion), ns.
    Wall,
    /// Instructions executed (gungraun / callgrind).
    Instructions,
    /// Median wall time of a whole command (process engine), ns.
    ProcessWall,
    /// Peak resident set size of a whole command (process engine), bytes.
    PeakRss,
    /// Heap allocations of one warm kernel run (digest pass, counted exactly); judged by
    /// the memory policy like peak memory.
    Allocations,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Wall => "wall",
            Metric::Instructions => "instructions",
            Metric::ProcessWall => "process wall",
            Metric::PeakRss => "peak rss",
            Metric::Allocations => "allocations",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            Metric::Wall | Metric::ProcessWall => "ns",
            Metric::Instructions => "instructions",
            Metric::PeakRss => "bytes",
            Metric::Allocations => "allocations",
        }
    }
}

/// One metric of one benchmark, old against new.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// `workload-id@path` (e.g. `codec/comp3/s9v2/large@simd`) or `process:<id>`.
    pub benchmark: String,
    pub metric: Metric,
    /// Median time, instruction count or peak bytes.
    pub old: f64,
    pub new: f64,
    /// new / old: above 1 costs more.
    pub ratio: f64,
    /// Confidence interval of the ratio, where the metric has one.
    pub ratio_lower: Option<f64>,
    pub ratio_upper: Option<f64>,
    /// Two-sided Mann–Whitney p-value, where samples allow one.
    pub p_value: Option<f64>,
    pub verdict: Verdict,
    /// Whether this line fails the comparison (a regression the policy treats as failing).
    pub fails: bool,
    /// Why the verdict is what it is, when the numbers alone don't say.
    pub note: Option<String>,
    /// The interval is a conservative approximation from the two recorded median
    /// intervals (no raw samples), and no rank test ran; renderers say so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
    /// How the verdict was obtained. `None` in comparisons stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<Basis>,
    /// The noise floor measured for this benchmark, in percent: how far executions of the
    /// same build disagreed (paired), or the half-width of the interval (cross-session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise_floor_pct: Option<f64>,
    /// A wall line's fraction of its workload's roof in each record, each from its own
    /// run: `61 % → 64 % of copy` (`-` on a side without the roof).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of_roof: Option<String>,
}

impl MetricComparison {
    /// The relative change in percent.
    pub fn change_pct(&self) -> f64 {
        (self.ratio - 1.0) * 100.0
    }

    /// Whether the verdict may fail a comparison or block a release: every line except
    /// wall clock from two sessions.
    pub fn gates(&self) -> bool {
        self.basis.as_ref().is_none_or(Basis::gates)
    }

    /// The verdict with how it was obtained, e.g. `regressed (paired same session, 3 pairs;
    /// noise floor 0.8 %)`.
    pub fn verdict_with_basis(&self) -> String {
        let Some(basis) = &self.basis else {
            return self.verdict.to_string();
        };
        let mut text = format!("{} ({basis}", self.verdict);
        if let Some(floor) = self.noise_floor_pct {
            text.push_str(&format!("; noise floor {floor:.2} %"));
        }
        text.push(')');
        text
    }
}

/// How a verdict was obtained: what a reader needs to know to trust it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Basis {
    /// Wall clock, the two builds' executions alternating in one session (A B B A …), judged
    /// on the per-pair ratios: may gate.
    Paired { pairs: usize },
    /// A paired wall change on a path whose instruction count did not change at all: code
    /// or data placement, reported and not gating.
    PairedSameInstructions { pairs: usize, instructions: u64 },
    /// Wall clock from two sessions (stored records): shifts between sessions are larger
    /// than most changes worth finding, so the line is informational and never gates.
    CrossSession {
        old_executions: usize,
        new_executions: usize,
    },
    /// Instruction counts: exact for one executable, a soft limit across executables.
    Counts { same_executable: bool },
    /// A plain threshold (peak memory).
    Threshold,
}

/// The largest paired wall change (as a fraction, either way) that an identical
/// instruction count puts down to code or data placement; larger changes gate.
pub const PLACEMENT_BOUND: f64 = 0.10;

impl Basis {
    pub fn gates(&self) -> bool {
        !matches!(
            self,
            Basis::CrossSession { .. } | Basis::PairedSameInstructions { .. }
        )
    }
}

impl std::fmt::Display for Basis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Basis::Paired { pairs } => write!(f, "paired same session, {pairs} pairs"),
            Basis::PairedSameInstructions {
                pairs,
                instructions,
            } => write!(
                f,
                "paired same session, {pairs} pairs; instruction count identical ({instructions}): \
                 code or data placement, not gating"
            ),
            Basis::CrossSession {
                old_executions,
                new_executions,
            } => write!(
                f,
                "cross-session, executions {old_executions} vs {new_executions}: informational, not gating"
            ),
            Basis::Counts {
                same_executable: true,
            } => write!(f, "instruction counts, same executable: must be equal"),
            Basis::Counts {
                same_executable: false,
            } => write!(f, "instruction counts, different executables: soft limit"),
            Basis::Threshold => write!(f, "threshold"),
        }
    }
}

/// How the wall-clock numbers of two records can be judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Design {
    /// The two sides of one paired session.
    Paired,
    /// Two sessions of the same machine class.
    CrossSession,
    /// Different machine classes (or toolchains): only digests compare.
    NotComparable {
        old_class: String,
        new_class: String,
    },
}

impl Design {
    pub fn of(old: &RunRecord, new: &RunRecord) -> Design {
        let env = compare_env(old, new);
        if env.is_mismatch() {
            Design::NotComparable {
                old_class: old.env.machine_class.clone(),
                new_class: new.env.machine_class.clone(),
            }
        } else if Session::paired(old.session.as_ref(), new.session.as_ref()) {
            Design::Paired
        } else {
            Design::CrossSession
        }
    }

    /// What a reader must know before any line: empty for a paired comparison.
    pub fn caveat(&self) -> Option<String> {
        match self {
            Design::Paired => None,
            Design::CrossSession => Some(
                "wall clock compared across sessions: informational, not gating (run a paired \
                 comparison, `compare --ab` or `signoff --baseline`, for wall verdicts that gate)"
                    .into(),
            ),
            Design::NotComparable {
                old_class,
                new_class,
            } => Some(format!(
                "wall clock and instruction counts not comparable (class {old_class} vs class \
                 {new_class}): only output digests are checked"
            )),
        }
    }
}

/// A broken promise of reproducibility: the two records did not do the same work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReproducibilityIssue {
    pub benchmark: String,
    pub problem: String,
}

/// A benchmark present in only one record, or without comparable numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCompared {
    pub benchmark: String,
    pub reason: String,
}

/// Where a side of the comparison came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SideSource {
    RunFile {
        path: String,
    },
    RunId {
        path: String,
    },
    Baseline {
        version: String,
        machine_class: String,
        path: String,
    },
}

impl std::fmt::Display for SideSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SideSource::RunFile { path } => write!(f, "run file {path}"),
            SideSource::RunId { path } => write!(f, "run id (file {path})"),
            SideSource::Baseline {
                version,
                machine_class,
                path,
            } => {
                write!(f, "baseline {version} for {machine_class} (file {path})")
            }
        }
    }
}

/// One side of a comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// The argument as given (or the baseline version).
    pub label: String,
    pub source: Option<SideSource>,
    pub run_id: String,
    pub started_at: String,
    pub machine_class: String,
    pub git_commit: Option<String>,
}

impl Side {
    /// A side described by its record alone.
    pub fn of(record: &RunRecord, label: &str, source: Option<SideSource>) -> Side {
        Side {
            label: label.into(),
            source,
            run_id: record.run_id.clone(),
            started_at: record.started_at.clone(),
            machine_class: record.env.machine_class.clone(),
            git_commit: record.artifact.git_commit.clone(),
        }
    }
}

/// How the two environments differ.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvComparison {
    pub machine_class_differs: bool,
    pub toolchain_differs: bool,
    /// Each changed setting, `path: old → new`.
    pub changes: Vec<String>,
    /// True when the comparison crossed machine classes or toolchains on request.
    pub mismatch_allowed: bool,
}

impl EnvComparison {
    /// Whether numbers from the two environments should not be compared by default.
    pub fn is_mismatch(&self) -> bool {
        self.machine_class_differs || self.toolchain_differs
    }
}

/// Counts by verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub regressed: usize,
    pub improved: usize,
    pub unchanged: usize,
    pub inconclusive: usize,
    /// Regressions that fail the comparison (memory regressions may only warn).
    pub failing: usize,
    /// Wall changes that do not gate (from two sessions, or with an identical instruction
    /// count): reported, never counted as regressed or improved.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub informational: usize,
    pub reproducibility_issues: usize,
    pub not_compared: usize,
}

/// The full comparison of two records; rendered by `present::compare` and by the sign-off report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub schema: String,
    pub old: Side,
    pub new: Side,
    pub policy: Policy,
    pub env: EnvComparison,
    pub metrics: Vec<MetricComparison>,
    pub reproducibility: Vec<ReproducibilityIssue>,
    pub not_compared: Vec<NotCompared>,
    pub summary: Summary,
    /// Said before any line: how far the wall (and instruction) numbers can be judged at
    /// all (cross-session, or not comparable across machine classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
    /// For each instruction count that regressed or improved, the functions that account
    /// for the change (from the two sides' callgrind profiles), or why they cannot be named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explanations: Vec<crate::analysis::callgrind::Explanation>,
}

impl Comparison {
    /// The instruction-count lines worth explaining: regressed or improved beyond the soft
    /// limit, as `workload-id@path`.
    pub fn moved_instruction_counts(&self) -> Vec<&str> {
        self.metrics
            .iter()
            .filter(|m| {
                m.metric == Metric::Instructions
                    && matches!(m.verdict, Verdict::Regressed | Verdict::Improved)
            })
            .map(|m| m.benchmark.as_str())
            .collect()
    }

    /// Exit outcome: irreproducible beats a failing regression beats success.
    /// Inconclusive lines do not fail: they are shown, and the sign-off decides.
    pub fn outcome(&self) -> Outcome {
        if !self.reproducibility.is_empty() {
            Outcome::Irreproducible
        } else if self.summary.failing > 0 {
            Outcome::Failed
        } else {
            Outcome::Success
        }
    }

    /// The comparison as reports of derivation rules 1 made it (every wall verdict gates, no
    /// basis recorded), so those reports can still be re-derived and verified.
    pub fn under_first_rules(mut self) -> Comparison {
        for m in &mut self.metrics {
            m.basis = None;
            m.noise_floor_pct = None;
            if matches!(m.metric, Metric::Wall | Metric::ProcessWall) {
                m.fails = m.verdict == Verdict::Regressed;
            }
        }
        self.caveat = None;
        let s = &mut self.summary;
        s.failing = self.metrics.iter().filter(|m| m.fails).count();
        (s.regressed, s.improved, s.informational) = (0, 0, 0);
        for m in &self.metrics {
            match m.verdict {
                Verdict::Regressed => s.regressed += 1,
                Verdict::Improved => s.improved += 1,
                _ => {}
            }
        }
        self
    }

    /// Lines with the given verdict, except changes that do not gate (those are
    /// [`Comparison::informational`]).
    pub fn with_verdict(&self, verdict: Verdict) -> impl Iterator<Item = &MetricComparison> {
        self.metrics.iter().filter(move |m| {
            m.verdict == verdict
                && (m.gates() || !matches!(verdict, Verdict::Regressed | Verdict::Improved))
        })
    }

    /// Changes that are reported but cannot gate (wall clock across sessions, or paired
    /// with an identical instruction count).
    pub fn informational(&self) -> impl Iterator<Item = &MetricComparison> {
        self.metrics
            .iter()
            .filter(|m| !m.gates() && matches!(m.verdict, Verdict::Regressed | Verdict::Improved))
    }

    /// The one-line summary that heads every format.
    pub fn headline(&self) -> String {
        let s = &self.summary;
        let outcome = match self.outcome() {
            Outcome::Irreproducible => "REPRODUCIBILITY BROKEN",
            Outcome::Failed => "REGRESSED",
            Outcome::Success if s.regressed > 0 => "OK (regressions only warn)",
            Outcome::Success => "OK",
        };
        let mut line = format!(
            "{outcome}: {} regressed, {} improved, {} unchanged, {} inconclusive",
            s.regressed, s.improved, s.unchanged, s.inconclusive
        );
        if s.reproducibility_issues > 0 {
            line.push_str(&format!(
                ", {} reproducibility issue(s)",
                s.reproducibility_issues
            ));
        }
        if s.not_compared > 0 {
            line.push_str(&format!(", {} not compared", s.not_compared));
        }
        if s.informational > 0 {
            line.push_str(&format!(
                "; {} wall change(s) informational, not gating",
                s.informational
            ));
        }
        line
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Compares environments: machine class, toolchain, and every changed setting.
pub fn compare_env(old: &RunRecord, new: &RunRecord) -> EnvComparison {
    EnvComparison {
        machine_class_differs: old.env.machine_class != new.env.machine_class,
        // The compiler that built the measured binaries; the rustc on PATH does not
        // matter when the binaries were prebuilt (a container has none).
        toolchain_differs: old.env.toolchain.built_with != new.env.toolchain.built_with,
        changes: crate::analysis::env::changes(&old.env, &new.env),
        mismatch_allowed: false,
    }
}

/// Whether the two records have any workload or process in common.
pub fn have_common_benchmarks(old: &RunRecord, new: &RunRecord) -> bool {
    new.workloads.iter().any(|w| old.workload(&w.id).is_some())
        || new
            .processes
            .iter()
            .any(|p| old.processes.iter().any(|q| q.id == p.id))
}

/// Compares two records under `policy`. Pure: the sides are described by the caller.
pub fn compare_records(
    old: &RunRecord,
    new: &RunRecord,
    policy: &Policy,
    old_side: Side,
    new_side: Side,
) -> Comparison {
    compare_records_with(
        old,
        new,
        policy,
        old_side,
        new_side,
        PairedInterval::Session,
    )
}

/// Which interval judges a paired wall line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairedInterval {
    /// The hierarchical bootstrap interval alone (sign-off reports of rules 2).
    Bootstrap,
    /// The bootstrap interval widened to the Student-t interval over the pair ratios where
    /// that is wider ([`crate::analysis::replicates::paired_ratio`]).
    WidenedByStudentT,
    /// As [`PairedInterval::WidenedByStudentT`], then judged with the session's other
    /// paired lines: widened again where they say its pairs agree by luck (the moderated
    /// noise floor and interval of [`crate::analysis::replicates::moderate`]), and a change
    /// only where it is a discovery among all of them
    /// ([`crate::analysis::replicates::benjamini_hochberg`]).
    Session,
}

/// As [`compare_records`], judging paired wall lines on `interval` (re-deriving a report
/// made under earlier rules).
pub fn compare_records_with(
    old: &RunRecord,
    new: &RunRecord,
    policy: &Policy,
    old_side: Side,
    new_side: Side,
    interval: PairedInterval,
) -> Comparison {
    let design = Design::of(old, new);
    let mut builder = Builder {
        policy,
        interval,
        design: design.clone(),
        metrics: Vec::new(),
        reproducibility: Vec::new(),
        not_compared: Vec::new(),
        paired: Vec::new(),
        same_instructions: Vec::new(),
    };
    builder.workloads(old, new);
    builder.processes(old, new);
    builder.moderate_paired();
    builder.discover_paired();
    builder.put_down_to_placement();
    let Builder {
        metrics,
        reproducibility,
        not_compared,
        ..
    } = builder;
    let mut summary = Summary {
        reproducibility_issues: reproducibility.len(),
        not_compared: not_compared.len(),
        failing: metrics.iter().filter(|m| m.fails).count(),
        ..Summary::default()
    };
    for m in &metrics {
        match m.verdict {
            Verdict::Regressed | Verdict::Improved if !m.gates() => summary.informational += 1,
            Verdict::Regressed => summary.regressed += 1,
            Verdict::Improved => summary.improved += 1,
            Verdict::Unchanged => summary.unchanged += 1,
            Verdict::Inconclusive => summary.inconclusive += 1,
        }
    }
    Comparison {
        schema: COMPARISON_SCHEMA.into(),
        old: old_side,
        new: new_side,
        policy: policy.clone(),
        env: compare_env(old, new),
        metrics,
        reproducibility,
        not_compared,
        summary,
        caveat: design.caveat(),
        explanations: Vec::new(),
    }
}

struct Builder<'p> {
    policy: &'p Policy,
    interval: PairedInterval,
    design: Design,
    metrics: Vec<MetricComparison>,
    reproducibility: Vec<ReproducibilityIssue>,
    not_compared: Vec<NotCompared>,
    /// The paired wall lines' estimates, by their index in `metrics`.
    paired: Vec<(usize, crate::analysis::replicates::PairedEstimate)>,
    /// Paths whose instruction count is the same on both sides, with that count: their
    /// paired wall lines are judged by [`Builder::same_work`] once all lines are in.
    same_instructions: Vec<(String, u64)>,
}

impl Builder<'_> {
    fn issue(&mut self, benchmark: &str, problem: String) {
        self.reproducibility.push(ReproducibilityIssue {
            benchmark: benchmark.into(),
            problem,
        });
    }

    fn skip(&mut self, benchmark: &str, reason: impl Into<String>) {
        self.not_compared.push(NotCompared {
            benchmark: benchmark.into(),
            reason: reason.into(),
        });
    }

    fn workloads(&mut self, old: &RunRecord, new: &RunRecord) {
        let identical_instr_executable = match (
            old.artifact.bench_executables.get("instr"),
            new.artifact.bench_executables.get("instr"),
        ) {
            (Some(a), Some(b)) => (a.sha256 == b.sha256).then(|| a.sha256.clone()),
            _ => None,
        };
        for workload in &new.workloads {
            let id = workload.id.to_string();
            let Some(before) = old.workload(&workload.id) else {
                self.skip(&id, "only in the new record");
                continue;
            };
            if let (Some(a), Some(b)) = (&before.input_sha256, &workload.input_sha256)
                && a != b
            {
                self.issue(&id, format!("input digest differs: {a} → {b}"));
            }
            for path in &workload.paths {
                let name = format!("{id}@{}", path.path);
                let Some(prior) = before.path(path.path) else {
                    self.skip(&name, "path only in the new record");
                    continue;
                };
                if let (Some(a), Some(b)) = (&prior.output_sha256, &path.output_sha256)
                    && a != b
                {
                    self.issue(&name, format!("output digest differs: {a} → {b}"));
                }
                let mut usable = true;
                for (side, status) in [("old", &prior.status), ("new", &path.status)] {
                    match status {
                        Status::Ok => {}
                        Status::Invalid(why) => {
                            self.issue(&name, format!("{side} record marks it invalid: {why}"));
                            usable = false;
                        }
                        Status::Skipped(why) => {
                            self.skip(&name, format!("skipped in the {side} record: {why}"));
                            usable = false;
                        }
                    }
                }
                if !usable {
                    continue;
                }
                if let Design::NotComparable {
                    old_class,
                    new_class,
                } = &self.design
                {
                    if prior.wall.is_some() || prior.instr.is_some() {
                        self.skip(
                            &name,
                            format!(
                                "wall and instructions not comparable (class {old_class} vs \
                                 class {new_class})"
                            ),
                        );
                    }
                    continue;
                }
                if let Some((a, b)) = engine_pair(&name, "wall", &prior.wall, &path.wall, self) {
                    let (mut line, paired) = self.wall_line(&name, Metric::Wall, a, b);
                    line.of_roof = roof_change(old, before, new, workload, path.path);
                    if let Some(paired) = paired {
                        self.paired.push((self.metrics.len(), paired));
                    }
                    self.metrics.push(line);
                }
                if let Some((a, b)) = engine_pair(&name, "instr", &prior.instr, &path.instr, self) {
                    let (old_count, new_count) = (a.instructions, b.instructions);
                    if let Some(sha) = &identical_instr_executable
                        && old_count != new_count
                    {
                        self.issue(
                            &name,
                            format!(
                                "instruction count differs for the identical executable \
                                 {sha}: {old_count} → {new_count}"
                            ),
                        );
                    }
                    let mut line = self.instructions_line(&name, &id, old_count, new_count);
                    line.basis = Some(Basis::Counts {
                        same_executable: identical_instr_executable.is_some(),
                    });
                    self.metrics.push(line);
                    if old_count == new_count {
                        self.same_instructions.push((name.clone(), old_count));
                    }
                }
                if let (Some(a), Some(b)) = (prior.allocations, path.allocations) {
                    let line = self.memory_line(&name, Metric::Allocations, a.per_run, b.per_run);
                    self.metrics.push(line);
                }
            }
        }
        for workload in &old.workloads {
            if new.workload(&workload.id).is_none() {
                self.skip(&workload.id.to_string(), "only in the old record");
            }
        }
    }

    fn processes(&mut self, old: &RunRecord, new: &RunRecord) {
        for process in &new.processes {
            let name = format!("process:{}", process.id);
            let Some(prior) = old.processes.iter().find(|p| p.id == process.id) else {
                self.skip(&name, "only in the new record");
                continue;
            };
            if !prior.status.is_ok() || !process.status.is_ok() {
                self.skip(
                    &name,
                    format!("status {} → {}", prior.status, process.status),
                );
                continue;
            }
            if let Design::NotComparable {
                old_class,
                new_class,
            } = &self.design
            {
                self.skip(
                    &format!("{name} (wall)"),
                    format!("not comparable (class {old_class} vs class {new_class})"),
                );
            } else if !prior.samples_ns.is_empty() && !process.samples_ns.is_empty() {
                // Whole commands run once per session, on the candidate side only.
                let mut line = self.samples_line(
                    &name,
                    Metric::ProcessWall,
                    &prior.samples_ns,
                    &process.samples_ns,
                );
                Self::informational(&mut line, 1, 1);
                self.metrics.push(line);
            }
            if let (Some(a), Some(b)) = (prior.peak_rss_bytes, process.peak_rss_bytes) {
                let line = self.memory_line(&name, Metric::PeakRss, a, b);
                self.metrics.push(line);
            }
        }
        for process in &old.processes {
            if !new.processes.iter().any(|p| p.id == process.id) {
                self.skip(&format!("process:{}", process.id), "only in the old record");
            }
        }
    }

    /// Wall-clock line from raw samples when both sides have them, otherwise from
    /// criterion's median intervals.
    ///
    /// The fallback divides the interval ends crosswise (new lower / old upper, new upper
    /// / old lower). That interval is at least as wide as the true one only if both
    /// median intervals hold, so its coverage is not the recorded confidence: the line is
    /// marked `approximate`, carries no p-value, and the interval alone decides
    /// ([`RankEvidence::IntervalOnly`]). Non-positive or non-finite medians or interval
    /// ends give no ratio at all and an inconclusive line.
    ///
    /// A paired line comes with its estimate, which [`Builder::moderate_paired`] may widen.
    fn wall_line(
        &self,
        name: &str,
        metric: Metric,
        a: &WallStats,
        b: &WallStats,
    ) -> (
        MetricComparison,
        Option<crate::analysis::replicates::PairedEstimate>,
    ) {
        let (old_runs, new_runs) = (a.execution_samples(), b.execution_samples());
        let has_samples = !a.samples_ns.is_empty() && !b.samples_ns.is_empty();
        if self.design == Design::Paired && has_samples && old_runs.len() == new_runs.len() {
            return self.paired_line(name, metric, a, b, &old_runs, &new_runs);
        }
        let mut line = self.cross_session_line(name, metric, a, b, &old_runs, &new_runs);
        Self::informational(&mut line, old_runs.len(), new_runs.len());
        (line, None)
    }

    /// Pairs that agree closely by luck would set a noise floor far below the session's:
    /// under [`PairedInterval::Session`], the variance prior of the session's
    /// paired wall lines ([`VariancePrior::fit`](crate::analysis::replicates::VariancePrior::fit))
    /// moderates each line's noise floor and interval, never narrowing them, and the lines
    /// it widened are judged again.
    fn moderate_paired(&mut self) {
        use crate::analysis::replicates::{VariancePrior, moderate};
        if self.interval != PairedInterval::Session {
            return;
        }
        let variances: Vec<(f64, usize)> = self
            .paired
            .iter()
            .filter_map(|(_, paired)| paired.log_variance())
            .collect();
        let Some(prior) = VariancePrior::fit(&variances) else {
            return;
        };
        let mut paired = std::mem::take(&mut self.paired);
        for (index, estimate) in &mut paired {
            if moderate(estimate, &prior) {
                let mut line = self.metrics[*index].clone();
                self.judge_paired(&mut line, estimate);
                self.metrics[*index] = line;
            }
        }
        self.paired = paired;
    }

    /// A gate fails on any regressed line, so with 40 lines judged at 95% each an unchanged
    /// build would fail it most of the time. Under [`PairedInterval::Session`] the paired
    /// lines are one family: each carries its t-test p-value, and a change stands only if
    /// it is a discovery at false discovery rate 1 − confidence; the others become
    /// inconclusive and say why.
    fn discover_paired(&mut self) {
        use crate::analysis::replicates::benjamini_hochberg;
        if self.interval != PairedInterval::Session {
            return;
        }
        let tested: Vec<(usize, f64)> = self
            .paired
            .iter()
            .filter_map(|(index, paired)| Some((*index, paired.p_value()?)))
            .collect();
        let p_values: Vec<f64> = tested.iter().map(|(_, p)| *p).collect();
        let q = 1.0 - self.policy.wall.confidence;
        let found = benjamini_hochberg(&p_values, q);
        let family = tested.len();
        for (&(index, p), discovery) in tested.iter().zip(found) {
            let line = &mut self.metrics[index];
            line.p_value = Some(p);
            if discovery || !matches!(line.verdict, Verdict::Regressed | Verdict::Improved) {
                continue;
            }
            let why = format!(
                "{} on its own pairs (p = {p:.3}), but not a discovery among the {family} paired \
                 lines of this comparison (Benjamini–Hochberg, false discovery rate {:.0} %)",
                line.verdict,
                q * 100.0
            );
            line.verdict = Verdict::Inconclusive;
            line.fails = false;
            line.note = Some(match line.note.take() {
                Some(note) => format!("{why}; {note}"),
                None => why,
            });
        }
    }

    /// [`Builder::same_work`] for every path whose instruction count did not change.
    fn put_down_to_placement(&mut self) {
        for (name, instructions) in std::mem::take(&mut self.same_instructions) {
            self.same_work(&name, instructions);
        }
    }

    /// A paired wall change on a path whose instruction count is identical on both sides:
    /// the same instructions ran, so the change comes from where code and data were placed
    /// (Mytkowicz et al., ASPLOS 2009) rather than from what the code does. It is reported
    /// with its verdict and does not gate; a change in the work itself shows in the count.
    ///
    /// Only changes within [`PLACEMENT_BOUND`] are put down to placement: the instruction
    /// engine runs under valgrind, whose CPU lacks AVX-512, so a `simd` path may count a
    /// different dispatch than the one timed, and a large change is never explained away.
    fn same_work(&mut self, name: &str, instructions: u64) {
        let Some(line) = self
            .metrics
            .iter_mut()
            .rev()
            .find(|m| m.benchmark == name && m.metric == Metric::Wall)
        else {
            return;
        };
        let Some(Basis::Paired { pairs }) = line.basis else {
            return;
        };
        if matches!(line.verdict, Verdict::Regressed | Verdict::Improved)
            && (line.ratio.ln()).abs() <= (1.0 + PLACEMENT_BOUND).ln()
        {
            line.basis = Some(Basis::PairedSameInstructions {
                pairs,
                instructions,
            });
            line.fails = false;
        }
    }

    /// A line from two sessions: its verdict is kept, to be read, but it never fails.
    fn informational(line: &mut MetricComparison, old_executions: usize, new_executions: usize) {
        line.fails = false;
        line.basis = Some(Basis::CrossSession {
            old_executions,
            new_executions,
        });
        if let (Some(lo), Some(hi)) = (line.ratio_lower, line.ratio_upper) {
            line.noise_floor_pct = Some((hi - lo) / 2.0 * 100.0);
        }
    }

    /// Execution i of A against execution i of B, in one session: the session's shift is
    /// common to both and cancels in the per-pair ratios
    /// ([`crate::analysis::replicates::paired_ratio`]).
    fn paired_line(
        &self,
        name: &str,
        metric: Metric,
        a: &WallStats,
        b: &WallStats,
        old_runs: &[&[f64]],
        new_runs: &[&[f64]],
    ) -> (
        MetricComparison,
        Option<crate::analysis::replicates::PairedEstimate>,
    ) {
        use crate::analysis::replicates;
        let wall = &self.policy.wall;
        let pairs: Vec<(&[f64], &[f64])> = old_runs
            .iter()
            .copied()
            .zip(new_runs.iter().copied())
            .collect();
        let seed = seed_for(name);
        let mut line = MetricComparison {
            note: Some("samples are not positive finite numbers".into()),
            ..self.unusable_line(name, metric, a.median_ns, b.median_ns)
        };
        let Some(mut paired) =
            replicates::paired_ratio(&pairs, wall.resamples, wall.confidence, seed)
        else {
            return (line, None);
        };
        if self.interval == PairedInterval::Bootstrap {
            paired.estimate = paired.bootstrap;
        }
        self.judge_paired(&mut line, &paired);
        (line, Some(paired))
    }

    /// Sets a paired line's ratio, interval, verdict, note, basis and noise floor from its
    /// estimate.
    fn judge_paired(
        &self,
        line: &mut MetricComparison,
        paired: &crate::analysis::replicates::PairedEstimate,
    ) {
        use crate::analysis::replicates;
        let wall = &self.policy.wall;
        let threshold = wall.threshold_pct / 100.0;
        let verdict = replicates::classify_paired(paired, threshold);
        let effective = replicates::effective_threshold(paired, threshold);
        let estimate = paired.estimate;
        let mut notes = Vec::new();
        if let Some(prior) = paired.moderated {
            let own = paired.log_variance().map_or(0.0, |(v, _)| v.sqrt());
            notes.push(format!(
                "noise floor moderated from {:.1} % (these {} pairs) to {:.1} % by the \
                 session's {} paired lines",
                own * 100.0,
                paired.pairs,
                paired.noise_floor * 100.0,
                prior.lines
            ));
        }
        if effective > threshold {
            notes.push(format!(
                "the noise floor ({:.1} %) is above the policy threshold ({:.1} %) and \
                 replaces it",
                effective * 100.0,
                wall.threshold_pct
            ));
        }
        *line = MetricComparison {
            ratio: estimate.ratio,
            ratio_lower: Some(estimate.lower),
            ratio_upper: Some(estimate.upper),
            p_value: None,
            verdict,
            fails: verdict == Verdict::Regressed,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            approximate: false,
            basis: Some(Basis::Paired {
                pairs: paired.pairs,
            }),
            noise_floor_pct: Some(paired.noise_floor * 100.0),
            ..line.clone()
        };
    }

    /// Two sessions: the hierarchical bootstrap when both sides recorded executions, the
    /// samples bootstrap and rank test for older records, the recorded intervals when there
    /// are no samples at all.
    fn cross_session_line(
        &self,
        name: &str,
        metric: Metric,
        a: &WallStats,
        b: &WallStats,
        old_runs: &[&[f64]],
        new_runs: &[&[f64]],
    ) -> MetricComparison {
        if !a.executions.is_empty() && !b.executions.is_empty() {
            let wall = &self.policy.wall;
            let seed = seed_for(name);
            return match crate::analysis::replicates::hierarchical_median_ratio(
                old_runs,
                new_runs,
                wall.resamples,
                wall.confidence,
                seed,
            ) {
                Some(estimate) => self.ratio_line(
                    name,
                    metric,
                    a.median_ns,
                    b.median_ns,
                    estimate,
                    RankEvidence::IntervalOnly,
                ),
                None => MetricComparison {
                    note: Some("samples are not positive finite numbers".into()),
                    ..self.unusable_line(name, metric, a.median_ns, b.median_ns)
                },
            };
        }
        if !a.samples_ns.is_empty() && !b.samples_ns.is_empty() {
            return self.samples_line(name, metric, &a.samples_ns, &b.samples_ns);
        }
        let usable = [
            a.median_ns,
            a.median_ci_lower_ns,
            a.median_ci_upper_ns,
            b.median_ns,
            b.median_ci_lower_ns,
            b.median_ci_upper_ns,
        ]
        .iter()
        .all(|v| v.is_finite() && *v > 0.0);
        if !usable {
            return MetricComparison {
                note: Some(
                    "no raw samples, and a recorded median or interval end is not a positive \
                     finite number"
                        .into(),
                ),
                ..self.unusable_line(name, metric, a.median_ns, b.median_ns)
            };
        }
        let estimate = RatioEstimate {
            ratio: b.median_ns / a.median_ns,
            lower: b.median_ci_lower_ns / a.median_ci_upper_ns,
            upper: b.median_ci_upper_ns / a.median_ci_lower_ns,
            confidence: a.confidence_level.min(b.confidence_level),
        };
        let mut line = self.ratio_line(
            name,
            metric,
            a.median_ns,
            b.median_ns,
            estimate,
            RankEvidence::IntervalOnly,
        );
        line.approximate = true;
        line.note = Some(
            "conservative approximation: no raw samples, interval from the recorded median \
             intervals; no rank test"
                .into(),
        );
        line
    }

    /// An inconclusive line without a ratio interval (the numbers allow none).
    fn unusable_line(&self, name: &str, metric: Metric, old: f64, new: f64) -> MetricComparison {
        MetricComparison {
            benchmark: name.into(),
            metric,
            old,
            new,
            ratio: new / old,
            ratio_lower: None,
            ratio_upper: None,
            p_value: None,
            verdict: Verdict::Inconclusive,
            fails: false,
            note: None,
            approximate: false,
            basis: None,
            noise_floor_pct: None,
            of_roof: None,
        }
    }

    fn samples_line(
        &self,
        name: &str,
        metric: Metric,
        old: &[f64],
        new: &[f64],
    ) -> MetricComparison {
        let wall = &self.policy.wall;
        let old_median = crate::analysis::stats::median(old).unwrap_or(f64::NAN);
        let new_median = crate::analysis::stats::median(new).unwrap_or(f64::NAN);
        let seed = seed_for(name);
        match crate::analysis::stats::bootstrap_median_ratio(
            old,
            new,
            wall.resamples,
            wall.confidence,
            seed,
        ) {
            Some(estimate) => {
                let evidence = match crate::analysis::stats::mann_whitney_u(old, new) {
                    Some(test) => RankEvidence::Tested {
                        p_value: test.p_value,
                    },
                    None => RankEvidence::Missing,
                };
                self.ratio_line(name, metric, old_median, new_median, estimate, evidence)
            }
            None => MetricComparison {
                note: Some("samples are not positive finite numbers".into()),
                ..self.unusable_line(name, metric, old_median, new_median)
            },
        }
    }

    fn ratio_line(
        &self,
        name: &str,
        metric: Metric,
        old: f64,
        new: f64,
        estimate: RatioEstimate,
        evidence: RankEvidence,
    ) -> MetricComparison {
        let wall = &self.policy.wall;
        let verdict = crate::analysis::stats::classify_ratio(
            &estimate,
            evidence,
            wall.threshold_pct / 100.0,
            1.0 - wall.confidence,
        );
        let p_value = match evidence {
            RankEvidence::Tested { p_value } => Some(p_value),
            RankEvidence::Missing | RankEvidence::IntervalOnly => None,
        };
        MetricComparison {
            benchmark: name.into(),
            metric,
            old,
            new,
            ratio: estimate.ratio,
            ratio_lower: Some(estimate.lower),
            ratio_upper: Some(estimate.upper),
            p_value,
            verdict,
            fails: verdict == Verdict::Regressed,
            note: None,
            approximate: false,
            basis: None,
            noise_floor_pct: None,
            of_roof: None,
        }
    }

    fn instructions_line(
        &self,
        name: &str,
        workload: &str,
        old: u64,
        new: u64,
    ) -> MetricComparison {
        let limits = &self.policy.instructions;
        let verdict = instructions_verdict(old, new, limits.soft_limit_pct);
        let hard = limits
            .hard_limits
            .get(workload)
            .copied()
            .or(limits.hard_limit);
        let (verdict, note) = match hard {
            Some(limit) if new > limit => (
                Verdict::Regressed,
                Some(format!("above the hard limit of {limit} instructions")),
            ),
            _ => (verdict, None),
        };
        MetricComparison {
            benchmark: name.into(),
            metric: Metric::Instructions,
            old: old as f64,
            new: new as f64,
            ratio: ratio_of_counts(old, new),
            ratio_lower: None,
            ratio_upper: None,
            p_value: None,
            verdict,
            fails: verdict == Verdict::Regressed,
            note,
            approximate: false,
            basis: None,
            noise_floor_pct: None,
            of_roof: None,
        }
    }

    /// A peak memory or an allocation count against the memory policy: growth beyond its
    /// threshold is a regression, failing when `memory.fail`.
    fn memory_line(&self, name: &str, metric: Metric, old: u64, new: u64) -> MetricComparison {
        let memory = &self.policy.memory;
        let ratio = ratio_of_counts(old, new);
        let threshold = memory.threshold_pct / 100.0;
        let verdict = if ratio > 1.0 + threshold {
            Verdict::Regressed
        } else if ratio < 1.0 - threshold {
            Verdict::Improved
        } else {
            Verdict::Unchanged
        };
        let fails = verdict == Verdict::Regressed && memory.fail;
        MetricComparison {
            benchmark: name.into(),
            metric,
            old: old as f64,
            new: new as f64,
            ratio,
            ratio_lower: None,
            ratio_upper: None,
            p_value: None,
            verdict,
            fails,
            note: (verdict == Verdict::Regressed && !memory.fail)
                .then(|| "warning only: memory.fail is false".into()),
            approximate: false,
            basis: Some(Basis::Threshold),
            noise_floor_pct: None,
            of_roof: None,
        }
    }
}

/// The metrics of an engine on both sides, when both measured; otherwise records why not.
fn engine_pair<'r, T>(
    name: &str,
    engine: &str,
    old: &'r Option<EngineResult<T>>,
    new: &'r Option<EngineResult<T>>,
    builder: &mut Builder<'_>,
) -> Option<(&'r T, &'r T)> {
    match (old, new) {
        (None, None) => None,
        (Some(a), Some(b)) => match (&a.status, &a.metrics, &b.status, &b.metrics) {
            (Status::Ok, Some(x), Status::Ok, Some(y)) => Some((x, y)),
            _ => {
                builder.skip(
                    &format!("{name} ({engine})"),
                    format!("engine status {} → {}", a.status, b.status),
                );
                None
            }
        },
        (Some(_), None) => {
            builder.skip(
                &format!("{name} ({engine})"),
                "measured only in the old record",
            );
            None
        }
        (None, Some(_)) => {
            builder.skip(
                &format!("{name} ({engine})"),
                "measured only in the new record",
            );
            None
        }
    }
}

/// Soft-limit verdict for counts: beyond +limit% regressed, beyond −limit% improved.
/// `61 % → 64 % of copy`: a workload path's roof fraction in the old and the new record,
/// each read against the roof of its own run; `None` when neither run has one.
fn roof_change(
    old: &RunRecord,
    before: &WorkloadRecord,
    new: &RunRecord,
    after: &WorkloadRecord,
    path: KernelPath,
) -> Option<String> {
    let (a, b) = (
        roof::fraction(old, before, path).ok().flatten(),
        roof::fraction(new, after, path).ok().flatten(),
    );
    let kernel = b.as_ref().or(a.as_ref())?.roof.kernel.clone();
    let show = |f: Option<RoofFraction>| f.map_or("-".into(), |f| roof::format_percent(f.fraction));
    Some(format!("{} → {} of {kernel}", show(a), show(b)))
}

pub fn instructions_verdict(old: u64, new: u64, soft_limit_pct: f64) -> Verdict {
    let change_pct = (ratio_of_counts(old, new) - 1.0) * 100.0;
    if change_pct > soft_limit_pct {
        Verdict::Regressed
    } else if change_pct < -soft_limit_pct {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

/// new / old for counts; a count rising from zero is an infinite ratio.
fn ratio_of_counts(old: u64, new: u64) -> f64 {
    match (old, new) {
        (0, 0) => 1.0,
        (0, _) => f64::INFINITY,
        _ => new as f64 / old as f64,
    }
}

impl SideSource {
    /// The record file this side was read from.
    pub fn path(&self) -> &str {
        match self {
            SideSource::RunFile { path }
            | SideSource::RunId { path }
            | SideSource::Baseline { path, .. } => path,
        }
    }
}

/// A record loaded for a comparison, with where it came from.
#[derive(Debug)]
pub struct Resolved {
    pub record: RunRecord,
    pub source: SideSource,
}

/// Compares two loaded records: refuses crossing machine classes or toolchains unless
/// allowed, and records with nothing in common (both bad input, exit 2).
pub fn compare_resolved(
    old: &Resolved,
    new: &Resolved,
    old_label: &str,
    new_label: &str,
    policy: &Policy,
    allow_env_mismatch: bool,
) -> Result<Comparison> {
    let env = compare_env(&old.record, &new.record);
    if env.is_mismatch() && !allow_env_mismatch {
        let mut message = format!(
            "refusing to compare across {}: {} is `{}`, {} is `{}` \
             (pass --allow-env-mismatch to compare anyway)",
            if env.machine_class_differs {
                "machine classes"
            } else {
                "toolchains"
            },
            old_label,
            old.record.env.machine_class,
            new_label,
            new.record.env.machine_class,
        );
        for change in &env.changes {
            message.push_str(&format!("\n  {change}"));
        }
        return Err(bad_input(message));
    }
    if !have_common_benchmarks(&old.record, &new.record) {
        return Err(bad_input(format!(
            "{old_label} ({} workloads, {} processes) and {new_label} ({} workloads, {} \
             processes) have no workload or process in common: nothing to compare",
            old.record.workloads.len(),
            old.record.processes.len(),
            new.record.workloads.len(),
            new.record.processes.len(),
        )));
    }
    let old_side = Side::of(&old.record, old_label, Some(old.source.clone()));
    let new_side = Side::of(&new.record, new_label, Some(new.source.clone()));
    let mut comparison = compare_records(&old.record, &new.record, policy, old_side, new_side);
    comparison.env.mismatch_allowed = env.is_mismatch();
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::SessionRole;
    use proptest::prelude::*;

    #[test]
    fn instruction_soft_limits() {
        assert_eq!(instructions_verdict(1000, 1005, 0.5), Verdict::Unchanged);
        assert_eq!(instructions_verdict(1000, 1006, 0.5), Verdict::Regressed);
        assert_eq!(instructions_verdict(1000, 994, 0.5), Verdict::Improved);
        assert_eq!(instructions_verdict(0, 0, 0.5), Verdict::Unchanged);
        assert_eq!(instructions_verdict(0, 1, 0.5), Verdict::Regressed);
    }

    #[test]
    fn policy_parses_from_toml_with_defaults_for_missing_fields() {
        let policy: Policy = toml::from_str(
            "[wall]\nthreshold_pct = 4.0\n[instructions]\nhard_limit = 99\n\
             hard_limits = { \"codec/comp3/s9v2/tiny\" = 7 }\n",
        )
        .unwrap();
        assert_eq!(policy.wall.threshold_pct, 4.0);
        assert_eq!(policy.wall.confidence, 0.95);
        assert_eq!(policy.instructions.hard_limit, Some(99));
        assert_eq!(policy.instructions.hard_limits["codec/comp3/s9v2/tiny"], 7);
        assert_eq!(policy.memory, MemoryPolicy::default());
        assert!(toml::from_str::<Policy>("[wall]\nthreshold = 4.0\n").is_err());
        let aliased: Policy =
            toml::from_str("[instructions]\nthreshold_pct = 1.0\n[memory]\nfails = false\n")
                .unwrap();
        assert_eq!(aliased.instructions.soft_limit_pct, 1.0);
        assert!(!aliased.memory.fail);
        let bad = Policy {
            wall: WallPolicy {
                confidence: 1.5,
                ..WallPolicy::default()
            },
            ..Policy::default()
        };
        assert!(bad.validate().unwrap_err().contains("wall.confidence"));
    }

    /// A record with one workload on one path, from JSON, as a run would write it.
    fn record(samples: &[f64], instructions: u64) -> RunRecord {
        let median = crate::analysis::stats::median(samples).unwrap_or(1.0);
        let wall = serde_json::json!({
            "median_ns": median, "median_ci_lower_ns": median, "median_ci_upper_ns": median,
            "mean_ns": median, "mean_ci_lower_ns": median, "mean_ci_upper_ns": median,
            "std_dev_ns": 0.0, "confidence_level": 0.95, "samples_ns": samples,
            "sample_iters": [], "throughput_per_s": 1.0,
        });
        let instr = serde_json::json!({
            "instructions": instructions, "l1_hits": null, "ll_hits": null, "ram_hits": null,
            "total_read_write": null, "estimated_cycles": null,
        });
        let path = serde_json::json!({
            "path": "scalar", "label": "scalar", "output_sha256": "out", "status": "ok",
            "wall": {"status": "ok", "metrics": wall},
            "instr": {"status": "ok", "metrics": instr},
        });
        let workload = serde_json::json!({
            "id": "sync/cache/ttl/tiny", "family": "sync", "unit": "operations", "units": 1,
            "describe": "", "input_sha256": "in", "golden_output_sha256": null, "paths": [path],
        });
        let artifact = serde_json::json!({
            "version": "0", "git_commit": null, "git_dirty": null, "cargo_lock_sha256": null,
            "bench_executables": {"instr": {"path": "x", "sha256": "same"}},
        });
        let value = serde_json::json!({
            "schema": crate::model::record::RUN_SCHEMA, "run_id": "r", "started_at": "2026-01-01T00:00:00Z",
            "finished_at": null, "complete": true, "command": [],
            "options": {"suites": [], "sizes": [], "engines": [], "paths": [], "quick": false},
            "artifact": artifact, "env": crate::sys::env::snapshot(), "env_after": null,
            "tuning": {"tuned": false}, "workloads": [workload], "seal": null,
        });
        serde_json::from_value(value).unwrap()
    }

    fn sides(r: &RunRecord) -> (Side, Side) {
        (Side::of(r, "a", None), Side::of(r, "b", None))
    }

    #[test]
    fn allocation_counts_are_judged_by_the_memory_policy() {
        use crate::model::record::Allocations;
        let with = |per_run: Option<u64>| {
            let mut r = record(&[100.0, 101.0, 99.0], 5000);
            for p in &mut r.workloads[0].paths {
                p.allocations = per_run.map(|n| Allocations {
                    per_run: n,
                    bytes_per_run: 64 * n,
                });
            }
            r
        };
        let line = |old: Option<u64>, new: Option<u64>, policy: &Policy| {
            let (a, b) = (with(old), with(new));
            let (x, y) = sides(&a);
            compare_records(&a, &b, policy, x, y)
                .metrics
                .into_iter()
                .find(|m| m.metric == Metric::Allocations)
        };
        let policy = Policy::default();
        let same = line(Some(40), Some(40), &policy).unwrap();
        assert_eq!((same.verdict, same.fails), (Verdict::Unchanged, false));
        // Within the 10 % threshold, then beyond it; growth fails under `memory.fail`.
        assert_eq!(
            line(Some(40), Some(43), &policy).unwrap().verdict,
            Verdict::Unchanged
        );
        let more = line(Some(40), Some(80), &policy).unwrap();
        assert_eq!(
            (more.verdict, more.fails),
            (Verdict::Regressed, policy.memory.fail)
        );
        let fewer = line(Some(40), Some(0), &policy).unwrap();
        assert_eq!((fewer.verdict, fewer.fails), (Verdict::Improved, false));
        // A kernel that allocated nothing and now allocates: a new cost, a regression.
        let new_cost = line(Some(0), Some(1), &policy).unwrap();
        assert_eq!(new_cost.verdict, Verdict::Regressed);
        let warn = Policy {
            memory: MemoryPolicy {
                fail: false,
                ..MemoryPolicy::default()
            },
            ..Policy::default()
        };
        let warned = line(Some(40), Some(80), &warn).unwrap();
        assert_eq!((warned.verdict, warned.fails), (Verdict::Regressed, false));
        // Counted on one side only: no line (records from before the count existed).
        assert!(line(None, Some(40), &policy).is_none());
    }

    #[test]
    fn one_instruction_more_from_the_same_executable_breaks_reproducibility() {
        let a = record(&[100.0, 101.0, 99.0], 5000);
        let b = record(&[100.0, 101.0, 99.0], 5001);
        let (x, y) = sides(&a);
        let c = compare_records(&a, &b, &Policy::default(), x, y);
        assert_eq!(c.outcome(), Outcome::Irreproducible);
        assert!(
            c.reproducibility[0]
                .problem
                .contains("identical executable")
        );
    }

    #[test]
    fn without_raw_samples_the_recorded_median_intervals_decide() {
        let mut a = record(&[], 1000);
        let mut b = record(&[], 1000);
        let set = |r: &mut RunRecord, median: f64, half_width: f64| {
            let wall = r.workloads[0].paths[0]
                .wall
                .as_mut()
                .unwrap()
                .metrics
                .as_mut()
                .unwrap();
            wall.median_ns = median;
            wall.median_ci_lower_ns = median - half_width;
            wall.median_ci_upper_ns = median + half_width;
        };
        set(&mut a, 100.0, 1.0);
        set(&mut b, 110.0, 1.0);
        let (x, y) = sides(&a);
        let c = compare_records(&a, &b, &Policy::default(), x.clone(), y.clone());
        let wall = c.metrics.iter().find(|m| m.metric == Metric::Wall).unwrap();
        assert_eq!(wall.verdict, Verdict::Regressed);
        assert!(
            wall.approximate,
            "the fallback is labelled as an approximation"
        );
        assert_eq!(wall.p_value, None);
        let note = wall.note.as_deref().unwrap();
        assert!(note.contains("conservative approximation"), "{note}");
        assert!(note.contains("no rank test"), "{note}");
        let table = crate::present::compare::render(&c, crate::present::compare::Format::Table, &b);
        assert!(table.contains("no rank test"), "{table}");
        set(&mut b, 104.0, 6.0);
        let c = compare_records(&a, &b, &Policy::default(), x, y);
        let wall = c.metrics.iter().find(|m| m.metric == Metric::Wall).unwrap();
        assert_eq!(wall.verdict, Verdict::Inconclusive);
    }

    #[test]
    fn median_interval_fallback_with_non_positive_numbers_is_inconclusive() {
        let a = record(&[], 1000);
        let (x, y) = sides(&a);
        type Edit = fn(&mut WallStats);
        let edits: [Edit; 4] = [
            |w| w.median_ns = 0.0,
            |w| w.median_ci_lower_ns = 0.0,
            |w| w.median_ci_lower_ns = -5.0,
            |w| w.median_ci_upper_ns = f64::INFINITY,
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut old = record(&[], 1000);
            edit(
                old.workloads[0].paths[0]
                    .wall
                    .as_mut()
                    .unwrap()
                    .metrics
                    .as_mut()
                    .unwrap(),
            );
            let c = compare_records(&old, &a, &Policy::default(), x.clone(), y.clone());
            let wall = c.metrics.iter().find(|m| m.metric == Metric::Wall).unwrap();
            assert_eq!(wall.verdict, Verdict::Inconclusive, "edit {i}");
            assert_eq!(
                (wall.ratio_lower, wall.ratio_upper),
                (None, None),
                "edit {i}"
            );
            assert!(!wall.fails, "edit {i}");
            let table =
                crate::present::compare::render(&c, crate::present::compare::Format::Table, &a);
            assert!(!table.contains("new cost"), "edit {i}: {table}");
        }
    }

    /// `record` with its wall samples split into executions of `per` samples, in session
    /// `session` with `role`.
    fn in_session(
        samples: &[f64],
        per: usize,
        session: &str,
        role: SessionRole,
        instructions: u64,
    ) -> RunRecord {
        let mut r = record(samples, instructions);
        let wall = r.workloads[0].paths[0]
            .wall
            .as_mut()
            .unwrap()
            .metrics
            .as_mut()
            .unwrap();
        wall.executions = samples
            .chunks(per)
            .enumerate()
            .map(|(i, chunk)| crate::model::record::WallExecution {
                sequence: i,
                position: 0,
                env_pad: 0,
                samples: chunk.len(),
                median_ns: crate::analysis::stats::median(chunk).unwrap(),
            })
            .collect();
        r.session = Some(Session {
            id: session.into(),
            role,
            executions: samples.len() / per,
            order_seed: 1,
            partner: None,
            build: None,
        });
        r
    }

    /// Three executions of ten samples: each execution shifted by `shifts[i]`, then scaled.
    fn executions(shifts: [f64; 3], scale: f64) -> Vec<f64> {
        shifts
            .iter()
            .flat_map(|s| (0..10).map(move |j| 1000.0 * s * scale * (1.0 + 0.002 * j as f64)))
            .collect()
    }

    #[test]
    fn a_paired_session_judges_wall_on_pairs_and_gates() {
        // Execution shifts of ±5% common to both sides of each pair (the session drifts):
        // the per-pair ratios are exactly 1.10.
        let shifts = [1.0, 1.05, 0.95];
        let a = in_session(&executions(shifts, 1.0), 10, "s1", SessionRole::A, 1000);
        // B's build counts 10% more instructions: a change in the work, which gates.
        let mut b = in_session(&executions(shifts, 1.10), 10, "s1", SessionRole::B, 1100);
        b.artifact
            .bench_executables
            .get_mut("instr")
            .expect("instr executable")
            .sha256 = "b build".into();
        let (x, y) = sides(&a);
        let c = compare_records(&a, &b, &Policy::default(), x, y);
        let wall = c.metrics.iter().find(|m| m.metric == Metric::Wall).unwrap();
        assert_eq!(wall.basis, Some(Basis::Paired { pairs: 3 }));
        assert_eq!(wall.verdict, Verdict::Regressed);
        assert!(wall.fails && wall.gates());
        assert!((wall.ratio - 1.10).abs() < 1e-9, "{}", wall.ratio);
        // The pairs agree exactly: the drift common to both sides cancels.
        assert!(wall.noise_floor_pct.is_some_and(|f| f < 0.01), "{wall:?}");
        assert_eq!(c.caveat, None);
        assert_eq!(c.outcome(), Outcome::Failed);
        assert!(
            wall.verdict_with_basis()
                .starts_with("regressed (paired same session, 3 pairs; noise floor "),
            "{}",
            wall.verdict_with_basis()
        );
        // The same slowdown with not one instruction more: placement, reported, not gating.
        let b = in_session(&executions(shifts, 1.10), 10, "s1", SessionRole::B, 1000);
        let (x, y) = sides(&a);
        let c = compare_records(&a, &b, &Policy::default(), x, y);
        let wall = c.metrics.iter().find(|m| m.metric == Metric::Wall).unwrap();
        assert_eq!(
            wall.basis,
            Some(Basis::PairedSameInstructions {
                pairs: 3,
                instructions: 1000
            })
        );
        assert_eq!(wall.verdict, Verdict::Regressed);
        assert!(!wall.fails && !wall.gates());
        assert_eq!(c.outcome(), Outcome::Success);
        assert_eq!(c.summary.informational, 1);
        // Four times faster with the same count is not placement (the counted dispatch may
        // differ from the timed one): it stays a gating improvement.
        let b = in_session(&executions(shifts, 0.25), 10, "s1", SessionRole::B, 1000);
        let (x, y) = sides(&a);
        let c = compare_records(&a, &b, &Policy::default(), x, y);
        let wall = c.metrics.iter().find(|m| m.metric == Metric::Wall).unwrap();
        assert_eq!(wall.basis, Some(Basis::Paired { pairs: 3 }));
        assert_eq!(wall.verdict, Verdict::Improved);
        assert!(wall.gates());
    }

    /// A paired session of many workloads, five executions of ten samples each: line i's A
    /// executions at 1000 ns, its B executions at 1000 × `ratios[i][e]`, B counting
    /// `instructions[i]` instructions to A's 1000.
    fn paired_session(ratios: &[[f64; 5]], instructions: &[u64]) -> (RunRecord, RunRecord) {
        let side = |role: SessionRole, line: usize| {
            let samples: Vec<f64> = (0..5)
                .flat_map(|e| {
                    let scale = if role == SessionRole::A {
                        1.0
                    } else {
                        ratios[line][e]
                    };
                    (0..10).map(move |j| 1000.0 * scale * (1.0 + 0.001 * j as f64))
                })
                .collect();
            let count = if role == SessionRole::A {
                1000
            } else {
                instructions[line]
            };
            in_session(&samples, 10, "s1", role, count)
        };
        let build = |role: SessionRole| {
            let mut record = side(role, 0);
            for line in 1..ratios.len() {
                let mut workload = side(role, line).workloads.remove(0);
                workload.id = format!("sync/cache/ttl-{line}/tiny").parse().unwrap();
                record.workloads.push(workload);
            }
            if role == SessionRole::B {
                let instr = record.artifact.bench_executables.get_mut("instr").unwrap();
                instr.sha256 = "b build".into();
            }
            record
        };
        (build(SessionRole::A), build(SessionRole::B))
    }

    /// Eleven workloads whose pairs spread by about 15% and one whose five pairs agree on
    /// +10% (with 10% more instructions, so placement does not excuse it): on its own pairs
    /// that line regressed, but among the twelve it is no discovery, and no wall line fails
    /// (the instruction count still does). A 40% slowdown in the same pattern is found.
    #[test]
    fn a_session_judges_its_paired_lines_as_one_family() {
        let noisy = [
            [0.85, 1.12, 0.98, 1.17, 0.9],
            [1.1, 0.87, 1.02, 0.95, 1.15],
            [0.92, 1.08, 1.2, 0.88, 1.0],
        ];
        let lucky = [1.09, 1.10, 1.12, 1.10, 1.095];
        let mut ratios: Vec<[f64; 5]> = (0..11).map(|i| noisy[i % 3]).collect();
        ratios.push(lucky);
        let mut instructions = vec![1000; 11];
        instructions.push(1100);
        let (a, b) = paired_session(&ratios, &instructions);
        let (x, y) = sides(&a);
        let c = compare_records(&a, &b, &Policy::default(), x.clone(), y.clone());
        let line = |c: &Comparison, name: &str| {
            c.metrics
                .iter()
                .find(|m| m.metric == Metric::Wall && m.benchmark == name)
                .unwrap()
                .clone()
        };
        let wall = line(&c, "sync/cache/ttl-11/tiny@scalar");
        assert_eq!(wall.verdict, Verdict::Inconclusive, "{wall:?}");
        assert!(!wall.fails);
        assert!(wall.p_value.is_some_and(|p| p > 0.05 / 12.0), "{wall:?}");
        let note = wall.note.as_deref().unwrap();
        assert!(
            note.starts_with("regressed on its own pairs (p = "),
            "{note}"
        );
        assert!(note.contains("among the 12 paired lines"), "{note}");
        assert!(
            note.contains("noise floor moderated from 1.0 % (these 5 pairs) to "),
            "{note}"
        );
        let wall_fails = |c: &Comparison| {
            c.metrics
                .iter()
                .filter(|m| m.metric == Metric::Wall && m.fails)
                .count()
        };
        assert_eq!(wall_fails(&c), 0);

        // Rules 3 judged each line on its own pairs: the same session failed.
        let own = compare_records_with(
            &a,
            &b,
            &Policy::default(),
            x.clone(),
            y.clone(),
            PairedInterval::WidenedByStudentT,
        );
        assert_eq!(
            line(&own, "sync/cache/ttl-11/tiny@scalar").verdict,
            Verdict::Regressed
        );
        assert_eq!(wall_fails(&own), 1);

        *ratios.last_mut().unwrap() = lucky.map(|r| r * 1.4 / 1.1);
        let (a, b) = paired_session(&ratios, &instructions);
        let c = compare_records(&a, &b, &Policy::default(), x, y);
        let wall = line(&c, "sync/cache/ttl-11/tiny@scalar");
        assert_eq!(wall.verdict, Verdict::Regressed, "{wall:?}");
        assert!(wall.fails);
        assert_eq!(wall_fails(&c), 1);
    }

    #[test]
    fn wall_across_sessions_is_informational_and_never_fails() {
        let a = in_session(
            &executions([1.0, 1.0, 1.0], 1.0),
            10,
            "s1",
            SessionRole::Single,
            1000,
        );
        let b = in_session(
            &executions([1.0, 1.0, 1.0], 1.2),
            10,
            "s2",
            SessionRole::Single,
            1000,
        );
        let (x, y) = sides(&a);
        let c = compare_records(&a, &b, &Policy::default(), x, y);
        let wall = c.metrics.iter().find(|m| m.metric == Metric::Wall).unwrap();
        assert_eq!(wall.verdict, Verdict::Regressed);
        assert!(!wall.fails && !wall.gates());
        assert_eq!(
            wall.basis,
            Some(Basis::CrossSession {
                old_executions: 3,
                new_executions: 3
            })
        );
        assert_eq!((c.summary.regressed, c.summary.informational), (0, 1));
        assert_eq!(c.outcome(), Outcome::Success);
        assert!(c.caveat.as_deref().unwrap().contains("not gating"));
        assert!(
            c.headline()
                .contains("1 wall change(s) informational, not gating")
        );
        let table = crate::present::compare::render(&c, crate::present::compare::Format::Table, &b);
        assert!(table.contains("informational, not gating"), "{table}");
        // Reports made before these rules are re-derived as they were made.
        let first = c.under_first_rules();
        assert_eq!((first.summary.regressed, first.summary.failing), (1, 1));
    }

    #[test]
    fn across_machine_classes_only_digests_are_compared() {
        let a = record(&[100.0, 101.0, 99.0], 5000);
        let mut b = record(&[200.0, 201.0, 199.0], 9000);
        b.env.machine_class = "x86_64-other-cpu".into();
        let (x, y) = sides(&a);
        let c = compare_records(&a, &b, &Policy::default(), x.clone(), y.clone());
        assert!(c.metrics.is_empty(), "{:?}", c.metrics);
        assert!(c.not_compared[0].reason.contains("not comparable (class "));
        assert!(
            c.caveat
                .as_deref()
                .unwrap()
                .starts_with("wall clock and instruction counts not comparable")
        );
        assert_eq!(c.outcome(), Outcome::Success);
        b.workloads[0].paths[0].output_sha256 = Some("other".into());
        let c = compare_records(&a, &b, &Policy::default(), x, y);
        assert_eq!(c.outcome(), Outcome::Irreproducible);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Comparing a record with itself never reports a regression or an improvement.
        #[test]
        fn a_record_compared_with_itself_never_changes(
            samples in prop::collection::vec(1.0f64..1e7, 1..40),
            instructions in 0u64..u64::MAX / 2,
        ) {
            let r = record(&samples, instructions);
            let (a, b) = sides(&r);
            let policy = Policy { wall: WallPolicy { resamples: 200, ..WallPolicy::default() }, ..Policy::default() };
            let c = compare_records(&r, &r, &policy, a, b);
            prop_assert_eq!(c.outcome(), Outcome::Success);
            prop_assert_eq!(c.summary.regressed + c.summary.improved, 0);
            prop_assert!(c.reproducibility.is_empty());
        }
    }
}
