//! Reading the environment into an [`EnvSnapshot`]. Every probe is independent and turns
//! its failure into an absence reason; nothing here panics or returns an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use benchseal_benches::{Family, KernelPath};
use benchseal_kernels::simd::SimdLevel;

use super::sources::{EnvSources, SystemRoot};
use crate::analysis::env::MachineClass;
use crate::analysis::env::cpulist;
use crate::model::env::*;
use crate::sys::env::sources;

const CPU_DIR: &str = "/sys/devices/system/cpu";
const CPUFREQ_DIR: &str = "/sys/devices/system/cpu/cpufreq";
/// Boost controls, in the order they are looked for, with the value meaning "boost on".
pub(crate) const INTEL_NO_TURBO: &str = "/sys/devices/system/cpu/intel_pstate/no_turbo";
pub(crate) const CPUFREQ_BOOST: &str = "/sys/devices/system/cpu/cpufreq/boost";
pub(crate) const ASLR: &str = "/proc/sys/kernel/randomize_va_space";
pub(crate) const PERF_SAMPLE_RATE: &str = "/proc/sys/kernel/perf_event_max_sample_rate";

/// Takes a complete snapshot from `src`.
pub fn capture(src: &EnvSources<'_>) -> EnvSnapshot {
    let root = &src.root;
    let workspace = find_workspace_root(&src.workdir);
    let lock_text = workspace.clone().and_then(|dir| {
        let path = dir.join("Cargo.lock");
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))
    });
    let mut snap = EnvSnapshot {
        schema: ENV_SCHEMA.into(),
        machine_class: String::new(),
        machine_class_basis: Vec::new(),
        captured_at: crate::sys::clock::now_rfc3339(),
        build: build(src),
        toolchain: toolchain(src),
        source: source(src, &workspace, &lock_text),
        cpu: cpu(root),
        memory: memory(root),
        os: os(root),
        tuning: tuning(src),
        load: load(root),
        tools: tools(src, &lock_text),
        isolation: isolation(src),
        gpu: gpu(src),
    };
    let class = MachineClass::of(&snap);
    snap.machine_class = class.id;
    snap.machine_class_basis = class.basis;
    snap
}

// ---- build -------------------------------------------------------------------------

/// `(name, compiled in)` for the target features that matter to the kernels.
macro_rules! compiled_target_features {
    ($($feature:tt),* $(,)?) => {
        [$(($feature, cfg!(target_feature = $feature))),*]
    };
}

fn target_features() -> Vec<String> {
    #[cfg(target_arch = "x86_64")]
    let known = compiled_target_features!(
        "sse2",
        "sse3",
        "ssse3",
        "sse4.1",
        "sse4.2",
        "popcnt",
        "avx",
        "avx2",
        "fma",
        "bmi1",
        "bmi2",
        "lzcnt",
        "f16c",
        "aes",
        "pclmulqdq",
        "sha",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "avx512dq",
        "avx512cd",
        "avx512vbmi",
        "avx512vbmi2",
        "avx512vnni",
        "avx512bitalg",
        "avx512vpopcntdq",
        "gfni",
        "vaes",
        "vpclmulqdq",
    );
    #[cfg(target_arch = "aarch64")]
    let known = compiled_target_features!("neon", "aes", "sha2", "dotprod", "sve", "sve2");
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let known: [(&str, bool); 0] = [];
    known
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_string())
        .collect()
}

fn build(src: &EnvSources<'_>) -> Build {
    let mut features = Vec::new();
    if cfg!(feature = "cuda") {
        features.push("cuda".to_string());
    }
    Build {
        target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
        features,
        rustflags_compiled: option_env!("RUSTFLAGS")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        rustflags_env: src
            .var("RUSTFLAGS")
            .or(src.var("CARGO_ENCODED_RUSTFLAGS"))
            .map(str::to_string),
        target_features: target_features(),
        simd_level: SimdLevel::detect().name().into(),
        simd_level_override: src.var("BENCHSEAL_SIMD_LEVEL").map(str::to_string),
        // The roofs run at the quant family's level (the same detection); naming them would
        // change every machine class without telling anything new.
        kernel_paths: Family::ALL
            .iter()
            .filter(|&&family| family != Family::Roof)
            .map(|&family| {
                let label = benchseal_benches::registry::path_label(family, KernelPath::Simd);
                (family.name().to_string(), label)
            })
            .collect(),
    }
}

