//! Golden digest files on disk.

use std::path::Path;

use anyhow::Result;

use crate::model::golden::{DIGESTS_SCHEMA, GoldenDigests};
use crate::model::outcome::bad_input;

/// Reads a digest file; malformed JSON or another schema is bad input (exit 2).
pub fn load(path: &Path) -> Result<GoldenDigests> {
    let text = crate::sys::fs::read_to_string(path).map_err(|e| bad_input(format!("{e:#}")))?;
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

/// Writes a digest file atomically.
pub fn save(digests: &GoldenDigests, path: &Path) -> Result<()> {
    crate::sys::fs::write_json_atomic(path, digests)
}
