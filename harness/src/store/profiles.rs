//! callgrind profiles kept beside run records (`<record>.callgrind/`), read back to say
//! which functions account for a changed instruction count.

use std::path::Path;

use crate::analysis::callgrind::{self, Explanation, Profile, TOP_FUNCTIONS};
use crate::model::digest::sha256_hex;
use crate::model::record::{ProfileFile, RunRecord};

/// A kept profile, checked against the digest its record sealed, and parsed. The error
/// names the file and, for a parse error, the line.
pub fn load(record_dir: &Path, file: &ProfileFile) -> Result<Profile, String> {
    read_sealed(&record_dir.join(&file.path), &file.sha256)
}

/// The profile at `path`, read only if its bytes have the SHA-256 `sha256`, and parsed.
pub fn read_sealed(path: &Path, sha256: &str) -> Result<Profile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let digest = sha256_hex(&bytes);
    if digest != sha256 {
        return Err(format!(
            "{}: SHA-256 {digest} is not the {sha256} its record sealed",
            path.display()
        ));
    }
    let text = String::from_utf8_lossy(&bytes);
    callgrind::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The profile a record kept for `benchmark` (`workload-id@path`), if any.
fn profile_of<'r>(record: &'r RunRecord, benchmark: &str) -> Option<&'r ProfileFile> {
    let (id, path) = benchmark.rsplit_once('@')?;
    let workload = record.workloads.iter().find(|w| w.id.to_string() == id)?;
    let path = workload.paths.iter().find(|p| p.path.to_string() == path)?;
    path.instr.as_ref()?.metrics.as_ref()?.callgrind.as_ref()
}

/// Explains the change of `benchmark`'s instruction count between two records (each read
/// from the directory it lives in) by the functions whose instructions changed most.
pub fn explain(benchmark: &str, old: (&RunRecord, &Path), new: (&RunRecord, &Path)) -> Explanation {
    let (a, b) = (profile_of(old.0, benchmark), profile_of(new.0, benchmark));
    let shown = |dir: &Path, file: Option<&ProfileFile>| {
        file.map(|f| dir.join(&f.path).display().to_string())
    };
    let mut explanation = Explanation {
        benchmark: benchmark.to_string(),
        old_profile: shown(old.1, a),
        new_profile: shown(new.1, b),
        old_sha256: a.map(|f| f.sha256.clone()),
        new_sha256: b.map(|f| f.sha256.clone()),
        functions: Vec::new(),
        skipped: None,
    };
    let (Some(a), Some(b)) = (a, b) else {
        let which = match (a, b) {
            (None, None) => "either record",
            (None, Some(_)) => "the old record",
            _ => "the new record",
        };
        explanation.skipped = Some(format!(
            "no callgrind profile kept in {which} (records made before profiles were kept, \
             or a baseline saved without them)"
        ));
        return explanation;
    };
    match (load(old.1, a), load(new.1, b)) {
        (Ok(a), Ok(b)) => explanation.functions = callgrind::diff(&a, &b, TOP_FUNCTIONS),
        (Err(e), _) | (_, Err(e)) => explanation.skipped = Some(format!("unreadable profile: {e}")),
    }
    explanation
}

/// Every profile `record` keeps, by the path its record names.
pub fn kept(record: &RunRecord) -> Vec<&ProfileFile> {
    record
        .workloads
        .iter()
        .flat_map(|w| &w.paths)
        .filter_map(|p| p.instr.as_ref()?.metrics.as_ref()?.callgrind.as_ref())
        .collect()
}

/// Copies the profiles of `record` from the directory it was read from to the one it is
/// saved in, under the same relative paths (the record, sealed, is not changed). A profile
/// missing or changed at the source is not copied; each is said in the returned list.
pub fn copy(record: &RunRecord, from: &Path, to: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for file in kept(record) {
        let source = from.join(&file.path);
        match std::fs::read(&source) {
            Ok(bytes) if sha256_hex(&bytes) == file.sha256 => {
                let target = to.join(&file.path);
                if let Some(dir) = target.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                crate::sys::fs::write_atomic(&target, &bytes)?;
            }
            Ok(_) => problems.push(format!(
                "{}: not the profile its record sealed",
                source.display()
            )),
            Err(e) => problems.push(format!("{}: {e}", source.display())),
        }
    }
    Ok(problems)
}

