//! The terminal summary of a run record: one row per workload and path, figures in the
//! workload's unit, then every reason a result is missing. Pure: record in, text out.

use benchseal_benches::KernelPath;

use crate::analysis::format::{format_count, format_speedup, format_throughput, format_time};
use crate::analysis::roof;
use crate::model::record::ENGINE_COULD_NOT_RUN;
use crate::model::record::{
    Allocations, EngineResult, PathRecord, ProcessRecord, RunRecord, Status, WorkloadRecord,
};
use crate::present::table::{Align, Table};

/// The summary table and the reasons below it.
pub fn render(record: &RunRecord) -> String {
    let mut table = Table::new(&[
        ("workload", Align::Left),
        ("path", Align::Left),
        ("status", Align::Left),
        ("median", Align::Right),
        ("±CI", Align::Right),
        ("throughput", Align::Right),
        ("of roof", Align::Right),
        ("vs scalar", Align::Right),
        ("instructions", Align::Right),
        ("est. cycles", Align::Right),
        ("br. mispredicted", Align::Right),
        ("allocs/run", Align::Right),
    ]);
    let mut reasons = Vec::new();
    let mut metrics = Vec::new();
    for workload in &record.workloads {
        for (name, m) in &workload.extra {
            metrics.push(format!("{}: {name} = {} {}", workload.id, m.value, m.unit));
        }
        for path in &workload.paths {
            let instr_label = path.instr.as_ref().and_then(|r| r.metrics.as_ref());
            if let Some(label) = instr_label.and_then(|m| m.label.as_ref())
                && *label != path.label
            {
                metrics.push(format!(
                    "{}@{}: instr measured {label} (under valgrind), wall {}",
                    workload.id, path.path, path.label
                ));
            }
            for (name, m) in &path.extra {
                metrics.push(format!(
                    "{}@{}: {name} = {} {}",
                    workload.id, path.path, m.value, m.unit
                ));
            }
            let (cells, roof_missing) = row(record, workload, path);
            table.row(cells);
            // Once per roof, however many workloads read against it.
            if let Some(why) = roof_missing.filter(|why| !reasons.contains(why)) {
                reasons.push(why);
            }
            let key = format!("{}@{}", workload.id, path.path);
            if !path.status.is_ok() {
                reasons.push(format!("{key}: {}", path.status));
            }
            for (engine, status) in [
                ("wall", path.wall.as_ref().map(|r| &r.status)),
                ("instr", path.instr.as_ref().map(|r| &r.status)),
            ] {
                if let Some(status) = status.filter(|s| !s.is_ok()) {
                    // An engine that could not run at all is said once, below.
                    if !matches!(status, Status::Skipped(why) if why.starts_with(ENGINE_COULD_NOT_RUN))
                    {
                        reasons.push(format!("{key}: {engine} {status}"));
                    }
                }
            }
        }
    }
    let mut out = String::new();
    if table.is_empty() {
        out.push_str("no workloads ran\n");
    } else {
        out.push_str(&table.render());
    }
    if !metrics.is_empty() {
        out.push('\n');
        for metric in metrics {
            out.push_str(&format!("  {metric}\n"));
        }
    }
    for failure in &record.engine_failures {
        reasons.push(format!(
            "the {} engine could not run, its cases are skipped: {}",
            failure.engine, failure.reason
        ));
    }
    if !reasons.is_empty() {
        out.push('\n');
        for reason in reasons {
            out.push_str(&format!("  {reason}\n"));
        }
    }
    if !record.notes.is_empty() {
        out.push('\n');
        for note in &record.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
    }
    out
}

fn ok_metrics<T>(result: &Option<EngineResult<T>>) -> Option<&T> {
    result
        .as_ref()
        .filter(|r| r.status.is_ok())
        .and_then(|r| r.metrics.as_ref())
}

