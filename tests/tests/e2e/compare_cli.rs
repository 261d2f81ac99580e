//! `benchseal compare`: verdicts, exit codes, formats, environment refusal, bad input.

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::support::benchseal_in;
use crate::support::records::*;

/// Writes old and new records built from `old`/`new` benches, as the two sides of one
/// paired session, and returns the directory.
fn pair(old: &[Bench], new: &[Bench]) -> tempfile::TempDir {
    records(old, new, true)
}

/// The same records from two separate sessions.
fn across_sessions(old: &[Bench], new: &[Bench]) -> tempfile::TempDir {
    records(old, new, false)
}

fn records(old: &[Bench], new: &[Bench], paired: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let session = |role: &str, run: &str| {
        if paired {
            json!({"id": "session-1", "role": role, "executions": 1, "order_seed": 7})
        } else {
            json!({"id": run, "role": "single", "executions": 1, "order_seed": 7})
        }
    };
    let mut old_json = record_json("run-old", "2026-01-01T00:00:00Z", old, &[]);
    old_json["session"] = session("a", "run-old");
    let mut new_json = record_json("run-new", "2026-01-02T00:00:00Z", new, &[]);
    new_json["session"] = session("b", "run-new");
    if paired {
        // Two builds (A's and B's), whose counts differ by a little within the soft limit:
        // a paired wall change with an identical count would be placement, not gating.
        new_json["artifact"]["bench_executables"]["instr"]["sha256"] = json!("b build");
        for workload in new_json["workloads"].as_array_mut().unwrap() {
            for path in workload["paths"].as_array_mut().unwrap() {
                if let Some(count) = path["instr"]["metrics"]["instructions"].as_u64() {
                    path["instr"]["metrics"]["instructions"] = json!(count + 2);
                }
            }
        }
    }
    write(dir.path(), "old.json", &seal(old_json));
    write(dir.path(), "new.json", &seal(new_json));
    dir
}

fn compare(dir: &tempfile::TempDir, extra: &[&str]) -> assert_cmd::assert::Assert {
    benchseal_in(dir.path())
        .args(["compare", "old.json", "new.json"])
        .args(extra)
        .assert()
}

fn json_output(assert: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&assert.get_output().stdout).expect("stdout is JSON")
}

#[test]
fn identical_records_are_unchanged_and_exit_0() {
    let benches = two_benches(1000.0, 5000.0, 1);
    let dir = pair(&benches, &benches);
    compare(&dir, &[])
        .code(0)
        .stdout(predicate::str::starts_with(
            "OK: 0 regressed, 0 improved, 4 unchanged",
        ))
        .stderr(predicate::str::contains("A (old): run file old.json"));
}

#[test]
fn a_ten_percent_slowdown_is_a_regression_and_exit_1() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1100.0, 5000.0, 7),
    );
    compare(&dir, &[])
        .code(1)
        .stdout(predicate::str::starts_with("REGRESSED: 1 regressed"))
        .stdout(predicate::str::contains("codec/comp3/s9v2/tiny@simd"));
    let out = json_output(&compare(&dir, &["--format", "json"]).code(1));
    assert_eq!(out["schema"], "benchseal.comparison/1");
    assert_eq!(out["summary"]["regressed"], 1);
    let line = out["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["verdict"] == "regressed")
        .unwrap();
    assert_eq!(line["metric"], "wall");
    assert!(line["ratio_lower"].as_f64().unwrap() > 1.05, "{line}");
    assert_eq!(line["basis"], json!({"kind": "paired", "pairs": 1}));
    assert!(line["noise_floor_pct"].as_f64().is_some(), "{line}");
}

