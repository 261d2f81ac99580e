//! Comparing snapshots by their JSON form, flattened to `dotted.path = value` leaves.
//!
//! Working on the serialised form means a field added to the snapshot is compared without
//! anyone remembering to add it here; only what is *expected* to change is listed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::env::EnvSnapshot;

/// Leaves that change by themselves during a run; a difference there says nothing about
/// the settings. Matched as prefixes of the flattened path, or as the last path element
/// for per-device entries.
const EXPECTED_TO_CHANGE: &[&str] = &["captured_at", "load"];
const EXPECTED_TO_CHANGE_LEAF: &[&str] =
    &["temperature_c", "clocks_sm_mhz", "clocks_mem_mhz", "pstate"];

/// Flattens a JSON value: objects by `.key`, arrays of objects by `[i]`, arrays of scalars
/// joined by `, `, an absent value `{"absent": r}` as `absent (r)`.
pub(crate) fn flatten(value: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(value, String::new(), &mut out);
    out
}

fn walk(value: &Value, path: String, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) if map.len() == 1 && map.get("absent").is_some_and(Value::is_string) => {
            let reason = map["absent"].as_str().unwrap_or_default();
            out.insert(path, format!("absent ({reason})"));
        }
        Value::Object(map) if map.is_empty() => {
            out.insert(path, "(none)".into());
        }
        Value::Object(map) => {
            for (key, v) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(v, child, out);
            }
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{path}[{i}]"), out);
            }
        }
        Value::Array(items) => {
            let text: Vec<String> = items.iter().map(scalar).collect();
            out.insert(
                path,
                if text.is_empty() {
                    "(none)".into()
                } else {
                    text.join(", ")
                },
            );
        }
        other => {
            out.insert(path, scalar(other));
        }
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) if s.is_empty() => "(empty)".into(),
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

fn expected_to_change(path: &str) -> bool {
    EXPECTED_TO_CHANGE
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}.")))
        || EXPECTED_TO_CHANGE_LEAF
            .iter()
            .any(|leaf| path.rsplit('.').next() == Some(leaf))
}

pub(crate) fn changes(before: &EnvSnapshot, after: &EnvSnapshot) -> Vec<String> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(before), serde_json::to_value(after)) else {
        return vec!["the snapshots could not be compared (serialisation failed)".into()];
    };
    let (a, b) = (flatten(&a), flatten(&b));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !expected_to_change(k))
        .filter_map(|k| {
            let (old, new) = (a.get(k), b.get(k));
            (old != new).then(|| {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(missing)".into());
                format!("{k}: {} → {}", show(old), show(new))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattening_names_every_leaf() {
        let v = json!({
            "tuning": {"aslr": 2, "boost": {"absent": "no cpufreq on this machine"}},
            "cpu": {"flags": ["sse2", "avx2"], "caches": [{"level": "1"}]},
            "empty": {}
        });
        let flat = flatten(&v);
        assert_eq!(flat["tuning.aslr"], "2");
        assert_eq!(flat["tuning.boost"], "absent (no cpufreq on this machine)");
        assert_eq!(flat["cpu.flags"], "sse2, avx2");
        assert_eq!(flat["cpu.caches[0].level"], "1");
        assert_eq!(flat["empty"], "(none)");
    }

    #[test]
    fn expected_changes_are_recognised() {
        assert!(expected_to_change("load.one"));
        assert!(expected_to_change("captured_at"));
        assert!(expected_to_change(
            "gpu.nvidia_smi.devices.gpu0.temperature_c"
        ));
        assert!(!expected_to_change(
            "gpu.nvidia_smi.devices.gpu0.max_clocks_sm_mhz"
        ));
        assert!(!expected_to_change("loader"));
        assert!(!expected_to_change("tuning.aslr"));
    }
}
