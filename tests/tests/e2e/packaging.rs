//! Packaging: a release build of benchseal depends on the source, the lock file and the toolchain,
//! never on the directory it was built in or on when it was built.
//!
//! The check exports the committed tree (`git archive HEAD`) into two directories whose paths
//! differ in name and in length, builds `benchseal` in release mode in each with its own target
//! directory, and compares the two executables byte for byte. A difference names the first
//! differing offset and any build path that leaked into the binary.
//!
//! Two cold release builds take minutes, so the test is `#[ignore]`d in the everyday
//! `cargo test` and run by `.ci/steps/65-reproducible-build.sh`
//! (`cargo test -p benchseal-tests --test e2e -- --ignored packaging::`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use benchseal::model::digest::sha256_hex;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
        .to_path_buf()
}

fn run(command: &mut Command, what: &str) {
    let status = command
        .status()
        .unwrap_or_else(|err| panic!("{what}: cannot start: {err}"));
    assert!(status.success(), "{what}: {status}");
}

/// Exports the committed HEAD into `dest`, as a clean checkout would have it.
fn export_head(root: &Path, dest: &Path) {
    fs::create_dir_all(dest).unwrap_or_else(|err| panic!("create {}: {err}", dest.display()));
    let archive = dest.with_extension("tar");
    run(
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["archive", "--format=tar", "-o"])
            .arg(&archive)
            .arg("HEAD"),
        "git archive HEAD",
    );
    run(
        Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(dest),
        "tar -x",
    );
}

/// `cargo build --release --locked -p benchseal --bin benchseal` in `checkout`, with a target
/// directory of its own, and the built executable's path.
fn release_build(checkout: &Path) -> PathBuf {
    let target_dir = checkout.join("target");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(checkout)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "benchseal",
            "--bin",
            "benchseal",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        // The two builds must see the same flags; whatever the caller's environment injects
        // into one build would be a difference of the test, not of the sources.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_BUILD_RUSTC_WRAPPER")
        .stdout(Stdio::null());
    run(
        &mut cargo,
        &format!("release build in {}", checkout.display()),
    );
    target_dir.join("release").join("benchseal")
}

#[test]
#[ignore = "two cold release builds; run by .ci/steps/65-reproducible-build.sh"]
fn release_builds_from_two_checkouts_are_bit_identical() {
    let root = workspace_root();
    let scratch = tempfile::tempdir().expect("a temporary directory");
    // Different names and different lengths, so a leaked absolute path cannot cancel out.
    let first = scratch.path().join("a");
    let second = scratch
        .path()
        .join("checkout-in-a-longer-directory")
        .join("b");
    export_head(&root, &first);
    export_head(&root, &second);

    // Side by side: much of a release build (LTO, one codegen unit) runs on one core, so two
    // at once take far less than two in a row.
    let (first_exe, second_exe) = std::thread::scope(|scope| {
        let first_build = scope.spawn(|| release_build(&first));
        let second_exe = release_build(&second);
        (first_build.join().expect("the first build"), second_exe)
    });
    let first_bytes = fs::read(&first_exe).expect("first build's benchseal");
    let second_bytes = fs::read(&second_exe).expect("second build's benchseal");

    if first_bytes != second_bytes {
        let offset = first_bytes
            .iter()
            .zip(&second_bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(first_bytes.len().min(second_bytes.len()));
        let leaked: Vec<&str> = [&first, &second]
            .iter()
            .filter_map(|dir| dir.to_str())
            .filter(|dir| {
                first_bytes
                    .windows(dir.len())
                    .chain(second_bytes.windows(dir.len()))
                    .any(|window| window == dir.as_bytes())
            })
            .collect();
        panic!(
            "release builds differ: {} ({} bytes, sha256 {}) vs {} ({} bytes, sha256 {}); \
             first difference at byte {offset}; build directories found inside: {leaked:?}",
            first_exe.display(),
            first_bytes.len(),
            sha256_hex(&first_bytes),
            second_exe.display(),
            second_bytes.len(),
            sha256_hex(&second_bytes),
        );
    }
    println!(
        "bit-identical: sha256 {} ({} bytes)",
        sha256_hex(&first_bytes),
        first_bytes.len()
    );
}
