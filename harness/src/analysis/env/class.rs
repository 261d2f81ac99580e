//! [`MachineClass`]: the key baselines are stored under.
//!
//! Two runs belong to the same class when their numbers are expected to be comparable,
//! so only what *should* split baselines goes in:
//!
//! - the architecture and the CPU: vendor, family, model number and model name (a
//!   different micro-architecture is a different machine);
//! - the kernel paths the families chose (`simd (avx512)` and `simd (avx2)` are different
//!   code) and the target features compiled in (they change the instructions `wide` emits);
//! - the toolchain that built the binary: rustc release and host triple, as embedded at
//!   build time (a new compiler is a new binary; a prebuilt binary has no rustc on PATH);
//! - the names of NVIDIA GPUs, from nvidia-smi or else from the CUDA driver.
//!
//! Deliberately left out, though recorded and diffed: stepping and microcode, core count,
//! memory size, kernel, OS, frequency policy, load, git commit. They change a number too,
//! but a baseline for each combination would leave nothing to compare against; they show
//! up in the report's environment diff instead.
//!
//! The id is a readable slug (architecture, vendor, model, detected SIMD level, rustc
//! release) plus the first 8 hex digits of the SHA-256 of the basis lines, e.g.
//! `x86_64-intel-xeon-processor-avx512-rust1.95.0-1a2b3c4d`: the slug is for people, the
//! hash keeps two classes with the same slug apart.

use crate::model::env::{Captured, EnvSnapshot};

/// A machine class id and the lines it was derived from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineClass {
    pub id: String,
    pub basis: Vec<String>,
}

impl MachineClass {
    /// The class of the machine and build described by `snap` (its `machine_class`
    /// fields are ignored).
    pub fn of(snap: &EnvSnapshot) -> MachineClass {
        let shown = |c: &Captured<String>| c.value().cloned().unwrap_or_else(|| "unknown".into());
        let cpu = &snap.cpu;
        let rustc = snap.toolchain.built_with.value();
        let release = rustc.map_or_else(|| "unknown".into(), |r| r.release.clone());
        let host = rustc.map_or_else(|| "unknown".into(), |r| shown(&r.host));
        // nvidia-smi names every device; without it, the CUDA view names the one in use.
        let gpus: Vec<String> = match (snap.gpu.nvidia_smi.value(), snap.gpu.cuda.value()) {
            (Some(smi), _) => smi.devices.values().map(|d| d.name.clone()).collect(),
            (None, Some(cuda)) => cuda.get("name").cloned().into_iter().collect(),
            (None, None) => Vec::new(),
        };
        let paths: Vec<String> = snap
            .build
            .kernel_paths
            .iter()
            .map(|(family, label)| format!("{family}={label}"))
            .collect();
        let basis = vec![
            format!("arch: {}", cpu.arch),
            format!("cpu vendor: {}", shown(&cpu.vendor)),
            format!(
                "cpu family/model: {}/{}",
                shown(&cpu.family),
                shown(&cpu.model)
            ),
            format!("cpu model name: {}", shown(&cpu.model_name)),
            format!("kernel paths: {}", paths.join(", ")),
            format!("target features: {}", snap.build.target_features.join(",")),
            format!("rustc: {release} ({host})"),
            format!(
                "gpus: {}",
                if gpus.is_empty() {
                    "none".into()
                } else {
                    gpus.join(", ")
                }
            ),
        ];
        let hash = crate::model::digest::sha256_hex(basis.join("\n").as_bytes());
        let mut parts = vec![cpu.arch.clone()];
        parts.extend(vendor_slug(cpu.vendor.value().map(String::as_str)));
        parts.extend(model_slug(cpu.model_name.value().map(String::as_str)));
        // The detected SIMD level names the path in the slug; the families' full labels
        // (e.g. `simd (avx512vnni; tl1/tl2 avx2)`) are in the basis, hence in the hash.
        parts.extend(Some(slugify(&snap.build.simd_level)).filter(|s| !s.is_empty()));
        parts.push(format!("rust{release}"));
        parts.push(hash[..8].to_string());
        MachineClass {
            id: parts.join("-"),
            basis,
        }
    }
}

fn vendor_slug(vendor: Option<&str>) -> Option<String> {
    let slug = match vendor? {
        "GenuineIntel" => "intel".to_string(),
        "AuthenticAMD" => "amd".to_string(),
        other => slugify(other),
    };
    (!slug.is_empty()).then_some(slug)
}

/// The model name without trademarks, vendor, `CPU`, and clock speed, at most five words:
/// `Intel(R) Xeon(R) Platinum 8480+ @ 2.0GHz` → `xeon-platinum-8480`.
fn model_slug(model: Option<&str>) -> Option<String> {
    let model = model?.split('@').next().unwrap_or("");
    let cleaned = model
        .replace("(R)", " ")
        .replace("(r)", " ")
        .replace("(TM)", " ")
        .replace("(tm)", " ");
    let noise = ["intel", "amd", "cpu", "core", "with", "radeon", "graphics"];
    let words: Vec<String> = cleaned
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .filter(|w| !noise.contains(&w.as_str()))
        .take(5)
        .collect();
    (!words.is_empty()).then(|| words.join("-"))
}

fn slugify(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_become_short_slugs() {
        assert_eq!(
            model_slug(Some("Intel(R) Xeon(R) Platinum 8480+ @ 2.00GHz")).unwrap(),
            "xeon-platinum-8480"
        );
        assert_eq!(
            model_slug(Some("AMD Ryzen 9 7950X 16-Core Processor")).unwrap(),
            "ryzen-9-7950x-16-processor"
        );
        assert_eq!(model_slug(Some("(R)")), None);
    }

    #[test]
    fn slugs_keep_letters_and_digits_only() {
        assert_eq!(
            slugify("simd (avx512vnni; tl1/tl2 avx2)"),
            "simd-avx512vnni-tl1-tl2-avx2"
        );
        assert_eq!(slugify(" -- "), "");
    }
}
