//! `benchseal run`: digest pass, wall and instr engines, a sealed run record.
//!
//! The order is the point. The digest pass runs first, in-process, and only paths whose
//! outputs reproduce the golden digest (or the scalar oracle's, for a workload without
//! one) are handed to the engines: a number is measured only for work that was provably
//! done. The engines are separate processes (the bench executables built from the same
//! registry), so a crash there costs only the case that crashed; the record is rewritten
//! atomically after every result, so an interruption costs nothing already measured.
//!
//! Pure pieces others reuse live in their own modules: [`format`] (unit-correct figures),
//! [`table`] (aligned text tables), [`summary`] (the terminal summary), [`digest_pass`]
//! (digest computing and judging, shared with `benchseal digests`).

pub mod artifact;
pub mod benches;
pub mod child;
pub mod cpu;
pub mod digest_pass;
pub mod format;
pub mod interrupt;
pub mod select;
pub mod summary;
pub mod table;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use benchseal_benches::{
    Family, KernelPath, Size, Workload, protocol, registry, registry::path_label,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Outcome;
use crate::compare::RUNS_DIR;
use crate::digests::{GOLDEN_PATH, GoldenDigests};
use crate::engine::{instr, wall};
use crate::exit::bad_input;
use crate::record::{
    EngineFailure, EngineKind, EngineResult, ExtraMetric, InstrMetrics, PathRecord, RUN_SCHEMA,
    RunOptions, RunRecord, RunTiming, Status, Tuning, WallStats, WorkloadRecord,
};
use benches::BenchExecutables;
use interrupt::Interrupt;
use select::{Filter, PathChoice, Selected};

/// The variable handing the case list to the bench executables.
pub use benchseal_benches::protocol::CASES_VAR;

/// The status text of a case skipped because its engine could not run at all; the reason
/// is said once, in the record's `engine_failures`.
pub const ENGINE_COULD_NOT_RUN: &str = "engine could not run";

/// Where benchseal installs tools it needs (the pinned `gungraun-runner`).
pub const TOOLS_DIR: &str = ".benchseal/tools";

/// Arguments of `benchseal run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Kernel families to run, comma-separated: codec, quant, sync [default: all]
    #[arg(long = "suite", value_name = "FAMILY", value_delimiter = ',')]
    pub suites: Vec<Family>,
    /// Size tiers, comma-separated or repeated: tiny, small, medium, large
    /// [default: small with --quick, else all]
    #[arg(long = "size", value_name = "TIER", value_delimiter = ',')]
    pub sizes: Vec<Size>,
    /// Tiers the instr engine runs, comma-separated [default: tiny and small among the
    /// selected tiers]; valgrind runs code about 50x slower, so larger tiers only on request
    #[arg(long = "instr-size", value_name = "TIER", value_delimiter = ',')]
    pub instr_sizes: Vec<Size>,
    /// The quick suite: small tier (unless --size says otherwise) and short criterion
    /// sampling (10 samples, 0.2 s warm-up, 0.5 s measurement per benchmark)
    #[arg(long)]
    pub quick: bool,
    /// Measuring engines, comma-separated
    #[arg(
        long,
        value_name = "ENGINE",
        value_delimiter = ',',
        default_value = "wall,instr"
    )]
    pub engines: Vec<EngineKind>,
    /// Kernel paths: auto (every path a workload registers), scalar, simd or gpu
    #[arg(
        long = "path",
        value_enum,
        value_delimiter = ',',
        default_value = "auto"
    )]
    pub paths: Vec<PathChoice>,
    /// Only these workload ids (family/kernel/variant/size), comma-separated or repeated
    #[arg(long = "workload", value_name = "ID", value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Directory of run records
    #[arg(long, value_name = "DIR", default_value = RUNS_DIR)]
    pub out: PathBuf,
    /// Print the run record as JSON on stdout (the summary table goes to stderr)
    #[arg(long)]
    pub json: bool,
    /// Pin the machine for the run (see `benchseal env`); reset when the run ends,
    /// also when it is interrupted
    #[arg(long)]
    pub pin: bool,
    /// After the run, compare it with the stored baseline of this version
    #[arg(long, value_name = "VERSION")]
    pub compare_to: Option<String>,
    /// With --compare-to: compare even if the environment differs from the baseline's
    #[arg(long, requires = "compare_to")]
    pub allow_env_mismatch: bool,
    /// Golden output digests to hold every path to
    #[arg(long, value_name = "FILE", default_value = GOLDEN_PATH)]
    pub golden: PathBuf,
}

