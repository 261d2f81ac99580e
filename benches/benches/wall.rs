//! Wall-clock bench target (criterion), generated from the workload registry.
//!
//! One criterion group per workload id, one function per kernel path, throughput in the
//! workload's own unit. Setup (input generation, output allocation) happens before the
//! timed closure, which calls [`Instance::run`] only. `benchseal run` sets the cases and
//! the sampling budget through the environment (`--quick` shortens it); criterion's own
//! command-line options still apply on top.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use benchseal_benches::protocol::samples_within;
use benchseal_benches::{Size, Unit};
use criterion::{Criterion, SamplingMode, Throughput};
use support::{Case, env_number, selected_cases};

/// Samples per benchmark (criterion needs at least 10).
const SAMPLE_SIZE_VAR: &str = "BENCHSEAL_SAMPLE_SIZE";
const WARM_UP_MS_VAR: &str = "BENCHSEAL_WARM_UP_MS";
const MEASUREMENT_MS_VAR: &str = "BENCHSEAL_MEASUREMENT_MS";

fn throughput(case: &Case) -> Throughput {
    match case.workload.unit {
        Unit::Bytes => Throughput::Bytes(case.workload.units),
        Unit::Weights | Unit::Files | Unit::Operations | Unit::Macs | Unit::Tokens => {
            Throughput::Elements(case.workload.units)
        }
    }
}

fn main() {
    let cases = selected_cases(&[Size::Small]);
    let samples = env_number(SAMPLE_SIZE_VAR, 100).max(10) as usize;
    let measurement = Duration::from_millis(env_number(MEASUREMENT_MS_VAR, 5000).max(1));
    let mut criterion = Criterion::default()
        .sample_size(samples)
        .warm_up_time(Duration::from_millis(
            env_number(WARM_UP_MS_VAR, 3000).max(1),
        ))
        .measurement_time(measurement)
        .configure_from_args();

    let mut failed = false;
    for same_workload in cases.chunk_by(|a, b| a.workload.id == b.workload.id) {
        let id = same_workload[0].workload.id.to_string();
        let mut group = criterion.benchmark_group(&id);
        group.throughput(throughput(&same_workload[0]));
        for case in same_workload {
            let mut instance = match case.prepare(false) {
                Ok(Some(instance)) => instance,
                Ok(None) => continue,
                Err(err) => {
                    eprintln!("benchseal: {err}");
                    failed = true;
                    continue;
                }
            };
            let path = case.path;
            // One untimed call (part of the warm-up) says how long a call takes.
            let started = Instant::now();
            if let Err(err) = instance.run(path) {
                eprintln!("benchseal: {}: {err}", case.key());
                std::process::exit(1);
            }
            let fit = samples_within(started.elapsed(), measurement, samples);
            group.sample_size(fit);
            // Flat: every sample the same number of calls (one for a slow case), instead of
            // 1, 2, … n calls, which is what makes few samples of a slow call affordable.
            group.sampling_mode(if fit < samples {
                SamplingMode::Flat
            } else {
                SamplingMode::Auto
            });
            group.bench_function(path.name(), |b| {
                b.iter(|| {
                    if let Err(err) = black_box(&mut instance).run(black_box(path)) {
                        eprintln!("benchseal: {}: {err}", case.key());
                        std::process::exit(1);
                    }
                })
            });
        }
        group.finish();
    }
    criterion.final_summary();
    if failed {
        std::process::exit(1);
    }
}
