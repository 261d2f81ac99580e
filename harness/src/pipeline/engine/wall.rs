//! The wall engine: criterion bench target, run directly, results read from its files.
//!
//! `benchseal run` points `CRITERION_HOME` at a fresh directory per run, so only this run's
//! results can be read back, and identifies each benchmark by the `group_id` /
//! `function_id` criterion writes into `benchmark.json` (group = workload id, function =
//! kernel path) rather than by re-deriving criterion's file-name escaping.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use benchseal_benches::protocol;

use super::{EngineRun, Engines, case_list};
use crate::analysis::replicates;
use crate::analysis::stats::{self, SplitMix64};
use crate::model::record::{
    EngineKind, EngineResult, PathRecord, Status, WallExecution, WallStats,
};
use crate::pipeline::engine::ingest::{IngestError, JsonFile, files_named};
use crate::pipeline::progress::Progress;
use crate::pipeline::recorder::{Case, Recorder};

/// The criterion version the wall bench target is built with (pinned in Cargo.toml).
pub const CRITERION_VERSION: &str = "0.8.2";

/// Environment variables read by `benches/benches/wall.rs`.
pub const SAMPLE_SIZE_VAR: &str = "BENCHSEAL_SAMPLE_SIZE";
pub const WARM_UP_MS_VAR: &str = "BENCHSEAL_WARM_UP_MS";
pub const MEASUREMENT_MS_VAR: &str = "BENCHSEAL_MEASUREMENT_MS";

/// How long criterion samples each benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampling {
    pub sample_size: u64,
    pub warm_up_ms: u64,
    pub measurement_ms: u64,
}

impl Sampling {
    /// Per execution of a full run (5 executions by default): 50 samples, 1 s warm-up, 2 s
    /// measurement. More executions of fewer samples each: between-execution variance is
    /// the larger part, so executions buy more certainty than samples (Kalibera & Jones).
    pub const FULL: Sampling = Sampling {
        sample_size: 50,
        warm_up_ms: 1000,
        measurement_ms: 2000,
    };
    /// `--quick`, per execution (3 by default): criterion's minimum of 10 samples in about
    /// 0.3 s after a 0.1 s warm-up.
    pub const QUICK: Sampling = Sampling {
        sample_size: 10,
        warm_up_ms: 100,
        measurement_ms: 300,
    };

    /// `--quick` in a paired session, per execution (5 a side by default): the same 10
    /// samples in 0.2 s after a 0.05 s warm-up, so that five pairs cost about what three
    /// executions a side of [`Sampling::QUICK`] would. A paired verdict rests on the spread
    /// of the pair ratios, which more pairs estimate better than longer executions do.
    pub const QUICK_PAIRED: Sampling = Sampling {
        sample_size: 10,
        warm_up_ms: 50,
        measurement_ms: 200,
    };

    /// The environment that asks the bench target for this sampling.
    pub fn envs(&self) -> Vec<(&'static str, String)> {
        vec![
            (SAMPLE_SIZE_VAR, self.sample_size.to_string()),
            (WARM_UP_MS_VAR, self.warm_up_ms.to_string()),
            (MEASUREMENT_MS_VAR, self.measurement_ms.to_string()),
        ]
    }
}

/// One benchmark's result as criterion wrote it.
#[derive(Debug)]
pub struct WallResult {
    /// criterion group: the workload id.
    pub group: String,
    /// criterion function: the kernel path.
    pub function: String,
    pub stats: Result<WallStats, IngestError>,
}

/// Reads every benchmark under a `CRITERION_HOME` directory (the `new/` results).
pub fn ingest_home(
    home: &Path,
    units_of: impl Fn(&str) -> Option<u64>,
) -> Result<Vec<WallResult>, IngestError> {
    let mut results = Vec::new();
    for benchmark_json in files_named(home, "benchmark.json")? {
        let dir = benchmark_json.parent().unwrap_or(home);
        if dir.file_name().is_none_or(|n| n != "new") {
            continue; // `base/` and other saved baselines are criterion's business
        }
        let benchmark = JsonFile::read(&benchmark_json)?;
        let group = benchmark.str("group_id")?.to_string();
        let function = benchmark.str("function_id")?.to_string();
        let units = units_of(&group).unwrap_or(0);
        let stats = read_stats(dir, units);
        results.push(WallResult {
            group,
            function,
            stats,
        });
    }
    Ok(results)
}

