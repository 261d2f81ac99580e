//! The run record, `benchseal.run/1`: everything one run measured, sealed.
//!
//! A record is written as soon as a run starts (`complete: false`) and rewritten atomically
//! after every result, so an interrupted run keeps what it measured. Its `seal` is the
//! SHA-256 of its canonical JSON without the seal ([`crate::model::digest::seal_of`]); any edit to
//! a sealed record is detected by [`RunRecord::verify_seal`].

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Result, anyhow};
use benchseal_benches::{Family, KernelPath, Size, Unit, WorkloadId};
use serde::{Deserialize, Serialize};

use crate::model::digest;
use crate::model::env::EnvSnapshot;

/// Schema name and version of run records (and of baselines, which are sealed run records).
pub const RUN_SCHEMA: &str = "benchseal.run/1";

/// The status text of a case skipped because its engine could not run at all; the reason
/// is said once, in the record's `engine_failures`.
pub const ENGINE_COULD_NOT_RUN: &str = "engine could not run";

/// One run of the suite. An unknown top-level field is refused rather than carried
/// outside the seal (the seal covers the record as this type reads it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    pub schema: String,
    pub run_id: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub finished_at: Option<String>,
    /// False while the run is in progress, or if it was interrupted.
    pub complete: bool,
    /// The command line that produced the run.
    pub command: Vec<String>,
    pub options: RunOptions,
    pub artifact: Artifact,
    /// The environment when the run started.
    pub env: EnvSnapshot,
    /// The environment when the run finished; differences are listed in `env_changes`.
    pub env_after: Option<EnvSnapshot>,
    /// Settings that changed during the run (each a human-readable line).
    #[serde(default)]
    pub env_changes: Vec<String>,
    pub tuning: Tuning,
    pub workloads: Vec<WorkloadRecord>,
    /// Whole-command measurements of the process engine.
    #[serde(default)]
    pub processes: Vec<ProcessRecord>,
    /// Facts about the run a reader should know that are not results, e.g. a workload with
    /// no committed golden digest, or an interruption.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Engines that could not run at all (a tool missing or unusable, a bench executable
    /// that would not start), each said once; their cases are `skipped` with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engine_failures: Vec<EngineFailure>,
    /// Where the run's time went; `None` until the run ends.
    #[serde(default)]
    pub timing: Option<RunTiming>,
    /// How the wall engine replicated its measurements: executions, their order, and the
    /// partner of a paired session. Left out when absent (records from before executions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// The part of its selection this run took (`run --shard I/N`); left out when it ran
    /// the whole selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The shard records this record was joined from (`benchseal merge`), in shard order;
    /// left out for a record a run wrote.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    /// Thread scaling of the workloads that divide their work among threads
    /// (`pipeline::scaling`); left out when the run measured none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scaling: Vec<ScalingRecord>,
    /// SHA-256 of the canonical JSON of everything else; `None` until sealed.
    pub seal: Option<String>,
}

/// Which cases of a selection one shard of a fleet run took.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Shard {
    /// From 0.
    pub index: usize,
    pub count: usize,
    /// Every case (`id@path`) the command selects, in registry order: what the `count`
    /// shards cover together.
    pub selection: Vec<String>,
    /// The cases this shard took, in the same order.
    pub cases: Vec<String>,
    /// The expected cost of these cases, and of the whole selection, in the unit of
    /// `pipeline::shard::CostModel` (tenths of a wall execution).
    pub expected_cost: u64,
    pub total_cost: u64,
}

/// A shard a merged record was joined from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Part {
    /// The file as `merge` was given it.
    pub file: String,
    pub run_id: String,
    /// The shard record's own seal.
    pub seal: String,
    pub index: usize,
    pub count: usize,
    pub cases: usize,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// What the allowed-signers file said of the shard record's signature when it was
    /// merged (e.g. `signed by ci@example (ED25519 SHA256:…)`, `unsigned`); left out when
    /// there was no such file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What was asked for.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunOptions {
    pub suites: Vec<Family>,
    pub sizes: Vec<Size>,
    pub engines: Vec<EngineKind>,
    pub paths: Vec<KernelPath>,
    pub quick: bool,
}

/// The measuring engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Wall-clock time through criterion.
    Wall,
    /// Instruction counts through gungraun (callgrind).
    Instr,
}

