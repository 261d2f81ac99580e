//! A run: digest pass, wall and instr engines, a sealed run record.
//!
//! The order is the point. The digest pass runs first, in-process, and only paths whose
//! outputs reproduce the golden digest (or the scalar oracle's, for a workload without
//! one) are handed to the engines: a number is measured only for work that was provably
//! done. The engines are separate processes (the bench executables built from the same
//! registry), so a crash there costs only the case that crashed; the record is rewritten
//! atomically after every result ([`recorder`]), so an interruption costs nothing already
//! measured. What happens is said through [`Progress`]; the pipeline prints nothing itself.

pub mod artifact;
pub mod benches;
pub mod digest_pass;
pub mod engine;
pub mod progress;
pub mod recorder;
pub mod select;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use benchseal_benches::{Family, KernelPath, Size, Workload};

use crate::model::golden::GOLDEN_PATH;
use crate::model::outcome::{Outcome, bad_input};
use crate::model::record::{EngineKind, RUN_SCHEMA, RunOptions, RunRecord, RunTiming, Tuning};
use crate::store::RUNS_DIR;
use crate::sys::clock;
use crate::sys::process::cpu;
use crate::sys::process::interrupt::Interrupt;
use engine::{Engines, ToolsSpent, instr, wall};
pub use progress::Progress;
use recorder::Recorder;
use select::{Filter, PathChoice, Selected};

/// What one run measures and where it writes it: what `benchseal run` parses its
/// arguments into, and what `signoff` and `verify --rerun` build directly. Empty lists
/// mean the defaults `benchseal run` documents.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub suites: Vec<Family>,
    pub sizes: Vec<Size>,
    pub instr_sizes: Vec<Size>,
    pub quick: bool,
    pub engines: Vec<EngineKind>,
    pub paths: Vec<PathChoice>,
    /// Only these workload ids; named workloads run whatever their tier unless `sizes`
    /// is given too.
    pub workloads: Vec<String>,
    /// Directory of run records.
    pub out: PathBuf,
    pub pin: bool,
    pub golden: PathBuf,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            suites: Vec::new(),
            sizes: Vec::new(),
            instr_sizes: Vec::new(),
            quick: false,
            engines: EngineKind::ALL.to_vec(),
            paths: vec![PathChoice::Auto],
            workloads: Vec::new(),
            out: PathBuf::from(RUNS_DIR),
            pin: false,
            golden: PathBuf::from(GOLDEN_PATH),
        }
    }
}

/// A finished run: the sealed record, where it is, and how the run ended.
#[derive(Debug)]
pub struct RunOutput {
    pub record: RunRecord,
    pub path: PathBuf,
    pub outcome: Outcome,
    /// Stopped by a signal: the record is sealed but incomplete.
    pub interrupted: bool,
}

/// Sizes and sampling implied by the arguments.
struct Plan {
    selected: Vec<Selected>,
    instr_sizes: Vec<Size>,
    sampling: wall::Sampling,
    options: RunOptions,
}

impl Plan {
    fn from_config(args: &RunConfig, registry: &[Workload]) -> Result<Plan> {
        let sizes = if !args.sizes.is_empty() {
            dedup(&args.sizes)
        } else if args.quick {
            vec![Size::Small]
        } else {
            Size::ALL.to_vec()
        };
        // valgrind slows code about 50x: larger tiers only when asked for by name.
        let instr_sizes = sizes
            .iter()
            .copied()
            .filter(|s| {
                if args.instr_sizes.is_empty() {
                    matches!(s, Size::Tiny | Size::Small)
                } else {
                    args.instr_sizes.contains(s)
                }
            })
            .collect();
        let suites = if args.suites.is_empty() {
            Family::ALL.to_vec()
        } else {
            dedup(&args.suites)
        };
        let filter = Filter {
            suites: suites.clone(),
            sizes: if args.workloads.is_empty() || !args.sizes.is_empty() {
                sizes.clone()
            } else {
                Vec::new() // named workloads run whatever their tier
            },
            workloads: args.workloads.clone(),
            paths: args.paths.clone(),
        };
        let selected = select::select(registry, &filter).map_err(bad_input)?;
        let paths: BTreeSet<KernelPath> = selected
            .iter()
            .flat_map(|s| s.paths.iter().copied())
            .collect();
        Ok(Plan {
            selected,
            instr_sizes,
            sampling: if args.quick {
                wall::Sampling::QUICK
            } else {
                wall::Sampling::FULL
            },
            options: RunOptions {
                suites,
                sizes,
                engines: dedup(&args.engines),
                paths: paths.into_iter().collect(),
                quick: args.quick,
            },
        })
    }
}