impl RunArgs {
    /// The typed configuration these arguments ask for (`--compare-to` is the command's
    /// own step after the run, not part of it).
    pub fn config(&self) -> RunConfig {
        RunConfig {
            suites: self.suites.clone(),
            sizes: self.sizes.clone(),
            instr_sizes: self.instr_sizes.clone(),
            quick: self.quick,
            engines: self.engines.clone(),
            paths: self.paths.clone(),
            workloads: self.workloads.clone(),
            out: self.out.clone(),
            json: self.json,
            pin: self.pin,
            golden: self.golden.clone(),
        }
    }
}

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
    /// Print the record as JSON on stdout (the summary goes to stderr).
    pub json: bool,
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
            json: false,
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

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

/// The record and where it lives; every change is saved atomically.
struct Recorder {
    record: RunRecord,
    path: PathBuf,
}

impl Recorder {
    fn save(&self) -> Result<()> {
        self.record
            .save(&self.path)
            .with_context(|| format!("writing the run record {}", self.path.display()))
    }

    fn path_mut(&mut self, case: &Case) -> &mut PathRecord {
        &mut self.record.workloads[case.workload].paths[case.path_index]
    }

    /// An engine that cannot run at all: said once on stderr and in the record, and each
    /// of `cases` is `skipped` with the reason (their own work was not at fault).
    fn engine_failed(&mut self, engine: EngineKind, why: String, cases: &[Case]) -> Result<()> {
        progress(format!("{engine} engine could not run: {why}"));
        let status = Status::Skipped(format!("{ENGINE_COULD_NOT_RUN} ({engine})"));
        for case in cases {
            let path = self.path_mut(case);
            match engine {
                EngineKind::Wall => path.wall = Some(EngineResult::without_metrics(status.clone())),
                EngineKind::Instr => {
                    path.instr = Some(EngineResult::without_metrics(status.clone()))
                }
            }
        }
        self.record.engine_failures.push(EngineFailure {
            engine,
            reason: why,
        });
        self.save()
    }
}

/// One workload on one path, by position in the record.
#[derive(Clone, Debug)]
struct Case {
    workload: usize,
    path_index: usize,
    key: String,
    units: u64,
}

/// Progress lines on stderr (quiet under `--json` only for stdout; stderr stays useful).
fn progress(line: impl AsRef<str>) {
    eprintln!("benchseal: {}", line.as_ref());
}

pub fn execute(args: RunArgs) -> Result<Outcome> {
    execute_with(args, &registry())
}

/// `benchseal run` over the given workloads instead of the registry's (tests use this to
/// run workloads of their own).
pub fn execute_with(args: RunArgs, registry: &[Workload]) -> Result<Outcome> {
    let run = run_with(&args.config(), registry)?;
    let mut outcome = run.outcome;
    if let Some(version) = &args.compare_to {
        outcome = outcome.worst(crate::compare::compare_to_baseline(
            &run.record,
            version,
            args.allow_env_mismatch,
        )?);
    }
    Ok(outcome)
}

/// The run pipeline over the registry: digest pass, engines, sealed record, summary.
pub fn run(config: &RunConfig) -> Result<RunOutput> {
    run_with(config, &registry())
}

