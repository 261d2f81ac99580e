//! `benchseal measure`: the process engine on whole commands (structure, never timing).

use predicates::prelude::*;

use crate::support::benchseal;

/// Three runs: mean ± σ, the range and the median; the p95 and p99 are held back, with the
/// number of runs each needs.
#[test]
fn true_is_measured_with_the_statistics_its_runs_support() {
    let time = r"[0-9.]+ (ns|µs|ms|s)";
    benchseal()
        .args(["measure", "--runs", "3", "--", "true"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(format!(
                "true: true\n  time \\(mean ± σ\\)    {time} ± {time}   \\[3 runs\\]\n  \
                 range \\(min … max\\)  {time} … {time}\n  \
                 percentiles        p50 {time}  not shown: 3 runs \\(p95 needs ≥ 20, p99 needs ≥ 100\\)\n  \
                 peak RSS           [0-9.]+ MiB\n"
            ))
            .unwrap(),
        );
}

#[test]
fn sleep_with_arguments_is_measured() {
    benchseal()
        .args([
            "measure", "--runs", "2", "--warmup", "0", "--id", "nap", "--", "sleep", "0.01",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("nap: sleep 0.01"));
}

#[test]
fn failing_command_is_invalid_and_exit_1() {
    benchseal()
        .args(["measure", "--runs", "2", "--", "false"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "invalid (warm-up run 1 of `false`: exit code 1)",
        ));
}

#[test]
fn missing_program_is_exit_2() {
    benchseal()
        .args(["measure", "--", "/nonexistent/program"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/program"));
}

#[test]
fn no_command_is_a_usage_error() {
    benchseal().args(["measure"]).assert().code(2);
}

#[test]
fn out_appends_to_a_run_record_and_reseals_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    for _ in 0..2 {
        benchseal()
            .args(["measure", "--runs", "2", "--id", "t", "--out"])
            .arg(&out)
            .args(["--", "true"])
            .assert()
            .code(0);
    }
    benchseal()
        .args([
            "measure", "--runs", "2", "--id", "u", "--unit", "bytes", "--units", "1024", "--out",
        ])
        .arg(&out)
        .args(["--", "true"])
        .assert()
        .code(0);
    let run = benchseal::store::load(&out, benchseal::store::Seal::Unchecked).unwrap();
    run.verify_seal().unwrap();
    let ids: Vec<_> = run.processes.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        ["t", "u"],
        "a second measurement with the same id replaces the first"
    );
    assert_eq!(run.processes[0].runs, 2);
    assert_eq!(run.processes[0].samples_ns.len(), 2);
    assert_eq!(run.processes[1].units, Some(1024));
}

#[test]
fn out_refuses_to_reseal_an_edited_record() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.json");
    benchseal()
        .args(["measure", "--runs", "1", "--out"])
        .arg(&out)
        .args(["--", "true"])
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&out)
        .unwrap()
        .replace("\"runs\": 1", "\"runs\": 7");
    std::fs::write(&out, text).unwrap();
    benchseal()
        .args(["measure", "--runs", "1", "--out"])
        .arg(&out)
        .args(["--", "true"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("seal mismatch"));
}

/// What `signoff` reads from the measuring process it starts for each `[[process]]`.
#[test]
fn json_is_the_process_record_and_a_failed_command_still_gives_one() {
    let output = benchseal()
        .args([
            "measure", "--json", "--runs", "2", "--warmup", "0", "--id", "t",
        ])
        .args(["--unit", "bytes", "--units", "10", "--", "true"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let record: benchseal::model::record::ProcessRecord = serde_json::from_slice(&output).unwrap();
    assert_eq!((record.id.as_str(), record.runs), ("t", 2));
    assert!(record.status.is_ok());
    // `true` in a small measuring process: a few MiB, never the size of a parent.
    assert!(
        record.peak_rss_bytes.is_some_and(|b| b > 0 && b < 64 << 20),
        "{record:?}"
    );
    let failed = benchseal()
        .args(["measure", "--json", "--runs", "1", "--", "false"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let failed: benchseal::model::record::ProcessRecord = serde_json::from_slice(&failed).unwrap();
    assert!(failed.status.is_invalid(), "{failed:?}");
}
