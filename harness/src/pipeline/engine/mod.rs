//! The measuring engines: wall (criterion), instr (gungraun) and process (whole commands).
//!
//! Wall and instr share one way of running ([`EngineRun`], [`Engines::run_engine`]): the
//! bench executable runs a list of cases in a child process, results are read back as each
//! case ends, a crash costs only the case that crashed, and an engine that cannot run at
//! all is said once. Each implementation sits next to the parser of its tool's output.

pub mod ingest;
pub mod instr;
pub mod process;
pub mod wall;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use benchseal_benches::{Size, protocol};

use crate::model::record::{EngineKind, EngineResult, PathRecord, Status};
use crate::pipeline::benches::BenchExecutables;
use crate::pipeline::progress::Progress;
use crate::pipeline::recorder::{Case, Recorder};
use crate::sys::process::child;
use crate::sys::process::interrupt::Interrupt;

/// Time spent installing tools the engines need: neither build nor harness overhead.
#[derive(Default)]
pub struct ToolsSpent {
    pub wall: Duration,
    /// CPU seconds of the installing child processes.
    pub children_cpu_s: f64,
}

/// What the engine runs share.
pub struct Engines<'a> {
    pub progress: &'a dyn Progress,
    pub executables: &'a BenchExecutables,
    pub work: &'a Path,
    pub root: PathBuf,
    pub interrupt: &'a Interrupt,
}

/// One engine's way of running and reading back a list of cases.
pub trait EngineRun {
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
    fn ingest(
        home: &Path,
        cases: &[Case],
        progress: &dyn Progress,
    ) -> Vec<(usize, Result<Self::Metrics, String>)>;
    /// Puts a case's result into its path record.
    fn store(&self, case: &Case, path: &mut PathRecord, result: EngineResult<Self::Metrics>);
    /// Names this run of the engine in progress lines and its output directory (the wall
    /// engine runs once per execution and side).
    fn label(&self) -> String {
        Self::NAME.to_string()
    }
}

/// A directory for one engine process's output that no earlier process of this run wrote
/// to: `<label>-<attempt>-<n>` under `work`, created here. Both sides of a paired session
/// share `work`, and results are read back from the whole directory while the process
/// runs, so a reused one would hand one side the other side's results. The names of the
/// two sides have the same length (the path is in the bench process's environment, which
/// must not differ between them).
fn fresh_home(work: &Path, label: &str, attempt: usize) -> Result<PathBuf> {
    let mut n = 0;
    loop {
        let home = work.join(format!("{label}-{attempt}-{n}"));
        match std::fs::create_dir(&home) {
            Ok(()) => return Ok(home),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(e).with_context(|| format!("creating {}", home.display())),
        }
    }
}

pub fn case_list(cases: &[Case]) -> String {
    protocol::case_list(cases.iter().map(|c| c.key.as_str()))
}

