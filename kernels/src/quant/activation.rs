//! Int8 per-token activation quantisation.

use super::{QuantError, QuantKernel, Shape, check_len, check_scale};

/// The scale sa = 127 / max(max|x|, 1e-5) of one row whose maximum magnitude is `max_abs`.
pub(super) fn row_scale(max_abs: f32) -> f32 {
    127.0 / max_abs.max(1e-5)
}

/// The int8 value of one activation: clamp(round_half_even(x·sa), −128, 127).
#[inline]
pub(super) fn quantize_value(x: f32, scale: f32) -> i8 {
    // `as i8` cannot saturate here: the value is clamped to the i8 range first.
    (x * scale).round_ties_even().clamp(-128.0, 127.0) as i8
}

/// The oracle for one row: returns (sa, Σq).
fn quantize_row_scalar(row: &[f32], q: &mut [i8]) -> (f32, i32) {
    let scale = row_scale(row.iter().fold(0.0f32, |m, v| m.max(v.abs())));
    let mut sum = 0i32;
    for (dst, v) in q.iter_mut().zip(row) {
        *dst = quantize_value(*v, scale);
        sum += i32::from(*dst);
    }
    (scale, sum)
}

/// Activations of `tokens` rows quantised to int8, one scale per row.
///
/// Each row is stored padded with zeros to [`Shape::padded_cols`], so every layout can read
/// whole blocks without a tail case; the padding contributes nothing to any sum. The row
/// sum `Σ q` is kept because the VNNI path computes `Σ (c−1)·q` as `Σ c·q − Σ q`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedActivations {
    shape: Shape,
    padded_cols: usize,
    q: Vec<i8>,
    scales: Vec<f32>,
    sums: Vec<i32>,
}

impl QuantizedActivations {
    /// An all-zero buffer for `tokens × cols`, to be filled by [`Self::quantize_into`].
    pub fn zeroed(shape: Shape) -> Result<Self, QuantError> {
        shape.checked_len()?;
        let padded_cols = shape.padded_cols();
        let total = shape
            .rows
            .checked_mul(padded_cols)
            .ok_or(QuantError::TooLarge { shape })?;
        Ok(QuantizedActivations {
            shape,
            padded_cols,
            q: vec![0; total],
            scales: vec![1.0; shape.rows],
            sums: vec![0; shape.rows],
        })
    }

    /// Quantises `x` (`tokens × cols`, row-major): per row m = max(|x|, 1e-5), sa = 127/m,
    /// q = clamp(round_half_even(x·sa), −128, 127).
    pub fn quantize(x: &[f32], shape: Shape, kernel: QuantKernel) -> Result<Self, QuantError> {
        let expected = shape.checked_len()?;
        check_len("activations", shape, expected, x.len())?;
        let mut out = Self::zeroed(shape)?;
        out.quantize_into(x, kernel)?;
        Ok(out)
    }

    /// Re-quantises new activations of this buffer's shape in place, without allocating.
    /// Every kernel gives the same bytes: max, multiply, round-half-even and clamp are exact
    /// or correctly rounded operations in any order.
    pub fn quantize_into(&mut self, x: &[f32], kernel: QuantKernel) -> Result<(), QuantError> {
        let shape = self.shape;
        let expected = shape.rows * shape.cols;
        check_len("activations", shape, expected, x.len())?;
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(QuantError::NonFinite {
                what: "activations",
                index,
                row: index / shape.cols,
                col: index % shape.cols,
                value: x[index],
            });
        }
        let kernel = kernel.require()?;
        for (t, row) in x.chunks_exact(shape.cols).enumerate() {
            let q = &mut self.q[t * self.padded_cols..][..shape.cols];
            let (scale, sum) = match kernel {
                QuantKernel::Scalar => quantize_row_scalar(row, q),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `require` confirmed AVX2 (implied by every non-scalar kernel);
                // `q` and `row` have the same length.
                _ => unsafe { super::x86::quantize_row_avx2(row, q) },
                #[cfg(not(target_arch = "x86_64"))]
                _ => unreachable!("require() rejects SIMD kernels off x86-64"),
            };
            self.scales[t] = scale;
            self.sums[t] = sum;
        }
        Ok(())
    }

    /// Activations already in int8 (`tokens × cols`) with their per-row scales; the way to
    /// feed extreme values such as −128 that quantisation itself never produces.
    pub fn from_int8(q: &[i8], scales: &[f32], shape: Shape) -> Result<Self, QuantError> {
        let expected = shape.checked_len()?;
        check_len("int8 activations", shape, expected, q.len())?;
        check_len(
            "activation scales",
            Shape::new(shape.rows, 1),
            shape.rows,
            scales.len(),
        )?;
        for (row, scale) in scales.iter().enumerate() {
            check_scale("activation scales", Some(row), *scale)?;
        }
        // Allocated only once the inputs proved the shape real.
        let mut out = Self::zeroed(shape)?;
        for (t, row) in q.chunks_exact(shape.cols).enumerate() {
            out.q[t * out.padded_cols..][..shape.cols].copy_from_slice(row);
            out.sums[t] = row.iter().map(|v| i32::from(*v)).sum();
        }
        out.scales.copy_from_slice(scales);
        Ok(out)
    }

    /// `tokens × cols`.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Row length in storage: `cols` rounded up to whole I2_S blocks.
    pub fn padded_cols(&self) -> usize {
        self.padded_cols
    }

    /// Row `t`, zero-padded to [`Self::padded_cols`] values.
    pub fn row(&self, t: usize) -> &[i8] {
        &self.q[t * self.padded_cols..][..self.padded_cols]
    }

    /// All rows, row-major with padded rows.
    pub fn data(&self) -> &[i8] {
        &self.q
    }

    /// The scale sa of row `t` (q ≈ x·sa).
    pub fn scale(&self, t: usize) -> f32 {
        self.scales[t]
    }

    /// Every row's scale.
    pub fn scales(&self) -> &[f32] {
        &self.scales
    }

    /// Σ q over row `t`.
    pub fn row_sum(&self, t: usize) -> i32 {
        self.sums[t]
    }
}
