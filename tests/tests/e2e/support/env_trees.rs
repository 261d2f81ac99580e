//! Helpers shared by the environment tests: fixture system trees and tree snapshots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A fixture system tree under `tests/fixtures/env/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/env")
        .join(name)
}

/// What `benchseal env --json` prints on the machine of the fixture tree `name`.
pub fn env_json(name: &str) -> Vec<u8> {
    let no_tools = tempfile::tempdir().unwrap();
    super::benchseal_env(&fixture(name), no_tools.path())
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// Copies a fixture into a temporary directory that a test may write to.
pub fn writable_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture(name), dir.path());
    dir
}

pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir` with its bytes, by relative path.
pub fn tree_contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}
