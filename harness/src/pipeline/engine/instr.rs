//! The instr engine: gungraun bench target under callgrind, results read from
//! `summary.json` (`--save-summary=json`), one per benchmark case.
//!
//! The gungraun library and `gungraun-runner` must be the same version, so the runner is
//! looked up (`$GUNGRAUN_RUNNER`, benchseal's tools directory, `PATH`), its version checked,
//! and the pinned version installed into the tools directory when no match exists.
//! `benchseal run` points `GUNGRAUN_HOME` at a fresh directory per run; each case's
//! summary carries its id `cases_<index>`, the index into the case list the harness passed
//! in, which is how a summary is matched to its workload and path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::Duration;

use anyhow::{Context, Result, bail};
use benchseal_benches::{Size, protocol};

use super::{EngineRun, Engines, ToolsSpent};
use crate::model::record::{
    EngineKind, EngineResult, InstrMetrics, PathRecord, ProfileFile, Status,
};
use crate::pipeline::engine::ingest::{IngestError, JsonFile, files_named};
use crate::pipeline::progress::Progress;
use crate::pipeline::recorder::{Case, Recorder};
use crate::sys::process::cpu;

/// Where benchseal installs tools it needs (the pinned `gungraun-runner`), under the
/// workspace root.
pub const TOOLS_DIR: &str = ".benchseal/tools";

/// The gungraun version of the instr bench target (pinned in Cargo.toml and Cargo.lock).
pub const GUNGRAUN_VERSION: &str = "0.20.0";

/// gungraun's summary schema version this reader understands.
pub const SUMMARY_SCHEMA_VERSION: &str = "7";

/// The runner's executable name.
pub const RUNNER_NAME: &str = "gungraun-runner";

/// Why the instr engine cannot run here, as the record states it.
pub const VALGRIND_MISSING: &str = "valgrind not found: apt-get install valgrind";

/// One case's metrics as gungraun wrote them.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrSummary {
    /// Index into the case list handed to the bench target.
    pub case_index: usize,
    pub metrics: InstrMetrics,
    /// callgrind's own output file beside the summary (`callgrind.<name>.out`), if any.
    pub profile: Option<PathBuf>,
}

/// callgrind's output file in a case's directory: `callgrind.*.out`, the main thread's
/// (the shortest name) when there are several.
pub fn profile_beside(summary: &Path) -> Option<PathBuf> {
    let dir = summary.parent()?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("callgrind.") && n.ends_with(".out"))
        })
        .collect();
    found.sort_by_key(|p| (p.as_os_str().len(), p.clone()));
    found.into_iter().next()
}

/// Reads one `summary.json`: the callgrind totals of one case.
pub fn parse_summary(doc: &JsonFile) -> Result<InstrSummary, IngestError> {
    let version = doc.str("version")?;
    if version != SUMMARY_SCHEMA_VERSION {
        return Err(doc.error(
            "version",
            format!("is `{version}`, this benchseal reads gungraun summary schema `{SUMMARY_SCHEMA_VERSION}`"),
        ));
    }
    let id = doc.str("id")?;
    let case_index = protocol::instr_case_index(id)
        .filter(|i| id == format!("{}{i}", protocol::INSTR_CASE_PREFIX))
        .ok_or_else(|| doc.error("id", format!("is `{id}`, expected `cases_<index>`")))?;
    let profiles = doc
        .require("profiles")?
        .as_array()
        .ok_or_else(|| doc.error("profiles", "is not an array"))?;
    let position = profiles
        .iter()
        .position(|p| p.get("tool").and_then(|t| t.as_str()) == Some("Callgrind"))
        .ok_or_else(|| doc.error("profiles", "has no Callgrind profile"))?;
    let base = format!("profiles.{position}.data.total.metrics");
    let metric = |name: &str| doc.u64(&format!("{base}.{name}.values.new"));
    let optional = |name: &str| -> Result<Option<u64>, IngestError> {
        match doc.get(&format!("{base}.{name}")) {
            None => Ok(None),
            Some(_) => metric(name).map(Some),
        }
    };
    // Conditional plus indirect; either alone when only it is reported.
    let sum = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    Ok(InstrSummary {
        case_index,
        metrics: InstrMetrics {
            instructions: metric("Ir")?,
            l1_hits: optional("L1hits")?,
            ll_hits: optional("LLhits")?,
            ram_hits: optional("RamHits")?,
            total_read_write: optional("TotalRW")?,
            estimated_cycles: optional("EstimatedCycles")?,
            branches: sum(optional("Bc")?, optional("Bi")?),
            branch_misses: sum(optional("Bcm")?, optional("Bim")?),
            label: None,
            callgrind: None,
        },
        profile: profile_beside(doc.path),
    })
}

