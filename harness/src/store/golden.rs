//! Golden digest files on disk.

use std::path::Path;

use anyhow::Result;

use crate::model::golden::{DIGESTS_SCHEMA, GoldenDigests};
use crate::model::outcome::bad_input;

/// Reads a digest file; malformed JSON, another schema, a digest that is not a SHA-256 or
/// a workload listed twice is bad input (exit 2) naming the file, the workload and the line.
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
    // From the text, not the parsed value: a JSON object keeps only the last of two equal
    // keys, and a workload listed twice must be seen.
    serde_json::from_str(&text)
        .map_err(|e| bad_input(format!("{}: invalid digest file: {e}", path.display())))
}

/// Refuses workloads of a digest file that `registered` does not hold (a misspelt id
/// would never be checked against anything), naming the closest registered ids.
pub fn check_registered(digests: &GoldenDigests, path: &Path, registered: &[String]) -> Result<()> {
    let unknown: Vec<String> = digests
        .workloads
        .keys()
        .filter(|id| !registered.contains(id))
        .map(|id| {
            let hint =
                crate::analysis::names::closest_hint(id, registered.iter().map(String::as_str));
            format!("`{id}`{hint}")
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(bad_input(format!(
        "{}: workload{} not registered: {} (`benchseal digests --write` drops them)",
        path.display(),
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join("; ")
    )))
}

/// Writes a digest file atomically.
pub fn save(digests: &GoldenDigests, path: &Path) -> Result<()> {
    crate::sys::fs::write_json_atomic(path, digests)
}