impl EngineKind {
    pub const ALL: [EngineKind; 2] = [EngineKind::Wall, EngineKind::Instr];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Wall => "wall",
            EngineKind::Instr => "instr",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        EngineKind::ALL
            .into_iter()
            .find(|e| e.name() == s)
            .ok_or_else(|| format!("unknown engine `{s}` (valid: wall, instr)"))
    }
}

/// An engine that could not run at all, and the fix where one is known.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EngineFailure {
    pub engine: EngineKind,
    /// One line: what failed and how to fix it.
    pub reason: String,
}

/// Wall-clock seconds of a run, split so the harness's own overhead is visible.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunTiming {
    /// From start to the final record.
    pub total_s: f64,
    /// Building the bench executables (zero when prebuilt or already up to date is cheap).
    pub build_s: f64,
    /// Inside the bench processes (criterion, gungraun with valgrind).
    pub bench_processes_s: f64,
    /// Everything else: digest pass, ingestion, record writes, summaries.
    pub harness_s: f64,
    /// CPU seconds of benchseal itself (all threads), insensitive to a busy machine.
    #[serde(default)]
    pub harness_cpu_s: Option<f64>,
    /// CPU seconds of child processes other than the build: the bench processes, plus a
    /// few short tool queries (git, version probes).
    #[serde(default)]
    pub bench_processes_cpu_s: Option<f64>,
    /// Installing tools the engines need (the pinned `gungraun-runner` on a machine that
    /// had none): neither build nor harness overhead. Absent when nothing was installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_s: Option<f64>,
}

/// What was measured: the build and its inputs.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Artifact {
    /// benchseal's version.
    pub version: String,
    pub git_commit: Option<String>,
    pub git_dirty: Option<bool>,
    pub cargo_lock_sha256: Option<String>,
    /// Bench executables by engine name (`wall`, `instr`).
    #[serde(default)]
    pub bench_executables: BTreeMap<String, Executable>,
    /// Versions of the measuring tools by name (`criterion`, `gungraun`,
    /// `gungraun-runner`, `valgrind`).
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    /// Absolute paths of the external tools the run used (`gungraun-runner`, `valgrind`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tool_paths: BTreeMap<String, String>,
}

/// A bench executable that produced numbers; instruction counts are exact only for the
/// same SHA-256.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Executable {
    pub path: String,
    pub sha256: String,
}

/// Whether the machine was tuned for the run, and why not.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Tuning {
    pub tuned: bool,
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// `ok | skipped (reason) | invalid (reason)`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped(String),
    Invalid(String),
}

impl Status {
    pub fn is_ok(&self) -> bool {
        matches!(self, Status::Ok)
    }
    pub fn is_invalid(&self) -> bool {
        matches!(self, Status::Invalid(_))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Ok => f.write_str("ok"),
            Status::Skipped(why) => write!(f, "skipped ({why})"),
            Status::Invalid(why) => write!(f, "invalid ({why})"),
        }
    }
}

/// One workload run on 1, 2, … threads, in-process, interleaved round by round.
///
/// Only measured times and digests are kept: speedup and efficiency are derived on reading
/// ([`ScalingRecord::speedup`]), so an edited time cannot leave a stale ratio behind.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ScalingRecord {
    pub workload: WorkloadId,
    pub path: KernelPath,
    /// The concrete implementation, e.g. `simd (avx512vnni)`.
    pub label: String,
    pub unit: Unit,
    /// Units of work per run of the kernel.
    pub units: u64,
    /// What the work is divided into (`tokens`, `records`) and how many of it one run has.
    pub divides: String,
    pub parts: usize,
    /// Timed rounds; each round runs every thread count once, in a rotated order.
    pub rounds: usize,
    /// `invalid (digest mismatch: …)` when an output differs between thread counts or from
    /// the digest pass; `skipped (reason)` when the workload could not be measured.
    #[serde(flatten)]
    pub status: Status,
    /// Thread counts asked for but not measured, and why (more threads than parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<String>,
    /// By thread count, ascending; the first is one thread.
    pub points: Vec<ScalingPoint>,
}

