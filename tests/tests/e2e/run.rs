//! `benchseal run`: record schema and seal, ingestion of real engine output, the digest
//! gate, and bad input.

use std::path::{Path, PathBuf};

use benchseal::app::{Cli, Command as Sub};
use benchseal::model::outcome::Outcome;
use benchseal::model::record::{RunRecord, Status};
use benchseal::pipeline::engine::{instr, wall};
use benchseal_benches::{Instance, KernelPath, RunError, Unit, Workload, WorkloadId};
use clap::Parser;
use predicates::prelude::*;

use crate::support::benchseal;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The fixtures are real output of the registered workload `sync/compare/identical-13b/tiny`
/// on both paths: criterion 0.8.2 (`wall --bench --warm-up-time 0.2 --measurement-time 1`)
/// and gungraun 0.20.0 (`instr --bench --save-summary=json`), with `BENCHSEAL_CASES` set to
/// [`FIXTURE_CASES`].
const FIXTURE_WORKLOAD: &str = "sync/compare/identical-13b/tiny";
const FIXTURE_CASES: [&str; 2] = [
    "sync/compare/identical-13b/tiny@scalar",
    "sync/compare/identical-13b/tiny@simd",
];

#[test]
fn fixtures_come_from_a_registered_workload() {
    let workload = benchseal_benches::registry()
        .into_iter()
        .find(|w| w.id.to_string() == FIXTURE_WORKLOAD)
        .expect("the fixture workload is registered");
    assert_eq!(workload.paths, [KernelPath::Scalar, KernelPath::Simd]);
    assert_eq!(workload.units, 13);
}

#[test]
fn criterion_output_is_ingested_per_workload_and_path() {
    let units = |group: &str| (group == FIXTURE_WORKLOAD).then_some(13);
    let mut results = wall::ingest_home(&fixtures().join("criterion"), units).unwrap();
    results.sort_by(|a, b| (&a.group, &a.function).cmp(&(&b.group, &b.function)));
    let names: Vec<String> = results
        .iter()
        .map(|r| format!("{}@{}", r.group, r.function))
        .collect();
    assert_eq!(names, FIXTURE_CASES);
    let simd = results[1].stats.as_ref().unwrap();
    // Values as criterion 0.8.2 wrote them in the fixture.
    assert_eq!(simd.median_ns, 16.49030954988786);
    assert_eq!(simd.median_ci_lower_ns, 14.270079164058831);
    assert_eq!(simd.median_ci_upper_ns, 18.99108538876181);
    assert_eq!(simd.confidence_level, 0.95);
    assert_eq!(simd.samples_ns.len(), 100);
    assert_eq!(simd.sample_iters[..2], [11620.0, 23240.0]);
    assert_eq!(simd.samples_ns[0], 64495.0 / 11620.0);
    assert!((simd.throughput_per_s - 13.0 * 1e9 / 16.49030954988786).abs() < 1e-3);
}

#[test]
fn gungraun_summaries_are_ingested_by_case_index() {
    let mut summaries: Vec<_> = instr::ingest_home(&fixtures().join("gungraun"))
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    summaries.sort_by_key(|s| s.case_index);
    let found: Vec<(usize, u64, Option<u64>)> = summaries
        .iter()
        .map(|s| {
            (
                s.case_index,
                s.metrics.instructions,
                s.metrics.estimated_cycles,
            )
        })
        .collect();
    assert_eq!(found, [(0, 224, Some(457)), (1, 278, Some(511))]);
    let m = &summaries[1].metrics;
    assert_eq!(
        (m.l1_hits, m.ll_hits, m.ram_hits, m.total_read_write),
        (Some(371), Some(0), Some(4), Some(375))
    );
    // The label comes from the measured process's side file, not the summary.
    assert_eq!(m.label, None);
}

#[test]
fn an_engine_file_with_a_changed_format_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("g/f/new");
    std::fs::create_dir_all(&case).unwrap();
    let source = fixtures().join("criterion/sync_compare_identical-13b_tiny/simd/new");
    for name in ["benchmark.json", "sample.json"] {
        std::fs::copy(source.join(name), case.join(name)).unwrap();
    }
    std::fs::write(
        case.join("estimates.json"),
        r#"{"median": {"estimate": 1.0}}"#,
    )
    .unwrap();
    let results = wall::ingest_home(dir.path(), |_| Some(1)).unwrap();
    let err = results[0].stats.as_ref().unwrap_err().to_string();
    assert!(
        err.contains("estimates.json: field `median.point_estimate` is missing"),
        "{err}"
    );
}

/// A workload of the test's own: its output is its input.
struct Echo(Vec<u8>);

