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
pub mod commit_build;
pub mod digest_pass;
pub mod engine;
pub mod progress;
pub mod recorder;
pub mod scaling;
pub mod select;
pub mod shard;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use benchseal_benches::{Family, KernelPath, Size, Workload};

use crate::model::golden::GOLDEN_PATH;
use crate::model::outcome::{Outcome, bad_input};
use crate::model::record::{EngineKind, RUN_SCHEMA, RunOptions, RunRecord, RunTiming, Tuning};
use crate::model::record::{Session, SessionRole, Shard, Status};
use crate::store::RUNS_DIR;
use crate::sys::clock;
use crate::sys::process::cpu;
use crate::sys::process::interrupt::Interrupt;
pub use commit_build::BuiltSide;
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
    /// Wall executions per case; `None`: 3 with `quick`, 5 otherwise.
    pub executions: Option<usize>,
    /// A paired session: the other build's executables run alternately with this one's.
    pub paired: Option<Paired>,
    /// Only this shard of the selection ([`shard`]).
    pub shard: Option<shard::ShardSpec>,
    /// The thread counts of the scaling pass ([`scaling`]); `None`: no scaling pass.
    pub scaling: Option<scaling::Threads>,
    /// When a sign-off's time budget runs out: the scaling pass skips, naming it, the
    /// workloads it has not begun by then.
    pub deadline: Option<Deadline>,
    /// Add the roofline references the selected workloads name ([`select::with_roofs`]).
    pub roofs: bool,
}

/// The end of a time budget, and how the budget reads (`30 min`).
#[derive(Clone, Debug)]
pub struct Deadline {
    pub at: Instant,
    pub budget: String,
}

impl Deadline {
    /// `Some(reason)` once the budget has run out: `bounded by policy: …`.
    pub fn passed(&self) -> Option<String> {
        (Instant::now() >= self.at).then(|| {
            format!(
                "{}: the budget of {} ran out before it began",
                crate::analysis::signoff::BOUNDED_BY_POLICY,
                self.budget
            )
        })
    }
}

/// The sides of a paired session, other than the working tree's own build.
#[derive(Clone, Debug)]
pub struct Paired {
    /// The baseline side A.
    pub a: BuiltSide,
    /// A's own recorded run (a baseline), for its output digests; `None` for a bare revision.
    pub a_reference: Option<RunRecord>,
    /// The candidate side B when it is a built revision rather than this checkout.
    pub b: Option<BuiltSide>,
}

/// Wall executions per case by default.
/// Process executions per case when `--executions` is not given: 5, or 3 for a `--quick`
/// run on its own. A paired session runs 5 a side even with `--quick`: its verdict rests on
/// the spread of the pair ratios, which three pairs estimate too poorly to vouch for a 5%
/// change (simulated: 67% of 5% slowdowns detected with 3 pairs, 98% with 5; see
/// `analysis::replicates`).
pub fn default_executions(quick: bool, paired: bool) -> usize {
    if quick && !paired { 3 } else { 5 }
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
            executions: None,
            paired: None,
            shard: None,
            scaling: scaling::Threads::new(&[], scaling::cores(), false).ok(),
            deadline: None,
            roofs: true,
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
    /// The baseline side's record of a paired session, and where it is.
    pub partner: Option<(RunRecord, PathBuf)>,
}