/// The row of `path`, and why it has no roof fraction when its workload names a roof that
/// this run cannot give.
fn row(
    record: &RunRecord,
    workload: &WorkloadRecord,
    path: &PathRecord,
) -> (Vec<String>, Option<String>) {
    // The worst of the digest verdict and the engines' statuses; reasons follow the table.
    let engine_invalid = [
        path.wall.as_ref().map(|r| &r.status),
        path.instr.as_ref().map(|r| &r.status),
    ]
    .into_iter()
    .flatten()
    .any(Status::is_invalid);
    let status = match &path.status {
        Status::Invalid(_) => "invalid",
        _ if engine_invalid => "invalid",
        Status::Skipped(_) => "skipped",
        Status::Ok => "ok",
    };
    // An invalid path's timings are not results: show none.
    let trusted = path.status.is_ok();
    let wall = ok_metrics(&path.wall).filter(|_| trusted);
    let instr = ok_metrics(&path.instr).filter(|_| trusted);
    let scalar_median = workload
        .path(KernelPath::Scalar)
        .filter(|p| p.status.is_ok() && path.path != KernelPath::Scalar)
        .and_then(|p| ok_metrics(&p.wall))
        .map(|w| w.median_ns);
    let (roof, roof_missing) = if wall.is_some() {
        match roof::fraction(record, workload, path.path) {
            Ok(fraction) => (fraction.map(|f| f.short()).unwrap_or_default(), None),
            Err(why) => ("-".to_string(), Some(format!("no roof fraction: {why}"))),
        }
    } else {
        (String::new(), None)
    };
    let cells = vec![
        workload.id.to_string(),
        path.label.clone(),
        status.to_string(),
        wall.map(|w| format_time(w.median_ns)).unwrap_or_default(),
        wall.map(|w| {
            let half_width = (w.median_ci_upper_ns - w.median_ci_lower_ns) / 2.0;
            format!("±{:.1}%", half_width / w.median_ns * 100.0)
        })
        .unwrap_or_default(),
        wall.map(|w| format_throughput(workload.unit, workload.units, w.median_ns))
            .unwrap_or_default(),
        roof,
        match (scalar_median, wall) {
            (Some(scalar), Some(w)) => format_speedup(scalar, w.median_ns),
            _ => String::new(),
        },
        instr
            .map(|m| format_count(m.instructions))
            .unwrap_or_default(),
        instr
            .and_then(|m| m.estimated_cycles)
            .map(format_count)
            .unwrap_or_default(),
        instr
            .and_then(|m| format_mispredicted(m.branches?, m.branch_misses?))
            .unwrap_or_default(),
        path.allocations
            .filter(|_| trusted)
            .map(format_allocations)
            .unwrap_or_default(),
    ];
    (cells, roof_missing)
}

/// `1,204 (0.52 %)`: branches callgrind's simulation mispredicted, and their share of the
/// branches executed; `None` without branches.
pub fn format_mispredicted(branches: u64, misses: u64) -> Option<String> {
    (branches > 0).then(|| {
        let pct = misses as f64 / branches as f64 * 100.0;
        format!("{} ({pct:.2} %)", format_count(misses))
    })
}

/// `0`, or `3 (1.5 KiB)`: allocations of one run and the bytes they asked for.
pub fn format_allocations(a: Allocations) -> String {
    if a.per_run == 0 {
        return "0".into();
    }
    let bytes = a.bytes_per_run as f64;
    let size = if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    } else if bytes >= 1024.0 {
        format!("{:.1} KiB", bytes / 1024.0)
    } else {
        format!("{} B", a.bytes_per_run)
    };
    format!("{} ({size})", format_count(a.per_run))
}

/// Where a run's time went (build, tool installs, bench processes, harness), as lines.
pub fn timing_lines(record: &RunRecord) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(timing) = &record.timing {
        let tools_s = timing.tools_s.unwrap_or(0.0);
        let measured = timing.total_s - timing.build_s - tools_s;
        if let (Some(own), Some(benches)) = (timing.harness_cpu_s, timing.bench_processes_cpu_s) {
            lines.push(format!(
                "CPU time after the build: bench processes {benches:.1} s, harness {own:.1} s ({:.1}%)",
                own / (own + benches).max(f64::MIN_POSITIVE) * 100.0
            ));
        }
        let installing = if tools_s > 0.0 {
            format!(", installing tools {tools_s:.1} s")
        } else {
            String::new()
        };
        lines.push(format!(
            "{:.1} s in total: build {:.1} s{installing}, bench processes {:.1} s, harness {:.1} s ({:.1}% of the run after the build and installs)",
            timing.total_s,
            timing.build_s,
            timing.bench_processes_s,
            timing.harness_s,
            if measured > 0.0 {
                timing.harness_s / measured * 100.0
            } else {
                0.0
            }
        ));
    }
    lines
}

/// The fewest runs that estimate a p-th percentile from the runs themselves: with fewer
/// than 1/(1 − p) runs the slowest run is all there is above it (20 for p95, 100 for p99).
fn runs_for_percentile(p: f64) -> u32 {
    (1.0 / (1.0 - p)).round() as u32
}

