//! Golden output digests (`benchseal.digests/1`): the SHA-256 of each workload's input and
//! of the output its scalar oracle produces. Machine-independent; `golden/digests.json` is
//! committed and every baseline carries a copy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
