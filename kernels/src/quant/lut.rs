//! Lookup tables of the TL1/TL2 kernels, built per token from its activations.
//!
//! An entry is an exact i16 sum (at most 3·128 in magnitude), stored as a low-byte table and
//! a high-byte table of 16 bytes each, the shape `vpshufb` looks up; the SIMD kernels put the
//! two halves back together into 16-bit lanes.

use super::{QuantizedActivations, Shape, TILE_ROWS, dequantize};

/// Lookups a 16-bit lane accumulates before it is flushed to i32: 64 · 384 < 2^15, so even
/// the worst case (every activation −128, every weight ±1) cannot wrap.
pub const FLUSH_STEPS: usize = 64;

/// The GEMM loop shared by the table layouts: for every token and every 32-row tile,
/// `tile_sums(q, tile)` gives the tile's exact sums (it is asked for tile 0 first, the
/// moment to build that token's tables), which are dequantised into `out`.
pub(super) fn gemm_by_tiles(
    weights: Shape,
    scale: f32,
    activations: &QuantizedActivations,
    out: &mut [f32],
    mut tile_sums: impl FnMut(&[i8], usize) -> [i32; TILE_ROWS],
) {
    for (t, out_row) in out.chunks_exact_mut(weights.rows).enumerate() {
        let q = activations.row(t);
        for (tile, out_tile) in out_row.chunks_mut(TILE_ROWS).enumerate() {
            for (y, sum) in out_tile.iter_mut().zip(tile_sums(q, tile)) {
                *y = dequantize(sum, scale, activations.scale(t));
            }
        }
    }
}

/// Bytes of one table: 16 low bytes then 16 high bytes.
pub(super) const TABLE_BYTES: usize = 32;

/// Reusable table storage, so a GEMV allocates nothing once it is warm.
#[derive(Clone, Debug, Default)]
pub struct LutScratch {
    pub(super) tables: Vec<u8>,
}

fn put(table: &mut [u8], index: usize, value: i32) {
    let v = value as i16;
    table[index] = v as u8;
    table[16 + index] = (v >> 8) as u8;
}

/// Activation `k` of a zero-padded row, widened; columns past the stored row belong to
/// padding groups whose weights are all zero, so they read as 0. Shared by the table oracles.
pub(super) fn act(q: &[i8], k: usize) -> i32 {
    q.get(k).map_or(0, |v| i32::from(*v))
}

/// The TL1 weight pair of index `i` (= 3·w0 + w1 + 4).
pub(super) fn tl1_pair(index: u8) -> (i32, i32) {
    (i32::from(index / 3) - 1, i32::from(index % 3) - 1)
}

/// The balanced-ternary digits (a0, a1, a2) with 9·a0 + 3·a1 + a2 = m, for m in 0..=13
/// (14 and 15 never occur in a TL2 matrix; they decode to zeros).
pub(super) fn tl2_triple(m: u8) -> (i32, i32, i32) {
    TL2_DIGITS[usize::from(m & 0x0F)]
}

const TL2_DIGITS: [(i32, i32, i32); 16] = {
    let mut digits = [(0, 0, 0); 16];
    let mut m = 0;
    while m < 14 {
        let a2 = (m + 1) % 3 - 1;
        let rest = (m - a2) / 3;
        let a1 = (rest + 1) % 3 - 1;
        digits[m as usize] = ((rest - a1) / 3, a1, a2);
        m += 1;
    }
    digits
};

/// One 9-entry table per activation pair (2j, 2j+1), for `pairs` pairs.
pub(super) fn build_tl1(q: &[i8], pairs: usize, out: &mut Vec<u8>) {
    out.clear();
    out.resize(pairs * TABLE_BYTES, 0);
    for (j, table) in out.chunks_exact_mut(TABLE_BYTES).enumerate() {
        let (b0, b1) = (act(q, 2 * j), act(q, 2 * j + 1));
        for index in 0..9u8 {
            let (w0, w1) = tl1_pair(index);
            put(table, usize::from(index), w0 * b0 + w1 * b1);
        }
    }
}

/// One 14-entry table per activation triple (3j, 3j+1, 3j+2), for `triples` triples.
pub(super) fn build_tl2(q: &[i8], triples: usize, out: &mut Vec<u8>) {
    out.clear();
    out.resize(triples * TABLE_BYTES, 0);
    for (j, table) in out.chunks_exact_mut(TABLE_BYTES).enumerate() {
        let b = [act(q, 3 * j), act(q, 3 * j + 1), act(q, 3 * j + 2)];
        for m in 0..14u8 {
            let (a0, a1, a2) = tl2_triple(m);
            put(table, usize::from(m), a0 * b[0] + a1 * b[1] + a2 * b[2]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tl2_digits_reconstruct_every_magnitude() {
        for m in 0..14u8 {
            let (a0, a1, a2) = tl2_triple(m);
            assert!([a0, a1, a2].iter().all(|a| (-1..=1).contains(a)), "m={m}");
            assert_eq!(9 * a0 + 3 * a1 + a2, i32::from(m));
        }
    }

    #[test]
    fn tl1_indices_follow_the_spec_order() {
        let values: Vec<_> = (0..9).map(tl1_pair).collect();
        assert_eq!(values[0], (-1, -1));
        assert_eq!(values[4], (0, 0));
        assert_eq!(values[8], (1, 1));
        assert_eq!(values[3], (0, -1));
    }
}
