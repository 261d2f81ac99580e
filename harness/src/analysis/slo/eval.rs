//! Evaluation: an objective and a run record in, a verdict out.

use std::collections::BTreeMap;
use std::fmt;

use benchseal_benches::{KernelPath, Unit, WorkloadId};
use serde::{Deserialize, Serialize};

use crate::model::record::{
    PathRecord, ProcessRecord, RunRecord, ScalingRecord, Status, WorkloadRecord,
};

use super::error::*;
use super::file::*;
use super::unit::*;

/// `pass | fail | skipped (reason)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum SloVerdict {
    Pass,
    Fail(String),
    Skipped(String),
}

impl SloVerdict {
    pub fn name(&self) -> &'static str {
        match self {
            SloVerdict::Pass => "pass",
            SloVerdict::Fail(_) => "fail",
            SloVerdict::Skipped(_) => "skipped",
        }
    }
}

impl fmt::Display for SloVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SloVerdict::Pass => f.write_str("pass"),
            SloVerdict::Fail(why) => write!(f, "fail ({why})"),
            SloVerdict::Skipped(why) => write!(f, "skipped ({why})"),
        }
    }
}

/// The outcome of one objective.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub verdict: SloVerdict,
    /// The measured value in the base unit of the target's dimension.
    pub measured_base: Option<f64>,
    /// Percent beyond the target (negative: short of it).
    pub margin_pct: Option<f64>,
    /// Where the number came from (workload, path, engine), for the evidence column.
    pub source: String,
}

impl Evaluation {
    fn skipped(reason: impl Into<String>, source: impl Into<String>) -> Evaluation {
        Evaluation {
            verdict: SloVerdict::Skipped(reason.into()),
            measured_base: None,
            margin_pct: None,
            source: source.into(),
        }
    }
}

/// What an objective needs from the run, found or the reason it is not there.
enum Found<T> {
    Yes(T),
    Skip(String),
    Fail(String),
}

macro_rules! found {
    ($e:expr, $source:expr) => {
        match $e {
            Found::Yes(v) => v,
            Found::Skip(why) => return Ok(Evaluation::skipped(why, $source)),
            Found::Fail(why) => {
                return Ok(Evaluation {
                    verdict: SloVerdict::Fail(why),
                    measured_base: None,
                    margin_pct: None,
                    source: $source,
                });
            }
        }
    };
}

fn workload<'r>(run: &'r RunRecord, id: &WorkloadId) -> Found<&'r WorkloadRecord> {
    match run.workload(id) {
        Some(w) => Found::Yes(w),
        None => Found::Skip("workload not in run".into()),
    }
}

/// The path an objective reads: the named one, or the workload's fast path (SIMD when it
/// ran, else its only path).
/// The path an objective on `w` reads: its own `path`, else `simd` where the workload has
/// it (or several paths), else its only one.
pub fn default_path(w: &WorkloadRecord, path: Option<KernelPath>) -> KernelPath {
    path.unwrap_or_else(|| {
        if w.path(KernelPath::Simd).is_some() || w.paths.len() != 1 {
            KernelPath::Simd
        } else {
            w.paths[0].path
        }
    })
}

fn path_record(w: &WorkloadRecord, path: KernelPath) -> Found<&PathRecord> {
    let Some(p) = w.path(path) else {
        return Found::Skip(format!("path {path} not in run"));
    };
    match &p.status {
        Status::Ok => Found::Yes(p),
        Status::Skipped(why) => Found::Skip(format!("path {path}: {why}")),
        Status::Invalid(why) => Found::Fail(format!("path {path} invalid: {why}")),
    }
}

fn wall(p: &PathRecord) -> Found<&crate::model::record::WallStats> {
    match &p.wall {
        None => Found::Skip("wall engine not run".into()),
        Some(r) => match (&r.status, &r.metrics) {
            (Status::Ok, Some(m)) => Found::Yes(m),
            (Status::Ok, None) => Found::Skip("wall engine recorded no statistics".into()),
            (Status::Skipped(why), _) => Found::Skip(format!("wall engine: {why}")),
            (Status::Invalid(why), _) => Found::Fail(format!("wall engine invalid: {why}")),
        },
    }
}

