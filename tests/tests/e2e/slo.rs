//! The SLO file: the repository's objectives parse, errors name line:column and field,
//! and evaluation never turns a missing number into a pass.

use benchseal::analysis::fixture;
use benchseal::analysis::slo::{SloError, SloFile, SloVerdict, evaluate};

fn parse(text: &str) -> Result<SloFile, SloError> {
    SloFile::parse(text, "t.toml")
}

const HEAD: &str = "schema = \"benchseal.slo/1\"\n";

#[test]
fn repository_slo_file_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../slo.toml");
    let slo = SloFile::parse(&std::fs::read_to_string(path).unwrap(), "slo.toml").unwrap();
    assert!(slo.objectives.len() >= 14, "{}", slo.objectives.len());
    for id in ["harness-startup", "harness-run-quick"] {
        assert!(slo.process(id).is_some(), "process {id}");
    }
}

#[test]
fn unknown_metric_names_line_column_objective_and_field() {
    let text = format!(
        "{HEAD}\n[[objective]]\nid = \"a\"\nworkload = \"codec/display/x/large\"\nmetric = \"speed\"\ntarget = \">= 1 GiB/s\"\npriority = \"high\"\n"
    );
    assert_eq!(
        parse(&text).unwrap_err().to_string(),
        "t.toml:6:10: objective `a`: field `metric`: unknown metric `speed` (valid: throughput, latency_p50, latency_p95, latency_p99, instructions, peak_rss, speedup, digest_reproducibility, speedup_threads, efficiency, roof_fraction, program_size)"
    );
}

#[test]
fn unit_that_does_not_fit_the_metric_names_the_objective() {
    let text = format!(
        "{HEAD}[[objective]]\nid = \"startup\"\nworkload = \"codec/display/x/large\"\nmetric = \"throughput\"\ntarget = \"<= 20 ms\"\npriority = \"high\"\n"
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.starts_with("t.toml:6:10: objective `startup`: field `target`: unit `ms` is a time, which does not fit metric `throughput`"), "{err}");
}

#[test]
fn missing_field_names_it_with_its_line() {
    let text = format!(
        "{HEAD}[[objective]]\nid = \"a\"\nworkload = \"codec/display/x/large\"\nmetric = \"throughput\"\ntarget = \">= 1 GiB/s\"\n"
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.starts_with("t.toml:2:1: ") && err.contains("missing field `priority`"),
        "{err}"
    );
}

#[test]
fn wrong_type_names_the_key() {
    let text = format!("{HEAD}[[process]]\nid = \"p\"\ncommand = [\"true\"]\nruns = \"many\"\n");
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.starts_with("t.toml:5:8: field `runs`: "), "{err}");
}

