//! Ternarisation of f32 weights into I2_S, and its quality against the f32 weights.
//!
//! The per-tensor scale is s = max(mean|W|, 1e-5). The mean is summed in f64 over eight
//! interleaved lanes (lane j takes the elements whose flat index is j mod 8) combined as
//! `((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7))`: that fixed order is what lets the SIMD paths,
//! which hold the eight lanes in registers, produce the very same scale as the oracle.

use super::i2s::{I2sMatrix, pack_block, ternary_code};
use super::{I2S_BLOCK, I2S_BLOCK_BYTES, QuantError, QuantKernel, Shape, check_len};

/// How far ternarised weights are from the f32 weights they replace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TernaryQuality {
    /// cos∠(W, s·w); 1 is a perfect direction match.
    pub cosine_similarity: f64,
    /// ‖W − s·w‖ / ‖W‖.
    pub relative_rms_error: f64,
}

/// Ternarises `weights` (`shape`, row-major) into a new I2_S matrix.
pub fn ternarize_i2s(
    weights: &[f32],
    shape: Shape,
    kernel: QuantKernel,
) -> Result<I2sMatrix, QuantError> {
    let expected = shape.checked_len()?;
    check_len("weights", shape, expected, weights.len())?;
    let mut out = I2sMatrix::zeroed(shape)?;
    ternarize_i2s_into(weights, shape, kernel, &mut out)?;
    Ok(out)
}

/// Ternarises into `out`, reusing its buffer (no allocation when it already has the size).
pub fn ternarize_i2s_into(
    weights: &[f32],
    shape: Shape,
    kernel: QuantKernel,
    out: &mut I2sMatrix,
) -> Result<(), QuantError> {
    let expected = shape.checked_len()?;
    check_len("weights", shape, expected, weights.len())?;
    let kernel = kernel.require()?;
    let lanes = match kernel {
        QuantKernel::Scalar => abs_sum_lanes(weights),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `require` confirmed the CPU has AVX2 (every non-scalar kernel implies it).
        _ => unsafe { super::x86::abs_sum_lanes_avx2(weights) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("require() rejects SIMD kernels off x86-64"),
    };
    let Some(lanes) = lanes else {
        return Err(first_non_finite(weights, shape));
    };
    let total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    let scale = ((total / expected as f64) as f32).max(1e-5);
    out.reset(shape, scale);
    match kernel {
        QuantKernel::Scalar => pack_rows_scalar(weights, shape, scale, out.packed_mut()),
        #[cfg(target_arch = "x86_64")]
        QuantKernel::Avx2 => {
            // SAFETY: `require` confirmed AVX2.
            unsafe { super::x86::pack_rows_avx2(weights, shape, scale, out.packed_mut()) }
        }
        #[cfg(target_arch = "x86_64")]
        QuantKernel::Avx512Vnni => {
            // SAFETY: `require` confirmed AVX-512 F/BW/VL.
            unsafe { super::x86::pack_rows_avx512(weights, shape, scale, out.packed_mut()) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("require() rejects SIMD kernels off x86-64"),
    }
    Ok(())
}

/// The eight interleaved f64 sums of |w|, or `None` if a value is NaN or infinite.
pub(super) fn abs_sum_lanes(weights: &[f32]) -> Option<[f64; 8]> {
    let mut lanes = [0.0f64; 8];
    for (i, w) in weights.iter().enumerate() {
        if !w.is_finite() {
            return None;
        }
        lanes[i % 8] += f64::from(w.abs());
    }
    Some(lanes)
}

/// The error naming the first NaN or infinite weight.
fn first_non_finite(weights: &[f32], shape: Shape) -> QuantError {
    let index = weights.iter().position(|w| !w.is_finite()).unwrap_or(0);
    QuantError::NonFinite {
        what: "weights",
        index,
        row: index / shape.cols,
        col: index % shape.cols,
        value: weights.get(index).copied().unwrap_or(f32::NAN),
    }
}

/// Scalar ternarise-and-pack of rows `[0, shape.rows)`, also used for SIMD tails.
pub(super) fn pack_rows_scalar(weights: &[f32], shape: Shape, scale: f32, packed: &mut [u8]) {
    let row_bytes = shape.padded_cols() / 4;
    for (row, dst) in weights
        .chunks_exact(shape.cols)
        .zip(packed.chunks_exact_mut(row_bytes))
    {
        pack_row_scalar(row, scale, dst, 0);
    }
}

/// Packs the blocks of one row starting at block `first_block`; columns past the row's end
/// are zero weights (the padding rule).
pub(super) fn pack_row_scalar(row: &[f32], scale: f32, dst: &mut [u8], first_block: usize) {
    for (b, out) in dst
        .chunks_exact_mut(I2S_BLOCK_BYTES)
        .enumerate()
        .skip(first_block)
    {
        pack_block(out, |p| {
            row.get(b * I2S_BLOCK + p)
                .map_or(1, |w| ternary_code(*w, scale))
        });
    }
}

/// Cosine similarity and relative RMS error of `m` (dequantised) against `weights`.
pub fn ternary_quality(weights: &[f32], m: &I2sMatrix) -> Result<TernaryQuality, QuantError> {
    let shape = m.shape();
    let expected = shape.checked_len()?;
    check_len("weights", shape, expected, weights.len())?;
    let scale = f64::from(m.scale());
    let (mut dot, mut norm_w, mut norm_t, mut err) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (r, row) in weights.chunks_exact(shape.cols).enumerate() {
        for (k, w) in row.iter().enumerate() {
            let w = f64::from(*w);
            let t = f64::from(m.weight(r, k).unwrap_or(0)) * scale;
            dot += w * t;
            norm_w += w * w;
            norm_t += t * t;
            err += (w - t) * (w - t);
        }
    }
    if !(norm_w.is_finite() && norm_t.is_finite()) {
        return Err(first_non_finite(weights, shape));
    }
    let (cosine_similarity, relative_rms_error) = if norm_w == 0.0 {
        // All-zero weights ternarise to all zeros: a perfect, if degenerate, match.
        (if norm_t == 0.0 { 1.0 } else { 0.0 }, 0.0)
    } else if norm_t == 0.0 {
        (0.0, 1.0)
    } else {
        (dot / (norm_w.sqrt() * norm_t.sqrt()), (err / norm_w).sqrt())
    };
    Ok(TernaryQuality {
        cosine_similarity,
        relative_rms_error,
    })
}