/// One thread count of a [`ScalingRecord`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ScalingPoint {
    pub threads: usize,
    /// Per-run times, one per round, in round order.
    pub samples_ns: Vec<f64>,
    pub median_ns: f64,
    /// SHA-256 of the output after the last run at this thread count.
    pub output_sha256: String,
    /// Median over the rounds of the calling thread's CPU time during a run (it runs the
    /// first part of the work, then waits for the others) over the run's wall time: near 1
    /// when the threads had their cores, lower when another process held one (see
    /// [`ScalingRecord::contended`]). `None` in records made before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_share: Option<f64>,
}

/// A scaling point whose calling thread ran less than this share of the wall time was
/// measured on a contended machine. Idle, the share is 1.0 for long runs and about 0.85
/// for a 0.5 ms run on 2 threads (the calling thread waits for the other's start-up); with
/// one busy process on the other of 2 cores it was 0.47.
pub const CONTENDED_SHARE: f64 = 0.7;

impl ScalingRecord {
    /// Why the figures do not describe the kernel: the thread counts whose threads ran
    /// less than [`CONTENDED_SHARE`] of their wall time, because another process held a
    /// core. `None` when every point had its cores.
    pub fn contended(&self) -> Option<String> {
        let short: Vec<String> = self
            .points
            .iter()
            .filter_map(|p| {
                p.cpu_share
                    .filter(|s| *s < CONTENDED_SHARE)
                    .map(|s| format!("{} thread(s) ran {:.0} %", p.threads, s * 100.0))
            })
            .collect();
        (!short.is_empty()).then(|| {
            format!(
                "contended: {} of their wall time (another process held a core)",
                short.join(", ")
            )
        })
    }

    /// The one-thread point, the reference of speedup and efficiency.
    pub fn single(&self) -> Option<&ScalingPoint> {
        self.points.iter().find(|p| p.threads == 1)
    }

    pub fn point(&self, threads: usize) -> Option<&ScalingPoint> {
        self.points.iter().find(|p| p.threads == threads)
    }

    /// Median one-thread time over median `threads`-thread time.
    pub fn speedup(&self, threads: usize) -> Option<f64> {
        let single = self.single()?.median_ns;
        let point = self.point(threads)?;
        (point.median_ns > 0.0).then(|| single / point.median_ns)
    }

    /// Speedup per thread: 1 is perfect scaling.
    pub fn efficiency(&self, threads: usize) -> Option<f64> {
        Some(self.speedup(threads)? / threads as f64)
    }

    /// The largest thread count measured.
    pub fn max_threads(&self) -> Option<usize> {
        self.points.iter().map(|p| p.threads).max()
    }
}

/// One workload of the run, across the paths it ran on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WorkloadRecord {
    pub id: WorkloadId,
    pub family: Family,
    pub unit: Unit,
    /// Units of work per run of the kernel.
    pub units: u64,
    pub describe: String,
    pub input_sha256: Option<String>,
    /// The committed golden output digest this run was checked against, if any.
    pub golden_output_sha256: Option<String>,
    pub paths: Vec<PathRecord>,
    /// Metrics of their own reported after the scalar run, path-independent since every
    /// valid path reproduces the scalar output (e.g. ternarisation quality), by name.
    #[serde(default)]
    pub extra: BTreeMap<String, ExtraMetric>,
    /// The roofline reference this workload is read against, as the registry declared it
    /// when it ran (`analysis::roof`). Left out of the JSON when absent, so records written
    /// before roofs existed keep their seal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roof: Option<RoofRecord>,
}

/// A workload's roof: the `roof/…` workload of its tier, and how many of the roof's units
/// (bytes moved, multiply-accumulates) one unit of the workload's work needs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RoofRecord {
    pub workload: WorkloadId,
    pub per_unit: f64,
    /// What `per_unit` counts: `bytes copied per input byte`.
    pub basis: String,
}

impl WorkloadRecord {
    pub fn path(&self, path: KernelPath) -> Option<&PathRecord> {
        self.paths.iter().find(|p| p.path == path)
    }
}

/// A named value with its unit, reported beside the timings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExtraMetric {
    pub value: f64,
    pub unit: String,
}

