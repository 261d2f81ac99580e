//! `benchseal baseline save|list|show` and `benchseal history`.

use std::path::Path;

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::support::benchseal_in;
use crate::support::records::*;

fn run_file(dir: &Path, id: &str, started: &str, benches: &[Bench]) -> std::path::PathBuf {
    write(
        dir,
        &format!("reports/runs/{id}.json"),
        &seal(record_json(id, started, benches, &[])),
    )
}

/// A store holding run `run-1` and baseline `version` made from it.
fn store_with_baseline(version: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    run_file(
        dir.path(),
        "run-1",
        "2026-01-01T00:00:00Z",
        &two_benches(1000.0, 5000.0, 1),
    );
    save(dir.path(), &["--version", version, "--from", "run-1"]).code(0);
    dir
}

fn save(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    benchseal_in(dir)
        .args(["baseline", "save"])
        .args(args)
        .assert()
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(
                    entry
                        .path()
                        .strip_prefix(dir)
                        .unwrap()
                        .display()
                        .to_string(),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn save_promotes_the_newest_complete_run_with_its_digests() {
    let dir = tempfile::tempdir().unwrap();
    let benches = two_benches(1000.0, 5000.0, 1);
    run_file(dir.path(), "run-1", "2026-01-01T00:00:00Z", &benches);
    let newest = run_file(dir.path(), "run-2", "2026-01-02T00:00:00Z", &benches);
    // An interrupted, newer run is not a candidate.
    let mut partial = record_json("run-3", "2026-01-03T00:00:00Z", &benches, &[]);
    partial["complete"] = json!(false);
    std::fs::write(
        dir.path().join("reports/runs/run-3.json"),
        partial.to_string(),
    )
    .unwrap();

    save(dir.path(), &["--version", "1.4.0"]).code(0).stdout(
        predicate::str::contains("saved baseline 1.4.0").and(predicate::str::contains("run run-2")),
    );
    let stored = dir.path().join(format!("baselines/1.4.0/{CLASS}.json"));
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        std::fs::read(&newest).unwrap(),
        "stored unchanged"
    );
    let digests: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("baselines/1.4.0/digests.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(digests["schema"], "benchseal.digests/1");
    assert_eq!(
        digests["workloads"]["codec/comp3/s9v2/tiny"]["output_sha256"],
        json!(digest_of("codec/comp3/s9v2/tiny"))
    );
    assert_eq!(
        files_under(&dir.path().join("baselines")),
        vec![
            "1.4.0/digests.json".to_string(),
            format!("1.4.0/{CLASS}.json")
        ],
        "no temporary files are left behind"
    );
}

#[test]
fn list_and_show_describe_stored_baselines() {
    let dir = store_with_baseline("1.4.0");
    benchseal_in(dir.path())
        .args(["baseline", "list"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(format!(
                r"1\.4\.0\s+{CLASS}\s+run-1\s+2026-01-01T00:00:00Z\s+2\s+ok"
            ))
            .unwrap(),
        );
    let listed: Value = serde_json::from_slice(
        &benchseal_in(dir.path())
            .args(["baseline", "list", "--format", "json"])
            .assert()
            .code(0)
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(listed[0]["workloads"], 2);
    benchseal_in(dir.path())
        .args(["baseline", "show", "--version", "1.4.0"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "baseline 1.4.0 for machine class {CLASS}"
        )))
        .stdout(predicate::str::contains("digests:    2 workloads"))
        .stdout(predicate::str::contains("codec/comp3/s9v2/tiny"));
    benchseal_in(dir.path())
        .args(["baseline", "show", "1.4.0", "--machine-class", "other"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no baseline for machine class `other`",
        ));
}

#[test]
fn versions_that_could_escape_the_store_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    run_file(
        dir.path(),
        "run-1",
        "2026-01-01T00:00:00Z",
        &two_benches(1000.0, 5000.0, 1),
    );
    for version in [
        "..",
        "../outside",
        "a/b",
        "a\\b",
        "/tmp/abs",
        "",
        ".hidden",
        "v1\u{1b}",
    ] {
        save(dir.path(), &["--version", version, "--from", "run-1"])
            .code(2)
            .stderr(predicate::str::contains("version"));
    }
    assert!(!dir.path().join("baselines").exists());
    assert!(!dir.path().join("outside").exists());
    benchseal_in(dir.path())
        .args(["baseline", "show", "../reports"])
        .assert()
        .code(2);
}

#[test]
fn unsealed_incomplete_tampered_or_invalid_runs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let benches = two_benches(1000.0, 5000.0, 1);
    let unsealed = record_json("unsealed", "2026-01-01T00:00:00Z", &benches, &[]);
    std::fs::create_dir_all(dir.path().join("reports/runs")).unwrap();
    std::fs::write(
        dir.path().join("reports/runs/unsealed.json"),
        unsealed.to_string(),
    )
    .unwrap();
    save(dir.path(), &["--version", "1.0.0", "--from", "unsealed"])
        .code(2)
        .stderr(predicate::str::contains("sealed"));

    let mut incomplete = record_json("incomplete", "2026-01-01T00:00:00Z", &benches, &[]);
    incomplete["complete"] = json!(false);
    write(
        dir.path(),
        "reports/runs/incomplete.json",
        &seal(incomplete),
    );
    save(dir.path(), &["--version", "1.0.0", "--from", "incomplete"])
        .code(2)
        .stderr(predicate::str::contains("field `complete` is false"));

    let tampered = run_file(dir.path(), "tampered", "2026-01-01T00:00:00Z", &benches);
    let text = std::fs::read_to_string(&tampered)
        .unwrap()
        .replacen("abc123", "abc124", 1);
    std::fs::write(&tampered, text).unwrap();
    save(dir.path(), &["--version", "1.0.0", "--from", "tampered"])
        .code(3)
        .stderr(predicate::str::contains("seal mismatch"));

    let mut invalid = record_json("invalid", "2026-01-01T00:00:00Z", &benches, &[]);
    invalid["workloads"][0]["paths"][0]["status"] = json!("invalid");
    invalid["workloads"][0]["paths"][0]["reason"] = json!("output digest differs from golden");
    write(dir.path(), "reports/runs/invalid.json", &seal(invalid));
    save(dir.path(), &["--version", "1.0.0", "--from", "invalid"])
        .code(3)
        .stderr(predicate::str::contains("failed their digest check"));

    assert!(
        !dir.path().join("baselines/1.0.0").exists(),
        "nothing was written"
    );
}

#[test]
fn replacing_a_baseline_needs_force_and_a_failed_save_leaves_it_intact() {
    let dir = store_with_baseline("1.0.0");
    run_file(
        dir.path(),
        "run-2",
        "2026-01-02T00:00:00Z",
        &two_benches(1010.0, 5000.0, 2),
    );
    save(dir.path(), &["--version", "1.0.0", "--from", "run-1"])
        .code(0)
        .stdout(predicate::str::contains("already run run-1"));
    save(dir.path(), &["--version", "1.0.0", "--from", "run-2"])
        .code(2)
        .stderr(predicate::str::contains("pass --force"));

    let stored = dir.path().join(format!("baselines/1.0.0/{CLASS}.json"));
    let before = std::fs::read(&stored).unwrap();
    // A run whose output digest differs from the golden digests stored for 1.0.0.
    let mut other = two_benches(1000.0, 5000.0, 3);
    other[0].output_sha256 = digest_of("a different output");
    run_file(dir.path(), "run-bad", "2026-01-03T00:00:00Z", &other);
    save(
        dir.path(),
        &["--version", "1.0.0", "--from", "run-bad", "--force"],
    )
    .code(3)
    .stderr(predicate::str::contains(
        "disagrees with the golden digests",
    ));
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        before,
        "the failed save changed nothing"
    );

    save(
        dir.path(),
        &["--version", "1.0.0", "--from", "run-2", "--force"],
    )
    .code(0);
    assert_ne!(std::fs::read(&stored).unwrap(), before);
}

