//! The wall engine: criterion bench target, run directly, results read from its files.
//!
//! `benchseal run` points `CRITERION_HOME` at a fresh directory per run, so only this run's
//! results can be read back, and identifies each benchmark by the `group_id` /
//! `function_id` criterion writes into `benchmark.json` (group = workload id, function =
//! kernel path) rather than by re-deriving criterion's file-name escaping.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use benchseal_benches::protocol;

use super::{EngineRun, Engines, case_list};
use crate::model::record::{EngineKind, EngineResult, PathRecord, WallStats};
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
    /// criterion's defaults: 100 samples, 3 s warm-up, 5 s measurement.
    pub const FULL: Sampling = Sampling {
        sample_size: 100,
        warm_up_ms: 3000,
        measurement_ms: 5000,
    };
    /// `--quick`: criterion's minimum of 10 samples in about half a second.
    pub const QUICK: Sampling = Sampling {
        sample_size: 10,
        warm_up_ms: 200,
        measurement_ms: 500,
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
    })
}

pub struct WallRun<'a> {
    engines: &'a Engines<'a>,
    sampling: Sampling,
}

impl EngineRun for WallRun<'_> {
    const KIND: EngineKind = EngineKind::Wall;
    const NAME: &'static str = "wall";
    type Metrics = WallStats;

    fn command(&self, home: &Path, cases: &[Case]) -> Command {
        let mut command = Command::new(&self.engines.executables.wall);
        command
            .arg("--bench")
            .env(protocol::CASES_VAR, case_list(cases))
            .env("CRITERION_HOME", home)
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

    fn store(path: &mut PathRecord, result: EngineResult<WallStats>) {
        path.wall = Some(result);
    }
}

impl Engines<'_> {
    /// Runs the wall engine on every case whose digest pass succeeded.
    pub fn run_wall(&self, recorder: &mut Recorder, sampling: Sampling) -> Result<Duration> {
        let cases = Self::cases(recorder, None);
        let run = WallRun {
            engines: self,
            sampling,
        };
        self.run_engine(&run, recorder, cases)
    }
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
