//! x86-64 fast paths: AVX2 and AVX-512 (VNNI) kernels behind run-time detection.
//!
//! Every function here is `#[target_feature]` and `unsafe` to call: the caller must have
//! confirmed the CPU features (through `QuantKernel::require`) and the buffer sizes the
//! function documents. Inside, each pointer access carries its own `// SAFETY:` reasoning.
//! Integer arithmetic mirrors the scalar oracles exactly; see the module docs of `quant`
//! for why no 16-bit lane can wrap.

use std::arch::x86_64::*;

use super::activation::{quantize_value, row_scale};
use super::lut::{FLUSH_STEPS, TABLE_BYTES};
use super::ternary::pack_row_scalar;
use super::{I2S_BLOCK, I2S_BLOCK_BYTES, I2sMatrix, QuantizedActivations, Shape, dequantize};

/// Rows processed together before moving on to the next token tile: their packed weights
/// (16 rows × K/4 bytes, 16 KiB at K = 4096) and one token tile's activations (4 × K bytes)
/// fit in L1 together, so a tile's activations are read from L2 once per row chunk.
const ROW_CHUNK: usize = 16;
/// Tokens that share one decode of the weights.
const TOKEN_TILE: usize = 4;

const ROUND_NEAREST_EVEN: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

// ---------------------------------------------------------------------------------------
// Ternarisation
// ---------------------------------------------------------------------------------------

/// The eight interleaved f64 sums of |w| (lane j: flat indices ≡ j mod 8, in order), or
/// `None` if any value is NaN or infinite. Same order of additions as the oracle.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn abs_sum_lanes_avx2(weights: &[f32]) -> Option<[f64; 8]> {
    let abs = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
    let inf = _mm256_set1_ps(f32::INFINITY);
    let (mut lo, mut hi) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let mut bad = _mm256_setzero_ps();
    let chunks = weights.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        // SAFETY: `chunk` holds exactly 8 f32.
        let v = _mm256_and_ps(unsafe { _mm256_loadu_ps(chunk.as_ptr()) }, abs);
        // Not-less-than infinity, unordered: true for ±inf and NaN.
        bad = _mm256_or_ps(bad, _mm256_cmp_ps::<_CMP_NLT_UQ>(v, inf));
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)));
    }
    if _mm256_movemask_ps(bad) != 0 {
        return None;
    }
    let mut lanes = [0.0f64; 8];
    // SAFETY: `lanes` holds 8 f64; each store writes 4 of them.
    unsafe {
        _mm256_storeu_pd(lanes.as_mut_ptr(), lo);
        _mm256_storeu_pd(lanes.as_mut_ptr().add(4), hi);
    }
    for (lane, w) in lanes.iter_mut().zip(tail) {
        if !w.is_finite() {
            return None;
        }
        *lane += f64::from(w.abs());
    }
    Some(lanes)
}

/// Ternarise-and-pack every row (AVX2); partial blocks at a row's end go to the oracle.
///
/// # Safety
/// The CPU must support AVX2; `weights` holds `shape` and `packed` the I2_S rows of `shape`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn pack_rows_avx2(weights: &[f32], shape: Shape, scale: f32, packed: &mut [u8]) {
    let full_blocks = shape.cols / I2S_BLOCK;
    let s = _mm256_set1_ps(scale);
    let (lo, hi, one) = (
        _mm256_set1_ps(-1.0),
        _mm256_set1_ps(1.0),
        _mm256_set1_epi32(1),
    );
    let row_bytes = shape.padded_cols() / 4;
    for (row, dst) in weights
        .chunks_exact(shape.cols)
        .zip(packed.chunks_exact_mut(row_bytes))
    {
        for b in 0..full_blocks {
            let src = &row[b * I2S_BLOCK..][..I2S_BLOCK];
            let mut codes = [_mm256_setzero_si256(); 16];
            for (j, code) in codes.iter_mut().enumerate() {
                // SAFETY: `src` holds 128 f32; j < 16 reads 8 of them at 8j.
                let v = unsafe { _mm256_loadu_ps(src.as_ptr().add(8 * j)) };
                let t = _mm256_round_ps::<ROUND_NEAREST_EVEN>(_mm256_div_ps(v, s));
                let t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
                *code = _mm256_add_epi32(_mm256_cvtps_epi32(t), one);
            }
            let out = &mut dst[b * I2S_BLOCK_BYTES..][..I2S_BLOCK_BYTES];
            for j in 0..4 {
                let byte = _mm256_or_si256(
                    _mm256_or_si256(
                        _mm256_slli_epi32::<6>(codes[j]),
                        _mm256_slli_epi32::<4>(codes[j + 4]),
                    ),
                    _mm256_or_si256(_mm256_slli_epi32::<2>(codes[j + 8]), codes[j + 12]),
                );
                // Values are at most 170: narrowing with unsigned saturation is exact.
                let words = _mm256_packus_epi32(byte, byte);
                let bytes = _mm256_packus_epi16(words, words);
                let first = _mm256_cvtsi256_si32(bytes) as u32;
                let second = _mm256_extract_epi32::<4>(bytes) as u32;
                out[8 * j..8 * j + 4].copy_from_slice(&first.to_le_bytes());
                out[8 * j + 4..8 * j + 8].copy_from_slice(&second.to_le_bytes());
            }
        }
        pack_row_scalar(row, scale, dst, full_blocks);
    }
}

