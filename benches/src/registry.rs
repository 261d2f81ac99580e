//! Workload identities, size tiers, units of work and the [`Instance`] trait.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// A kernel family; one per `kernels` module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Codec,
    Quant,
    Sync,
    /// Roofline references: what the machine's memory and int8 units allow, the bounds the
    /// kernels' figures are read against ([`Roof`]).
    Roof,
}

impl Family {
    pub const ALL: [Family; 4] = [Family::Codec, Family::Quant, Family::Sync, Family::Roof];

    pub fn name(self) -> &'static str {
        match self {
            Family::Codec => "codec",
            Family::Quant => "quant",
            Family::Sync => "sync",
            Family::Roof => "roof",
        }
    }
}

/// Size tier: `tiny` (tests, instruction counts), `small` (`--quick`), `medium`, `large`
/// (sign-off).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    Tiny,
    Small,
    Medium,
    Large,
}

impl Size {
    pub const ALL: [Size; 4] = [Size::Tiny, Size::Small, Size::Medium, Size::Large];

    /// The bytes a tier's workloads work on: the codec inputs' length, and the buffers
    /// of the memory roofs measured for that tier (6 KiB sits in L1, 1.5 MiB in L2,
    /// 24 MiB in a large L3 or beyond, 256 MiB in memory on most machines).
    pub fn working_set(self) -> usize {
        match self {
            Size::Tiny => 6 * 1024,
            Size::Small => 3 * 512 * 1024,
            Size::Medium => 24 * 1024 * 1024,
            Size::Large => 256 * 1024 * 1024,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Size::Tiny => "tiny",
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
        }
    }
}

/// A concrete code path a workload can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelPath {
    /// The scalar oracle.
    Scalar,
    /// The CPU fast path at the detected SIMD level.
    Simd,
    /// The CUDA path (feature `cuda`); skipped without a device.
    Gpu,
    /// The system's own converter (iconv(3) for DISPLAY decoding), a peer to compare
    /// with, not a kernel of this project; skipped where the system lacks the conversion.
    Reference,
}

impl KernelPath {
    pub const ALL: [KernelPath; 4] = [
        KernelPath::Scalar,
        KernelPath::Simd,
        KernelPath::Gpu,
        KernelPath::Reference,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KernelPath::Scalar => "scalar",
            KernelPath::Simd => "simd",
            KernelPath::Gpu => "gpu",
            KernelPath::Reference => "reference",
        }
    }
}

/// The unit of work that one run of a workload performs; throughput is units / time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Input bytes decoded, compared or scanned (reported as GiB/s or MiB/s).
    Bytes,
    /// Ternary weights processed (reported as G weights/s).
    Weights,
    /// Files examined or planned (reported as ns per file, or ms per 1000 files).
    Files,
    /// Discrete operations such as cache gets (reported as ns per operation).
    Operations,
    /// int8 multiply-accumulates (reported as G MAC/s).
    Macs,
    /// Tokens decoded by a model's forward step (reported as tokens/s).
    Tokens,
}

impl Unit {
    pub const ALL: [Unit; 6] = [
        Unit::Bytes,
        Unit::Weights,
        Unit::Files,
        Unit::Operations,
        Unit::Macs,
        Unit::Tokens,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Weights => "weights",
            Unit::Files => "files",
            Unit::Operations => "operations",
            Unit::Macs => "macs",
            Unit::Tokens => "tokens",
        }
    }
}

macro_rules! impl_name_traits {
    ($($ty:ident),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $ty::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
                    let names: Vec<_> = $ty::ALL.iter().map(|v| v.name()).collect();
                    format!("unknown {} `{s}` (valid: {})", stringify!($ty).to_lowercase(), names.join(", "))
                })
            }
        }
    )*};
}
impl_name_traits!(Family, Size, KernelPath, Unit);

/// A roofline reference: one thing the machine does as fast as it can, measured as a
/// workload of the `roof` family at every tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoofKind {
    /// Sequential reads of one buffer of the tier's working set.
    Read,
    /// `memcpy` of one such buffer into another.
    Copy,
    /// `memset` of one such buffer.
    Write,
    /// int8 multiply-accumulates on an L1-resident block (`vpdpbusd` where the CPU has it).
    DotI8,
}

