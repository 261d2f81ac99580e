//! End to end: `benchseal run --quick --size tiny` through the real bench executables,
//! then the same again as two shards (`--shard 0/2`, `1/2`) joined by `benchseal merge`.
//! Both records must be sealed and complete, cover every registered tiny workload on every
//! path it registers with digests, wall statistics and instruction counts, and agree
//! exactly on digests and instruction counts.
//!
//! No runner needs to be on `PATH`: the instr engine finds or installs the pinned one and
//! puts it first on the bench process's `PATH`, and the records name the one used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use benchseal::model::record::{RunRecord, Status};
use benchseal_benches::{Size, registry};

use crate::support::benchseal;

/// One whole run, and the same selection run again as two shards and merged: the merged
/// record must hold what an unsharded run does.
fn make_records(dir: &Path) {
    let quick_tiny = ["run", "--quick", "--size", "tiny"];
    benchseal()
        .args(quick_tiny)
        .arg("--out")
        .arg(dir)
        .timeout(std::time::Duration::from_secs(1800))
        .assert()
        .success();
    let shards = tempfile::tempdir().unwrap();
    for shard in ["0/2", "1/2"] {
        benchseal()
            .args(quick_tiny)
            .args(["--shard", shard, "--out"])
            .arg(shards.path())
            .timeout(std::time::Duration::from_secs(1800))
            .assert()
            .success()
            .stderr(predicates::str::contains(format!("shard {shard}: ")));
    }
    let mut parts: Vec<PathBuf> = std::fs::read_dir(shards.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    parts.sort();
    assert_eq!(parts.len(), 2, "{parts:?}");
    benchseal()
        .arg("merge")
        .args(&parts)
        .arg("-o")
        .arg(dir.join("merged.json"))
        .assert()
        .success()
        .stdout(predicates::str::contains("merged 2 shards of class"));
}

fn load_records(dir: &Path) -> Vec<RunRecord> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| benchseal::store::load(p, benchseal::store::Seal::Unchecked).unwrap())
        .collect()
}

/// (workload@path) → (output digest, instruction count)
type Fingerprint = BTreeMap<String, (Option<String>, Option<u64>)>;

fn check(record: &RunRecord) -> Fingerprint {
    record.verify_seal().unwrap();
    assert!(record.complete, "{} is incomplete", record.run_id);
    assert!(record.options.quick);
    let mut fingerprint = Fingerprint::new();
    for workload in registry().iter().filter(|w| w.id.size == Size::Tiny) {
        let found = record
            .workload(&workload.id)
            .unwrap_or_else(|| panic!("{} is missing from {}", workload.id, record.run_id));
        assert!(
            found.input_sha256.is_some(),
            "{}: no input digest",
            workload.id
        );
        let paths: Vec<_> = found.paths.iter().map(|p| p.path).collect();
        assert_eq!(paths, workload.paths, "{}: paths", workload.id);
        for path in &found.paths {
            let key = format!("{}@{}", workload.id, path.path);
            match &path.status {
                Status::Skipped(_) => continue, // e.g. gpu without a device
                Status::Invalid(why) => panic!("{key}: invalid ({why})"),
                Status::Ok => {}
            }
            assert!(path.output_sha256.is_some(), "{key}: no output digest");
            let wall = path
                .wall
                .as_ref()
                .unwrap_or_else(|| panic!("{key}: no wall result"));
            assert_eq!(wall.status, Status::Ok, "{key}: wall");
            let stats = wall.metrics.as_ref().unwrap();
            assert!(stats.median_ns > 0.0, "{key}: median");
            assert!(
                stats.median_ci_lower_ns <= stats.median_ns
                    && stats.median_ns <= stats.median_ci_upper_ns,
                "{key}: CI"
            );
            assert!(stats.samples_ns.len() >= 10, "{key}: samples");
            let instr = path
                .instr
                .as_ref()
                .unwrap_or_else(|| panic!("{key}: no instr result"));
            assert_eq!(instr.status, Status::Ok, "{key}: instr");
            let metrics = instr.metrics.as_ref().unwrap();
            assert!(metrics.instructions > 0, "{key}: instructions");
            assert!(
                metrics.estimated_cycles.is_some() && metrics.l1_hits.is_some(),
                "{key}: cache metrics"
            );
            fingerprint.insert(
                key,
                (path.output_sha256.clone(), Some(metrics.instructions)),
            );
        }
    }
    // A tiny run scales the tiny parallel workloads: three GEMM layouts and three decodes,
    // each with one output at every thread count.
    assert_eq!(
        record.scaling.len(),
        6,
        "{}: {:?}",
        record.run_id,
        record.scaling
    );
    for scaling in &record.scaling {
        assert_eq!(scaling.status, Status::Ok, "{}", scaling.workload);
        assert_eq!(scaling.single().map(|p| p.threads), Some(1));
        let first = &scaling.points[0].output_sha256;
        assert!(
            scaling.points.iter().all(|p| &p.output_sha256 == first),
            "{}: {:?}",
            scaling.workload,
            scaling.points
        );
    }
    assert!(
        record.engine_failures.is_empty(),
        "{}: {:?}",
        record.run_id,
        record.engine_failures
    );
    let runner = record
        .artifact
        .tool_paths
        .get("gungraun-runner")
        .unwrap_or_else(|| panic!("{}: no runner path recorded", record.run_id));
    assert!(Path::new(runner).is_absolute(), "{runner}");
    assert_eq!(
        record
            .artifact
            .tools
            .get("gungraun-runner")
            .map(String::as_str),
        Some(benchseal::pipeline::engine::instr::GUNGRAUN_VERSION)
    );
    let executables = &record.artifact.bench_executables;
    if fingerprint.values().next().is_some() {
        assert!(
            executables.contains_key("wall") && executables.contains_key("instr"),
            "{executables:?}"
        );
    }
    fingerprint
}

#[test]
fn a_quick_tiny_run_and_its_merged_shards_are_sealed_complete_and_agree_exactly() {
    let own = tempfile::tempdir().unwrap();
    make_records(own.path());
    let dir = own.path().to_path_buf();
    let records = load_records(&dir);
    assert!(
        records.len() >= 2,
        "expected two run records in {}",
        dir.display()
    );
    let merged = records.last().unwrap();
    assert_eq!(merged.parts.len(), 2, "the last record is the merged one");
    assert!(merged.parts.iter().all(|p| p.count == 2));
    let first = check(&records[0]);
    for other in &records[1..] {
        let fingerprint = check(other);
        // Every key either run has, so a case only the second run measured is named too.
        let keys: std::collections::BTreeSet<_> = first.keys().chain(fingerprint.keys()).collect();
        let differing: Vec<String> = keys
            .into_iter()
            .filter(|key| first.get(*key) != fingerprint.get(*key))
            .map(|key| {
                format!(
                    "{key}: {:?} then {:?}",
                    first.get(key),
                    fingerprint.get(key)
                )
            })
            .collect();
        assert!(
            differing.is_empty(),
            "digests or instruction counts differ between runs:\n{}",
            differing.join("\n")
        );
        assert_eq!(
            other.artifact.bench_executables, records[0].artifact.bench_executables,
            "the runs measured different bench executables"
        );
    }
}
