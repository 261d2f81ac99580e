//! Golden output digests (`benchseal.digests/1`) and `benchseal digests`.
//!
//! Golden digests are machine-independent: the SHA-256 of each workload's input and of the
//! output its scalar oracle produces. `golden/digests.json` is committed; every baseline
//! carries a copy as `baselines/<version>/digests.json`. The run pipeline's digest pass
//! holds every kernel path to them.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::Outcome;
use crate::exit::bad_input;

/// Schema name and version of digest files.
pub const DIGESTS_SCHEMA: &str = "benchseal.digests/1";

/// Default location of the committed golden digests, relative to the repository root.
pub const GOLDEN_PATH: &str = "golden/digests.json";

/// Input and output digest of one workload.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkloadDigests {
    pub input_sha256: String,
    pub output_sha256: String,
}

/// A digest file: workload id → digests.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct GoldenDigests {
    pub schema: String,
    pub workloads: BTreeMap<String, WorkloadDigests>,
}

impl Default for GoldenDigests {
    fn default() -> Self {
        GoldenDigests {
            schema: DIGESTS_SCHEMA.into(),
            workloads: BTreeMap::new(),
        }
    }
}

impl GoldenDigests {
    /// Reads a digest file; malformed JSON or another schema is bad input (exit 2).
    pub fn load(path: &Path) -> Result<GoldenDigests> {
        let text = crate::fsutil::read_to_string(path).map_err(|e| bad_input(format!("{e:#}")))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad_input(format!("{}: not valid JSON: {e}", path.display())))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(DIGESTS_SCHEMA) => {}
            other => {
                return Err(bad_input(format!(
                    "{}: field `schema` is {other:?}, expected `{DIGESTS_SCHEMA}`",
                    path.display()
                )));
            }
        }
        serde_json::from_value(value)
            .map_err(|e| bad_input(format!("{}: invalid digest file: {e}", path.display())))
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_json_atomic(path, self)
    }
}

/// Arguments of `benchseal digests`.
#[derive(Debug, clap::Args)]
pub struct DigestsArgs {}

pub fn execute(_args: DigestsArgs) -> Result<Outcome> {
    anyhow::bail!("this command is not built yet")
}
