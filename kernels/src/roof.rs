//! Roofline references: how fast this machine reads, copies and writes memory on one core,
//! and how many int8 multiply-accumulates a core can issue, measured by the same harness
//! in the same session as the kernels.
//!
//! A throughput alone does not say whether a kernel is at 50 % or at 95 % of what the
//! machine allows; a kernel's figure over its roof's does. The loops here do nothing but
//! the one thing they bound, on the widest path the CPU has, and each still produces an
//! output (a sum of what was read, the bytes written, the dot products' sums) so that the
//! harness can prove the work was done, as it does for every kernel. Every fast path has a
//! scalar oracle that gives the same bytes.
//!
//! * [`read_sum`]: the sum of every 64-bit word of a buffer, over several passes (sequential
//!   loads, nothing stored).
//! * [`copy`]: the C library's `memcpy`, which picks its own best instructions.
//! * [`write_fill`]: the C library's `memset`.
//! * [`dot_i8`]: `u8 × i8` products summed four at a time into `i32` lanes, over an
//!   L1-resident block, on independent accumulators (`vpdpbusd` with AVX-512 VNNI,
//!   `vpmaddubsw` + `vpmaddwd` with AVX2).

use std::hint::black_box;

use crate::quant::QuantKernel;

/// Bytes in one vector of the int8 dot loop: 16 lanes of four products.
pub const DOT_VECTOR: usize = 64;

/// `i32` lanes of the int8 dot loop's result.
pub const DOT_LANES: usize = DOT_VECTOR / 4;

/// Why a roof cannot be measured on a path here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoofError {
    #[error("no int8 dot-product instructions on this CPU (needs AVX2; AVX-512 VNNI is best)")]
    NoDotInstructions,
    #[error(
        "the dot block holds {len} bytes: it must be a non-empty multiple of {DOT_VECTOR} \
         and the weights exactly {DOT_VECTOR}"
    )]
    DotShape { len: usize },
}

/// The wrapping sum of every little-endian 64-bit word of `buf` (a last partial word
/// zero-padded), read `passes` times and summed: the scalar oracle of [`read_sum`].
pub fn read_sum_scalar(buf: &[u8], passes: usize) -> u64 {
    let mut acc = 0u64;
    for _ in 0..passes {
        // Hidden from the optimiser, so that a pass is not folded into a multiplication.
        let mut words = black_box(buf).chunks_exact(8);
        for w in &mut words {
            acc = acc.wrapping_add(u64::from_le_bytes(w.try_into().expect("chunks of 8")));
        }
        acc = acc.wrapping_add(tail_word(words.remainder()));
    }
    acc
}

fn tail_word(tail: &[u8]) -> u64 {
    let mut last = [0u8; 8];
    last[..tail.len()].copy_from_slice(tail);
    u64::from_le_bytes(last)
}

/// [`read_sum_scalar`]'s value, read with the widest loads `kernel` allows (64-byte loads
/// into eight independent accumulators with AVX-512, 32-byte with AVX2). The passes run
/// inside the vector loop, so a small buffer measures its cache's bandwidth, not the
/// cost of a call per pass.
pub fn read_sum(buf: &[u8], passes: usize, kernel: QuantKernel) -> u64 {
    match kernel {
        QuantKernel::Scalar => read_sum_scalar(buf, passes),
        #[cfg(target_arch = "x86_64")]
        QuantKernel::Avx512Vnni if kernel.is_supported() => {
            // SAFETY: AVX-512 F support was just confirmed.
            unsafe { x86::read_sum_avx512(buf, passes) }
        }
        #[cfg(target_arch = "x86_64")]
        QuantKernel::Avx2 | QuantKernel::Avx512Vnni if QuantKernel::Avx2.is_supported() => {
            // SAFETY: AVX2 support was just confirmed.
            unsafe { x86::read_sum_avx2(buf, passes) }
        }
        _ => read_sum_scalar(buf, passes),
    }
}

/// Copies `src` into `dst` one byte at a time: the oracle of [`copy`].
///
/// # Panics
/// When the lengths differ (a caller's defect, not data).
pub fn copy_scalar(dst: &mut [u8], src: &[u8]) {
    assert_eq!(
        dst.len(),
        src.len(),
        "copy between buffers of different length"
    );
    for (d, s) in dst.iter_mut().zip(src) {
        *d = black_box(*s);
    }
}

