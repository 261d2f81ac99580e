//! Release preconditions and the sign-off's time budget.
//!
//! The `[preconditions]` commands of the SLO file (by default formatting, lints and the
//! test suite) run before `signoff` measures anything, each becoming a gate row
//! `pass | fail | skipped (reason)` of the report. The table's `budget` bounds the whole
//! sign-off: a command still running when it runs out is stopped (its process group, so
//! `cargo test`'s children too), and work that would start after it is spent is
//! `skipped (bounded by policy: …)` and named, never dropped without a word.

use std::collections::VecDeque;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::analysis::signoff::{BOUNDED_BY_POLICY, PreconditionRow};
use crate::analysis::slo::SloFile;
use crate::sys::process::child;
use crate::sys::process::interrupt::Interrupt;

/// Lines of a failed command's stdout kept for its row (stderr keeps its own tail).
const STDOUT_TAIL_LINES: usize = 12;

/// The sign-off's clock against the SLO file's `budget`.
pub struct Budget {
    started: Instant,
    limit: Option<(Duration, String)>,
}

impl Budget {
    /// Starts the clock; without a `budget` in the SLO file nothing is ever bounded.
    pub fn start(slo: &SloFile) -> Budget {
        Budget {
            started: Instant::now(),
            limit: slo
                .preconditions
                .as_ref()
                .and_then(|p| p.budget.as_ref())
                .map(|b| (Duration::from_nanos(b.ns as u64), b.text.clone())),
        }
    }

    /// Time left, `None` without a budget.
    fn remaining(&self) -> Option<Duration> {
        self.limit
            .as_ref()
            .map(|(limit, _)| limit.saturating_sub(self.started.elapsed()))
    }

    /// When the budget runs out, for the run's own work; `None` without a budget.
    pub fn deadline(&self) -> Option<crate::pipeline::Deadline> {
        let (limit, text) = self.limit.as_ref()?;
        Some(crate::pipeline::Deadline {
            at: self.started + *limit,
            budget: text.clone(),
        })
    }

    /// `Some(reason)` once the budget is spent: the reason a piece of work is skipped.
    pub fn spent(&self) -> Option<String> {
        let (_, text) = self.limit.as_ref()?;
        (self.remaining()? == Duration::ZERO).then(|| {
            format!(
                "{BOUNDED_BY_POLICY}: the sign-off's budget of {text} was spent ({:.1} min \
                 elapsed)",
                self.started.elapsed().as_secs_f64() / 60.0
            )
        })
    }
}

/// Runs the SLO file's preconditions in order; `skip` (`--skip-preconditions`) lists them
/// as skipped without running them. Empty when the file has no `[preconditions]`.
pub fn run_all(slo: &SloFile, skip: bool, budget: &Budget) -> Vec<PreconditionRow> {
    let Some(preconditions) = &slo.preconditions else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for argv in &preconditions.commands {
        let command = shown(argv);
        let skipped = |reason: String| PreconditionRow {
            command: command.clone(),
            status: "skipped".into(),
            reason: Some(reason),
            seconds: None,
        };
        if skip {
            rows.push(skipped("--skip-preconditions".into()));
            continue;
        }
        if let Some(reason) = budget.spent() {
            rows.push(skipped(reason));
            continue;
        }
        eprintln!("benchseal: precondition `{command}`");
        rows.push(run_one(argv, command, budget));
    }
    rows
}