#[test]
fn bad_target_and_unknown_schema_are_reported() {
    let text = format!(
        "{HEAD}[[objective]]\nid = \"a\"\nworkload = \"codec/display/x/large\"\nmetric = \"throughput\"\ntarget = \">= 4.1 GB/fortnight\"\npriority = \"high\"\n"
    );
    assert!(
        parse(&text)
            .unwrap_err()
            .to_string()
            .starts_with("t.toml:6:10: objective `a`: field `target`: unknown unit")
    );
    let err = parse("schema = \"benchseal.slo/2\"\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "t.toml:1:10: field `schema`: `benchseal.slo/2` is not supported (expected `benchseal.slo/1`)"
    );
    let err = parse("schema = \"benchseal.slo/1\"\nobjective = [ { id = 1 ] \n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("t.toml:2:"), "{err}");
}

#[test]
fn a_rate_on_a_workload_with_another_unit_is_an_error_naming_the_objective() {
    let text = format!(
        "{HEAD}[[objective]]\nid = \"detect\"\nworkload = \"sync/detect/text-8kib/small\"\nmetric = \"throughput\"\ntarget = \">= 1 GiB/s\"\npriority = \"high\"\n"
    );
    let slo = parse(&text).unwrap();
    let err = evaluate(&slo.objectives[0], &fixture::run(), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "objective `detect`: target unit `GiB/s` counts bytes, but sync/detect/text-8kib/small counts files"
    );
}

#[test]
fn absent_workload_and_absent_process_are_skipped() {
    let text = format!(
        "{HEAD}[[process]]\nid = \"p\"\ncommand = [\"true\"]\n[[objective]]\nid = \"a\"\nworkload = \"codec/display/cp037-10x50/tiny\"\nmetric = \"throughput\"\ntarget = \">= 1 GiB/s\"\npriority = \"critical\"\n[[objective]]\nid = \"b\"\nworkload = \"p\"\nmetric = \"latency_p50\"\ntarget = \"<= 1 s\"\npriority = \"high\"\n"
    );
    let slo = parse(&text).unwrap();
    let run = fixture::run();
    let a = evaluate(&slo.objectives[0], &run, None).unwrap();
    assert_eq!(a.verdict, SloVerdict::Skipped("workload not in run".into()));
    assert_eq!(a.measured_base, None);
    let b = evaluate(&slo.objectives[1], &run, None).unwrap();
    assert_eq!(b.verdict, SloVerdict::Skipped("process not in run".into()));
}

#[test]
fn measured_value_and_margin_are_exact_for_the_example() {
    let slo = SloFile::parse(fixture::FIXTURE_SLO, "f.toml").unwrap();
    let run = fixture::run();
    let display = evaluate(&slo.objectives[0], &run, None).unwrap();
    let measured = (64u64 << 20) as f64 * 1e9 / 14e6;
    assert_eq!(display.measured_base, Some(measured));
    assert_eq!(display.verdict, SloVerdict::Pass);
    let target = 41.0 * (1u64 << 30) as f64 / 10.0;
    assert_eq!(
        display.margin_pct,
        Some((measured - target) / target * 100.0)
    );
    let detect = evaluate(&slo.objectives[4], &run, None).unwrap();
    assert_eq!(detect.measured_base, Some(180.0));
    assert!((detect.margin_pct.unwrap() - 28.0).abs() < 1e-9);
}

#[test]
fn misspelt_workload_or_relative_to_is_an_error_naming_the_closest_names() {
    let objective = |fields: &str| {
        format!(
            "{HEAD}[[process]]\nid = \"harness-startup\"\ncommand = [\"true\"]\n[[objective]]\nid = \"a\"\n{fields}\ntarget = \">= 1 GiB/s\"\npriority = \"high\"\n"
        )
    };
    let cases = [
        (
            "workload = \"codec/displya/cp037-10x50/large\"\nmetric = \"throughput\"",
            "t.toml:7:12: objective `a`: field `workload`: `codec/displya/cp037-10x50/large` is not a registered workload (closest: codec/display/cp037-10x50/large",
        ),
        (
            "workload = \"harness-startpu\"\nmetric = \"throughput\"",
            "field `workload`: workload id `harness-startpu` is not of the form",
        ),
        (
            "workload = \"codec/display/cp037-10x50/large\"\nmetric = \"speedup\"\nrelative_to = \"codec/dispaly/cp037-10x50/large\"",
            "t.toml:9:15: objective `a`: field `relative_to`: `codec/dispaly/cp037-10x50/large` is not a registered workload (closest: codec/display/cp037-10x50/large",
        ),
        (
            "workload = \"codex/*\"\nmetric = \"digest_reproducibility\"",
            "field `workload`: no registered workload starts with `codex/`",
        ),
    ];
    for (fields, expected) in cases {
        let text = objective(fields).replace(
            ">= 1 GiB/s",
            if fields.contains("speedup") {
                ">= 1x"
            } else if fields.contains("digest") {
                ">= 100%"
            } else {
                ">= 1 GiB/s"
            },
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.starts_with(expected) || err.contains(expected),
            "{err}\nexpected: {expected}"
        );
    }
    let err = parse(&objective(
        "workload = \"harness-startpu\"\nmetric = \"throughput\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("closest: harness-startup"), "{err}");
}

#[test]
fn resamples_beyond_the_bound_are_refused() {
    let err = parse(&format!(
        "{HEAD}[regression.wall]\nresamples = 100000000000\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "field `regression`: wall.resamples must lie in 100..=100000, not 100000000000"
        ),
        "{err}"
    );
    parse(&format!("{HEAD}[regression.wall]\nresamples = 100000\n")).unwrap();
}

/// A scaling objective on `workload` with extra `fields` (`threads = 2`, say).
fn scaling_objective(workload: &str, metric: &str, fields: &str) -> String {
    format!(
        "{HEAD}[[objective]]\nid = \"s\"\nworkload = \"{workload}\"\nmetric = \"{metric}\"\n{fields}\ntarget = \">= 1.5x\"\npriority = \"medium\"\n"
    )
}

#[test]
fn scaling_objectives_need_a_parallel_workload_and_at_least_two_threads() {
    const GEMM: &str = "quant/gemm-i2s/4096x4096-t128/medium";
    let err = |text: String| parse(&text).unwrap_err().to_string();
    let gemv = err(scaling_objective(
        "quant/gemv-i2s/4096x4096/medium",
        "speedup_threads",
        "",
    ));
    assert!(
        gemv.contains(
            "field `workload`: `quant/gemv-i2s/4096x4096/medium` does not run on several threads"
        ),
        "{gemv}"
    );
    let one = err(scaling_objective(GEMM, "speedup_threads", "threads = 1"));
    assert!(
        one.contains("field `threads`: must be at least 2 (one thread is the reference)"),
        "{one}"
    );
    let elsewhere = err(scaling_objective(
        GEMM,
        "speedup",
        "threads = 2\npaths = [\"scalar\", \"simd\"]",
    ));
    assert!(
        elsewhere.contains(
            "field `threads`: only `speedup_threads` and `efficiency` name a thread count"
        ),
        "{elsewhere}"
    );
    let slo = parse(&scaling_objective(GEMM, "efficiency", "threads = 4")).unwrap();
    assert_eq!(slo.objectives[0].threads, Some(4));
}

#[test]
fn scaling_objectives_read_the_scaling_pass_and_skip_a_count_it_did_not_measure() {
    use benchseal::model::record::{ScalingPoint, ScalingRecord, Status};
    use benchseal_benches::{KernelPath, Unit};
    const GEMM: &str = "quant/gemm-i2s/4096x4096-t128/medium";
    let point = |threads: usize, median_ns: f64| ScalingPoint {
        threads,
        samples_ns: vec![median_ns],
        median_ns,
        output_sha256: "ab".repeat(32),
        cpu_share: Some(0.97),
    };
    let mut run = fixture::run();
    run.scaling.push(ScalingRecord {
        workload: GEMM.parse().unwrap(),
        path: KernelPath::Simd,
        label: "simd".into(),
        unit: Unit::Weights,
        units: 1 << 24,
        divides: "tokens".into(),
        parts: 128,
        rounds: 1,
        status: Status::Ok,
        left_out: None,
        points: vec![point(1, 10e6), point(2, 6e6)],
    });
    let judge = |run: &benchseal::model::record::RunRecord, metric: &str, fields: &str| {
        let slo = parse(&scaling_objective(GEMM, metric, fields)).unwrap();
        evaluate(&slo.objectives[0], run, None).unwrap()
    };
    let speedup = judge(&run, "speedup_threads", "threads = 2");
    assert_eq!(speedup.measured_base, Some(10.0 / 6.0));
    assert_eq!(speedup.verdict, SloVerdict::Pass);
    // Without `threads`: the most threads measured, here two.
    let efficiency = judge(&run, "efficiency", "");
    assert_eq!(efficiency.measured_base, Some(10.0 / 6.0 / 2.0));
    assert!(
        matches!(efficiency.verdict, SloVerdict::Fail(_)),
        "{:?}",
        efficiency.verdict
    );
    assert_eq!(
        judge(&run, "speedup_threads", "threads = 4").verdict,
        SloVerdict::Skipped("4 threads not measured (measured: 1, 2)".into())
    );
    // Threads that shared their cores: the figure says nothing of the kernel.
    run.scaling[0].points[1].cpu_share = Some(0.5);
    assert!(matches!(
        judge(&run, "speedup_threads", "threads = 2").verdict,
        SloVerdict::Skipped(why) if why.starts_with("contended: 2 thread(s) ran 50 %")
    ));
    run.scaling[0].points[1].cpu_share = Some(0.97);
    run.scaling[0].status = Status::Invalid("digest mismatch: 2 threads".into());
    let invalid = judge(&run, "speedup_threads", "threads = 2").verdict;
    assert!(
        matches!(&invalid, SloVerdict::Fail(why) if why.contains("digest mismatch")),
        "{invalid:?}"
    );
}

#[test]
fn roof_fraction_reads_the_workload_against_its_roof_in_the_same_run() {
    use benchseal::model::record::{RoofRecord, Status};
    const DISPLAY: &str = "codec/display/cp037-10x50/large";
    const ROOF: &str = "roof/copy/memcpy/large";
    let objective = |target: &str| {
        format!(
            "{HEAD}[[objective]]\nid = \"r\"\nworkload = \"{DISPLAY}\"\nmetric = \"roof_fraction\"\npath = \"simd\"\ntarget = \"{target}\"\npriority = \"medium\"\n"
        )
    };
    let mut run = fixture::run();
    let at = run
        .workloads
        .iter()
        .position(|w| w.id.to_string() == DISPLAY)
        .unwrap();
    let judge = |run: &benchseal::model::record::RunRecord, target: &str| {
        evaluate(&parse(&objective(target)).unwrap().objectives[0], run, None)
    };
    // A workload that names no roof cannot be held to one: a configuration error.
    let err = judge(&run, ">= 50 %").unwrap_err().to_string();
    assert!(err.contains("names no roof"), "{err}");
    run.workloads[at].roof = Some(RoofRecord {
        workload: ROOF.parse().unwrap(),
        per_unit: 1.0,
        basis: "bytes copied per input byte".into(),
    });
    assert_eq!(
        judge(&run, ">= 50 %").unwrap().verdict,
        SloVerdict::Skipped(format!("roof {ROOF} not in this run"))
    );
    // The roof: the same workload's figures, its simd path made twice as fast.
    let mut roof = run.workloads[at].clone();
    roof.id = ROOF.parse().unwrap();
    roof.roof = None;
    for p in &mut roof.paths {
        if let Some(w) = p.wall.as_mut().and_then(|w| w.metrics.as_mut()) {
            w.median_ns /= 2.0;
        }
    }
    run.workloads.push(roof);
    let half = judge(&run, ">= 50 %").unwrap();
    let own = run.workloads[at]
        .path(benchseal_benches::KernelPath::Simd)
        .unwrap()
        .wall
        .as_ref()
        .unwrap()
        .metrics
        .as_ref()
        .unwrap()
        .median_ns;
    let fastest_roof = run.workloads[at]
        .paths
        .iter()
        .filter(|p| p.status.is_ok())
        .filter_map(|p| p.wall.as_ref()?.metrics.as_ref().map(|m| m.median_ns / 2.0))
        .fold(f64::INFINITY, f64::min);
    let want = fastest_roof / own;
    assert!(
        (half.measured_base.unwrap() - want).abs() < 1e-12,
        "{half:?}"
    );
    assert!(half.source.contains(ROOF), "{}", half.source);
    assert_eq!(
        half.verdict == SloVerdict::Pass,
        want >= 0.5,
        "{:?}",
        half.verdict
    );
    let last = run.workloads.len() - 1;
    for p in &mut run.workloads[last].paths {
        p.status = Status::Skipped("no AVX2".into());
    }
    assert!(matches!(
        judge(&run, ">= 50 %").unwrap().verdict,
        SloVerdict::Skipped(why) if why.contains("skipped (no AVX2)")
    ));
}

/// Two processes doing the same work and a speedup of one over the other.
fn peers_slo(objective_fields: &str) -> String {
    format!(
        "{HEAD}[[process]]\nid = \"ours\"\ncommand = [\"true\"]\n[[process]]\nid = \"peer\"\ncommand = [\"rsync\", \"-an\"]\n[[objective]]\nid = \"vs-peer\"\nworkload = \"ours\"\nmetric = \"speedup\"\n{objective_fields}target = \">= 2x\"\npriority = \"medium\"\n"
    )
}

fn process_record(
    id: &str,
    status: benchseal::model::record::Status,
    p50_ns: Option<f64>,
) -> benchseal::model::record::ProcessRecord {
    benchseal::model::record::ProcessRecord {
        id: id.into(),
        command: vec![id.into()],
        status,
        runs: u32::from(p50_ns.is_some()),
        wall_p50_ns: p50_ns,
        wall_p95_ns: p50_ns,
        wall_p99_ns: p50_ns,
        peak_rss_bytes: None,
        samples_ns: p50_ns.into_iter().collect(),
        unit: None,
        units: None,
        program_bytes: None,
    }
}

#[test]
fn a_process_speedup_over_another_process_is_the_ratio_of_median_wall_times() {
    use benchseal::model::record::Status;
    let slo = parse(&peers_slo("relative_to = \"peer\"\n")).unwrap();
    let mut run = fixture::run();
    run.processes = vec![
        process_record("ours", Status::Ok, Some(14e6)),
        process_record("peer", Status::Ok, Some(41e6)),
    ];
    let e = evaluate(&slo.objectives[0], &run, None).unwrap();
    assert_eq!(e.measured_base, Some(41.0 / 14.0));
    assert_eq!(e.verdict, SloVerdict::Pass);
    assert_eq!(e.source, "process ours over process peer, median wall");

    run.processes[1].wall_p50_ns = Some(20e6);
    let e = evaluate(&slo.objectives[0], &run, None).unwrap();
    assert!(matches!(&e.verdict, SloVerdict::Fail(why) if why.contains("is not >= 2x")));
}

#[test]
fn a_process_speedup_is_skipped_with_the_reason_a_peer_was_not_measured() {
    use benchseal::model::record::Status;
    let slo = parse(&peers_slo("relative_to = \"peer\"\n")).unwrap();
    let mut run = fixture::run();
    run.processes = vec![
        process_record("ours", Status::Ok, Some(14e6)),
        process_record(
            "peer",
            Status::Skipped("rsync not found on PATH".into()),
            None,
        ),
    ];
    let e = evaluate(&slo.objectives[0], &run, None).unwrap();
    assert_eq!(
        e.verdict,
        SloVerdict::Skipped("reference peer: rsync not found on PATH".into())
    );
    assert_eq!(e.measured_base, None);

    run.processes.pop();
    let e = evaluate(&slo.objectives[0], &run, None).unwrap();
    assert_eq!(
        e.verdict,
        SloVerdict::Skipped("reference peer: process not in run".into())
    );

    run.processes[0].status = Status::Invalid("run 1 of `true`: exit code 1".into());
    let e = evaluate(&slo.objectives[0], &run, None).unwrap();
    assert!(matches!(&e.verdict, SloVerdict::Fail(why) if why.starts_with("process ours:")));
}

#[test]
fn a_process_speedup_names_a_process_reference() {
    let err = parse(&peers_slo("relative_to = \"pear\"\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("field `relative_to`: `pear` is not a `[[process]]` of this file")
            && err.contains("peer"),
        "{err}"
    );
    let err = parse(&peers_slo("")).unwrap_err().to_string();
    assert!(err.contains("needs `relative_to = process`"), "{err}");
    let err = parse(&peers_slo("relative_to = \"ours\"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("the objective's own process"), "{err}");
    let err = parse(&peers_slo("paths = [\"scalar\", \"simd\"]\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("a process has no kernel paths"), "{err}");
}

#[test]
fn program_size_reads_the_process_program_and_applies_to_processes_only() {
    let slo = |workload: &str| {
        format!(
            "{HEAD}[[process]]\nid = \"tool\"\ncommand = [\"true\"]\nquick = false\n[[objective]]\nid = \"size\"\nworkload = \"{workload}\"\nmetric = \"program_size\"\ntarget = \"<= 1 MiB\"\npriority = \"medium\"\n"
        )
    };
    let file = parse(&slo("tool")).unwrap();
    assert!(!file.process("tool").unwrap().quick);
    let err = parse(&slo("codec/display/cp037-10x50/large"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("program_size is measured by the process engine"),
        "{err}"
    );
    let mut run = fixture::run();
    let mut record = process_record("tool", benchseal::model::record::Status::Ok, Some(1e6));
    let objective = &file.objectives[0];
    run.processes = vec![record.clone()];
    assert_eq!(
        evaluate(objective, &run, None).unwrap().verdict,
        SloVerdict::Skipped("program size not recorded".into())
    );
    record.program_bytes = Some(512 * 1024);
    run.processes = vec![record.clone()];
    let small = evaluate(objective, &run, None).unwrap();
    assert_eq!(
        (small.verdict, small.measured_base),
        (SloVerdict::Pass, Some(512.0 * 1024.0))
    );
    record.program_bytes = Some(2 << 20);
    run.processes = vec![record];
    assert!(matches!(
        evaluate(objective, &run, None).unwrap().verdict,
        SloVerdict::Fail(_)
    ));
}