/// Sizes and sampling implied by the arguments.
struct Plan {
    selected: Vec<Selected>,
    instr_sizes: Vec<Size>,
    sampling: wall::Sampling,
    options: RunOptions,
    /// The shard of the selection this run took, if it is one.
    shard: Option<Shard>,
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
        // valgrind slows code about 50x: larger tiers only when asked for by name. The tiers
        // are not intersected with the run's: a workload named by its full id, or a roof a
        // selected workload reads against, may sit on another tier and is counted when that
        // tier is among these.
        let instr_sizes: Vec<Size> = if args.instr_sizes.is_empty() {
            vec![Size::Tiny, Size::Small]
        } else {
            dedup(&args.instr_sizes)
        };
        let suites = if args.suites.is_empty() {
            Family::ALL.to_vec()
        } else {
            dedup(&args.suites)
        };
        let filter = Filter {
            suites: suites.clone(),
            // Workloads named by their full id run whatever their tier; a prefix or a glob
            // selects within the run's tiers.
            sizes: if args.workloads.is_empty()
                || !args.sizes.is_empty()
                || !args
                    .workloads
                    .iter()
                    .all(|p| registry.iter().any(|w| w.id.to_string() == *p))
            {
                sizes.clone()
            } else {
                Vec::new()
            },
            workloads: args.workloads.clone(),
            paths: args.paths.clone(),
        };
        let mut selected = select::select(registry, &filter).map_err(bad_input)?;
        if args.roofs {
            selected = select::with_roofs(registry, selected);
        }
        let engines = dedup(&args.engines);
        let (selected, shard) = match args.shard {
            Some(spec) => {
                let costs = shard::CostModel {
                    engines: engines.clone(),
                    executions: args
                        .executions
                        .unwrap_or_else(|| default_executions(args.quick, args.paired.is_some())),
                    instr_sizes: instr_sizes.clone(),
                };
                let (kept, taken) = shard::split(selected, spec, &costs);
                (kept, Some(taken))
            }
            None => (selected, None),
        };
        let paths: BTreeSet<KernelPath> = selected
            .iter()
            .flat_map(|s| s.paths.iter().copied())
            .collect();
        Ok(Plan {
            selected,
            instr_sizes,
            sampling: if args.quick && args.paired.is_some() {
                wall::Sampling::QUICK_PAIRED
            } else if args.quick {
                wall::Sampling::QUICK
            } else {
                wall::Sampling::FULL
            },
            options: RunOptions {
                suites,
                sizes,
                engines,
                paths: paths.into_iter().collect(),
                quick: args.quick,
            },
            shard,
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
            session: None,
            shard: plan.shard.clone(),
            parts: Vec::new(),
            scaling: Vec::new(),
            seal: None,
        },
    };
    recorder.save()?;
    progress.line(&format!("run record {}", recorder.path.display()));
    if let Some(shard) = &plan.shard {
        progress.line(&format!(
            "shard {}/{}: {} of {} cases (expected cost {} of {}): {}",
            shard.index,
            shard.count,
            shard.cases.len(),
            shard.selection.len(),
            shard.expected_cost,
            shard.total_cost,
            if shard.cases.is_empty() {
                "none".to_string()
            } else {
                shard.cases.join(", ")
            }
        ));
    }
    if plan.selected.is_empty() {
        recorder
            .record
            .notes
            .push("no registered workload matches the selection".into());
    }

