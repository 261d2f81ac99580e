//! What an environment snapshot means: the checks against recommended settings, the
//! machine class, the differences between two snapshots.

pub mod check;
pub mod class;
pub mod cpulist;
mod diff;

use std::collections::BTreeMap;

pub use check::{CheckItem, CheckState, check};
pub use class::MachineClass;

use crate::model::env::EnvSnapshot;
use crate::model::record::Tuning;

/// Human-readable lines naming each setting that differs between two snapshots, e.g.
/// `tuning.cpufreq.policy0.governor: performance → powersave`. Values expected to change
/// during a run (capture time, load average, GPU temperature and current clocks) are
/// ignored.
pub fn changes(before: &EnvSnapshot, after: &EnvSnapshot) -> Vec<String> {
    diff::changes(before, after)
}

/// The snapshot as `dotted.path → value` lines (absent values as `absent (reason)`).
pub fn flatten_snapshot(snap: &EnvSnapshot) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(diff::flatten(&serde_json::to_value(snap)?))
}

/// Whether the machine was tuned for a run: `tuned` when no checked setting is off its
/// recommendation. The reasons list every item that was not `ok`, including what could
/// not be checked on this machine.
pub fn tuning_state(snapshot: &EnvSnapshot) -> Tuning {
    let items = check(snapshot);
    let tuned = !items.iter().any(|i| matches!(i.state, CheckState::Warn(_)));
    let reasons = items
        .iter()
        .filter(|i| !matches!(i.state, CheckState::Ok))
        .map(|i| format!("{}: {}", i.name, i.state))
        .collect();
    Tuning { tuned, reasons }
}