fn read_stats(dir: &Path, units: u64) -> Result<WallStats, IngestError> {
    let estimates_path: PathBuf = dir.join("estimates.json");
    let sample_path: PathBuf = dir.join("sample.json");
    let estimates = JsonFile::read(&estimates_path)?;
    let sample = JsonFile::read(&sample_path)?;
    wall_stats(&estimates, &sample, units)
}

/// Wall statistics from criterion's `estimates.json` and `sample.json` (times in ns per
/// iteration); throughput is `units` per second at the median.
pub fn wall_stats(
    estimates: &JsonFile,
    sample: &JsonFile,
    units: u64,
) -> Result<WallStats, IngestError> {
    let median_ns = estimates.f64("median.point_estimate")?;
    let iters = sample.f64_array("iters")?;
    let times = sample.f64_array("times")?;
    if iters.len() != times.len() || iters.is_empty() {
        return Err(sample.error(
            "times",
            format!("has {} entries for {} in `iters`", times.len(), iters.len()),
        ));
    }
    if let Some(i) = iters.iter().position(|n| *n <= 0.0) {
        return Err(sample.error(&format!("iters[{i}]"), "is not a positive count"));
    }
    if median_ns.is_nan() || median_ns <= 0.0 {
        return Err(estimates.error("median.point_estimate", "is not a positive time"));
    }
    Ok(WallStats {
        median_ns,
        median_ci_lower_ns: estimates.f64("median.confidence_interval.lower_bound")?,
        median_ci_upper_ns: estimates.f64("median.confidence_interval.upper_bound")?,
        mean_ns: estimates.f64("mean.point_estimate")?,
        mean_ci_lower_ns: estimates.f64("mean.confidence_interval.lower_bound")?,
        mean_ci_upper_ns: estimates.f64("mean.confidence_interval.upper_bound")?,
        std_dev_ns: estimates.f64("std_dev.point_estimate")?,
        confidence_level: estimates.f64("median.confidence_interval.confidence_level")?,
        samples_ns: times.iter().zip(&iters).map(|(t, n)| t / n).collect(),
        sample_iters: iters,
        throughput_per_s: units as f64 * 1e9 / median_ns,
        executions: Vec::new(),
    })
}

/// One process execution of the wall bench executable over a list of cases.
pub struct WallRun {
    sampling: Sampling,
    /// Position of this execution in the session.
    sequence: usize,
    /// Each case's place in this execution's order, by case key.
    positions: HashMap<String, usize>,
    label: String,
    /// The executable as started: a link whose path has the same length on both sides.
    executable: PathBuf,
    /// Bytes of padding in the environment for this execution ([`LAYOUT_PAD_VAR`]).
    env_pad: usize,
}

/// An environment variable of varying length: it moves the initial stack of the bench
/// process, whose alignment alone can change a kernel's time by several percent
/// (Mytkowicz et al., "Producing Wrong Data Without Doing Anything Obviously Wrong!",
/// ASPLOS 2009). Its length is drawn per execution (the same for both sides of a pair), so
/// such an effect becomes variance between pairs instead of a bias between the sides.
pub const LAYOUT_PAD_VAR: &str = "BENCHSEAL_LAYOUT_PAD";

impl EngineRun for WallRun {
    const KIND: EngineKind = EngineKind::Wall;
    const NAME: &'static str = "wall";
    type Metrics = WallStats;

    fn command(&self, home: &Path, cases: &[Case]) -> Command {
        let mut command = Command::new(&self.executable);
        command
            .arg("--bench")
            .env(protocol::CASES_VAR, case_list(cases))
            .env("CRITERION_HOME", home)
            .env(LAYOUT_PAD_VAR, ".".repeat(self.env_pad))
            .envs(self.sampling.envs());
        command
    }

    fn stderr_noise(line: &str) -> bool {
        line.starts_with("Benchmarking ")
    }

