//! Golden output digests (`benchseal.digests/1`): the SHA-256 of each workload's input and
//! of the output its scalar oracle produces. Machine-independent; `golden/digests.json` is
//! committed and every baseline carries a copy.

use std::collections::BTreeMap;

use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Schema name and version of digest files.
pub const DIGESTS_SCHEMA: &str = "benchseal.digests/1";

/// Default location of the committed golden digests, relative to the repository root.
pub const GOLDEN_PATH: &str = "golden/digests.json";

/// Input and output digest of one workload.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WorkloadDigests {
    pub input_sha256: String,
    pub output_sha256: String,
}

/// A digest file: workload id → digests. Reading one refuses a workload listed twice and
/// a digest that is not a SHA-256 (64 lowercase hex digits), naming the workload.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GoldenDigests {
    pub schema: String,
    #[serde(deserialize_with = "checked_workloads")]
    pub workloads: BTreeMap<String, WorkloadDigests>,
}

/// Whether `text` is a SHA-256 as benchseal writes it: 64 lowercase hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn checked_workloads<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, WorkloadDigests>, D::Error> {
    struct Workloads;
    impl<'de> Visitor<'de> for Workloads {
        type Value = BTreeMap<String, WorkloadDigests>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of workload id to its digests")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut workloads = BTreeMap::new();
            while let Some(id) = map.next_key::<String>()? {
                // Said at the key, so that the line named is the second one's.
                if workloads.contains_key(&id) {
                    return Err(A::Error::custom(format!("workload `{id}` is listed twice")));
                }
                let digests: WorkloadDigests = map.next_value()?;
                for (field, value) in [
                    ("input_sha256", &digests.input_sha256),
                    ("output_sha256", &digests.output_sha256),
                ] {
                    if !is_sha256_hex(value) {
                        return Err(A::Error::custom(format!(
                            "workload `{id}`: field `{field}` is {value:?}, not a SHA-256 \
                             (64 lowercase hex digits)"
                        )));
                    }
                }
                workloads.insert(id, digests);
            }
            Ok(workloads)
        }
    }
    deserializer.deserialize_map(Workloads)
}

impl Default for GoldenDigests {
    fn default() -> Self {
        GoldenDigests {
            schema: DIGESTS_SCHEMA.into(),
            workloads: BTreeMap::new(),
        }
    }
}
