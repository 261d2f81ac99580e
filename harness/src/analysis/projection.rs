//! Trend projection: for each objective of the SLO file, the value it measured in each
//! stored release (or run) of a machine class, the recent slope, and in how many more
//! releases at that slope the value crosses its target.
//!
//! The slope is the Theil–Sen estimator (the median of the slopes between every pair of
//! points), which one noisy release cannot drag the way it drags a least-squares line.
//! It is a trend only when the fitted change over the window exceeds the noise of the
//! objective's metric (the `[regression]` thresholds: wall clock 3 %, instruction counts
//! 0.5 %, peak memory 10 %); otherwise "no trend". Fewer than [`MIN_POINTS`] points: no
//! projection, said so.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::compare::Policy;
use crate::analysis::slo::unit::{Comparator, format_in};
use crate::analysis::slo::{Metric, Objective, SloFile, Subject, evaluate};
use crate::model::record::LabelledRecord;

/// Fewest points a slope is fitted to.
pub const MIN_POINTS: usize = 3;
/// The most recent points the slope is fitted to.
pub const WINDOW: usize = 8;

/// What the projection steps over: each release's baseline, or every stored record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Over {
    Releases,
    Runs,
}

impl Over {
    fn word(self, n: usize) -> &'static str {
        match (self, n == 1) {
            (Over::Releases, true) => "release",
            (Over::Releases, false) => "releases",
            (Over::Runs, true) => "run",
            (Over::Runs, false) => "runs",
        }
    }
}

/// One measured point of an objective.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProjectionPoint {
    /// The release version or the run id.
    pub label: String,
    pub started_at: String,
    /// In the base unit of the target's dimension.
    pub value: f64,
}

/// Where an objective is heading.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Trend {
    /// Fewer than [`MIN_POINTS`] points.
    TooFewPoints { points: usize },
    /// The fitted change over the window is within the metric's noise.
    NoTrend { change_pct: f64, noise_pct: f64 },
    /// Heading towards the target, which it meets now: crossed after `steps` more.
    Crosses { slope_pct: f64, steps: u64 },
    /// Heading away from the target, or along it.
    Away { slope_pct: f64 },
    /// The fitted value already misses the target.
    Missed { slope_pct: f64 },
}

/// The projection of one objective on one machine class.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Projection {
    pub objective: String,
    pub machine_class: String,
    pub target: String,
    pub over: Over,
    pub points: Vec<ProjectionPoint>,
    /// The fitted value at the last point, as the target's unit shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fitted: Option<String>,
    pub trend: Trend,
}

impl Projection {
    /// One line for a person: `crosses >= 4.1 GiB/s in about 3 releases (-2.1 % per release)`.
    pub fn sentence(&self) -> String {
        let word = |n: usize| self.over.word(n);
        match &self.trend {
            Trend::TooFewPoints { points } => format!(
                "no projection: {points} {} measured it, {MIN_POINTS} are needed",
                word(*points)
            ),
            Trend::NoTrend {
                change_pct,
                noise_pct,
            } => format!(
                "no trend: {change_pct:+.1} % over the last {} {}, within the {noise_pct} % noise",
                self.points.len().min(WINDOW),
                word(2)
            ),
            Trend::Crosses { slope_pct, steps } => format!(
                "crosses `{}` in about {steps} {} at this slope ({slope_pct:+.1} % per {})",
                self.target,
                word(*steps as usize),
                word(1)
            ),
            Trend::Away { slope_pct } => format!(
                "not heading for `{}` ({slope_pct:+.1} % per {})",
                self.target,
                word(1)
            ),
            Trend::Missed { slope_pct } => format!(
                "already misses `{}` ({slope_pct:+.1} % per {})",
                self.target,
                word(1)
            ),
        }
    }
}