/// The directory variable of the bench target's label files: in each case's setup (not
/// counted) it writes `{"case": "<workload>@<path>", "label": "..."}` into a `.json` file
/// there, the path label as the measured process computes it. The harness's own label can
/// be wrong for instr results: valgrind hides AVX-512, so `simd` runs the AVX2 code.
pub use protocol::LABELS_VAR;

/// The labels under a [`LABELS_VAR`] directory, by case key (`workload@path`). A missing
/// directory means no case wrote one (none ran): empty.
pub fn ingest_labels(dir: &Path) -> Result<BTreeMap<String, String>, IngestError> {
    let io = |source| IngestError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io(e)),
    };
    let mut labels = BTreeMap::new();
    for entry in entries {
        let path = entry.map_err(io)?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let doc = JsonFile::read(&path)?;
        let text = |field: &str| {
            doc.require(field)?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| doc.error(field, "is not a string"))
        };
        labels.insert(text("case")?, text("label")?);
    }
    Ok(labels)
}

/// Every case summary under a `GUNGRAUN_HOME` directory; a file that cannot be read is
/// returned as its error so the caller can name it.
pub fn ingest_home(home: &Path) -> Result<Vec<Result<InstrSummary, IngestError>>, IngestError> {
    Ok(files_named(home, "summary.json")?
        .into_iter()
        .map(|path| JsonFile::read(&path).and_then(|doc| parse_summary(&doc)))
        .collect())
}

/// The version of valgrind on `PATH` (`valgrind-3.19.0`), or `None` when it is missing.
pub fn valgrind_version() -> Option<String> {
    let out = Command::new("valgrind").arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The version a runner executable reports, e.g. `0.20.0`.
pub fn runner_version(exe: &Path) -> Option<String> {
    let out = Command::new(exe).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .strip_prefix(RUNNER_NAME)
        .map(|v| v.trim().to_string())
}

/// Where a runner came from, as the record and the messages say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunnerSource {
    /// `$GUNGRAUN_RUNNER` named it.
    Variable,
    /// benchseal's tools directory (installed by an earlier run).
    ToolsDir,
    /// Found on `PATH`.
    Path,
    /// Installed by this run into the tools directory.
    Installed,
}

impl RunnerSource {
    pub fn describe(self) -> &'static str {
        match self {
            RunnerSource::Variable => "named by $GUNGRAUN_RUNNER",
            RunnerSource::ToolsDir => "benchseal's tools directory",
            RunnerSource::Path => "found on PATH",
            RunnerSource::Installed => "installed by this run",
        }
    }
}

/// The runner the instr engine uses: an absolute path of exactly [`GUNGRAUN_VERSION`].
#[derive(Clone, Debug)]
pub struct Runner {
    pub path: PathBuf,
    pub version: String,
    pub source: RunnerSource,
    /// Time spent installing it (zero when it was already there).
    pub install: std::time::Duration,
}

