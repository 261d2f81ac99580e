//! The I2_S layout (bitnet.cpp, x86) and its GEMV/GEMM.
//!
//! Codes: −1→0, 0→1, +1→2 (3 unused). Each row is a sequence of blocks of 128 weights in
//! 32 bytes, byte p = c[p]<<6 | c[p+32]<<4 | c[p+64]<<2 | c[p+96]; rows are padded with
//! code 1 to whole blocks (so for K a multiple of 128 this is exactly the flat tensor
//! layout), and the f32 scale follows the packed data, little-endian.

use super::{
    I2S_BLOCK, I2S_BLOCK_BYTES, QuantError, QuantKernel, QuantizedActivations, Shape, TILE_ROWS,
    check_len, check_product, check_scale, dequantize,
};

/// Ternary weights in the I2_S layout, scale included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct I2sMatrix {
    shape: Shape,
    /// Packed rows, then the 4 scale bytes.
    bytes: Vec<u8>,
}

/// The I2_S code of one f32 weight: clamp(round_half_even(w/s), −1, 1) + 1.
#[inline]
pub(super) fn ternary_code(w: f32, scale: f32) -> u8 {
    ((w / scale).round_ties_even().clamp(-1.0, 1.0) as i8 + 1) as u8
}

/// Packs one 32-byte block from the codes of its 128 weights, `code(p)` for p in 0..128:
/// byte p = c[p]<<6 | c[p+32]<<4 | c[p+64]<<2 | c[p+96] (the one statement of the layout).
#[inline]
pub(super) fn pack_block(out: &mut [u8], code: impl Fn(usize) -> u8) {
    for (p, byte) in out.iter_mut().enumerate() {
        *byte = code(p) << 6 | code(p + 32) << 4 | code(p + 64) << 2 | code(p + 96);
    }
}

impl I2sMatrix {
    /// All-zero weights (code 1) of `shape` with scale 1.
    pub fn zeroed(shape: Shape) -> Result<Self, QuantError> {
        shape.checked_len()?;
        let mut m = I2sMatrix {
            shape,
            bytes: Vec::new(),
        };
        m.reset(shape, 1.0);
        Ok(m)
    }

    /// Packs ternary weights (−1, 0, 1; `shape`, row-major) with their scale.
    pub fn pack(weights: &[i8], shape: Shape, scale: f32) -> Result<Self, QuantError> {
        let expected = shape.checked_len()?;
        check_len("ternary weights", shape, expected, weights.len())?;
        check_scale("weight scale", None, scale)?;
        if let Some(index) = weights.iter().position(|w| !(-1..=1).contains(w)) {
            return Err(QuantError::NotTernary {
                what: "ternary weights",
                index,
                value: weights[index],
            });
        }
        let mut m = Self::zeroed(shape)?;
        m.reset(shape, scale);
        let row_bytes = m.row_bytes();
        for (row, dst) in weights
            .chunks_exact(shape.cols)
            .zip(m.packed_mut().chunks_exact_mut(row_bytes))
        {
            for (b, out) in dst.chunks_exact_mut(I2S_BLOCK_BYTES).enumerate() {
                pack_block(out, |p| {
                    row.get(b * I2S_BLOCK + p).map_or(1, |w| (w + 1) as u8)
                });
            }
        }
        Ok(m)
    }

    /// Reads an I2_S buffer (packed rows then the f32 scale), checking its length, codes
    /// and scale.
    pub fn from_bytes(shape: Shape, bytes: &[u8]) -> Result<Self, QuantError> {
        shape.checked_len()?;
        // The length is checked before allocating, so a huge claimed shape costs nothing.
        check_len("I2_S bytes", shape, packed_len(shape) + 4, bytes.len())?;
        let mut m = Self::zeroed(shape)?;
        let packed = &bytes[..bytes.len() - 4];
        // A byte holds code 3 iff some 2-bit field is 0b11.
        if let Some(offset) = packed
            .iter()
            .position(|b| (b & (b >> 1) & 0b0101_0101) != 0)
        {
            return Err(QuantError::InvalidCode { shape, offset });
        }
        m.bytes.copy_from_slice(bytes);
        check_scale("I2_S scale", None, m.scale())?;
        Ok(m)
    }

    /// Resizes for `shape` (reusing the allocation) and stores `scale`; the packed bytes
    /// are left for the caller to fill.
    pub(super) fn reset(&mut self, shape: Shape, scale: f32) {
        self.shape = shape;
        let packed = packed_len(shape);
        self.bytes.resize(packed + 4, 0x55);
        self.bytes[packed..].copy_from_slice(&scale.to_le_bytes());
    }

    /// `rows × cols` (unpadded).
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The per-tensor weight scale s.
    pub fn scale(&self) -> f32 {
        let n = self.bytes.len();
        f32::from_le_bytes([
            self.bytes[n - 4],
            self.bytes[n - 3],
            self.bytes[n - 2],
            self.bytes[n - 1],
        ])
    }

    /// Bytes per packed (padded) row.
    pub fn row_bytes(&self) -> usize {
        self.shape.padded_cols() / 4
    }

    /// The whole I2_S buffer: packed rows then the scale.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The packed rows without the scale.
    pub fn packed(&self) -> &[u8] {
        &self.bytes[..self.bytes.len() - 4]
    }

