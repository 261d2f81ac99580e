//! What was measured: benchseal's version, the git commit and whether the tree was dirty,
//! and the SHA-256 of `Cargo.lock`. Each is `None` when it cannot be known (no git, not a
//! checkout), never guessed.

use std::path::Path;
use std::process::Command;

use crate::model::record::Artifact;

/// The artifact description of the workspace at `root` (if any).
pub fn describe(root: Option<&Path>) -> Artifact {
    let git = |args: &[&str]| -> Option<String> {
        let root = root?;
        let out = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let git_commit = git(&["rev-parse", "HEAD"]);
    let git_dirty = git_commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain"]))
        .map(|status| !status.is_empty());
    Artifact {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit,
        git_dirty,
        cargo_lock_sha256: root
            .and_then(|r| crate::sys::fs::file_sha256(&r.join("Cargo.lock")).ok()),
        ..Artifact::default()
    }
}
