//! `benchseal signoff` end to end: decisions, exit codes, refusals, atomic output.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use benchseal::analysis::fixture;
use benchseal::model::record::{RunRecord, Status};
use predicates::prelude::*;

use crate::support::{benchseal_dated, signing};

/// A clean git repository holding the example SLO file, a signers file and the run record,
/// made from the repository's commit and signed by the listed key (`release_key`).
fn workspace(run: &RunRecord, slo: &str) -> (tempfile::TempDir, PathBuf) {
    let (dir, mut runs) = workspace_with(&[("run.json", run)], slo);
    (dir, runs.remove(0))
}

/// A clean git repository holding `slo` as `slo.toml`, a signers file and each run record
/// under `runs/<name>`, each made from the repository's commit and signed by the listed key
/// (`release_key`).
pub(crate) fn workspace_with(
    runs: &[(&str, &RunRecord)],
    slo: &str,
) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slo.toml"), slo).unwrap();
    let key = signing::listed_key(dir.path());
    let runs_dir = dir.path().join("runs");
    std::fs::create_dir_all(&runs_dir).unwrap();
    std::fs::write(
        dir.path().join(".gitignore"),
        "runs/\nreports/\nrelease_key*\n",
    )
    .unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "fixture"]);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap().trim().to_string();
    let mut paths = Vec::new();
    for (name, run) in runs {
        let mut run = (*run).clone();
        run.artifact.git_commit = Some(head.clone());
        run.seal().unwrap();
        let run_path = runs_dir.join(name);
        benchseal::store::save(&run, &run_path).unwrap();
        signing::sign(&key, &run_path);
        paths.push(run_path);
    }
    (dir, paths)
}

fn signoff(dir: &Path, run: &Path) -> Command {
    let mut cmd = benchseal_dated(dir);
    cmd.args(["signoff", "--version", "0.1.0", "--no-processes", "--run"])
        .arg(run);
    cmd
}

/// The example SLO file without its failing objective.
pub(crate) fn passing_slo() -> String {
    fixture::FIXTURE_SLO.replace("target = \">= 1 GiB/s\"", "target = \">= 0.5 GiB/s\"")
}

#[test]
fn failing_high_objective_is_no_go_with_exit_1_and_writes_all_three_files() {
    let (dir, run) = workspace(&fixture::run(), fixture::FIXTURE_SLO);
    signoff(dir.path(), &run)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("sign-off: NO-GO"))
        .stdout(predicate::str::contains("codec-comp3-throughput"));
    let out = dir.path().join("reports/v0.1.0");
    for name in ["signoff.md", "signoff.html", "signoff.json"] {
        assert!(out.join(name).is_file(), "{name} written");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
}

#[test]
fn all_blocking_objectives_passing_is_go_with_exit_0() {
    let (dir, run) = workspace(&fixture::run(), &passing_slo());
    signoff(dir.path(), &run)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("sign-off: GO"));
    let md = std::fs::read_to_string(dir.path().join("reports/v0.1.0/signoff.md")).unwrap();
    assert!(md.contains("# Sign-off: benchseal v0.1.0 — GO"));
    assert!(md.contains("working tree clean"));
}

#[test]
fn broken_digest_is_exit_3() {
    let mut run = fixture::run();
    run.workloads[0].paths[1].output_sha256 = Some("00".repeat(32));
    run.seal().unwrap();
    let (dir, path) = workspace(&run, &passing_slo());
    signoff(dir.path(), &path)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("reproducibility broken"));
}

#[test]
fn edited_run_record_is_refused_with_exit_3() {
    let (dir, path) = workspace(&fixture::run(), &passing_slo());
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "\"median_ns\": 14000000.0",
        "\"median_ns\": 1400000.0",
        1,
    );
    std::fs::write(&path, text).unwrap();
    signoff(dir.path(), &path)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("seal mismatch"));
}

#[test]
fn dirty_tree_is_refused_unless_allowed_and_then_stated() {
    let (dir, run) = workspace(&fixture::run(), &passing_slo());
    std::fs::write(dir.path().join("uncommitted.txt"), "x").unwrap();
    signoff(dir.path(), &run)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--allow-dirty"));
    signoff(dir.path(), &run)
        .arg("--allow-dirty")
        .assert()
        .code(0);
    let md = std::fs::read_to_string(dir.path().join("reports/v0.1.0/signoff.md")).unwrap();
    assert!(md.contains("Signed off with --allow-dirty"));
    let html = std::fs::read_to_string(dir.path().join("reports/v0.1.0/signoff.html")).unwrap();
    assert!(html.contains("Signed off with --allow-dirty"));
}