/// Ternarise-and-pack every row (AVX-512); partial blocks at a row's end go to the oracle.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL; buffers as for [`pack_rows_avx2`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
pub(super) unsafe fn pack_rows_avx512(
    weights: &[f32],
    shape: Shape,
    scale: f32,
    packed: &mut [u8],
) {
    let full_blocks = shape.cols / I2S_BLOCK;
    let s = _mm512_set1_ps(scale);
    let (lo, hi, one) = (
        _mm512_set1_ps(-1.0),
        _mm512_set1_ps(1.0),
        _mm512_set1_epi32(1),
    );
    let row_bytes = shape.padded_cols() / 4;
    for (row, dst) in weights
        .chunks_exact(shape.cols)
        .zip(packed.chunks_exact_mut(row_bytes))
    {
        for b in 0..full_blocks {
            let src = &row[b * I2S_BLOCK..][..I2S_BLOCK];
            let mut codes = [_mm512_setzero_si512(); 8];
            for (j, code) in codes.iter_mut().enumerate() {
                // SAFETY: `src` holds 128 f32; j < 8 reads 16 of them at 16j.
                let v = unsafe { _mm512_loadu_ps(src.as_ptr().add(16 * j)) };
                let t = _mm512_roundscale_ps::<ROUND_NEAREST_EVEN>(_mm512_div_ps(v, s));
                let t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);
                *code = _mm512_add_epi32(_mm512_cvtps_epi32(t), one);
            }
            let out = &mut dst[b * I2S_BLOCK_BYTES..][..I2S_BLOCK_BYTES];
            for half in 0..2 {
                let byte = _mm512_or_si512(
                    _mm512_or_si512(
                        _mm512_slli_epi32::<6>(codes[half]),
                        _mm512_slli_epi32::<4>(codes[half + 2]),
                    ),
                    _mm512_or_si512(_mm512_slli_epi32::<2>(codes[half + 4]), codes[half + 6]),
                );
                let bytes = _mm512_cvtepi32_epi8(byte);
                // SAFETY: `out` holds 32 bytes; this writes 16 at 16·half.
                unsafe { _mm_storeu_si128(out.as_mut_ptr().add(16 * half).cast(), bytes) };
            }
        }
        pack_row_scalar(row, scale, dst, full_blocks);
    }
}

// ---------------------------------------------------------------------------------------
// Activation quantisation
// ---------------------------------------------------------------------------------------

