//! `benchseal env` as a user meets it, reading fixture system trees through
//! `BENCHSEAL_SYSROOT`.

use predicates::prelude::*;

use crate::support::benchseal_env;
use crate::support::env_trees::{env_json, fixture, tree_contents, writable_copy};

#[test]
fn check_on_a_vm_says_cpufreq_is_unavailable_and_goes_on() {
    let empty = tempfile::tempdir().unwrap();
    benchseal_env(&fixture("vm-no-cpufreq"), empty.path())
        .arg("--check")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "unavailable (no cpufreq on this machine)",
        ))
        .stdout(predicate::str::contains("tuned: no"));
}

#[test]
fn check_json_lists_every_item_with_its_state() {
    let empty = tempfile::tempdir().unwrap();
    let out = benchseal_env(&fixture("intel-pstate"), empty.path())
        .args(["--check", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let governor = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "governor")
        .unwrap();
    assert_eq!(governor["state"], "warn");
    assert!(governor["why"].as_str().unwrap().contains("powersave"));
    assert_eq!(doc["tuned"], false);
}

#[test]
fn json_snapshot_has_schema_class_and_absences() {
    let doc: serde_json::Value = serde_json::from_slice(&env_json("intel-pstate")).unwrap();
    assert_eq!(doc["schema"], "benchseal.env/1");
    assert!(
        doc["machine_class"]
            .as_str()
            .unwrap()
            .starts_with("x86_64-intel-xeon-platinum-8480-")
    );
    assert_eq!(doc["tuning"]["cpufreq"]["policy0"]["governor"], "powersave");
    assert_eq!(
        doc["toolchain"]["rustc"]["absent"],
        "`rustc` is not installed"
    );
}

#[test]
fn table_groups_settings_by_section() {
    let empty = tempfile::tempdir().unwrap();
    benchseal_env(&fixture("amd-boost"), empty.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("[tuning]"))
        .stdout(predicate::str::is_match(r"cpufreq\.policy1\.governor +schedutil").unwrap())
        .stdout(predicate::str::contains("machine_class"));
}

#[test]
fn dry_run_writes_nothing() {
    let root = writable_copy("intel-pstate");
    let before = tree_contents(root.path());
    let empty = tempfile::tempdir().unwrap();
    let state = empty.path().join("pin-state.json");
    benchseal_env(root.path(), empty.path())
        .args(["--pin", "--dry-run", "--state"])
        .arg(&state)
        .assert()
        .success()
        .stdout(predicate::str::contains("would change"))
        .stdout(predicate::str::contains(
            "governor policy0: powersave → performance",
        ))
        .stdout(predicate::str::contains("nothing was changed (--dry-run)"));
    assert_eq!(tree_contents(root.path()), before);
    assert!(!state.exists());
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[test]
fn pin_then_reset_through_the_cli_restores_the_tree() {
    let root = writable_copy("amd-boost");
    let before = tree_contents(root.path());
    let empty = tempfile::tempdir().unwrap();
    let state = root.path().join("state/pin-state.json");
    benchseal_env(root.path(), empty.path())
        .args(["--pin", "--state"])
        .arg(&state)
        .assert()
        .success()
        .stdout(predicate::str::contains("boost/turbo: 1 → 0"))
        .stdout(predicate::str::contains("smt: left on"));
    assert!(state.exists());
    assert_eq!(
        std::fs::read_to_string(root.path().join("sys/devices/system/cpu/cpufreq/boost")).unwrap(),
        "0"
    );
    benchseal_env(root.path(), empty.path())
        .args(["--pin", "--state"])
        .arg(&state)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already pinned"));
    benchseal_env(root.path(), empty.path())
        .args(["--reset", "--state"])
        .arg(&state)
        .assert()
        .success()
        .stdout(predicate::str::contains("restored"));
    let mut after = tree_contents(root.path());
    assert!(after.keys().all(|k| !k.starts_with("state/pin-state.json")));
    after.retain(|k, _| !k.starts_with("state"));
    assert_eq!(after, before);
}

#[test]
fn reset_without_a_pin_is_a_no_op() {
    let empty = tempfile::tempdir().unwrap();
    benchseal_env(&fixture("vm-no-cpufreq"), empty.path())
        .arg("--reset")
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to reset"));
}

#[test]
fn reset_from_a_corrupt_state_file_is_bad_input() {
    let empty = tempfile::tempdir().unwrap();
    let state = empty.path().join("pin-state.json");
    std::fs::write(&state, "{\"schema\": \"benchseal.pin-state/9\"").unwrap();
    benchseal_env(&fixture("vm-no-cpufreq"), empty.path())
        .args(["--reset", "--state"])
        .arg(&state)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pin-state.json"));
}

#[test]
fn conflicting_flags_are_usage_errors() {
    // A writable copy: were a conflict not caught, `--pin` must not touch the fixture.
    let root = writable_copy("vm-no-cpufreq");
    let before = tree_contents(root.path());
    let empty = tempfile::tempdir().unwrap();
    for args in [
        &["--dry-run"][..],
        &["--check", "--pin"],
        &["--pin", "--reset"],
        &["--json", "--pin"],
    ] {
        benchseal_env(root.path(), empty.path())
            .args(args)
            .assert()
            .code(2);
    }
    assert_eq!(tree_contents(root.path()), before);
}
