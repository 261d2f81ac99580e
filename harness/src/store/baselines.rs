//! The baseline store: `baselines/<version>/<machine-class>.json` and, beside each
//! version's records, `digests.json` (the golden digests every machine class of that
//! version must agree on).
//!
//! Versions and machine classes become path components, so both are held to a small
//! alphabet (`A–Z a–z 0–9 . _ + -`, not starting with `.` or `-`): nothing can climb out
//! of `baselines/` or hide there.

use std::path::{Path, PathBuf};

use anyhow::Result;
use benchseal_benches::KernelPath;

use crate::model::golden::{GoldenDigests, WorkloadDigests};
use crate::model::outcome::{Irreproducible, bad_input};
use crate::model::record::RunRecord;

/// File name of the golden digests inside a version directory.
pub const DIGESTS_FILE: &str = "digests.json";

/// Checks that `name` is safe as one path component (see the module docs); `what`
/// names it in the error ("version", "machine class", "run id").
pub fn validate_name(name: &str, what: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-');
    let problem = if name.is_empty() {
        Some("is empty".to_string())
    } else if name.len() > 128 {
        Some("is longer than 128 characters".into())
    } else if name.starts_with('.') || name.starts_with('-') {
        Some("starts with `.` or `-`".into())
    } else {
        name.chars()
            .find(|&c| !allowed(c))
            .map(|c| format!("contains {c:?} (allowed: letters, digits, `.`, `_`, `+`, `-`)"))
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(bad_input(format!("{what} {name:?} {problem}"))),
    }
}

/// `baselines/<version>`, after validating the version.
pub fn version_dir(baselines_dir: &Path, version: &str) -> Result<PathBuf> {
    validate_name(version, "version")?;
    Ok(baselines_dir.join(version))
}

/// `baselines/<version>/<machine-class>.json`, after validating both names.
pub fn baseline_path(baselines_dir: &Path, version: &str, machine_class: &str) -> Result<PathBuf> {
    validate_name(machine_class, "machine class")?;
    Ok(version_dir(baselines_dir, version)?.join(format!("{machine_class}.json")))
}

/// What [`versions`] found in a baseline store.
#[derive(Debug, Default)]
pub struct Versions {
    /// The version directories, sorted.
    pub versions: Vec<String>,
    /// Entries that could not be read (a dangling link, no permission), each naming its
    /// path and why; the caller says them as warnings and goes on without them.
    pub unreadable: Vec<String>,
}

/// The version directories of a baseline store; a missing store has none. One unreadable
/// entry does not hide the others: it is listed in [`Versions::unreadable`]. Only a store
/// that cannot be read at all is an error, naming its path.
pub fn versions(baselines_dir: &Path) -> Result<Versions> {
    let entries = match std::fs::read_dir(baselines_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Versions::default()),
        Err(e) => {
            return Err(bad_input(format!(
                "reading {}: {e}",
                baselines_dir.display()
            )));
        }
    };
    let mut found = Versions::default();
    for entry in entries {
        let entry =
            entry.map_err(|e| bad_input(format!("reading {}: {e}", baselines_dir.display())))?;
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_dir() => found
                .versions
                .push(entry.file_name().to_string_lossy().into_owned()),
            Ok(_) => {}
            Err(e) => found.unreadable.push(format!("{}: {e}", path.display())),
        }
    }
    found.versions.sort();
    Ok(found)
}

/// The machine classes stored under a version directory, sorted.
pub fn machine_classes(version_dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(version_dir)
        .map_err(|e| bad_input(format!("reading {}: {e}", version_dir.display())))?;
    let mut classes = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| bad_input(format!("reading {}: {e}", version_dir.display())))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == DIGESTS_FILE || name.starts_with('.') {
            continue;
        }
        if let Some(class) = name.strip_suffix(".json") {
            classes.push(class.to_string());
        }
    }
    classes.sort();
    Ok(classes)
}

/// Chooses the machine class of a baseline: the one asked for, else `hint` (the class of
/// the run it will be compared with) when stored, else the only one stored.
pub fn pick_machine_class(
    version_dir: &Path,
    explicit: Option<&str>,
    hint: Option<&str>,
) -> Result<String> {
    let classes = machine_classes(version_dir)?;
    let listed = || {
        if classes.is_empty() {
            "none".to_string()
        } else {
            classes.join(", ")
        }
    };
    if let Some(class) = explicit {
        validate_name(class, "machine class")?;
        if classes.iter().any(|c| c == class) {
            return Ok(class.into());
        }
        return Err(bad_input(format!(
            "{} holds no baseline for machine class `{class}` (stored: {})",
            version_dir.display(),
            listed()
        )));
    }
    if let Some(class) = hint
        && classes.iter().any(|c| c == class)
    {
        return Ok(class.into());
    }
    match classes.as_slice() {
        [only] => Ok(only.clone()),
        _ => Err(bad_input(format!(
            "{} holds baselines for {} machine classes ({}): choose one with --machine-class",
            version_dir.display(),
            classes.len(),
            listed()
        ))),
    }
}