impl Instance for Echo {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&self.0)
    }
    fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
        match path {
            KernelPath::Gpu => Err(RunError::Unavailable("no CUDA device".into())),
            _ => Ok(()),
        }
    }
    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&self.0)
    }
}

fn echo_workload() -> Workload {
    Workload::new(
        "sync/echo/fixed/tiny".parse::<WorkloadId>().unwrap(),
        Unit::Bytes,
        4,
        &[KernelPath::Scalar, KernelPath::Simd],
        "returns its input",
        || Ok(Box::new(Echo(b"abcd".to_vec())) as Box<dyn Instance>),
    )
}

pub(crate) fn run_args(args: &[&str]) -> benchseal::app::run::RunArgs {
    let cli = Cli::try_parse_from(["benchseal", "run"].iter().chain(args)).unwrap();
    match cli.command {
        Sub::Run(args) => args,
        other => panic!("parsed as {other:?}"),
    }
}

/// The one run record in `dir` (beside it may lie its `<record>.callgrind/` profiles: the
/// roofs a run adds are measured even when its own workload is not).
pub(crate) fn only_record(dir: &Path) -> RunRecord {
    let records: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    benchseal::store::load(&records[0], benchseal::store::Seal::Unchecked).unwrap()
}

/// Runs the echo workload in-process against a golden file holding `input` and `output`
/// digests for it; the record goes to `dir/runs`.
fn run_echo_against_golden(dir: &Path, input: &str, output: &str) -> Outcome {
    let golden = dir.join("golden.json");
    let file = serde_json::json!({
        "schema": "benchseal.digests/1",
        "workloads": {"sync/echo/fixed/tiny": {"input_sha256": input, "output_sha256": output}},
    });
    std::fs::write(&golden, file.to_string()).unwrap();
    let out = dir.join("runs");
    let args = run_args(&[
        "--golden",
        golden.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    benchseal::app::run::execute_with(args, &[echo_workload()]).unwrap()
}

#[test]
fn a_wrong_golden_digest_makes_the_run_irreproducible_and_reports_no_timing() {
    let dir = tempfile::tempdir().unwrap();
    let input = benchseal::model::digest::sha256_hex(b"abcd");
    let out = dir.path().join("runs");
    let outcome = run_echo_against_golden(dir.path(), &input, &"0".repeat(64));
    assert_eq!(outcome, Outcome::Irreproducible);
    assert_eq!(outcome.code(), 3);

    let record = only_record(&out);
    record.verify_seal().unwrap();
    assert!(record.complete);
    let workload = &record.workloads[0];
    assert_eq!(workload.input_sha256.as_deref(), Some(input.as_str()));
    assert_eq!(workload.paths.len(), 2);
    for path in &workload.paths {
        assert!(
            matches!(&path.status, Status::Invalid(why) if why.starts_with("digest mismatch")),
            "{:?}",
            path.status
        );
        assert_eq!(path.output_sha256.as_deref(), Some(input.as_str()));
        assert!(
            path.wall.is_none() && path.instr.is_none(),
            "an invalid path was timed"
        );
    }
    // Nothing was left to measure, so no bench executable was built or run.
    assert!(record.artifact.bench_executables.is_empty());
}

#[test]
fn an_edited_record_fails_its_seal_and_a_round_trip_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs");
    run_echo_against_golden(dir.path(), &"1".repeat(64), &"1".repeat(64));
    let record = only_record(&out);

    // Round trip through the file format.
    let text = serde_json::to_string_pretty(&record).unwrap();
    let back = RunRecord::from_json(&text).unwrap();
    assert_eq!(back, record);
    back.verify_seal().unwrap();

    // Any edit is detected.
    let edited = text.replacen("\"sync/echo/fixed/tiny\"", "\"sync/echo/fixed/small\"", 1);
    assert_ne!(edited, text);
    let err = RunRecord::from_json(&edited)
        .unwrap()
        .verify_seal()
        .unwrap_err();
    assert!(err.starts_with("seal mismatch"), "{err}");

    // Another schema is refused by name.
    let other = text.replace("benchseal.run/1", "benchseal.run/9");
    assert!(
        RunRecord::from_json(&other)
            .unwrap_err()
            .contains("benchseal.run/9")
    );
}

#[test]
fn unknown_suite_size_path_or_engine_is_a_usage_error_listing_the_valid_names() {
    for (args, valid) in [
        (&["--suite", "video"][..], "codec, quant, sync"),
        (&["--size", "huge"][..], "tiny, small, medium, large"),
        (
            &["--path", "fpga"][..],
            "auto, scalar, simd, gpu, reference",
        ),
        (&["--engines", "perf"][..], "wall, instr"),
    ] {
        benchseal()
            .arg("run")
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(valid));
    }
}