/// The scaling of `id` on `path` (by default the path the pass measured).
fn scaling<'r>(
    run: &'r RunRecord,
    id: &WorkloadId,
    path: Option<KernelPath>,
) -> Found<&'r ScalingRecord> {
    let Some(record) = run
        .scaling
        .iter()
        .find(|s| &s.workload == id && path.is_none_or(|p| s.path == p))
    else {
        return Found::Skip("no thread scaling of it in run".into());
    };
    match &record.status {
        // Figures from threads that shared their cores say nothing of the kernel.
        Status::Ok => match record.contended() {
            Some(why) => Found::Skip(why),
            None => Found::Yes(record),
        },
        Status::Skipped(why) => Found::Skip(why.clone()),
        Status::Invalid(why) => Found::Fail(format!("scaling invalid: {why}")),
    }
}

fn process<'r>(run: &'r RunRecord, id: &str) -> Found<&'r ProcessRecord> {
    match run.processes.iter().find(|p| p.id == id) {
        None => Found::Skip("process not in run".into()),
        Some(p) => match &p.status {
            Status::Ok => Found::Yes(p),
            Status::Skipped(why) => Found::Skip(why.clone()),
            Status::Invalid(why) => Found::Fail(format!("process invalid: {why}")),
        },
    }
}

/// A process's speedup over its `relative_to` process: the reference's median wall time
/// over the subject's (both do the same work), with where it came from. Either process
/// skipped (a command not installed) skips the objective, with that process's reason.
fn process_speedup(
    objective: &Objective,
    run: &RunRecord,
    id: &str,
) -> Result<Found<(String, f64)>, SloError> {
    let Some(SpeedupBase::Process { reference }) = &objective.speedup else {
        return Err(SloError::Mismatch {
            objective: objective.id.clone(),
            message: "a process's speedup needs `relative_to` naming another process".into(),
        });
    };
    let median = |process_id: &str, role: &str| match process(run, process_id) {
        Found::Yes(p) => p.wall_p50_ns.filter(|ns| *ns > 0.0).map_or(
            Found::Skip(format!("{role}{process_id}: wall time not recorded")),
            Found::Yes,
        ),
        Found::Skip(why) => Found::Skip(format!("{role}{process_id}: {why}")),
        Found::Fail(why) => Found::Fail(format!("{role}{process_id}: {why}")),
    };
    let subject = match median(id, "process ") {
        Found::Yes(ns) => ns,
        Found::Skip(why) => return Ok(Found::Skip(why)),
        Found::Fail(why) => return Ok(Found::Fail(why)),
    };
    Ok(match median(reference, "reference ") {
        Found::Yes(base) => Found::Yes((
            format!("process {id} over process {reference}, median wall"),
            base / subject,
        )),
        Found::Skip(why) => Found::Skip(why),
        Found::Fail(why) => Found::Fail(why),
    })
}

/// Linear-interpolated quantile (`q` in 0..=1) of unsorted samples; `None` when empty.
pub fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = pos.floor() as usize;
    let upper = pos.ceil() as usize;
    Some(sorted[lower] + (sorted[upper] - sorted[lower]) * (pos - lower as f64))
}

fn check_work_unit(objective: &Objective, actual: Option<Unit>) -> Result<(), SloError> {
    let wanted = match objective.target.unit.dimension {
        Dimension::Rate(u) | Dimension::TimePerWork(u) => u,
        _ => return Ok(()),
    };
    match actual {
        Some(actual) if actual == wanted => Ok(()),
        Some(actual) => Err(SloError::Mismatch {
            objective: objective.id.clone(),
            message: format!(
                "target unit `{}` counts {}, but {} counts {}",
                objective.target.unit.text,
                wanted.name(),
                objective.subject,
                actual.name()
            ),
        }),
        None => Err(SloError::Mismatch {
            objective: objective.id.clone(),
            message: format!(
                "target unit `{}` needs a unit of work, and {} has none",
                objective.target.unit.text, objective.subject
            ),
        }),
    }
}

/// Converts a time per run of the work into the target's dimension.
fn time_in_dimension(
    objective: &Objective,
    ns_per_run: f64,
    units: Option<u64>,
) -> Result<f64, SloError> {
    match objective.target.unit.dimension {
        Dimension::TimePerWork(_) => match units {
            Some(n) if n > 0 => Ok(ns_per_run / n as f64),
            _ => Err(SloError::Mismatch {
                objective: objective.id.clone(),
                message: "a time per unit needs a count of units of work".into(),
            }),
        },
        Dimension::Rate(_) => match units {
            Some(n) if n > 0 => Ok(n as f64 * 1e9 / ns_per_run),
            _ => Err(SloError::Mismatch {
                objective: objective.id.clone(),
                message: "a rate needs a count of units of work".into(),
            }),
        },
        _ => Ok(ns_per_run),
    }
}