fn toolchain(src: &EnvSources<'_>) -> Toolchain {
    let rustc = Captured::from(src.run("rustc", &["-vV"])).and_then(|out| parse_rustc(&out));
    let cargo = Captured::from(src.run("cargo", &["-V"])).map(|s| s.trim().to_string());
    Toolchain {
        built_with: built_with(),
        rustc,
        cargo,
    }
}

/// The compiler that built this binary, as `harness/build.rs` recorded it.
pub(crate) fn built_with() -> Captured<Rustc> {
    const BUILT_WITH: &str = include_str!(concat!(env!("OUT_DIR"), "/rustc-vv.txt"));
    Captured::from(parse_rustc(BUILT_WITH).map_err(|e| format!("at build time: {e}")))
}

/// Parses `rustc -vV` (`release: 1.95.0`, `host: …`, `commit-hash: …`, `LLVM version: …`).
pub(crate) fn parse_rustc(out: &str) -> Result<Rustc, String> {
    let field = |key: &str| -> Captured<String> {
        out.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            .map_or_else(
                || Captured::absent(format!("`rustc -vV` prints no `{key}` line")),
                Captured::Present,
            )
    };
    let release = field("release:")
        .value()
        .cloned()
        .ok_or_else(|| "`rustc -vV` prints no `release:` line".to_string())?;
    Ok(Rustc {
        release,
        commit_hash: field("commit-hash:"),
        host: field("host:"),
        llvm_version: field("LLVM version:"),
    })
}

// ---- source ------------------------------------------------------------------------

/// The nearest directory at or above `start` that holds a `Cargo.lock`.
pub fn find_workspace_root(start: &Path) -> Result<PathBuf, String> {
    let start = if start.is_absolute() {
        start.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(start))
            .unwrap_or_else(|_| start.to_path_buf())
    };
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("no Cargo.lock at or above {}", start.display()))
}

fn source(
    src: &EnvSources<'_>,
    workspace: &Result<PathBuf, String>,
    lock_text: &Result<String, String>,
) -> Source {
    let git_dir = workspace.as_ref().ok().map(PathBuf::as_path);
    let git = |args: &[&str]| {
        src.commands
            .output("git", args, git_dir.or(Some(&src.workdir)))
    };
    Source {
        workspace_root: workspace.clone().map(|d| d.display().to_string()).into(),
        cargo_lock_sha256: lock_text
            .as_ref()
            .map(|t| crate::model::digest::sha256_hex(t.as_bytes()))
            .map_err(Clone::clone)
            .into(),
        git_commit: Captured::from(git(&["rev-parse", "HEAD"])).map(|s| s.trim().to_string()),
        git_dirty: Captured::from(git(&["status", "--porcelain"]))
            .map(|s| s.lines().any(|l| !l.trim().is_empty())),
    }
}

/// The versions of package `name` in a `Cargo.lock`, joined by `, ` when there are several.
pub(crate) fn locked_version(lock_text: &Result<String, String>, name: &str) -> Captured<String> {
    let text = match lock_text {
        Ok(t) => t,
        Err(reason) => return Captured::absent(reason.clone()),
    };
    let lock: toml::Value = match toml::from_str(text) {
        Ok(v) => v,
        Err(e) => return Captured::absent(format!("Cargo.lock is malformed: {}", e.message())),
    };
    let versions: Vec<&str> = lock
        .get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
        .filter_map(|p| p.get("version").and_then(|v| v.as_str()))
        .collect();
    if versions.is_empty() {
        Captured::absent(format!("Cargo.lock has no package `{name}`"))
    } else {
        Captured::Present(versions.join(", "))
    }
}

// ---- cpu, memory, os ---------------------------------------------------------------

/// `/proc/cpuinfo` as blocks (one per logical CPU) of `key: value` pairs.
fn cpuinfo_blocks(text: &str) -> Vec<BTreeMap<String, String>> {
    text.split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter_map(|line| line.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect::<BTreeMap<_, _>>()
        })
        .filter(|b| !b.is_empty())
        .collect()
}

