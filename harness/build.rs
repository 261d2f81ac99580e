//! Records which compiler built this binary (`rustc -vV` of `$RUSTC`), so a prebuilt
//! benchseal (in a container or a Nix store, where no rustc may be on PATH) still knows the
//! toolchain behind its numbers. Only the compiler's own output is embedded: no paths, no
//! timestamps, so reproducible builds stay bit-identical.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let text = Command::new(&rustc)
        .arg("-vV")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("rustc-vv.txt"), text).expect("writing OUT_DIR/rustc-vv.txt");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