impl Runner {
    /// The directory to put first on the bench process's `PATH`. gungraun reads
    /// `$GUNGRAUN_RUNNER` only when the bench target is compiled; at run time it looks for
    /// an executable named `gungraun-runner` on `PATH`. A runner with another file name gets
    /// a symbolic link of that name in `scratch`.
    pub fn bin_dir(&self, scratch: &Path) -> Result<PathBuf> {
        if self.path.file_name() == Some(std::ffi::OsStr::new(RUNNER_NAME))
            && let Some(parent) = self.path.parent()
        {
            return Ok(parent.to_path_buf());
        }
        let dir = scratch.join("runner-bin");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let link = dir.join(RUNNER_NAME);
        if link.symlink_metadata().is_ok() {
            std::fs::remove_file(&link).with_context(|| format!("replacing {}", link.display()))?;
        }
        std::os::unix::fs::symlink(&self.path, &link)
            .with_context(|| format!("linking {} to {}", link.display(), self.path.display()))?;
        Ok(dir)
    }
}

/// `PATH` with `first` in front of what the current process has.
pub fn path_with_first(first: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(first.to_path_buf()).chain(std::env::split_paths(&rest)))
        .unwrap_or_else(|_| first.as_os_str().to_owned())
}

/// Finds a `gungraun-runner` of exactly [`GUNGRAUN_VERSION`] (`$GUNGRAUN_RUNNER`, then
/// `tools_dir/bin`, then `PATH`), installing it into `tools_dir` when none exists; progress
/// and the reason go to stderr. The path returned is absolute.
pub fn ensure_runner(tools_dir: &Path, progress: &dyn Progress) -> Result<Runner> {
    let tools_dir = std::path::absolute(tools_dir)
        .with_context(|| format!("making {} absolute", tools_dir.display()))?;
    let mut seen = Vec::new();
    for (candidate, source) in runner_candidates(&tools_dir) {
        match runner_version(&candidate) {
            Some(v) if v == GUNGRAUN_VERSION => {
                return Ok(Runner {
                    path: std::path::absolute(&candidate).unwrap_or(candidate),
                    version: v,
                    source,
                    install: std::time::Duration::ZERO,
                });
            }
            Some(v) => seen.push(format!("{} is version {v}", candidate.display())),
            None => {}
        }
    }
    let why = if seen.is_empty() {
        format!("{RUNNER_NAME} was not found")
    } else {
        seen.join("; ")
    };
    progress.line(&format!(
        "{why}; the instr engine needs {RUNNER_NAME} {GUNGRAUN_VERSION} (the same version \
         as the gungraun library). Installing it into {} with cargo install (once; a few minutes).",
        tools_dir.display()
    ));
    let started = std::time::Instant::now();
    // Two runs starting at once (parallel tests, two terminals) install once: the second
    // waits for the first and then finds its runner.
    std::fs::create_dir_all(&tools_dir)
        .with_context(|| format!("creating {}", tools_dir.display()))?;
    let lock_path = tools_dir.join(".install.lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    let installed = tools_dir.join("bin").join(RUNNER_NAME);
    if runner_version(&installed).as_deref() == Some(GUNGRAUN_VERSION) {
        return Ok(Runner {
            path: installed,
            version: GUNGRAUN_VERSION.into(),
            source: RunnerSource::ToolsDir,
            install: started.elapsed(),
        });
    }
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["install", RUNNER_NAME, "--version"])
        .arg(format!("={GUNGRAUN_VERSION}"))
        .args(["--locked", "--root"])
        .arg(&tools_dir)
        .status()
        .context("running cargo install gungraun-runner")?;
    if !status.success() {
        bail!(
            "cargo install {RUNNER_NAME} --version ={GUNGRAUN_VERSION} --locked --root {} failed ({status})",
            tools_dir.display()
        );
    }
    match runner_version(&installed) {
        Some(v) if v == GUNGRAUN_VERSION => Ok(Runner {
            path: installed,
            version: v,
            source: RunnerSource::Installed,
            install: started.elapsed(),
        }),
        other => bail!(
            "{} reports version {other:?} after installing {GUNGRAUN_VERSION}",
            installed.display()
        ),
    }
}