#[test]
fn bad_slo_file_is_exit_2_with_line_and_column() {
    let (dir, run) = workspace(
        &fixture::run(),
        &fixture::FIXTURE_SLO.replace("metric = \"speedup\"", "metric = \"sped\""),
    );
    signoff(dir.path(), &run)
        .arg("--allow-dirty")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "slo.toml:34:10: objective `quant-simd-speedup`: field `metric`: unknown metric `sped`",
        ));
}

/// `--quick` runs the quick suite; a stored run has its own suite, so the two are refused
/// together, exit 2, naming both.
#[test]
fn quick_with_a_stored_run_is_exit_2() {
    let (dir, run) = workspace(&fixture::run(), &passing_slo());
    signoff(dir.path(), &run)
        .arg("--quick")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--quick").and(predicate::str::contains("--run")));
}

#[test]
fn missing_run_record_is_exit_2() {
    let (dir, _) = workspace(&fixture::run(), &passing_slo());
    signoff(dir.path(), Path::new("runs/none.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("runs/none.json"));
}

#[test]
fn process_objectives_are_measured_by_the_process_engine() {
    let mut run = fixture::run();
    run.processes.clear();
    run.seal().unwrap();
    // Generous targets: this test checks the engine's record, never timing.
    let slo = passing_slo()
        .replace("runs = 50", "runs = 3")
        .replace("<= 20 ms", "<= 1 min")
        .replace("< 64 MiB", "< 1 GiB");
    let (dir, path) = workspace(&run, &slo);
    let mut cmd = benchseal_dated(dir.path());
    cmd.args(["signoff", "--version", "0.1.0", "--run"])
        .arg(&path)
        .assert()
        .code(0);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("reports/v0.1.0/signoff.json")).unwrap(),
    )
    .unwrap();
    let process = &report["inputs"]["run"]["processes"][0];
    assert_eq!(process["id"], "harness-startup");
    assert_eq!(process["runs"], 3);
    assert_eq!(process["status"], "ok");
    assert!(process["peak_rss_bytes"].as_u64().unwrap() > 0);
    let startup = report["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "harness-startup-p95")
        .unwrap();
    assert_ne!(startup["status"], "skipped");
}

#[test]
fn objective_on_an_absent_workload_is_skipped_never_passed() {
    let mut run = fixture::run();
    run.workloads
        .retain(|w| !w.id.to_string().starts_with("codec/display"));
    run.seal().unwrap();
    let (dir, path) = workspace(&run, &passing_slo());
    // The DISPLAY objective is critical: skipped, it blocks the release.
    signoff(dir.path(), &path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "critical objective codec-display-throughput skipped: workload not in run",
        ));
}

#[test]
fn invalid_path_fails_its_objective() {
    let mut run = fixture::run();
    run.workloads[2].paths[1].status = Status::Invalid("output digest differs from golden".into());
    run.seal().unwrap();
    let (dir, path) = workspace(&run, &passing_slo());
    signoff(dir.path(), &path)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("quant-gemv-throughput fail"));
}

/// The forgery an auditor tried: every wall time scaled by 0.25 and the seal recomputed.
fn forge(path: &Path) {
    let mut run = benchseal::store::load(path, benchseal::store::Seal::Required).unwrap();
    for w in &mut run.workloads {
        for p in &mut w.paths {
            if let Some(m) = p.wall.as_mut().and_then(|r| r.metrics.as_mut()) {
                m.median_ns *= 0.25;
            }
        }
    }
    run.seal().unwrap();
    benchseal::store::save(&run, path).unwrap();
}

#[test]
fn a_forged_and_resealed_run_is_refused_by_signoff_and_by_a_foreign_key() {
    let (dir, run) = workspace(&fixture::run(), &passing_slo());
    forge(&run);
    // The old signature no longer matches the bytes.
    signoff(dir.path(), &run)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("changed after it was signed"));
    // Re-signed by a key that allowed_signers does not list.
    let (foreign, _) = signing::key(dir.path(), "release_key_foreign");
    signing::sign(&foreign, &run);
    signoff(dir.path(), &run)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown key"))
        .stderr(predicate::str::contains("--allow-unsigned"));
    assert!(
        !dir.path().join("reports/v0.1.0").exists(),
        "nothing written"
    );
    // Pushed through with --allow-unsigned: written, NO-GO, stated in the decision.
    signoff(dir.path(), &run)
        .arg("--allow-unsigned")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not signed by a listed signer"));
    // And verify says the unsigned report is broken, not OK.
    benchseal_dated(dir.path())
        .args(["verify", "reports/v0.1.0"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("integrity: BROKEN"));
}