    // (a) Digest pass, on every core: workloads are independent and their digests do not
    // depend on timing. Records are added in registry order as they complete.
    let digest_started = Instant::now();
    progress.phase_start("digest", plan.selected.len());
    let computed = digest_pass::compute_all(&plan.selected, &interrupt, |done, selected| {
        progress.advance(
            "digest",
            done,
            plan.selected.len(),
            &selected.workload.id.to_string(),
        );
    });
    progress.phase_end();
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
    let mut partner_output: Option<(RunRecord, PathBuf)> = None;
    let wants = |e| plan.options.engines.contains(&e);
    let any_case = recorder
        .record
        .workloads
        .iter()
        .any(|w| w.paths.iter().any(|p| p.status.is_ok()));
    if any_case && !interrupt.requested() && (wants(EngineKind::Wall) || wants(EngineKind::Instr)) {
        let build_started = Instant::now();
        let cpu_before_build = cpu::now();
        let built_b = args.paired.as_ref().and_then(|p| p.b.as_ref());
        let executables = match built_b {
            Some(b) => b.executables.clone(),
            None => benches::executables(root.as_deref(), progress)?,
        };
        build_cpu = cpu::now()
            .zip(cpu_before_build)
            .map(|(after, before)| after.children_s - before.children_s);
        build_time = if executables.prebuilt || built_b.is_some() {
            Duration::ZERO
        } else {
            build_started.elapsed()
        };
        benches::record(&mut recorder, &executables)?;
        let versions = &mut recorder.record.artifact.tools;
        versions.insert("criterion".into(), wall::CRITERION_VERSION.into());
        versions.insert("gungraun".into(), instr::GUNGRAUN_VERSION.into());
        let replication = wall::Replication {
            executions: args
                .executions
                .unwrap_or_else(|| default_executions(args.quick, args.paired.is_some()))
                .max(1),
            // Within 2^53: the seed is recorded, and a sealed number must be exact as a
            // double (RFC 8785).
            seed: crate::analysis::stats::fnv1a(recorder.record.run_id.as_bytes())
                & crate::model::digest::MAX_SAFE_INTEGER,
        };
        let session_id = recorder.record.run_id.clone();
        recorder.record.session = Some(Session {
            id: session_id.clone(),
            role: if args.paired.is_some() {
                SessionRole::B
            } else {
                SessionRole::Single
            },
            executions: replication.executions,
            order_seed: replication.seed,
            partner: args.paired.as_ref().map(|_| format!("{session_id}-A")),
            build: built_b.map(|b| b.build.clone()),
        });
        if let Some(b) = built_b {
            describe_built_candidate(&mut recorder.record, b);
        }
        recorder.save()?;
        let mut partner = match &args.paired {
            Some(paired) => {
                let mut keys: Vec<String> = Engines::cases(&recorder, None)
                    .into_iter()
                    .map(|c| c.key)
                    .collect();
                if let Some(b) = built_b {
                    // A candidate built from another commit may not have every workload
                    // of this checkout's registry: only what it has is measured, on both
                    // sides.
                    let known_b = commit_build::known_cases(&executables.wall, &keys)
                        .context("asking the candidate build which cases it has")?;
                    let left_out = keys.len() - known_b.len();
                    if left_out > 0 {
                        keep_cases(&mut recorder.record, &known_b);
                        recorder.record.notes.push(format!(
                            "{left_out} case(s) of this checkout's registry are not in the \
                             candidate build from commit {}: left out on both sides",
                            b.build.commit
                        ));
                    }
                    keys = known_b;
                }
                let known = commit_build::known_cases(&paired.a.executables.wall, &keys)
                    .context("asking the baseline build which cases it has")?;
                let mut a = Recorder {
                    progress,
                    path: args.out.join(format!("{session_id}-A.json")),
                    record: partner_record(&recorder.record, paired, &known),
                };
                benches::record(&mut a, &paired.a.executables)?;
                progress.line(&format!(
                    "paired session: {} cases on both sides, baseline build {}{}",
                    known.len(),
                    &paired.a.build.commit[..12.min(paired.a.build.commit.len())],
                    if paired.a.build.cached {
                        " (cached)".to_string()
                    } else {
                        format!(" (built in {:.0} s)", paired.a.build.build_s)
                    }
                ));
                Some(a)
            }
            None => None,
        };
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
        let a_engines = args.paired.as_ref().map(|paired| Engines {
            progress,
            executables: &paired.a.executables,
            work: work.path(),
            root: root.clone().unwrap_or_else(|| PathBuf::from(".")),
            interrupt: &interrupt,
        });
        if wants(EngineKind::Wall) {
            let mut sides = Vec::new();
            if let (Some(a_engines), Some(a)) = (&a_engines, partner.as_mut()) {
                sides.push(wall::WallSide {
                    engines: a_engines,
                    recorder: a,
                    name: "A",
                });
            }
            sides.push(wall::WallSide {
                engines: &engines,
                recorder: &mut recorder,
                name: if sides.is_empty() { "" } else { "B" },
            });
            bench_time += wall::run_session(&mut sides, plan.sampling, replication)?;
        }
        if wants(EngineKind::Instr) && !interrupt.requested() {
            bench_time += engines.run_instr(&mut recorder, &plan.instr_sizes, &mut tools)?;
            if let (Some(a_engines), Some(a)) = (&a_engines, partner.as_mut())
                && !interrupt.requested()
            {
                bench_time += a_engines.run_instr(a, &plan.instr_sizes, &mut tools)?;
            }
        }
        partner_output = partner.map(|a| (a.record, a.path));
    }