#[test]
fn colour_only_when_asked_for_and_never_under_no_color() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1100.0, 5000.0, 7),
    );
    let stdout = |extra: &[&str], env: &[(&str, &str)]| {
        let mut cmd = benchseal_in(dir.path());
        cmd.args(["compare", "old.json", "new.json"]).args(extra);
        for (name, value) in env {
            cmd.env(name, value);
        }
        String::from_utf8(cmd.assert().code(1).get_output().stdout.clone()).unwrap()
    };
    let plain = stdout(&[], &[]);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    let coloured = stdout(&["--color", "always"], &[]);
    // The verdict in red and bold, the header bold; the text itself unchanged.
    assert!(
        coloured.contains("\u{1b}[1m\u{1b}[31mregressed\u{1b}[0m"),
        "{coloured}"
    );
    assert!(
        coloured.contains("\u{1b}[1mbenchmark\u{1b}[0m"),
        "{coloured}"
    );
    assert_eq!(benchseal::present::style::strip(&coloured), plain);
    // The flag goes anywhere on the line; CLICOLOR_FORCE colours a pipe, NO_COLOR wins.
    assert_eq!(stdout(&[], &[("CLICOLOR_FORCE", "1")]), coloured);
    assert_eq!(
        stdout(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]),
        plain
    );
    assert_eq!(
        stdout(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]),
        plain
    );
    // Markdown and JSON are for files: never coloured.
    for format in ["md", "json"] {
        let text = stdout(&["--color", "always", "--format", format], &[]);
        assert!(!text.contains('\u{1b}'), "{format}: {text}");
    }
}

#[test]
fn the_same_slowdown_across_sessions_is_informational_and_exit_0() {
    let dir = across_sessions(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1100.0, 5000.0, 7),
    );
    compare(&dir, &[])
        .code(0)
        .stdout(predicate::str::starts_with(
            "OK: 0 regressed, 0 improved, 3 unchanged, 0 inconclusive; 1 wall change(s) informational, not gating",
        ))
        .stdout(predicate::str::contains(
            "note: wall clock compared across sessions: informational, not gating",
        ))
        .stdout(predicate::str::contains(
            "regressed (cross-session, executions 1 vs 1: informational, not gating; noise floor",
        ));
    let out = json_output(&compare(&dir, &["--format", "json"]).code(0));
    assert_eq!(out["summary"]["informational"], 1);
    let md = compare(&dir, &["--format", "md"]).code(0);
    let text = String::from_utf8(md.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("### Informational changes (not gating)"),
        "{text}"
    );
    assert!(!text.contains("### Regressions"), "{text}");
}

#[test]
fn a_speedup_is_an_improvement_and_exit_0() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1000.0, 4000.0, 9),
    );
    compare(&dir, &[])
        .code(0)
        .stdout(predicate::str::contains("1 improved"));
}

#[test]
fn markdown_puts_the_summary_first_and_folds_unchanged_lines() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1100.0, 5000.0, 7),
    );
    let assert = compare(&dir, &["--format", "md"]).code(1);
    let text = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(text.starts_with("🔴 **REGRESSED: 1 regressed"), "{text}");
    assert!(text.contains(
        "### Regressions\n\n| benchmark | metric | old | new | change | CI of change | p | how | note |"
    ));
    assert!(
        text.contains("<details><summary>3 unchanged, 0 inconclusive</summary>"),
        "{text}"
    );
    assert!(!text.contains("### Improvements"));
}

#[test]
fn bmf_reports_the_new_record_in_bencher_metric_format() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1000.0, 5000.0, 1),
    );
    let out = json_output(&compare(&dir, &["--format", "bmf"]).code(0));
    let latency = &out["codec/comp3/s9v2/tiny@simd"]["latency"];
    let value = latency["value"].as_f64().unwrap();
    assert!(latency["lower_value"].as_f64().unwrap() < value);
    assert!(latency["upper_value"].as_f64().unwrap() > value);
    // The new side is B's build, which counts two instructions more.
    assert_eq!(
        out["sync/detect/text8k/tiny@simd"]["instructions"]["value"],
        1002
    );
}

