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

/// The scalar content scan of binary detection made about 5% more expensive: after its loop
/// it scans the first twentieth of the sample again, the same way, into a black box.
const PLANTED: &str = "    for &b in sample {
        stats.has_nul |= b == 0;
        stats.suspicious += usize::from(is_suspicious(b));
    }
    let extra = std::hint::black_box(&sample[..sample.len() / 20]);
    let mut again = SampleStats::default();
    for &b in extra {
        again.has_nul |= b == 0;
        again.suspicious += usize::from(is_suspicious(b));
    }
    std::hint::black_box(again);
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
    let original = "    for &b in sample {
        stats.has_nul |= b == 0;
        stats.suspicious += usize::from(is_suspicious(b));
    }
";
    assert!(source.contains(original), "the scalar scan moved");
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
    assert_eq!(scalar["verdict"], "regressed", "{scalar}");
    assert_eq!(scalar["basis"]["kind"], "paired", "{scalar}");
    let ratio = scalar["ratio"].as_f64().unwrap();
    assert!((1.02..1.12).contains(&ratio), "{scalar}");
    let instructions = line(
        &comparison,
        "sync/detect/text-8kib/small@scalar",
        "instructions",
    );
    assert_eq!(instructions["verdict"], "regressed", "{instructions}");
    let simd = line(&comparison, "sync/detect/text-8kib/small@simd", "wall");
    assert_ne!(simd["verdict"], "regressed", "{simd}");
    eprintln!("scalar wall: {scalar}\nsimd wall: {simd}\ninstructions: {instructions}");
}
