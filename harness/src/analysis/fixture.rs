//! A deterministic example: a run record, a baseline and an SLO file built in code with
//! fixed numbers. Snapshot tests render it, tamper tests edit it, and it shows every
//! verdict a report can carry (pass, fail, skipped; reproduced digests; a skipped GPU path).

use std::collections::BTreeMap;

use benchseal_benches::{Family, KernelPath, Size, Unit, WorkloadId};

use crate::analysis::signoff::{HistoryPoint, ReportInputs, SourceState};
use crate::analysis::slo::SloFile;
use crate::model::digest::sha256_hex;
use crate::model::env::{Captured, Cpu, ENV_SCHEMA, EnvSnapshot, Toolchain};
use crate::model::record::{
    Artifact, EngineKind, EngineResult, Executable, ExtraMetric, InstrMetrics, PathRecord,
    ProcessRecord, RUN_SCHEMA, RunOptions, RunRecord, Status, Tuning, WallStats, WorkloadRecord,
};

/// The SLO file of the example.
pub const FIXTURE_SLO: &str = r#"schema = "benchseal.slo/1"

[[process]]
id = "harness-startup"
command = ["{benchseal}", "--version"]
runs = 50

[[objective]]
id = "codec-display-throughput"
description = "DISPLAY decode, CP037, 10 fields x 50 bytes"
workload = "codec/display/cp037-10x50/large"
metric = "throughput"
path = "simd"
target = ">= 4.1 GiB/s"
priority = "critical"

[[objective]]
id = "codec-comp3-throughput"
workload = "codec/comp3/s9v2-10/large"
metric = "throughput"
target = ">= 1 GiB/s"
priority = "high"

[[objective]]
id = "quant-gemv-throughput"
workload = "quant/gemv-i2s/4096x4096/medium"
metric = "throughput"
target = ">= 50 G weights/s"
priority = "high"

[[objective]]
id = "quant-simd-speedup"
workload = "quant/gemv-i2s/4096x4096/medium"
metric = "speedup"
paths = ["scalar", "simd"]
target = ">= 8x"
priority = "medium"

[[objective]]
id = "sync-detect-per-file"
workload = "sync/detect/text-8kib/small"
metric = "throughput"
target = "<= 250 ns/file"
priority = "high"

[[objective]]
id = "sync-plan-per-1000-files"
workload = "sync/plan/tree-26-dirs/small"
metric = "throughput"
target = "<= 10 ms/1000 files"
priority = "medium"

[[objective]]
id = "harness-startup-p95"
workload = "harness-startup"
metric = "latency_p95"
target = "<= 20 ms"
priority = "high"

[[objective]]
id = "harness-startup-rss"
workload = "harness-startup"
metric = "peak_rss"
target = "< 64 MiB"
priority = "medium"

[[objective]]
id = "digest-reproducibility"
metric = "digest_reproducibility"
target = "== 100 %"
priority = "critical"

[regression]
wall = { threshold_pct = 3.0, confidence = 0.95, resamples = 10000 }
instructions = { soft_limit_pct = 0.5 }
memory = { threshold_pct = 10.0, fail = true }
"#;

fn wall(median_ns: f64, units: u64) -> EngineResult<WallStats> {
    let samples: Vec<f64> = (0..10)
        .map(|i| median_ns * (0.98 + 0.005 * i as f64))
        .collect();
    EngineResult {
        status: Status::Ok,
        metrics: Some(WallStats {
            median_ns,
            median_ci_lower_ns: median_ns * 0.99,
            median_ci_upper_ns: median_ns * 1.01,
            mean_ns: median_ns * 1.002,
            mean_ci_lower_ns: median_ns * 0.995,
            mean_ci_upper_ns: median_ns * 1.01,
            std_dev_ns: median_ns * 0.01,
            confidence_level: 0.95,
            samples_ns: samples,
            sample_iters: vec![100.0; 10],
            throughput_per_s: units as f64 * 1e9 / median_ns,
            executions: Vec::new(),
        }),
    }
}

fn instr(instructions: u64) -> EngineResult<InstrMetrics> {
    EngineResult {
        status: Status::Ok,
        metrics: Some(InstrMetrics {
            instructions,
            l1_hits: Some(instructions + instructions / 3),
            ll_hits: Some(1_024),
            ram_hits: Some(64),
            total_read_write: Some(instructions + instructions / 3 + 1_088),
            estimated_cycles: Some(instructions + instructions / 3 + 1_024 * 5 + 64 * 35),
            branches: None,
            branch_misses: None,
            label: None,
            callgrind: None,
        }),
    }
}

fn path(
    path: KernelPath,
    label: &str,
    output: &str,
    wall_ns: Option<(f64, u64)>,
    instructions: Option<u64>,
) -> PathRecord {
    PathRecord {
        path,
        label: label.into(),
        output_sha256: Some(sha256_hex(output.as_bytes())),
        status: Status::Ok,
        wall: wall_ns.map(|(ns, units)| wall(ns, units)),
        instr: instructions.map(instr),
        extra: Default::default(),
        allocations: None,
    }
}

