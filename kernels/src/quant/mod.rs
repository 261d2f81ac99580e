//! BitNet b1.58 ternary kernels (docs/architecture.md, "Kernels / quant").
//!
//! The family turns f32 weights into ternary weights {-1, 0, +1} with one per-tensor scale,
//! stores them in three layouts and multiplies them with int8 activations:
//!
//! * **I2_S** ([`I2sMatrix`]): bitnet.cpp's x86 layout, 2 bits per weight, the layout every
//!   other one is derived from and the one the GPU path consumes.
//! * **TL1** ([`Tl1Matrix`]): weight pairs as 4-bit indices into a 9-entry table of partial
//!   sums built from each activation pair.
//! * **TL2** ([`Tl2Matrix`]): weight triples as a 4-bit magnitude index into a 14-entry table
//!   plus one sign bit, the last one or two columns as TL1 pairs.
//!
//! **Exactness is the design decision.** Every path (scalar oracle, AVX2, AVX-512 VNNI,
//! CUDA) and every layout computes the same integer sum `Σ w·q` exactly in i32 and turns it
//! into f32 with the one function [`dequantize`], so outputs are byte-identical and a single
//! golden digest covers them all. Fast paths therefore never accumulate in 16 bits beyond a
//! proven bound: AVX2 widens through `vpmaddwd` at once, the table paths flush their 16-bit
//! lanes to i32 every [`lut::FLUSH_STEPS`] steps, well before the worst case (every
//! activation -128) could wrap. The i32 sum itself is bounded by `128·K`, which is why K is
//! limited to [`MAX_COLS`].
//!
//! **Padding rule.** A matrix of `rows × cols` is padded, never rejected, when `cols` is not
//! a multiple of a layout's block: I2_S pads every row with zero weights (code 1) to a
//! multiple of [`I2S_BLOCK`] columns, TL1/TL2 pad rows to tiles of [`TILE_ROWS`] and columns
//! to whole index bytes, always with zero weights. Activations are stored padded with zeros
//! to the same multiple of 128, so padding contributes exactly 0 to every sum and outputs
//! are the same as for the unpadded product.
//!
//! Kernels return [`QuantError`] for bad input (non-finite values with their index, shapes
//! that do not match, buffers of the wrong length); they never panic on data.

mod activation;
mod i2s;
mod lut;
mod ternary;
mod tl1;
mod tl2;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::fmt;

pub use activation::QuantizedActivations;
pub use i2s::{I2sMatrix, gemm_i2s};
pub use lut::LutScratch;
pub use ternary::{TernaryQuality, ternarize_i2s, ternarize_i2s_into, ternary_quality};
pub use tl1::{Tl1Matrix, gemm_tl1};
pub use tl2::{Tl2Matrix, gemm_tl2};

use crate::simd::SimdLevel;

/// Weights per I2_S block: 128 weights packed into 32 bytes.
pub const I2S_BLOCK: usize = 128;
/// Bytes per I2_S block.
pub const I2S_BLOCK_BYTES: usize = 32;
/// Rows per TL1/TL2 tile: one byte lane of a 256-bit register per row.
pub const TILE_ROWS: usize = 32;
/// Largest K (columns): `|Σ w·q| ≤ 128·K` must stay below 2^31 on every path.
pub const MAX_COLS: usize = 1 << 23;
/// Largest padded element count of any buffer a shape implies (f32 outputs and activation
/// scales included), so byte sizes up to 4× it still fit in `isize`.
const MAX_ELEMENTS: usize = isize::MAX as usize / 4;

/// A matrix shape, `rows × cols` (for activations: `tokens × cols`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub rows: usize,
    pub cols: usize,
}

impl Shape {
    pub const fn new(rows: usize, cols: usize) -> Shape {
        Shape { rows, cols }
    }

    /// `rows · cols`, checked: the shape must be non-empty, K within [`MAX_COLS`], and every
    /// size derived from it must fit in memory arithmetic. The largest derived size is the
    /// fully padded one (rows to whole [`TILE_ROWS`] tiles, columns to whole [`I2S_BLOCK`]s);
    /// bounding it here lets every layout compute its buffer sizes without further checks.
    pub fn checked_len(self) -> Result<usize, QuantError> {
        if self.rows == 0 || self.cols == 0 {
            return Err(QuantError::EmptyShape { shape: self });
        }
        if self.cols > MAX_COLS {
            return Err(QuantError::TooManyColumns { shape: self });
        }
        let too_large = QuantError::TooLarge { shape: self };
        let padded_rows = self
            .rows
            .checked_next_multiple_of(TILE_ROWS)
            .ok_or(too_large.clone())?;
        padded_rows
            .checked_mul(self.padded_cols())
            .filter(|n| *n <= MAX_ELEMENTS)
            .ok_or(too_large)?;
        Ok(self.rows * self.cols)
    }

    /// Columns rounded up to whole I2_S blocks (the padded K of every layout).
    pub const fn padded_cols(self) -> usize {
        self.cols.div_ceil(I2S_BLOCK) * I2S_BLOCK
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.rows, self.cols)
    }
}

