//! Bench executables of another commit, for the baseline side of a paired session.
//!
//! A paired comparison runs the baseline's own code, not a number it once recorded: the
//! commit is checked out in a temporary git worktree and its bench targets are built with
//! its own `Cargo.lock` and toolchain pin into
//! `.benchseal/builds/<commit>-<toolchain>-<lock hash>/target`. A later session with the same
//! three finds the executables there and builds nothing; the time a build took is reported
//! apart from measuring.
//!
//! Every way this can fail is said exactly, so the caller can fall back to the baseline's
//! recorded numbers: the revision is not in the repository, the record came from a dirty
//! checkout, or the build failed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use crate::model::record::SessionBuild;
use crate::pipeline::benches::{self, BenchExecutables};
use crate::pipeline::progress::Progress;

/// Where built commits are kept, under the workspace root.
pub const BUILDS_DIR: &str = ".benchseal/builds";

/// The bench executables of a commit, and how they were obtained.
#[derive(Clone, Debug)]
pub struct BuiltSide {
    pub executables: BenchExecutables,
    pub build: SessionBuild,
}

/// What the cache keeps beside the target directory.
#[derive(Serialize, Deserialize)]
struct Stamp {
    commit: String,
    wall: PathBuf,
    instr: PathBuf,
    build_s: f64,
}