/// One activation row to int8 (AVX2); returns (sa, Σq) exactly as the oracle does.
///
/// # Safety
/// The CPU must support AVX2; `q.len() == row.len()`; `row` holds no NaN.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn quantize_row_avx2(row: &[f32], q: &mut [i8]) -> (f32, i32) {
    debug_assert_eq!(row.len(), q.len());
    let abs = _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX));
    let mut vmax = _mm256_setzero_ps();
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        // SAFETY: `chunk` holds exactly 8 f32.
        let v = unsafe { _mm256_loadu_ps(chunk.as_ptr()) };
        vmax = _mm256_max_ps(vmax, _mm256_and_ps(v, abs));
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 f32.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), vmax) };
    // The maximum is the same in any order (no NaN reaches here).
    let max = lanes.iter().chain(tail).fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = row_scale(max);
    let s = _mm256_set1_ps(scale);
    let (lo, hi) = (_mm256_set1_ps(-128.0), _mm256_set1_ps(127.0));
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut sums = _mm256_setzero_si256();
    let full = row.len() / 32 * 32;
    for (src, dst) in row[..full]
        .chunks_exact(32)
        .zip(q[..full].chunks_exact_mut(32))
    {
        let ints: [__m256i; 4] = std::array::from_fn(|j| {
            // SAFETY: `src` holds 32 f32; j < 4 reads 8 of them at 8j.
            let v = unsafe { _mm256_loadu_ps(src.as_ptr().add(8 * j)) };
            let r = _mm256_round_ps::<ROUND_NEAREST_EVEN>(_mm256_mul_ps(v, s));
            _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lo), hi))
        });
        for v in ints {
            sums = _mm256_add_epi32(sums, v);
        }
        // Values are within i8 already, so the saturating packs are exact; the permute
        // undoes their per-lane interleaving.
        let words = [
            _mm256_packs_epi32(ints[0], ints[1]),
            _mm256_packs_epi32(ints[2], ints[3]),
        ];
        let bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(words[0], words[1]), order);
        // SAFETY: `dst` holds 32 bytes.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), bytes) };
    }
    let mut sum = hsum_avx2(sums);
    for (dst, v) in q[full..].iter_mut().zip(&row[full..]) {
        *dst = quantize_value(*v, scale);
        sum += i32::from(*dst);
    }
    (scale, sum)
}

// ---------------------------------------------------------------------------------------
// I2_S GEMV / GEMM
// ---------------------------------------------------------------------------------------

/// Writes `out[t·rows + row] = dequantize(Σc·q − Σq, s, sa[t])`.
fn emit(
    out: &mut [f32],
    rows: usize,
    row: usize,
    t: usize,
    sum_cq: i32,
    scale: f32,
    act: &QuantizedActivations,
) {
    // Σ(c−1)·q = Σc·q − Σq; the true value fits in i32 (K ≤ MAX_COLS), so wrapping
    // arithmetic on the parts gives it exactly.
    let sum = sum_cq.wrapping_sub(act.row_sum(t));
    out[t * rows + row] = dequantize(sum, scale, act.scale(t));
}

/// Runs `tile(first_token, token_count, row_range)` over row chunks and token tiles.
fn for_each_tile(rows: usize, tokens: usize, mut tile: impl FnMut(usize, usize, usize, usize)) {
    for start in (0..rows).step_by(ROW_CHUNK) {
        let end = (start + ROW_CHUNK).min(rows);
        let mut t0 = 0;
        while t0 < tokens {
            let n = if tokens - t0 >= TOKEN_TILE {
                TOKEN_TILE
            } else {
                1
            };
            tile(t0, n, start, end);
            t0 += n;
        }
    }
}

fn token_rows<const T: usize>(act: &QuantizedActivations, t0: usize) -> [&[i8]; T] {
    std::array::from_fn(|i| act.row(t0 + i))
}

/// I2_S GEMM with AVX2 (`vpmaddubsw` then `vpmaddwd`, i32 accumulation).
///
/// # Safety
/// The CPU must support AVX2; shapes must have passed `check_product`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn gemm_i2s_avx2(w: &I2sMatrix, act: &QuantizedActivations, out: &mut [f32]) {
    let rows = w.shape().rows;
    let (rb, scale, packed) = (w.row_bytes(), w.scale(), w.packed());
    for_each_tile(rows, act.shape().rows, |t0, n, start, end| {
        for i in start..end {
            let row = &packed[i * rb..][..rb];
            if n == TOKEN_TILE {
                // SAFETY: AVX2 confirmed by the caller; activation rows hold padded_cols =
                // 4·rb values because the shapes passed `check_product`.
                let sums = unsafe { dot_avx2::<TOKEN_TILE>(row, token_rows(act, t0)) };
                for (k, s) in sums.into_iter().enumerate() {
                    emit(out, rows, i, t0 + k, s, scale, act);
                }
            } else {
                // SAFETY: as above.
                let [s] = unsafe { dot_avx2::<1>(row, token_rows(act, t0)) };
                emit(out, rows, i, t0, s, scale, act);
            }
        }
    });
}

