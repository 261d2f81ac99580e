//! What a thread-scaling record says, written out: one row per thread count with time,
//! throughput, speedup over one thread and parallel efficiency, for the run summary, the
//! sign-off report and the SLO metrics `speedup_threads` and `efficiency`.

use serde::{Deserialize, Serialize};

use crate::analysis::format::{format_speedup, format_throughput, format_time};
use crate::model::record::{ScalingRecord, Status};

/// One thread count of a [`ScalingRecord`], written out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingRow {
    pub threads: usize,
    pub median_ns: f64,
    pub time: String,
    pub throughput: String,
    /// Median one-thread time over this count's.
    pub speedup: f64,
    /// Speedup per thread; 1 is perfect.
    pub efficiency: f64,
    /// `1.93x`, `96.5 %`.
    pub speedup_text: String,
    pub efficiency_text: String,
    pub output_sha256: String,
}

/// A workload's scaling, written out for a reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalingView {
    /// `workload@path`.
    pub case: String,
    pub label: String,
    /// `tokens` or `records`, and how many of them one run has.
    pub divides: String,
    pub parts: usize,
    pub rounds: usize,
    /// `ok`, `invalid (digest mismatch: …)`, `skipped (…)`.
    pub status: String,
    /// Every thread count's output had the same digest (and it is the golden one where
    /// there is one): the status is `ok`.
    pub digests_identical: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<String>,
    /// Why the figures describe the machine's load, not the kernel
    /// ([`ScalingRecord::contended`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contended: Option<String>,
    pub rows: Vec<ScalingRow>,
}

impl ScalingView {
    pub fn of(record: &ScalingRecord) -> ScalingView {
        let single_ns = record.single().map_or(f64::NAN, |p| p.median_ns);
        let rows = record
            .points
            .iter()
            .map(|p| {
                let speedup = record.speedup(p.threads).unwrap_or(f64::NAN);
                let efficiency = record.efficiency(p.threads).unwrap_or(f64::NAN);
                ScalingRow {
                    threads: p.threads,
                    median_ns: p.median_ns,
                    time: format_time(p.median_ns),
                    throughput: format_throughput(record.unit, record.units, p.median_ns),
                    speedup,
                    efficiency,
                    speedup_text: format_speedup(single_ns, p.median_ns),
                    efficiency_text: format_efficiency(efficiency),
                    output_sha256: p.output_sha256.clone(),
                }
            })
            .collect();
        ScalingView {
            case: format!("{}@{}", record.workload, record.path),
            label: record.label.clone(),
            divides: record.divides.clone(),
            parts: record.parts,
            rounds: record.rounds,
            status: record.status.to_string(),
            digests_identical: record.status == Status::Ok,
            contended: record.contended(),
            left_out: record.left_out.clone(),
            rows,
        }
    }

    /// The row of the largest thread count.
    pub fn widest(&self) -> Option<&ScalingRow> {
        self.rows.iter().max_by_key(|r| r.threads)
    }
}

/// `96.5 %`: efficiency as the tables write it.
pub fn format_efficiency(efficiency: f64) -> String {
    if efficiency.is_finite() {
        format!("{:.1} %", efficiency * 100.0)
    } else {
        "n/a".into()
    }
}

/// One line for the terminal: `scaling quant/gemm-i2s/…@simd: 1 thread 20.1 ms; 2 threads
/// 10.4 ms (1.93x, 96.5 %); digests identical`.
pub fn summary_line(record: &ScalingRecord) -> String {
    let view = ScalingView::of(record);
    let points: Vec<String> = view
        .rows
        .iter()
        .map(|r| {
            if r.threads == 1 {
                format!("1 thread {}", r.time)
            } else {
                format!(
                    "{} threads {} ({}, {})",
                    r.threads, r.time, r.speedup_text, r.efficiency_text
                )
            }
        })
        .collect();
    let verdict = if view.digests_identical {
        format!(
            "output identical at every thread count ({} rounds)",
            view.rounds
        )
    } else {
        view.status.clone()
    };
    let mut line = format!(
        "scaling {}: {}; {verdict}",
        view.case,
        if points.is_empty() {
            "nothing measured".to_string()
        } else {
            points.join("; ")
        }
    );
    if let Some(left_out) = &view.left_out {
        line.push_str(&format!(" ({left_out})"));
    }
    if let Some(contended) = &view.contended {
        line.push_str(&format!(" ({contended})"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::ScalingPoint;
    use benchseal_benches::{KernelPath, Unit};

    fn record(times: &[(usize, f64)]) -> ScalingRecord {
        ScalingRecord {
            workload: "quant/gemm-i2s/4096x4096-t128/medium".parse().unwrap(),
            path: KernelPath::Simd,
            label: "simd (avx512vnni)".into(),
            unit: Unit::Weights,
            units: 4096 * 4096 * 128,
            divides: "tokens".into(),
            parts: 128,
            rounds: 5,
            status: Status::Ok,
            left_out: None,
            points: times
                .iter()
                .map(|&(threads, ns)| ScalingPoint {
                    threads,
                    samples_ns: vec![ns],
                    median_ns: ns,
                    output_sha256: "ab".repeat(32),
                    cpu_share: Some(0.98),
                })
                .collect(),
        }
    }

    #[test]
    fn speedup_and_efficiency_come_from_the_medians() {
        let r = record(&[(1, 20e6), (2, 10.5e6), (4, 6e6)]);
        assert!((r.speedup(2).unwrap() - 20.0 / 10.5).abs() < 1e-12);
        assert!((r.efficiency(4).unwrap() - 20.0 / 6.0 / 4.0).abs() < 1e-12);
        let view = ScalingView::of(&r);
        assert_eq!(view.widest().unwrap().threads, 4);
        assert_eq!(view.rows[1].speedup_text, "1.90x");
        assert_eq!(view.rows[1].efficiency_text, "95.2 %");
        let line = summary_line(&r);
        assert!(line.contains("1 thread 20.0 ms"), "{line}");
        assert!(line.contains("2 threads 10.5 ms (1.90x, 95.2 %)"), "{line}");
        assert!(line.contains("identical at every thread count"), "{line}");
        assert!(!line.contains("contended"), "{line}");
    }

    #[test]
    fn threads_that_shared_their_cores_are_said_to_be_contended() {
        let mut r = record(&[(1, 20e6), (2, 20e6)]);
        r.points[1].cpu_share = Some(0.52);
        assert_eq!(
            r.contended().as_deref(),
            Some(
                "contended: 2 thread(s) ran 52 % of their wall time (another process held a core)"
            )
        );
        assert!(summary_line(&r).ends_with("(another process held a core))"));
        // Records made before the share was measured are not judged contended.
        r.points[1].cpu_share = None;
        assert_eq!(r.contended(), None);
    }

    #[test]
    fn a_record_without_one_thread_has_no_speedup() {
        let r = record(&[(2, 10e6)]);
        assert_eq!(r.speedup(2), None);
        assert_eq!(ScalingView::of(&r).rows[0].speedup_text, "n/a");
    }
}