/// One workload on one kernel path.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PathRecord {
    pub path: KernelPath,
    /// The concrete implementation, e.g. `simd (avx512)`.
    pub label: String,
    pub output_sha256: Option<String>,
    /// Digest-pass verdict; an `invalid` path's timings are never reported as results.
    #[serde(flatten)]
    pub status: Status,
    pub wall: Option<EngineResult<WallStats>>,
    pub instr: Option<EngineResult<InstrMetrics>>,
    /// Metrics only this path's run reports (e.g. GPU kernel and transfer times), by name.
    /// Path-independent ones (reported by the scalar run) are on the workload's `extra`.
    /// Left out of the JSON when empty, so records written before the field existed keep
    /// their seal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, ExtraMetric>,
    /// Heap allocations of one warm kernel run on this path (`None` when not counted, as
    /// in records made before they were). Left out of the JSON when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations: Option<Allocations>,
}

/// Heap allocations of one kernel run, counted exactly by the digest pass on the path's
/// second run (the first one allocates the buffers a kernel keeps; the timed runs are
/// warm): allocation calls (a `realloc` counts as one) and the bytes they asked for, on the
/// thread that ran it (`sys::alloc`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Allocations {
    pub per_run: u64,
    pub bytes_per_run: u64,
}

/// An engine's result for one workload and path.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EngineResult<T> {
    #[serde(flatten)]
    pub status: Status,
    pub metrics: Option<T>,
}

impl<T> EngineResult<T> {
    /// A result that carries a status and no numbers (skipped, or invalid).
    pub fn without_metrics(status: Status) -> Self {
        EngineResult {
            status,
            metrics: None,
        }
    }
}

/// Wall-clock statistics of one benchmark (criterion), times per run of the kernel in ns.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WallStats {
    pub median_ns: f64,
    pub median_ci_lower_ns: f64,
    pub median_ci_upper_ns: f64,
    pub mean_ns: f64,
    pub mean_ci_lower_ns: f64,
    pub mean_ci_upper_ns: f64,
    pub std_dev_ns: f64,
    pub confidence_level: f64,
    /// Per-run time of each sample (sample total / iterations), in sample order.
    pub samples_ns: Vec<f64>,
    /// Iterations in each sample.
    pub sample_iters: Vec<f64>,
    /// Units of work per second at the median time.
    pub throughput_per_s: f64,
    /// The process executions the samples came from, in the order they ran; `samples_ns`
    /// holds their samples one execution after another. The median is that of all samples,
    /// its interval a hierarchical bootstrap (executions, then samples within them).
    /// Empty in records made before executions were the unit of replication.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executions: Vec<WallExecution>,
}

/// One process execution of the wall bench executable, as far as one case is concerned.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WallExecution {
    /// 0-based round of the execution in its session times the number of sides, plus the
    /// side (A 0, B 1): in a paired session execution i of A is 2i and its partner in B is
    /// 2i + 1 (each case runs in its own process there, A's and B's back to back).
    pub sequence: usize,
    /// Where the case ran within the execution's randomized order (0-based).
    pub position: usize,
    /// Length of the environment padding the execution ran with (it moves the initial
    /// stack; drawn per execution, equal for both sides of a pair).
    #[serde(default)]
    pub env_pad: usize,
    /// How many of `samples_ns` this execution contributed.
    pub samples: usize,
    /// Median of this execution's samples.
    pub median_ns: f64,
}

/// The replication design of a run's wall measurements.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Session {
    /// Shared by the two records of a paired session; the run id otherwise.
    pub id: String,
    pub role: SessionRole,
    /// Process executions per case.
    pub executions: usize,
    /// Seed of the randomized case order of each execution.
    pub order_seed: u64,
    /// The other record of a paired session (its run id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// Where this side's bench executables came from, when built for the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<SessionBuild>,
}

/// The bench executables of one side of a paired session, built from a commit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SessionBuild {
    pub commit: String,
    /// The build directory (`.benchseal/builds/<commit>-<toolchain>-<lock hash>`).
    pub dir: String,
    /// Seconds the build took in this session; 0 when it was cached.
    pub build_s: f64,
    pub cached: bool,
}

/// A record's part in its session.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SessionRole {
    /// A run on its own: its wall numbers compare with other sessions only informationally.
    Single,
    /// The baseline side of a paired session.
    A,
    /// The candidate side of a paired session.
    B,
}

impl Session {
    /// Whether `a` and `b` are the two sides of one paired session.
    pub fn paired(a: Option<&Session>, b: Option<&Session>) -> bool {
        matches!((a, b), (Some(a), Some(b))
            if a.id == b.id && a.role == SessionRole::A && b.role == SessionRole::B)
    }
}

