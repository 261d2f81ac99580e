//! Environment capture (`benchseal env`). Filled in by the environment work.

use serde::{Deserialize, Serialize};

/// Schema of the environment snapshot embedded in every run record.
pub const ENV_SCHEMA: &str = "benchseal.env/1";

/// Everything about the machine and build that can change a number.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct EnvSnapshot {
    pub schema: String,
    /// Short stable id of CPU model, kernel path and toolchain; baselines are keyed by it.
    pub machine_class: String,
    /// The remaining fields, captured by the environment work.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Captures the environment of this process and machine. Never fails: what cannot be
/// read is recorded as unavailable. (Contract kept by the environment work.)
pub fn snapshot() -> EnvSnapshot {
    EnvSnapshot {
        schema: ENV_SCHEMA.into(),
        machine_class: "unknown".into(),
        fields: serde_json::Map::new(),
    }
}

/// Human-readable lines naming each setting that differs between two snapshots.
pub fn changes(before: &EnvSnapshot, after: &EnvSnapshot) -> Vec<String> {
    if before == after {
        Vec::new()
    } else {
        vec!["environment changed".into()]
    }
}

/// Tuning applied for the duration of a run; dropping it restores the previous values.
#[derive(Debug, Default)]
pub struct PinGuard {
    /// What was applied, and what could not be (each a human-readable line).
    pub applied: Vec<String>,
    pub not_applied: Vec<String>,
}

/// Applies what this process may apply of the recommended tuning and returns a guard that
/// resets it when dropped (also on error paths and on interruption).
pub fn pin() -> anyhow::Result<PinGuard> {
    Ok(PinGuard {
        applied: Vec::new(),
        not_applied: vec!["pinning is not built yet".into()],
    })
}
