//! The bench executables: prebuilt ones when shipped, else built by cargo.
//!
//! An auditor's image or a Nix build ships `benchseal-bench-wall` and
//! `benchseal-bench-instr` next to `benchseal` (or in `$BENCHSEAL_BENCH_DIR`); those run
//! as they are, with no cargo. Otherwise `cargo bench --no-run` builds them in the bench
//! profile and cargo's JSON messages say where they are. Either way their SHA-256 goes
//! into the record, because instruction counts are exact only for the same binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::model::outcome::bad_input;
use crate::model::record::Executable;
use crate::pipeline::progress::Progress;
use crate::pipeline::recorder::Recorder;

/// File name of the prebuilt wall-clock bench executable.
pub const WALL_EXE: &str = "benchseal-bench-wall";
/// File name of the prebuilt instruction-count bench executable.
pub const INSTR_EXE: &str = "benchseal-bench-instr";
/// Directory searched for prebuilt bench executables before the one holding `benchseal`.
pub const BENCH_DIR_VAR: &str = "BENCHSEAL_BENCH_DIR";

/// The two bench executables and where they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchExecutables {
    pub wall: PathBuf,
    pub instr: PathBuf,
    /// Shipped prebuilt rather than built by this run.
    pub prebuilt: bool,
}

/// Prebuilt executables from `$BENCHSEAL_BENCH_DIR` or beside the running `benchseal`.
pub fn prebuilt() -> Option<BenchExecutables> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os(BENCH_DIR_VAR) {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(dir);
    }
    dirs.into_iter().find_map(|dir| {
        let (wall, instr) = (dir.join(WALL_EXE), dir.join(INSTR_EXE));
        (wall.is_file() && instr.is_file()).then_some(BenchExecutables {
            wall,
            instr,
            prebuilt: true,
        })
    })
}

/// Builds the bench targets in `workspace` with `cargo bench --no-run` (cargo's progress
/// goes to stderr) and returns their paths.
pub fn build(workspace: &Path) -> Result<BenchExecutables> {
    build_in(workspace, None)
}

/// [`build`] into another target directory (another commit's build must not replace the
/// working tree's).
pub fn build_in(workspace: &Path, target_dir: Option<&Path>) -> Result<BenchExecutables> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    if let Some(dir) = target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    command
        .current_dir(workspace)
        .args(["bench", "-p", "benchseal-benches", "--no-run", "--locked"])
        .args(["--message-format=json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if cfg!(feature = "cuda") {
        command.args(["--features", "cuda"]);
    }
    let out = command
        .output()
        .context("running cargo bench --no-run (is cargo on PATH?)")?;
    if !out.status.success() {
        bail!(
            "cargo bench -p benchseal-benches --no-run failed in {} ({})",
            workspace.display(),
            out.status
        );
    }
    executables_from_cargo_messages(&String::from_utf8_lossy(&out.stdout))
}

/// The `wall` and `instr` bench executables named in cargo's JSON messages.
pub fn executables_from_cargo_messages(messages: &str) -> Result<BenchExecutables> {
    let (mut wall, mut instr) = (None, None);
    for line in messages.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let is_bench = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bench"));
        let Some(executable) = message["executable"].as_str().filter(|_| is_bench) else {
            continue;
        };
        match message["target"]["name"].as_str() {
            Some("wall") => wall = Some(PathBuf::from(executable)),
            Some("instr") => instr = Some(PathBuf::from(executable)),
            _ => {}
        }
    }
    match (wall, instr) {
        (Some(wall), Some(instr)) => Ok(BenchExecutables {
            wall,
            instr,
            prebuilt: false,
        }),
        (wall, instr) => bail!(
            "cargo built no {} bench executable of benchseal-benches",
            if wall.is_none() {
                "wall"
            } else if instr.is_none() {
                "instr"
            } else {
                ""
            }
        ),
    }
}

/// The Cargo workspace holding the current directory: the nearest ancestor with both
/// `Cargo.toml` and `Cargo.lock`.
pub fn workspace_root() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file() && dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
}

/// The bench executables: prebuilt ones when present, else built from the workspace.
pub fn executables(root: Option<&Path>, progress: &dyn Progress) -> Result<BenchExecutables> {
    if let Some(prebuilt) = prebuilt() {
        progress.line(&format!(
            "using prebuilt bench executables in {}",
            prebuilt.wall.parent().unwrap_or(Path::new(".")).display()
        ));
        return Ok(prebuilt);
    }
    let root = root.ok_or_else(|| {
        bad_input(format!(
            "no prebuilt bench executables ({} and {} beside benchseal or in ${}) and the \
             current directory is not inside the benchseal workspace to build them",
            WALL_EXE, INSTR_EXE, BENCH_DIR_VAR
        ))
    })?;
    progress.line("building the bench executables (cargo bench --no-run)");
    build(root)
}

/// Records the bench executables in the run record: path and SHA-256 of each.
pub fn record(recorder: &mut Recorder, executables: &BenchExecutables) -> Result<()> {
    for (engine, path) in [("wall", &executables.wall), ("instr", &executables.instr)] {
        let sha256 = crate::sys::fs::file_sha256(path)
            .with_context(|| format!("hashing {}", path.display()))?;
        recorder.record.artifact.bench_executables.insert(
            engine.into(),
            Executable {
                path: path.display().to_string(),
                sha256,
            },
        );
    }
    recorder.save()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_both_bench_executables_among_cargo_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"benchseal_benches","kind":["lib"]},"executable":null}
not json
{"reason":"compiler-artifact","target":{"name":"wall","kind":["bench"]},"executable":"/t/release/deps/wall-1"}
{"reason":"compiler-artifact","target":{"name":"instr","kind":["bench"]},"executable":"/t/release/deps/instr-2"}
{"reason":"build-finished","success":true}"#;
        let found = executables_from_cargo_messages(messages).unwrap();
        assert_eq!(found.wall, PathBuf::from("/t/release/deps/wall-1"));
        assert_eq!(found.instr, PathBuf::from("/t/release/deps/instr-2"));
        let err = executables_from_cargo_messages(&messages.replace("\"instr\"", "\"other\""))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cargo built no instr bench executable of benchseal-benches"
        );
    }
}