impl WallStats {
    /// Each execution's samples, in execution order; one slice of all samples for a record
    /// without executions.
    pub fn execution_samples(&self) -> Vec<&[f64]> {
        if self.executions.is_empty() {
            return vec![&self.samples_ns[..]];
        }
        let mut out = Vec::with_capacity(self.executions.len());
        let mut start = 0;
        for e in &self.executions {
            let end = (start + e.samples).min(self.samples_ns.len());
            out.push(&self.samples_ns[start..end]);
            start = end;
        }
        out
    }
}

/// Instruction-count metrics of one benchmark (gungraun, callgrind).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InstrMetrics {
    pub instructions: u64,
    pub l1_hits: Option<u64>,
    pub ll_hits: Option<u64>,
    pub ram_hits: Option<u64>,
    pub total_read_write: Option<u64>,
    pub estimated_cycles: Option<u64>,
    /// Conditional and indirect branches executed, and how many callgrind's branch
    /// predictor simulation mispredicted (`Bc + Bi`, `Bcm + Bim`); absent in records
    /// written before branches were simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branches: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch_misses: Option<u64>,
    /// The kernel path label the measured process saw (under valgrind, which hides
    /// AVX-512, `simd` may run another implementation than the wall engine measured).
    /// Absent in records written before it existed; never part of a comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// callgrind's profile of the case (per function), kept beside the record; absent in
    /// records written before profiles were kept. Never part of a comparison's verdict:
    /// it explains one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callgrind: Option<ProfileFile>,
}

/// A file kept beside a run record, sealed by its digest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProfileFile {
    /// Relative to the record's own directory.
    pub path: String,
    pub sha256: String,
}

/// A whole command measured by the process engine.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProcessRecord {
    pub id: String,
    pub command: Vec<String>,
    #[serde(flatten)]
    pub status: Status,
    pub runs: u32,
    pub wall_p50_ns: Option<f64>,
    pub wall_p95_ns: Option<f64>,
    pub wall_p99_ns: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    #[serde(default)]
    pub samples_ns: Vec<f64>,
    /// Units of work per run of the command (e.g. input bytes), if it has one.
    pub unit: Option<Unit>,
    pub units: Option<u64>,
    /// Size in bytes of the program file the command runs (`{benchseal}`: the release
    /// binary); absent when it was not measured or in records made before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_bytes: Option<u64>,
}

impl RunRecord {
    /// Computes and stores the seal.
    pub fn seal(&mut self) -> Result<()> {
        self.seal = None;
        self.seal =
            Some(digest::seal_of(self).map_err(|e| anyhow!("sealing the run record: {e}"))?);
        Ok(())
    }

    /// Whether the stored seal matches the content, and in which scheme it was made.
    /// `Err` names the problem.
    pub fn verify_seal(&self) -> std::result::Result<digest::SealScheme, String> {
        let Some(stored) = &self.seal else {
            return Err("the record is not sealed".into());
        };
        digest::check_seal(self, stored)
    }

    /// Parses a record from JSON text; the error names the schema or the field at fault.
    pub fn from_json(text: &str) -> std::result::Result<RunRecord, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            if e.is_eof() {
                format!(
                    "not valid JSON: {e}: the file ends early, as an interrupted write leaves \
                     it (not an edit)"
                )
            } else {
                format!("not valid JSON: {e}")
            }
        })?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(RUN_SCHEMA) => {}
            Some(other) => {
                return Err(format!(
                    "schema `{other}` is not supported (expected `{RUN_SCHEMA}`)"
                ));
            }
            None => {
                return Err(format!(
                    "field `schema` is missing (expected `{RUN_SCHEMA}`)"
                ));
            }
        }
        serde_json::from_str(text).map_err(|e| format!("invalid run record: {e}"))
    }

    pub fn workload(&self, id: &WorkloadId) -> Option<&WorkloadRecord> {
        self.workloads.iter().find(|w| &w.id == id)
    }
}

/// A stored record with the labels it is known by (`run`, `baseline <version>`).
#[derive(Clone, Debug)]
pub struct LabelledRecord {
    pub record: RunRecord,
    pub labels: Vec<String>,
}
