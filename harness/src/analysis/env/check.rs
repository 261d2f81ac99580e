//! `benchseal env --check`: each tuning setting against what benchseal recommends.
//!
//! The recommendations, and why:
//!
//! - **governor `performance`**: the clock stays at its highest instead of ramping up
//!   under load, so a short benchmark is not timed at a lower frequency than a long one.
//! - **boost / turbo off**: turbo frequency depends on temperature and on how many other
//!   cores are busy, which varies from run to run; a fixed clock is repeatable.
//! - **SMT off, or absent**: two hardware threads of one core share its execution units
//!   and caches, so a neighbour on the sibling thread slows the benchmark.
//! - **ASLR full (2)**: for wall-clock numbers a fixed memory layout can be consistently
//!   lucky or unlucky (alignment, cache-set conflicts); randomised layouts average over
//!   it across samples. Instruction counts need a fixed layout, but gungraun turns ASLR
//!   off for each benchmark process itself (through `personality`), so the system-wide
//!   setting need not be lowered for them; inside containers that call needs
//!   `--allow-aslr` or an unconfined seccomp profile.
//! - **isolated CPUs**, with benchseal running on them and interrupts kept off them:
//!   otherwise the scheduler and interrupt handlers share the benchmark's CPUs.
//! - **`perf_event_max_sample_rate` 1**: the kernel samples at up to this rate while perf
//!   events are active, and every sample is an interrupt on a benchmark CPU.
//!
//! A setting this machine does not have is `unavailable`, never an error.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::cpulist;
use crate::model::env::{Captured, EnvSnapshot};

/// The verdict on one setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "why", rename_all = "lowercase")]
pub enum CheckState {
    Ok,
    Warn(String),
    Unavailable(String),
}

impl fmt::Display for CheckState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckState::Ok => f.write_str("ok"),
            CheckState::Warn(why) => write!(f, "warn ({why})"),
            CheckState::Unavailable(why) => write!(f, "unavailable ({why})"),
        }
    }
}

/// One checked setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckItem {
    pub name: String,
    /// The current value as read.
    pub value: String,
    pub recommended: String,
    #[serde(flatten)]
    pub state: CheckState,
}

fn item(name: &str, value: impl Into<String>, recommended: &str, state: CheckState) -> CheckItem {
    CheckItem {
        name: name.into(),
        value: value.into(),
        recommended: recommended.into(),
        state,
    }
}

/// The captured value, or an early return of an `unavailable` item naming the reason.
macro_rules! present_or_unavailable {
    ($captured:expr, $name:expr, $recommended:expr) => {
        match $captured {
            Captured::Present(value) => value,
            Captured::Absent(a) => {
                return item(
                    $name,
                    "-",
                    $recommended,
                    CheckState::Unavailable(a.absent.clone()),
                );
            }
        }
    };
}

/// Checks every tuning setting of `snap`.
pub fn check(snap: &EnvSnapshot) -> Vec<CheckItem> {
    vec![
        governor(snap),
        boost(snap),
        smt(snap),
        aslr(snap),
        isolated_cpus(snap),
        irq_affinity(snap),
        perf_sample_rate(snap),
        gpu_persistence(snap),
    ]
}

fn governor(snap: &EnvSnapshot) -> CheckItem {
    const REC: &str = "performance";
    let policies = present_or_unavailable!(&snap.tuning.cpufreq, "governor", REC);
    let mut values = Vec::new();
    let mut off = Vec::new();
    for (name, policy) in policies {
        let governor = policy.governor.to_string();
        if governor != REC {
            off.push(format!("{name} uses {governor}"));
        }
        values.push(format!("{name}={governor}"));
    }
    let state = if off.is_empty() {
        CheckState::Ok
    } else {
        CheckState::Warn(format!(
            "{}; other governors lower the clock when idle and ramp it up under load",
            off.join(", ")
        ))
    };
    item("governor", values.join(" "), REC, state)
}

fn boost(snap: &EnvSnapshot) -> CheckItem {
    const REC: &str = "off";
    let boost = present_or_unavailable!(&snap.tuning.boost, "boost/turbo", REC);
    let value = format!(
        "{} ({})",
        if boost.enabled { "on" } else { "off" },
        boost.control
    );
    let state = if boost.enabled {
        CheckState::Warn(
            "turbo clocks follow temperature and the load on other cores, so they vary \
             between runs"
                .into(),
        )
    } else {
        CheckState::Ok
    };
    item("boost/turbo", value, REC, state)
}

fn smt(snap: &EnvSnapshot) -> CheckItem {
    const REC: &str = "off (or not supported)";
    let smt = present_or_unavailable!(&snap.tuning.smt, "smt", REC);
    let active = smt.active.value().copied();
    let value = match active {
        Some(a) => format!("{} (active: {})", smt.control, if a { "yes" } else { "no" }),
        None => smt.control.clone(),
    };
    let state = match (smt.control.as_str(), active) {
        ("off" | "forceoff" | "notsupported" | "notimplemented", _) | (_, Some(false)) => {
            CheckState::Ok
        }
        _ => CheckState::Warn(
            "sibling hardware threads share a core's execution units; boot with `nosmt` or \
             keep the siblings of benchmark CPUs idle"
                .into(),
        ),
    };
    item("smt", value, REC, state)
}