fn cpu(root: &SystemRoot) -> Cpu {
    let cpuinfo = root.read_raw("/proc/cpuinfo").map(|t| cpuinfo_blocks(&t));
    let first = cpuinfo.as_ref().and_then(|blocks| {
        blocks
            .first()
            .cloned()
            .ok_or_else(|| "/proc/cpuinfo is empty".to_string())
    });
    // x86 names first, then the names aarch64 kernels use.
    let field = |keys: &[&str]| -> Captured<String> {
        first.as_ref().and_then(|b| {
            keys.iter()
                .find_map(|k| b.get(*k).cloned())
                .ok_or_else(|| format!("/proc/cpuinfo has no `{}` field", keys[0]))
        })
    };
    let flags = field(&["flags", "Features"])
        .map(|f| f.split_whitespace().map(str::to_string).collect::<Vec<_>>());
    let virtualized = flags.as_ref().map(|f| f.iter().any(|x| x == "hypervisor"));
    let online = root.read("/sys/devices/system/cpu/online");
    let online_set = online.as_ref().and_then(|l| cpulist::parse(l));
    let logical_cpus = match (&online_set, &cpuinfo) {
        (Captured::Present(set), _) if !set.is_empty() => Captured::Present(set.len()),
        (_, Captured::Present(blocks)) => Captured::Present(
            blocks
                .iter()
                .filter(|b| b.contains_key("processor"))
                .count(),
        ),
        (_, Captured::Absent(a)) => Captured::Absent(a.clone()),
    };
    let online_cpus: Vec<usize> = online_set
        .value()
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default();
    Cpu {
        arch: std::env::consts::ARCH.into(),
        vendor: field(&["vendor_id", "CPU implementer"]),
        model_name: field(&["model name", "Model name", "CPU part"]),
        family: field(&["cpu family", "CPU architecture"]),
        model: field(&["model", "CPU variant"]),
        stepping: field(&["stepping", "CPU revision"]),
        microcode: field(&["microcode"]),
        virtualized,
        flags,
        logical_cpus,
        physical_cores: count_topology(root, &online_cpus, "core_cpus_list", &cpuinfo),
        sockets: count_topology(root, &online_cpus, "physical_package_id", &cpuinfo),
        online,
        caches: caches(root),
    }
}

/// Distinct values of a topology file over the online CPUs (distinct core sibling lists
/// are physical cores; distinct package ids are sockets), falling back to `/proc/cpuinfo`.
fn count_topology(
    root: &SystemRoot,
    online: &[usize],
    file: &str,
    cpuinfo: &Captured<Vec<BTreeMap<String, String>>>,
) -> Captured<usize> {
    let from_sysfs: Option<BTreeSet<String>> = online
        .iter()
        .map(|cpu| {
            root.read(&format!("{CPU_DIR}/cpu{cpu}/topology/{file}"))
                .value()
                .cloned()
        })
        .collect();
    if let Some(values) = from_sysfs.filter(|v| !v.is_empty()) {
        return Captured::Present(values.len());
    }
    cpuinfo.as_ref().and_then(|blocks| {
        let keys: BTreeSet<(Option<&String>, Option<&String>)> = blocks
            .iter()
            .filter(|b| b.contains_key("processor"))
            .map(|b| {
                let package = b.get("physical id");
                let core = if file == "physical_package_id" {
                    None
                } else {
                    b.get("core id")
                };
                (package, core)
            })
            .collect();
        if keys.iter().all(|(p, _)| p.is_none()) {
            Err(format!(
                "neither sysfs topology `{file}` nor cpuinfo ids are readable"
            ))
        } else {
            Ok(keys.len())
        }
    })
}