/// The run pipeline over the given workloads. An interrupted run is an error naming its
/// partial record.
pub fn run_with(args: &RunConfig, registry: &[Workload]) -> Result<RunOutput> {
    let started = Instant::now();
    let cpu_at_start = cpu::now();
    let interrupt = Interrupt::install()?;
    let plan = Plan::from_config(args, registry)?;
    let root = benches::workspace_root();

    let golden = load_golden(&args.golden)?;
    let pin_guard = if args.pin {
        Some(crate::env::pin().context("pinning the machine (--pin)")?)
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

    let started_at = OffsetDateTime::now_utc();
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
        path: args.out.join(format!("{run_id}.json")),
        record: RunRecord {
            schema: RUN_SCHEMA.into(),
            run_id,
            started_at: started_at.format(&Rfc3339).unwrap_or_default(),
            finished_at: None,
            complete: false,
            command: std::env::args().collect(),
            options: plan.options.clone(),
            artifact: artifact::describe(root.as_deref()),
            env: crate::env::snapshot(),
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
    progress(format!("run record {}", recorder.path.display()));
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
        progress(format!(
            "digest [{done}/{}] {}",
            plan.selected.len(),
            selected.workload.id
        ));
    });
    for (selected, computed) in plan.selected.iter().zip(computed) {
        let record = digest_record(selected, computed, &golden, &mut recorder.record.notes);
        recorder.record.workloads.push(record);
    }
    recorder.save()?;
    progress(format!(
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
        let executables = bench_executables(root.as_deref())?;
        build_cpu = cpu::now()
            .zip(cpu_before_build)
            .map(|(after, before)| after.children_s - before.children_s);
        build_time = if executables.prebuilt {
            Duration::ZERO
        } else {
            build_started.elapsed()
        };
        record_executables(&mut recorder, &executables)?;
        let work = tempfile::Builder::new()
            .prefix("benchseal-run-")
            .tempdir()
            .context("creating a working directory for engine output")?;
        let engines = Engines {
            executables: &executables,
            work: work.path(),
            root: root.clone().unwrap_or_else(|| PathBuf::from(".")),
            interrupt: &interrupt,
            sampling: plan.sampling,
        };
        if wants(EngineKind::Wall) {
            bench_time += engines.run_wall(&mut recorder)?;
        }
        if wants(EngineKind::Instr) && !interrupt.requested() {
            bench_time += engines.run_instr(&mut recorder, &plan.instr_sizes, &mut tools)?;
        }
    }

    // (d) Finish and seal.
    let interrupted = interrupt.requested();
    let record = &mut recorder.record;
    let env_after = crate::env::snapshot();
    record.env_changes = crate::env::changes(&record.env, &env_after);
    record.env_after = Some(env_after);
    record.finished_at = Some(now_rfc3339());
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
    drop(pin_guard); // reset pinning before reporting

    // (e) Report.
    let text = summary::render(&recorder.record);
    if args.json {
        eprint!("{text}");
        println!(
            "{}",
            serde_json::to_string_pretty(&recorder.record).context("printing the run record")?
        );
    } else {
        print!("{text}");
    }
    if let Some(timing) = &recorder.record.timing {
        let tools_s = timing.tools_s.unwrap_or(0.0);
        let measured = timing.total_s - timing.build_s - tools_s;
        if let (Some(own), Some(benches)) = (timing.harness_cpu_s, timing.bench_processes_cpu_s) {
            progress(format!(
                "CPU time after the build: bench processes {benches:.1} s, harness {own:.1} s ({:.1}%)",
                own / (own + benches).max(f64::MIN_POSITIVE) * 100.0
            ));
        }
        let installing = if tools_s > 0.0 {
            format!(", installing tools {tools_s:.1} s")
        } else {
            String::new()
        };
        progress(format!(
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
    progress(format!("sealed run record {}", recorder.path.display()));
    if interrupted {
        return Err(anyhow::anyhow!(
            "interrupted; the partial record is {}",
            recorder.path.display()
        ));
    }

    let outcome = outcome_of(&recorder.record);
    Ok(RunOutput {
        outcome,
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

/// The golden digests, and notes about what they do not cover.
struct Golden {
    digests: GoldenDigests,
    notes: Vec<String>,
}

fn load_golden(path: &Path) -> Result<Golden> {
    if path.is_file() {
        Ok(Golden {
            digests: GoldenDigests::load(path)?,
            notes: Vec::new(),
        })
    } else if path == Path::new(GOLDEN_PATH) {
        Ok(Golden {
            digests: GoldenDigests::default(),
            notes: vec![format!(
                "no golden digest file at {GOLDEN_PATH}: paths were checked against the scalar oracle only"
            )],
        })
    } else {
        Err(bad_input(format!(
            "golden digest file {} does not exist",
            path.display()
        )))
    }
}

fn digest_record(
    selected: &Selected,
    computed: digest_pass::Computed,
    golden: &Golden,
    notes: &mut Vec<String>,
) -> WorkloadRecord {
    let workload = &selected.workload;
    let id = workload.id.to_string();
    let golden_entry = golden.digests.workloads.get(&id);
    if golden_entry.is_none() && golden.notes.is_empty() {
        notes.push(format!(
            "{id} has no golden digest: its paths were checked against the scalar oracle only \
             (`benchseal digests --write` records one)"
        ));
    }
    let verdicts = digest_pass::judge(&computed, golden_entry);
    let paths = selected
        .paths
        .iter()
        .map(|&path| {
            let status = match &computed.input_sha256 {
                Err(e) => Status::Invalid(e.clone()),
                Ok(_) => verdicts
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, s)| s.clone())
                    .unwrap_or(Status::Skipped("not run".into())),
            };
            PathRecord {
                path,
                label: path_label(workload.id.family, path),
                output_sha256: match computed.output(path) {
                    Some(digest_pass::PathOutput::Digest(d)) => Some(d.clone()),
                    _ => None,
                },
                status,
                wall: None,
                instr: None,
                extra: computed
                    .path_extra
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, metrics)| extra_metrics(metrics))
                    .unwrap_or_default(),
            }
        })
        .collect();
    WorkloadRecord {
        id: workload.id.clone(),
        family: workload.id.family,
        unit: workload.unit,
        units: workload.units,
        describe: workload.describe.clone(),
        input_sha256: computed.input_sha256.clone().ok(),
        golden_output_sha256: golden_entry.map(|g| g.output_sha256.clone()),
        paths,
        extra: extra_metrics(&computed.extra),
    }
}

fn extra_metrics(
    metrics: &[digest_pass::ExtraValue],
) -> std::collections::BTreeMap<String, ExtraMetric> {
    metrics
        .iter()
        .map(|(name, value, unit)| {
            (
                name.clone(),
                ExtraMetric {
                    value: *value,
                    unit: unit.clone(),
                },
            )
        })
        .collect()
}

fn bench_executables(root: Option<&Path>) -> Result<BenchExecutables> {
    if let Some(prebuilt) = benches::prebuilt() {
        progress(format!(
            "using prebuilt bench executables in {}",
            prebuilt.wall.parent().unwrap_or(Path::new(".")).display()
        ));
        return Ok(prebuilt);
    }
    let root = root.ok_or_else(|| {
        bad_input(format!(
            "no prebuilt bench executables ({} and {} beside benchseal or in ${}) and the \
             current directory is not inside the benchseal workspace to build them",
            benches::WALL_EXE,
            benches::INSTR_EXE,
            benches::BENCH_DIR_VAR
        ))
    })?;
    progress("building the bench executables (cargo bench --no-run)");
    benches::build(root)
}

fn record_executables(recorder: &mut Recorder, executables: &BenchExecutables) -> Result<()> {
    for (engine, path) in [("wall", &executables.wall), ("instr", &executables.instr)] {
        let sha256 = crate::digest::file_sha256(path)
            .with_context(|| format!("hashing {}", path.display()))?;
        recorder.record.artifact.bench_executables.insert(
            engine.into(),
            crate::record::Executable {
                path: path.display().to_string(),
                sha256,
            },
        );
    }
    let tools = &mut recorder.record.artifact.tools;
    tools.insert("criterion".into(), wall::CRITERION_VERSION.into());
    tools.insert("gungraun".into(), instr::GUNGRAUN_VERSION.into());
    recorder.save()
}

/// Time spent installing tools the engines need: neither build nor harness overhead.
#[derive(Default)]
struct ToolsSpent {
    wall: Duration,
    /// CPU seconds of the installing child processes.
    children_cpu_s: f64,
}

/// What the engine runs share.
struct Engines<'a> {
    executables: &'a BenchExecutables,
    work: &'a Path,
    root: PathBuf,
    interrupt: &'a Interrupt,
    sampling: wall::Sampling,
}

/// One engine's way of running and reading back a list of cases.
trait EngineRun {
    const KIND: EngineKind;
    const NAME: &'static str;
    type Metrics;
    /// The command for `cases`, writing its results under `home`.
    fn command(&self, home: &Path, cases: &[Case]) -> Command;
    /// If a stdout line marks a finished benchmark, which one (for progress, and as a
    /// moment to read results back). `last` carries state between lines.
    fn finished(line: &str, last: &mut String, cases: &[Case]) -> Option<String>;
    /// Whether a stderr line is progress chatter, not worth quoting after a crash.
    fn stderr_noise(line: &str) -> bool;
    /// The results under `home`, by index into `cases`.
    fn ingest(home: &Path, cases: &[Case]) -> Vec<(usize, Result<Self::Metrics, String>)>;
    fn store(path: &mut PathRecord, result: EngineResult<Self::Metrics>);
}

struct WallRun<'a>(&'a Engines<'a>);
/// Where, under an instr run's `GUNGRAUN_HOME`, the bench target writes its label files.
const INSTR_LABELS_DIR: &str = "benchseal-labels";

struct InstrRun<'a> {
    engines: &'a Engines<'a>,
    /// The directory holding `gungraun-runner`, first on the bench process's `PATH`.
    runner_dir: PathBuf,
    runner: PathBuf,
}

fn case_list(cases: &[Case]) -> String {
    protocol::case_list(cases.iter().map(|c| c.key.as_str()))
}

impl EngineRun for WallRun<'_> {
    const KIND: EngineKind = EngineKind::Wall;
    const NAME: &'static str = "wall";
    type Metrics = WallStats;

    fn command(&self, home: &Path, cases: &[Case]) -> Command {
        let mut command = Command::new(&self.0.executables.wall);
        command
            .arg("--bench")
            .env(CASES_VAR, case_list(cases))
            .env("CRITERION_HOME", home)
            .envs(self.0.sampling.envs());
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

    fn ingest(home: &Path, cases: &[Case]) -> Vec<(usize, Result<WallStats, String>)> {
        let units_of = |group: &str| {
            cases
                .iter()
                .find(|c| protocol::split_case_key(&c.key).is_some_and(|(id, _)| id == group))
                .map(|c| c.units)
        };
        let results = match wall::ingest_home(home, units_of) {
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

impl EngineRun for InstrRun<'_> {
    const KIND: EngineKind = EngineKind::Instr;
    const NAME: &'static str = "instr";
    type Metrics = InstrMetrics;

    fn command(&self, home: &Path, cases: &[Case]) -> Command {
        let mut command = Command::new(&self.engines.executables.instr);
        command
            .args(["--bench", "--save-summary=json"])
            .env(CASES_VAR, case_list(cases))
            .env("GUNGRAUN_HOME", home)
            .env(instr::LABELS_VAR, home.join(INSTR_LABELS_DIR))
            .env("GUNGRAUN_WORKSPACE_ROOT", &self.engines.root)
            // gungraun finds its runner on PATH at run time ($GUNGRAUN_RUNNER counts only
            // when the bench target is compiled); set both so either reading finds it.
            .env("PATH", instr::path_with_first(&self.runner_dir))
            .env("GUNGRAUN_RUNNER", &self.runner);
        command
    }

    fn stderr_noise(_line: &str) -> bool {
        false
    }

    fn finished(line: &str, _last: &mut String, cases: &[Case]) -> Option<String> {
        // gungraun prints `<module>::kernel cases_<index>:<args>` as each case ends.
        let (_, rest) = line.split_once("::kernel ")?;
        let index = protocol::instr_case_index(rest)?;
        Some(
            cases
                .get(index)
                .map_or_else(|| format!("case {index}"), |c| c.key.clone()),
        )
    }

    fn ingest(home: &Path, cases: &[Case]) -> Vec<(usize, Result<InstrMetrics, String>)> {
        // The labels only name the code valgrind saw; a bad label file costs the labels,
        // not the instruction counts.
        let labels = instr::ingest_labels(&home.join(INSTR_LABELS_DIR)).unwrap_or_else(|e| {
            progress(format!("instr: path labels not read: {e}"));
            Default::default()
        });
        match instr::ingest_home(home) {
            Ok(summaries) => summaries
                .into_iter()
                .filter_map(|s| match s {
                    Ok(mut s) if s.case_index < cases.len() => {
                        s.metrics.label = labels.get(&cases[s.case_index].key).cloned();
                        Some((s.case_index, Ok(s.metrics)))
                    }
                    Ok(_) => None,
                    Err(e) => Some((usize::MAX, Err(e.to_string()))),
                })
                .collect(),
            Err(e) => vec![(usize::MAX, Err(e.to_string()))],
        }
    }

    fn store(path: &mut PathRecord, result: EngineResult<InstrMetrics>) {
        path.instr = Some(result);
    }
}

impl Engines<'_> {
    /// Every case whose digest pass succeeded, optionally limited to some tiers.
    fn cases(recorder: &Recorder, sizes: Option<&[Size]>) -> Vec<Case> {
        let mut cases = Vec::new();
        for (w, workload) in recorder.record.workloads.iter().enumerate() {
            if sizes.is_some_and(|s| !s.contains(&workload.id.size)) {
                continue;
            }
            for (p, path) in workload.paths.iter().enumerate() {
                if path.status.is_ok() {
                    cases.push(Case {
                        workload: w,
                        path_index: p,
                        key: protocol::case_key(&workload.id, path.path),
                        units: workload.units,
                    });
                }
            }
        }
        cases
    }

    fn run_wall(&self, recorder: &mut Recorder) -> Result<Duration> {
        let cases = Self::cases(recorder, None);
        self.run_engine(&WallRun(self), recorder, cases)
    }

    /// Runs the instr engine on the cases of `sizes`; time spent installing its runner is
    /// added to `tools`.
    fn run_instr(
        &self,
        recorder: &mut Recorder,
        sizes: &[Size],
        tools: &mut ToolsSpent,
    ) -> Result<Duration> {
        let all = Self::cases(recorder, None);
        let cases = Self::cases(recorder, Some(sizes));
        for case in all.iter().filter(|c| !cases.iter().any(|k| k.key == c.key)) {
            recorder.path_mut(case).instr = Some(EngineResult {
                status: Status::Skipped(
                    "the instr engine runs the tiny and small tiers unless --size names others"
                        .into(),
                ),
                metrics: None,
            });
        }
        if cases.is_empty() {
            return Ok(Duration::ZERO);
        }
        let skip_all = |recorder: &mut Recorder, why: String| -> Result<Duration> {
            recorder.engine_failed(EngineKind::Instr, why, &cases)?;
            Ok(Duration::ZERO)
        };
        match instr::valgrind_version() {
            Some(version) => {
                let artifact = &mut recorder.record.artifact;
                artifact.tools.insert("valgrind".into(), version);
                if let Some(path) = instr::on_path("valgrind") {
                    artifact
                        .tool_paths
                        .insert("valgrind".into(), path.display().to_string());
                }
            }
            None => return skip_all(recorder, instr::VALGRIND_MISSING.into()),
        }
        let cpu_before_install = cpu::now();
        let runner = match instr::ensure_runner(&self.root.join(TOOLS_DIR)) {
            Ok(runner) => runner,
            Err(e) => {
                return skip_all(
                    recorder,
                    format!(
                        "{} {} unavailable ({e:#}); install it with `cargo install {} --version ={} --locked`",
                        instr::RUNNER_NAME,
                        instr::GUNGRAUN_VERSION,
                        instr::RUNNER_NAME,
                        instr::GUNGRAUN_VERSION
                    ),
                );
            }
        };
        tools.wall += runner.install;
        tools.children_cpu_s += cpu::now()
            .zip(cpu_before_install)
            .map_or(0.0, |(after, before)| after.children_s - before.children_s);
        let runner_dir = match runner.bin_dir(self.work) {
            Ok(dir) => dir,
            Err(e) => return skip_all(recorder, format!("{e:#}")),
        };
        progress(format!(
            "instr: {} {} at {} ({})",
            instr::RUNNER_NAME,
            runner.version,
            runner.path.display(),
            runner.source.describe()
        ));
        let artifact = &mut recorder.record.artifact;
        artifact
            .tools
            .insert(instr::RUNNER_NAME.into(), runner.version.clone());
        artifact
            .tool_paths
            .insert(instr::RUNNER_NAME.into(), runner.path.display().to_string());
        let run = InstrRun {
            engines: self,
            runner_dir,
            runner: runner.path,
        };
        self.run_engine(&run, recorder, cases)
    }

    /// Runs `cases` through one engine. When the bench process dies, the first case
    /// without a result is the one that crashed: it is marked invalid with the exit status
    /// and the end of stderr, and the rest run again in a fresh process.
    ///
    /// The engine itself is at fault, not a case, when its executable cannot start, or when
    /// two processes in a row die the same way before any case of the engine produced a
    /// result (a runner or valgrind that cannot work): then the engine failure is said once
    /// and every case left is `skipped` with it.
    fn run_engine<E: EngineRun>(
        &self,
        engine: &E,
        recorder: &mut Recorder,
        cases: Vec<Case>,
    ) -> Result<Duration> {
        let mut spent = Duration::ZERO;
        let mut remaining = cases;
        let total = remaining.len();
        let mut attempt = 0;
        let mut any_result = false;
        // A crash before any result: the case it blames, the failure with that case's
        // name taken out, and the message not yet printed.
        let mut suspect: Option<(Case, String, String)> = None;
        while !remaining.is_empty() && !self.interrupt.requested() {
            attempt += 1;
            let home = self.work.join(format!("{}-{attempt}", E::NAME));
            let mut done = vec![false; remaining.len()];
            let mut finished_count = total - remaining.len();
            let mut save_error = None;
            // While the bench process runs, a file may be half-written: errors count only
            // in the final pass, after it has exited.
            let absorb =
                |recorder: &mut Recorder, done: &mut Vec<bool>, last_pass: bool| -> Result<()> {
                    let mut changed = false;
                    for (index, result) in E::ingest(&home, &remaining) {
                        if result.is_err() && !last_pass {
                            continue;
                        }
                        let Some(case) = remaining.get(index) else {
                            // A file not tied to a case: its error is worth seeing.
                            if let Err(e) = result {
                                progress(format!("{} engine: {e}", E::NAME));
                            }
                            continue;
                        };
                        if done[index] {
                            continue;
                        }
                        done[index] = true;
                        changed = true;
                        let result = match result {
                            Ok(metrics) => EngineResult {
                                status: Status::Ok,
                                metrics: Some(metrics),
                            },
                            Err(e) => EngineResult {
                                status: Status::Invalid(format!("unreadable result: {e}")),
                                metrics: None,
                            },
                        };
                        E::store(recorder.path_mut(case), result);
                    }
                    if changed {
                        recorder.save()?;
                    }
                    Ok(())
                };
            let finished = {
                let command = engine.command(&home, &remaining);
                let mut last = String::new();
                let started = child::run(command, self.interrupt, E::stderr_noise, |line| {
                    if let Some(name) = E::finished(line, &mut last, &remaining) {
                        finished_count += 1;
                        progress(format!("{} [{finished_count}/{total}] {name}", E::NAME));
                        if let Err(e) = absorb(recorder, &mut done, false) {
                            save_error.get_or_insert(e);
                        }
                    }
                });
                match started {
                    Ok(finished) => finished,
                    Err(e) => {
                        recorder.engine_failed(
                            E::KIND,
                            format!("the {} bench executable could not start: {e:#}", E::NAME),
                            &remaining,
                        )?;
                        break;
                    }
                }
            };
            if let Some(e) = save_error {
                return Err(e);
            }
            spent += finished.elapsed;
            absorb(recorder, &mut done, true)?;
            if done.iter().any(|d| *d) {
                any_result = true;
                if let Some((_, _, message)) = suspect.take() {
                    progress(message);
                }
            }
            let missing: Vec<Case> = remaining
                .iter()
                .zip(&done)
                .filter(|(_, done)| !**done)
                .map(|(c, _)| c.clone())
                .collect();
            if finished.interrupted || self.interrupt.requested() {
                break;
            }
            if missing.is_empty() {
                break;
            }
            let failure = if finished.status.success() {
                None
            } else {
                Some(finished.describe_failure())
            };
            let Some(failure) = failure else {
                for case in &missing {
                    E::store(
                        recorder.path_mut(case),
                        EngineResult {
                            status: Status::Invalid(format!(
                                "the {} bench process ended without a result for it",
                                E::NAME
                            )),
                            metrics: None,
                        },
                    );
                }
                recorder.save()?;
                break;
            };
            let culprit = &missing[0];
            let message = format!(
                "{} engine: {} crashed the bench process: {failure}",
                E::NAME,
                culprit.key
            );
            if !any_result {
                let shape = failure.replace(&culprit.key, "<case>");
                match suspect.take() {
                    Some((first, first_shape, _)) if first_shape == shape => {
                        let mut affected = vec![first];
                        affected.extend(missing.iter().cloned());
                        recorder.engine_failed(
                            E::KIND,
                            format!(
                                "the {} bench process fails before any case runs ({failure})",
                                E::NAME
                            ),
                            &affected,
                        )?;
                        break;
                    }
                    Some((_, _, first_message)) => progress(first_message),
                    None => {}
                }
                suspect = Some((culprit.clone(), shape, message));
            } else {
                progress(message);
            }
            E::store(
                recorder.path_mut(culprit),
                EngineResult {
                    status: Status::Invalid(format!("bench process failed: {failure}")),
                    metrics: None,
                },
            );
            recorder.save()?;
            remaining = missing[1..].to_vec();
        }
        if let Some((_, _, message)) = suspect {
            progress(message);
        }
        Ok(spent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Artifact, ExtraMetric};
    use benchseal_benches::{Unit, WorkloadId};
    use std::collections::BTreeMap;

    fn record_with(statuses: &[Status]) -> RunRecord {
        let paths = statuses
            .iter()
            .map(|s| PathRecord {
                path: KernelPath::Scalar,
                label: "scalar".into(),
                output_sha256: None,
                status: s.clone(),
                wall: None,
                instr: None,
                extra: BTreeMap::new(),
            })
            .collect();
        RunRecord {
            schema: RUN_SCHEMA.into(),
            run_id: "r".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: None,
            complete: true,
            command: vec![],
            options: RunOptions::default(),
            artifact: Artifact::default(),
            env: crate::env::EnvSnapshot::default(),
            env_after: None,
            env_changes: vec![],
            tuning: Tuning::default(),
            workloads: vec![WorkloadRecord {
                id: "sync/x/y/tiny".parse::<WorkloadId>().unwrap(),
                family: Family::Sync,
                unit: Unit::Files,
                units: 1,
                describe: String::new(),
                input_sha256: None,
                golden_output_sha256: None,
                paths,
                extra: BTreeMap::<String, ExtraMetric>::new(),
            }],
            processes: vec![],
            notes: vec![],
            engine_failures: Vec::new(),
            timing: None,
            seal: None,
        }
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
                label: Some("simd (avx2)".into()),
            }),
        });
        let text = summary::render(&record);
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