/// Copies `src` into `dst` with the C library's `memcpy`.
///
/// # Panics
/// When the lengths differ.
pub fn copy(dst: &mut [u8], src: &[u8]) {
    dst.copy_from_slice(src);
}

/// Fills `dst` with `byte` one byte at a time: the oracle of [`write_fill`].
pub fn write_fill_scalar(dst: &mut [u8], byte: u8) {
    for d in dst.iter_mut() {
        *d = black_box(byte);
    }
}

/// Fills `dst` with `byte` through the C library's `memset`.
pub fn write_fill(dst: &mut [u8], byte: u8) {
    dst.fill(byte);
}

/// The dot loop's sums: `out[l]` accumulates, `rounds` times over every 64-byte vector `v`
/// of `block`, `Σ_{t<4} block[v][4l+t] · weights[4l+t]` with wrapping `i32` adds. The
/// scalar oracle of [`dot_i8`]. `block` holds unsigned bytes, `weights` signed ones (the
/// operand order of `vpdpbusd`).
pub fn dot_i8_scalar(
    block: &[u8],
    weights: &[i8],
    rounds: usize,
) -> Result<[i32; DOT_LANES], RoofError> {
    check_dot(block, weights)?;
    let mut out = [0i32; DOT_LANES];
    for _ in 0..rounds {
        // Hidden from the optimiser so that a round is not folded into a multiplication.
        let block = black_box(block);
        for v in block.chunks_exact(DOT_VECTOR) {
            for (l, o) in out.iter_mut().enumerate() {
                let s: i32 = (0..4)
                    .map(|t| i32::from(v[4 * l + t]) * i32::from(weights[4 * l + t]))
                    .sum();
                *o = o.wrapping_add(s);
            }
        }
    }
    Ok(out)
}

/// [`dot_i8_scalar`]'s sums with the int8 dot instructions `kernel` allows. The block's
/// unsigned bytes must stay below 128 and the weights within ±2 so that AVX2's `i16` pair
/// sums (`vpmaddubsw` saturates) are exact; the workload draws them so.
pub fn dot_i8(
    block: &[u8],
    weights: &[i8],
    rounds: usize,
    kernel: QuantKernel,
) -> Result<[i32; DOT_LANES], RoofError> {
    check_dot(block, weights)?;
    match kernel {
        #[cfg(target_arch = "x86_64")]
        QuantKernel::Avx512Vnni if kernel.is_supported() => {
            // SAFETY: AVX-512 F/BW/VNNI support was just confirmed; the shape was checked.
            Ok(unsafe { x86::dot_i8_vnni(block, weights, rounds) })
        }
        #[cfg(target_arch = "x86_64")]
        QuantKernel::Avx2 | QuantKernel::Avx512Vnni if QuantKernel::Avx2.is_supported() => {
            // SAFETY: AVX2 support was just confirmed; the shape was checked.
            Ok(unsafe { x86::dot_i8_avx2(block, weights, rounds) })
        }
        _ => Err(RoofError::NoDotInstructions),
    }
}

