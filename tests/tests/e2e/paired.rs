//! Paired A/B sessions on real builds (`compare --ab`). These build bench executables and
//! measure for minutes, so they are ignored by default; run them with
//! `cargo test -p benchseal-tests --test e2e -- --ignored paired::`.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use serde_json::Value;

use crate::support::benchseal_in;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Process::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The scalar content scan of binary detection made 5% slower: the dispatcher times the
/// scalar scan and then spins for a twentieth of that time. The scan's own code is left as
/// it is: changing its loop (scanning a twentieth of the sample again, in the same
/// function) moved the loop's code and cost 17-20% in these runs, and the same source
/// change measured from -35% to +55% in a stand-alone program across build settings; a
/// slowdown planted by code placement would not be 5%.
const PLANTED: &str = "        _ => {
            let started = std::time::Instant::now();
            let stats = sample_stats_scalar(sample);
            let spent = started.elapsed();
            while started.elapsed() < spent * 21 / 20 {
                std::hint::spin_loop();
            }
            stats
        }
";

/// A commit of HEAD with the slowdown planted, made in a temporary worktree that is removed
/// again: the checkout itself is never touched.
fn planted_commit(root: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let worktree = dir.path().join("planted");
    let worktree_arg = worktree.display().to_string();
    git(
        root,
        &["worktree", "add", "--detach", &worktree_arg, "HEAD"],
    );
    let file = worktree.join("kernels/src/sync/detect.rs");
    let source = std::fs::read_to_string(&file).unwrap();
    let original = "        _ => sample_stats_scalar(sample),\n";
    assert!(source.contains(original), "the scalar dispatch moved");
    std::fs::write(&file, source.replacen(original, PLANTED, 1)).unwrap();
    git(
        &worktree,
        &[
            "-c",
            "user.name=benchseal test",
            "-c",
            "user.email=test@benchseal.invalid",
            "commit",
            "--quiet",
            "-am",
            "planted: scalar content scan 5% slower",
        ],
    );
    let commit = git(&worktree, &["rev-parse", "HEAD"]);
    git(root, &["worktree", "remove", "--force", &worktree_arg]);
    commit
}

fn line<'a>(comparison: &'a Value, benchmark: &str, metric: &str) -> &'a Value {
    comparison["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["benchmark"] == benchmark && m["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} line for {benchmark}: {comparison}"))
}

/// A 5% slowdown planted in one kernel is found by a real paired run, and the path it was
/// not planted in is not called a regression.
#[test]
#[ignore = "builds a planted commit and measures for minutes"]
fn a_planted_five_percent_slowdown_is_detected() {
    let root = workspace_root();
    let planted = planted_commit(&root);
    let runs = tempfile::tempdir().unwrap();
    let out = benchseal_in(&root)
        .args(["compare", "--ab", "HEAD", &planted])
        .args([
            "--workload",
            "sync/detect/text-8kib/small",
            "--executions",
            "5",
        ])
        .args(["--format", "json", "--runs-dir"])
        .arg(runs.path())
        .timeout(std::time::Duration::from_secs(3600))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let comparison: Value = serde_json::from_str(&stdout).expect("stdout is the comparison");
    let scalar = line(&comparison, "sync/detect/text-8kib/small@scalar", "wall");
    let instructions = line(
        &comparison,
        "sync/detect/text-8kib/small@scalar",
        "instructions",
    );
    let simd = line(&comparison, "sync/detect/text-8kib/small@simd", "wall");
    eprintln!("scalar wall: {scalar}\nsimd wall: {simd}\ninstructions: {instructions}");
    assert_eq!(scalar["verdict"], "regressed", "{scalar}");
    assert_eq!(scalar["basis"]["kind"], "paired", "{scalar}");
    assert_eq!(scalar["fails"], true, "{scalar}");
    let ratio = scalar["ratio"].as_f64().unwrap();
    assert!((1.02..1.12).contains(&ratio), "{scalar}");
    // The slowdown is time, not work: the spin adds a few instructions (its loop runs as
    // long under callgrind as the scan's twentieth does), so the counts differ a little and
    // the wall regression is not put down to code placement.
    assert!(
        instructions["new"].as_f64() > instructions["old"].as_f64(),
        "{instructions}"
    );
    assert_ne!(simd["verdict"], "regressed", "{simd}");
}
