//! `benchseal sync plan` as a user meets it.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use predicates::prelude::*;

use crate::support::benchseal;

fn write(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// src and dst with one create, one update by digest, one update by size, one delete and
/// one unchanged file, plus a `.tmp` file on each side.
fn sample_trees() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    write(&src, "docs/new.md", "brand new\n");
    write(&src, "docs/edit.md", "version 2\n");
    write(&dst, "docs/edit.md", "version 1\n");
    write(&src, "lib/grow.rs", "fn main() {}\n// more\n");
    write(&dst, "lib/grow.rs", "fn main() {}\n");
    write(&dst, "lib/old.rs", "gone\n");
    write(&src, "same.txt", "same\n");
    write(&dst, "same.txt", "same\n");
    write(&src, "scratch.tmp", "x");
    write(&dst, "scratch.tmp", "yy");
    dir
}

#[test]
fn plan_prints_aligned_columns_and_counts() {
    let dir = sample_trees();
    let out = benchseal()
        .args(["sync", "plan"])
        .arg(dir.path().join("src"))
        .arg(dir.path().join("dst"))
        .args(["--exclude", "*.tmp"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let expected = "\
ACTION     KIND     SIZE  PATH
update     file       10  docs/edit.md  (content differs)
create     file       10  docs/new.md
update     file       21  lib/grow.rs  (size differs)
delete     file        5  lib/old.rs
plan: 1 create, 2 update, 1 delete, 3 unchanged; 2 excluded; 0 problems
";
    assert_eq!(text, expected);
}

#[test]
fn plan_all_lists_unchanged_entries_too() {
    let dir = sample_trees();
    benchseal()
        .args(["sync", "plan", "--all"])
        .arg(dir.path().join("src"))
        .arg(dir.path().join("dst"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "unchanged  dir         -  docs/\n",
        ))
        .stdout(predicate::str::contains(
            "unchanged  file        5  same.txt\n",
        ))
        .stdout(predicate::str::contains(
            "update     file        1  scratch.tmp  (size differs)",
        ));
}

#[test]
fn plan_json_carries_schema_digests_and_non_utf8_bytes() {
    let dir = sample_trees();
    let src = dir.path().join("src");
    fs::write(src.join(OsStr::from_bytes(b"caf\xe9")), "latin-1").unwrap();
    let out = benchseal()
        .args(["sync", "plan", "--json"])
        .arg(&src)
        .arg(dir.path().join("dst"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["schema"], "benchseal.sync-plan/2");
    assert_eq!(json["summary"]["create"], 2);
    assert_eq!(json["summary"]["unchanged"], 3);
    let entries = json["entries"].as_array().unwrap();
    let same = entries.iter().find(|e| e["path"] == "same.txt").unwrap();
    assert_eq!(same["sha256"], sha256_hex(b"same\n"));
    let latin = entries
        .iter()
        .find(|e| e["path_bytes_hex"] == "636166e9")
        .unwrap();
    assert_eq!(latin["path"], "caf\\xe9");
    assert_eq!(latin["action"], "create");
}

/// SHA-256 from coreutils' `sha256sum`: an expected value independent of the code under
/// test (and the tests crate needs no hashing dependency of its own).
fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn unplannable_paths_are_listed_and_exit_1() {
    let dir = sample_trees();
    let src = dir.path().join("src");
    let status = std::process::Command::new("mkfifo")
        .arg(src.join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    benchseal()
        .args(["sync", "plan"])
        .arg(&src)
        .arg(dir.path().join("dst"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("1 problem\n"))
        .stdout(predicate::str::contains(
            "problems (these paths got no action):\n",
        ))
        .stdout(predicate::str::contains(
            "  source  special-file     pipe: fifo: not a regular file",
        ));
}

#[test]
fn missing_source_and_bad_glob_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    benchseal()
        .args(["sync", "plan"])
        .arg(dir.path().join("nope"))
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("source root").and(predicate::str::contains("nope")));
    benchseal()
        .args(["sync", "plan", "--exclude", "a[b"])
        .arg(dir.path())
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("exclusion glob `a[b`"));
}

#[test]
fn sync_plan_names_round_trip_losslessly_and_stay_on_one_row() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    fs::create_dir_all(&src).unwrap();
    for name in [&b"n\xff"[..], b"n\xfe", b"a\nb", b"back\\slash"] {
        fs::write(src.join(OsStr::from_bytes(name)), "").unwrap();
    }
    let dst = dir.path().join("dst");
    let plan = |json: bool| {
        let mut cmd = benchseal();
        cmd.args(["sync", "plan"]).arg(&src).arg(&dst);
        if json {
            cmd.arg("--json");
        }
        String::from_utf8(cmd.assert().success().get_output().stdout.clone()).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&plan(true)).unwrap();
    let mut paths: Vec<&str> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, ["a\nb", "back\\\\slash", "n\\xfe", "n\\xff"]);
    let table = plan(false);
    for name in [r"a\x0ab", r"back\\slash", r"n\xfe", r"n\xff"] {
        let row = format!("create     file        0  {name}\n");
        assert!(table.contains(&row), "{row:?} in\n{table}");
    }
}

#[test]
fn tree_writes_the_workload_trees_that_plan_then_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    fs::create_dir(&dst).unwrap();
    benchseal()
        .args(["sync", "tree", "--size", "tiny"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "wrote sync/plan/tree-26-dirs/tiny (104 source files)",
        ));
    assert_eq!(fs::read_dir(&src).unwrap().count(), 26, "26 folders a..z");
    let out = benchseal()
        .args(["sync", "plan", "--json", "--exclude", "**/*.tmp"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plan: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for action in ["create", "update", "delete", "unchanged"] {
        assert!(plan["summary"][action].as_u64().unwrap() > 0, "{action}");
    }
    assert!(plan["summary"]["excluded"].as_u64().unwrap() > 0);
}

#[test]
fn tree_refuses_a_non_empty_directory_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    write(&dst, "precious.txt", "keep me");
    benchseal()
        .args(["sync", "tree"])
        .arg(&src)
        .arg(&dst)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "target {} is not empty",
            dst.display()
        )));
    assert!(!src.exists(), "nothing is written when one side is refused");
    assert_eq!(
        fs::read_to_string(dst.join("precious.txt")).unwrap(),
        "keep me"
    );
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    benchseal()
        .args(["sync", "tree"])
        .arg(&file)
        .arg(&src)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "source {}: not a directory",
            file.display()
        )));
}
