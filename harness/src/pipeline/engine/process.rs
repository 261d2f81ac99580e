//! The process engine: a whole command, run N times, timed end to end.
//!
//! Each run is spawned with stdin, stdout and stderr on `/dev/null` (so a chatty command's
//! pipe never stalls and its output costs nothing to collect) and reaped with `wait4`,
//! whose `rusage` gives the peak resident set size. On Linux that `ru_maxrss` covers the
//! child and every descendant it waited for, so a command that spawns helpers is measured
//! as a whole. The wall time runs from just before `spawn` to the return of `wait4`:
//! start-up, exit and reaping included, which is what a user waits for.
//!
//! A run that exits non-zero or dies by a signal makes the whole record `invalid`: a
//! number from a command that failed did not do the work.

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context;
use benchseal_benches::Unit;
use thiserror::Error;

use crate::analysis::slo::ProcessSpec;
use crate::analysis::slo::quantile;
use crate::model::outcome::Irreproducible;
use crate::model::record::{ProcessRecord, RunRecord, Status};

/// What to measure.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessPlan {
    pub id: String,
    /// argv; the first element is the program.
    pub command: Vec<String>,
    /// Measured runs.
    pub runs: u32,
    /// Unmeasured runs first (page cache, dynamic loader).
    pub warmup: u32,
    pub unit: Option<Unit>,
    pub units: Option<u64>,
}

/// Why a command could not be measured at all.
#[derive(Debug, Error)]
pub enum ProcessError {
    #[error("process `{id}`: no command given")]
    Empty { id: String },
    #[error("process `{id}`: cannot start `{program}`: {source}")]
    Spawn {
        id: String,
        program: String,
        source: std::io::Error,
    },
    #[error("process `{id}`: waiting for `{program}` (pid {pid}): {source}")]
    Wait {
        id: String,
        program: String,
        pid: u32,
        source: std::io::Error,
    },
}

/// One finished run.
#[derive(Clone, Copy, Debug)]
pub struct RunSample {
    pub wall_ns: f64,
    pub max_rss_bytes: u64,
    /// Exit code, or `None` when killed by a signal.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
}

impl RunSample {
    /// `exit code N`, `killed by signal N`.
    pub fn describe_exit(&self) -> String {
        match (self.exit_code, self.signal) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => "ended abnormally".to_string(),
        }
    }
}

/// A record of a plan that was not (fully) measured, with its status.
pub fn unmeasured(plan: &ProcessPlan, status: Status) -> ProcessRecord {
    ProcessRecord {
        id: plan.id.clone(),
        command: plan.command.clone(),
        status,
        runs: 0,
        wall_p50_ns: None,
        wall_p95_ns: None,
        wall_p99_ns: None,
        peak_rss_bytes: None,
        samples_ns: Vec::new(),
        unit: plan.unit,
        units: plan.units,
        program_bytes: None,
    }
}

/// Runs `command` once and reaps it with `wait4`.
pub fn run_once(id: &str, command: &[String]) -> Result<RunSample, ProcessError> {
    let Some((program, args)) = command.split_first() else {
        return Err(ProcessError::Empty { id: id.into() });
    };
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| ProcessError::Spawn {
            id: id.into(),
            program: program.clone(),
            source,
        })?;
    let pid = child.id();
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = loop {
        // SAFETY: `pid` is our own child, not yet reaped (`Child` is never waited on and does
        // not reap on drop); `status` and `usage` are valid, writable and outlive the call.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall_ns = started.elapsed().as_nanos() as f64;
    drop(child);
    if reaped == -1 {
        return Err(ProcessError::Wait {
            id: id.into(),
            program: program.clone(),
            pid,
            source: std::io::Error::last_os_error(),
        });
    }
    let exit_code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let signal = libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status));
    // Linux reports ru_maxrss in KiB.
    let max_rss_bytes = (usage.ru_maxrss.max(0) as u64) * 1024;
    Ok(RunSample {
        wall_ns,
        max_rss_bytes,
        exit_code,
        signal,
    })
}

