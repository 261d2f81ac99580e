//! The environment snapshot every run record carries: everything about the machine and
//! build that can change a number, taken before and after the run.
//!
//! Each probe yields a [`Captured`] value: the value, or the reason it is absent (a VM
//! without cpufreq, a tool not installed, a malformed `/proc` file); the reason is part of
//! the record. Capturing lives in `sys::env`, pinning in `sys::env::pin`, and what a
//! snapshot means (checks, machine class, differences) in `analysis::env`.

pub mod captured;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use captured::{Absent, Captured};

/// Schema of the environment snapshot embedded in every run record.
pub const ENV_SCHEMA: &str = "benchseal.env/1";

/// Everything about the machine and build that can change a number.
///
/// Reading is lenient within the schema: a field missing from a stored snapshot reads as
/// absent ("not recorded") rather than failing the whole run record.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EnvSnapshot {
    pub schema: String,
    /// Short stable id of CPU model, kernel path and toolchain; baselines are keyed by it.
    pub machine_class: String,
    /// What the machine class was derived from, one `name: value` line each.
    pub machine_class_basis: Vec<String>,
    /// RFC 3339 UTC.
    pub captured_at: String,
    pub build: Build,
    pub toolchain: Toolchain,
    pub source: Source,
    pub cpu: Cpu,
    pub memory: Memory,
    pub os: Os,
    pub tuning: TuningSettings,
    pub load: Captured<LoadAverage>,
    pub tools: Tools,
    pub isolation: Isolation,
    pub gpu: Gpu,
}

/// How this benchseal binary was built and which kernel paths it picked.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Build {
    /// `arch-os` of this binary.
    pub target: String,
    /// `debug` or `release` (whether debug assertions are compiled in).
    pub profile: String,
    /// Cargo features of the benchseal crate that change what runs (e.g. `cuda`).
    pub features: Vec<String>,
    /// `RUSTFLAGS` when this binary was compiled.
    pub rustflags_compiled: Option<String>,
    /// `RUSTFLAGS` now: what the bench targets that `benchseal run` builds will get.
    pub rustflags_env: Option<String>,
    /// Target features compiled into this binary (the ones `wide` picks instructions by).
    pub target_features: Vec<String>,
    /// The SIMD level detected at run time, and any `BENCHSEAL_SIMD_LEVEL` override.
    pub simd_level: String,
    pub simd_level_override: Option<String>,
    /// The fast path each kernel family chose, by family name.
    pub kernel_paths: BTreeMap<String, String>,
}

/// The Rust toolchains: the one that built this benchseal binary, and the one on PATH
/// (which builds the bench targets when no prebuilt ones are shipped).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Toolchain {
    /// `rustc -vV` of the compiler that built this binary, embedded at build time. The
    /// machine class and comparisons use it: a prebuilt binary (container, Nix) has no
    /// rustc on PATH, yet its numbers come from a known compiler.
    pub built_with: Captured<Rustc>,
    /// `rustc -vV` on PATH.
    pub rustc: Captured<Rustc>,
    /// `cargo -V`.
    pub cargo: Captured<String>,
}

/// `rustc -vV`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Rustc {
    pub release: String,
    pub commit_hash: Captured<String>,
    pub host: Captured<String>,
    pub llvm_version: Captured<String>,
}

/// The source tree that was measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Source {
    /// The nearest directory at or above the working directory holding `Cargo.lock`.
    pub workspace_root: Captured<String>,
    pub cargo_lock_sha256: Captured<String>,
    pub git_commit: Captured<String>,
    /// Whether `git status --porcelain` lists anything (untracked files included).
    pub git_dirty: Captured<bool>,
}

/// The processor.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Cpu {
    pub arch: String,
    pub vendor: Captured<String>,
    pub model_name: Captured<String>,
    pub family: Captured<String>,
    pub model: Captured<String>,
    pub stepping: Captured<String>,
    pub microcode: Captured<String>,
    /// Whether the CPU reports running under a hypervisor.
    pub virtualized: Captured<bool>,
    pub flags: Captured<Vec<String>>,
    /// Online logical CPUs (hardware threads).
    pub logical_cpus: Captured<usize>,
    pub physical_cores: Captured<usize>,
    pub sockets: Captured<usize>,
    pub online: Captured<String>,
    /// Caches seen by CPU 0.
    pub caches: Captured<Vec<Captured<Cache>>>,
}

/// One cache level as seen by CPU 0.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Cache {
    pub level: String,
    /// `Data`, `Instruction` or `Unified`.
    pub kind: String,
    pub size: String,
    pub shared_cpu_list: Captured<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Memory {
    pub total_kib: Captured<u64>,
    /// `/sys/kernel/mm/transparent_hugepage/enabled` (the bracketed choice is active).
    pub transparent_hugepages: Captured<String>,
}

/// Kernel and distribution.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Os {
    pub kernel_release: Captured<String>,
    /// `PRETTY_NAME` of `/etc/os-release`.
    pub name: Captured<String>,
    pub id: Captured<String>,
    pub version_id: Captured<String>,
    /// Boot parameters (isolcpus, nohz_full, mitigations, …).
    pub kernel_cmdline: Captured<String>,
    /// `/sys/devices/system/cpu/vulnerabilities/*`: mitigations change speed.
    pub vulnerabilities: Captured<BTreeMap<String, String>>,
}