/// A misspelt workload is answered with the five nearest ids, not the whole registry.
#[test]
fn unknown_workload_is_bad_input_naming_the_nearest_ids() {
    let dir = tempfile::tempdir().unwrap();
    let registry = benchseal_benches::registry();
    let comp3 = registry
        .iter()
        .map(|w| w.id.to_string())
        .find(|id| id.starts_with("codec/comp3/"))
        .expect("a comp3 workload is registered");
    let misspelt = comp3.replacen("comp3", "cmp3", 1);
    let out = benchseal()
        .args(["run", "--workload", &misspelt, "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "unknown workload `{misspelt}`: no registered workload matches it (nearest: {comp3}"
        )),
        "{stderr}"
    );
    let nearest = stderr
        .split("(nearest: ")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    assert_eq!(nearest.split(", ").count(), 5, "{stderr}");
}

#[test]
fn the_cli_exits_3_when_a_registered_workload_misses_its_golden_digest() {
    let workload = benchseal_benches::registry()
        .into_iter()
        .find(|w| w.id.size == benchseal_benches::Size::Tiny)
        .expect("a tiny workload is registered");
    let id = workload.id.to_string();
    let dir = tempfile::tempdir().unwrap();
    let golden = dir.path().join("golden.json");
    let file = serde_json::json!({
        "schema": "benchseal.digests/1",
        "workloads": {&id: {"input_sha256": "0".repeat(64), "output_sha256": "0".repeat(64)}},
    });
    std::fs::write(&golden, file.to_string()).unwrap();
    let out = dir.path().join("runs");
    benchseal()
        .args(["run", "--workload", &id, "--golden"])
        .arg(&golden)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("invalid"))
        .stdout(predicate::str::contains("digest mismatch: input"));
    let record = only_record(&out);
    record.verify_seal().unwrap();
    assert!(
        record.workloads[0]
            .paths
            .iter()
            .all(|p| p.wall.is_none() && p.instr.is_none())
    );
}

/// Bench executables that cannot do their job: `script` is the body of both.
fn broken_bench_dir(script: &str, executable: bool) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for name in ["benchseal-bench-wall", "benchseal-bench-instr"] {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    dir
}

/// A bench process that dies the same way before any case runs, or one that cannot start,
/// is the engine's failure: said once, exit 1, every case `skipped` with it, and the digest
/// pass's results kept.
#[test]
fn an_engine_that_cannot_run_is_reported_once_and_its_cases_are_skipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for (script, executable, expected) in [
        (
            "echo 'error: the measuring tool is not installed' >&2; exit 1",
            true,
            "the measuring tool is not installed",
        ),
        ("exit 0", false, "could not start"),
    ] {
        let bench_dir = broken_bench_dir(script, executable);
        let out = tempfile::tempdir().unwrap();
        let assert = benchseal()
            .current_dir(root)
            .env("BENCHSEAL_BENCH_DIR", bench_dir.path())
            .args([
                "run",
                "--quick",
                "--engines",
                "wall",
                "--workload",
                FIXTURE_WORKLOAD,
            ])
            .arg("--out")
            .arg(out.path())
            .assert()
            .code(1);
        let output = assert.get_output();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.matches(expected).count(), 1, "{stderr}");
        assert_eq!(stdout.matches(expected).count(), 1, "{stdout}");
        assert!(!stdout.contains("invalid"), "{stdout}");
        let record = only_record(out.path());
        assert_eq!(
            record.engine_failures.len(),
            1,
            "{:?}",
            record.engine_failures
        );
        assert!(record.engine_failures[0].reason.contains(expected));
        let workload = &record.workloads[0];
        assert_eq!(workload.paths.len(), 2);
        for path in &workload.paths {
            assert_eq!(path.status, Status::Ok, "the digest pass still counts");
            let wall = path.wall.as_ref().unwrap();
            assert!(
                matches!(&wall.status, Status::Skipped(why) if why.contains("engine could not run")),
                "{:?}",
                wall.status
            );
        }
    }
}

#[test]
fn compare_to_unknown_baseline_is_refused_before_measuring() {
    for (version, expected) in [
        ("7.7.7", "no baseline `7.7.7` in baselines"),
        ("../x", "version \"../x\" starts with `.` or `-`"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let assert = crate::support::benchseal_in(dir.path())
            .args([
                "run",
                "--quick",
                "--engines",
                "wall",
                "--compare-to",
                version,
            ])
            .args(["--workload", FIXTURE_WORKLOAD])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expected));
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            !stderr.contains("digest pass"),
            "nothing measured: {stderr}"
        );
        assert!(
            !dir.path().join("reports").exists(),
            "no run record is started"
        );
    }
}