/// `export` writes one run for other tools and exits 0 even when a comparison of that run
/// would fail: the same numbers in every format, throughput named by its unit.
#[test]
fn export_writes_one_run_in_each_format_and_exits_0() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1300.0, 5000.0, 1),
    );
    compare(&dir, &[]).code(1);
    let export = |format: &str| {
        let out = benchseal_in(dir.path())
            .args(["export", "new.json", "--format", format])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let bmf: Value = serde_json::from_str(&export("bmf")).unwrap();
    let comp3 = &bmf["codec/comp3/s9v2/tiny@simd"];
    assert!(comp3["latency"]["value"].as_f64().unwrap() > 0.0, "{bmf}");
    assert!(
        comp3["bytes-per-second"]["value"].as_f64().unwrap() > 0.0,
        "{bmf}"
    );
    assert!(
        comp3.get("throughput").is_none(),
        "no unit-less throughput: {bmf}"
    );
    assert_eq!(
        bmf["sync/detect/text8k/tiny@simd"]["instructions"]["value"],
        1002
    );
    let smaller: Vec<Value> = serde_json::from_str(&export("custom-smaller-is-better")).unwrap();
    let bigger: Vec<Value> = serde_json::from_str(&export("custom-bigger-is-better")).unwrap();
    assert!(smaller.iter().any(|e| e["unit"] == "ns"), "{smaller:?}");
    assert!(
        bigger
            .iter()
            .all(|e| e["unit"].as_str().unwrap().ends_with("/s")),
        "{bigger:?}"
    );
    let csv = export("csv");
    assert!(
        csv.starts_with("benchmark,measure,unit,value,lower,upper,better\r\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count() - 1, smaller.len() + bigger.len());
    let out = dir.path().join("rows.json");
    benchseal_in(dir.path())
        .args(["export", "new.json", "--format", "json", "-o"])
        .arg(&out)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("wrote"));
    let rows: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(rows.len(), smaller.len() + bigger.len());
    benchseal_in(dir.path())
        .args(["export", "no-such-run"])
        .assert()
        .code(2);
}

#[test]
fn badge_is_a_shields_endpoint() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1100.0, 5000.0, 7),
    );
    let out = json_output(&compare(&dir, &["--format", "badge"]).code(1));
    assert_eq!(
        out,
        json!({"schemaVersion": 1, "label": "perf vs old.json", "message": "1 regressed", "color": "red"})
    );
}

#[test]
fn a_different_output_digest_is_broken_reproducibility_exit_3() {
    let old = two_benches(1000.0, 5000.0, 1);
    let mut new = old.clone();
    new[0].output_sha256 = digest_of("something else");
    let dir = pair(&old, &new);
    compare(&dir, &[])
        .code(3)
        .stdout(predicate::str::contains("REPRODUCIBILITY BROKEN"))
        .stdout(predicate::str::contains("output digest differs"));
}

#[test]
fn identical_executable_with_other_instruction_counts_is_exit_3() {
    let old = two_benches(1000.0, 5000.0, 1);
    let mut new = old.clone();
    new[1].instructions = Some(1001);
    // Two sessions of one build (a paired session's sides are two builds).
    let dir = across_sessions(&old, &new);
    compare(&dir, &[]).code(3).stdout(predicate::str::contains(
        "instruction count differs for the identical executable",
    ));
}

/// Old and new records whose instruction executables differ, new counts `new_count`.
fn instruction_pair(new_count: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let old = two_benches(1000.0, 5000.0, 1);
    let mut new = old.clone();
    new[0].instructions = Some(new_count);
    write(
        dir.path(),
        "old.json",
        &seal(record_json("run-old", "2026-01-01T00:00:00Z", &old, &[])),
    );
    let mut value = record_json("run-new", "2026-01-02T00:00:00Z", &new, &[]);
    value["artifact"]["bench_executables"]["instr"]["sha256"] = json!(digest_of("rebuilt exe"));
    write(dir.path(), "new.json", &seal(value));
    dir
}

#[test]
fn instruction_soft_limit_is_half_a_percent_by_default() {
    // +0.4%: within the soft limit.
    compare(&instruction_pair(1004), &[]).code(0);
    // +0.6%: beyond it.
    compare(&instruction_pair(1006), &[])
        .code(1)
        .stdout(predicate::str::is_match(r"instructions\s+1,000\s+1,006\s+\+0\.60%").unwrap());
}

