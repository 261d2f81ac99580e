//! The SLO file as a typed value.

use std::fmt;

use benchseal_benches::{KernelPath, Unit, WorkloadId};
use serde::{Deserialize, Serialize};

use super::unit::*;

/// What an objective measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Throughput,
    LatencyP50,
    LatencyP95,
    LatencyP99,
    Instructions,
    PeakRss,
    Speedup,
    DigestReproducibility,
    /// One-thread time over `threads`-thread time, from the scaling pass.
    SpeedupThreads,
    /// [`Metric::SpeedupThreads`] per thread: 100 % is perfect scaling.
    Efficiency,
    /// The workload's throughput over its roof's at the same tier, in the same run
    /// (`analysis::roof`).
    RoofFraction,
    /// Size of the program file a `[[process]]` runs (the release binary for
    /// `{benchseal}`).
    ProgramSize,
}

impl Metric {
    pub const ALL: [Metric; 12] = [
        Metric::Throughput,
        Metric::LatencyP50,
        Metric::LatencyP95,
        Metric::LatencyP99,
        Metric::Instructions,
        Metric::PeakRss,
        Metric::Speedup,
        Metric::DigestReproducibility,
        Metric::SpeedupThreads,
        Metric::Efficiency,
        Metric::RoofFraction,
        Metric::ProgramSize,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::LatencyP50 => "latency_p50",
            Metric::LatencyP95 => "latency_p95",
            Metric::LatencyP99 => "latency_p99",
            Metric::Instructions => "instructions",
            Metric::PeakRss => "peak_rss",
            Metric::Speedup => "speedup",
            Metric::DigestReproducibility => "digest_reproducibility",
            Metric::SpeedupThreads => "speedup_threads",
            Metric::Efficiency => "efficiency",
            Metric::RoofFraction => "roof_fraction",
            Metric::ProgramSize => "program_size",
        }
    }

    pub(crate) fn fits(self, dimension: Dimension) -> bool {
        use Dimension as D;
        match self {
            Metric::Throughput => matches!(dimension, D::Rate(_) | D::TimePerWork(_)),
            Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99 => {
                matches!(dimension, D::Time | D::TimePerWork(_))
            }
            Metric::Instructions => dimension == D::Count,
            Metric::PeakRss | Metric::ProgramSize => dimension == D::Memory,
            Metric::Speedup
            | Metric::DigestReproducibility
            | Metric::SpeedupThreads
            | Metric::Efficiency
            | Metric::RoofFraction => dimension == D::Ratio,
        }
    }

    pub(crate) fn expects(self) -> &'static str {
        match self {
            Metric::Throughput => {
                "a rate (GiB/s, G weights/s, files/s, tokens/s) or a time per unit (ns/file, ns/op)"
            }
            Metric::LatencyP50 | Metric::LatencyP95 | Metric::LatencyP99 => {
                "a time (ns, us, ms, s) or a time per unit (ns/file)"
            }
            Metric::Instructions => "an instruction count (instr, K instr, M instr)",
            Metric::PeakRss | Metric::ProgramSize => "an amount of memory (KiB, MiB, GiB)",
            Metric::Speedup => "a ratio (x or %)",
            Metric::DigestReproducibility | Metric::Efficiency | Metric::RoofFraction => {
                "a percentage (%)"
            }
            Metric::SpeedupThreads => "a ratio (x or %)",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How much an objective matters to the go / no-go decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Critical,
    High,
    Medium,
}

impl Priority {
    pub fn name(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
        }
    }

    /// Whether failing an objective of this priority blocks the release.
    pub fn blocks_release(self) -> bool {
        matches!(self, Priority::Critical | Priority::High)
    }
}

/// What an objective is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    /// One workload of the registry.
    Workload(WorkloadId),
    /// A whole command measured by the process engine (a `[[process]]` of the file).
    Process(String),
    /// Every workload whose id starts with the prefix (empty: all), for reproducibility.
    Workloads(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Workload(id) => write!(f, "{id}"),
            Subject::Process(id) => write!(f, "process {id}"),
            Subject::Workloads(prefix) if prefix.is_empty() => f.write_str("all workloads"),
            Subject::Workloads(prefix) => write!(f, "{prefix}*"),
        }
    }
}

/// For a speedup: what the subject is measured against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeedupBase {
    /// The same workload on another path: `paths = ["scalar", "simd"]`.
    Path { base: KernelPath, fast: KernelPath },
    /// Another workload on the objective's path: `relative_to = "…"` (throughput ratio).
    Workload { reference: WorkloadId },
    /// For a process: another `[[process]]` doing the same work (`relative_to = "…"`); the
    /// ratio of their median wall times, the reference's over the subject's.
    Process { reference: String },
}

/// One objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub id: String,
    pub description: Option<String>,
    pub subject: Subject,
    pub metric: Metric,
    pub target: Target,
    pub priority: Priority,
    /// The kernel path measured (workload objectives); `None` picks the workload's fast path.
    pub path: Option<KernelPath>,
    pub speedup: Option<SpeedupBase>,
    /// For `speedup_threads` and `efficiency`: the thread count judged; `None`, the
    /// largest the scaling pass measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
}

/// A whole command the sign-off measures with the process engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessSpec {
    pub id: String,
    pub description: Option<String>,
    /// argv; `{benchseal}` is replaced by the running benchseal executable, `{scratch}` by
    /// a scratch directory that lives for the measurement.
    pub command: Vec<String>,
    /// Run once before measuring (e.g. to generate an input file), with the same
    /// placeholders.
    pub setup: Option<Vec<String>>,
    pub runs: u32,
    pub warmup: u32,
    pub unit: Option<Unit>,
    pub units: Option<u64>,
    /// Whether a quick sign-off measures it (`quick = false`: only a release sign-off
    /// does; a cold build or the whole test suite takes many minutes). Left out of
    /// reports when true, as files written before it existed read.
    #[serde(default = "measured_quick", skip_serializing_if = "is_measured_quick")]
    pub quick: bool,
}

fn measured_quick() -> bool {
    true
}

fn is_measured_quick(quick: &bool) -> bool {
    *quick
}

/// A parsed `slo.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloFile {
    pub schema: String,
    pub objectives: Vec<Objective>,
    pub processes: Vec<ProcessSpec>,
    /// The `[regression]` table: how the comparison with the baseline decides.
    pub regression: crate::analysis::compare::Policy,
    /// The `[fleet]` table: which machine classes a multi-class sign-off requires; absent,
    /// every class given is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<Fleet>,
    /// The `[preconditions]` table: commands `signoff` runs before measuring, and the
    /// sign-off's time budget; absent, there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
}

/// The commands a `[preconditions]` table without `commands` runs: formatting, lints and
/// the test suite, as CI runs them.
pub const DEFAULT_PRECONDITIONS: [&[&str]; 3] = [
    &["cargo", "fmt", "--all", "--check"],
    &["cargo", "clippy", "--all-targets", "--", "-D", "warnings"],
    &["cargo", "test", "--workspace", "--locked"],
];

/// The `[preconditions]` table of an SLO file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preconditions {
    /// Each command's argv, run in order from the directory `signoff` runs in; a release
    /// is NO-GO without measuring when one fails.
    pub commands: Vec<Vec<String>>,
    /// The whole sign-off's time budget: work that would start after it is spent is
    /// `skipped (bounded by policy)` and named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

/// A time budget as written (`"30 min"`) and in nanoseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub text: String,
    pub ns: f64,
}

/// The `[fleet]` table of an SLO file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    /// Machine classes that must each have a run, and a GO, for the release to be GO.
    pub required: Vec<String>,
}