fn aslr(snap: &EnvSnapshot) -> CheckItem {
    const REC: &str = "2 (full randomisation)";
    let value = *present_or_unavailable!(&snap.tuning.aslr, "aslr", REC);
    let state = if value == 2 {
        CheckState::Ok
    } else {
        CheckState::Warn(
            "a fixed layout can make wall-clock numbers consistently lucky or unlucky; \
             gungraun disables ASLR per benchmark process on its own"
                .into(),
        )
    };
    item("aslr", value.to_string(), REC, state)
}

fn isolated_cpus(snap: &EnvSnapshot) -> CheckItem {
    const REC: &str = "isolated (isolcpus=), benchseal on them";
    let t = &snap.tuning;
    let list = present_or_unavailable!(&t.isolated_cpus, "isolated cpus", REC).clone();
    let isolated = match cpulist::parse(&list) {
        Ok(set) => set,
        Err(e) => {
            return item(
                "isolated cpus",
                list,
                REC,
                CheckState::Unavailable(format!("malformed CPU list: {e}")),
            );
        }
    };
    if isolated.is_empty() {
        return item(
            "isolated cpus",
            "none",
            REC,
            CheckState::Warn(
                "no CPU is isolated, so the scheduler runs other work on the benchmark's CPUs"
                    .into(),
            ),
        );
    }
    let state = match t.process_affinity.value().map(|a| cpulist::parse(a)) {
        Some(Ok(affinity)) if affinity.is_subset(&isolated) => CheckState::Ok,
        Some(Ok(affinity)) => CheckState::Warn(format!(
            "benchseal may run on CPUs {} outside the isolated {list}; start it with \
             `taskset -c {list}`",
            cpulist::format(affinity.difference(&isolated))
        )),
        _ => CheckState::Unavailable("the CPU affinity of this process is unknown".into()),
    };
    item("isolated cpus", list, REC, state)
}

fn irq_affinity(snap: &EnvSnapshot) -> CheckItem {
    const NAME: &str = "irq affinity";
    const REC: &str = "no interrupts on isolated CPUs";
    let t = &snap.tuning;
    let irqs = present_or_unavailable!(&t.irq_affinity, NAME, REC);
    let total: usize = irqs.irqs_by_cpus.values().sum();
    let isolated = t
        .isolated_cpus
        .value()
        .and_then(|l| cpulist::parse(l).ok())
        .unwrap_or_default();
    if isolated.is_empty() {
        return item(
            NAME,
            format!("{total} irqs"),
            REC,
            CheckState::Unavailable("no isolated CPUs to keep interrupts away from".into()),
        );
    }
    let on_isolated: usize = irqs
        .irqs_by_cpus
        .iter()
        .filter(|(list, _)| cpulist::parse(list).map_or(true, |cpus| !cpus.is_disjoint(&isolated)))
        .map(|(_, n)| n)
        .sum();
    let state = if on_isolated == 0 {
        CheckState::Ok
    } else {
        CheckState::Warn(format!(
            "{on_isolated} of {total} interrupts may be handled on isolated CPUs"
        ))
    };
    item(NAME, format!("{total} irqs"), REC, state)
}

fn perf_sample_rate(snap: &EnvSnapshot) -> CheckItem {
    const NAME: &str = "perf_event_max_sample_rate";
    const REC: &str = "1";
    let value = *present_or_unavailable!(&snap.tuning.perf_event_max_sample_rate, NAME, REC);
    let state = if value <= 1 {
        CheckState::Ok
    } else {
        CheckState::Warn(format!(
            "perf may interrupt a benchmark CPU up to {value} times a second"
        ))
    };
    item(NAME, value.to_string(), REC, state)
}

fn gpu_persistence(snap: &EnvSnapshot) -> CheckItem {
    const NAME: &str = "gpu persistence and clocks";
    const REC: &str = "persistence mode on, clocks locked";
    let devices = &present_or_unavailable!(&snap.gpu.nvidia_smi, NAME, REC).devices;
    let off: Vec<&str> = devices
        .iter()
        .filter(|(_, d)| d.persistence_mode != "Enabled")
        .map(|(name, _)| name.as_str())
        .collect();
    let value = devices
        .iter()
        .map(|(name, d)| format!("{name}={}", d.persistence_mode))
        .collect::<Vec<_>>()
        .join(" ");
    let state = if off.is_empty() {
        CheckState::Ok
    } else {
        CheckState::Warn(format!(
            "persistence mode is off on {}: the driver unloads between runs and the first \
             launch pays for initialisation; `benchseal env --pin` turns it on and locks clocks",
            off.join(", ")
        ))
    };
    item(NAME, value, REC, state)
}