/// A callgrind profile in which `kernel` executes `kernel_ir` instructions of its own and
/// `main` calls it.
fn profile(kernel_ir: u64) -> String {
    format!(
        "# callgrind format\nversion: 1\npositions: line\nevents: Ir\n\
         fn=(1) benchseal_kernels::sync::compare::mismatch_avx2\n12 {kernel_ir}\n\
         fn=(2) main\n1 3\ncfn=(1)\ncalls=1 12\n1 {kernel_ir}\n"
    )
}

/// Writes `text` as the profile of the first bench of the record `value` (its instr
/// metrics name it by path and digest) into `dir`.
fn keep_profile(dir: &std::path::Path, value: &mut Value, run: &str, text: &str) {
    let relative = format!("{run}.callgrind/first.out");
    std::fs::create_dir_all(dir.join(format!("{run}.callgrind"))).unwrap();
    std::fs::write(dir.join(&relative), text).unwrap();
    value["workloads"][0]["paths"][0]["instr"]["metrics"]["callgrind"] =
        json!({"path": relative, "sha256": digest_of(text)});
}

/// A changed instruction count is explained by the function that changed, with its own
/// and inclusive counts and the raw files; a profile that cannot be read is said once with
/// its path and line, and the count's verdict stands.
#[test]
fn a_changed_count_names_the_function_that_changed() {
    let dir = tempfile::tempdir().unwrap();
    let old = two_benches(1000.0, 5000.0, 1);
    let mut new = old.clone();
    new[0].instructions = Some(1250);
    let mut old_json = record_json("run-old", "2026-01-01T00:00:00Z", &old, &[]);
    keep_profile(dir.path(), &mut old_json, "run-old", &profile(997));
    write(dir.path(), "old.json", &seal(old_json));
    let mut new_json = record_json("run-new", "2026-01-02T00:00:00Z", &new, &[]);
    new_json["artifact"]["bench_executables"]["instr"]["sha256"] = json!(digest_of("rebuilt exe"));
    let fresh = new_json.clone();
    keep_profile(dir.path(), &mut new_json, "run-new", &profile(1247));
    write(dir.path(), "new.json", &seal(new_json));
    let assert = compare(&dir, &[]).code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        predicate::str::is_match(
            r"callgrind profiles \S*run-old\.callgrind/first\.out → \S*run-new\.callgrind/first\.out"
        )
        .unwrap()
        .eval(&stdout),
        "{stdout}"
    );
    assert!(
        predicate::str::is_match(r"mismatch_avx2\s+997\s+1,247\s+\+250\s+997 → 1,247")
            .unwrap()
            .eval(&stdout),
        "{stdout}"
    );
    // main's own instructions did not change: it does not account for the change.
    assert!(!stdout.contains("\nmain "), "{stdout}");
    let json = json_output(&compare(&dir, &["--format", "json"]).code(1));
    assert_eq!(json["explanations"][0]["functions"][0]["self_new"], 1247);

    // A broken profile: named with its line; the verdict is the same.
    let mut broken = fresh;
    keep_profile(
        dir.path(),
        &mut broken,
        "run-new",
        "events: Ir\nfn=(1) f\n12 lots\n",
    );
    write(dir.path(), "new.json", &seal(broken));
    compare(&dir, &[]).code(1).stdout(
        predicate::str::contains("skipped (unreadable profile: ").and(predicate::str::contains(
            "run-new.callgrind/first.out: line 3: `lots` is not an instruction count",
        )),
    );
}

#[test]
fn instruction_hard_limit_from_a_policy_file() {
    let dir = instruction_pair(1003);
    std::fs::write(
        dir.path().join("policy.toml"),
        "[instructions]\nhard_limit = 1002\n",
    )
    .unwrap();
    compare(&dir, &["--policy", "policy.toml"])
        .code(1)
        .stdout(predicate::str::contains(
            "above the hard limit of 1002 instructions",
        ));
}