/// Measures a command: `warmup` unmeasured runs, then `runs` measured ones. A failed run
/// stops the measurement and marks the record `invalid` with the run and exit status.
pub fn measure(plan: &ProcessPlan) -> Result<ProcessRecord, ProcessError> {
    let mut record = unmeasured(plan, Status::Ok);
    let mut peak = 0u64;
    for index in 0..plan.warmup + plan.runs {
        let sample = run_once(&plan.id, &plan.command)?;
        if sample.exit_code != Some(0) {
            let how = sample.describe_exit();
            let which = if index < plan.warmup {
                format!("warm-up run {}", index + 1)
            } else {
                format!("run {}", index - plan.warmup + 1)
            };
            record.status =
                Status::Invalid(format!("{which} of `{}`: {how}", plan.command.join(" ")));
            return Ok(record);
        }
        if index >= plan.warmup {
            peak = peak.max(sample.max_rss_bytes);
            record.samples_ns.push(sample.wall_ns);
            record.runs += 1;
        }
    }
    record.wall_p50_ns = quantile(&record.samples_ns, 0.50);
    record.wall_p95_ns = quantile(&record.samples_ns, 0.95);
    record.wall_p99_ns = quantile(&record.samples_ns, 0.99);
    record.peak_rss_bytes = (record.runs > 0).then_some(peak);
    record.program_bytes = plan
        .command
        .first()
        .and_then(|program| find_program(program, std::env::var_os("PATH").as_deref()))
        .and_then(|file| std::fs::metadata(file).ok())
        .map(|m| m.len());
    Ok(record)
}

/// Adds (or replaces) a process measurement in a run record and reseals it.
pub fn append_to_run(path: &std::path::Path, record: ProcessRecord) -> anyhow::Result<()> {
    let mut run = if path.exists() {
        let run = crate::store::load(path, crate::store::Seal::Unchecked)?;
        if let Err(why) = run.verify_seal() {
            return Err(Irreproducible(format!(
                "{}: {why}; refusing to reseal an edited record",
                path.display()
            ))
            .into());
        }
        run
    } else {
        new_run_record()
    };
    match run.processes.iter_mut().find(|p| p.id == record.id) {
        Some(existing) => *existing = record,
        None => run.processes.push(record),
    }
    run.seal()?;
    crate::store::save(&run, path).with_context(|| format!("writing run record {}", path.display()))
}

/// A run record holding only process measurements: the environment and artifact of now.
pub fn new_run_record() -> RunRecord {
    let started = crate::sys::clock::document_time_rfc3339();
    RunRecord {
        schema: crate::model::record::RUN_SCHEMA.into(),
        run_id: format!("measure-{}", started.replace([':', '-'], "")),
        started_at: started.clone(),
        finished_at: Some(started),
        complete: true,
        command: std::env::args().collect(),
        options: Default::default(),
        artifact: crate::model::record::Artifact {
            version: env!("CARGO_PKG_VERSION").into(),
            ..Default::default()
        },
        env: crate::sys::env::snapshot(),
        env_after: None,
        env_changes: Vec::new(),
        tuning: Default::default(),
        workloads: Vec::new(),
        processes: Vec::new(),
        notes: Vec::new(),
        engine_failures: Vec::new(),
        timing: None,
        session: None,
        shard: None,
        parts: Vec::new(),
        scaling: Vec::new(),
        seal: None,
    }
}

/// Replaces `{benchseal}` and `{scratch}` in an argv.
fn expand(argv: &[String], benchseal: &str, scratch: &str) -> Vec<String> {
    argv.iter()
        .map(|a| {
            a.replace("{benchseal}", benchseal)
                .replace("{scratch}", scratch)
        })
        .collect()
}

