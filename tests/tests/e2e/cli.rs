//! The CLI as a user meets it.

use predicates::prelude::*;

use crate::support::benchseal;

#[test]
fn version_prints_the_crate_version() {
    benchseal()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn unknown_subcommand_is_usage_error() {
    benchseal().arg("frobnicate").assert().code(2);
}
