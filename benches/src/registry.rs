//! Workload identities, size tiers, units of work and the [`Instance`] trait.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A kernel family; one per `kernels` module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Codec,
    Quant,
    Sync,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::Codec, Family::Quant, Family::Sync];

    pub fn name(self) -> &'static str {
        match self {
            Family::Codec => "codec",
            Family::Quant => "quant",
            Family::Sync => "sync",
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
}

impl KernelPath {
    pub const ALL: [KernelPath; 3] = [KernelPath::Scalar, KernelPath::Simd, KernelPath::Gpu];

    pub fn name(self) -> &'static str {
        match self {
            KernelPath::Scalar => "scalar",
            KernelPath::Simd => "simd",
            KernelPath::Gpu => "gpu",
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
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Weights => "weights",
            Unit::Files => "files",
            Unit::Operations => "operations",
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
impl_name_traits!(Family, Size, KernelPath);

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
    setup: Arc<SetupFn>,
}

impl fmt::Debug for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workload")
            .field("id", &self.id)
            .field("unit", &self.unit)
            .field("units", &self.units)
            .field("paths", &self.paths)
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
            setup: Arc::new(setup),
        }
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
        },
        KernelPath::Gpu => "gpu".into(),
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
            assert!(
                w.paths.contains(&KernelPath::Scalar),
                "{text} has no scalar oracle"
            );
            assert!(w.units > 0, "{text} has no unit of work");
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
