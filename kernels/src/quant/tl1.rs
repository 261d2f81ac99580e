//! The TL1 layout: ternary weight pairs as 4-bit table indices.
//!
//! Pair (w0, w1) of columns (2j, 2j+1) gets index 3·w0 + w1 + 4 (0..=8). Rows are grouped in
//! tiles of [`TILE_ROWS`]; within a tile, group g (pairs 2g and 2g+1) takes 32 bytes, byte r
//! = index(row r, pair 2g) | index(row r, pair 2g+1) << 4. Rows past the matrix and columns
//! past K are zero weights (index 4). The tile-major order lets one 256-bit `vpshufb` look
//! up one activation pair's table for 32 rows at once.

use super::lut::{self, LutScratch};
use super::{
    I2sMatrix, QuantError, QuantKernel, QuantizedActivations, Shape, TILE_ROWS, check_product,
};

/// Ternary weights in the TL1 layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Tl1Matrix {
    shape: Shape,
    scale: f32,
    /// Index-byte groups per tile: ⌈K/4⌉.
    groups: usize,
    bytes: Vec<u8>,
}

/// The TL1 index of a weight pair.
fn pair_index(w0: i8, w1: i8) -> u8 {
    (3 * w0 + w1 + 4) as u8
}

impl Tl1Matrix {
    /// Re-lays out I2_S weights (same weights, same scale).
    pub fn from_i2s(m: &I2sMatrix) -> Tl1Matrix {
        let shape = m.shape();
        let groups = shape.cols.div_ceil(4);
        let tiles = shape.rows.div_ceil(TILE_ROWS);
        let mut bytes = vec![0u8; tiles * groups * TILE_ROWS];
        // Each tile's rows, 4·groups wide; outside the shape (padding rows and columns)
        // weights are zero.
        let width = 4 * groups;
        let mut weights = Vec::new();
        for (tile, dst) in bytes.chunks_exact_mut(groups * TILE_ROWS).enumerate() {
            m.tile_weights(tile, width, &mut weights);
            for (g, group) in dst.chunks_exact_mut(TILE_ROWS).enumerate() {
                for (byte, row) in group.iter_mut().zip(weights.chunks_exact(width)) {
                    let w = &row[4 * g..][..4];
                    *byte = pair_index(w[0], w[1]) | pair_index(w[2], w[3]) << 4;
                }
            }
        }
        Tl1Matrix {
            shape,
            scale: m.scale(),
            groups,
            bytes,
        }
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// The packed index bytes, tile after tile.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn tile(&self, tile: usize) -> &[u8] {
        &self.bytes[tile * self.groups * TILE_ROWS..][..self.groups * TILE_ROWS]
    }
}

/// GEMM on TL1 weights; same contract and same bytes out as [`super::gemm_i2s`].
pub fn gemm_tl1(
    weights: &Tl1Matrix,
    activations: &QuantizedActivations,
    out: &mut [f32],
    scratch: &mut LutScratch,
    kernel: QuantKernel,
) -> Result<(), QuantError> {
    check_product(weights.shape, activations, out)?;
    let kernel = kernel.require()?;
    lut::gemm_by_tiles(weights.shape, weights.scale, activations, out, |q, tile| {
        if kernel == QuantKernel::Scalar {
            return tile_sums_scalar(weights.tile(tile), q);
        }
        if tile == 0 {
            lut::build_tl1(q, 2 * weights.groups, &mut scratch.tables);
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `require` confirmed AVX2 (implied by every non-scalar kernel); the tile
        // holds `groups` 32-byte groups and the tables `2·groups` tables.
        return unsafe { super::x86::tl1_tile_avx2(weights.tile(tile), &scratch.tables) };
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("require() rejects SIMD kernels off x86-64")
    });
    Ok(())
}

/// The oracle: decode each index into its weight pair and multiply, in i32.
fn tile_sums_scalar(tile: &[u8], q: &[i8]) -> [i32; TILE_ROWS] {
    let mut sums = [0i32; TILE_ROWS];
    for (g, group) in tile.chunks_exact(TILE_ROWS).enumerate() {
        for (sum, byte) in sums.iter_mut().zip(group) {
            for (half, index) in [byte & 0x0F, byte >> 4].into_iter().enumerate() {
                let (w0, w1) = lut::tl1_pair(index);
                let k = 4 * g + 2 * half;
                *sum += w0 * lut::act(q, k) + w1 * lut::act(q, k + 1);
            }
        }
    }
    sums
}