/// The settings `benchseal env --check` judges and `--pin` changes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct TuningSettings {
    /// cpufreq policies by name (`policy0`, …).
    pub cpufreq: Captured<BTreeMap<String, CpufreqPolicy>>,
    pub boost: Captured<Boost>,
    /// `/sys/devices/system/cpu/intel_pstate/status`, where intel_pstate drives the CPU.
    pub intel_pstate_status: Captured<String>,
    pub smt: Captured<Smt>,
    /// `/proc/sys/kernel/randomize_va_space`: 0 off, 1 partial, 2 full.
    pub aslr: Captured<u8>,
    pub perf_event_max_sample_rate: Captured<u64>,
    /// CPU list; empty when none are isolated.
    pub isolated_cpus: Captured<String>,
    pub nohz_full: Captured<String>,
    pub irq_affinity: Captured<IrqAffinity>,
    /// The CPUs this process may run on (CPU list).
    pub process_affinity: Captured<String>,
}

/// One cpufreq policy.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CpufreqPolicy {
    pub cpus: Captured<String>,
    pub driver: Captured<String>,
    pub governor: Captured<String>,
    pub energy_performance_preference: Captured<String>,
    pub min_khz: Captured<u64>,
    pub max_khz: Captured<u64>,
    pub hardware_min_khz: Captured<u64>,
    pub hardware_max_khz: Captured<u64>,
}

/// Turbo / boost state and the file that controls it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Boost {
    /// `/sys/devices/system/cpu/intel_pstate/no_turbo` or `/sys/devices/system/cpu/cpufreq/boost`.
    pub control: String,
    pub enabled: bool,
}

/// Simultaneous multithreading.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Smt {
    /// `on`, `off`, `forceoff`, `notsupported` or `notimplemented`.
    pub control: String,
    pub active: Captured<bool>,
}

/// Where interrupts may be delivered.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IrqAffinity {
    /// `/proc/irq/default_smp_affinity` (a hex mask).
    pub default_mask: Captured<String>,
    /// Number of IRQs per CPU list they may run on.
    pub irqs_by_cpus: BTreeMap<String, usize>,
    /// IRQs whose affinity could not be read.
    pub unreadable: usize,
}

/// `/proc/loadavg`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

/// Versions of the tools that produce numbers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Tools {
    pub valgrind: Captured<String>,
    /// `gungraun-runner --version` (or the runner `$GUNGRAUN_RUNNER` names).
    pub gungraun_runner: Captured<String>,
    /// The gungraun library in `Cargo.lock`; it must equal the runner's version.
    pub gungraun_library: Captured<String>,
    /// criterion in `Cargo.lock` (its JSON output is an undocumented internal).
    pub criterion: Captured<String>,
}

/// Containers and Nix: what the process is isolated in, and the image or store path.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Isolation {
    /// `podman`, `docker`, `container (cgroup)` or `none detected`.
    pub container: String,
    /// Fields of `/run/.containerenv` (podman writes engine, name, id, image, imageid).
    pub containerenv: Captured<BTreeMap<String, String>>,
    pub dockerenv: bool,
    /// `/proc/self/cgroup`.
    pub cgroup: Captured<Vec<String>>,
    /// The CPU bandwidth limit of this cgroup (a quota throttles wall-clock runs):
    /// cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
    pub cpu_quota: Captured<String>,
    /// The Nix store path this executable runs from, if any.
    pub nix_store_path: Option<String>,
    /// `$IN_NIX_SHELL` (`pure` or `impure`).
    pub in_nix_shell: Option<String>,
}

/// GPUs: the NVIDIA driver's view (nvidia-smi) and the CUDA view (feature `cuda`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Gpu {
    pub nvidia_smi: Captured<NvidiaSmi>,
    pub cuda: Captured<BTreeMap<String, String>>,
}

/// What `nvidia-smi` reports.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NvidiaSmi {
    pub cuda_version: Captured<String>,
    /// Devices by `gpu<index>`.
    pub devices: BTreeMap<String, GpuDevice>,
}

/// One NVIDIA device; values as nvidia-smi prints them (`[N/A]` where unsupported).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GpuDevice {
    pub index: String,
    pub name: String,
    pub uuid: String,
    pub driver_version: String,
    pub persistence_mode: String,
    pub ecc_mode: String,
    pub pstate: String,
    pub clocks_sm_mhz: String,
    pub clocks_mem_mhz: String,
    pub max_clocks_sm_mhz: String,
    pub max_clocks_mem_mhz: String,
    pub application_clocks_sm_mhz: String,
    pub application_clocks_mem_mhz: String,
    pub power_limit_w: String,
    pub temperature_c: String,
}

impl EnvSnapshot {
    pub fn git_commit(&self) -> Option<&str> {
        self.source.git_commit.value().map(String::as_str)
    }
    pub fn git_dirty(&self) -> Option<bool> {
        self.source.git_dirty.value().copied()
    }
    pub fn cargo_lock_sha256(&self) -> Option<&str> {
        self.source.cargo_lock_sha256.value().map(String::as_str)
    }
}
