//! `benchseal verify`: tampering with a report is detected and named (exit 3); numbers are
//! re-derived from another run.

use std::path::{Path, PathBuf};

use benchseal::analysis::fixture;
use benchseal::analysis::signoff::SignoffReport;
use benchseal::model::record::RunRecord;
use predicates::prelude::*;

use crate::support::benchseal;

/// Writes the example report (md, html, json) into a fresh directory.
fn report_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v0.1.0");
    let report = SignoffReport::derive(fixture::inputs()).unwrap();
    benchseal::app::signoff::write_report(&out, &report, None).unwrap();
    (dir, out)
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// An intact report of a NO-GO release: exit 0 speaks of the files, and the last line says
/// so in words that cannot be read as an approval; each block ends with its counts.
#[test]
fn untouched_report_verifies() {
    let (_dir, out) = report_dir();
    benchseal()
        .arg("verify")
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "integrity: OK; release decision recorded: NO-GO",
        ))
        .stdout(
            predicate::str::is_match(r"(?m)^  \d+ checks: \d+ ok(, \d+ (info|unchecked))*$")
                .unwrap(),
        )
        .stdout(predicate::str::contains("overall").not());
}

/// A rendering that is not there is listed as not checked, never counted as a pass.
#[test]
fn a_missing_rendering_is_listed_as_unchecked() {
    let (_dir, out) = report_dir();
    std::fs::remove_file(out.join("signoff.html")).unwrap();
    benchseal()
        .arg("verify")
        .arg(&out)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "unchecked  signoff.html is not beside the report",
        ))
        .stdout(predicate::str::contains("signoff.html equals").not());
}

/// Applies `edit` to `signoff.json` and expects `benchseal verify` to exit 3 naming it.
fn assert_edit_detected(edit: impl FnOnce(&mut serde_json::Value), expected: &str) {
    let (_dir, out) = report_dir();
    edit_json(&out.join("signoff.json"), edit);
    benchseal()
        .arg("verify")
        .arg(out.join("signoff.json"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains(expected));
}

#[test]
fn edited_measured_value_is_named_exit_3() {
    assert_edit_detected(
        |v| v["objectives"][1]["measured"] = "1.100 GiB/s".into(),
        "field `objectives[1].measured` differs",
    );
}

#[test]
fn edited_status_is_named_exit_3() {
    assert_edit_detected(
        |v| v["objectives"][1]["status"] = "pass".into(),
        "field `objectives[1].status` differs",
    );
}

#[test]
fn edited_digest_is_named_exit_3() {
    assert_edit_detected(
        |v| v["reproducibility"]["digests"][0]["output"] = "ab".repeat(32).into(),
        "field `reproducibility.digests[0].output` differs",
    );
}

#[test]
fn edited_embedded_run_is_detected_by_its_seal() {
    assert_edit_detected(
        |v| {
            v["inputs"]["run"]["workloads"][1]["paths"][1]["wall"]["metrics"]["median_ns"] =
                20e6.into()
        },
        "inputs.run: seal mismatch",
    );
}

#[test]
fn edited_seal_is_detected() {
    assert_edit_detected(
        |v| v["seal"] = "00".repeat(32).into(),
        "field `seal` differs",
    );
}

#[test]
fn edited_markdown_is_named_by_line_exit_3() {
    let (_dir, out) = report_dir();
    let md = out.join("signoff.md");
    let text = std::fs::read_to_string(&md)
        .unwrap()
        .replace("**fail** (0.7812 GiB/s is not >= 1 GiB/s)", "pass");
    std::fs::write(&md, text).unwrap();
    benchseal()
        .arg("verify")
        .arg(&md)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "signoff.md line 17 differs from the rendering of signoff.json",
        ));
}

#[test]
fn edited_html_is_detected_exit_3() {
    let (_dir, out) = report_dir();
    let html = out.join("signoff.html");
    let text = std::fs::read_to_string(&html)
        .unwrap()
        .replacen("NO-GO", "GO", 1);
    std::fs::write(&html, text).unwrap();
    benchseal()
        .arg("verify")
        .arg(&out)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("signoff.html line"));
}

fn saved(dir: &Path, name: &str, run: &RunRecord) -> PathBuf {
    let path = dir.join(name);
    benchseal::store::save(run, &path).unwrap();
    path
}

/// Verifies the example report against `fresh` (the example run after `change`), expecting
/// `code` and `expected` in the output.
fn assert_rerun(change: impl FnOnce(&mut RunRecord), code: i32, expected: &[&str]) {
    let (dir, out) = report_dir();
    let mut run = fixture::run();
    change(&mut run);
    run.seal().unwrap();
    let fresh = saved(dir.path(), "fresh.json", &run);
    let mut assert = benchseal()
        .arg("verify")
        .arg(&out)
        .arg("--run")
        .arg(&fresh)
        .assert()
        .code(code);
    for e in expected {
        assert = assert.stdout(predicate::str::contains(*e));
    }
}

#[test]
fn same_numbers_from_another_run_verify() {
    assert_rerun(
        |_| {},
        0,
        &[
            "output digest d599ab189d20 equal",
            "instructions: 25165824 equal",
            "integrity: OK",
        ],
    );
}