fn runner_candidates(tools_dir: &Path) -> Vec<(PathBuf, RunnerSource)> {
    let mut candidates = Vec::new();
    if let Some(explicit) = std::env::var_os("GUNGRAUN_RUNNER") {
        candidates.push((PathBuf::from(explicit), RunnerSource::Variable));
    }
    candidates.push((
        tools_dir.join("bin").join(RUNNER_NAME),
        RunnerSource::ToolsDir,
    ));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(
            std::env::split_paths(&path).map(|dir| (dir.join(RUNNER_NAME), RunnerSource::Path)),
        );
    }
    candidates.retain(|(c, _)| c.is_file());
    candidates
}

/// The absolute path of `program` as `PATH` resolves it, if it is there.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|c| c.is_file())
        .and_then(|c| std::path::absolute(&c).ok())
}

/// Where, under an instr run's `GUNGRAUN_HOME`, the bench target writes its label files.
const INSTR_LABELS_DIR: &str = "benchseal-labels";

/// A case's counts and the profile file they came with, until the record keeps both.
pub struct Counted {
    pub metrics: InstrMetrics,
    pub profile: Option<PathBuf>,
}

pub struct InstrRun<'a> {
    engines: &'a Engines<'a>,
    /// Where the cases' callgrind profiles are kept (`<record>.callgrind/` beside the
    /// record), and the record's directory they are named relative to.
    profiles: PathBuf,
    record_dir: PathBuf,
    /// The directory holding `gungraun-runner`, first on the bench process's `PATH`.
    runner_dir: PathBuf,
    runner: PathBuf,
}

impl EngineRun for InstrRun<'_> {
    const KIND: EngineKind = EngineKind::Instr;
    const NAME: &'static str = "instr";
    type Metrics = Counted;

    fn command(&self, home: &Path, cases: &[Case]) -> Command {
        let mut command = Command::new(&self.engines.executables.instr);
        command
            .args(["--bench", "--save-summary=json"])
            .env(
                protocol::CASES_VAR,
                protocol::padded_case_list(cases.iter().map(|c| c.key.as_str())),
            )
            .env("GUNGRAUN_HOME", home)
            .env(LABELS_VAR, home.join(INSTR_LABELS_DIR))
            .env("GUNGRAUN_WORKSPACE_ROOT", &self.engines.root)
            // gungraun finds its runner on PATH at run time ($GUNGRAUN_RUNNER counts only
            // when the bench target is compiled); set both so either reading finds it.
            .env("PATH", path_with_first(&self.runner_dir))
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

    fn ingest(
        home: &Path,
        cases: &[Case],
        progress: &dyn Progress,
    ) -> Vec<(usize, Result<Counted, String>)> {
        // The labels only name the code valgrind saw; a bad label file costs the labels,
        // not the instruction counts.
        let labels = ingest_labels(&home.join(INSTR_LABELS_DIR)).unwrap_or_else(|e| {
            progress.line(&format!("instr: path labels not read: {e}"));
            Default::default()
        });
        match ingest_home(home) {
            Ok(summaries) => summaries
                .into_iter()
                .filter_map(|s| match s {
                    Ok(mut s) if s.case_index < cases.len() => {
                        s.metrics.label = labels.get(&cases[s.case_index].key).cloned();
                        Some((
                            s.case_index,
                            Ok(Counted {
                                metrics: s.metrics,
                                profile: s.profile,
                            }),
                        ))
                    }
                    Ok(_) => None,
                    Err(e) => Some((usize::MAX, Err(e.to_string()))),
                })
                .collect(),
            Err(e) => vec![(usize::MAX, Err(e.to_string()))],
        }
    }

    fn store(&self, case: &Case, path: &mut PathRecord, result: EngineResult<Counted>) {
        let metrics = result.metrics.map(|counted| {
            let mut metrics = counted.metrics;
            if let Some(source) = counted.profile {
                match self.keep_profile(&source, &case.key) {
                    Ok(kept) => metrics.callgrind = Some(kept),
                    Err(e) => self.engines.progress.line(&format!(
                        "instr: the profile of {} was not kept: {e:#}",
                        case.key
                    )),
                }
            }
            metrics
        });
        path.instr = Some(EngineResult {
            status: result.status,
            metrics,
        });
    }
}