/// Σ c·q of one packed row with `T` activation rows.
///
/// # Safety
/// AVX2; every `qs[t]` holds at least `4 · row.len()` values.
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2<const T: usize>(row: &[u8], qs: [&[i8]; T]) -> [i32; T] {
    // Checked in release too: the loads below are unchecked and the test is one compare per
    // row, nothing next to the row's work.
    assert!(
        qs.iter().all(|q| q.len() >= 4 * row.len()),
        "dot_avx2: activation rows shorter than the packed row needs"
    );
    let m3 = _mm256_set1_epi8(3);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_si256(); T];
    for b in 0..row.len() / I2S_BLOCK_BYTES {
        // SAFETY: block b lies inside `row`.
        let x = unsafe { _mm256_loadu_si256(row.as_ptr().add(I2S_BLOCK_BYTES * b).cast()) };
        let codes = [
            _mm256_and_si256(_mm256_srli_epi16::<6>(x), m3),
            _mm256_and_si256(_mm256_srli_epi16::<4>(x), m3),
            _mm256_and_si256(_mm256_srli_epi16::<2>(x), m3),
            _mm256_and_si256(x, m3),
        ];
        for (acc, q) in acc.iter_mut().zip(&qs) {
            let mut pairs = _mm256_setzero_si256();
            for (slot, code) in codes.iter().enumerate() {
                // SAFETY: q holds 4·row.len() ≥ 128·(b+1) values; this reads 32 at
                // 128b + 32·slot.
                let qv =
                    unsafe { _mm256_loadu_si256(q.as_ptr().add(I2S_BLOCK * b + 32 * slot).cast()) };
                // u8 code (≤ 2) × i8: each 16-bit pair sum is within ±512, four of them
                // within ±2048, so neither the saturating multiply nor the adds can clip.
                pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(*code, qv));
            }
            *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(pairs, ones));
        }
    }
    acc.map(|v| hsum_avx2(v))
}

#[target_feature(enable = "avx2")]
fn hsum_avx2(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0x4E>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0xB1>(s));
    _mm_cvtsi128_si32(s)
}

/// I2_S GEMM with AVX-512 VNNI: two rows per 512-bit register, `vpdpbusd` on the unsigned
/// codes, Σ(c−1)·q = Σc·q − Σq.
///
/// # Safety
/// The CPU must support AVX-512 F/BW/VL/VNNI; shapes must have passed `check_product`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
pub(super) unsafe fn gemm_i2s_avx512vnni(
    w: &I2sMatrix,
    act: &QuantizedActivations,
    out: &mut [f32],
) {
    let rows = w.shape().rows;
    let (rb, scale, packed) = (w.row_bytes(), w.scale(), w.packed());
    for_each_tile(rows, act.shape().rows, |t0, n, start, end| {
        for i in (start..end).step_by(2) {
            let r0 = &packed[i * rb..][..rb];
            // An odd last row is paired with itself; its duplicate sum is dropped.
            let second = i + 1 < end;
            let r1 = if second {
                &packed[(i + 1) * rb..][..rb]
            } else {
                r0
            };
            let mut put = |k: usize, [s0, s1]: [i32; 2]| {
                emit(out, rows, i, t0 + k, s0, scale, act);
                if second {
                    emit(out, rows, i + 1, t0 + k, s1, scale, act);
                }
            };
            if n == TOKEN_TILE {
                // SAFETY: features confirmed by the caller; activation rows hold
                // padded_cols = 4·rb values (shapes passed `check_product`).
                let sums = unsafe { dot_pair_vnni::<TOKEN_TILE>(r0, r1, token_rows(act, t0)) };
                for (k, s) in sums.into_iter().enumerate() {
                    put(k, s);
                }
            } else {
                // SAFETY: as above.
                let [s] = unsafe { dot_pair_vnni::<1>(r0, r1, token_rows(act, t0)) };
                put(0, s);
            }
        }
    });
}