    // (e) Thread scaling, in-process, on the working tree's own kernels; in a fleet run by
    // shard 0 alone, so a merged record holds one set.
    if let Some(threads) = &args.scaling
        && !interrupt.requested()
        && plan.shard.as_ref().is_none_or(|s| s.index == 0)
    {
        measure_scaling(
            args,
            registry,
            &plan,
            threads,
            &golden,
            &interrupt,
            &mut recorder,
        )?;
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
    let partner = match partner_output {
        Some((mut a, path)) => {
            let record = &recorder.record;
            a.env_after = record.env_after.clone();
            a.env_changes = record.env_changes.clone();
            a.finished_at = record.finished_at.clone();
            a.complete = record.complete;
            a.seal()?;
            crate::store::save(&a, &path)
                .with_context(|| format!("writing the run record {}", path.display()))?;
            progress.line(&format!("baseline side of the session: {}", path.display()));
            Some((a, path))
        }
        None => None,
    };
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
        partner,
        record: recorder.record,
        path: recorder.path,
    })
}

/// Runs the scaling pass over the run's parallel workloads, saving the record after each.
fn measure_scaling(
    args: &RunConfig,
    registry: &[Workload],
    plan: &Plan,
    threads: &scaling::Threads,
    golden: &digest_pass::Golden,
    interrupt: &Interrupt,
    recorder: &mut Recorder<'_>,
) -> Result<()> {
    let candidates = scaling::candidates(
        registry,
        scaling::tier(&plan.options.sizes),
        &plan.options.suites,
        &args.workloads,
    );
    if candidates.is_empty() {
        return Ok(());
    }
    let rounds = if args.quick {
        scaling::QUICK_ROUNDS
    } else {
        scaling::FULL_ROUNDS
    };
    let progress = recorder.progress;
    progress.phase_start("scaling", candidates.len());
    for (done, workload) in candidates.iter().enumerate() {
        if interrupt.requested() {
            break;
        }
        let admitted = |p| args.paths.iter().any(|c| c.admits(p));
        let Some(path) = scaling::path_for(workload, admitted) else {
            continue;
        };
        let measured = match args.deadline.as_ref().and_then(Deadline::passed) {
            Some(why) => scaling::unmeasured(workload, path, rounds, Status::Skipped(why)),
            None => scaling::measure(workload, path, threads, rounds, &golden.digests, interrupt),
        };
        progress.advance(
            "scaling",
            done + 1,
            candidates.len(),
            &workload.id.to_string(),
        );
        recorder.record.scaling.push(measured);
        recorder.save()?;
    }
    progress.phase_end();
    for measured in &recorder.record.scaling {
        progress.line(&crate::analysis::scaling::summary_line(measured));
    }
    Ok(())
}

