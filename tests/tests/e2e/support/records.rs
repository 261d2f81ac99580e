//! Builders of sealed run records for the baseline, compare and history tests.
//!
//! Records are built as JSON and parsed by the library, so the tests exercise the same
//! schema as real runs; the environment is the library's own snapshot of this machine,
//! with the machine class overridden.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use benchseal::analysis::stats::SplitMix64;
use benchseal::model::record::RunRecord;
use serde_json::{Value, json};

pub const CLASS: &str = "x86_64-test-machine-rust1.95.0-00000000";

/// One workload on one path.
#[derive(Clone, Debug)]
pub struct Bench {
    pub id: &'static str,
    pub path: &'static str,
    pub samples: Vec<f64>,
    pub instructions: Option<u64>,
    pub output_sha256: String,
}

impl Bench {
    /// 30 samples around `center_ns` with 1% noise from `seed`, 1000 instructions.
    pub fn new(id: &'static str, center_ns: f64, seed: u64) -> Bench {
        Bench {
            id,
            path: "simd",
            samples: samples(center_ns, 30, seed),
            instructions: Some(1000),
            output_sha256: digest_of(id),
        }
    }
}

/// `n` samples around `center` with 1% normal noise.
pub fn samples(center: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| center * (1.0 + 0.01 * rng.next_normal()))
        .collect()
}

/// A stable fake SHA-256 for a name.
pub fn digest_of(name: &str) -> String {
    benchseal::model::digest::sha256_hex(name.as_bytes())
}

/// A whole command measured by the process engine.
#[derive(Clone, Debug)]
pub struct Process {
    pub id: &'static str,
    pub samples: Vec<f64>,
    pub peak_rss_bytes: u64,
}

fn env_value() -> Value {
    static ENV: OnceLock<Value> = OnceLock::new();
    ENV.get_or_init(|| serde_json::to_value(benchseal::sys::env::snapshot()).unwrap())
        .clone()
}

fn median(values: &[f64]) -> f64 {
    benchseal::analysis::stats::median(values).unwrap_or(0.0)
}

fn path_json(bench: &Bench) -> Value {
    let m = median(&bench.samples);
    let instr = bench.instructions.map(|n| {
        json!({"status": "ok", "metrics": {"instructions": n, "l1_hits": null, "ll_hits": null,
               "ram_hits": null, "total_read_write": null, "estimated_cycles": null}})
    });
    json!({
        "path": bench.path,
        "label": format!("{} (test)", bench.path),
        "output_sha256": bench.output_sha256,
        "status": "ok",
        "wall": {"status": "ok", "metrics": {
            "median_ns": m, "median_ci_lower_ns": m * 0.99, "median_ci_upper_ns": m * 1.01,
            "mean_ns": m, "mean_ci_lower_ns": m * 0.99, "mean_ci_upper_ns": m * 1.01,
            "std_dev_ns": m * 0.01, "confidence_level": 0.95,
            "samples_ns": bench.samples, "sample_iters": vec![1.0; bench.samples.len()],
            "throughput_per_s": 4096.0 / m * 1e9,
        }},
        "instr": instr,
    })
}

/// A record as JSON (unsealed); edit it, then [`seal`] it.
pub fn record_json(
    run_id: &str,
    started_at: &str,
    benches: &[Bench],
    processes: &[Process],
) -> Value {
    let mut workloads: Vec<Value> = Vec::new();
    for bench in benches {
        let family = bench.id.split('/').next().unwrap();
        if let Some(existing) = workloads.iter_mut().find(|w| w["id"] == bench.id) {
            existing["paths"]
                .as_array_mut()
                .unwrap()
                .push(path_json(bench));
            continue;
        }
        workloads.push(json!({
            "id": bench.id, "family": family, "unit": "bytes", "units": 4096,
            "describe": "test workload",
            "input_sha256": digest_of(&format!("input {}", bench.id)),
            "golden_output_sha256": bench.output_sha256,
            "paths": [path_json(bench)],
        }));
    }
    let processes: Vec<Value> = processes
        .iter()
        .map(|p| {
            json!({"id": p.id, "command": ["true"], "status": "ok", "runs": p.samples.len(),
                   "wall_p50_ns": median(&p.samples), "wall_p95_ns": null, "wall_p99_ns": null,
                   "peak_rss_bytes": p.peak_rss_bytes, "samples_ns": p.samples,
                   "unit": null, "units": null})
        })
        .collect();
    let mut env = env_value();
    env["machine_class"] = json!(CLASS);
    json!({
        "schema": "benchseal.run/1",
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": started_at,
        "complete": true,
        "command": ["benchseal", "run"],
        "options": {"suites": [], "sizes": [], "engines": [], "paths": [], "quick": false},
        "artifact": {"version": "0.1.0", "git_commit": "abc123", "git_dirty": false,
                     "cargo_lock_sha256": null,
                     "bench_executables": {"instr": {"path": "target/instr", "sha256": digest_of("instr exe")}}},
        "env": env,
        "env_after": null,
        "env_changes": [],
        "tuning": {"tuned": false, "reasons": []},
        "workloads": workloads,
        "processes": processes,
        "seal": null,
    })
}

/// Parses and seals a record.
pub fn seal(value: Value) -> RunRecord {
    let mut record: RunRecord = serde_json::from_value(value).expect("test record parses");
    record.seal().unwrap();
    record
}

/// Writes a record to `dir/<name>` and returns the path.
pub fn write(dir: &Path, name: &str, record: &RunRecord) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    benchseal::store::save(record, &path).unwrap();
    path
}

/// The standard pair of workloads used by most tests.
pub fn two_benches(center_a: f64, center_b: f64, seed: u64) -> Vec<Bench> {
    vec![
        Bench::new("codec/comp3/s9v2/tiny", center_a, seed),
        Bench::new("sync/detect/text8k/tiny", center_b, seed + 1),
    ]
}

/// The fixture directory of committed bad records.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/records")
        .join(name)
}