/// Evaluates one objective against a run (and the baseline run, for reproducibility).
///
/// `Err` means the objective cannot be applied to this run at all (a unit that does not fit
/// the workload): a configuration error, not a verdict.
pub fn evaluate(
    objective: &Objective,
    run: &RunRecord,
    baseline: Option<&RunRecord>,
) -> Result<Evaluation, SloError> {
    let measured_in = |source: String, measured: f64| {
        let target = objective.target.base_value();
        let cmp = objective.target.comparator;
        let verdict = if cmp.holds(measured, target) {
            SloVerdict::Pass
        } else {
            SloVerdict::Fail(format!(
                "{} is not {}",
                format_in(&objective.target.unit, measured),
                objective.target
            ))
        };
        Evaluation {
            verdict,
            measured_base: Some(measured),
            margin_pct: Some(cmp.margin_pct(measured, target)),
            source,
        }
    };
    match (&objective.subject, objective.metric) {
        (Subject::Process(id), Metric::Speedup) => {
            let (source, measured) = found!(
                process_speedup(objective, run, id)?,
                format!("process {id}")
            );
            Ok(measured_in(source, measured))
        }
        (Subject::Process(id), metric) => {
            let source = format!("process {id}");
            let p = found!(process(run, id), source);
            let measured = match metric {
                Metric::PeakRss => found!(
                    p.peak_rss_bytes
                        .map_or(Found::Skip("peak RSS not recorded".into()), |b| Found::Yes(
                            b as f64
                        )),
                    source
                ),
                Metric::ProgramSize => found!(
                    p.program_bytes
                        .map_or(Found::Skip("program size not recorded".into()), |b| {
                            Found::Yes(b as f64)
                        }),
                    source
                ),
                Metric::Throughput
                | Metric::LatencyP50
                | Metric::LatencyP95
                | Metric::LatencyP99 => {
                    let wall = match metric {
                        Metric::LatencyP95 => p.wall_p95_ns,
                        Metric::LatencyP99 => p.wall_p99_ns,
                        _ => p.wall_p50_ns,
                    };
                    let ns = found!(
                        wall.map_or(Found::Skip("wall time not recorded".into()), Found::Yes),
                        source
                    );
                    if matches!(
                        objective.target.unit.dimension,
                        Dimension::Rate(_) | Dimension::TimePerWork(_)
                    ) {
                        check_work_unit(objective, p.unit)?;
                    }
                    time_in_dimension(objective, ns, p.units)?
                }
                other => {
                    return Err(SloError::Mismatch {
                        objective: objective.id.clone(),
                        message: format!("`{other}` does not apply to a process"),
                    });
                }
            };
            Ok(measured_in(source, measured))
        }
        (Subject::Workload(id), Metric::SpeedupThreads | Metric::Efficiency) => {
            let source = format!("{id}, scaling");
            let record = found!(scaling(run, id, objective.path), source);
            let threads = found!(
                match objective.threads.or_else(|| record.max_threads()) {
                    Some(t) if t >= 2 && record.point(t).is_some() => Found::Yes(t),
                    Some(1) | None => Found::Skip("only one thread measured".into()),
                    Some(t) => Found::Skip(format!(
                        "{t} threads not measured (measured: {})",
                        record
                            .points
                            .iter()
                            .map(|p| p.threads.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                },
                source
            );
            let source = format!("{id} {}, {threads} threads over 1, scaling", record.path);
            let value = if objective.metric == Metric::SpeedupThreads {
                record.speedup(threads)
            } else {
                record.efficiency(threads)
            };
            let value = found!(
                value.map_or(Found::Skip("no one-thread time".into()), Found::Yes),
                source
            );
            Ok(measured_in(source, value))
        }
        (Subject::Workload(id), Metric::Speedup) => {
            let w = found!(workload(run, id), id.to_string());
            let (base_rate, fast_rate, source) = match objective.speedup.as_ref() {
                Some(SpeedupBase::Path { base, fast }) => {
                    let source = format!("{id} {fast} over {base}, wall");
                    let b = found!(path_record(w, *base), source);
                    let f = found!(path_record(w, *fast), source);
                    let bw = found!(wall(b), source);
                    let fw = found!(wall(f), source);
                    (1.0 / bw.median_ns, 1.0 / fw.median_ns, source)
                }
                Some(SpeedupBase::Workload { reference }) => {
                    let path = default_path(w, objective.path);
                    let source = format!("{id} over {reference}, path {path}, wall");
                    let r = found!(
                        workload(run, reference)
                            .map_skip(|why| format!("reference {reference}: {why}")),
                        source
                    );
                    let f = found!(path_record(w, path), source);
                    let rp = found!(path_record(r, default_path(r, objective.path)), source);
                    let fw = found!(wall(f), source);
                    let rw = found!(wall(rp), source);
                    (
                        r.units as f64 / rw.median_ns,
                        w.units as f64 / fw.median_ns,
                        source,
                    )
                }
                Some(SpeedupBase::Process { .. }) | None => {
                    return Err(SloError::Mismatch {
                        objective: objective.id.clone(),
                        message:
                            "a workload's speedup needs `paths` or `relative_to` naming a workload"
                                .into(),
                    });
                }
            };
            Ok(measured_in(source, fast_rate / base_rate))
        }
        (Subject::Workload(id), metric) => {
            let w = found!(workload(run, id), id.to_string());
            let path = default_path(w, objective.path);
            let p = found!(path_record(w, path), format!("{id} {path}"));
            match metric {
                Metric::Throughput
                | Metric::LatencyP50
                | Metric::LatencyP95
                | Metric::LatencyP99 => {
                    let source = format!("{id} {path}, wall");
                    let stats = found!(wall(p), source);
                    let ns = match metric {
                        Metric::Throughput => stats.median_ns,
                        Metric::LatencyP50 => {
                            quantile(&stats.samples_ns, 0.50).unwrap_or(stats.median_ns)
                        }
                        Metric::LatencyP95 => found!(
                            quantile(&stats.samples_ns, 0.95)
                                .map_or(Found::Skip("no wall samples".into()), Found::Yes),
                            source
                        ),
                        _ => found!(
                            quantile(&stats.samples_ns, 0.99)
                                .map_or(Found::Skip("no wall samples".into()), Found::Yes),
                            source
                        ),
                    };
                    if matches!(
                        objective.target.unit.dimension,
                        Dimension::Rate(_) | Dimension::TimePerWork(_)
                    ) {
                        check_work_unit(objective, Some(w.unit))?;
                    }
                    Ok(measured_in(
                        source,
                        time_in_dimension(objective, ns, Some(w.units))?,
                    ))
                }
                Metric::Instructions => {
                    let source = format!("{id} {path}, instr");
                    let instr = match &p.instr {
                        None => return Ok(Evaluation::skipped("instr engine not run", source)),
                        Some(r) => match (&r.status, &r.metrics) {
                            (Status::Ok, Some(m)) => m.instructions,
                            (Status::Invalid(why), _) => {
                                return Ok(Evaluation {
                                    verdict: SloVerdict::Fail(format!(
                                        "instr engine invalid: {why}"
                                    )),
                                    measured_base: None,
                                    margin_pct: None,
                                    source,
                                });
                            }
                            (Status::Skipped(why), _) => {
                                return Ok(Evaluation::skipped(
                                    format!("instr engine: {why}"),
                                    source,
                                ));
                            }
                            (Status::Ok, None) => {
                                return Ok(Evaluation::skipped(
                                    "instr engine recorded no metrics",
                                    source,
                                ));
                            }
                        },
                    };
                    Ok(measured_in(source, instr as f64))
                }
                Metric::RoofFraction => {
                    if w.roof.is_none() {
                        return Err(SloError::Mismatch {
                            objective: objective.id.clone(),
                            message: format!("{id} names no roof to be read against"),
                        });
                    }
                    let source = format!("{id} {path}, wall, over its roof");
                    found!(wall(p), source);
                    match crate::analysis::roof::fraction(run, w, path) {
                        Ok(Some(f)) => Ok(measured_in(
                            format!("{id} {path} over {} {}, wall", f.roof, f.roof_path),
                            f.fraction,
                        )),
                        Ok(None) => {
                            Ok(Evaluation::skipped(format!("{path}: {}", p.status), source))
                        }
                        Err(why) => Ok(Evaluation::skipped(why, source)),
                    }
                }
                other => Err(SloError::Mismatch {
                    objective: objective.id.clone(),
                    message: format!("`{other}` does not apply to one workload"),
                }),
            }
        }
        (Subject::Workloads(prefix), Metric::DigestReproducibility) => {
            let source = if prefix.is_empty() {
                "all workloads, digest pass".to_string()
            } else {
                format!("{prefix}*, digest pass")
            };
            let summary = reproducibility(run, baseline, prefix);
            if summary.checked == 0 {
                return Ok(Evaluation::skipped("no output digests in run", source));
            }
            let pct = summary.reproduced as f64 / summary.checked as f64;
            let mut evaluation = measured_in(
                format!(
                    "{source}: {}/{} reproduced",
                    summary.reproduced, summary.checked
                ),
                pct,
            );
            if let (SloVerdict::Fail(_), Some(first)) =
                (&evaluation.verdict, summary.mismatches.first())
            {
                evaluation.verdict = SloVerdict::Fail(format!(
                    "{} of {} digests differ, first {first}",
                    summary.checked - summary.reproduced,
                    summary.checked
                ));
            }
            Ok(evaluation)
        }
        (Subject::Workloads(_), other) => Err(SloError::Mismatch {
            objective: objective.id.clone(),
            message: format!("`{other}` needs one workload or process"),
        }),
    }
}

trait MapSkip {
    fn map_skip(self, f: impl FnOnce(String) -> String) -> Self;
}

impl<T> MapSkip for Found<T> {
    fn map_skip(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Found::Skip(why) => Found::Skip(f(why)),
            other => other,
        }
    }
}

/// Digest reproducibility over the workloads whose id starts with `prefix`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReproducibilitySummary {
    /// Paths with an output digest.
    pub checked: usize,
    /// Of those, paths whose digest equals the golden digest and the baseline's.
    pub reproduced: usize,
    /// `workload path: what differs`, in run order.
    pub mismatches: Vec<String>,
}

/// Checks every path's output digest against the golden digest, the other paths of the
/// same workload, and the baseline's digest of the same workload and path; and the input
/// digest against the baseline's.
pub fn reproducibility(
    run: &RunRecord,
    baseline: Option<&RunRecord>,
    prefix: &str,
) -> ReproducibilitySummary {
    let mut summary = ReproducibilitySummary::default();
    for w in run
        .workloads
        .iter()
        .filter(|w| w.id.to_string().starts_with(prefix))
    {
        let base = baseline.and_then(|b| b.workload(&w.id));
        let reference = w
            .golden_output_sha256
            .clone()
            .or_else(|| w.paths.iter().find_map(|p| p.output_sha256.clone()));
        for p in &w.paths {
            let Some(digest) = &p.output_sha256 else {
                if p.status.is_invalid() {
                    summary.checked += 1;
                    summary
                        .mismatches
                        .push(format!("{} {}: {}", w.id, p.path, p.status));
                }
                continue;
            };
            summary.checked += 1;
            let mut problems = Vec::new();
            if let Some(expected) = &reference
                && digest != expected
            {
                let against = if w.golden_output_sha256.is_some() {
                    "golden"
                } else {
                    "other paths"
                };
                problems.push(format!(
                    "output {} != {against} {}",
                    short(digest),
                    short(expected)
                ));
            }
            if let Some(bp) = base
                .and_then(|b| b.path(p.path))
                .and_then(|bp| bp.output_sha256.as_ref())
                && bp != digest
            {
                problems.push(format!(
                    "output {} != baseline {}",
                    short(digest),
                    short(bp)
                ));
            }
            if let (Some(input), Some(base_input)) =
                (&w.input_sha256, base.and_then(|b| b.input_sha256.as_ref()))
                && input != base_input
            {
                problems.push(format!(
                    "input {} != baseline {}",
                    short(input),
                    short(base_input)
                ));
            }
            if p.status.is_invalid() {
                problems.push(p.status.to_string());
            }
            if problems.is_empty() {
                summary.reproduced += 1;
            } else {
                summary
                    .mismatches
                    .push(format!("{} {}: {}", w.id, p.path, problems.join("; ")));
            }
        }
    }
    summary
}

/// The first 12 hex digits of a digest, for messages.
pub fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

/// Evaluations of all objectives, in file order; the first objective that cannot be
/// applied stops evaluation with its error.
pub fn evaluate_all(
    slo: &SloFile,
    run: &RunRecord,
    baseline: Option<&RunRecord>,
) -> Result<BTreeMap<String, Evaluation>, SloError> {
    slo.objectives
        .iter()
        .map(|o| Ok((o.id.clone(), evaluate(o, run, baseline)?)))
        .collect()
}
