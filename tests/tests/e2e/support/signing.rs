//! Signing keys for the tests: a fresh ed25519 key and the `allowed_signers` line that
//! lists it, made in pure Rust so no test needs ssh-keygen to sign.

use std::path::{Path, PathBuf};

use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, LineEnding, PrivateKey};

/// The identity the tests' signers file gives a key.
pub const SIGNER: &str = "release@example.org";

/// Writes a new private key to `dir/<name>` (mode 0600) and returns its path and the
/// `allowed_signers` line for it.
pub fn key(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).unwrap();
    let path = dir.join(name);
    key.write_openssh_file(&path, LineEnding::LF).unwrap();
    let line = format!(
        "{SIGNER} namespaces=\"benchseal\" {}\n",
        key.public_key().to_openssh().unwrap()
    );
    (path, line)
}

/// A key listed in `dir/allowed_signers`; returns the key's path.
pub fn listed_key(dir: &Path) -> PathBuf {
    let (path, line) = key(dir, "release_key");
    std::fs::write(dir.join("allowed_signers"), line).unwrap();
    path
}

/// Signs `file` with the key at `key` (`<file>.sig`).
pub fn sign(key: &Path, file: &Path) {
    benchseal::sys::sign::SigningKey::load(key)
        .unwrap()
        .sign_file(file)
        .unwrap();
}