impl RoofKind {
    /// The kernel segment of the roof's workload ids.
    pub fn kernel(self) -> &'static str {
        match self {
            RoofKind::Read => "read",
            RoofKind::Copy => "copy",
            RoofKind::Write => "write",
            RoofKind::DotI8 => "dot-i8",
        }
    }

    /// The variant segment: how the roof is reached.
    pub fn variant(self) -> &'static str {
        match self {
            RoofKind::Read => "seq",
            RoofKind::Copy => "memcpy",
            RoofKind::Write => "memset",
            RoofKind::DotI8 => "l1",
        }
    }

    /// The roof workload measured for `size`, e.g. `roof/copy/memcpy/large`.
    pub fn workload(self, size: Size) -> WorkloadId {
        WorkloadId::new(Family::Roof, self.kernel(), self.variant(), size)
    }
}

/// The roof a workload is read against: `per_unit` of the roof's unit (bytes moved, or
/// multiply-accumulates) for each unit of the workload's own work, e.g. a DISPLAY decode
/// copies at least one byte per input byte. The workload's fraction of its roof is its
/// throughput times `per_unit` over the roof's throughput at the same tier, in one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Roof {
    pub kind: RoofKind,
    pub per_unit: f64,
    /// What `per_unit` counts, for reports: `"bytes copied per input byte"`.
    pub basis: &'static str,
    /// The roof's tier when the workload's working set is that tier's rather than its own
    /// tier's (a comparison of two 1 MiB buffers sits in L2 like the small tier's 1.5 MiB
    /// roof, not in L3 like the medium tier's 24 MiB); `None`: the workload's own tier.
    pub at: Option<Size>,
}

impl Roof {
    /// The roof workload a workload of tier `size` is read against.
    pub fn workload(&self, size: Size) -> WorkloadId {
        self.kind.workload(self.at.unwrap_or(size))
    }
}

/// Stable workload id `family/kernel/variant/size`, e.g. `codec/comp3/s9v2/large`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadId {
    pub family: Family,
    pub kernel: String,
    pub variant: String,
    pub size: Size,
}

impl WorkloadId {
    pub fn new(family: Family, kernel: &str, variant: &str, size: Size) -> Self {
        WorkloadId {
            family,
            kernel: kernel.into(),
            variant: variant.into(),
            size,
        }
    }

    /// The id without its size tier: the name of the input stream shared by all tiers.
    pub fn stem(&self) -> String {
        format!("{}/{}/{}", self.family, self.kernel, self.variant)
    }
}

impl fmt::Display for WorkloadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.family, self.kernel, self.variant, self.size
        )
    }
}

impl FromStr for WorkloadId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let [family, kernel, variant, size] = parts[..] else {
            return Err(format!(
                "workload id `{s}` is not of the form family/kernel/variant/size"
            ));
        };
        if kernel.is_empty() || variant.is_empty() {
            return Err(format!("workload id `{s}` has an empty kernel or variant"));
        }
        Ok(WorkloadId::new(
            family.parse()?,
            kernel,
            variant,
            size.parse()?,
        ))
    }
}

impl Serialize for WorkloadId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WorkloadId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why one run of a workload produced no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The path cannot run here (e.g. "no CUDA device"); the workload is skipped on it.
    Unavailable(String),
    /// The kernel returned an error on the workload's (valid) input: a defect.
    Failed(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Unavailable(why) => write!(f, "unavailable: {why}"),
            RunError::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

impl std::error::Error for RunError {}

/// How a workload's work divides among threads: into `count` independent pieces of `unit`
/// (`"tokens"`, `"records"`), so one run can be shared among 1 to `count` threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parallel {
    /// What the work divides into, plural: `"tokens"` or `"records"`.
    pub unit: &'static str,
    /// How many of them one run has: the most threads it can be shared among.
    pub count: usize,
}

impl Parallel {
    /// `Err(Failed)` naming the numbers unless `threads` is in `1..=count`.
    pub(crate) fn check(self, threads: usize) -> Result<(), RunError> {
        if threads == 0 || threads > self.count {
            return Err(RunError::Failed(format!(
                "{} {} cannot be shared among {threads} threads (1 to {} can share them)",
                self.count, self.unit, self.count
            )));
        }
        Ok(())
    }