fn caches(root: &SystemRoot) -> Captured<Vec<Captured<Cache>>> {
    let dir = format!("{CPU_DIR}/cpu0/cache");
    let indices: Vec<String> = root
        .list_dir(&dir)
        .into_iter()
        .filter(|n| n.starts_with("index"))
        .collect();
    if indices.is_empty() {
        return Captured::absent(format!("{dir} lists no caches"));
    }
    let entries = indices
        .iter()
        .map(|index| {
            let read = |f: &str| root.read(&format!("{dir}/{index}/{f}"));
            let (level, kind, size) = (read("level"), read("type"), read("size"));
            match (level, kind, size) {
                (Captured::Present(level), Captured::Present(kind), Captured::Present(size)) => {
                    Captured::Present(Cache {
                        level,
                        kind,
                        size,
                        shared_cpu_list: read("shared_cpu_list"),
                    })
                }
                (l, k, s) => Captured::absent(
                    [l.reason(), k.reason(), s.reason()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            }
        })
        .collect();
    Captured::Present(entries)
}

fn memory(root: &SystemRoot) -> Memory {
    let total_kib = root.read_raw("/proc/meminfo").and_then(|text| {
        let line = text
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .ok_or("/proc/meminfo has no MemTotal line")?;
        line.trim_start_matches("MemTotal:")
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("/proc/meminfo is malformed: `{}`", line.trim()))
    });
    Memory {
        total_kib,
        transparent_hugepages: root.read("/sys/kernel/mm/transparent_hugepage/enabled"),
    }
}

fn os(root: &SystemRoot) -> Os {
    let release = root.read_raw("/etc/os-release").map(|t| key_values(&t));
    let field = |key: &str| {
        release.as_ref().and_then(|m| {
            m.get(key)
                .cloned()
                .ok_or_else(|| format!("/etc/os-release has no {key}"))
        })
    };
    let vuln_dir = format!("{CPU_DIR}/vulnerabilities");
    let names = root.list_dir(&vuln_dir);
    let vulnerabilities = if names.is_empty() {
        Captured::absent(format!("{vuln_dir} is missing or empty"))
    } else {
        Captured::Present(
            names
                .into_iter()
                .map(|n| {
                    let state = root.read(&format!("{vuln_dir}/{n}")).to_string();
                    (n, state)
                })
                .collect(),
        )
    };
    Os {
        kernel_release: root.read("/proc/sys/kernel/osrelease"),
        name: field("PRETTY_NAME"),
        id: field("ID"),
        version_id: field("VERSION_ID"),
        kernel_cmdline: root.read("/proc/cmdline"),
        vulnerabilities,
    }
}

/// `KEY=value` lines with optional double quotes (os-release, .containerenv).
fn key_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

// ---- tuning ------------------------------------------------------------------------

fn tuning(src: &EnvSources<'_>) -> TuningSettings {
    let root = &src.root;
    let cpufreq = cpufreq_policies(root);
    TuningSettings {
        boost: boost(root, &cpufreq),
        cpufreq,
        intel_pstate_status: root.read("/sys/devices/system/cpu/intel_pstate/status"),
        smt: root
            .read(&format!("{CPU_DIR}/smt/control"))
            .map(|control| Smt {
                control,
                active: root
                    .read(&format!("{CPU_DIR}/smt/active"))
                    .and_then(|a| parse_flag(&a, &format!("{CPU_DIR}/smt/active"))),
            }),
        aslr: root.read_parsed(ASLR),
        perf_event_max_sample_rate: root.read_parsed(PERF_SAMPLE_RATE),
        isolated_cpus: root.read(&format!("{CPU_DIR}/isolated")),
        nohz_full: root.read(&format!("{CPU_DIR}/nohz_full")),
        irq_affinity: irq_affinity(root),
        process_affinity: src
            .affinity
            .as_ref()
            .map(|cpus| cpulist::format(cpus.iter())),
    }
}

/// The reason recorded when a machine has no cpufreq policies at all.
pub const NO_CPUFREQ: &str = "no cpufreq on this machine";

fn cpufreq_policies(root: &SystemRoot) -> Captured<BTreeMap<String, CpufreqPolicy>> {
    let names: Vec<String> = root
        .list_dir(CPUFREQ_DIR)
        .into_iter()
        .filter(|n| n.starts_with("policy"))
        .collect();
    if names.is_empty() {
        return Captured::absent(NO_CPUFREQ);
    }
    let policies = names
        .into_iter()
        .map(|name| {
            let file = |f: &str| format!("{CPUFREQ_DIR}/{name}/{f}");
            let policy = CpufreqPolicy {
                cpus: root.read(&file("affected_cpus")),
                driver: root.read(&file("scaling_driver")),
                governor: root.read(&file("scaling_governor")),
                energy_performance_preference: root.read(&file("energy_performance_preference")),
                min_khz: root.read_parsed(&file("scaling_min_freq")),
                max_khz: root.read_parsed(&file("scaling_max_freq")),
                hardware_min_khz: root.read_parsed(&file("cpuinfo_min_freq")),
                hardware_max_khz: root.read_parsed(&file("cpuinfo_max_freq")),
            };
            (name, policy)
        })
        .collect();
    Captured::Present(policies)
}

fn parse_flag(text: &str, path: &str) -> Result<bool, String> {
    match text {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(format!(
            "{path} is malformed: `{}`",
            sources::abbreviate(other)
        )),
    }
}

fn boost(
    root: &SystemRoot,
    cpufreq: &Captured<BTreeMap<String, CpufreqPolicy>>,
) -> Captured<Boost> {
    // intel_pstate/no_turbo is 1 when turbo is *off*; cpufreq/boost is 1 when boost is on.
    for (control, on_value) in [(INTEL_NO_TURBO, "0"), (CPUFREQ_BOOST, "1")] {
        if root.exists(control) {
            return root.read(control).and_then(|value| {
                parse_flag(&value, control).map(|_| Boost {
                    control: control.into(),
                    enabled: value == on_value,
                })
            });
        }
    }
    match cpufreq {
        Captured::Absent(a) => Captured::Absent(a.clone()),
        Captured::Present(_) => Captured::absent(format!(
            "no boost control (neither {INTEL_NO_TURBO} nor {CPUFREQ_BOOST})"
        )),
    }
}

fn irq_affinity(root: &SystemRoot) -> Captured<IrqAffinity> {
    let irqs: Vec<String> = root
        .list_dir("/proc/irq")
        .into_iter()
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .collect();
    if irqs.is_empty() {
        return Captured::absent("/proc/irq lists no interrupts");
    }
    let mut irqs_by_cpus = BTreeMap::new();
    let mut unreadable = 0;
    for irq in &irqs {
        match root.read(&format!("/proc/irq/{irq}/smp_affinity_list")) {
            Captured::Present(list) => *irqs_by_cpus.entry(list).or_insert(0) += 1,
            Captured::Absent(_) => unreadable += 1,
        }
    }
    Captured::Present(IrqAffinity {
        default_mask: root.read("/proc/irq/default_smp_affinity"),
        irqs_by_cpus,
        unreadable,
    })
}

/// The IRQ numbers under `/proc/irq` (used by pinning to move interrupts).
pub(crate) fn irq_numbers(root: &SystemRoot) -> Vec<String> {
    root.list_dir("/proc/irq")
        .into_iter()
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

fn load(root: &SystemRoot) -> Captured<LoadAverage> {
    root.read("/proc/loadavg").and_then(|text| {
        let numbers: Vec<f64> = text
            .split_whitespace()
            .take(3)
            .filter_map(|n| n.parse().ok())
            .collect();
        match numbers[..] {
            [one, five, fifteen] => Ok(LoadAverage { one, five, fifteen }),
            _ => Err(format!(
                "/proc/loadavg is malformed: `{}`",
                sources::abbreviate(&text)
            )),
        }
    })
}

// ---- tools, isolation, gpu ---------------------------------------------------------

fn tools(src: &EnvSources<'_>, lock_text: &Result<String, String>) -> Tools {
    let runner = src.var("GUNGRAUN_RUNNER").unwrap_or("gungraun-runner");
    Tools {
        valgrind: Captured::from(src.run("valgrind", &["--version"]))
            .map(|v| v.trim().trim_start_matches("valgrind-").to_string()),
        gungraun_runner: Captured::from(src.run(runner, &["--version"])).and_then(|v| {
            v.split_whitespace()
                .last()
                .map(str::to_string)
                .ok_or_else(|| format!("`{runner} --version` printed nothing"))
        }),
        gungraun_library: locked_version(lock_text, "gungraun"),
        criterion: locked_version(lock_text, "criterion"),
    }
}

fn isolation(src: &EnvSources<'_>) -> Isolation {
    let root = &src.root;
    let containerenv = if root.exists("/run/.containerenv") {
        root.read_raw("/run/.containerenv").map(|t| key_values(&t))
    } else {
        Captured::absent("/run/.containerenv is missing")
    };
    let dockerenv = root.exists("/.dockerenv");
    let cgroup = root
        .read("/proc/self/cgroup")
        .map(|t| t.lines().map(str::to_string).collect::<Vec<_>>());
    let cgroup_names_engine = cgroup.value().is_some_and(|lines| {
        lines.iter().any(|l| {
            ["docker", "libpod", "kubepods", "containerd", "lxc"]
                .iter()
                .any(|m| l.contains(m))
        })
    });
    let container = if containerenv.value().is_some() {
        "podman"
    } else if dockerenv {
        "docker"
    } else if cgroup_names_engine {
        "container (cgroup)"
    } else {
        "none detected"
    };
    let nix_store_path = src.exe.value().and_then(|exe| nix_store_path(exe));
    Isolation {
        container: container.into(),
        containerenv,
        dockerenv,
        cgroup,
        cpu_quota: cpu_quota(root),
        nix_store_path,
        in_nix_shell: src.var("IN_NIX_SHELL").map(str::to_string),
    }
}

fn cpu_quota(root: &SystemRoot) -> Captured<String> {
    const V2: &str = "/sys/fs/cgroup/cpu.max";
    const V1_QUOTA: &str = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us";
    const V1_PERIOD: &str = "/sys/fs/cgroup/cpu/cpu.cfs_period_us";
    if root.exists(V2) {
        return root.read(V2).map(|v| format!("cpu.max {v}"));
    }
    match (root.read(V1_QUOTA), root.read(V1_PERIOD)) {
        (Captured::Present(quota), Captured::Present(period)) => {
            Captured::Present(format!("cfs_quota_us {quota}, cfs_period_us {period}"))
        }
        _ => Captured::absent(format!("neither {V2} nor {V1_QUOTA} is readable")),
    }
}

/// `/nix/store/<hash>-<name>` when `exe` lies inside the Nix store.
fn nix_store_path(exe: &Path) -> Option<String> {
    let rest = exe.strip_prefix("/nix/store").ok()?;
    let entry = rest.components().next()?;
    Some(Path::new("/nix/store").join(entry).display().to_string())
}

/// The fields asked of `nvidia-smi --query-gpu`, in [`GpuDevice`] order.
const GPU_QUERY: &str = "index,name,uuid,driver_version,persistence_mode,ecc.mode.current,pstate,\
clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,clocks.applications.graphics,\
clocks.applications.memory,power.limit,temperature.gpu";

fn gpu(src: &EnvSources<'_>) -> Gpu {
    let query = format!("--query-gpu={GPU_QUERY}");
    let nvidia_smi =
        Captured::from(src.run("nvidia-smi", &[&query, "--format=csv,noheader,nounits"]))
            .and_then(|csv| parse_gpu_csv(&csv))
            .map(|devices| NvidiaSmi {
                cuda_version: Captured::from(src.run("nvidia-smi", &[])).and_then(|out| {
                    out.split("CUDA Version:")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                        .map(str::to_string)
                        .ok_or_else(|| "`nvidia-smi` prints no CUDA version".to_string())
                }),
                devices,
            });
    Gpu {
        nvidia_smi,
        cuda: cuda_view(),
    }
}

pub(crate) fn parse_gpu_csv(csv: &str) -> Result<BTreeMap<String, GpuDevice>, String> {
    let mut devices = BTreeMap::new();
    for line in csv.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<String> = line.split(',').map(|f| f.trim().to_string()).collect();
        if fields.len() != GPU_QUERY.split(',').count() {
            return Err(format!(
                "nvidia-smi printed {} fields where {} were asked: `{}`",
                fields.len(),
                GPU_QUERY.split(',').count(),
                sources::abbreviate(line)
            ));
        }
        // Fields arrive in GPU_QUERY order, which is the declaration order below.
        let mut fields = fields.into_iter();
        let mut next = || fields.next().unwrap_or_default();
        let device = GpuDevice {
            index: next(),
            name: next(),
            uuid: next(),
            driver_version: next(),
            persistence_mode: next(),
            ecc_mode: next(),
            pstate: next(),
            clocks_sm_mhz: next(),
            clocks_mem_mhz: next(),
            max_clocks_sm_mhz: next(),
            max_clocks_mem_mhz: next(),
            application_clocks_sm_mhz: next(),
            application_clocks_mem_mhz: next(),
            power_limit_w: next(),
            temperature_c: next(),
        };
        devices.insert(format!("gpu{}", device.index), device);
    }
    if devices.is_empty() {
        return Err("nvidia-smi lists no GPU".into());
    }
    Ok(devices)
}

/// The CUDA driver's view of the GPU the `gpu` kernel path would use. The CUDA path is
/// compiled only with feature `cuda`; without it nothing could run on a GPU, and that is
/// what is recorded.
#[cfg(not(feature = "cuda"))]
fn cuda_view() -> Captured<BTreeMap<String, String>> {
    Captured::absent("built without feature cuda")
}

/// With feature `cuda`: the kernels crate's description of the device (driver and CUDA
/// versions, name, SM count, clocks, ECC), flattened to strings so this record does not
/// depend on that struct's exact shape.
#[cfg(feature = "cuda")]
fn cuda_view() -> Captured<BTreeMap<String, String>> {
    let info = match benchseal_kernels::gpu::gpu_info() {
        Ok(info) => info,
        Err(why) => return Captured::absent(why),
    };
    match serde_json::to_value(&info) {
        Ok(serde_json::Value::Object(fields)) => Captured::Present(
            fields
                .into_iter()
                .map(|(name, value)| {
                    let text = match value {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (name, text)
                })
                .collect(),
        ),
        _ => Captured::absent("the CUDA device description is not a JSON object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustc_output_is_parsed() {
        let out = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\ncommit-hash: 5980\n\
                   host: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";
        let r = parse_rustc(out).unwrap();
        assert_eq!(r.release, "1.95.0");
        assert_eq!(r.llvm_version.value().unwrap(), "22.1.2");
        assert!(parse_rustc("garbage").is_err());
    }

    #[test]
    fn locked_versions_come_from_cargo_lock() {
        let lock = Ok(
            "version = 4\n\n[[package]]\nname = \"criterion\"\nversion = \"0.8.2\"\n\n\
                       [[package]]\nname = \"gungraun\"\nversion = \"0.20.0\"\n"
                .to_string(),
        );
        assert_eq!(locked_version(&lock, "criterion").value().unwrap(), "0.8.2");
        assert!(
            locked_version(&lock, "serde")
                .reason()
                .unwrap()
                .contains("no package")
        );
        let bad = Ok("[[package]\n".to_string());
        assert!(
            locked_version(&bad, "criterion")
                .reason()
                .unwrap()
                .contains("malformed")
        );
    }

    #[test]
    fn nix_store_path_is_the_store_entry() {
        assert_eq!(
            nix_store_path(Path::new("/nix/store/abc-benchseal-0.1.0/bin/benchseal")).unwrap(),
            "/nix/store/abc-benchseal-0.1.0"
        );
        assert_eq!(nix_store_path(Path::new("/usr/bin/benchseal")), None);
    }

    #[test]
    fn gpu_csv_with_wrong_field_count_is_an_absence_reason() {
        assert!(parse_gpu_csv("0, H100\n").unwrap_err().contains("2 fields"));
        assert!(parse_gpu_csv("").is_err());
    }

    #[test]
    fn this_binary_reports_its_compiled_target_features() {
        let features = target_features();
        #[cfg(target_arch = "x86_64")]
        assert!(features.iter().any(|f| f == "sse2"), "{features:?}");
        assert_eq!(
            features.iter().any(|f| f == "avx2"),
            cfg!(target_feature = "avx2")
        );
    }
}