#[test]
fn a_run_of_another_commit_or_version_is_refused_unless_allowed_and_recorded() {
    let mut run = fixture::run();
    run.artifact.version = "0.0.7".into();
    run.seal().unwrap();
    let (dir, path) = workspace(&run, &passing_slo());
    signoff(dir.path(), &path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the run is benchseal 0.0.7, the report is for 0.1.0",
        ));
    signoff(dir.path(), &path)
        .arg("--allow-other-version")
        .assert()
        .code(0);
    let md = std::fs::read_to_string(dir.path().join("reports/v0.1.0/signoff.md")).unwrap();
    assert!(
        md.contains("**Allowed: --allow-other-version: the run is benchseal 0.0.7"),
        "{md}"
    );
    assert!(
        md.contains(&format!("signed by {}", signing::SIGNER)),
        "{md}"
    );
    // Another commit than HEAD.
    let mut other = benchseal::store::load(&path, benchseal::store::Seal::Required).unwrap();
    other.artifact.version = "0.1.0".into();
    other.artifact.git_commit = Some("0".repeat(40));
    other.seal().unwrap();
    benchseal::store::save(&other, &path).unwrap();
    signing::sign(&dir.path().join("release_key"), &path);
    signoff(dir.path(), &path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--allow-other-commit, which the report records",
        ));
}

#[test]
fn a_signed_report_verifies_with_ssh_keygen_and_missing_files_are_broken() {
    let (dir, run) = workspace(&fixture::run(), &passing_slo());
    signoff(dir.path(), &run)
        .args(["--sign-key", "release_key"])
        .assert()
        .code(0);
    let out = dir.path().join("reports/v0.1.0");
    benchseal_dated(dir.path())
        .args(["verify", "reports/v0.1.0"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "signoff.json: signed by {}",
            signing::SIGNER
        )));
    // The stock tool, with no benchseal involved.
    for name in ["signoff.json", "signoff.md", "signoff.html"] {
        let file = std::fs::File::open(out.join(name)).unwrap();
        let verified = std::process::Command::new("ssh-keygen")
            .args([
                "-Y",
                "verify",
                "-f",
                "allowed_signers",
                "-I",
                signing::SIGNER,
            ])
            .args(["-n", "benchseal", "-s"])
            .arg(out.join(format!("{name}.sig")))
            .current_dir(dir.path())
            .stdin(file)
            .output()
            .expect("ssh-keygen (openssh-client) is installed");
        assert!(
            verified.status.success(),
            "ssh-keygen -Y verify {name}: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
    }
    std::fs::remove_file(out.join("signoff.html")).unwrap();
    benchseal_dated(dir.path())
        .args(["verify", "reports/v0.1.0"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "signoff.html is missing beside the signed report",
        ));
}

#[test]
fn bad_output_paths_are_exit_2_said_once() {
    let (dir, run) = workspace(&fixture::run(), &passing_slo());
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let file_arg = file.display().to_string();
    let check = |cmd: &mut Command, expected: &str| {
        let assert = cmd.assert().code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert_eq!(stderr.matches(expected).count(), 1, "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
    };
    check(
        signoff(dir.path(), &run).args(["--out-dir", &file_arg]),
        "a-file is not a directory",
    );
    check(
        benchseal_dated(dir.path()).args(["run", "--quick", "--out", &file_arg]),
        "a-file is not a directory",
    );
    check(
        benchseal_dated(dir.path())
            .args(["measure", "--runs", "1", "--out"])
            .arg(dir.path())
            .args(["--", "true"]),
        "it is a directory",
    );
    check(
        benchseal_dated(dir.path())
            .args([
                "digests",
                "--write",
                "--workload",
                "codec/binary/mixed-10/tiny",
                "--golden",
            ])
            .arg(dir.path()),
        "it is a directory",
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"", "nothing written");
}

#[test]
fn an_unreadable_older_baseline_costs_its_history_point_not_the_signoff() {
    let (dir, run) = workspace(&fixture::run(), &passing_slo());
    let store = tempfile::tempdir().unwrap();
    let class = fixture::run().env.machine_class;
    std::fs::create_dir_all(store.path().join("0.0.1")).unwrap();
    let broken = store.path().join(format!("0.0.1/{class}.json"));
    std::fs::write(&broken, "{ not json").unwrap();
    std::os::unix::fs::symlink(store.path().join("gone"), store.path().join("dangling")).unwrap();
    signoff(dir.path(), &run)
        .arg("--baselines-dir")
        .arg(store.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!(
            "benchseal: warning: skipping baseline 0.0.1 in the history trend: {}",
            broken.display()
        )))
        .stderr(predicate::str::contains("dangling"));
    assert!(dir.path().join("reports/v0.1.0/signoff.json").is_file());
}