impl Engines<'_> {
    /// Every case whose digest pass succeeded, optionally limited to some tiers.
    pub fn cases(recorder: &Recorder, sizes: Option<&[Size]>) -> Vec<Case> {
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

    /// Runs `cases` through one engine. When the bench process dies, the first case
    /// without a result is the one that crashed: it is marked invalid with the exit status
    /// and the end of stderr, and the rest run again in a fresh process.
    ///
    /// The engine itself is at fault, not a case, when its executable cannot start, or when
    /// two processes in a row die the same way before any case of the engine produced a
    /// result (a runner or valgrind that cannot work): then the engine failure is said once
    /// and every case left is `skipped` with it.
    pub fn run_engine<E: EngineRun>(
        &self,
        engine: &E,
        recorder: &mut Recorder,
        cases: Vec<Case>,
    ) -> Result<Duration> {
        self.progress.phase_start(&engine.label(), cases.len());
        let spent = self.run_engine_cases(engine, recorder, cases);
        self.progress.phase_end();
        spent
    }

    fn run_engine_cases<E: EngineRun>(
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
        let label = engine.label();
        while !remaining.is_empty() && !self.interrupt.requested() {
            attempt += 1;
            let home = fresh_home(self.work, &label, attempt)?;
            let mut done = vec![false; remaining.len()];
            let mut finished_count = total - remaining.len();
            let mut save_error = None;
            // While the bench process runs, a file may be half-written: errors count only
            // in the final pass, after it has exited.
            let absorb =
                |recorder: &mut Recorder, done: &mut Vec<bool>, last_pass: bool| -> Result<()> {
                    let mut changed = false;
                    for (index, result) in E::ingest(&home, &remaining, self.progress) {
                        if result.is_err() && !last_pass {
                            continue;
                        }
                        let Some(case) = remaining.get(index) else {
                            // A file not tied to a case: its error is worth seeing.
                            if let Err(e) = result {
                                self.progress.line(&format!("{} engine: {e}", E::NAME));
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
                        engine.store(case, recorder.path_mut(case), result);
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
                        self.progress.advance(&label, finished_count, total, &name);
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
                    self.progress.line(&message);
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
                    engine.store(
                        case,
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
                    Some((_, _, first_message)) => self.progress.line(&first_message),
                    None => {}
                }
                suspect = Some((culprit.clone(), shape, message));
            } else {
                self.progress.line(&message);
            }
            engine.store(
                culprit,
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
            self.progress.line(&message);
        }
        Ok(spent)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::analysis::fixture;

    struct Quiet;
    impl Progress for Quiet {
        fn line(&self, _text: &str) {}
    }

    /// An engine whose bench process writes `value` as each case's result, one file per
    /// case under its home, and reads back every file it finds there (as instr does).
    struct Writes {
        value: u64,
        stored: RefCell<Vec<(String, u64)>>,
    }

    impl EngineRun for Writes {
        const KIND: EngineKind = EngineKind::Instr;
        const NAME: &'static str = "fake";
        type Metrics = u64;

        fn command(&self, home: &Path, cases: &[Case]) -> Command {
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg(r#"i=0; while [ $i -lt "$N" ]; do echo "$V" >"$H/r$i"; echo "done $i"; i=$((i+1)); done"#)
                .env("N", cases.len().to_string())
                .env("V", self.value.to_string())
                .env("H", home);
            command
        }
        fn finished(line: &str, _last: &mut String, _cases: &[Case]) -> Option<String> {
            line.strip_prefix("done ").map(str::to_owned)
        }
        fn stderr_noise(_line: &str) -> bool {
            false
        }
        fn ingest(
            home: &Path,
            _cases: &[Case],
            _progress: &dyn Progress,
        ) -> Vec<(usize, Result<u64, String>)> {
            let Ok(entries) = std::fs::read_dir(home) else {
                return Vec::new();
            };
            entries
                .filter_map(|e| {
                    let path = e.ok()?.path();
                    let index = path
                        .file_name()?
                        .to_str()?
                        .strip_prefix('r')?
                        .parse()
                        .ok()?;
                    let value = std::fs::read_to_string(&path).ok()?.trim().parse().ok()?;
                    Some((index, Ok(value)))
                })
                .collect()
        }
        fn store(&self, case: &Case, _path: &mut PathRecord, result: EngineResult<u64>) {
            if let Some(value) = result.metrics {
                self.stored.borrow_mut().push((case.key.clone(), value));
            }
        }
    }

    /// The two sides of a paired session share one working directory; the second side's
    /// process must be read back from its own output, never the first side's.
    #[test]
    fn each_engine_process_reads_only_what_it_wrote() {
        let work = tempfile::tempdir().unwrap();
        let executables = BenchExecutables {
            wall: PathBuf::from("/nonexistent"),
            instr: PathBuf::from("/nonexistent"),
            prebuilt: false,
        };
        let interrupt = Interrupt::default();
        let engines = Engines {
            progress: &Quiet,
            executables: &executables,
            work: work.path(),
            root: PathBuf::from("."),
            interrupt: &interrupt,
        };
        let mut recorder = Recorder {
            record: fixture::record_with(&[Status::Ok, Status::Ok, Status::Ok]),
            path: work.path().join("record.json"),
            progress: &Quiet,
        };
        let cases = Engines::cases(&recorder, None);
        assert_eq!(cases.len(), 3);
        for value in [111, 222] {
            let engine = Writes {
                value,
                stored: RefCell::new(Vec::new()),
            };
            engines
                .run_engine(&engine, &mut recorder, cases.clone())
                .unwrap();
            let stored = engine.stored.into_inner();
            assert_eq!(stored.len(), 3, "{stored:?}");
            assert!(
                stored.iter().all(|(_, v)| *v == value),
                "side {value}: {stored:?}"
            );
        }
        let homes: Vec<String> = std::fs::read_dir(work.path())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("fake-"))
            .collect();
        assert_eq!(homes.len(), 2, "{homes:?}");
        assert_eq!(homes[0].len(), homes[1].len(), "{homes:?}");
    }
}