#[test]
fn a_different_output_digest_in_the_fresh_run_is_exit_3() {
    assert_rerun(
        |run| run.workloads[3].paths[0].output_sha256 = Some("11".repeat(32)),
        3,
        &["sync/detect/text-8kib/small@scalar: output digest differs"],
    );
}

#[test]
fn instruction_counts_must_be_exact_for_the_same_executable() {
    assert_rerun(
        |run| {
            run.workloads[0].paths[0]
                .instr
                .as_mut()
                .unwrap()
                .metrics
                .as_mut()
                .unwrap()
                .instructions += 1
        },
        3,
        &["instruction count differs for the identical executable"],
    );
}

/// A re-run is another session: a wall-clock change is reported, never counted.
#[test]
fn slower_wall_clock_in_another_session_is_informational_exit_0() {
    let slower = |run: &mut RunRecord| {
        for p in run.workloads.iter_mut().flat_map(|w| w.paths.iter_mut()) {
            if let Some(m) = p.wall.as_mut().and_then(|r| r.metrics.as_mut()) {
                m.median_ns *= 1.5;
                m.median_ci_lower_ns *= 1.5;
                m.median_ci_upper_ns *= 1.5;
                m.samples_ns.iter_mut().for_each(|s| *s *= 1.5);
            }
        }
    };
    assert_rerun(
        slower,
        0,
        &[
            "info       wall clock compared across sessions: informational, not gating",
            "regressed (cross-session, executions 1 vs 1: informational, not gating",
            "integrity: OK",
        ],
    );
}

#[test]
fn baseline_with_a_broken_seal_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = fixture::baseline();
    run.workloads[0].units += 1;
    let path = saved(dir.path(), "machine.json", &run);
    benchseal()
        .arg("verify")
        .arg(&path)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("seal mismatch"));
}

#[test]
fn not_a_report_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.json");
    std::fs::write(&path, r#"{"schema": "something/9"}"#).unwrap();
    benchseal().arg("verify").arg(&path).assert().code(2);
}

#[test]
fn rerun_measures_the_same_workloads_the_same_way() {
    use benchseal::model::record::EngineKind;
    use benchseal_benches::Size;
    let config = benchseal::app::verify::rerun_config(&fixture::run(), &[]).unwrap();
    assert_eq!(config.engines, [EngineKind::Wall, EngineKind::Instr]);
    assert_eq!(config.sizes, [Size::Small, Size::Medium, Size::Large]);
    assert_eq!(
        config.workloads,
        [
            "codec/display/cp037-10x50/large",
            "codec/comp3/s9v2-10/large",
            "quant/gemv-i2s/4096x4096/medium",
            "sync/detect/text-8kib/small",
        ]
    );
    let small = benchseal::app::verify::rerun_config(&fixture::run(), &[Size::Small]).unwrap();
    assert_eq!(small.sizes, [Size::Small]);
    assert_eq!(small.workloads, ["sync/detect/text-8kib/small"]);
    let err = benchseal::app::verify::rerun_config(&fixture::run(), &[Size::Tiny])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--size tiny: run") && err.contains("(it has: small, medium, large)"),
        "{err}"
    );
}

/// The auditor image's default command, `verify <committed baseline> --rerun`, through
/// the real CLI on the tiny tier: it runs the suite and gives a verdict (exit 0 or 1;
/// exit 1 only for wall-clock medians of another machine), never a usage error or a broken
/// digest.
#[test]
fn verify_rerun_of_the_committed_baseline_runs_end_to_end_on_the_tiny_tier() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let newest = std::fs::read_dir(root.join("baselines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .max_by_key(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .split('.')
                .map(|n| n.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        })
        .expect("a committed baseline");
    let baseline = std::fs::read_dir(&newest)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("digests.json"))
        .expect("a machine-class baseline");
    let out = benchseal()
        .current_dir(root)
        .arg("verify")
        .arg(&baseline)
        .args(["--rerun", "--size", "tiny"])
        .timeout(std::time::Duration::from_secs(1800))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "exit {code:?}\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("re-derived from run"), "{stdout}");
    assert!(
        stdout.contains("integrity: OK") || stdout.contains("integrity: OUTSIDE POLICY"),
        "{stdout}"
    );
    assert!(!stdout.contains("BROKEN"), "{stdout}");
    // Every tiny workload of the baseline was re-measured and its digest compared.
    let reference = benchseal::store::load(&baseline, benchseal::store::Seal::Unchecked).unwrap();
    for w in reference
        .workloads
        .iter()
        .filter(|w| w.id.size == benchseal_benches::Size::Tiny)
    {
        assert!(stdout.contains(&w.id.to_string()), "{} not checked", w.id);
    }
    let instr_lines = stdout
        .lines()
        .filter(|l| l.contains(" instructions: "))
        .count();
    if stdout.contains("info       wall clock and instruction counts not comparable (class ") {
        // Another machine class than the baseline's: only digests compare, and nothing is
        // called a regression.
        assert_eq!(instr_lines, 0, "{stdout}");
        assert!(!stdout.contains("OUTSIDE"), "{stdout}");
    } else {
        assert!(
            instr_lines > 0,
            "no instruction count re-derived:\n{stdout}"
        );
    }
}