    /// The `part`-th of `threads` contiguous ranges of `0..count`, as even as possible:
    /// the first `count % threads` ranges are one longer. `threads` must be checked.
    pub(crate) fn range(self, threads: usize, part: usize) -> Range<usize> {
        let (size, longer) = (self.count / threads, self.count % threads);
        let start = part * size + part.min(longer);
        start..start + size + usize::from(part < longer)
    }
}

/// Per-thread buffers of [`Instance::run_threads`], kept for every thread count used:
/// the scaling pass rotates the counts from run to run, and rebuilding one count's
/// buffers on every switch would put allocation and page faults inside the timed run.
pub(crate) struct ThreadParts<T>(Vec<(usize, Vec<T>)>);

impl<T> Default for ThreadParts<T> {
    fn default() -> Self {
        ThreadParts(Vec::new())
    }
}

impl<T> ThreadParts<T> {
    /// The `threads` buffers of that count, built by `build(part)` for each part on the
    /// first call with it.
    pub(crate) fn get_or_build(
        &mut self,
        threads: usize,
        build: impl FnMut(usize) -> Result<T, RunError>,
    ) -> Result<&mut Vec<T>, RunError> {
        let at = match self.0.iter().position(|(t, _)| *t == threads) {
            Some(at) => at,
            None => {
                let parts = (0..threads).map(build).collect::<Result<_, _>>()?;
                self.0.push((threads, parts));
                self.0.len() - 1
            }
        };
        Ok(&mut self.0[at].1)
    }

    /// The buffers of `threads`, if a call built them.
    pub(crate) fn get(&self, threads: usize) -> Option<&[T]> {
        self.0
            .iter()
            .find(|(t, _)| *t == threads)
            .map(|(_, parts)| parts.as_slice())
    }
}

/// Runs `job` on every item of `work` (at least one), the first on the calling thread and
/// each other one on a thread of its own, and returns the error of the first item (in
/// `work`'s order) that failed. A single item runs without starting a thread, and nothing
/// is allocated here beyond what starting the threads costs. A panic in a job propagates.
pub(crate) fn on_threads<W: Send>(
    work: impl Iterator<Item = W>,
    job: impl Fn(W) -> Result<(), RunError> + Sync,
) -> Result<(), RunError> {
    let mut work = work.enumerate();
    let Some((_, first)) = work.next() else {
        return Ok(());
    };
    let Some(second) = work.next() else {
        return job(first);
    };
    // (index, error) of the first item that failed.
    let failure = Mutex::new(None::<(usize, RunError)>);
    let record = |index: usize, result: Result<(), RunError>| {
        if let Err(e) = result {
            // A poisoned lock only means another job panicked, which the scope re-raises.
            let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
            if slot.as_ref().is_none_or(|(at, _)| index < *at) {
                *slot = Some((index, e));
            }
        }
    };
    std::thread::scope(|s| {
        let (job, record) = (&job, &record);
        for (index, item) in std::iter::once(second).chain(work) {
            s.spawn(move || record(index, job(item)));
        }
        record(0, job(first));
    });
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// One prepared workload: its input is built, its output buffers are allocated.
///
/// Engines time [`Instance::run`] only; setup and hashing stay outside the timed region.
pub trait Instance: Send {
    /// Feeds the canonical input bytes (what `input_sha256` covers) to `sink`.
    fn input(&self, sink: &mut dyn FnMut(&[u8]));
    /// Runs the kernel once on `path`. This is the timed call.
    fn run(&mut self, path: KernelPath) -> Result<(), RunError>;
    /// Feeds the serialised output of the last successful `run` to `sink`.
    fn output(&self, sink: &mut dyn FnMut(&[u8]));
    /// Metrics of their own computed from the last run (name, value, unit), e.g. the
    /// cosine similarity of ternarised weights. Reported beside the timings, never hidden.
    fn extra_metrics(&self) -> Vec<(String, f64, String)> {
        Vec::new()
    }
    /// From now on, runs on the calling thread only. A kernel that starts threads of its own
    /// in `run` (directory planning) executes a number of instructions that varies a little
    /// from run to run (a join's wait, and a started thread's malloc arena), so the instr
    /// bench executable calls this before the first run. The wall bench executable never
    /// does: it times the kernel as its users run it. The output is the same either way.
    /// Kernels that start no threads ignore it.
    fn stay_on_calling_thread(&mut self) {}
    /// Runs the kernel once on `path` with its work divided into `threads` contiguous ranges
    /// of the workload's [`Parallel`] unit, each on its own thread (one: the calling thread).
    /// The output is byte-identical to `run(path)`'s. Per-thread buffers are allocated by the
    /// first call with a given thread count and kept, so later calls (the timed ones)
    /// allocate nothing (or as little as `run` does) beyond what starting threads costs.
    ///
    /// `threads` outside `1..=count` is `Failed`; the GPU and reference paths, and a
    /// workload without [`Workload::parallel`], are `Unavailable`.
    fn run_threads(&mut self, path: KernelPath, threads: usize) -> Result<(), RunError> {
        let _ = (path, threads);
        Err(RunError::Unavailable(
            "this workload does not run on several threads".into(),
        ))
    }
}

type SetupFn = dyn Fn() -> Result<Box<dyn Instance>, String> + Send + Sync;

/// A registered workload.
#[derive(Clone)]
pub struct Workload {
    pub id: WorkloadId,
    /// What one run processes, and how many of it.
    pub unit: Unit,
    pub units: u64,
    /// The paths this workload can run on (always includes `Scalar`).
    pub paths: Vec<KernelPath>,
    /// A short description of what runs, for reports.
    pub describe: String,
    /// How one run divides among threads ([`Instance::run_threads`]); `None` when it
    /// runs on one thread only.
    pub parallel: Option<Parallel>,
    /// The roofline reference that bounds it; `None` where no single one does (system
    /// calls, pointer chasing, the roofs themselves).
    pub roof: Option<Roof>,
    setup: Arc<SetupFn>,
}

impl fmt::Debug for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workload")
            .field("id", &self.id)
            .field("unit", &self.unit)
            .field("units", &self.units)
            .field("paths", &self.paths)
            .field("parallel", &self.parallel)
            .field("roof", &self.roof)
            .finish_non_exhaustive()
    }
}