/// The record of a `[[process]]` of the SLO file that was not measured, and why (the
/// sign-off's budget spent, a release precondition failed).
pub fn skipped_record(spec: &ProcessSpec, why: String) -> ProcessRecord {
    let plan = ProcessPlan {
        id: spec.id.clone(),
        command: spec.command.clone(),
        runs: spec.runs,
        warmup: spec.warmup,
        unit: spec.unit,
        units: spec.units,
    };
    unmeasured(&plan, Status::Skipped(why))
}

/// Why a program named without a directory (`rsync`) cannot run here: no executable file
/// of that name in any directory of `path` (`$PATH`). A program named by a path is left
/// to `spawn`, whose error names it: that is a mistake in the file, not a tool missing.
pub fn not_on_path(program: &str, path: Option<&std::ffi::OsStr>) -> Option<String> {
    find_program(program, path)
        .is_none()
        .then(|| format!("{program} not found on PATH"))
}

/// The file `program` names: itself when it holds a `/`, else the first executable file of
/// that name in `path`'s directories.
pub fn find_program(program: &str, path: Option<&std::ffi::OsStr>) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if program.contains('/') {
        return Some(program.into());
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|file| {
            std::fs::metadata(file)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Measures one `[[process]]` of the SLO file with the process engine. A process whose
/// program (or setup program) is not installed is `skipped (<program> not found on PATH)`:
/// a peer tool this machine lacks is neither a failure nor a pass.
pub fn measure_spec(spec: &ProcessSpec) -> anyhow::Result<ProcessRecord> {
    let path = std::env::var_os("PATH");
    let missing = spec
        .setup
        .iter()
        .chain([&spec.command])
        .filter_map(|argv| argv.first())
        .filter(|program| !program.contains("{benchseal}"))
        .find_map(|program| not_on_path(program, path.as_deref()));
    if let Some(why) = missing {
        return Ok(skipped_record(spec, why));
    }
    let exe = std::env::current_exe().context("locating the benchseal executable")?;
    let exe = exe.to_string_lossy().into_owned();
    let scratch = tempfile::Builder::new()
        .prefix("benchseal-process-")
        .tempdir()
        .context("creating a scratch directory")?;
    let scratch_path = scratch.path().to_string_lossy().into_owned();
    let plan = ProcessPlan {
        id: spec.id.clone(),
        command: expand(&spec.command, &exe, &scratch_path),
        runs: spec.runs,
        warmup: spec.warmup,
        unit: spec.unit,
        units: spec.units,
    };
    if let Some(setup) = &spec.setup {
        let argv = expand(setup, &exe, &scratch_path);
        let sample = run_once(&spec.id, &argv)?;
        if sample.exit_code != Some(0) {
            let why = format!(
                "setup `{}` failed ({})",
                argv.join(" "),
                sample.describe_exit()
            );
            return Ok(unmeasured(&plan, Status::Invalid(why)));
        }
    }
    measure_apart(&exe, &plan)
}

/// [`measure`] run by a fresh `benchseal measure --json` process. Linux starts a child's
/// `ru_maxrss` at the resident size of the process that spawned it (exec records the
/// replaced address space's high-water mark), so a command spawned by this process, grown
/// by a run's digest and scaling passes, would report this process's peak as its own. A
/// fresh measuring process is small: its own start-up size (a few MiB) is the floor of
/// every peak it reports.
fn measure_apart(exe: &str, plan: &ProcessPlan) -> anyhow::Result<ProcessRecord> {
    let mut command = Command::new(exe);
    command.args(["measure", "--json", "--id", &plan.id]);
    command.args(["--runs", &plan.runs.to_string()]);
    command.args(["--warmup", &plan.warmup.to_string()]);
    if let (Some(unit), Some(units)) = (plan.unit, plan.units) {
        command.args(["--unit", unit.name(), "--units", &units.to_string()]);
    }
    command.arg("--").args(&plan.command);
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting `{exe} measure` for process {}", plan.id))?;
    // 0: measured; 1: measured, the command failed (an `invalid` record).
    if !matches!(output.status.code(), Some(0 | 1)) {
        anyhow::bail!(
            "measuring process {} in `{exe} measure` failed ({}): {}",
            plan.id,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "reading the measurement of process {} from `{exe} measure --json`",
            plan.id
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(command: &[&str], runs: u32) -> ProcessPlan {
        ProcessPlan {
            id: "t".into(),
            command: command.iter().map(|s| s.to_string()).collect(),
            runs,
            warmup: 0,
            unit: None,
            units: None,
        }
    }

    #[test]
    fn true_is_measured_with_ordered_percentiles() {
        let r = measure(&plan(&["true"], 5)).unwrap();
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.runs, 5);
        // The program `true` resolves to on PATH, and its size.
        let file = find_program("true", std::env::var_os("PATH").as_deref()).unwrap();
        assert_eq!(
            r.program_bytes,
            Some(std::fs::metadata(file).unwrap().len())
        );
        assert!(
            find_program(
                "benchseal-no-such-tool",
                std::env::var_os("PATH").as_deref()
            )
            .is_none()
        );
        assert_eq!(r.samples_ns.len(), 5);
        let (p50, p95, p99) = (
            r.wall_p50_ns.unwrap(),
            r.wall_p95_ns.unwrap(),
            r.wall_p99_ns.unwrap(),
        );
        assert!(p50 > 0.0 && p50 <= p95 && p95 <= p99);
        assert!(r.peak_rss_bytes.unwrap() > 0);
    }

    #[test]
    fn failing_command_makes_the_record_invalid() {
        let r = measure(&plan(&["false"], 3)).unwrap();
        assert!(
            matches!(&r.status, Status::Invalid(why) if why.contains("run 1") && why.contains("exit code 1"))
        );
        assert_eq!(r.wall_p50_ns, None);
    }

    #[test]
    fn missing_program_is_an_error_naming_it() {
        let err = measure(&plan(&["/nonexistent/benchseal-test-program"], 1)).unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent/benchseal-test-program")
        );
    }

    #[test]
    fn a_program_not_installed_is_named_and_a_path_is_left_to_spawn() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("peer-tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths([dir.path()]).unwrap();
        assert_eq!(
            not_on_path("rsync-not-installed", Some(&path)).as_deref(),
            Some("rsync-not-installed not found on PATH")
        );
        // Not executable: not a program.
        assert!(not_on_path("peer-tool", Some(&path)).is_some());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(not_on_path("peer-tool", Some(&path)), None);
        assert!(not_on_path("peer-tool", None).is_some());
        assert_eq!(not_on_path("/no/such/program", Some(&path)), None);
    }

    #[test]
    fn a_process_whose_program_is_not_installed_is_skipped_with_the_reason() {
        let spec = ProcessSpec {
            quick: true,
            id: "peer".into(),
            description: None,
            command: vec!["benchseal-no-such-peer-tool".into(), "-an".into()],
            setup: Some(vec!["{benchseal}".into(), "--version".into()]),
            runs: 3,
            warmup: 0,
            unit: None,
            units: None,
        };
        let record = measure_spec(&spec).unwrap();
        assert_eq!(
            record.status,
            Status::Skipped("benchseal-no-such-peer-tool not found on PATH".into())
        );
        assert_eq!((record.runs, record.wall_p50_ns), (0, None));
    }

    #[test]
    fn peak_rss_sees_a_large_allocation() {
        // A shell that fills 64 MiB of memory must report at least that much.
        let r = measure(&plan(&["sh", "-c", "head -c 67108864 /dev/zero | tr '\\0' a > /dev/null; x=$(head -c 67108864 /dev/zero | tr '\\0' a); :"], 1)).unwrap();
        assert_eq!(r.status, Status::Ok);
        assert!(
            r.peak_rss_bytes.unwrap() >= 64 << 20,
            "{:?}",
            r.peak_rss_bytes
        );
    }
}