impl InstrRun<'_> {
    /// Copies a case's callgrind profile beside the record (atomically), named by its case
    /// key, and returns it as the record names it.
    fn keep_profile(&self, source: &Path, key: &str) -> Result<ProfileFile> {
        let bytes =
            std::fs::read(source).with_context(|| format!("reading {}", source.display()))?;
        let name = format!("{}.out", key.replace(['/', '@'], "_"));
        std::fs::create_dir_all(&self.profiles)
            .with_context(|| format!("creating {}", self.profiles.display()))?;
        let target = self.profiles.join(&name);
        crate::sys::fs::write_atomic(&target, &bytes)?;
        let relative = target
            .strip_prefix(&self.record_dir)
            .unwrap_or(&target)
            .display()
            .to_string();
        Ok(ProfileFile {
            path: relative,
            sha256: crate::model::digest::sha256_hex(&bytes),
        })
    }
}

impl Engines<'_> {
    /// Runs the instr engine on the cases of `sizes`; time spent installing its runner is
    /// added to `tools`.
    pub fn run_instr(
        &self,
        recorder: &mut Recorder,
        sizes: &[Size],
        tools: &mut ToolsSpent,
    ) -> Result<Duration> {
        let all = Self::cases(recorder, None);
        let cases = Self::cases(recorder, Some(sizes));
        let tiers: Vec<String> = sizes.iter().map(|s| s.to_string()).collect();
        let why = format!(
            "the instr engine counts the {} tier(s) of this run; --instr-size names others",
            tiers.join(" and ")
        );
        for case in all.iter().filter(|c| !cases.iter().any(|k| k.key == c.key)) {
            recorder.path_mut(case).instr = Some(EngineResult {
                status: Status::Skipped(why.clone()),
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
        match valgrind_version() {
            Some(version) => {
                let artifact = &mut recorder.record.artifact;
                artifact.tools.insert("valgrind".into(), version);
                if let Some(path) = on_path("valgrind") {
                    artifact
                        .tool_paths
                        .insert("valgrind".into(), path.display().to_string());
                }
            }
            None => return skip_all(recorder, VALGRIND_MISSING.into()),
        }
        let cpu_before_install = cpu::now();
        let runner = match ensure_runner(&self.root.join(TOOLS_DIR), self.progress) {
            Ok(runner) => runner,
            Err(e) => {
                return skip_all(
                    recorder,
                    format!(
                        "{} {} unavailable ({e:#}); install it with `cargo install {} --version ={} --locked`",
                        RUNNER_NAME, GUNGRAUN_VERSION, RUNNER_NAME, GUNGRAUN_VERSION
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
        self.progress.line(&format!(
            "instr: {} {} at {} ({})",
            RUNNER_NAME,
            runner.version,
            runner.path.display(),
            runner.source.describe()
        ));
        let artifact = &mut recorder.record.artifact;
        artifact
            .tools
            .insert(RUNNER_NAME.into(), runner.version.clone());
        artifact
            .tool_paths
            .insert(RUNNER_NAME.into(), runner.path.display().to_string());
        let run = InstrRun {
            engines: self,
            profiles: recorder.path.with_extension("callgrind"),
            record_dir: recorder
                .path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            runner_dir,
            runner: runner.path,
        };
        self.run_engine(&run, recorder, cases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(version: &str, id: &str, metrics: &str) -> String {
        format!(
            r#"{{"version":"{version}","id":"{id}","profiles":[{{"tool":"Callgrind","data":{{"parts":[],"total":{{"metrics":{metrics},"regressions":[]}}}}}}]}}"#
        )
    }

    #[test]
    fn reads_the_callgrind_totals_and_the_case_index() {
        let text = summary(
            "7",
            "cases_12",
            r#"{"Ir":{"values":{"new":2785340}},"L1hits":{"values":{"new":3817561}},"LLhits":{"values":{"new":16392}},"RamHits":{"values":{"new":3}},"TotalRW":{"values":{"new":3833956}},"EstimatedCycles":{"values":{"new":3899626}}}"#,
        );
        let doc = JsonFile::parse(Path::new("summary.json"), &text).unwrap();
        let s = parse_summary(&doc).unwrap();
        assert_eq!(s.case_index, 12);
        assert_eq!(s.metrics.instructions, 2_785_340);
        assert_eq!(s.metrics.estimated_cycles, Some(3_899_626));
        assert_eq!(s.metrics.ram_hits, Some(3));
    }

    #[test]
    fn branches_are_conditional_plus_indirect_when_simulated() {
        let text = summary(
            "7",
            "cases_0",
            r#"{"Ir":{"values":{"new":100}},"Bc":{"values":{"new":40}},"Bcm":{"values":{"new":3}},"Bi":{"values":{"new":2}},"Bim":{"values":{"new":1}}}"#,
        );
        let doc = JsonFile::parse(Path::new("summary.json"), &text).unwrap();
        let m = parse_summary(&doc).unwrap().metrics;
        assert_eq!((m.branches, m.branch_misses), (Some(42), Some(4)));
        let text = summary("7", "cases_0", r#"{"Ir":{"values":{"new":100}}}"#);
        let doc = JsonFile::parse(Path::new("summary.json"), &text).unwrap();
        let m = parse_summary(&doc).unwrap().metrics;
        assert_eq!((m.branches, m.branch_misses), (None, None));
    }

    #[test]
    fn other_schema_versions_and_ids_are_rejected_by_name() {
        for (version, id, expected) in [
            ("8", "cases_1", "a/summary.json: field `version` is `8`"),
            (
                "7",
                "other",
                "field `id` is `other`, expected `cases_<index>`",
            ),
            (
                "7",
                "cases_0",
                "field `profiles.0.data.total.metrics.Ir.values.new` is missing",
            ),
        ] {
            let text = summary(version, id, "{}");
            let doc = JsonFile::parse(Path::new("a/summary.json"), &text).unwrap();
            let err = parse_summary(&doc).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn the_runner_directory_goes_first_on_path_under_the_name_gungraun_looks_for() {
        let scratch = tempfile::tempdir().unwrap();
        let tools = scratch.path().join("tools/bin");
        std::fs::create_dir_all(&tools).unwrap();
        let named = Runner {
            path: tools.join(RUNNER_NAME),
            version: GUNGRAUN_VERSION.into(),
            source: RunnerSource::ToolsDir,
            install: std::time::Duration::ZERO,
        };
        assert_eq!(named.bin_dir(scratch.path()).unwrap(), tools);

        // A runner under another name (from $GUNGRAUN_RUNNER) is linked under the real one.
        let other = Runner {
            path: tools.join("my-runner"),
            source: RunnerSource::Variable,
            ..named
        };
        let dir = other.bin_dir(scratch.path()).unwrap();
        assert_eq!(
            std::fs::read_link(dir.join(RUNNER_NAME)).unwrap(),
            tools.join("my-runner")
        );
        // Asking again replaces the link rather than failing.
        assert_eq!(other.bin_dir(scratch.path()).unwrap(), dir);

        let path = path_with_first(&dir);
        let first = std::env::split_paths(&path).next().unwrap();
        assert_eq!(first, dir);
    }

    #[test]
    fn labels_written_by_the_measured_process_are_read_by_case_key() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            ingest_labels(&dir.path().join("absent"))
                .unwrap()
                .is_empty()
        );
        std::fs::write(
            dir.path().join("a.json"),
            r#"{"case":"codec/a/x/tiny@simd","label":"simd (avx2)"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("ignored.txt"), "not a label").unwrap();
        let labels = ingest_labels(dir.path()).unwrap();
        assert_eq!(
            labels.into_iter().collect::<Vec<_>>(),
            vec![("codec/a/x/tiny@simd".to_string(), "simd (avx2)".to_string())]
        );
        std::fs::write(dir.path().join("b.json"), r#"{"case":"x@simd","label":3}"#).unwrap();
        let err = ingest_labels(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("b.json: field `label` is not a string"),
            "{err}"
        );
    }
}