    fn finished(line: &str, last: &mut String, _cases: &[Case]) -> Option<String> {
        // Without a terminal criterion prints the benchmark id alone on a line, then its
        // indented `time:` line once the benchmark is analysed and saved.
        if line.trim_start().starts_with("time:") {
            Some(last.clone())
        } else {
            if !line.is_empty()
                && !line.starts_with(char::is_whitespace)
                && !line.starts_with("Found ")
            {
                *last = line.to_string();
            }
            None
        }
    }

    fn ingest(
        home: &Path,
        cases: &[Case],
        _progress: &dyn Progress,
    ) -> Vec<(usize, Result<WallStats, String>)> {
        let units_of = |group: &str| {
            cases
                .iter()
                .find(|c| protocol::split_case_key(&c.key).is_some_and(|(id, _)| id == group))
                .map(|c| c.units)
        };
        let results = match ingest_home(home, units_of) {
            Ok(results) => results,
            Err(e) => return vec![(usize::MAX, Err(e.to_string()))],
        };
        results
            .into_iter()
            .filter_map(|r| {
                let key = protocol::case_key(&r.group, &r.function);
                let index = cases.iter().position(|c| c.key == key)?;
                Some((index, r.stats.map_err(|e| e.to_string())))
            })
            .collect()
    }

    /// Adds this execution's samples to those of earlier executions. A failed execution
    /// makes the case's wall result failed, whatever earlier executions measured.
    fn store(&self, case: &Case, path: &mut PathRecord, result: EngineResult<WallStats>) {
        let EngineResult {
            status: Status::Ok,
            metrics: Some(mut measured),
        } = result
        else {
            path.wall = Some(result);
            return;
        };
        let position = self.positions.get(&case.key).copied().unwrap_or_default();
        let execution = WallExecution {
            sequence: self.sequence,
            position,
            env_pad: self.env_pad,
            samples: measured.samples_ns.len(),
            median_ns: stats::median(&measured.samples_ns).unwrap_or(measured.median_ns),
        };
        match &mut path.wall {
            Some(EngineResult {
                status: Status::Ok,
                metrics: Some(so_far),
            }) => {
                so_far.samples_ns.append(&mut measured.samples_ns);
                so_far.sample_iters.append(&mut measured.sample_iters);
                so_far.executions.push(execution);
            }
            Some(_) => {} // an earlier execution failed: the case stays failed
            None => {
                measured.executions = vec![execution];
                path.wall = Some(EngineResult {
                    status: Status::Ok,
                    metrics: Some(measured),
                });
            }
        }
    }

    fn label(&self) -> String {
        self.label.clone()
    }
}

/// How a run replicates its wall measurements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replication {
    /// Process executions per case (and per side, in a paired session).
    pub executions: usize,
    /// Seed of each execution's randomized case order.
    pub seed: u64,
}

/// One side of a wall session: the executables it runs and the record it fills.
pub struct WallSide<'s, 'p> {
    pub engines: &'s Engines<'s>,
    pub recorder: &'s mut Recorder<'p>,
    /// `A` or `B` in a paired session, empty on its own.
    pub name: &'static str,
}

