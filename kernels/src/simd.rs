//! Run-time CPU feature detection shared by every kernel family.

use std::fmt;
use std::sync::OnceLock;

/// The widest SIMD instruction set this process may use, detected once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// No usable vector extension: fast paths fall back to the scalar oracle.
    None,
    /// AVX2 (x86-64-v3 class).
    Avx2,
    /// AVX-512 F + BW + VL (x86-64-v4 class).
    Avx512,
}

impl SimdLevel {
    /// Every level, narrowest first.
    pub const ALL: [SimdLevel; 3] = [SimdLevel::None, SimdLevel::Avx2, SimdLevel::Avx512];

    /// The levels this CPU can run, narrowest first. Tests hold each of them to the oracle;
    /// the ones the hardware lacks are named on stderr, because asking a kernel for a wider
    /// level than the CPU has would silently test the narrower path twice.
    pub fn runnable() -> Vec<SimdLevel> {
        let hardware = Self::hardware();
        Self::ALL
            .into_iter()
            .filter(|&level| {
                let runs = level <= hardware;
                if !runs {
                    eprintln!("skipping level {level}: this CPU supports up to {hardware}");
                }
                runs
            })
            .collect()
    }

    /// The level of this CPU, detected on first call and cached for the process.
    pub fn detect() -> SimdLevel {
        static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
        *LEVEL.get_or_init(|| {
            if let Ok(forced) = std::env::var("BENCHSEAL_SIMD_LEVEL") {
                // Lets tests and users exercise a narrower path on a wider CPU; never widens.
                let wanted = match forced.as_str() {
                    "none" | "scalar" => SimdLevel::None,
                    "avx2" => SimdLevel::Avx2,
                    _ => SimdLevel::Avx512,
                };
                return wanted.min(Self::hardware());
            }
            Self::hardware()
        })
    }

    /// What the hardware supports, ignoring any override.
    pub fn hardware() -> SimdLevel {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
            {
                return SimdLevel::Avx512;
            }
            if is_x86_feature_detected!("avx2") {
                return SimdLevel::Avx2;
            }
        }
        SimdLevel::None
    }

    /// Stable lower-case name, as recorded in run records.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::None => "none",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnable_levels_cover_scalar_and_the_widest() {
        let levels = SimdLevel::runnable();
        eprintln!("levels under test: {levels:?}");
        assert_eq!(
            levels.first(),
            Some(&SimdLevel::None),
            "the scalar path always runs"
        );
        assert_eq!(
            levels.last(),
            Some(&SimdLevel::hardware()),
            "the widest path runs"
        );
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            assert!(
                levels.contains(&SimdLevel::Avx2),
                "an AVX2 CPU runs the AVX2 path: {levels:?}"
            );
        }
    }
}