/// The human-readable lines for one process measurement, in the manner of hyperfine:
/// mean ± σ, range, the median, the p95 and p99 only when enough runs stand behind them
/// (else said so), and peak RSS.
pub fn process(r: &ProcessRecord) -> String {
    use crate::analysis::compare::Metric;
    use crate::analysis::format::format_value;
    let mut out = format!("{}: {}\n", r.id, r.command.join(" "));
    let Status::Ok = &r.status else {
        out += &format!("  {}\n", r.status);
        return out;
    };
    let samples = &r.samples_ns;
    let n = samples.len();
    if n > 0 {
        let mean = samples.iter().sum::<f64>() / n as f64;
        let spread = if n > 1 {
            let variance = samples.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            format!(" ± {}", format_time(variance.sqrt()))
        } else {
            " (σ needs 2 runs)".into()
        };
        let (min, max) = samples
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        out += &format!(
            "  time (mean ± σ)    {}{spread}   [{} runs]\n",
            format_time(mean),
            r.runs
        );
        out += &format!(
            "  range (min … max)  {} … {}\n",
            format_time(min),
            format_time(max)
        );
    } else {
        out += &format!("  runs {}\n", r.runs);
    }
    let mut percentiles = Vec::new();
    let mut too_few = Vec::new();
    for (name, p, value) in [
        ("p50", 0.5, r.wall_p50_ns),
        ("p95", 0.95, r.wall_p95_ns),
        ("p99", 0.99, r.wall_p99_ns),
    ] {
        let Some(value) = value else { continue };
        let needed = runs_for_percentile(p);
        if r.runs >= needed {
            percentiles.push(format!("{name} {}", format_time(value)));
        } else {
            too_few.push(format!("{name} needs ≥ {needed}"));
        }
    }
    if !too_few.is_empty() {
        percentiles.push(format!(
            "not shown: {} runs ({})",
            r.runs,
            too_few.join(", ")
        ));
    }
    if !percentiles.is_empty() {
        out += &format!("  percentiles        {}\n", percentiles.join("  "));
    }
    if let Some(bytes) = r.peak_rss_bytes {
        out += &format!(
            "  peak RSS           {}\n",
            format_value(Metric::PeakRss, bytes as f64)
        );
    }
    if let (Some(unit), Some(units), Some(p50)) = (r.unit, r.units, r.wall_p50_ns) {
        out += &format!(
            "  throughput at p50  {}\n",
            format_throughput(unit, units, p50)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture::record_with;
    use crate::model::record::{ExtraMetric, InstrMetrics};

    #[test]
    fn mispredicted_branches_show_their_share_of_the_branches() {
        assert_eq!(
            format_mispredicted(200_000, 1_204).as_deref(),
            Some("1,204 (0.60 %)")
        );
        assert_eq!(format_mispredicted(0, 0), None);
    }

    /// Five runs: mean ± σ and the range from the samples, the median, and the p95 and p99
    /// held back with the number of runs each needs; 100 runs show all three.
    #[test]
    fn process_lines_show_only_the_percentiles_the_runs_support() {
        let record = crate::analysis::fixture::run();
        let five = &record.processes[0];
        assert_eq!(
            process(five),
            "harness-startup: target/release/benchseal --version\n\
             \x20 time (mean ± σ)    3.22 ms ± 449 µs   [5 runs]\n\
             \x20 range (min … max)  2.90 ms … 4.00 ms\n\
             \x20 percentiles        p50 3.00 ms  not shown: 5 runs (p95 needs ≥ 20, p99 needs ≥ 100)\n\
             \x20 peak RSS           6.000 MiB\n"
        );
        let hundred = ProcessRecord {
            runs: 100,
            samples_ns: vec![3.0e6; 100],
            ..five.clone()
        };
        let text = process(&hundred);
        assert!(
            text.contains("time (mean ± σ)    3.00 ms ± 0.00 ns   [100 runs]"),
            "{text}"
        );
        assert!(
            text.contains("percentiles        p50 3.00 ms  p95 3.80 ms  p99 3.96 ms\n"),
            "{text}"
        );
        let one = ProcessRecord {
            runs: 1,
            samples_ns: vec![3.0e6],
            ..five.clone()
        };
        assert!(process(&one).contains("3.00 ms (σ needs 2 runs)   [1 runs]"));
    }

    #[test]
    fn summary_shows_path_extra_metrics_and_an_instr_label_that_differs_from_wall() {
        let mut record = record_with(&[Status::Ok]);
        let workload = &mut record.workloads[0];
        workload.extra.insert(
            "cosine_similarity".into(),
            ExtraMetric {
                value: 0.5,
                unit: "ratio".into(),
            },
        );
        let path = &mut workload.paths[0];
        path.label = "simd (avx512)".into();
        path.extra.insert(
            "gpu_kernel_ms".into(),
            ExtraMetric {
                value: 2.0,
                unit: "ms".into(),
            },
        );
        path.instr = Some(EngineResult {
            status: Status::Ok,
            metrics: Some(InstrMetrics {
                instructions: 10,
                l1_hits: None,
                ll_hits: None,
                ram_hits: None,
                total_read_write: None,
                estimated_cycles: None,
                branches: None,
                branch_misses: None,
                label: Some("simd (avx2)".into()),
                callgrind: None,
            }),
        });
        let text = render(&record);
        assert!(
            text.contains("  sync/x/y/tiny: cosine_similarity = 0.5 ratio\n"),
            "{text}"
        );
        assert!(
            text.contains("  sync/x/y/tiny@scalar: gpu_kernel_ms = 2 ms\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  sync/x/y/tiny@scalar: instr measured simd (avx2) (under valgrind), wall simd (avx512)\n"
            ),
            "{text}"
        );
    }
}