/// Runs every case of every side in `replication.executions` process executions.
///
/// Each execution runs all cases in a fresh randomized order (workloads shuffled, then the
/// paths within each: randomized multiple interleaved trials, Abedi & Brecht, ICPE 2017), so
/// a slow phase of the machine spreads over cases instead of hitting one.
///
/// With two sides (a paired session) each case runs in a process of its own, A's and B's
/// back to back, alternating which goes first (A B B A … from case to case and from one
/// execution to the next), in the same case order on both sides. The two halves of a pair
/// are then about one case's measurement apart (under a second with `--quick`) rather than
/// a whole side's execution (every case, tens of seconds): a neighbour's burst or the
/// machine's drift lasting seconds acts on both halves alike and cancels in their ratio,
/// where it used to land on one side only. Execution i of A pairs with execution i of B.
/// Afterwards each case's median and its interval come from all executions ([`pool`]).
pub fn run_session(
    sides: &mut [WallSide<'_, '_>],
    sampling: Sampling,
    replication: Replication,
) -> Result<Duration> {
    let mut spent = Duration::ZERO;
    let executions = replication.executions.max(1);
    let links: Vec<PathBuf> = sides
        .iter()
        .map(|side| same_length_link(side.engines, side.name))
        .collect();
    let side_count = sides.len();
    let paired = side_count > 1;
    for execution in 0..executions {
        let env_pad = SplitMix64::new(replication.seed ^ 0x1A70_u64 ^ execution as u64).below(4096);
        // Each side's cases still measurable, in this execution's order.
        let ordered: Vec<Vec<Case>> = sides
            .iter()
            .map(|side| {
                let mut cases: Vec<Case> = Engines::cases(side.recorder, None)
                    .into_iter()
                    .filter(|c| {
                        side.recorder.record.workloads[c.workload].paths[c.path_index]
                            .wall
                            .as_ref()
                            .is_none_or(|w| w.status.is_ok())
                    })
                    .collect();
                shuffle(&mut cases, replication.seed, execution);
                cases
            })
            .collect();
        // The runs of this execution in the order they start: side, cases, and in a paired
        // session the case's slot in the common order.
        let mut runs: Vec<(usize, Vec<Case>, usize)> = Vec::new();
        if paired {
            let mut common: Vec<Case> = Vec::new();
            for case in ordered.iter().flatten() {
                if !common.iter().any(|c| c.key == case.key) {
                    common.push(case.clone());
                }
            }
            shuffle(&mut common, replication.seed, execution);
            for (slot, case) in common.iter().enumerate() {
                let mut order: Vec<usize> = (0..side_count).collect();
                if (execution + slot) % 2 == 1 {
                    order.reverse();
                }
                for s in order {
                    if let Some(own) = ordered[s].iter().find(|c| c.key == case.key) {
                        runs.push((s, vec![own.clone()], slot));
                    }
                }
            }
        } else {
            runs.extend(ordered.iter().cloned().enumerate().map(|(s, c)| (s, c, 0)));
        }
        let slots = ordered.iter().map(Vec::len).max().unwrap_or(0);
        for (s, cases, slot) in runs {
            let side = &mut sides[s];
            if side.engines.interrupt.requested() {
                break;
            }
            let positions = cases
                .iter()
                .map(|c| {
                    let at = ordered[s].iter().position(|o| o.key == c.key);
                    (c.key.clone(), at.unwrap_or_default())
                })
                .collect();
            let label = match (side.name, executions) {
                ("", 1) => "wall".to_string(),
                ("", _) => format!("wall-e{}", execution + 1),
                (name, _) => format!(
                    "wall-e{}-{:0width$}of{slots}-{name}",
                    execution + 1,
                    slot + 1,
                    width = slots.to_string().len()
                ),
            };
            let run = WallRun {
                sampling,
                sequence: execution * side_count + s,
                positions,
                label,
                executable: links[s].clone(),
                env_pad,
            };
            spent += side.engines.run_engine(&run, side.recorder, cases)?;
        }
    }
    for side in sides.iter_mut() {
        let record = &mut side.recorder.record;
        for workload in &mut record.workloads {
            let units = workload.units;
            for path in &mut workload.paths {
                if let Some(EngineResult {
                    status: Status::Ok,
                    metrics: Some(wall),
                }) = &mut path.wall
                {
                    let key = protocol::case_key(&workload.id, path.path);
                    pool(wall, units, replication.seed ^ stats::fnv1a(key.as_bytes()));
                }
            }
        }
        side.recorder.save()?;
    }
    Ok(spent)
}

/// The wall executable of a side, started through a link in the run's working directory
/// whose path has the same length for every side: the path is on the new process's stack
/// (`argv[0]`, the auxiliary vector), so two sides started from paths of different lengths
/// would run with differently aligned stacks. The real path when no link can be made.
fn same_length_link(engines: &Engines<'_>, side: &str) -> PathBuf {
    let real = engines.executables.wall.clone();
    let dir = engines
        .work
        .join(format!("exe-{}", if side.is_empty() { "S" } else { side }));
    let link = dir.join("wall");
    let made =
        std::fs::create_dir_all(&dir).and_then(|()| std::os::unix::fs::symlink(&real, &link));
    match made {
        Ok(()) => link,
        Err(_) if link.exists() => link,
        Err(_) => real,
    }
}

