//! Where the environment is read from: a root directory for `/proc`, `/sys`, `/etc` and
//! `/run`, a runner for external commands, and the few facts of this process.
//!
//! Capture never touches the real system directly. Tests point [`SystemRoot`] at a fixture
//! tree (or set `BENCHSEAL_SYSROOT` for the CLI) and hand in a [`StubCommands`], so an
//! Intel box with `intel_pstate`, an AMD box with `cpufreq/boost` and a VM without cpufreq
//! can all be captured on any machine.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::env::captured::Captured;

/// The environment variable that replaces `/` as the root of system files.
pub const SYSROOT_VAR: &str = "BENCHSEAL_SYSROOT";

/// Environment variables that can change a number or name a tool; captured once.
const RELEVANT_VARS: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "GUNGRAUN_RUNNER",
    "IN_NIX_SHELL",
    "BENCHSEAL_SIMD_LEVEL",
    "CUDA_VISIBLE_DEVICES",
];

/// The root directory system files are read from and tuning values written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemRoot {
    pub root: PathBuf,
}

impl Default for SystemRoot {
    fn default() -> Self {
        SystemRoot {
            root: PathBuf::from("/"),
        }
    }
}

impl SystemRoot {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SystemRoot { root: root.into() }
    }

    /// `/`, or the directory named by `BENCHSEAL_SYSROOT`.
    pub fn from_env() -> Self {
        match std::env::var_os(SYSROOT_VAR) {
            Some(dir) if !dir.is_empty() => SystemRoot::new(dir),
            _ => SystemRoot::default(),
        }
    }

    /// The real path of a system path such as `/proc/cpuinfo`.
    pub fn path(&self, system_path: &str) -> PathBuf {
        self.root.join(system_path.trim_start_matches('/'))
    }

    pub fn exists(&self, system_path: &str) -> bool {
        self.path(system_path).exists()
    }

    /// The whole file, or why it could not be read (named by its system path).
    pub fn read_raw(&self, system_path: &str) -> Captured<String> {
        match std::fs::read(self.path(system_path)) {
            Ok(bytes) => Captured::Present(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Captured::absent(format!("{system_path} is missing"))
            }
            Err(e) => Captured::absent(format!("{system_path} is unreadable: {e}")),
        }
    }

    /// The file's content with surrounding white space removed.
    pub fn read(&self, system_path: &str) -> Captured<String> {
        self.read_raw(system_path).map(|s| s.trim().to_string())
    }

    /// The file's content parsed as a value; malformed content is an absence reason.
    pub fn read_parsed<T: std::str::FromStr>(&self, system_path: &str) -> Captured<T> {
        self.read(system_path).and_then(|text| {
            text.parse::<T>()
                .map_err(|_| format!("{system_path} is malformed: `{}`", abbreviate(&text)))
        })
    }

    /// Names of the entries of a directory, sorted; empty when it is missing.
    pub fn list_dir(&self, system_path: &str) -> Vec<String> {
        let mut names: Vec<String> = match std::fs::read_dir(self.path(system_path)) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort_by_key(|name| natural_key(name));
        names
    }

    /// Writes a tuning value (sysfs and procfs take a plain write, not a rename).
    pub fn write(&self, system_path: &str, value: &str) -> Result<(), String> {
        std::fs::write(self.path(system_path), value).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                " (needs root)"
            } else {
                ""
            };
            format!("writing `{}` to {system_path}: {e}{hint}", value.trim())
        })
    }
}

/// Sort key that puts `policy2` before `policy10` and `cpu9` before `cpu10`.
fn natural_key(name: &str) -> (String, u64) {
    let digits_at = name
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let (stem, number) = name.split_at(digits_at);
    (stem.to_string(), number.parse().unwrap_or(u64::MAX))
}