    pub(super) fn packed_mut(&mut self) -> &mut [u8] {
        let n = self.bytes.len() - 4;
        &mut self.bytes[..n]
    }

    /// The ternary weight at (`row`, `col`), `None` outside the (unpadded) shape.
    pub fn weight(&self, row: usize, col: usize) -> Option<i8> {
        if row >= self.shape.rows || col >= self.shape.cols {
            return None;
        }
        let byte =
            self.packed()[row * self.row_bytes() + col / I2S_BLOCK * I2S_BLOCK_BYTES + col % 32];
        let shift = 6 - 2 * (col % I2S_BLOCK / 32);
        Some(((byte >> shift) & 3) as i8 - 1)
    }

    /// The weights of the [`TILE_ROWS`] rows of tile `tile` as −1/0/1 into `out`, each row
    /// `width` (≥ K) wide; zero outside the shape, where [`Self::weight`] is `None`. What
    /// the TL1/TL2 re-layouts read: one pass over the packed bytes, not a lookup per weight.
    pub(super) fn tile_weights(&self, tile: usize, width: usize, out: &mut Vec<i8>) {
        let Shape { rows, cols } = self.shape;
        debug_assert!(width >= cols, "{width} < {cols}");
        out.clear();
        out.resize(TILE_ROWS * width, 0);
        let row_bytes = self.row_bytes();
        let first = tile * TILE_ROWS;
        for (row, dst) in (first..rows.min(first + TILE_ROWS)).zip(out.chunks_exact_mut(width)) {
            let packed = &self.packed()[row * row_bytes..][..row_bytes];
            for (b, block) in packed.chunks_exact(I2S_BLOCK_BYTES).enumerate() {
                // Slot by slot, so the loops are straight byte maps the compiler vectorises.
                let mut block_weights = [0i8; I2S_BLOCK];
                for (slot, shift) in [6u32, 4, 2, 0].into_iter().enumerate() {
                    for (w, byte) in block_weights[slot * 32..][..32].iter_mut().zip(block) {
                        *w = ((byte >> shift) & 3) as i8 - 1;
                    }
                }
                let start = b * I2S_BLOCK;
                let n = (cols - start).min(I2S_BLOCK);
                dst[start..start + n].copy_from_slice(&block_weights[..n]);
            }
        }
    }

    /// All weights as −1/0/1, row-major, unpadded.
    pub fn unpack(&self) -> Vec<i8> {
        let Shape { rows, cols } = self.shape;
        (0..rows)
            .flat_map(|r| (0..cols).map(move |k| (r, k)))
            .filter_map(|(r, k)| self.weight(r, k))
            .collect()
    }
}

/// Bytes of the packed rows of `shape`. Only called for shapes that passed
/// [`Shape::checked_len`], which bounds the padded element count, so this cannot overflow.
fn packed_len(shape: Shape) -> usize {
    shape.rows * shape.padded_cols() / 4
}

/// `out[t·rows + i] = dequantize(Σ_k w[i,k]·q[t,k], s, sa[t])` for every token t and row i.
pub fn gemm_i2s(
    weights: &I2sMatrix,
    activations: &QuantizedActivations,
    out: &mut [f32],
    kernel: QuantKernel,
) -> Result<(), QuantError> {
    check_product(weights.shape, activations, out)?;
    match kernel.require()? {
        QuantKernel::Scalar => gemm_scalar(weights, activations, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `require` confirmed AVX2; shapes were checked by `check_product`.
        QuantKernel::Avx2 => unsafe { super::x86::gemm_i2s_avx2(weights, activations, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `require` confirmed AVX-512 F/BW/VL/VNNI; shapes checked as above.
        QuantKernel::Avx512Vnni => unsafe {
            super::x86::gemm_i2s_avx512vnni(weights, activations, out)
        },
        #[cfg(not(target_arch = "x86_64"))]
        _ => unreachable!("require() rejects SIMD kernels off x86-64"),
    }
    Ok(())
}

/// The oracle: decode every 2-bit code and multiply, in i32.
fn gemm_scalar(weights: &I2sMatrix, activations: &QuantizedActivations, out: &mut [f32]) {
    let rows = weights.shape.rows;
    let scale = weights.scale();
    for (t, out_row) in out.chunks_exact_mut(rows).enumerate() {
        let q = activations.row(t);
        for (y, packed_row) in out_row
            .iter_mut()
            .zip(weights.packed().chunks_exact(weights.row_bytes()))
        {
            *y = dequantize(row_dot_scalar(packed_row, q), scale, activations.scale(t));
        }
    }
}

/// Σ (c−1)·q over one packed row; `q` is the zero-padded activation row.
fn row_dot_scalar(packed_row: &[u8], q: &[i8]) -> i32 {
    let mut sum = 0i32;
    for (block, qb) in packed_row
        .chunks_exact(I2S_BLOCK_BYTES)
        .zip(q.chunks_exact(I2S_BLOCK))
    {
        for (p, byte) in block.iter().enumerate() {
            for (slot, shift) in [6u32, 4, 2, 0].into_iter().enumerate() {
                let w = i32::from((byte >> shift) & 3) - 1;
                sum += w * i32::from(qb[slot * 32 + p]);
            }
        }
    }
    sum
}
