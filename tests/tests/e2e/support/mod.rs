//! Helpers shared by the end-to-end tests: the `benchseal` command in the settings the tests
//! need, sealed run records ([`records`]) and fixture system trees ([`env_trees`]).

use std::path::Path;

use assert_cmd::Command;

pub mod env_trees;
pub mod records;
pub mod signing;

/// The built `benchseal` executable.
/// Colour is left to each test: the environment's own colour settings are removed.
pub fn benchseal() -> Command {
    let mut cmd = Command::cargo_bin("benchseal").expect("the benchseal binary is built");
    cmd.env_remove("CLICOLOR_FORCE").env_remove("NO_COLOR");
    cmd
}

/// `benchseal` run in `dir`.
pub fn benchseal_in(dir: &Path) -> Command {
    let mut cmd = benchseal();
    cmd.current_dir(dir);
    cmd
}

/// `benchseal` run in `dir` with `SOURCE_DATE_EPOCH` fixed (2026-01-01T01:00:00Z), so a
/// report's date is known.
pub fn benchseal_dated(dir: &Path) -> Command {
    let mut cmd = benchseal_in(dir);
    cmd.env("SOURCE_DATE_EPOCH", "1767229200");
    cmd
}

/// `benchseal env` reading system files from `root`. PATH points at an empty directory so no
/// real tool (nvidia-smi above all) is run or changed by a test.
pub fn benchseal_env(root: &Path, no_tools: &Path) -> Command {
    let mut cmd = benchseal_in(no_tools);
    cmd.arg("env")
        .env("BENCHSEAL_SYSROOT", root)
        .env("PATH", no_tools)
        .env_remove("BENCHSEAL_PIN_STATE");
    cmd
}
