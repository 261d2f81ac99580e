//! What git says about the source tree.

use std::path::Path;
use std::process::Command;

/// The commit and cleanliness of the git tree around `dir`; `(None, None)` outside git.
pub fn state(dir: &Path) -> (Option<String>, Option<bool>, Vec<String>) {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]).map(|s| s.trim().to_string());
    match git(&["status", "--porcelain"]) {
        Some(status) => {
            let changed: Vec<String> = status.lines().map(|l| l.trim().to_string()).collect();
            (commit, Some(!changed.is_empty()), changed)
        }
        None => (commit, None, Vec::new()),
    }
}