fn dedup<T: Ord + Copy>(items: &[T]) -> Vec<T> {
    let mut seen = BTreeSet::new();
    items.iter().copied().filter(|i| seen.insert(*i)).collect()
}

/// The run pipeline over the given workloads.
pub fn run_with(
    args: &RunConfig,
    registry: &[Workload],
    progress: &dyn Progress,
) -> Result<RunOutput> {
    let started = Instant::now();
    let cpu_at_start = cpu::now();
    let interrupt = Interrupt::install()?;
    let plan = Plan::from_config(args, registry)?;
    let root = benches::workspace_root();

    let golden = digest_pass::load_golden(&args.golden)?;
    let pin_guard = if args.pin {
        Some(crate::sys::env::pin().context("pinning the machine (--pin)")?)
    } else {
        None
    };
    let tuning = match &pin_guard {
        Some(guard) => Tuning {
            tuned: guard.not_applied.is_empty(),
            reasons: guard.not_applied.clone(),
        },
        None => Tuning {
            tuned: false,
            reasons: vec!["not requested (run with --pin)".into()],
        },
    };

    let started_at = clock::now();
    let run_id = format!(
        "{}-{}",
        started_at
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap_or_else(|_| "run".into()),
        std::process::id()
    );
    let mut recorder = Recorder {
        progress,
        path: args.out.join(format!("{run_id}.json")),
        record: RunRecord {
            schema: RUN_SCHEMA.into(),
            run_id,
            started_at: clock::rfc3339(started_at),
            finished_at: None,
            complete: false,
            command: std::env::args().collect(),
            options: plan.options.clone(),
            artifact: artifact::describe(root.as_deref()),
            env: crate::sys::env::snapshot(),
            env_after: None,
            env_changes: Vec::new(),
            tuning,
            workloads: Vec::new(),
            processes: Vec::new(),
            notes: golden.notes.clone(),
            engine_failures: Vec::new(),
            timing: None,
            seal: None,
        },
    };
    recorder.save()?;
    progress.line(&format!("run record {}", recorder.path.display()));
    if plan.selected.is_empty() {
        recorder
            .record
            .notes
            .push("no registered workload matches the selection".into());
    }

    // (a) Digest pass, on every core: workloads are independent and their digests do not
    // depend on timing. Records are added in registry order as they complete.
    let digest_started = Instant::now();
    let computed = digest_pass::compute_all(&plan.selected, &interrupt, |done, selected| {
        progress.line(&format!(
            "digest [{done}/{}] {}",
            plan.selected.len(),
            selected.workload.id
        ));
    });
    for (selected, computed) in plan.selected.iter().zip(computed) {
        let record =
            digest_pass::digest_record(selected, computed, &golden, &mut recorder.record.notes);
        recorder.record.workloads.push(record);
    }
    recorder.save()?;
    progress.line(&format!(
        "digest pass: {} workloads in {:.1} s",
        recorder.record.workloads.len(),
        digest_started.elapsed().as_secs_f64()
    ));

    // (b, c) Engines.
    let mut bench_time = Duration::ZERO;
    let mut build_time = Duration::ZERO;
    let mut tools = ToolsSpent::default();
    let mut build_cpu = None;
    let wants = |e| plan.options.engines.contains(&e);
    let any_case = recorder
        .record
        .workloads
        .iter()
        .any(|w| w.paths.iter().any(|p| p.status.is_ok()));
    if any_case && !interrupt.requested() && (wants(EngineKind::Wall) || wants(EngineKind::Instr)) {
        let build_started = Instant::now();
        let cpu_before_build = cpu::now();
        let executables = benches::executables(root.as_deref(), progress)?;
        build_cpu = cpu::now()
            .zip(cpu_before_build)
            .map(|(after, before)| after.children_s - before.children_s);
        build_time = if executables.prebuilt {
            Duration::ZERO
        } else {
            build_started.elapsed()
        };
        benches::record(&mut recorder, &executables)?;
        let versions = &mut recorder.record.artifact.tools;
        versions.insert("criterion".into(), wall::CRITERION_VERSION.into());
        versions.insert("gungraun".into(), instr::GUNGRAUN_VERSION.into());
        recorder.save()?;
        let work = tempfile::Builder::new()
            .prefix("benchseal-run-")
            .tempdir()
            .context("creating a working directory for engine output")?;
        let engines = Engines {
            progress,
            executables: &executables,
            work: work.path(),
            root: root.clone().unwrap_or_else(|| PathBuf::from(".")),
            interrupt: &interrupt,
        };
        if wants(EngineKind::Wall) {
            bench_time += engines.run_wall(&mut recorder, plan.sampling)?;
        }
        if wants(EngineKind::Instr) && !interrupt.requested() {
            bench_time += engines.run_instr(&mut recorder, &plan.instr_sizes, &mut tools)?;
        }
    }

    // (d) Finish and seal.
    let interrupted = interrupt.requested();
    let record = &mut recorder.record;
    let env_after = crate::sys::env::snapshot();
    record.env_changes = crate::analysis::env::changes(&record.env, &env_after);
    record.env_after = Some(env_after);
    record.finished_at = Some(clock::now_rfc3339());
    record.complete = !interrupted;
    if interrupted {
        record
            .notes
            .push("interrupted by a signal: results after the interruption are missing".into());
    }
    let total = started.elapsed();
    let cpu_used = cpu::now()
        .zip(cpu_at_start)
        .map(|(end, start)| cpu::CpuTimes {
            own_s: end.own_s - start.own_s,
            children_s: end.children_s - start.children_s,
        });
    record.timing = Some(RunTiming {
        total_s: total.as_secs_f64(),
        build_s: build_time.as_secs_f64(),
        bench_processes_s: bench_time.as_secs_f64(),
        harness_s: total
            .saturating_sub(build_time + tools.wall + bench_time)
            .as_secs_f64(),
        harness_cpu_s: cpu_used.map(|c| c.own_s),
        bench_processes_cpu_s: cpu_used
            .map(|c| c.children_s - build_cpu.unwrap_or(0.0) - tools.children_cpu_s),
        tools_s: (!tools.wall.is_zero()).then_some(tools.wall.as_secs_f64()),
    });
    record.seal()?;
    recorder.save()?;
    // Reset pinning before reporting; what could not be restored is said, with the way out.
    if let Some(guard) = pin_guard {
        match guard.release() {
            Ok(report) if report.failed.is_empty() => {}
            Ok(report) => progress.line(&format!(
                "could not restore every pinned setting ({}); run `benchseal env --reset`",
                report.failed.join("; ")
            )),
            Err(e) => progress.line(&format!("restoring pinned settings failed: {e:#}")),
        }
    }

    let outcome = outcome_of(&recorder.record);
    Ok(RunOutput {
        outcome,
        interrupted,
        record: recorder.record,
        path: recorder.path,
    })
}

