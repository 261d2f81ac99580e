//! `benchseal signoff` of a fleet: several runs, one per machine class, each judged against
//! its own class; one decision; refusals of what cannot be signed off together; `verify` of
//! the fleet report.
//!
//! The second machine class is honest: each run's environment snapshot is what
//! `benchseal env --json` captures from a fixture system tree (`BENCHSEAL_SYSROOT`), and
//! the class is recomputed from it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use benchseal::analysis::fixture;
use benchseal::model::env::EnvSnapshot;
use benchseal::model::record::{RunRecord, Shard};
use predicates::prelude::*;

use crate::signoff::{passing_slo, workspace_with};
use crate::support::benchseal_dated;
use crate::support::env_trees::env_json;

/// The example run, on the machine of the fixture system tree `tree`.
fn run_on(tree: &str) -> RunRecord {
    let env: EnvSnapshot = serde_json::from_slice(&env_json(tree)).unwrap();
    let mut run = fixture::run();
    run.env = env;
    run.seal().unwrap();
    run
}

/// `run`, with its COMP-3 decodes four times slower: its COMP-3 objective fails.
fn slower_comp3(mut run: RunRecord) -> RunRecord {
    for w in run
        .workloads
        .iter_mut()
        .filter(|w| w.id.to_string().starts_with("codec/comp3"))
    {
        for p in &mut w.paths {
            if let Some(stats) = p.wall.as_mut().and_then(|r| r.metrics.as_mut()) {
                stats.median_ns *= 4.0;
            }
        }
    }
    run.seal().unwrap();
    run
}

fn signoff(dir: &Path, runs: &[&Path]) -> Command {
    let mut cmd = benchseal_dated(dir);
    cmd.args(["signoff", "--version", "0.1.0", "--no-processes"]);
    for run in runs {
        cmd.arg("--run").arg(run);
    }
    cmd
}

fn class(run: &RunRecord) -> String {
    benchseal::analysis::env::class::MachineClass::of(&run.env).id
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join("reports/v0.1.0").join(file)).unwrap()
}

fn intel_and_amd() -> (RunRecord, RunRecord) {
    let (intel, amd) = (run_on("intel-pstate"), run_on("amd-boost"));
    assert_ne!(class(&intel), class(&amd), "two machine classes");
    (intel, amd)
}

#[test]
fn two_classes_both_go_exit_0_with_the_matrix_first_and_a_report_per_class() {
    let (intel, amd) = intel_and_amd();
    let (dir, runs) = workspace_with(
        &[("intel.json", &intel), ("amd.json", &amd)],
        &passing_slo(),
    );
    signoff(dir.path(), &[&runs[0], &runs[1]])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("fleet sign-off: GO"));
    let md = read(dir.path(), "signoff.md");
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines[0], "# Fleet sign-off: benchseal v0.1.0 — GO");
    assert!(
        lines[2]
            .starts_with("| Machine class | Required | Decision | `codec-display-throughput` |"),
        "{}",
        lines[2]
    );
    for run in [&intel, &amd] {
        let row = format!("| `{}` | yes | GO |", class(run));
        assert!(md.contains(&row), "{row} in\n{md}");
        for name in ["signoff.md", "signoff.html", "signoff.json"] {
            let class_md = read(dir.path(), &format!("{}/{name}", class(run)));
            assert!(!class_md.is_empty());
        }
        // Each class's own report is today's report of that run.
        assert!(
            read(dir.path(), &format!("{}/signoff.md", class(run)))
                .starts_with("# Sign-off: benchseal v0.1.0 — GO")
        );
    }
    let json: serde_json::Value = serde_json::from_str(&read(dir.path(), "signoff.json")).unwrap();
    assert_eq!(json["schema"], "benchseal.fleet-signoff/1");
    assert!(read(dir.path(), "signoff.html").contains("<table id=\"matrix\">"));
}

#[test]
fn one_class_failing_is_no_go_exit_1_and_a_directory_of_runs_is_read() {
    let (intel, amd) = intel_and_amd();
    let amd = slower_comp3(amd);
    let (dir, runs) = workspace_with(
        &[("intel.json", &intel), ("amd.json", &amd)],
        &passing_slo(),
    );
    let runs_dir = runs[0].parent().unwrap();
    signoff(dir.path(), &[runs_dir])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("fleet sign-off: NO-GO"))
        .stdout(predicate::str::contains(format!(
            "class {} is NO-GO: high objective codec-comp3-throughput fail",
            class(&amd)
        )));
    let md = read(dir.path(), "signoff.md");
    assert!(md.contains(&format!("| `{}` | yes | **NO-GO** |", class(&amd))));
    assert!(md.contains(&format!("| `{}` | yes | GO |", class(&intel))));
}

