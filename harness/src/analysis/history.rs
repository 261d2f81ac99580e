//! `benchseal history`: the trend of each benchmark over stored runs and baselines, with
//! change points.
//!
//! Every complete run in `reports/runs/` and every baseline in `baselines/` contributes
//! one point per benchmark and metric (a baseline that is a copy of a stored run is one
//! point, labelled with its version). Series are kept apart by machine class, since
//! numbers from different machines are not one trend, and ordered by start time.
//! Change points come from [`crate::analysis::stats::change_points`] (binary segmentation on
//! medians with a minimum shift: by default the wall noise threshold, 3%, for times and
//! the instruction soft limit, 0.5%, for counts).
//!
//! History only reports: it exits 0 whatever the trend shows (a broken or tampered file is
//! still exit 2 or 3), because a change point is a question for a person, not a verdict.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::compare::{Metric, Policy};
use crate::analysis::stats::change_points;

/// Schema of `history --format json`.
pub const HISTORY_SCHEMA: &str = "benchseal.history/1";

/// One stored record in the history.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HistoryPoint {
    pub started_at: String,
    pub run_id: String,
    /// `run` and/or `baseline <version>`.
    pub labels: Vec<String>,
    pub value: f64,
}

/// A change point, located by the run that first shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HistoryChange {
    pub run_id: String,
    pub started_at: String,
    pub before: f64,
    pub after: f64,
    pub shift_pct: f64,
}

/// The trend of one benchmark metric on one machine class.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Series {
    pub machine_class: String,
    pub benchmark: String,
    pub metric: Metric,
    pub unit: String,
    pub points: Vec<HistoryPoint>,
    pub changes: Vec<HistoryChange>,
}

/// The whole history.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct History {
    pub schema: String,
    pub records: usize,
    pub series: Vec<Series>,
    /// Records left out, with the reason (e.g. an interrupted run).
    pub skipped: Vec<String>,
    /// Where each objective of the SLO file is heading ([`crate::analysis::projection`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub projections: Vec<crate::analysis::projection::Projection>,
}

pub use crate::model::record::LabelledRecord;

/// Builds the history of `records` (pure). `filter` keeps workloads whose id equals it
/// or starts with it followed by `/`; `min_shift` overrides the per-metric minimum shift
/// (a fraction).
pub fn build_history(
    records: &[LabelledRecord],
    filter: Option<&str>,
    machine_class: Option<&str>,
    min_shift: Option<f64>,
    policy: &Policy,
) -> History {
    let mut ordered: Vec<&LabelledRecord> = records
        .iter()
        .filter(|r| machine_class.is_none_or(|c| r.record.env.machine_class == c))
        .collect();
    ordered.sort_by(|a, b| {
        (&a.record.started_at, &a.record.run_id).cmp(&(&b.record.started_at, &b.record.run_id))
    });
    let keep = |id: &str| {
        filter.is_none_or(|f| id == f || id.starts_with(&format!("{}/", f.trim_end_matches('/'))))
    };
    let mut series: BTreeMap<(String, String, Metric), Vec<HistoryPoint>> = BTreeMap::new();
    for entry in &ordered {
        let record = &entry.record;
        let mut add = |benchmark: String, metric: Metric, value: f64| {
            series
                .entry((record.env.machine_class.clone(), benchmark, metric))
                .or_default()
                .push(HistoryPoint {
                    started_at: record.started_at.clone(),
                    run_id: record.run_id.clone(),
                    labels: entry.labels.clone(),
                    value,
                });
        };
        for workload in &record.workloads {
            let id = workload.id.to_string();
            if !keep(&id) {
                continue;
            }
            for path in workload.paths.iter().filter(|p| p.status.is_ok()) {
                let name = format!("{id}@{}", path.path);
                if let Some(w) = path
                    .wall
                    .as_ref()
                    .filter(|w| w.status.is_ok())
                    .and_then(|w| w.metrics.as_ref())
                {
                    add(name.clone(), Metric::Wall, w.median_ns);
                }
                if let Some(i) = path
                    .instr
                    .as_ref()
                    .filter(|i| i.status.is_ok())
                    .and_then(|i| i.metrics.as_ref())
                {
                    add(name.clone(), Metric::Instructions, i.instructions as f64);
                }
            }
        }
        if filter.is_none() {
            for process in record.processes.iter().filter(|p| p.status.is_ok()) {
                let name = format!("process:{}", process.id);
                if let Some(p50) = process.wall_p50_ns {
                    add(name.clone(), Metric::ProcessWall, p50);
                }
                if let Some(rss) = process.peak_rss_bytes {
                    add(name, Metric::PeakRss, rss as f64);
                }
            }
        }
    }
    let series = series
        .into_iter()
        .map(|((machine_class, benchmark, metric), points)| {
            let shift = min_shift.unwrap_or(match metric {
                Metric::Wall | Metric::ProcessWall => policy.wall.threshold_pct / 100.0,
                Metric::Instructions => policy.instructions.soft_limit_pct / 100.0,
                Metric::PeakRss | Metric::Allocations => policy.memory.threshold_pct / 100.0,
            });
            // Wall times and peak memory vary run to run by at least their threshold;
            // instruction counts are deterministic, so their estimated noise stands.
            let noise_floor = match metric {
                Metric::Wall | Metric::ProcessWall => policy.wall.threshold_pct / 100.0,
                Metric::PeakRss => policy.memory.threshold_pct / 100.0,
                Metric::Instructions | Metric::Allocations => 0.0,
            };
            let values: Vec<f64> = points.iter().map(|p| p.value).collect();
            let changes = change_points(&values, shift, noise_floor)
                .into_iter()
                .map(|c| HistoryChange {
                    run_id: points[c.index].run_id.clone(),
                    started_at: points[c.index].started_at.clone(),
                    before: c.before,
                    after: c.after,
                    shift_pct: c.shift * 100.0,
                })
                .collect();
            Series {
                machine_class,
                benchmark,
                metric,
                unit: metric.unit().into(),
                points,
                changes,
            }
        })
        .collect();
    History {
        schema: HISTORY_SCHEMA.into(),
        records: ordered.len(),
        series,
        skipped: Vec::new(),
        projections: Vec::new(),
    }
}
