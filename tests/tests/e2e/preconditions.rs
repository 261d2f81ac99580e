//! `signoff` with release preconditions (`[preconditions]` of the SLO file): gate rows in
//! every format, NO-GO without measuring when one fails, the budget, `--skip-preconditions`.

use benchseal::analysis::fixture;
use predicates::prelude::*;

use crate::signoff::{passing_slo, workspace_with};
use crate::support::benchseal_dated;

/// The `signoff.json` written under `dir`, parsed.
fn report_json(dir: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("reports/v0.1.0/signoff.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `signoff --version 0.1.0 <extra> --run <run>` in `dir`.
fn signoff_run(
    dir: &std::path::Path,
    extra: &[&str],
    run: &std::path::Path,
) -> assert_cmd::assert::Assert {
    benchseal_dated(dir)
        .args(["signoff", "--version", "0.1.0"])
        .args(extra)
        .arg("--run")
        .arg(run)
        .assert()
}

/// The passing example SLO file with `table` appended as its `[preconditions]`.
fn slo_with(table: &str) -> String {
    format!("{}\n[preconditions]\n{table}\n", passing_slo())
}

const PASS_THEN_FAIL: &str = r#"commands = [
  ["true"],
  ["sh", "-c", "echo 'test result: FAILED. 1 passed; 1 failed'; exit 101"],
  ["benchseal-no-such-precondition"],
]"#;

#[test]
fn a_failing_precondition_is_no_go_with_its_rows_and_last_lines_in_every_format() {
    let (dir, runs) = workspace_with(&[("run.json", &fixture::run())], &slo_with(PASS_THEN_FAIL));
    signoff_run(dir.path(), &["--no-processes"], &runs[0])
        .code(1)
        .stdout(predicate::str::contains("sign-off: NO-GO"))
        .stdout(predicate::str::contains("precondition pass"))
        .stdout(predicate::str::contains("exit status: 101"))
        .stdout(predicate::str::contains("| test result: FAILED"));
    let out = dir.path().join("reports/v0.1.0");
    let json = report_json(dir.path());
    let rows = json["preconditions"].as_array().unwrap();
    let status: Vec<_> = rows.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["pass", "fail", "fail"]);
    let missing = rows[2]["reason"].as_str().unwrap();
    assert!(missing.contains("No such file or directory"), "{missing}");
    let reasons = json["decision"]["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("precondition fail: `sh -c")),
        "{reasons:?}"
    );
    let md = std::fs::read_to_string(out.join("signoff.md")).unwrap();
    assert!(md.contains("## Release preconditions"));
    assert!(md.contains("| `true` | pass |"), "{md}");
    // The row shows the exit status; what the command printed last is collapsed below.
    assert!(md.contains("| **fail** (exit status: 101) |"), "{md}");
    assert!(
        md.contains("the last lines it printed</summary>\n\n```\ntest result: FAILED. 1 passed; 1 failed\n```"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("signoff.html")).unwrap();
    assert!(html.contains(r#"<h2 id="preconditions">"#));
    assert!(
        html.contains("<strong>1</strong> pass, <strong class=\"status-fail\">2</strong> fail")
    );
    assert!(
        html.contains("<pre>test result: FAILED. 1 passed; 1 failed</pre>"),
        "{html}"
    );
    // What verify re-derives and re-renders includes the rows.
    benchseal_dated(dir.path())
        .args(["verify", "reports/v0.1.0"])
        .assert()
        .stdout(predicate::str::contains("release decision recorded: NO-GO"));
}

#[test]
fn without_a_run_a_failing_precondition_stops_before_measuring() {
    let (dir, _) = workspace_with(&[], &slo_with(r#"commands = [["false"]]"#));
    benchseal_dated(dir.path())
        .args([
            "signoff",
            "--version",
            "0.1.0",
            "--no-processes",
            "--allow-unsigned",
            "--allow-other-version",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NO-GO (exit 1)"))
        .stdout(predicate::str::contains("precondition fail: `false`"))
        .stdout(predicate::str::contains("nothing was measured"));
    assert!(!dir.path().join("reports/v0.1.0").exists(), "no report");
    assert!(!dir.path().join("reports/runs").exists(), "no run measured");
}

#[test]
fn skipped_preconditions_are_stated_and_do_not_block() {
    let (dir, runs) = workspace_with(
        &[("run.json", &fixture::run())],
        &slo_with("budget = \"2 h\""),
    );
    signoff_run(
        dir.path(),
        &["--no-processes", "--skip-preconditions"],
        &runs[0],
    )
    .code(0)
    .stdout(predicate::str::contains("sign-off: GO"));
    let json = report_json(dir.path());
    // The table without `commands`: formatting, lints and tests, as CI runs them.
    let commands: Vec<_> = json["preconditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "skipped");
            assert_eq!(r["reason"], "--skip-preconditions");
            r["command"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        commands,
        [
            "cargo fmt --all --check",
            "cargo clippy --all-targets -- -D warnings",
            "cargo test --workspace --locked"
        ]
    );
}

#[test]
fn a_spent_budget_skips_the_processes_by_name() {
    // A budget shorter than the first precondition: the sleep is stopped, the processes are
    // not measured, and every row says so.
    let slo = slo_with("budget = \"300 ms\"\ncommands = [[\"sleep\", \"30\"]]").replace(
        "schema = \"benchseal.slo/1\"",
        "schema = \"benchseal.slo/1\"\n\n[[process]]\nid = \"version\"\ncommand = [\"{benchseal}\", \"--version\"]\nruns = 3",
    );
    let (dir, runs) = workspace_with(&[("run.json", &fixture::run())], &slo);
    signoff_run(dir.path(), &[], &runs[0])
        .code(1)
        .stdout(predicate::str::contains("bounded by policy"));
    let json = report_json(dir.path());
    let row = &json["preconditions"][0];
    assert_eq!(row["status"], "skipped");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .starts_with("bounded by policy")
    );
    let process = json["inputs"]["run"]["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "version")
        .unwrap();
    assert_eq!(process["status"], "skipped");
    assert!(
        process["reason"]
            .as_str()
            .unwrap()
            .contains("precondition `sleep 30` skipped"),
        "{process}"
    );
}

#[test]
fn a_bad_table_is_named_with_its_line() {
    for (table, says) in [
        ("commands = [[]]", "command 1 names no program"),
        ("budget = \"soon\"", "`soon` is not a positive time"),
        ("budget = \"0 min\"", "`0 min` is not a positive time"),
        ("retries = 3", "unknown field `retries`"),
    ] {
        let (dir, runs) = workspace_with(&[("run.json", &fixture::run())], &slo_with(table));
        signoff_run(dir.path(), &["--no-processes"], &runs[0])
            .code(2)
            .stderr(predicate::str::contains("slo.toml:"))
            .stderr(predicate::str::contains(says));
    }
}