/// Σ c·q of two packed rows (equal length) with `T` activation rows.
///
/// # Safety
/// AVX-512 F/BW/VL/VNNI; every `qs[t]` holds at least `4 · r0.len()` values.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn dot_pair_vnni<const T: usize>(r0: &[u8], r1: &[u8], qs: [&[i8]; T]) -> [[i32; 2]; T] {
    // Checked in release too (once per row pair) because the loads below are unchecked.
    assert!(
        r0.len() == r1.len() && qs.iter().all(|q| q.len() >= 4 * r0.len()),
        "dot_pair_vnni: rows of different length or activation rows too short"
    );
    let m3 = _mm512_set1_epi8(3);
    // Four accumulators per token: one per code slot, so consecutive `vpdpbusd` do not
    // wait on each other's latency.
    let mut acc = [[_mm512_setzero_si512(); 4]; T];
    for b in 0..r0.len() / I2S_BLOCK_BYTES {
        // SAFETY: block b lies inside both rows.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_si256(r0.as_ptr().add(I2S_BLOCK_BYTES * b).cast()),
                _mm256_loadu_si256(r1.as_ptr().add(I2S_BLOCK_BYTES * b).cast()),
            )
        };
        let x = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(lo), hi);
        let codes = [
            _mm512_and_si512(_mm512_srli_epi16::<6>(x), m3),
            _mm512_and_si512(_mm512_srli_epi16::<4>(x), m3),
            _mm512_and_si512(_mm512_srli_epi16::<2>(x), m3),
            _mm512_and_si512(x, m3),
        ];
        for (acc, q) in acc.iter_mut().zip(&qs) {
            for (slot, (acc, code)) in acc.iter_mut().zip(&codes).enumerate() {
                // SAFETY: q holds 4·r0.len() ≥ 128·(b+1) values; this reads 32 at
                // 128b + 32·slot.
                let q32 =
                    unsafe { _mm256_loadu_si256(q.as_ptr().add(I2S_BLOCK * b + 32 * slot).cast()) };
                // u8 × i8 products summed four at a time straight into i32 lanes.
                *acc = _mm512_dpbusd_epi32(*acc, *code, _mm512_broadcast_i64x4(q32));
            }
        }
    }
    acc.map(|[a, b, c, d]| {
        let s = _mm512_add_epi32(_mm512_add_epi32(a, b), _mm512_add_epi32(c, d));
        [
            _mm512_mask_reduce_add_epi32(0x00FF, s),
            _mm512_mask_reduce_add_epi32(0xFF00, s),
        ]
    })
}

// ---------------------------------------------------------------------------------------
// TL1 / TL2 table lookups
// ---------------------------------------------------------------------------------------

/// Looks up 32 rows' 4-bit indices in one 16-bit table (low bytes, then high bytes) and
/// returns the values as i16 for rows {0..8, 16..24} and {8..16, 24..32}.
///
/// # Safety
/// AVX2; `table` points at `TABLE_BYTES` readable bytes.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn lookup(table: *const u8, index: __m256i) -> (__m256i, __m256i) {
    // SAFETY: the caller guarantees 32 readable bytes at `table`.
    let (lo, hi) = unsafe {
        (
            _mm256_broadcastsi128_si256(_mm_loadu_si128(table.cast())),
            _mm256_broadcastsi128_si256(_mm_loadu_si128(table.add(16).cast())),
        )
    };
    let (l, h) = (
        _mm256_shuffle_epi8(lo, index),
        _mm256_shuffle_epi8(hi, index),
    );
    (_mm256_unpacklo_epi8(l, h), _mm256_unpackhi_epi8(l, h))
}

/// Per-row i32 sums of a 32-row tile, fed from 16-bit partial sums in `lookup`'s row order.
struct TileSums([__m256i; 4]);

impl TileSums {
    #[target_feature(enable = "avx2")]
    fn new() -> Self {
        TileSums([_mm256_setzero_si256(); 4])
    }

    #[target_feature(enable = "avx2")]
    fn flush(&mut self, a: __m256i, b: __m256i) {
        let parts = [
            _mm256_castsi256_si128(a),
            _mm256_extracti128_si256::<1>(a),
            _mm256_castsi256_si128(b),
            _mm256_extracti128_si256::<1>(b),
        ];
        for (acc, part) in self.0.iter_mut().zip(parts) {
            *acc = _mm256_add_epi32(*acc, _mm256_cvtepi16_epi32(part));
        }
    }

    #[target_feature(enable = "avx2")]
    fn rows(&self) -> [i32; 32] {
        let mut out = [0i32; 32];
        // acc 0: rows 0..8, acc 1: rows 16..24, acc 2: rows 8..16, acc 3: rows 24..32.
        for (acc, first) in self.0.iter().zip([0, 16, 8, 24]) {
            // SAFETY: `out` holds 32 i32; this writes 8 of them at `first` ≤ 24.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(first).cast(), *acc) };
        }
        out
    }
}

