//! The TL2 layout: ternary weight triples as a 4-bit magnitude index and a sign bit.
//!
//! Triple (w0, w1, w2) of columns (3j, 3j+1, 3j+2) has v = 9·w0 + 3·w1 + w2 in −13..=13; it
//! is stored as |v| (an index into a 14-entry table of sums) and one sign bit. With
//! n3 = ⌊K/3⌋ triples, a tile of [`TILE_ROWS`] rows holds, in order:
//!
//! 1. ⌈n3/2⌉ groups of 32 index bytes, byte r = |v|(row r, triple 2g) | |v|(row r, 2g+1) << 4;
//! 2. n3 sign words, 4 bytes little-endian each, bit r set when row r's triple is negative;
//! 3. when K mod 3 ≠ 0, the remaining one or two columns as a TL1 pair: 32 bytes, byte r =
//!    the TL1 index of row r (a missing second column is a zero weight).
//!
//! Padding rows and the padding triple of an odd n3 are zero weights (index 0, sign 0).

use super::lut::{self, LutScratch, act};
use super::{
    I2sMatrix, QuantError, QuantKernel, QuantizedActivations, Shape, TILE_ROWS, check_product,
};

/// Ternary weights in the TL2 layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Tl2Matrix {
    shape: Shape,
    scale: f32,
    /// Whole triples per row: ⌊K/3⌋.
    triples: usize,
    bytes: Vec<u8>,
}

/// Byte ranges of one tile's three sections.
struct TileLayout {
    index_bytes: usize,
    sign_bytes: usize,
    rest_bytes: usize,
}

impl TileLayout {
    fn of(shape: Shape) -> TileLayout {
        let triples = shape.cols / 3;
        TileLayout {
            index_bytes: triples.div_ceil(2) * TILE_ROWS,
            sign_bytes: triples * 4,
            rest_bytes: if shape.cols.is_multiple_of(3) {
                0
            } else {
                TILE_ROWS
            },
        }
    }

    fn total(&self) -> usize {
        self.index_bytes + self.sign_bytes + self.rest_bytes
    }
}

impl Tl2Matrix {
    /// Re-lays out I2_S weights (same weights, same scale).
    pub fn from_i2s(m: &I2sMatrix) -> Tl2Matrix {
        let shape = m.shape();
        let triples = shape.cols / 3;
        let layout = TileLayout::of(shape);
        let tiles = shape.rows.div_ceil(TILE_ROWS);
        let mut bytes = vec![0u8; tiles * layout.total()];
        // Each tile's rows, wide enough for the remainder pair's second column (K + 1);
        // outside the shape (padding rows and columns) weights are zero.
        let width = shape.cols + 1;
        let mut weights = Vec::new();
        // One row's triple values, padded with a zero triple to whole index bytes.
        let mut values = vec![0i32; 2 * triples.div_ceil(2)];
        for (tile, dst) in bytes.chunks_exact_mut(layout.total()).enumerate() {
            m.tile_weights(tile, width, &mut weights);
            let (index, rest) = dst.split_at_mut(layout.index_bytes);
            let (signs, tail) = rest.split_at_mut(layout.sign_bytes);
            for (r, row) in weights.chunks_exact(width).enumerate() {
                let weight = |k: usize| i32::from(row[k]);
                for (v, w) in values[..triples].iter_mut().zip(row.chunks_exact(3)) {
                    *v = 9 * i32::from(w[0]) + 3 * i32::from(w[1]) + i32::from(w[2]);
                }
                for (group, pair) in index
                    .chunks_exact_mut(TILE_ROWS)
                    .zip(values.chunks_exact(2))
                {
                    group[r] = pair[0].unsigned_abs() as u8 | (pair[1].unsigned_abs() as u8) << 4;
                }
                for (word, v) in signs.chunks_exact_mut(4).zip(&values) {
                    if *v < 0 {
                        word[r / 8] |= 1 << (r % 8);
                    }
                }
                if let Some(byte) = tail.get_mut(r) {
                    let k = 3 * triples;
                    *byte = (3 * weight(k) + weight(k + 1) + 4) as u8;
                }
            }
        }
        Tl2Matrix {
            shape,
            scale: m.scale(),
            triples,
            bytes,
        }
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// The packed tiles.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// One tile's (index groups, sign words, remainder pair bytes).
    fn tile(&self, tile: usize) -> (&[u8], &[u8], &[u8]) {
        let layout = TileLayout::of(self.shape);
        let all = &self.bytes[tile * layout.total()..][..layout.total()];
        let (index, rest) = all.split_at(layout.index_bytes);
        let (signs, tail) = rest.split_at(layout.sign_bytes);
        (index, signs, tail)
    }
}

/// GEMM on TL2 weights; same contract and same bytes out as [`super::gemm_i2s`].
pub fn gemm_tl2(
    weights: &Tl2Matrix,
    activations: &QuantizedActivations,
    out: &mut [f32],
    scratch: &mut LutScratch,
    kernel: QuantKernel,
) -> Result<(), QuantError> {
    check_product(weights.shape, activations, out)?;
    let kernel = kernel.require()?;
    lut::gemm_by_tiles(weights.shape, weights.scale, activations, out, |q, tile| {
        let (index, signs, rest) = weights.tile(tile);
        let mut sums = if kernel == QuantKernel::Scalar {
            triple_sums_scalar(index, signs, q)
        } else {
            if tile == 0 {
                lut::build_tl2(q, weights.triples, &mut scratch.tables);
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `require` confirmed AVX2; the sections and the tables have the sizes
            // `TileLayout` and `build_tl2` give for `triples`.
            let sums = unsafe { super::x86::tl2_tile_avx2(index, signs, &scratch.tables) };
            #[cfg(not(target_arch = "x86_64"))]
            let sums = unreachable!("require() rejects SIMD kernels off x86-64");
            sums
        };
        add_remainder_pair(&mut sums, rest, q, 3 * weights.triples);
        sums
    });
    Ok(())
}

/// The oracle for the triples: decode magnitude digits and sign, multiply, in i32.
fn triple_sums_scalar(index: &[u8], signs: &[u8], q: &[i8]) -> [i32; TILE_ROWS] {
    let mut sums = [0i32; TILE_ROWS];
    for (j, word) in signs.chunks_exact(4).enumerate() {
        let negative = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        let group = &index[j / 2 * TILE_ROWS..][..TILE_ROWS];
        for (r, (sum, byte)) in sums.iter_mut().zip(group).enumerate() {
            let m = if j % 2 == 0 { byte & 0x0F } else { byte >> 4 };
            let (a0, a1, a2) = lut::tl2_triple(m);
            let v = a0 * act(q, 3 * j) + a1 * act(q, 3 * j + 1) + a2 * act(q, 3 * j + 2);
            *sum += if negative >> r & 1 == 1 { -v } else { v };
        }
    }
    sums
}

/// Adds the TL1 pair of the last `K mod 3` columns (starting at column `k`), if any; one
/// lookup per row, shared by every path.
fn add_remainder_pair(sums: &mut [i32; TILE_ROWS], rest: &[u8], q: &[i8], k: usize) {
    for (sum, index) in sums.iter_mut().zip(rest) {
        let (w0, w1) = lut::tl1_pair(*index);
        *sum += w0 * act(q, k) + w1 * act(q, k + 1);
    }
}