fn workload(
    id: &str,
    unit: Unit,
    units: u64,
    describe: &str,
    paths: Vec<PathRecord>,
) -> WorkloadRecord {
    let id: WorkloadId = id.parse().expect("fixture ids are valid");
    WorkloadRecord {
        family: id.family,
        unit,
        units,
        describe: describe.into(),
        input_sha256: Some(sha256_hex(format!("input of {id}").as_bytes())),
        golden_output_sha256: Some(sha256_hex(format!("output of {id}").as_bytes())),
        id,
        paths,
        extra: BTreeMap::new(),
        roof: None,
    }
}

fn env() -> EnvSnapshot {
    EnvSnapshot {
        schema: ENV_SCHEMA.into(),
        machine_class: "example-xeon-avx512-rust1.95".into(),
        machine_class_basis: vec![
            "cpu: Example Xeon (Sapphire Rapids class)".into(),
            "simd: avx512".into(),
        ],
        captured_at: "2026-01-01T00:00:00Z".into(),
        cpu: Cpu {
            arch: "x86_64".into(),
            model_name: Captured::Present("Example Xeon (Sapphire Rapids class)".into()),
            ..Cpu::default()
        },
        toolchain: Toolchain {
            cargo: Captured::Present("cargo 1.95.0".into()),
            ..Toolchain::default()
        },
        ..EnvSnapshot::default()
    }
}

/// The example run record, sealed.
pub fn run() -> RunRecord {
    let display = "codec/display/cp037-10x50/large";
    let comp3 = "codec/comp3/s9v2-10/large";
    let gemv = "quant/gemv-i2s/4096x4096/medium";
    let detect = "sync/detect/text-8kib/small";
    let out = |id: &str| format!("output of {id}");
    let mut gpu_skipped = path(KernelPath::Gpu, "gpu", &out(gemv), None, None);
    gpu_skipped.output_sha256 = None;
    gpu_skipped.status = Status::Skipped("no CUDA device".into());
    let mut record = RunRecord {
        schema: RUN_SCHEMA.into(),
        run_id: "20260101T000000Z-fixture".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: Some("2026-01-01T00:20:00Z".into()),
        complete: true,
        command: vec![
            "benchseal".into(),
            "run".into(),
            "--size".into(),
            "large".into(),
        ],
        options: RunOptions {
            suites: vec![Family::Codec, Family::Quant, Family::Sync],
            sizes: vec![Size::Small, Size::Medium, Size::Large],
            engines: vec![EngineKind::Wall, EngineKind::Instr],
            paths: vec![KernelPath::Scalar, KernelPath::Simd, KernelPath::Gpu],
            quick: false,
        },
        artifact: Artifact {
            version: "0.1.0".into(),
            git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            git_dirty: Some(false),
            cargo_lock_sha256: Some(sha256_hex(b"Cargo.lock")),
            bench_executables: BTreeMap::from([
                (
                    "wall".into(),
                    Executable {
                        path: "target/release/deps/wall-0".into(),
                        sha256: sha256_hex(b"wall"),
                    },
                ),
                (
                    "instr".into(),
                    Executable {
                        path: "target/release/deps/instr-0".into(),
                        sha256: sha256_hex(b"instr"),
                    },
                ),
            ]),
            tools: BTreeMap::from([
                ("criterion".into(), "0.8.2".into()),
                ("gungraun".into(), "0.20.0".into()),
            ]),
            tool_paths: BTreeMap::new(),
        },
        env: env(),
        env_after: Some(env()),
        env_changes: Vec::new(),
        tuning: Tuning {
            tuned: false,
            reasons: vec!["no cpufreq: governor and boost cannot be set".into()],
        },
        workloads: vec![
            workload(
                display,
                Unit::Bytes,
                64 << 20,
                "DISPLAY decode <PIC X(50)> x 10 & friends",
                vec![
                    path(
                        KernelPath::Scalar,
                        "scalar",
                        &out(display),
                        Some((150e6, 64 << 20)),
                        Some(402_653_184),
                    ),
                    path(
                        KernelPath::Simd,
                        "simd (avx512)",
                        &out(display),
                        Some((14e6, 64 << 20)),
                        Some(25_165_824),
                    ),
                ],
            ),
            workload(
                comp3,
                Unit::Bytes,
                32 << 20,
                "COMP-3 decode S9(7)V99",
                vec![
                    path(
                        KernelPath::Scalar,
                        "scalar",
                        &out(comp3),
                        Some((95e6, 32 << 20)),
                        None,
                    ),
                    path(
                        KernelPath::Simd,
                        "simd (avx512)",
                        &out(comp3),
                        Some((40e6, 32 << 20)),
                        None,
                    ),
                ],
            ),
            workload(
                gemv,
                Unit::Weights,
                4096 * 4096,
                "I2_S GEMV 4096x4096",
                vec![
                    path(
                        KernelPath::Scalar,
                        "scalar",
                        &out(gemv),
                        Some((40e6, 4096 * 4096)),
                        None,
                    ),
                    path(
                        KernelPath::Simd,
                        "simd (avx512-vnni)",
                        &out(gemv),
                        Some((0.3e6, 4096 * 4096)),
                        None,
                    ),
                    gpu_skipped,
                ],
            ),
            workload(
                detect,
                Unit::Files,
                1,
                "binary detection of an 8 KiB text file",
                vec![path(
                    KernelPath::Scalar,
                    "scalar",
                    &out(detect),
                    Some((180.0, 1)),
                    Some(9_310),
                )],
            ),
        ],
        processes: vec![ProcessRecord {
            id: "harness-startup".into(),
            command: vec!["target/release/benchseal".into(), "--version".into()],
            status: Status::Ok,
            runs: 5,
            wall_p50_ns: Some(3.0e6),
            wall_p95_ns: Some(3.8e6),
            wall_p99_ns: Some(3.96e6),
            peak_rss_bytes: Some(6 << 20),
            samples_ns: vec![2.9e6, 3.0e6, 3.0e6, 3.2e6, 4.0e6],
            unit: None,
            units: None,
            program_bytes: None,
        }],
        notes: Vec::new(),
        engine_failures: Vec::new(),
        timing: None,
        session: None,
        shard: None,
        parts: Vec::new(),
        scaling: Vec::new(),
        seal: None,
    };
    record.seal().expect("the fixture serialises");
    record
}