fn memory_pair(new_rss: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let benches = two_benches(1000.0, 5000.0, 1);
    let process = |rss| Process {
        id: "decode-file",
        samples: samples(5e7, 10, 3),
        peak_rss_bytes: rss,
    };
    let old = record_json(
        "run-old",
        "2026-01-01T00:00:00Z",
        &benches,
        &[process(100 << 20)],
    );
    let new = record_json(
        "run-new",
        "2026-01-02T00:00:00Z",
        &benches,
        &[process(new_rss)],
    );
    write(dir.path(), "old.json", &seal(old));
    write(dir.path(), "new.json", &seal(new));
    dir
}

#[test]
fn memory_growth_beyond_25_percent_fails_unless_the_policy_only_warns() {
    compare(&memory_pair(120 << 20), &[]).code(0);
    let dir = memory_pair(130 << 20);
    compare(&dir, &[])
        .code(1)
        .stdout(predicate::str::contains("peak rss"));
    std::fs::write(dir.path().join("policy.toml"), "[memory]\nfail = false\n").unwrap();
    compare(&dir, &["--policy", "policy.toml"])
        .code(0)
        .stdout(predicate::str::contains(
            "warning only: memory.fail is false",
        ));
}

#[test]
fn a_policy_with_an_unknown_field_is_bad_input() {
    let dir = memory_pair(100 << 20);
    std::fs::write(dir.path().join("policy.toml"), "[wall]\nthreshold = 3\n").unwrap();
    compare(&dir, &["--policy", "policy.toml"])
        .code(2)
        .stderr(predicate::str::contains("policy.toml").and(predicate::str::contains("threshold")));
}

#[test]
fn different_machine_classes_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let benches = two_benches(1000.0, 5000.0, 1);
    write(
        dir.path(),
        "old.json",
        &seal(record_json(
            "run-old",
            "2026-01-01T00:00:00Z",
            &benches,
            &[],
        )),
    );
    let mut new = record_json("run-new", "2026-01-02T00:00:00Z", &benches, &[]);
    new["env"]["machine_class"] = json!("aarch64-other-machine-rust1.95.0-11111111");
    write(dir.path(), "new.json", &seal(new));
    compare(&dir, &[]).code(2).stderr(predicate::str::contains(
        "refusing to compare across machine classes",
    ));
    compare(&dir, &["--allow-env-mismatch"])
        .code(0)
        .stdout(predicate::str::contains(
            "warning: compared across machine classes",
        ));
    let out = json_output(&compare(&dir, &["--allow-env-mismatch", "--format", "json"]).code(0));
    assert_eq!(out["env"]["machine_class_differs"], true);
    assert_eq!(out["env"]["mismatch_allowed"], true);
    // Up front, and never as a regression: wall and instruction counts are not compared.
    assert!(
        out["caveat"]
            .as_str()
            .unwrap()
            .starts_with("wall clock and instruction counts not comparable (class "),
        "{out}"
    );
    assert_eq!(out["metrics"], json!([]));
    assert!(
        out["not_compared"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("not comparable (class ")
    );
}

#[test]
fn records_with_nothing_in_common_say_so_exit_2() {
    let dir = pair(
        &[Bench::new("codec/comp3/s9v2/tiny", 1000.0, 1)],
        &[Bench::new("quant/gemv/i2s/tiny", 1000.0, 1)],
    );
    compare(&dir, &[])
        .code(2)
        .stderr(predicate::str::contains("no workload or process in common"));
}

#[test]
fn workloads_on_one_side_only_are_listed_as_not_compared() {
    let old = two_benches(1000.0, 5000.0, 1);
    let dir = pair(&old, &old[..1]);
    compare(&dir, &[]).code(0).stdout(predicate::str::contains(
        "sync/detect/text8k/tiny: only in the old record",
    ));
}