/// Checks every profile `record` keeps (read from `record_dir`) against the digest the
/// record sealed: one line for those that match, one for each that does not (broken), or
/// that is not there (unchecked: a record copied without its profiles).
pub fn checks(record: &RunRecord, record_dir: &Path) -> Vec<crate::analysis::verify::Check> {
    use crate::analysis::verify::Check;
    let mut out = Vec::new();
    let mut matched = 0;
    for file in kept(record) {
        let path = record_dir.join(&file.path);
        if !path.exists() {
            out.push(Check::Unchecked(format!(
                "callgrind profile {} is not beside the record",
                path.display()
            )));
            continue;
        }
        match load(record_dir, file) {
            Ok(_) => matched += 1,
            Err(e) => out.push(Check::Broken(format!("callgrind profile {e}"))),
        }
    }
    if matched > 0 {
        out.insert(
            0,
            Check::Ok(format!(
                "{matched} callgrind profiles match the digests the record sealed"
            )),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_read_only_with_the_digest_its_record_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let text = "events: Ir\nfn=f\n1 7\n";
        std::fs::create_dir_all(dir.path().join("r.callgrind")).unwrap();
        std::fs::write(dir.path().join("r.callgrind/a.out"), text).unwrap();
        let good = ProfileFile {
            path: "r.callgrind/a.out".into(),
            sha256: sha256_hex(text.as_bytes()),
        };
        assert_eq!(load(dir.path(), &good).unwrap().total(), 7);
        let edited = ProfileFile {
            sha256: sha256_hex(b"other"),
            ..good.clone()
        };
        let err = load(dir.path(), &edited).unwrap_err();
        assert!(
            err.contains("r.callgrind/a.out") && err.contains("is not the"),
            "{err}"
        );
        let missing = ProfileFile {
            path: "r.callgrind/b.out".into(),
            ..good
        };
        assert!(
            load(dir.path(), &missing)
                .unwrap_err()
                .contains("r.callgrind/b.out")
        );
    }

    #[test]
    fn verify_names_a_changed_or_missing_profile() {
        use crate::analysis::verify::Check;
        let dir = tempfile::tempdir().unwrap();
        let text = "events: Ir\nfn=f\n1 7\n";
        std::fs::create_dir_all(dir.path().join("r.callgrind")).unwrap();
        std::fs::write(dir.path().join("r.callgrind/a.out"), text).unwrap();
        let mut record = crate::analysis::fixture::run();
        {
            let mut metrics = record
                .workloads
                .iter_mut()
                .flat_map(|w| w.paths.iter_mut())
                .filter_map(|p| p.instr.as_mut()?.metrics.as_mut());
            metrics.next().unwrap().callgrind = Some(ProfileFile {
                path: "r.callgrind/a.out".into(),
                sha256: sha256_hex(text.as_bytes()),
            });
            metrics.next().unwrap().callgrind = Some(ProfileFile {
                path: "r.callgrind/gone.out".into(),
                sha256: sha256_hex(b"x"),
            });
        }
        let found = checks(&record, dir.path());
        assert!(
            matches!(&found[0], Check::Ok(l) if l.starts_with("1 callgrind profiles match")),
            "{found:?}"
        );
        assert!(
            matches!(&found[1], Check::Unchecked(l) if l.contains("gone.out")),
            "{found:?}"
        );
        std::fs::write(
            dir.path().join("r.callgrind/a.out"),
            "events: Ir\nfn=f\n1 8\n",
        )
        .unwrap();
        let found = checks(&record, dir.path());
        assert!(
            found.iter().any(
                |c| matches!(c, Check::Broken(l) if l.contains("a.out") && l.contains("is not the"))
            ),
            "{found:?}"
        );
    }
}