/// The example baseline: the same run, a little slower, from version 0.0.9.
pub fn baseline() -> RunRecord {
    let mut b = run();
    b.run_id = "20251201T000000Z-fixture".into();
    b.artifact.version = "0.0.9".into();
    for w in &mut b.workloads {
        for p in &mut w.paths {
            if let Some(m) = p.wall.as_mut().and_then(|r| r.metrics.as_mut()) {
                m.median_ns *= 1.1;
                m.median_ci_lower_ns *= 1.1;
                m.median_ci_upper_ns *= 1.1;
                m.samples_ns.iter_mut().for_each(|s| *s *= 1.1);
                m.throughput_per_s /= 1.1;
            }
        }
    }
    b.env.toolchain.cargo = Captured::Present("cargo 1.94.0".into());
    b.seal().expect("the fixture serialises");
    b
}

/// The inputs of the example report, with a baseline and a two-point history.
pub fn inputs() -> ReportInputs {
    let slo = SloFile::parse(FIXTURE_SLO, "fixture-slo.toml").expect("the fixture SLO file parses");
    let run = run();
    let baseline = baseline();
    let history = ["0.0.8", "0.0.9"]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let scale = 1.0 - 0.1 * (2 - i) as f64;
            HistoryPoint {
                label: format!("v{v}"),
                run_id: format!("history-{v}"),
                values: BTreeMap::from([
                    (
                        "codec-display-throughput".to_string(),
                        Some(4.46e9 * scale * (1u64 << 30) as f64 / 1e9),
                    ),
                    ("sync-detect-per-file".to_string(), Some(180.0 / scale)),
                ]),
            }
        })
        .collect();
    ReportInputs {
        version: "0.1.0".into(),
        generated_at: "2026-01-01T01:00:00Z".into(),
        source: SourceState {
            git_commit: run.artifact.git_commit.clone(),
            git_dirty: Some(false),
            allow_dirty: false,
        },
        slo,
        run,
        baseline_version: Some("0.0.9".into()),
        baseline: Some(baseline),
        session_baseline: None,
        history,
        rules: crate::analysis::signoff::RULES,
        layout: crate::analysis::signoff::LAYOUT,
        trust: None,
        quick: false,
        preconditions: Vec::new(),
        explanations: Vec::new(),
    }
}

/// A record of one sync workload on the scalar path, one path record per status.
pub fn record_with(statuses: &[Status]) -> RunRecord {
    let paths = statuses
        .iter()
        .map(|s| PathRecord {
            path: KernelPath::Scalar,
            label: "scalar".into(),
            output_sha256: None,
            status: s.clone(),
            wall: None,
            instr: None,
            extra: BTreeMap::new(),
            allocations: None,
        })
        .collect();
    RunRecord {
        schema: RUN_SCHEMA.into(),
        run_id: "r".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: None,
        complete: true,
        command: vec![],
        options: RunOptions::default(),
        artifact: Artifact::default(),
        env: crate::model::env::EnvSnapshot::default(),
        env_after: None,
        env_changes: vec![],
        tuning: Tuning::default(),
        workloads: vec![WorkloadRecord {
            id: "sync/x/y/tiny".parse::<WorkloadId>().unwrap(),
            family: Family::Sync,
            unit: Unit::Files,
            units: 1,
            describe: String::new(),
            input_sha256: None,
            golden_output_sha256: None,
            paths,
            extra: BTreeMap::<String, ExtraMetric>::new(),
            roof: None,
        }],
        processes: vec![],
        notes: vec![],
        engine_failures: Vec::new(),
        timing: None,
        session: None,
        shard: None,
        parts: Vec::new(),
        scaling: Vec::new(),
        seal: None,
    }
}