#[test]
fn a_required_class_without_a_run_is_no_go_and_a_class_not_required_does_not_decide() {
    let (intel, amd) = intel_and_amd();
    let amd = slower_comp3(amd);
    let slo = format!(
        "{}\n[fleet]\nrequired = [\"{}\", \"x86_64-absent-class\"]\n",
        passing_slo(),
        class(&intel)
    );
    let (dir, runs) = workspace_with(&[("intel.json", &intel), ("amd.json", &amd)], &slo);
    signoff(dir.path(), &[&runs[0], &runs[1]])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "required class x86_64-absent-class has no run",
        ))
        // The failing class is not required: it is shown, and it is not a reason.
        .stdout(predicate::str::contains(format!("class {} is NO-GO", class(&amd))).not());
    let md = read(dir.path(), "signoff.md");
    assert!(md.contains("| `x86_64-absent-class` | yes | **no run** |"));
    assert!(md.contains(&format!("| `{}` | no | **NO-GO** |", class(&amd))));
    // With the missing class dropped from the list, the required class decides alone.
    let slo = slo.replace(", \"x86_64-absent-class\"", "");
    std::fs::write(dir.path().join("slo.toml"), slo).unwrap();
    std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(["commit", "-qam", "one class"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    signoff(dir.path(), &[&runs[0], &runs[1]])
        .arg("--allow-other-commit")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("fleet sign-off: GO"));
}

/// Shard `index` of 2 of `run`.
fn shard_of(mut run: RunRecord, index: usize) -> RunRecord {
    run.shard = Some(Shard {
        index,
        count: 2,
        selection: vec!["a@simd".into(), "b@simd".into()],
        cases: vec![["a@simd", "b@simd"][index].into()],
        expected_cost: 1,
        total_cost: 2,
    });
    run.run_id = format!("{}-shard{index}", run.run_id);
    run.seal().unwrap();
    run
}

#[test]
fn what_cannot_be_signed_off_together_is_exit_2_naming_the_files_and_writes_nothing() {
    let (intel, amd) = intel_and_amd();
    let (dir, runs) = workspace_with(
        &[
            ("intel.json", &intel),
            ("amd.json", &amd),
            ("amd-again.json", &amd),
            ("amd-s0.json", &shard_of(amd.clone(), 0)),
            ("amd-s1.json", &shard_of(amd.clone(), 1)),
        ],
        &passing_slo(),
    );
    let [intel_path, amd_path, again, s0, s1] = &runs[..] else {
        unreachable!()
    };
    let refused = |runs: &[&Path], said: &[&str]| {
        let mut expected = predicate::always().boxed();
        for s in said {
            expected = expected.and(predicate::str::contains(*s)).boxed();
        }
        signoff(dir.path(), runs).assert().code(2).stderr(expected);
        assert!(
            !dir.path().join("reports/v0.1.0").exists(),
            "nothing written"
        );
    };
    refused(
        &[intel_path, s0],
        &["amd-s0.json", "shard 0/2", "benchseal merge"],
    );
    refused(
        &[s0, s1],
        &[
            "amd-s0.json and",
            "amd-s1.json",
            "merge them with `benchseal merge`",
        ],
    );
    refused(
        &[amd_path, again, intel_path],
        &[
            "amd.json and",
            "amd-again.json are both runs of machine class",
        ],
    );
    refused(&[amd_path, amd_path], &["amd.json is given twice"]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused(
        &[intel_path, &empty],
        &["empty: the directory holds no run records"],
    );
    let text = std::fs::read_to_string(amd_path).unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    refused(&[intel_path, &cut], &["cut.json", "ends early"]);
}

#[test]
fn a_fleet_report_verifies_and_an_edit_of_any_of_its_files_is_detected() {
    let (intel, amd) = intel_and_amd();
    let (dir, runs) = workspace_with(
        &[("intel.json", &intel), ("amd.json", &amd)],
        &passing_slo(),
    );
    signoff(dir.path(), &[&runs[0], &runs[1]])
        .args(["--sign-key", "release_key"])
        .assert()
        .code(0);
    let verify = || {
        let mut cmd = benchseal_dated(dir.path());
        cmd.args(["verify", "reports/v0.1.0"]);
        cmd
    };
    verify()
        .assert()
        .code(0)
        .stdout(predicate::str::contains("fleet report"))
        .stdout(predicate::str::contains(
            "every field equals the fleet report derived again from its class reports",
        ))
        .stdout(predicate::str::contains(format!("class {}", class(&amd))))
        .stdout(predicate::str::contains(
            "integrity: OK; release decision recorded: GO",
        ));
    let out: PathBuf = dir.path().join("reports/v0.1.0");
    // Each file edited in turn (then restored): verify exits 3 and names what differs.
    let class_json = out.join(class(&intel)).join("signoff.json");
    for (file, from, to, said) in [
        // The fleet's Markdown matrix.
        (
            out.join("signoff.md"),
            "| yes | GO |",
            "| no | GO |",
            "signoff.md line".to_string(),
        ),
        // The fleet's decision, in its JSON.
        (
            out.join("signoff.json"),
            "\"verdict\": \"GO\"",
            "\"verdict\": \"NO-GO\"",
            "differs".into(),
        ),
        // A class's own report.
        (
            class_json,
            "\"status\": \"pass\"",
            "\"status\": \"fail\"",
            class(&intel),
        ),
    ] {
        let original = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, original.replacen(from, to, 1)).unwrap();
        verify()
            .assert()
            .code(3)
            .stderr(predicate::str::contains(said));
        std::fs::write(&file, &original).unwrap();
    }
    verify().assert().code(0);
}