/// At most 40 characters of `text`, for error messages about malformed files.
pub(crate) fn abbreviate(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Runs external commands (rustc, cargo, git, valgrind, gungraun-runner, nvidia-smi).
pub trait CommandRunner {
    /// The standard output of `program args` run in `cwd` when it exits successfully;
    /// otherwise a reason naming the command.
    fn output(&self, program: &str, args: &[&str], cwd: Option<&Path>) -> Result<String, String>;
}

/// Runs commands for real, each with a time limit: a wedged GPU driver can make
/// `nvidia-smi` hang, and a snapshot must never hang a run.
#[derive(Clone, Copy, Debug)]
pub struct SystemCommands {
    pub timeout: Duration,
}

impl Default for SystemCommands {
    fn default() -> Self {
        SystemCommands {
            timeout: Duration::from_secs(20),
        }
    }
}

impl CommandRunner for SystemCommands {
    fn output(&self, program: &str, args: &[&str], cwd: Option<&Path>) -> Result<String, String> {
        let shown = command_line(program, args);
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = cwd {
            command.current_dir(dir);
        }
        let mut child = command.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("`{program}` is not installed"),
            _ => format!("`{shown}` could not start: {e}"),
        })?;
        // Drain both pipes on their own threads so a chatty command cannot block on a full
        // pipe while this thread waits for it to exit.
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`{shown}` did not finish within {} s and was stopped",
                        self.timeout.as_secs()
                    ));
                }
                Err(e) => return Err(format!("`{shown}`: waiting for it failed: {e}")),
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        if status.success() {
            Ok(String::from_utf8_lossy(&stdout).into_owned())
        } else {
            let stderr = String::from_utf8_lossy(&stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            Err(format!("`{shown}` failed ({status}): {}", first.trim()))
        }
    }
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Canned command results for tests: keyed by the full command line (`git rev-parse HEAD`);
/// an unknown command is "not installed". Every call is logged, so tests can also assert
/// that nothing was run (e.g. by `--dry-run`).
#[derive(Debug, Default)]
pub struct StubCommands {
    pub replies: BTreeMap<String, Result<String, String>>,
    pub calls: std::sync::Mutex<Vec<String>>,
}

impl StubCommands {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `line` with `stdout`.
    pub fn with(mut self, line: &str, stdout: &str) -> Self {
        self.replies
            .insert(line.to_string(), Ok(stdout.to_string()));
        self
    }

    /// Makes `line` fail with `reason`.
    pub fn failing(mut self, line: &str, reason: &str) -> Self {
        self.replies
            .insert(line.to_string(), Err(reason.to_string()));
        self
    }

    /// The command lines run so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl CommandRunner for StubCommands {
    fn output(&self, program: &str, args: &[&str], _cwd: Option<&Path>) -> Result<String, String> {
        let line = command_line(program, args);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(line.clone());
        }
        self.replies
            .get(&line)
            .cloned()
            .unwrap_or_else(|| Err(format!("`{program}` is not installed")))
    }
}

/// Everything a capture reads: system files, commands, and facts of this process.
pub struct EnvSources<'a> {
    pub root: SystemRoot,
    pub commands: &'a dyn CommandRunner,
    /// Where to look for the workspace (`Cargo.lock`, git); normally the current directory.
    pub workdir: PathBuf,
    /// The relevant environment variables (see `RELEVANT_VARS`).
    pub vars: BTreeMap<String, String>,
    /// This executable's path, for Nix store detection.
    pub exe: Captured<PathBuf>,
    /// The CPUs this process may run on.
    pub affinity: Captured<Vec<usize>>,
    /// Whether pinning may move this process onto the isolated CPUs: only when the
    /// system files are this machine's (not a `BENCHSEAL_SYSROOT` fixture).
    pub may_set_affinity: bool,
}

impl<'a> EnvSources<'a> {
    /// The real machine and process, with system files under [`SystemRoot::from_env`].
    pub fn system(commands: &'a dyn CommandRunner) -> Self {
        let vars = RELEVANT_VARS
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|v| (name.to_string(), v)))
            .collect();
        let root = SystemRoot::from_env();
        // Isolated CPUs read from a fixture tree do not describe this machine.
        let may_set_affinity = root == SystemRoot::default();
        EnvSources {
            root,
            commands,
            workdir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            vars,
            exe: std::env::current_exe()
                .map_err(|e| format!("the executable path is unknown: {e}"))
                .into(),
            affinity: process_affinity(),
            may_set_affinity,
        }
    }

    /// A fixture: system files under `root`, no variables, fixed process facts.
    pub fn fixture(root: impl Into<PathBuf>, commands: &'a dyn CommandRunner) -> Self {
        EnvSources {
            root: SystemRoot::new(root),
            commands,
            workdir: PathBuf::from("/nonexistent"),
            vars: BTreeMap::new(),
            exe: Captured::Present(PathBuf::from("/usr/local/bin/benchseal")),
            affinity: Captured::Present(vec![0, 1]),
            may_set_affinity: false,
        }
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        self.commands.output(program, args, None)
    }

    pub fn run_in_workdir(&self, program: &str, args: &[&str]) -> Result<String, String> {
        self.commands.output(program, args, Some(&self.workdir))
    }
}

