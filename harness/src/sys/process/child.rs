//! Running a bench process: its own process group (so stopping it stops valgrind and
//! gungraun's runner too), stdout lines handed to a progress callback, the last lines of
//! stderr kept for the error message of a crash, and the interrupt flag honoured.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rustix::process::{Pid, Signal, kill_process_group};

use super::interrupt::Interrupt;

/// Lines of stderr kept for reporting a crash.
const STDERR_TAIL_LINES: usize = 12;
/// How long a stopped process gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(3);

/// How a bench process ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// Stopped because of an interrupt.
    pub interrupted: bool,
    pub stderr_tail: Vec<String>,
    pub elapsed: Duration,
}

impl Finished {
    /// `exit status 101: <last lines of stderr>` for an error message.
    pub fn describe_failure(&self) -> String {
        let tail = self.stderr_tail.join(" | ");
        if tail.is_empty() {
            format!("{}", self.status)
        } else {
            format!("{}: {tail}", self.status)
        }
    }
}

/// Runs `command` to completion, calling `on_line` for each line it prints on stdout.
/// Lines of stderr for which `is_noise` holds (progress chatter) are not kept.
pub fn run(
    mut command: Command,
    interrupt: &Interrupt,
    is_noise: fn(&str) -> bool,
    mut on_line: impl FnMut(&str),
) -> Result<Finished> {
    let program = command.get_program().to_string_lossy().into_owned();
    let started = Instant::now();
    let mut child = command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let group = Pid::from_child(&child);

    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr = child.stderr.take().context("stderr of the bench process")?;
    let stderr_reader = {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.trim().is_empty() || is_noise(&line) {
                    continue;
                }
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() == STDERR_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        })
    };
    let stdout = child.stdout.take().context("stdout of the bench process")?;
    let (lines_tx, lines_rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut stopping_since: Option<Instant> = None;
    let status = loop {
        match lines_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => on_line(&line),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if let Some(status) = child
                    .try_wait()
                    .with_context(|| format!("waiting for {program}"))?
                {
                    break status;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if interrupt.requested() {
            match stopping_since {
                None => {
                    // The group may already be gone; either way it is stopping.
                    let _ = kill_process_group(group, Signal::TERM);
                    stopping_since = Some(Instant::now());
                }
                Some(since) if since.elapsed() > GRACE => {
                    let _ = kill_process_group(group, Signal::KILL);
                }
                Some(_) => {}
            }
        }
    };
    let _ = stderr_reader.join();
    let stderr_tail = tail
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .cloned()
        .collect();
    Ok(Finished {
        status,
        interrupted: stopping_since.is_some(),
        stderr_tail,
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_the_stderr_tail_are_captured() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo one; echo two; echo oops >&2; echo progress >&2; exit 7",
        ]);
        let mut lines = Vec::new();
        let noise = |l: &str| l.starts_with("progress");
        let done = run(command, &Interrupt::never(), noise, |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert_eq!(lines, ["one", "two"]);
        assert_eq!(done.status.code(), Some(7));
        assert_eq!(done.stderr_tail, ["oops"]);
        assert!(!done.interrupted);
        assert_eq!(done.describe_failure(), "exit status: 7: oops");
    }

    #[test]
    fn an_interrupt_stops_the_whole_process_group() {
        let interrupt = Interrupt::never();
        interrupt.request();
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & sleep 30; echo late"]);
        let started = Instant::now();
        let done = run(command, &interrupt, |_| false, |_| {}).unwrap();
        assert!(done.interrupted);
        assert!(!done.status.success());
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
