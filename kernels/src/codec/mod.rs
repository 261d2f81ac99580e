//! COBOL copybook record decoding (docs/architecture.md, "Kernels / codec").
//!
//! A [`Layout`] says where each field sits in a record; a [`RecordDecoder`] built from it
//! resolves, once, each field's decoder and the code path, then decodes records (fixed
//! length or RDW framed, see [`RecordFormat`]) into [`Columns`], one buffer per field.
//!
//! Every field kind has a scalar oracle (`display`, `numeric`) written to be obviously
//! right, and a fast path (`x86`, explicit AVX-512 intrinsics behind `#[target_feature]`).
//! [`FastPath::detect`] picks what the CPU supports at run time, not at compile time, so
//! one binary runs the widest path a machine has and reports which one it ran
//! ([`FastPath::label`]). The fast paths never decide an error themselves: a field they
//! reject is decoded again by its oracle, so error kind, byte and offset are the oracle's
//! by construction. COMP/BINARY has no vector path: its scalar form is already a single
//! load and byte swap per field, and both paths run it.
//!
//! Memory-mapped, streaming decoding of files lives in [`file`]; encoders that produce
//! valid records (for generated inputs and round-trip tests) in [`encode`]. [`IconvDisplay`]
//! decodes DISPLAY records with the system's iconv(3) instead: not a kernel of this
//! project but a peer the benches compare the DISPLAY paths with.

mod codepage;
mod columns;
mod decode;
mod display;
pub mod encode;
mod error;
pub mod file;
mod layout;
mod numeric;
mod reference;
mod tables;
#[cfg(test)]
mod testing;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::fmt;

pub use codepage::{CodePage, DisplayTables, Unmappable};
pub use columns::{
    COLUMNS_SCHEMA, Column, ColumnData, Columns, JSONL_FLUSH_BYTES, JsonlWriter, escape_json_string,
};
pub use decode::{Cursor, FieldCodec, RecordDecoder, RecordFormat};
pub use error::{CodecError, ErrorKind, FaultKind, FieldFault, LayoutError};
pub use layout::{
    ByteOrder, Field, FieldKind, LAYOUT_SCHEMA, Layout, MAX_RECORD_LENGTH, ZonedSign,
    binary_min_length, numeric_length,
};
pub use numeric::format_decimal;
pub use reference::{ConvertError, Iconv, IconvDisplay};

use crate::simd::SimdLevel;

/// Which code a caller asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecPath {
    /// The scalar oracles.
    Scalar,
    /// The widest fast path this CPU supports (the oracles when it supports none).
    Simd,
    /// The widest fast path up to this one that the CPU supports: runs a narrower path on
    /// a wider CPU (tests, comparisons); never widens.
    AtMost(FastPath),
}

/// The fast path this process can run, detected once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FastPath {
    /// No usable vector extension: the oracles run.
    None,
    /// AVX2 (+ BMI2): DISPLAY (32-byte `vpshufb` table steps), zoned and COMP-3
    /// vectorised. The widest path valgrind can run, so it is what the instruction-count
    /// engine measures.
    Avx2,
    /// AVX-512 BW/VL: zoned and COMP-3 vectorised; DISPLAY on the AVX2 steps.
    Avx512Bw,
    /// AVX-512 BW/VL plus VBMI/VBMI2 (and BMI2): every vectorised kind.
    Avx512Vbmi2,
}

impl FastPath {
    /// What this CPU supports, capped by [`SimdLevel::detect`] (which honours the
    /// `BENCHSEAL_SIMD_LEVEL` override).
    pub fn detect() -> FastPath {
        #[cfg(target_arch = "x86_64")]
        {
            let level = SimdLevel::detect();
            if level < SimdLevel::Avx2 || !is_x86_feature_detected!("bmi2") {
                return FastPath::None;
            }
            if level < SimdLevel::Avx512 {
                return FastPath::Avx2;
            }
            if is_x86_feature_detected!("avx512vbmi")
                && is_x86_feature_detected!("avx512vbmi2")
                && is_x86_feature_detected!("popcnt")
            {
                return FastPath::Avx512Vbmi2;
            }
            FastPath::Avx512Bw
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = SimdLevel::detect();
            FastPath::None
        }
    }

    /// The fast path that `path` resolves to on this machine.
    pub fn resolve(path: CodecPath) -> FastPath {
        match path {
            CodecPath::Scalar => FastPath::None,
            CodecPath::Simd => FastPath::detect(),
            CodecPath::AtMost(limit) => limit.min(FastPath::detect()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FastPath::None => "scalar",
            FastPath::Avx2 => "avx2",
            FastPath::Avx512Bw => "avx512bw",
            FastPath::Avx512Vbmi2 => "avx512vbmi2",
        }
    }

    /// How the `simd` path is reported, e.g. `simd (avx512vbmi2)`, or
    /// `simd (unavailable: scalar)` on a CPU without a fast path.
    pub fn label(self) -> String {
        match self {
            FastPath::None => "simd (unavailable: scalar)".into(),
            other => format!("simd ({})", other.name()),
        }
    }
}

impl fmt::Display for FastPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