#[test]
fn no_runs_to_promote_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    save(dir.path(), &["--version", "1.0.0"])
        .code(2)
        .stderr(predicate::str::contains("no complete run"));
}

#[test]
fn a_corrupt_baseline_is_bad_input_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("baselines/1.0.0")).unwrap();
    std::fs::copy(
        fixture("truncated.json"),
        dir.path().join("baselines/1.0.0/some-class.json"),
    )
    .unwrap();
    benchseal_in(dir.path())
        .args(["baseline", "show", "1.0.0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "some-class.json: field `workloads[0].paths[0].wall.metrics.median_ns`: not valid JSON",
        ));
}

#[test]
fn an_unreadable_baseline_file_is_named_and_the_listing_goes_on() {
    let dir = store_with_baseline("1.4.0");
    let baselines = dir.path().join("baselines");
    std::fs::create_dir_all(baselines.join("1.0.0")).unwrap();
    std::fs::copy(
        fixture("truncated.json"),
        baselines.join("1.0.0/some-class.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(baselines.join("gone"), baselines.join("dangling")).unwrap();
    benchseal_in(dir.path())
        .args(["baseline", "list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1.4.0"))
        .stderr(predicate::str::contains(
            "benchseal: warning: skipping baselines/1.0.0/some-class.json: field `workloads[0]",
        ))
        .stderr(predicate::str::contains(
            "benchseal: warning: skipping baselines/dangling: No such file or directory",
        ));
}

#[test]
fn history_finds_the_run_where_a_workload_slowed_down() {
    let dir = tempfile::tempdir().unwrap();
    for (i, center) in [1000.0, 1004.0, 998.0, 1001.0, 1150.0, 1148.0, 1152.0]
        .iter()
        .enumerate()
    {
        let benches = vec![Bench::new("codec/comp3/s9v2/tiny", *center, i as u64)];
        run_file(
            dir.path(),
            &format!("run-{i}"),
            &format!("2026-01-0{}T00:00:00Z", i + 1),
            &benches,
        );
    }
    save(dir.path(), &["--version", "1.0.0", "--from", "run-1"]).code(0);
    benchseal_in(dir.path())
        .args(["history", "--workload", "codec/comp3"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "**benchseal history**: 2 series over 7 records, 1 change point(s)",
        ))
        .stdout(predicate::str::contains("- change at run `run-4`"))
        .stdout(predicate::str::contains(
            "| `run-1` | run, baseline 1.0.0 |",
        ));
    let out: Value = serde_json::from_slice(
        &benchseal_in(dir.path())
            .args([
                "history",
                "--workload",
                "codec/comp3/s9v2/tiny",
                "--format",
                "json",
            ])
            .assert()
            .code(0)
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(out["schema"], "benchseal.history/1");
    let wall = out["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metric"] == "wall")
        .unwrap();
    assert_eq!(wall["points"].as_array().unwrap().len(), 7);
    assert_eq!(wall["changes"].as_array().unwrap().len(), 1);
    assert_eq!(wall["changes"][0]["run_id"], "run-4");
    let shift = wall["changes"][0]["shift_pct"].as_f64().unwrap();
    assert!((shift - 15.0).abs() < 1.5, "{shift}");
    let instr = out["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metric"] == "instructions")
        .unwrap();
    assert!(instr["changes"].as_array().unwrap().is_empty());
}

#[test]
fn history_projects_when_a_slowing_workload_crosses_its_objective() {
    let dir = tempfile::tempdir().unwrap();
    // 4096 bytes in 1000, 1100, 1200, 1300 ns: 3.81 GiB/s falling by about 0.29 a run.
    for (i, center) in [1000.0, 1100.0, 1200.0, 1300.0].iter().enumerate() {
        let benches = vec![Bench::new("codec/comp3/s9v2-10/tiny", *center, i as u64)];
        run_file(
            dir.path(),
            &format!("run-{i}"),
            &format!("2026-01-0{}T00:00:00Z", i + 1),
            &benches,
        );
    }
    std::fs::write(
        dir.path().join("objectives.toml"),
        "schema = \"benchseal.slo/1\"\n[[objective]]\nid = \"comp3\"\nworkload = \"codec/comp3/s9v2-10/tiny\"\nmetric = \"throughput\"\ntarget = \">= 2 GiB/s\"\npriority = \"high\"\n",
    )
    .unwrap();
    let history = |over: &str| {
        let out = benchseal_in(dir.path())
            .args(["history", "--slo", "objectives.toml", "--over", over])
            .args(["--format", "json"])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let runs = history("runs");
    let projection = &runs["projections"][0];
    assert_eq!(projection["objective"], "comp3");
    assert_eq!(projection["points"].as_array().unwrap().len(), 4);
    assert_eq!(projection["trend"]["status"], "crosses", "{projection}");
    let steps = projection["trend"]["steps"].as_u64().unwrap();
    assert!((3..=5).contains(&steps), "{projection}");
    // No run is a release's baseline: nothing to project over releases.
    assert!(history("releases").get("projections").is_none());
    benchseal_in(dir.path())
        .args(["history", "--slo", "objectives.toml", "--over", "runs"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("### Projections"))
        .stdout(predicate::str::contains(format!(
            "crosses `>= 2 GiB/s` in about {steps} runs at this slope"
        )));
    benchseal_in(dir.path())
        .args(["history", "--slo", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.toml"));
}

#[test]
fn history_of_an_empty_store_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    benchseal_in(dir.path())
        .args(["history", "--format", "json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"series\": []"));
}

/// The same unsealed record is bad input (exit 2) in `history` as in `compare`.
#[test]
fn history_refuses_a_complete_run_that_was_never_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("reports/runs");
    std::fs::create_dir_all(&runs).unwrap();
    let unsealed = record_json(
        "run-1",
        "2026-01-01T00:00:00Z",
        &two_benches(1000.0, 5000.0, 1),
        &[],
    );
    std::fs::write(runs.join("run-1.json"), unsealed.to_string()).unwrap();
    benchseal_in(dir.path())
        .args(["history"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("run-1.json: field `seal` is null"));
}

/// What `benchseal run --compare-to V` relies on.
#[test]
fn a_finished_run_compares_with_the_baseline_of_its_machine_class() {
    use benchseal::analysis::compare::Policy;
    use benchseal::app::compare::compare_with_stored_baseline;
    let dir = store_with_baseline("1.0.0");
    let store = dir.path().join("baselines");
    let slower = seal(record_json(
        "run-2",
        "2026-01-02T00:00:00Z",
        &two_benches(1100.0, 5000.0, 2),
        &[],
    ));
    let comparison =
        compare_with_stored_baseline(&slower, "1.0.0", false, &store, &Policy::default()).unwrap();
    // A stored baseline is another session: the slowdown is reported, not gating.
    assert_eq!(
        comparison.outcome(),
        benchseal::model::outcome::Outcome::Success
    );
    assert_eq!(
        (
            comparison.summary.regressed,
            comparison.summary.informational
        ),
        (0, 1)
    );
    assert_eq!(comparison.old.run_id, "run-1");
    for version in ["2.0.0", "../1.0.0"] {
        let err = compare_with_stored_baseline(&slower, version, false, &store, &Policy::default())
            .unwrap_err();
        assert_eq!(benchseal::app::exit::code_for_error(&err), 2, "{err:#}");
    }
}