/// The projections of `slo`'s objectives over `records` (pure): per objective and machine
/// class, every record the objective measured, oldest first. `filter` keeps objectives on
/// workloads whose id equals it or starts with it followed by `/`. Objectives that are not
/// a trend (digest reproducibility) are left out.
pub fn project(
    slo: &SloFile,
    records: &[LabelledRecord],
    filter: Option<&str>,
    machine_class: Option<&str>,
    over: Over,
) -> Vec<Projection> {
    let mut ordered: Vec<&LabelledRecord> = records
        .iter()
        .filter(|r| machine_class.is_none_or(|c| r.record.env.machine_class == c))
        .filter(|r| over == Over::Runs || release_of(r).is_some())
        .collect();
    ordered.sort_by(|a, b| {
        (&a.record.started_at, &a.record.run_id).cmp(&(&b.record.started_at, &b.record.run_id))
    });
    let mut projections = Vec::new();
    for objective in &slo.objectives {
        if objective.metric == Metric::DigestReproducibility || !kept(objective, filter) {
            continue;
        }
        let mut by_class: BTreeMap<&str, Vec<ProjectionPoint>> = BTreeMap::new();
        for entry in &ordered {
            let Ok(evaluation) = evaluate(objective, &entry.record, None) else {
                continue;
            };
            let Some(value) = evaluation.measured_base.filter(|v| v.is_finite()) else {
                continue;
            };
            by_class
                .entry(&entry.record.env.machine_class)
                .or_default()
                .push(ProjectionPoint {
                    label: match over {
                        Over::Releases => release_of(entry).unwrap_or_default().to_string(),
                        Over::Runs => entry.record.run_id.clone(),
                    },
                    started_at: entry.record.started_at.clone(),
                    value,
                });
        }
        for (class, points) in by_class {
            let noise = noise_fraction(objective.metric, &slo.regression);
            let (trend, fitted) = trend(objective, &points, noise);
            projections.push(Projection {
                objective: objective.id.clone(),
                machine_class: class.to_string(),
                target: objective.target.to_string(),
                over,
                fitted: fitted.map(|v| format_in(&objective.target.unit, v)),
                points,
                trend,
            });
        }
    }
    projections
}

/// The version of a record known as a release's baseline.
fn release_of(record: &LabelledRecord) -> Option<&str> {
    record
        .labels
        .iter()
        .find_map(|l| l.strip_prefix("baseline "))
}

fn kept(objective: &Objective, filter: Option<&str>) -> bool {
    let Some(f) = filter else { return true };
    match &objective.subject {
        Subject::Workload(id) => {
            let id = id.to_string();
            id == f || id.starts_with(&format!("{}/", f.trim_end_matches('/')))
        }
        Subject::Process(_) | Subject::Workloads(_) => false,
    }
}

/// Run-to-run noise of the numbers behind `metric`, as a fraction.
fn noise_fraction(metric: Metric, policy: &Policy) -> f64 {
    match metric {
        Metric::Instructions => policy.instructions.soft_limit_pct / 100.0,
        Metric::PeakRss => policy.memory.threshold_pct / 100.0,
        _ => policy.wall.threshold_pct / 100.0,
    }
}

/// The trend of `points` against the objective's target, and the fitted last value.
fn trend(objective: &Objective, points: &[ProjectionPoint], noise: f64) -> (Trend, Option<f64>) {
    if points.len() < MIN_POINTS {
        return (
            Trend::TooFewPoints {
                points: points.len(),
            },
            None,
        );
    }
    let recent = &points[points.len() - points.len().min(WINDOW)..];
    let ys: Vec<f64> = recent.iter().map(|p| p.value).collect();
    let (slope, intercept) = theil_sen(&ys);
    let last = (ys.len() - 1) as f64;
    let fitted = intercept + slope * last;
    let scale = fitted.abs().max(f64::MIN_POSITIVE);
    let slope_pct = slope / scale * 100.0;
    let change = slope * last / scale;
    if change.abs() <= noise {
        return (
            Trend::NoTrend {
                change_pct: change * 100.0,
                noise_pct: noise * 100.0,
            },
            Some(fitted),
        );
    }
    let target = objective.target.base_value();
    let cmp = objective.target.comparator;
    if !cmp.holds(fitted, target) {
        return (Trend::Missed { slope_pct }, Some(fitted));
    }
    // Towards the target: down for a floor, up for a ceiling.
    let towards = match cmp {
        Comparator::AtLeast | Comparator::Above => slope < 0.0,
        Comparator::AtMost | Comparator::Below => slope > 0.0,
        Comparator::Equal => false,
    };
    if !towards {
        return (Trend::Away { slope_pct }, Some(fitted));
    }
    // The first whole step whose fitted value no longer holds.
    let mut steps = ((target - fitted) / slope).ceil().max(1.0) as u64;
    while cmp.holds(fitted + slope * steps as f64, target) {
        steps += 1;
    }
    (Trend::Crosses { slope_pct, steps }, Some(fitted))
}