fn check_dot(block: &[u8], weights: &[i8]) -> Result<(), RoofError> {
    if block.is_empty() || !block.len().is_multiple_of(DOT_VECTOR) || weights.len() != DOT_VECTOR {
        return Err(RoofError::DotShape { len: block.len() });
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    use super::{DOT_LANES, DOT_VECTOR};

    /// Independent accumulators of the loops below: enough to cover the latency of a
    /// `vpdpbusd` (4–5 cycles) at two issued per cycle.
    const ACCUMULATORS: usize = 12;

    /// # Safety
    /// The CPU must support AVX-512 F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn read_sum_avx512(buf: &[u8], passes: usize) -> u64 {
        const STEP: usize = 8 * 64;
        let mut acc = [_mm512_setzero_si512(); 8];
        let whole = buf.len() / STEP * STEP;
        for _ in 0..passes {
            let p = black_box(buf.as_ptr());
            for at in (0..whole).step_by(STEP) {
                for (k, a) in acc.iter_mut().enumerate() {
                    // SAFETY: at + 64k + 64 <= whole <= buf.len().
                    let v = unsafe { _mm512_loadu_si512(p.add(at + 64 * k).cast()) };
                    *a = _mm512_add_epi64(*a, v);
                }
            }
        }
        let sum = acc
            .into_iter()
            .fold(_mm512_setzero_si512(), |x, y| _mm512_add_epi64(x, y));
        let mut lanes = [0u64; 8];
        // SAFETY: `lanes` is 64 bytes.
        unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), sum) };
        lanes
            .iter()
            .fold(super::read_sum_scalar(&buf[whole..], passes), |x, &y| {
                x.wrapping_add(y)
            })
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn read_sum_avx2(buf: &[u8], passes: usize) -> u64 {
        const STEP: usize = 8 * 32;
        let mut acc = [_mm256_setzero_si256(); 8];
        let whole = buf.len() / STEP * STEP;
        for _ in 0..passes {
            let p = black_box(buf.as_ptr());
            for at in (0..whole).step_by(STEP) {
                for (k, a) in acc.iter_mut().enumerate() {
                    // SAFETY: at + 32k + 32 <= whole <= buf.len().
                    let v = unsafe { _mm256_loadu_si256(p.add(at + 32 * k).cast()) };
                    *a = _mm256_add_epi64(*a, v);
                }
            }
        }
        let sum = acc
            .into_iter()
            .fold(_mm256_setzero_si256(), |x, y| _mm256_add_epi64(x, y));
        let mut lanes = [0u64; 4];
        // SAFETY: `lanes` is 32 bytes.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sum) };
        lanes
            .iter()
            .fold(super::read_sum_scalar(&buf[whole..], passes), |x, &y| {
                x.wrapping_add(y)
            })
    }

    /// # Safety
    /// AVX-512 F/BW/VNNI; `block` a non-empty multiple of 64 bytes, `weights` 64 bytes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn dot_i8_vnni(
        block: &[u8],
        weights: &[i8],
        rounds: usize,
    ) -> [i32; DOT_LANES] {
        // SAFETY: weights holds 64 bytes (checked by the caller).
        let w = unsafe { _mm512_loadu_si512(weights.as_ptr().cast()) };
        let vectors = block.len() / DOT_VECTOR;
        let mut acc = [_mm512_setzero_si512(); ACCUMULATORS];
        for _ in 0..rounds {
            let p = black_box(block.as_ptr());
            let mut v = 0;
            while v + ACCUMULATORS <= vectors {
                for (k, a) in acc.iter_mut().enumerate() {
                    // SAFETY: vector v + k lies inside the block.
                    let x = unsafe { _mm512_loadu_si512(p.add(DOT_VECTOR * (v + k)).cast()) };
                    *a = _mm512_dpbusd_epi32(*a, x, w);
                }
                v += ACCUMULATORS;
            }
            for (k, a) in acc.iter_mut().enumerate().take(vectors - v) {
                // SAFETY: as above, for the last vectors.
                let x = unsafe { _mm512_loadu_si512(p.add(DOT_VECTOR * (v + k)).cast()) };
                *a = _mm512_dpbusd_epi32(*a, x, w);
            }
        }
        let sum = acc
            .into_iter()
            .fold(_mm512_setzero_si512(), |x, y| _mm512_add_epi32(x, y));
        let mut out = [0i32; DOT_LANES];
        // SAFETY: `out` is 64 bytes.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), sum) };
        out
    }

    /// # Safety
    /// AVX2; `block` a non-empty multiple of 64 bytes, `weights` 64 bytes.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn dot_i8_avx2(
        block: &[u8],
        weights: &[i8],
        rounds: usize,
    ) -> [i32; DOT_LANES] {
        // SAFETY: weights holds 64 bytes (checked by the caller).
        let (w_lo, w_hi) = unsafe {
            (
                _mm256_loadu_si256(weights.as_ptr().cast()),
                _mm256_loadu_si256(weights.as_ptr().add(32).cast()),
            )
        };
        let ones = _mm256_set1_epi16(1);
        let vectors = block.len() / DOT_VECTOR;
        // Low and high halves of 64-byte vectors, four vectors in flight.
        let mut lo = [_mm256_setzero_si256(); 4];
        let mut hi = [_mm256_setzero_si256(); 4];
        for _ in 0..rounds {
            let p = black_box(block.as_ptr());
            for v in 0..vectors {
                let k = v % 4;
                // SAFETY: vector v lies inside the block.
                let (x_lo, x_hi) = unsafe {
                    (
                        _mm256_loadu_si256(p.add(DOT_VECTOR * v).cast()),
                        _mm256_loadu_si256(p.add(DOT_VECTOR * v + 32).cast()),
                    )
                };
                let s_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(x_lo, w_lo), ones);
                let s_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(x_hi, w_hi), ones);
                lo[k] = _mm256_add_epi32(lo[k], s_lo);
                hi[k] = _mm256_add_epi32(hi[k], s_hi);
            }
        }
        let fold = |acc: [__m256i; 4]| {
            acc.into_iter()
                .fold(_mm256_setzero_si256(), |x, y| _mm256_add_epi32(x, y))
        };
        let mut out = [0i32; DOT_LANES];
        // SAFETY: `out` is 64 bytes: two 32-byte halves.
        unsafe {
            _mm256_storeu_si256(out.as_mut_ptr().cast(), fold(lo));
            _mm256_storeu_si256(out.as_mut_ptr().add(8).cast(), fold(hi));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernels() -> Vec<QuantKernel> {
        [QuantKernel::Avx2, QuantKernel::Avx512Vnni]
            .into_iter()
            .filter(|k| k.is_supported())
            .collect()
    }

    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn read_sum_equals_the_oracle_at_every_length_and_pass_count() {
        for len in [
            0,
            1,
            7,
            8,
            63,
            64,
            255,
            256,
            511,
            512,
            513,
            4096 + 37,
            100_000,
        ] {
            let buf = bytes(len, len as u64 + 3);
            for passes in [1, 2, 43] {
                let want = read_sum_scalar(&buf, passes);
                for kernel in kernels() {
                    assert_eq!(read_sum(&buf, passes, kernel), want, "{kernel:?} at {len}");
                }
                assert_eq!(read_sum(&buf, passes, QuantKernel::Scalar), want);
            }
        }
        let words = [1u8, 0, 0, 0, 0, 0, 0, 0, 2];
        assert_eq!(read_sum_scalar(&words, 1), 1 + 2);
        assert_eq!(read_sum_scalar(&words, 3), 3 * (1 + 2));
        // Sums wrap.
        assert_eq!(read_sum_scalar(&[0xFF; 16], 1), u64::MAX.wrapping_mul(2));
    }

    #[test]
    fn copy_and_fill_give_the_oracles_bytes() {
        let src = bytes(10_000, 9);
        let (mut a, mut b) = (vec![0u8; src.len()], vec![0u8; src.len()]);
        copy_scalar(&mut a, &src);
        copy(&mut b, &src);
        assert_eq!(a, src);
        assert_eq!(b, src);
        write_fill_scalar(&mut a, 0xA5);
        write_fill(&mut b, 0xA5);
        assert_eq!(a, b);
        assert!(a.iter().all(|&x| x == 0xA5));
    }

    #[test]
    fn dot_equals_the_oracle_on_every_path_and_wraps() {
        let block: Vec<u8> = bytes(64 * 30, 5).into_iter().map(|b| b & 0x7F).collect();
        let weights: Vec<i8> = bytes(64, 11)
            .into_iter()
            .map(|b| (b % 5) as i8 - 2)
            .collect();
        for rounds in [1, 3, 1000] {
            let want = dot_i8_scalar(&block, &weights, rounds).unwrap();
            for kernel in kernels() {
                assert_eq!(
                    dot_i8(&block, &weights, rounds, kernel).unwrap(),
                    want,
                    "{kernel:?}"
                );
            }
        }
        // Sums past i32::MAX: 127 · 2 · 4 per lane and vector, 30 vectors, 100 000 rounds.
        let (full, two) = (vec![127u8; 64 * 30], vec![2i8; 64]);
        let want = dot_i8_scalar(&full, &two, 100_000).unwrap();
        assert_eq!(want[0], (1016i64 * 30 * 100_000) as i32);
        for kernel in kernels() {
            assert_eq!(
                dot_i8(&full, &two, 100_000, kernel).unwrap(),
                want,
                "{kernel:?}"
            );
        }
        let one = dot_i8_scalar(&block[..64], &weights, 1).unwrap();
        let lane0: i32 = (0..4)
            .map(|t| i32::from(block[t]) * i32::from(weights[t]))
            .sum();
        assert_eq!(one[0], lane0);
        assert_eq!(
            dot_i8(&block, &weights, 1, QuantKernel::Scalar),
            Err(RoofError::NoDotInstructions)
        );
        assert_eq!(
            dot_i8_scalar(&block[..65], &weights, 1),
            Err(RoofError::DotShape { len: 65 })
        );
        assert!(dot_i8_scalar(&[], &weights, 1).is_err());
        assert!(dot_i8_scalar(&block, &weights[..63], 1).is_err());
    }
}
