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