/// The baseline side's record of a paired session: the candidate's workloads that the
/// baseline build has, with the output digests of the baseline's own record (so the
/// comparison still proves both sides did the same work), measured afresh in this session.
fn partner_record(b: &RunRecord, paired: &Paired, known: &[String]) -> RunRecord {
    let mut a = b.clone();
    let session = b
        .session
        .clone()
        .expect("the candidate's session is set first");
    a.run_id = format!("{}-A", session.id);
    a.artifact.git_commit = Some(paired.a.build.commit.clone());
    a.artifact.git_dirty = Some(false);
    a.artifact.bench_executables.clear();
    a.artifact.cargo_lock_sha256 = None;
    a.processes.clear();
    a.engine_failures.clear();
    a.notes = Vec::new();
    if let Some(reference) = &paired.a_reference {
        a.artifact.version = reference.artifact.version.clone();
        a.artifact.cargo_lock_sha256 = reference.artifact.cargo_lock_sha256.clone();
        a.notes.push(format!(
            "baseline side of paired session {}: output digests are those of run {}",
            session.id, reference.run_id
        ));
    } else {
        a.artifact.version = format!("commit {}", paired.a.build.commit);
        a.notes.push(format!(
            "baseline side of paired session {}: built from commit {}; its outputs were not \
             digest-checked in this session",
            session.id, paired.a.build.commit
        ));
    }
    keep_cases(&mut a, known);
    for workload in &mut a.workloads {
        let reference = paired
            .a_reference
            .as_ref()
            .and_then(|r| r.workload(&workload.id));
        for path in &mut workload.paths {
            path.wall = None;
            path.instr = None;
            path.output_sha256 = reference
                .and_then(|r| r.path(path.path))
                .and_then(|p| p.output_sha256.clone());
        }
    }
    a.session = Some(Session {
        role: SessionRole::A,
        partner: Some(session.id.clone()),
        build: Some(paired.a.build.clone()),
        ..session
    });
    a.seal = None;
    a
}

/// Keeps only the workload paths of `record` whose case keys are in `known` (and the
/// workloads that still have a path).
fn keep_cases(record: &mut RunRecord, known: &[String]) {
    for workload in &mut record.workloads {
        let id = workload.id.to_string();
        workload
            .paths
            .retain(|p| known.contains(&benchseal_benches::protocol::case_key(&id, p.path)));
    }
    record.workloads.retain(|w| !w.paths.is_empty());
}

/// A candidate built from a revision rather than this checkout: its commit, and no claim
/// on its outputs (the digest pass ran this checkout's kernels).
fn describe_built_candidate(record: &mut RunRecord, b: &BuiltSide) {
    record.artifact.git_commit = Some(b.build.commit.clone());
    record.artifact.git_dirty = Some(false);
    for path in record.workloads.iter_mut().flat_map(|w| w.paths.iter_mut()) {
        path.output_sha256 = None;
    }
    record.notes.push(format!(
        "candidate side built from commit {}: the digest pass ran this checkout's kernels, so \
         no output digest is claimed for it",
        b.build.commit
    ));
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
        })
        .chain(record.scaling.iter().map(|s| &s.status));
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

    /// A quick run of a small comparison adds the tiny read roof it reads against, and the
    /// instr engine counts that roof too: every tiny or small case of the record then has
    /// an instruction count, which the record check of `.ci/run` requires.
    #[test]
    fn roofs_on_another_tier_are_counted_by_the_instr_engine() {
        let config = RunConfig {
            quick: true,
            workloads: vec!["sync/compare/identical-4kib/small".into()],
            ..RunConfig::default()
        };
        let plan = Plan::from_config(&config, &benchseal_benches::registry()).unwrap();
        let ids: Vec<String> = plan
            .selected
            .iter()
            .map(|s| s.workload.id.to_string())
            .collect();
        assert_eq!(
            ids,
            ["sync/compare/identical-4kib/small", "roof/read/seq/tiny"]
        );
        assert_eq!(plan.instr_sizes, [Size::Tiny, Size::Small]);
        let explicit = RunConfig {
            instr_sizes: vec![Size::Medium, Size::Medium],
            ..config
        };
        let plan = Plan::from_config(&explicit, &benchseal_benches::registry()).unwrap();
        assert_eq!(plan.instr_sizes, [Size::Medium]);
    }

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