/// 3 when a digest did not reproduce; 1 when a kernel or bench process failed or an
/// engine could not run at all; else 0.
pub fn outcome_of(record: &RunRecord) -> Outcome {
    let statuses = record
        .workloads
        .iter()
        .flat_map(|w| w.paths.iter())
        .flat_map(|p| {
            [
                Some(&p.status),
                p.wall.as_ref().map(|r| &r.status),
                p.instr.as_ref().map(|r| &r.status),
            ]
            .into_iter()
            .flatten()
        });
    let engines = if record.engine_failures.is_empty() {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    statuses.fold(engines, |outcome, status| {
        outcome.worst(if digest_pass::is_digest_mismatch(status) {
            Outcome::Irreproducible
        } else if status.is_invalid() {
            Outcome::Failed
        } else {
            Outcome::Success
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fixture::record_with;
    use crate::model::record::Status;

    #[test]
    fn digest_mismatch_outranks_other_failures() {
        let mismatch = Status::Invalid(format!("{}: x", digest_pass::DIGEST_MISMATCH));
        let crash = Status::Invalid("bench process failed".into());
        assert_eq!(outcome_of(&record_with(&[Status::Ok])), Outcome::Success);
        assert_eq!(
            outcome_of(&record_with(&[Status::Skipped("no CUDA device".into())])),
            Outcome::Success
        );
        assert_eq!(
            outcome_of(&record_with(std::slice::from_ref(&crash))),
            Outcome::Failed
        );
        assert_eq!(
            outcome_of(&record_with(&[crash, mismatch])),
            Outcome::Irreproducible
        );
    }
}