/// Everything that can be wrong with the input of a quant kernel.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    #[error("shape {shape} is empty")]
    EmptyShape { shape: Shape },
    #[error("shape {shape} has more than {MAX_COLS} columns: i32 sums could overflow")]
    TooManyColumns { shape: Shape },
    #[error("shape {shape} is too large to address")]
    TooLarge { shape: Shape },
    #[error("{what}: shape {shape} needs {expected} values, got {actual}")]
    Length {
        what: &'static str,
        shape: Shape,
        expected: usize,
        actual: usize,
    },
    #[error("{what}: value {value} at index {index} (row {row}, column {col}) is not finite")]
    NonFinite {
        what: &'static str,
        index: usize,
        row: usize,
        col: usize,
        value: f32,
    },
    #[error(
        "dimension mismatch: weights are {weights} (rows×K) but activations are {activations} (tokens×K)"
    )]
    ShapeMismatch { weights: Shape, activations: Shape },
    #[error("output buffer holds {actual} values, {tokens} tokens × {rows} rows needs {expected}")]
    OutputLength {
        tokens: usize,
        rows: usize,
        expected: usize,
        actual: usize,
    },
    #[error("I2_S buffer for {shape}: byte {offset} holds the unused code 3")]
    InvalidCode { shape: Shape, offset: usize },
    #[error("{what}: value {value} at index {index} is not a ternary weight (-1, 0, 1)")]
    NotTernary {
        what: &'static str,
        index: usize,
        value: i8,
    },
    #[error(
        "{what}{}: scale {scale} is not a finite positive number",
        .row.map(|r| format!(" (row {r})")).unwrap_or_default()
    )]
    BadScale {
        what: &'static str,
        /// The activation row (token) the scale belongs to; `None` for a per-tensor scale.
        row: Option<usize>,
        scale: f32,
    },
    #[error("kernel `{kernel}` is not supported by this CPU")]
    Unsupported { kernel: &'static str },
}

/// The concrete implementation a quant kernel call runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuantKernel {
    /// The scalar oracle.
    Scalar,
    /// AVX2: `vpmaddubsw` + `vpmaddwd` for I2_S, `vpshufb` tables for TL1/TL2.
    Avx2,
    /// AVX-512 with VNNI: `vpdpbusd` on two rows per 512-bit register for I2_S; the TL1/TL2
    /// table kernels are the AVX2 ones (their 16-entry `vpshufb` tables gain nothing from
    /// wider registers that the extra row tile would not cost back in layout complexity).
    Avx512Vnni,
}

impl QuantKernel {
    pub const ALL: [QuantKernel; 3] = [
        QuantKernel::Scalar,
        QuantKernel::Avx2,
        QuantKernel::Avx512Vnni,
    ];

    /// The fastest kernel this process may use, following [`SimdLevel::detect`] (and so the
    /// `BENCHSEAL_SIMD_LEVEL` override).
    pub fn detect() -> QuantKernel {
        match SimdLevel::detect() {
            SimdLevel::Avx512 if QuantKernel::Avx512Vnni.is_supported() => QuantKernel::Avx512Vnni,
            SimdLevel::Avx512 | SimdLevel::Avx2 if QuantKernel::Avx2.is_supported() => {
                QuantKernel::Avx2
            }
            _ => QuantKernel::Scalar,
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            QuantKernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            QuantKernel::Avx2 => is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            QuantKernel::Avx512Vnni => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Every kernel this CPU can run, scalar first.
    pub fn supported() -> Vec<QuantKernel> {
        QuantKernel::ALL
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
    }

    /// Stable lower-case name, as recorded in run records.
    pub fn name(self) -> &'static str {
        match self {
            QuantKernel::Scalar => "scalar",
            QuantKernel::Avx2 => "avx2",
            QuantKernel::Avx512Vnni => "avx512vnni",
        }
    }

    /// `Err(Unsupported)` unless this CPU can run the kernel: the guard every `unsafe`
    /// dispatch to a `#[target_feature]` function relies on.
    fn require(self) -> Result<QuantKernel, QuantError> {
        if self.is_supported() {
            Ok(self)
        } else {
            Err(QuantError::Unsupported {
                kernel: self.name(),
            })
        }
    }
}

impl fmt::Display for QuantKernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The one conversion of an exact integer sum into an output value, shared by every path
/// (the CUDA kernel performs the same three correctly rounded operations in the same order).
#[inline]
pub fn dequantize(sum: i32, weight_scale: f32, activation_scale: f32) -> f32 {
    sum as f32 * weight_scale / activation_scale
}

/// `Err(BadScale)` unless `scale` is finite and positive: the one rule for weight and
/// activation scales (a zero or negative scale would flip or erase every output).
fn check_scale(what: &'static str, row: Option<usize>, scale: f32) -> Result<(), QuantError> {
    if scale.is_finite() && scale > 0.0 {
        Ok(())
    } else {
        Err(QuantError::BadScale { what, row, scale })
    }
}

/// `Err(Length)` unless a buffer of `what` for `shape` holds `expected` values.
fn check_len(
    what: &'static str,
    shape: Shape,
    expected: usize,
    actual: usize,
) -> Result<(), QuantError> {
    if actual == expected {
        Ok(())
    } else {
        Err(QuantError::Length {
            what,
            shape,
            expected,
            actual,
        })
    }
}

/// Checks that `out` can hold `tokens × rows` outputs and that weights and activations
/// agree on K.
fn check_product(
    weights: Shape,
    activations: &QuantizedActivations,
    out: &[f32],
) -> Result<(), QuantError> {
    let act = activations.shape();
    if act.cols != weights.cols {
        return Err(QuantError::ShapeMismatch {
            weights,
            activations: act,
        });
    }
    let expected = act
        .rows
        .checked_mul(weights.rows)
        .ok_or(QuantError::TooLarge { shape: weights })?;
    if out.len() != expected {
        return Err(QuantError::OutputLength {
            tokens: act.rows,
            rows: weights.rows,
            expected,
            actual: out.len(),
        });
    }
    Ok(())
}