/// The golden digests a record vouches for: input digest and the scalar oracle's output
/// digest of each workload (the committed golden digest when the scalar path did not run).
pub fn digests_of(record: &RunRecord) -> GoldenDigests {
    let mut digests = GoldenDigests::default();
    for workload in &record.workloads {
        let scalar = workload
            .path(KernelPath::Scalar)
            .filter(|p| p.status.is_ok())
            .and_then(|p| p.output_sha256.clone());
        if let (Some(input), Some(output)) = (
            workload.input_sha256.clone(),
            scalar.or_else(|| workload.golden_output_sha256.clone()),
        ) {
            digests.workloads.insert(
                workload.id.to_string(),
                WorkloadDigests {
                    input_sha256: input,
                    output_sha256: output,
                },
            );
        }
    }
    digests
}

/// Merges `new` into `existing`; a workload whose digests differ is listed as a conflict.
pub fn merge_digests(existing: &mut GoldenDigests, new: GoldenDigests) -> Vec<String> {
    let mut conflicts = Vec::new();
    for (id, digest) in new.workloads {
        match existing.workloads.get(&id) {
            Some(stored) if stored != &digest => conflicts.push(format!(
                "{id}: stored input {} output {}, this run input {} output {}",
                stored.input_sha256,
                stored.output_sha256,
                digest.input_sha256,
                digest.output_sha256
            )),
            Some(_) => {}
            None => {
                existing.workloads.insert(id, digest);
            }
        }
    }
    conflicts
}

/// Checks that a record may become a baseline: complete, no invalid results.
pub fn check_promotable(record: &RunRecord, path: &Path) -> Result<()> {
    if !record.complete {
        return Err(bad_input(format!(
            "{}: field `complete` is false: an interrupted run cannot become a baseline",
            path.display()
        )));
    }
    let invalid: Vec<String> = record
        .workloads
        .iter()
        .flat_map(|w| {
            w.paths
                .iter()
                .filter(|p| p.status.is_invalid())
                .map(move |p| format!("{}@{} ({})", w.id, p.path, p.status))
        })
        .collect();
    if !invalid.is_empty() {
        return Err(Irreproducible(format!(
            "{}: results failed their digest check, refusing to make them a baseline: {}",
            path.display(),
            invalid.join(", ")
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: version directories were listed twice (list and history) and unreadable
    /// entries were silently dropped by `.flatten()`; then one unreadable entry hid all.
    #[test]
    fn versions_listing_is_sorted_skips_files_and_names_the_path_of_errors() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("baselines");
        assert!(
            versions(&store).unwrap().versions.is_empty(),
            "a missing store is empty"
        );
        for version in ["2.0.0", "1.0.0", "1.10.0"] {
            std::fs::create_dir_all(store.join(version)).unwrap();
        }
        std::fs::write(store.join("notes.txt"), "not a version").unwrap();
        assert_eq!(
            versions(&store).unwrap().versions,
            ["1.0.0", "1.10.0", "2.0.0"]
        );

        std::os::unix::fs::symlink(store.join("gone"), store.join("dangling")).unwrap();
        let found = versions(&store).unwrap();
        assert_eq!(
            found.versions,
            ["1.0.0", "1.10.0", "2.0.0"],
            "the others stay"
        );
        assert_eq!(found.unreadable.len(), 1);
        assert!(found.unreadable[0].contains("dangling"), "{found:?}");

        let not_a_dir = dir.path().join("file");
        std::fs::write(&not_a_dir, "").unwrap();
        let err = versions(&not_a_dir).unwrap_err();
        assert!(
            format!("{err:#}").contains(&*not_a_dir.to_string_lossy()),
            "{err:#}"
        );
    }

    #[test]
    fn names_that_could_escape_the_store_are_rejected() {
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", "/abs", ".hidden", "-rf", "v1\n", "v\u{7}", "a b",
        ] {
            let err = validate_name(bad, "version").unwrap_err();
            assert!(
                err.downcast_ref::<crate::model::outcome::BadInput>()
                    .is_some(),
                "{bad:?}"
            );
        }
        for good in [
            "1.4.0",
            "v2.0.0-rc.1",
            "1.0+build.5",
            "x86_64-intel-xeon-avx512-rust1.95.0-1a2b3c4d",
        ] {
            validate_name(good, "version").unwrap();
        }
    }

    #[test]
    fn merging_digests_reports_conflicts_and_keeps_the_stored_ones() {
        let digest = |i: &str, o: &str| WorkloadDigests {
            input_sha256: i.into(),
            output_sha256: o.into(),
        };
        let mut stored = GoldenDigests::default();
        stored.workloads.insert("a".into(), digest("1", "2"));
        let mut incoming = GoldenDigests::default();
        incoming.workloads.insert("a".into(), digest("1", "3"));
        incoming.workloads.insert("b".into(), digest("4", "5"));
        let conflicts = merge_digests(&mut stored, incoming);
        assert_eq!(conflicts.len(), 1);
        assert!(conflicts[0].starts_with("a:"));
        assert_eq!(stored.workloads["a"], digest("1", "2"));
        assert_eq!(stored.workloads["b"], digest("4", "5"));
    }
}