fn git(root: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running git (is it on PATH?)")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Removes a worktree of ours; one already gone is no error.
fn remove_worktree(root: &Path, source: &Path) {
    let _ = git(
        root,
        &[
            "worktree",
            "remove",
            "--force",
            &source.display().to_string(),
        ],
    );
}

/// The full commit id of `rev` in the repository at `root`.
pub fn resolve(root: &Path, rev: &str) -> Result<String> {
    git(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .ok()
    .filter(|c| !c.is_empty())
    .ok_or_else(|| {
        anyhow!(
            "commit `{rev}` is not in this repository ({})",
            root.display()
        )
    })
}

/// The cache directory name of a commit: `<commit>-<toolchain>-<lock hash>`, from the
/// commit's own `rust-toolchain.toml` channel and `Cargo.lock`.
pub fn cache_key(root: &Path, commit: &str) -> Result<String> {
    let lock = git(root, &["show", &format!("{commit}:Cargo.lock")])
        .with_context(|| format!("commit {commit} has no Cargo.lock"))?;
    let lock_hash = crate::model::digest::sha256_hex(lock.as_bytes());
    let toolchain = git(root, &["show", &format!("{commit}:rust-toolchain.toml")])
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix("channel"))
                .map(|rest| {
                    rest.trim_start_matches([' ', '='])
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
        })
        .unwrap_or_else(|| "unpinned".into());
    Ok(format!(
        "{}-{toolchain}-{}",
        &commit[..12.min(commit.len())],
        &lock_hash[..12]
    ))
}

/// The bench executables of `rev`, built once and cached. When `rev` is the checkout's own
/// clean HEAD, the checkout's build is that build: it is used as it is (an A/A session
/// then runs the very same executables on both sides).
pub fn build_commit(root: &Path, rev: &str, progress: &dyn Progress) -> Result<BuiltSide> {
    let commit = resolve(root, rev)?;
    let clean = git(root, &["status", "--porcelain"]).is_ok_and(|s| s.is_empty());
    if clean && resolve(root, "HEAD").is_ok_and(|head| head == commit) {
        progress.line(&format!(
            "{} is this checkout's clean HEAD: using its own bench executables",
            &commit[..12]
        ));
        let started = Instant::now();
        let executables = benches::build(root)?;
        return Ok(BuiltSide {
            executables,
            build: SessionBuild {
                commit,
                dir: root.join("target").display().to_string(),
                build_s: started.elapsed().as_secs_f64(),
                cached: true,
            },
        });
    }
    let key = cache_key(root, &commit)?;
    let dir = root.join(BUILDS_DIR).join(&key);
    let stamp_path = dir.join("executables.json");
    if let Ok(text) = std::fs::read_to_string(&stamp_path)
        && let Ok(stamp) = serde_json::from_str::<Stamp>(&text)
        && stamp.commit == commit
        && stamp.wall.is_file()
        && stamp.instr.is_file()
    {
        progress.line(&format!(
            "bench executables of {} cached in {}",
            &commit[..12],
            dir.display()
        ));
        return Ok(BuiltSide {
            executables: BenchExecutables {
                wall: stamp.wall,
                instr: stamp.instr,
                prebuilt: false,
            },
            build: SessionBuild {
                commit,
                dir: dir.display().to_string(),
                build_s: 0.0,
                cached: true,
            },
        });
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let source = dir.join("src");
    if source.exists() {
        remove_worktree(root, &source);
        let _ = std::fs::remove_dir_all(&source);
    }
    let _ = git(root, &["worktree", "prune"]);
    git(
        root,
        &[
            "worktree",
            "add",
            "--detach",
            "--force",
            &source.display().to_string(),
            &commit,
        ],
    )
    .with_context(|| format!("checking out {commit} in a worktree"))?;
    progress.line(&format!(
        "building the bench executables of {} in {} (cargo bench --no-run)",
        &commit[..12],
        dir.display()
    ));
    let started = Instant::now();
    let built = benches::build_in(&source, Some(&dir.join("target")));
    // The executables live in the target directory; the checkout is not needed again.
    remove_worktree(root, &source);
    let executables = built.with_context(|| format!("building commit {commit}"))?;
    let build_s = started.elapsed().as_secs_f64();
    let stamp = Stamp {
        commit: commit.clone(),
        wall: executables.wall.clone(),
        instr: executables.instr.clone(),
        build_s,
    };
    crate::sys::fs::write_atomic(
        &stamp_path,
        serde_json::to_string_pretty(&stamp)?.as_bytes(),
    )?;
    Ok(BuiltSide {
        executables,
        build: SessionBuild {
            commit,
            dir: dir.display().to_string(),
            build_s,
            cached: false,
        },
    })
}

/// The cases (`workload-id@path`) among `keys` that the wall executable knows, asked with
/// criterion's `--list`. An older executable rejects a workload it does not have (exit 2
/// naming it); that entry is dropped and the question asked again.
pub fn known_cases(wall: &Path, keys: &[String]) -> Result<Vec<String>> {
    let mut keys: Vec<String> = keys.to_vec();
    for _ in 0..=keys.len() {
        if keys.is_empty() {
            return Ok(keys);
        }
        let out = Command::new(wall)
            .args(["--bench", "--list"])
            .env(
                benchseal_benches::protocol::CASES_VAR,
                benchseal_benches::protocol::case_list(keys.iter().map(String::as_str)),
            )
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} --list", wall.display()))?;
        if out.status.success() {
            let listed = String::from_utf8_lossy(&out.stdout);
            let known: Vec<String> = listed
                .lines()
                .filter_map(|l| l.strip_suffix(": benchmark"))
                .filter_map(|name| {
                    let (id, path) = name.rsplit_once('/')?;
                    Some(benchseal_benches::protocol::case_key(id, path))
                })
                .collect();
            return Ok(keys.into_iter().filter(|k| known.contains(k)).collect());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let before = keys.len();
        // `unknown workload `id`` or `workload `id` has no P path`
        let rejected: Vec<&str> = stderr.split('`').skip(1).step_by(2).collect();
        keys.retain(|k| {
            !rejected.iter().any(|r| {
                benchseal_benches::protocol::split_case_key(k).is_some_and(|(id, _)| id == *r)
            })
        });
        if keys.len() == before {
            bail!(
                "{} --list failed ({}): {}",
                wall.display(),
                out.status,
                stderr.trim()
            );
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revision_outside_the_repository_is_named() {
        let root = benches::workspace_root().unwrap();
        let err = resolve(&root, "0123456789abcdef0123456789abcdef01234567")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "commit `0123456789abcdef0123456789abcdef01234567` is not in this repository"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_cache_key_names_commit_toolchain_and_lock() {
        let root = benches::workspace_root().unwrap();
        let head = resolve(&root, "HEAD").unwrap();
        let key = cache_key(&root, &head).unwrap();
        let parts: Vec<&str> = key.split('-').collect();
        assert_eq!(parts[0], &head[..12]);
        assert_eq!(parts[1], "1.95.0");
        assert_eq!(parts[2].len(), 12);
    }
}