/// The CPUs this process may run on, through `sched_getaffinity`.
#[cfg(target_os = "linux")]
fn process_affinity() -> Captured<Vec<usize>> {
    // SAFETY: `cpu_set_t` is plain data for which all-zero bytes is the empty set; the
    // kernel writes at most `size_of::<cpu_set_t>()` bytes into it, and `CPU_ISSET` only
    // reads within it for indices below `CPU_SETSIZE`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            let err = std::io::Error::last_os_error();
            return Captured::absent(format!("sched_getaffinity failed: {err}"));
        }
        let cpus = (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect();
        Captured::Present(cpus)
    }
}

#[cfg(not(target_os = "linux"))]
fn process_affinity() -> Captured<Vec<usize>> {
    Captured::absent("CPU affinity is only read on Linux")
}

/// Restricts the calling thread, and the processes it starts from now on, to `cpus`.
#[cfg(target_os = "linux")]
pub(crate) fn set_affinity(cpus: &[usize]) -> Result<(), String> {
    let limit = libc::CPU_SETSIZE as usize;
    if let Some(cpu) = cpus.iter().find(|&&c| c >= limit) {
        return Err(format!(
            "CPU {cpu} is beyond the {limit} a CPU set can name"
        ));
    }
    // SAFETY: all-zero bytes is the empty `cpu_set_t`; `CPU_SET` writes inside the set for
    // indices below `CPU_SETSIZE` (checked above); the kernel reads `size_of` bytes of it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        let err = std::io::Error::last_os_error();
        Err(format!(
            "sched_setaffinity to CPUs {}: {err}",
            crate::analysis::env::cpulist::format(cpus)
        ))
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn set_affinity(_cpus: &[usize]) -> Result<(), String> {
    Err("CPU affinity is only set on Linux".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_the_system_path_when_missing_or_malformed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/sys/kernel")).unwrap();
        std::fs::write(
            dir.path().join("proc/sys/kernel/randomize_va_space"),
            "two\n",
        )
        .unwrap();
        let root = SystemRoot::new(dir.path());
        let missing: Captured<u64> = root.read_parsed("/proc/loadavg");
        assert_eq!(missing.reason(), Some("/proc/loadavg is missing"));
        let malformed: Captured<u8> = root.read_parsed("/proc/sys/kernel/randomize_va_space");
        assert_eq!(
            malformed.reason(),
            Some("/proc/sys/kernel/randomize_va_space is malformed: `two`")
        );
    }

    #[test]
    fn directory_listing_is_in_natural_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["policy10", "policy2", "policy0"] {
            std::fs::create_dir_all(dir.path().join("d").join(name)).unwrap();
        }
        let root = SystemRoot::new(dir.path());
        assert_eq!(root.list_dir("/d"), ["policy0", "policy2", "policy10"]);
        assert!(root.list_dir("/nowhere").is_empty());
    }

    #[test]
    fn this_process_has_an_affinity() {
        let cpus = process_affinity();
        assert!(cpus.value().is_some_and(|c| !c.is_empty()), "{cpus:?}");
    }

    #[test]
    fn real_commands_report_output_failure_absence_and_hangs() {
        let run = SystemCommands::default();
        assert_eq!(run.output("sh", &["-c", "echo hi"], None).unwrap(), "hi\n");
        let failed = run
            .output("sh", &["-c", "echo bad >&2; exit 3"], None)
            .unwrap_err();
        assert!(failed.contains("bad") && failed.contains('3'), "{failed}");
        assert_eq!(
            run.output("benchseal-no-such-tool", &[], None).unwrap_err(),
            "`benchseal-no-such-tool` is not installed"
        );
        let quick = SystemCommands {
            timeout: Duration::from_millis(200),
        };
        let hung = quick.output("sleep", &["30"], None).unwrap_err();
        assert!(hung.contains("did not finish"), "{hung}");
    }

    #[test]
    fn stub_logs_calls_and_reports_unknown_tools_as_missing() {
        let stub = StubCommands::new().with("git rev-parse HEAD", "abc\n");
        assert_eq!(
            stub.output("git", &["rev-parse", "HEAD"], None).unwrap(),
            "abc\n"
        );
        assert_eq!(
            stub.output("valgrind", &["--version"], None).unwrap_err(),
            "`valgrind` is not installed"
        );
        assert_eq!(stub.calls(), ["git rev-parse HEAD", "valgrind --version"]);
    }
}
