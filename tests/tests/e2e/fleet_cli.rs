//! `run --shard I/N` and `benchseal merge` as a user meets them: bad shard specs, and
//! shard records that do not belong together (exit 2, naming the files). That shards of a
//! real run merge into what an unsharded run records is `run_record`'s test.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::support::benchseal;
use crate::support::records::{Bench, record_json, seal, write};

#[test]
fn bad_shard_specs_exit_2_and_say_why() {
    for (spec, why) in [
        ("3/2", "I = 3 is not below N = 2"),
        ("0/0", "N must be at least 1"),
        ("a/b", "I `a` is not a whole number"),
        ("2", "no `/`"),
    ] {
        benchseal()
            .args(["run", "--size", "tiny", "--shard", spec])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "bad shard `{spec}`: {why}"
            )));
    }
}

/// Shard `index` of 2 of a selection of two cases, one case each.
fn shard(index: usize, commit: &str) -> Value {
    let ids = ["sync/detect/text8k/tiny", "codec/comp3/s9v2/tiny"];
    let mut value = record_json(
        &format!("shard-{index}-{commit}"),
        "2026-01-01T00:00:00Z",
        &[Bench::new(ids[index], 1000.0, index as u64)],
        &[],
    );
    value["artifact"]["git_commit"] = json!(commit);
    value["shard"] = json!({
        "index": index, "count": 2,
        "selection": [format!("{}@simd", ids[0]), format!("{}@simd", ids[1])],
        "cases": [format!("{}@simd", ids[index])],
        "expected_cost": 1, "total_cost": 2,
    });
    value
}

fn shards(dir: &Path, commits: [&str; 2]) -> (PathBuf, PathBuf) {
    (
        write(dir, "s0.json", &seal(shard(0, commits[0]))),
        write(dir, "s1.json", &seal(shard(1, commits[1]))),
    )
}

fn merge(dir: &Path, files: &[&Path]) -> assert_cmd::assert::Assert {
    benchseal()
        .current_dir(dir)
        .arg("merge")
        .args(files)
        .arg("-o")
        .arg(dir.join("out/merged.json"))
        .assert()
}

#[test]
fn two_shards_merge_into_one_sealed_record_listing_its_parts() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = shards(dir.path(), ["abc123", "abc123"]);
    merge(dir.path(), &[&s1, &s0])
        .success()
        .stdout(predicate::str::contains("merged 2 shards of class"));
    let merged = benchseal::store::load(
        &dir.path().join("out/merged.json"),
        benchseal::store::Seal::Required,
    )
    .unwrap();
    let parts: Vec<(usize, String)> = merged
        .parts
        .iter()
        .map(|p| (p.index, p.file.clone()))
        .collect();
    assert_eq!(
        parts,
        [(0, s0.display().to_string()), (1, s1.display().to_string())]
    );
    let ids: Vec<String> = merged.workloads.iter().map(|w| w.id.to_string()).collect();
    assert_eq!(ids, ["sync/detect/text8k/tiny", "codec/comp3/s9v2/tiny"]);
}

#[test]
fn shards_that_do_not_belong_together_exit_2_naming_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let (s0, s1) = shards(dir.path(), ["abc123", "def456"]);
    merge(dir.path(), &[&s0, &s1]).code(2).stderr(
        predicate::str::contains("the commits differ")
            .and(predicate::str::contains("s0.json"))
            .and(predicate::str::contains("commit def456 in")),
    );
    // A record with itself.
    let (s0, s1) = shards(dir.path(), ["abc123", "abc123"]);
    merge(dir.path(), &[&s0, &s0])
        .code(2)
        .stderr(predicate::str::contains("cannot be merged with itself"));
    // One shard missing.
    merge(dir.path(), &[&s0])
        .code(2)
        .stderr(predicate::str::contains("shard 1/2 missing"));
    // A truncated record.
    let text = std::fs::read_to_string(&s1).unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    merge(dir.path(), &[&s0, &cut])
        .code(2)
        .stderr(predicate::str::contains("cut.json").and(predicate::str::contains("ends early")));
    assert!(
        !dir.path().join("out/merged.json").exists(),
        "nothing written"
    );
}