/// Orders `cases` for execution `execution`: workloads in a random order, the paths of each
/// workload together in a random order. The order depends only on the seed, the execution
/// and the case keys, so both sides of a paired session run their common cases alike.
fn shuffle(cases: &mut [Case], seed: u64, execution: usize) {
    let key = |text: &str| {
        SplitMix64::new(seed ^ stats::fnv1a(text.as_bytes()) ^ execution as u64).next_u64()
    };
    cases.sort_by_cached_key(|c| {
        let workload = protocol::split_case_key(&c.key).map_or(c.key.as_str(), |(id, _)| id);
        (key(workload), key(&c.key))
    });
}

/// Resamples of the interval of a pooled median in a record.
const POOL_RESAMPLES: usize = 2000;

/// Recomputes a case's statistics from all its executions: the median of all samples with
/// its hierarchical bootstrap interval (executions, then samples within them; Kalibera &
/// Jones, ISMM 2013), the mean with a t interval over the execution means, the standard
/// deviation of all samples, and the throughput at the median. One execution keeps
/// criterion's own estimates.
pub fn pool(wall: &mut WallStats, units: u64, seed: u64) {
    if wall.executions.len() < 2 {
        return;
    }
    let runs = wall.execution_samples();
    let Some(median) = replicates::hierarchical_median(&runs, POOL_RESAMPLES, 0.95, seed) else {
        return;
    };
    let means: Vec<f64> = runs
        .iter()
        .map(|r| r.iter().sum::<f64>() / r.len().max(1) as f64)
        .collect();
    let n = wall.samples_ns.len() as f64;
    let mean = wall.samples_ns.iter().sum::<f64>() / n;
    let variance = wall
        .samples_ns
        .iter()
        .map(|v| (v - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0).max(1.0);
    let k = means.len() as f64;
    let mean_of_means = means.iter().sum::<f64>() / k;
    let sd_means = (means
        .iter()
        .map(|m| (m - mean_of_means).powi(2))
        .sum::<f64>()
        / (k - 1.0))
        .sqrt();
    let half = stats::t_quantile_975(means.len() - 1) * sd_means / k.sqrt();
    wall.median_ns = median.median;
    wall.median_ci_lower_ns = median.lower;
    wall.median_ci_upper_ns = median.upper;
    wall.confidence_level = median.confidence;
    wall.mean_ns = mean;
    wall.mean_ci_lower_ns = mean - half;
    wall.mean_ci_upper_ns = mean + half;
    wall.std_dev_ns = variance.sqrt();
    wall.throughput_per_s = units as f64 * 1e9 / median.median;
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":90.0,"upper_bound":110.0},"point_estimate":100.0,"standard_error":1.0},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":95.0,"upper_bound":105.0},"point_estimate":100.0,"standard_error":1.0},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1},"slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.0,"standard_error":0.5}}"#;

    #[test]
    fn samples_are_per_iteration_and_throughput_is_at_the_median() {
        let e = JsonFile::parse(Path::new("estimates.json"), ESTIMATES).unwrap();
        let s = JsonFile::parse(
            Path::new("sample.json"),
            r#"{"sampling_mode":"Linear","iters":[2.0,4.0],"times":[200.0,440.0]}"#,
        )
        .unwrap();
        let stats = wall_stats(&e, &s, 1000).unwrap();
        assert_eq!(stats.samples_ns, vec![100.0, 110.0]);
        assert_eq!(stats.median_ns, 100.0);
        assert_eq!(stats.throughput_per_s, 1e10);
        assert_eq!(stats.confidence_level, 0.95);
    }

    #[test]
    fn mismatched_sample_arrays_name_the_field() {
        let e = JsonFile::parse(Path::new("estimates.json"), ESTIMATES).unwrap();
        let s =
            JsonFile::parse(Path::new("s/sample.json"), r#"{"iters":[1.0],"times":[]}"#).unwrap();
        let err = wall_stats(&e, &s, 1).unwrap_err().to_string();
        assert_eq!(
            err,
            "s/sample.json: field `times` has 0 entries for 1 in `iters`"
        );
    }
}