impl Workload {
    pub fn new(
        id: WorkloadId,
        unit: Unit,
        units: u64,
        paths: &[KernelPath],
        describe: impl Into<String>,
        setup: impl Fn() -> Result<Box<dyn Instance>, String> + Send + Sync + 'static,
    ) -> Self {
        Workload {
            id,
            unit,
            units,
            paths: paths.to_vec(),
            describe: describe.into(),
            parallel: None,
            roof: None,
            setup: Arc::new(setup),
        }
    }

    /// This workload with its work divided among up to `parallel.count` threads by
    /// [`Instance::run_threads`].
    pub fn with_parallel(mut self, parallel: Parallel) -> Self {
        self.parallel = Some(parallel);
        self
    }

    /// This workload read against `kind`'s roof at its own tier, `per_unit` of the roof's
    /// unit per unit of its work (what `basis` says).
    pub fn with_roof(mut self, kind: RoofKind, per_unit: f64, basis: &'static str) -> Self {
        self.roof = Some(Roof {
            kind,
            per_unit,
            basis,
            at: None,
        });
        self
    }

    /// As [`Workload::with_roof`], against the roof of tier `at`, whose working set is
    /// this workload's ([`Roof::at`]).
    pub fn with_roof_at(
        self,
        kind: RoofKind,
        at: Size,
        per_unit: f64,
        basis: &'static str,
    ) -> Self {
        let mut w = self.with_roof(kind, per_unit, basis);
        if let Some(roof) = w.roof.as_mut() {
            roof.at = Some(at);
        }
        w
    }

    /// Builds the input and allocates the output; the error says what failed.
    pub fn setup(&self) -> Result<Box<dyn Instance>, String> {
        (self.setup)().map_err(|e| format!("{}: setup failed: {e}", self.id))
    }
}