/// Theil–Sen line through `(i, ys[i])`: the median of the pairwise slopes, and the median
/// of `y - slope·x` as the intercept. `ys` has at least two values.
fn theil_sen(ys: &[f64]) -> (f64, f64) {
    let mut slopes = Vec::with_capacity(ys.len() * (ys.len() - 1) / 2);
    for i in 0..ys.len() {
        for j in i + 1..ys.len() {
            slopes.push((ys[j] - ys[i]) / (j - i) as f64);
        }
    }
    let slope = median_of(&mut slopes);
    let mut residuals: Vec<f64> = ys
        .iter()
        .enumerate()
        .map(|(i, y)| y - slope * i as f64)
        .collect();
    (slope, median_of(&mut residuals))
}

fn median_of(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture;

    const SLO: &str = r#"schema = "benchseal.slo/1"

[[objective]]
id = "display"
workload = "codec/display/cp037-10x50/large"
metric = "throughput"
target = ">= 4 GiB/s"
priority = "critical"
"#;

    /// The fixture run as the baseline of release `0.<i>.0`, DISPLAY at `gib_s[i]` GiB/s.
    fn releases(gib_s: &[f64]) -> Vec<LabelledRecord> {
        gib_s
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let mut record = fixture::run();
                record.run_id = format!("run-{i}");
                record.started_at = format!("2026-0{}-01T00:00:00Z", i + 1);
                let units = record.workloads[0].units as f64;
                for path in &mut record.workloads[0].paths {
                    if let Some(m) = path.wall.as_mut().and_then(|w| w.metrics.as_mut()) {
                        m.median_ns = units * 1e9 / (g * (1u64 << 30) as f64);
                    }
                }
                LabelledRecord {
                    record,
                    labels: vec![format!("baseline 0.{i}.0")],
                }
            })
            .collect()
    }

    fn only(gib_s: &[f64]) -> Projection {
        let slo = SloFile::parse(SLO, "t.toml").unwrap();
        let mut all = project(&slo, &releases(gib_s), None, None, Over::Releases);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    #[test]
    fn a_falling_throughput_is_projected_to_cross_its_floor() {
        // 6, 5.5, 5, 4.5 GiB/s: 0.5 per release, 4.5 now; 4 GiB/s still holds one release
        // later (exactly 4), the second misses.
        let p = only(&[6.0, 5.5, 5.0, 4.5]);
        assert_eq!(p.points.len(), 4);
        assert_eq!(p.points[3].label, "0.3.0");
        match p.trend {
            Trend::Crosses { steps, slope_pct } => {
                assert_eq!(steps, 2);
                assert!(
                    (slope_pct - (-0.5 / 4.5 * 100.0)).abs() < 1e-9,
                    "{slope_pct}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            p.sentence().starts_with(
                "crosses `>= 4 GiB/s` in about 2 releases at this slope (-11.1 % per release)"
            ),
            "{}",
            p.sentence()
        );
    }

    #[test]
    fn noise_rising_or_too_few_points_are_said_so() {
        assert_eq!(only(&[5.0, 6.0]).trend, Trend::TooFewPoints { points: 2 });
        assert_eq!(
            only(&[5.0, 6.0]).sentence(),
            "no projection: 2 releases measured it, 3 are needed"
        );
        assert!(matches!(
            only(&[5.0, 5.05, 4.98, 5.02]).trend,
            Trend::NoTrend { .. }
        ));
        assert!(matches!(only(&[5.0, 5.5, 6.0]).trend, Trend::Away { .. }));
        assert!(matches!(only(&[4.0, 3.5, 3.0]).trend, Trend::Missed { .. }));
    }

    #[test]
    fn one_outlier_does_not_bend_the_slope() {
        // Flat at 5 GiB/s with one release at 9: Theil–Sen stays flat.
        assert!(matches!(
            only(&[5.0, 5.0, 9.0, 5.0, 5.0]).trend,
            Trend::NoTrend { .. }
        ));
    }

    #[test]
    fn runs_that_are_not_release_baselines_count_only_over_runs() {
        let slo = SloFile::parse(SLO, "t.toml").unwrap();
        let mut records = releases(&[6.0, 5.5, 5.0]);
        for r in &mut records {
            r.labels = vec!["run".into()];
        }
        assert!(project(&slo, &records, None, None, Over::Releases).is_empty());
        let runs = project(&slo, &records, None, None, Over::Runs);
        assert_eq!(runs[0].points[0].label, "run-0");
        assert!(project(&slo, &records, Some("sync"), None, Over::Runs).is_empty());
    }
}