/// A command line as shown in a report: arguments that need it quoted.
fn shown(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs one command until it ends or the budget runs out.
fn run_one(argv: &[String], command: String, budget: &Budget) -> PreconditionRow {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let stop = Interrupt::never();
    // The budget's alarm: raises the flag that makes `child::run` stop the process group,
    // unless the command ends first (then the channel closes and the alarm returns).
    let (done, alarm) = mpsc::channel::<()>();
    let timer = budget.remaining().map(|left| {
        let stop = stop.clone();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = alarm.recv_timeout(left) {
                stop.request();
            }
        })
    });
    let started = Instant::now();
    let mut stdout_tail = VecDeque::new();
    let finished = child::run(
        cmd,
        &stop,
        |_| false,
        |line| {
            if stdout_tail.len() == STDOUT_TAIL_LINES {
                stdout_tail.pop_front();
            }
            stdout_tail.push_back(line.to_string());
        },
    );
    drop(done);
    if let Some(timer) = timer {
        let _ = timer.join();
    }
    let seconds = Some(started.elapsed().as_secs_f64());
    let row = |status: &str, reason: Option<String>| PreconditionRow {
        command: command.clone(),
        status: status.into(),
        reason,
        seconds,
    };
    match finished {
        // Not started: the OS error (no such program, not executable) says why.
        Err(e) => row("fail", Some(format!("{e:#}"))),
        Ok(f) if f.interrupted => row(
            "skipped",
            Some(format!(
                "{}; stopped after {:.1} min",
                budget
                    .spent()
                    .unwrap_or_else(|| format!("{BOUNDED_BY_POLICY}: the budget ran out")),
                f.elapsed.as_secs_f64() / 60.0
            )),
        ),
        Ok(f) if f.status.success() => row("pass", None),
        Ok(f) => {
            let mut reason = f.status.to_string();
            for line in stdout_tail.iter().chain(&f.stderr_tail) {
                reason.push('\n');
                reason.push_str(line);
            }
            row("fail", Some(reason))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::slo::{Budget as BudgetSpec, Preconditions};

    fn slo(commands: &[&[&str]], budget: Option<f64>) -> SloFile {
        let mut slo = SloFile::parse("schema = \"benchseal.slo/1\"\n", "slo.toml").unwrap();
        slo.preconditions = Some(Preconditions {
            commands: commands
                .iter()
                .map(|argv| argv.iter().map(|a| a.to_string()).collect())
                .collect(),
            budget: budget.map(|ns| BudgetSpec {
                text: format!("{ns} ns"),
                ns,
            }),
        });
        slo
    }

    #[test]
    fn each_command_is_a_row_with_what_a_failure_printed() {
        let slo = slo(
            &[
                &["true"],
                &["sh", "-c", "echo out line; echo err line >&2; exit 3"],
                &["benchseal-no-such-program"],
            ],
            None,
        );
        let rows = run_all(&slo, false, &Budget::start(&slo));
        let status: Vec<_> = rows.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(status, ["pass", "fail", "fail"]);
        assert_eq!(
            rows[1].command,
            "sh -c 'echo out line; echo err line >&2; exit 3'"
        );
        let reason = rows[1].reason.as_deref().unwrap();
        assert!(reason.starts_with("exit status: 3"), "{reason}");
        assert!(
            reason.contains("out line") && reason.contains("err line"),
            "{reason}"
        );
        let missing = rows[2].reason.as_deref().unwrap();
        assert!(
            missing.contains("benchseal-no-such-program") && missing.contains("No such file"),
            "{missing}"
        );
        assert!(rows.iter().all(|r| r.seconds.is_some()));
        assert!(rows[1].blocks() && rows[2].blocks() && !rows[0].blocks());
    }

    #[test]
    fn skipped_on_request_does_not_block() {
        let slo = slo(&[&["false"]], None);
        let rows = run_all(&slo, true, &Budget::start(&slo));
        assert_eq!(rows[0].status, "skipped");
        assert_eq!(rows[0].reason.as_deref(), Some("--skip-preconditions"));
        assert_eq!(rows[0].seconds, None);
        assert!(!rows[0].blocks());
    }

    #[test]
    fn the_budget_stops_a_command_and_skips_the_rest_by_name() {
        // 300 ms: the sleep outlives it, so it is stopped, and the next is never started.
        let slo = slo(&[&["sleep", "30"], &["true"]], Some(300e6));
        let started = Instant::now();
        let rows = run_all(&slo, false, &Budget::start(&slo));
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the sleep was stopped"
        );
        for row in &rows {
            assert_eq!(row.status, "skipped");
            assert!(
                row.reason
                    .as_deref()
                    .unwrap()
                    .starts_with(BOUNDED_BY_POLICY)
            );
            assert!(row.blocks());
        }
        assert!(rows[0].reason.as_deref().unwrap().contains("stopped after"));
        assert_eq!(rows[1].seconds, None);
    }

    #[test]
    fn no_table_no_rows() {
        let slo = SloFile::parse("schema = \"benchseal.slo/1\"\n", "slo.toml").unwrap();
        assert!(run_all(&slo, false, &Budget::start(&slo)).is_empty());
        assert!(Budget::start(&slo).spent().is_none());
    }
}