#[test]
fn broken_files_are_bad_input_naming_the_file() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1000.0, 5000.0, 1),
    );
    for (name, says) in [
        ("not-json.json", "not valid JSON"),
        (
            "truncated.json",
            "field `workloads[0].paths[0].wall.metrics.median_ns`: not valid JSON",
        ),
        ("foreign-schema.json", "field `schema` is missing"),
        (
            "future-schema.json",
            "schema `benchseal.run/2` is not supported",
        ),
    ] {
        let path = fixture(name);
        benchseal_in(dir.path())
            .args(["compare", path.to_str().unwrap(), "new.json"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(name).and(predicate::str::contains(says)));
    }
}

#[test]
fn a_field_of_the_wrong_type_is_named_by_its_path() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1000.0, 5000.0, 1),
    );
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("new.json")).unwrap())
            .unwrap();
    value["workloads"][1]["paths"][0]["wall"]["metrics"]["median_ns"] = json!("fast");
    std::fs::write(
        dir.path().join("new.json"),
        serde_json::to_string_pretty(&value).unwrap(),
    )
    .unwrap();
    compare(&dir, &[]).code(2).stderr(predicate::str::contains(
        "new.json: field `workloads[1].paths[0].wall.metrics.median_ns`",
    ));
}

#[test]
fn a_tampered_record_is_a_seal_mismatch_exit_3() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1000.0, 5000.0, 1),
    );
    let path = dir.path().join("new.json");
    let text =
        std::fs::read_to_string(&path)
            .unwrap()
            .replacen("\"quick\": false", "\"quick\": true", 1);
    std::fs::write(&path, text).unwrap();
    compare(&dir, &[])
        .code(3)
        .stderr(predicate::str::contains("new.json: seal mismatch"));
}

#[test]
fn an_unsealed_record_is_bad_input() {
    let dir = pair(
        &two_benches(1000.0, 5000.0, 1),
        &two_benches(1000.0, 5000.0, 1),
    );
    let value = record_json(
        "run-new",
        "2026-01-02T00:00:00Z",
        &two_benches(1000.0, 5000.0, 1),
        &[],
    );
    std::fs::write(dir.path().join("new.json"), value.to_string()).unwrap();
    compare(&dir, &[])
        .code(2)
        .stderr(predicate::str::contains("not finished and sealed"));
}

#[test]
fn arguments_resolve_as_file_then_run_id_then_baseline_version() {
    let dir = tempfile::tempdir().unwrap();
    let benches = two_benches(1000.0, 5000.0, 1);
    write(
        dir.path(),
        "reports/runs/run-1.json",
        &seal(record_json("run-1", "2026-01-01T00:00:00Z", &benches, &[])),
    );
    write(
        dir.path(),
        "reports/runs/run-2.json",
        &seal(record_json("run-2", "2026-01-02T00:00:00Z", &benches, &[])),
    );
    benchseal_in(dir.path())
        .args(["baseline", "save", "--version", "1.0.0", "--from", "run-1"])
        .assert()
        .code(0);
    benchseal_in(dir.path())
        .args(["compare", "1.0.0", "run-2"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!(
            "A (old): baseline 1.0.0 for {CLASS}"
        )))
        .stderr(predicate::str::contains(
            "B (new): run id (file reports/runs/run-2.json)",
        ));
    benchseal_in(dir.path())
        .args(["compare", "2.0.0", "run-2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`2.0.0` is neither a file, nor a run id",
        ));
    benchseal_in(dir.path())
        .args(["compare", "../../etc/passwd", "run-2"])
        .assert()
        .code(2);
}

/// serde_json parses floats best-effort unless `float_roundtrip` is on; about half of
/// all sample values then came back one ULP off and every reloaded record failed its
/// seal check.
#[test]
fn regression_float_samples_keep_their_seal_after_a_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let record = seal(record_json(
        "run-1",
        "2026-01-01T00:00:00Z",
        &two_benches(1234.567, 89.0123, 42),
        &[],
    ));
    let path = write(dir.path(), "run.json", &record);
    let loaded = benchseal::store::load(&path, benchseal::store::Seal::Required)
        .expect("the seal verifies after reloading");
    assert_eq!(loaded, record);
}