/// Every registered workload of every family and size tier, in a stable order.
pub fn registry() -> Vec<Workload> {
    let mut all = Vec::new();
    all.extend(crate::codec::workloads());
    all.extend(crate::quant::workloads());
    all.extend(crate::sync::workloads());
    all.extend(crate::roof::workloads());
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// Label of the concrete implementation behind `path` for `family` on this machine,
/// e.g. `simd (avx512)`; recorded with every measurement.
pub fn path_label(family: Family, path: KernelPath) -> String {
    match path {
        KernelPath::Scalar => "scalar".into(),
        KernelPath::Simd => match family {
            Family::Codec => crate::codec::simd_label(),
            Family::Quant => crate::quant::simd_label(),
            Family::Sync => crate::sync::simd_label(),
            Family::Roof => crate::roof::simd_label(),
        },
        KernelPath::Gpu => "gpu".into(),
        KernelPath::Reference => match family {
            Family::Codec => "reference (iconv)".into(),
            Family::Quant | Family::Sync | Family::Roof => "reference".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let all = registry();
        let mut seen = std::collections::HashSet::new();
        for w in &all {
            let text = w.id.to_string();
            assert_eq!(text.parse::<WorkloadId>().unwrap(), w.id);
            assert!(seen.insert(text.clone()), "duplicate workload id {text}");
            // A roof registers its fastest path only; the digest pass still runs every
            // workload's scalar oracle first and holds the other paths to it.
            let expected_scalar = w.id.family != Family::Roof;
            assert_eq!(
                w.paths.contains(&KernelPath::Scalar),
                expected_scalar,
                "{text}: a kernel has a scalar oracle path, a roof only its fastest"
            );
            assert!(w.units > 0, "{text} has no unit of work");
            // The system's converter is a peer of the DISPLAY decodes only.
            assert_eq!(
                w.paths.contains(&KernelPath::Reference),
                text.starts_with("codec/display/"),
                "{text}"
            );
        }
    }

    fn digest(instance: &dyn Instance) -> Vec<u8> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        instance.output(&mut |b| hasher.update(b));
        hasher.finalize().to_vec()
    }

    /// `run` on `path`, or `None` when the path cannot run here (SIMD switched off or
    /// absent, no CUDA device, no iconv conversion); the scalar oracle always runs.
    fn run_or_skip(instance: &mut dyn Instance, id: &WorkloadId, path: KernelPath) -> Option<()> {
        match instance.run(path) {
            Ok(()) => Some(()),
            Err(RunError::Unavailable(why)) if path != KernelPath::Scalar => {
                eprintln!("{id}@{path} not compared: {why}");
                None
            }
            Err(e) => panic!("{id} on {path}: {e}"),
        }
    }

    #[test]
    fn every_path_of_every_tiny_workload_gives_the_scalar_output() {
        for w in registry().into_iter().filter(|w| w.id.size == Size::Tiny) {
            let mut instance = w.setup().unwrap();
            run_or_skip(instance.as_mut(), &w.id, KernelPath::Scalar);
            let scalar = digest(instance.as_ref());
            for &path in w.paths.iter().filter(|&&p| p != KernelPath::Scalar) {
                if run_or_skip(instance.as_mut(), &w.id, path).is_some() {
                    assert_eq!(digest(instance.as_ref()), scalar, "{} on {path}", w.id);
                }
            }
        }
    }

    #[test]
    fn ranges_cover_the_work_evenly_in_order() {
        for count in 1..=20 {
            let parallel = Parallel {
                unit: "tokens",
                count,
            };
            for threads in 1..=count {
                parallel.check(threads).unwrap();
                let ranges: Vec<_> = (0..threads).map(|i| parallel.range(threads, i)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[threads - 1].end, count);
                for pair in ranges.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start, "{count}/{threads}");
                    assert!(pair[0].len() == pair[1].len() || pair[0].len() == pair[1].len() + 1);
                }
                assert!(ranges.iter().all(|r| !r.is_empty()));
            }
        }
    }

    #[test]
    fn parallel_workloads_are_the_gemms_and_the_fixed_length_decodes() {
        let all = registry();
        for w in &all {
            let id = w.id.to_string();
            let expected = match w.id.family {
                Family::Quant => w.id.kernel.starts_with("gemm-").then(|| {
                    let tokens = w.id.variant.rsplit_once("-t").unwrap().1;
                    ("tokens", tokens.parse::<usize>().unwrap())
                }),
                Family::Codec => ["display/cp037-10x50", "comp3/s9v2-10", "mixed/customer-80"]
                    .iter()
                    .any(|stem| id.starts_with(&format!("codec/{stem}/")))
                    .then(|| {
                        let instance = w.setup().unwrap();
                        let mut bytes = 0;
                        instance.input(&mut |b| bytes += b.len());
                        let record_length = match w.id.kernel.as_str() {
                            "display" => 500,
                            "comp3" => 60,
                            _ => 80,
                        };
                        assert_eq!(bytes % record_length, 0, "{id}");
                        ("records", bytes / record_length)
                    }),
                Family::Sync | Family::Roof => None,
            };
            assert_eq!(
                w.parallel.map(|p| (p.unit, p.count)),
                expected,
                "{id}: {:?}",
                w.parallel
            );
        }
        for family in [Family::Quant, Family::Codec] {
            assert!(
                all.iter().any(|w| w.id.family == family
                    && w.id.size == Size::Tiny
                    && w.parallel.is_some()),
                "no tiny parallel {family} workload"
            );
        }
    }

    #[test]
    fn run_threads_output_is_byte_identical_to_run_for_every_tiny_parallel_workload() {
        let tiny: Vec<_> = registry()
            .into_iter()
            .filter(|w| w.id.size == Size::Tiny && w.parallel.is_some())
            .collect();
        // Three layouts of the tiny GEMM and three tiny decodes.
        assert_eq!(tiny.len(), 6, "{tiny:?}");
        for w in tiny {
            let Parallel { count, .. } = w.parallel.unwrap();
            let mut instance = w.setup().unwrap();
            for path in [KernelPath::Scalar, KernelPath::Simd] {
                if run_or_skip(instance.as_mut(), &w.id, path).is_none() {
                    continue;
                }
                let single = digest(instance.as_ref());
                let mut counts: Vec<usize> = (1..=count.min(4)).collect();
                // The most threads, then fewer again right after more: each count's kept
                // per-thread buffers are reused, and a count's output is its own.
                counts.extend([count, 3.min(count), 2.min(count), 2.min(count), 1]);
                for threads in counts {
                    instance
                        .run_threads(path, threads)
                        .unwrap_or_else(|e| panic!("{} on {path} × {threads}: {e}", w.id));
                    assert_eq!(
                        digest(instance.as_ref()),
                        single,
                        "{} on {path} with {threads} threads",
                        w.id
                    );
                }
                // A single run after threaded ones still gives its bytes.
                instance.run(path).unwrap();
                assert_eq!(digest(instance.as_ref()), single, "{} on {path}", w.id);
            }
            for path in [KernelPath::Gpu, KernelPath::Reference] {
                assert!(
                    matches!(instance.run_threads(path, 1), Err(RunError::Unavailable(_))),
                    "{} on {path}",
                    w.id
                );
            }
        }
    }

    #[test]
    fn run_threads_rejects_zero_threads_and_more_threads_than_units() {
        for w in registry()
            .into_iter()
            .filter(|w| w.id.size == Size::Tiny && w.parallel.is_some())
        {
            let Parallel { unit, count } = w.parallel.unwrap();
            let mut instance = w.setup().unwrap();
            for threads in [0, count + 1] {
                match instance.run_threads(KernelPath::Scalar, threads) {
                    Err(RunError::Failed(why)) => assert!(
                        why.contains(&format!(
                            "{count} {unit} cannot be shared among {threads} threads"
                        )),
                        "{}: {why}",
                        w.id
                    ),
                    other => panic!("{} with {threads} threads: {other:?}", w.id),
                }
            }
        }
        let message = Parallel {
            unit: "tokens",
            count: 8,
        }
        .check(9)
        .unwrap_err();
        assert_eq!(
            message,
            RunError::Failed(
                "8 tokens cannot be shared among 9 threads (1 to 8 can share them)".into()
            )
        );
    }

    #[test]
    fn workloads_without_parallel_do_not_run_on_threads() {
        for id in [
            "quant/gemv-i2s/128x256/tiny",
            "codec/jsonl/cp037-10x50/tiny",
        ] {
            let w = registry()
                .into_iter()
                .find(|w| w.id.to_string() == id)
                .unwrap();
            assert_eq!(w.parallel, None);
            assert!(matches!(
                w.setup().unwrap().run_threads(KernelPath::Scalar, 1),
                Err(RunError::Unavailable(_))
            ));
        }
    }

    #[test]
    fn bad_ids_are_rejected_with_the_valid_names() {
        let err = "codec/x/y/huge".parse::<WorkloadId>().unwrap_err();
        assert!(err.contains("tiny, small, medium, large"), "{err}");
        assert!("codec/x".parse::<WorkloadId>().is_err());
        assert!(
            "gpu/x/y/tiny"
                .parse::<WorkloadId>()
                .unwrap_err()
                .contains("codec, quant, sync")
        );
    }
}
