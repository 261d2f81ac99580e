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

/// Completion scripts come from the command line's own definition: each names the binary
/// and knows the subcommands and their flags.
#[test]
fn completions_for_each_shell_know_the_subcommands() {
    for (shell, marker) in [
        ("bash", "complete -F _benchseal"),
        ("zsh", "#compdef benchseal"),
        ("fish", "complete -c benchseal"),
    ] {
        let out = benchseal().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: no `{marker}`");
        for word in ["signoff", "verify", "--quick"] {
            assert!(script.contains(word), "{shell}: no `{word}`");
        }
    }
    benchseal()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tcsh"));
}

/// `man` prints the top page; `man --out-dir` writes one page per subcommand, nested ones
/// included, and a directory it cannot create is bad input.
#[test]
fn man_pages_cover_every_subcommand() {
    benchseal()
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH benchseal 1"))
        .stdout(predicate::str::contains("signoff"));
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    benchseal()
        .args(["man", "--out-dir"])
        .arg(&out_dir)
        .assert()
        .success();
    for page in [
        "benchseal.1",
        "benchseal-run.1",
        "benchseal-signoff.1",
        "benchseal-baseline-save.1",
        "benchseal-completions.1",
    ] {
        let text =
            std::fs::read_to_string(out_dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    let signoff = std::fs::read_to_string(out_dir.join("benchseal-signoff.1")).unwrap();
    assert!(
        signoff.contains("\\-\\-baseline"),
        "the signoff page lists its flags"
    );
    assert!(!out_dir.join("benchseal-help.1").exists());
    benchseal()
        .args(["man", "--out-dir", "/dev/null/man1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/dev/null/man1"));
}