/// TL1 sums of one 32-row tile.
///
/// # Safety
/// AVX2; `tile` is whole 32-byte groups and `tables` holds two tables per group.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn tl1_tile_avx2(tile: &[u8], tables: &[u8]) -> [i32; 32] {
    let groups = tile.len() / 32;
    // Checked in release too (once per tile) because the table loads below are unchecked.
    assert!(
        tables.len() >= 2 * groups * TABLE_BYTES,
        "tl1_tile_avx2: fewer tables than index groups"
    );
    let nibble = _mm256_set1_epi8(0x0F);
    let mut sums = TileSums::new();
    let mut g = 0;
    while g < groups {
        // Each group adds two lookups to every lane.
        let end = (g + FLUSH_STEPS / 2).min(groups);
        let (mut a16, mut b16) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for g in g..end {
            // SAFETY: g < groups: group g and tables 2g, 2g+1 are in bounds.
            let ((a, b), (c, d)) = unsafe {
                let x = _mm256_loadu_si256(tile.as_ptr().add(32 * g).cast());
                let table = tables.as_ptr().add(2 * g * TABLE_BYTES);
                (
                    lookup(table, _mm256_and_si256(x, nibble)),
                    lookup(
                        table.add(TABLE_BYTES),
                        _mm256_and_si256(_mm256_srli_epi16::<4>(x), nibble),
                    ),
                )
            };
            a16 = _mm256_add_epi16(a16, _mm256_add_epi16(a, c));
            b16 = _mm256_add_epi16(b16, _mm256_add_epi16(b, d));
        }
        sums.flush(a16, b16);
        g = end;
    }
    sums.rows()
}

/// ±1 per row as i16 in `lookup`'s row order, from a word whose bit r marks row r negative.
#[target_feature(enable = "avx2")]
fn sign_lanes(negative: u32) -> (__m256i, __m256i) {
    let spread = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3,
        3, 3,
    );
    let bits = _mm256_set1_epi64x(0x8040_2010_0804_0201_u64 as i64);
    let picked = _mm256_and_si256(
        _mm256_shuffle_epi8(_mm256_set1_epi32(negative as i32), spread),
        bits,
    );
    let neg = _mm256_cmpeq_epi8(picked, bits);
    let magnitude = _mm256_or_si256(neg, _mm256_set1_epi8(1));
    (
        _mm256_unpacklo_epi8(magnitude, neg),
        _mm256_unpackhi_epi8(magnitude, neg),
    )
}

/// TL2 sums of the triples of one 32-row tile (the remainder pair is added by the caller).
///
/// # Safety
/// AVX2; `index` is ⌈n3/2⌉ 32-byte groups, `signs` n3 4-byte words and `tables` n3 tables.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn tl2_tile_avx2(index: &[u8], signs: &[u8], tables: &[u8]) -> [i32; 32] {
    let triples = signs.len() / 4;
    // Checked in release too (once per tile) because the loads below are unchecked.
    assert!(
        index.len() >= triples.div_ceil(2) * 32 && tables.len() >= triples * TABLE_BYTES,
        "tl2_tile_avx2: index or tables shorter than the sign words need"
    );
    let nibble = _mm256_set1_epi8(0x0F);
    let mut sums = TileSums::new();
    let mut j = 0;
    while j < triples {
        let end = (j + FLUSH_STEPS).min(triples);
        let (mut a16, mut b16) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for j in j..end {
            // SAFETY: j < triples: group j/2, table j and sign word j are in bounds.
            let ((a, b), word) = unsafe {
                let x = _mm256_loadu_si256(index.as_ptr().add(32 * (j / 2)).cast());
                let m = if j % 2 == 0 {
                    x
                } else {
                    _mm256_srli_epi16::<4>(x)
                };
                let word = signs.as_ptr().add(4 * j).cast::<u32>().read_unaligned();
                (
                    lookup(
                        tables.as_ptr().add(j * TABLE_BYTES),
                        _mm256_and_si256(m, nibble),
                    ),
                    word,
                )
            };
            let (sa, sb) = sign_lanes(u32::from_le(word));
            a16 = _mm256_add_epi16(a16, _mm256_sign_epi16(a, sa));
            b16 = _mm256_add_epi16(b16, _mm256_sign_epi16(b, sb));
        }
        sums.flush(a16, b16);
        j = end;
    }
    sums.rows()
}
