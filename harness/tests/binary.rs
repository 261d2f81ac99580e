//! Keeps `cargo test --workspace` honest about which `benchseal` binary it tests.
//!
//! Cargo builds a package's binaries only for that package's own integration tests. The
//! end-to-end CLI tests live in `benchseal-tests` and run `target/<profile>/benchseal`; this
//! test makes every workspace test run rebuild that binary first, so they never exercise a
//! stale one.

use std::process::Command;

#[test]
fn binary_is_built_and_reports_its_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_benchseal"))
        .arg("--version")
        .output()
        .expect("the benchseal binary runs");
    assert!(
        out.status.success(),
        "benchseal --version exited with {}",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        format!("benchseal {}", env!("CARGO_PKG_VERSION"))
    );
}
