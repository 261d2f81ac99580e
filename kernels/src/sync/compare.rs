//! Content comparison: are two versions of a file equal, and if not, where do they differ?
//!
//! A [`Comparison`] answers three questions at once, because a sync tool asks them
//! together: equality, the byte offset of the first difference, and the range of lines
//! that changed.
//!
//! **Definitions.** Let `p` be the length of the longest common prefix of `old` and `new`
//! (the offset of the first difference; when one buffer is a prefix of the other, `p` is
//! the shorter length). Let `s` be the length of the longest common suffix, capped so that
//! it does not overlap the prefix: `s ≤ min(old.len(), new.len()) − p`. The changed region
//! is `old[p .. old.len()−s]` and `new[p .. new.len()−s]`; either may be empty (a pure
//! insertion or deletion). Lines are numbered from 1 and a line ends with its LF, so the
//! line of byte `i` is `1 +` the number of LF bytes before `i`. The changed lines are:
//! `first` = line of byte `p` (identical in both buffers, since their prefixes agree);
//! `old_last` / `new_last` = line of the region's last byte in that buffer, or `first` when
//! the region is empty there.
//!
//! Every path runs the same algorithm over three primitives — first mismatch, common
//! suffix, LF count — and only the primitives differ: a scalar oracle, AVX2 and
//! AVX-512BW. Equal inputs cost exactly one forward mismatch scan, which is what the
//! "identical 1 MiB at memcmp speed" target measures.

use crate::simd::SimdLevel;

/// The result of comparing `old` with `new`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Comparison {
    /// `None` when the buffers are equal.
    pub difference: Option<Difference>,
}

impl Comparison {
    /// Whether the buffers are byte-for-byte equal.
    pub fn is_equal(&self) -> bool {
        self.difference.is_none()
    }

    /// A fixed-width serialisation (little-endian u64 fields) for hashing: the equality
    /// flag, then the [`Difference`] fields in declaration order, zeros when equal.
    pub fn to_bytes(&self) -> [u8; 56] {
        let mut out = [0u8; 56];
        let fields = match self.difference {
            None => [0; 7],
            Some(d) => [
                1,
                d.offset as u64,
                d.old_end as u64,
                d.new_end as u64,
                d.lines.first as u64,
                d.lines.old_last as u64,
                d.lines.new_last as u64,
            ],
        };
        for (slot, value) in out.chunks_exact_mut(8).zip(fields) {
            slot.copy_from_slice(&value.to_le_bytes());
        }
        out
    }
}

/// Where two unequal buffers differ (see the module docs for the exact definitions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Difference {
    /// Offset of the first differing byte: the common prefix length.
    pub offset: usize,
    /// End (exclusive) of the changed region in `old`.
    pub old_end: usize,
    /// End (exclusive) of the changed region in `new`.
    pub new_end: usize,
    /// The 1-based changed line range.
    pub lines: ChangedLines,
}

/// 1-based line numbers of the changed region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChangedLines {
    /// The line holding the first difference, in both buffers.
    pub first: usize,
    /// The last changed line in `old`.
    pub old_last: usize,
    /// The last changed line in `new`.
    pub new_last: usize,
}

/// The three scans the comparison is built from; each path implements them.
trait Primitives: Copy {
    /// Length of the common prefix of `a[..n]` and `b[..n]`, `n = min(len)`; `None` when
    /// that whole range is equal.
    fn first_mismatch(self, a: &[u8], b: &[u8]) -> Option<usize>;
    /// Length of the common suffix of `a` and `b`, at most `cap`.
    fn common_suffix(self, a: &[u8], b: &[u8], cap: usize) -> usize;
    /// Number of LF bytes in `buf`.
    fn count_newlines(self, buf: &[u8]) -> usize;
}

fn compare_with<P: Primitives>(prims: P, old: &[u8], new: &[u8]) -> Comparison {
    let shorter = old.len().min(new.len());
    let offset = match prims.first_mismatch(old, new) {
        Some(offset) => offset,
        None if old.len() == new.len() => return Comparison { difference: None },
        None => shorter,
    };
    let suffix = prims.common_suffix(old, new, shorter - offset);
    let old_end = old.len() - suffix;
    let new_end = new.len() - suffix;
    let first = 1 + prims.count_newlines(&old[..offset]);
    // The line of the region's last byte: LFs in the region before that byte.
    let last_line = |buf: &[u8], end: usize| {
        if end > offset {
            first + prims.count_newlines(&buf[offset..end - 1])
        } else {
            first
        }
    };
    Comparison {
        difference: Some(Difference {
            offset,
            old_end,
            new_end,
            lines: ChangedLines {
                first,
                old_last: last_line(old, old_end),
                new_last: last_line(new, new_end),
            },
        }),
    }
}

/// Compares on the fastest path of this process ([`SimdLevel::detect`]).
pub fn compare(old: &[u8], new: &[u8]) -> Comparison {
    if old.len().max(new.len()) < SHORT {
        // Decided before the level lookup: short inputs never use it.
        return compare_short(old, new);
    }
    compare_at_supported(old, new, SimdLevel::detect())
}

/// Compares at `level`, narrowed to what this CPU supports.
pub fn compare_at(old: &[u8], new: &[u8], level: SimdLevel) -> Comparison {
    compare_at_supported(old, new, level.min(SimdLevel::hardware()))
}

/// The scalar oracle.
pub fn compare_scalar(old: &[u8], new: &[u8]) -> Comparison {
    compare_with(Scalar, old, new)
}

/// Below this many bytes the vector set-up costs more than it saves.
const SHORT: usize = 64;

/// Short inputs: the C library's equality check settles the common equal case in a few
/// nanoseconds; only differing buffers pay for the scalar scans.
fn compare_short(old: &[u8], new: &[u8]) -> Comparison {
    if old == new {
        Comparison { difference: None }
    } else {
        compare_with(Scalar, old, new)
    }
}

/// Both callers narrow `level` to the CPU's; the feature tokens are still built through
/// their checked constructors, so a wider level can only fall back to scalar, never reach
/// an instruction the CPU lacks.
fn compare_at_supported(old: &[u8], new: &[u8], level: SimdLevel) -> Comparison {
    if old.len().max(new.len()) < SHORT {
        return compare_short(old, new);
    }
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512 => match x86::Avx512::detected() {
            Some(token) => compare_with(token, old, new),
            None => compare_with(Scalar, old, new),
        },
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 => match x86::Avx2::detected() {
            Some(token) => compare_with(token, old, new),
            None => compare_with(Scalar, old, new),
        },
        _ => compare_with(Scalar, old, new),
    }
}

#[derive(Clone, Copy)]
struct Scalar;

impl Primitives for Scalar {
    fn first_mismatch(self, a: &[u8], b: &[u8]) -> Option<usize> {
        a.iter().zip(b).position(|(x, y)| x != y)
    }

    fn common_suffix(self, a: &[u8], b: &[u8], cap: usize) -> usize {
        a.iter()
            .rev()
            .zip(b.iter().rev())
            .take(cap)
            .take_while(|(x, y)| x == y)
            .count()
    }

    fn count_newlines(self, buf: &[u8]) -> usize {
        buf.iter().filter(|&&b| b == b'\n').count()
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Primitives, Scalar};

    /// Proof that AVX-512F/BW are usable; only built after the level check.
    #[derive(Clone, Copy)]
    pub(super) struct Avx512(());

    /// Proof that AVX2 is usable; only built after the level check.
    #[derive(Clone, Copy)]
    pub(super) struct Avx2(());

    impl Avx512 {
        /// The token, if this CPU supports AVX-512F and AVX-512BW (the detection result
        /// is cached by the standard library, so this is a load and a test).
        pub(super) fn detected() -> Option<Self> {
            (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw"))
                .then_some(Avx512(()))
        }
    }

    impl Avx2 {
        /// The token, if this CPU supports AVX2.
        pub(super) fn detected() -> Option<Self> {
            is_x86_feature_detected!("avx2").then_some(Avx2(()))
        }
    }

    /// Lanes `0..n` of a 64-lane mask, `n < 64`.
    #[inline]
    fn low_lanes(n: usize) -> u64 {
        (1u64 << n) - 1
    }

    impl Primitives for Avx512 {
        fn first_mismatch(self, a: &[u8], b: &[u8]) -> Option<usize> {
            // SAFETY: an `Avx512` value exists only once AVX-512F/BW were detected.
            unsafe { mismatch_avx512(a, b) }
        }
        fn common_suffix(self, a: &[u8], b: &[u8], cap: usize) -> usize {
            // SAFETY: as above.
            unsafe { suffix_avx512(a, b, cap) }
        }
        fn count_newlines(self, buf: &[u8]) -> usize {
            // SAFETY: as above.
            unsafe { newlines_avx512(buf) }
        }
    }

    impl Primitives for Avx2 {
        fn first_mismatch(self, a: &[u8], b: &[u8]) -> Option<usize> {
            // SAFETY: an `Avx2` value exists only once AVX2 was detected.
            unsafe { mismatch_avx2(a, b) }
        }
        fn common_suffix(self, a: &[u8], b: &[u8], cap: usize) -> usize {
            // SAFETY: as above.
            unsafe { suffix_avx2(a, b, cap) }
        }
        fn count_newlines(self, buf: &[u8]) -> usize {
            // SAFETY: as above.
            unsafe { newlines_avx2(buf) }
        }
    }

    /// Forward scan in 256-byte blocks (four vector pairs XORed and ORed, one test per
    /// block, the shape of a good `memcmp`), then 64-byte steps to place the mismatch,
    /// then one masked step for the tail.
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn mismatch_avx512(a: &[u8], b: &[u8]) -> Option<usize> {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut i = 0;
        // SAFETY (all loads below): every unmasked load reads 64 bytes at `i + k*64` with
        // `i + (k+1)*64 <= n`, inside both slices; the masked tail load enables only lanes
        // below `n - i`, and masked-off lanes do not fault.
        unsafe {
            if n >= 64 {
                // Check the first 64 bytes unaligned, then continue from the first 64-byte
                // boundary of `a` (re-reading a few equal bytes is harmless): without this a
                // misaligned buffer splits every load across two cache lines, which costs
                // about a fifth of the throughput on large inputs.
                let diff = _mm512_cmpneq_epi8_mask(
                    _mm512_loadu_si512(pa.cast()),
                    _mm512_loadu_si512(pb.cast()),
                );
                if diff != 0 {
                    return Some(diff.trailing_zeros() as usize);
                }
                i = 64 - (pa as usize & 63);
            }
            while i + 256 <= n {
                let x0 = _mm512_xor_si512(
                    _mm512_loadu_si512(pa.add(i).cast()),
                    _mm512_loadu_si512(pb.add(i).cast()),
                );
                let x1 = _mm512_xor_si512(
                    _mm512_loadu_si512(pa.add(i + 64).cast()),
                    _mm512_loadu_si512(pb.add(i + 64).cast()),
                );
                let x2 = _mm512_xor_si512(
                    _mm512_loadu_si512(pa.add(i + 128).cast()),
                    _mm512_loadu_si512(pb.add(i + 128).cast()),
                );
                let x3 = _mm512_xor_si512(
                    _mm512_loadu_si512(pa.add(i + 192).cast()),
                    _mm512_loadu_si512(pb.add(i + 192).cast()),
                );
                let any = _mm512_or_si512(_mm512_or_si512(x0, x1), _mm512_or_si512(x2, x3));
                if _mm512_test_epi64_mask(any, any) != 0 {
                    break;
                }
                i += 256;
            }
            while i + 64 <= n {
                let diff = _mm512_cmpneq_epi8_mask(
                    _mm512_loadu_si512(pa.add(i).cast()),
                    _mm512_loadu_si512(pb.add(i).cast()),
                );
                if diff != 0 {
                    return Some(i + diff.trailing_zeros() as usize);
                }
                i += 64;
            }
            if i < n {
                let live = low_lanes(n - i);
                let va = _mm512_maskz_loadu_epi8(live, pa.add(i).cast());
                let vb = _mm512_maskz_loadu_epi8(live, pb.add(i).cast());
                let diff = _mm512_mask_cmpneq_epi8_mask(live, va, vb);
                if diff != 0 {
                    return Some(i + diff.trailing_zeros() as usize);
                }
            }
        }
        None
    }

    /// Backward scan in 64-byte steps from both ends; lane 63 of a step is the byte
    /// nearest the end, so the leading zeros of the mismatch mask count equal bytes.
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn suffix_avx512(a: &[u8], b: &[u8], cap: usize) -> usize {
        let (ea, eb) = (a.len(), b.len());
        let mut k = 0;
        // SAFETY (all loads): `cap <= min(len)`, so `[e - k - 64, e - k)` lies in each slice
        // while `k + 64 <= cap`; the masked tail enables only lanes of `[e - cap, e - k)`.
        unsafe {
            while k + 64 <= cap {
                let va = _mm512_loadu_si512(a.as_ptr().add(ea - k - 64).cast());
                let vb = _mm512_loadu_si512(b.as_ptr().add(eb - k - 64).cast());
                let diff = _mm512_cmpneq_epi8_mask(va, vb);
                if diff != 0 {
                    return k + diff.leading_zeros() as usize;
                }
                k += 64;
            }
            let r = cap - k;
            if r > 0 {
                let live = low_lanes(r);
                let va = _mm512_maskz_loadu_epi8(live, a.as_ptr().add(ea - k - r).cast());
                let vb = _mm512_maskz_loadu_epi8(live, b.as_ptr().add(eb - k - r).cast());
                let diff = _mm512_mask_cmpneq_epi8_mask(live, va, vb);
                if diff != 0 {
                    // Lanes r..64 are zero, so they add 64 - r leading zeros.
                    return k + diff.leading_zeros() as usize - (64 - r);
                }
            }
        }
        cap
    }

    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn newlines_avx512(buf: &[u8]) -> usize {
        let lf = _mm512_set1_epi8(b'\n' as i8);
        let mut count = 0u64;
        let mut chunks = buf.chunks_exact(64);
        for chunk in &mut chunks {
            // SAFETY: `chunk` is 64 readable bytes.
            let v = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) };
            count += u64::from(_mm512_cmpeq_epi8_mask(v, lf).count_ones());
        }
        let rest = chunks.remainder();
        let live = low_lanes(rest.len());
        // SAFETY: only lanes below `rest.len()` are enabled; masked-off lanes do not fault.
        let v = unsafe { _mm512_maskz_loadu_epi8(live, rest.as_ptr().cast()) };
        count += u64::from(_mm512_mask_cmpeq_epi8_mask(live, v, lf).count_ones());
        count as usize
    }

    #[target_feature(enable = "avx2")]
    unsafe fn mismatch_avx2(a: &[u8], b: &[u8]) -> Option<usize> {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut i = 0;
        // SAFETY (all loads): each reads 32 bytes at an offset whose end is <= n.
        unsafe {
            if n >= 32 {
                // As in the AVX-512 scan: check the first vector unaligned, then continue
                // from `a`'s first 32-byte boundary so loads do not split cache lines.
                let eq =
                    _mm256_cmpeq_epi8(_mm256_loadu_si256(pa.cast()), _mm256_loadu_si256(pb.cast()));
                let diff = !(_mm256_movemask_epi8(eq) as u32);
                if diff != 0 {
                    return Some(diff.trailing_zeros() as usize);
                }
                i = 32 - (pa as usize & 31);
            }
            while i + 128 <= n {
                let x0 = _mm256_xor_si256(
                    _mm256_loadu_si256(pa.add(i).cast()),
                    _mm256_loadu_si256(pb.add(i).cast()),
                );
                let x1 = _mm256_xor_si256(
                    _mm256_loadu_si256(pa.add(i + 32).cast()),
                    _mm256_loadu_si256(pb.add(i + 32).cast()),
                );
                let x2 = _mm256_xor_si256(
                    _mm256_loadu_si256(pa.add(i + 64).cast()),
                    _mm256_loadu_si256(pb.add(i + 64).cast()),
                );
                let x3 = _mm256_xor_si256(
                    _mm256_loadu_si256(pa.add(i + 96).cast()),
                    _mm256_loadu_si256(pb.add(i + 96).cast()),
                );
                let any = _mm256_or_si256(_mm256_or_si256(x0, x1), _mm256_or_si256(x2, x3));
                if _mm256_testz_si256(any, any) == 0 {
                    break;
                }
                i += 128;
            }
            while i + 32 <= n {
                let eq = _mm256_cmpeq_epi8(
                    _mm256_loadu_si256(pa.add(i).cast()),
                    _mm256_loadu_si256(pb.add(i).cast()),
                );
                let diff = !(_mm256_movemask_epi8(eq) as u32);
                if diff != 0 {
                    return Some(i + diff.trailing_zeros() as usize);
                }
                i += 32;
            }
        }
        Scalar.first_mismatch(&a[i..n], &b[i..n]).map(|at| i + at)
    }

    #[target_feature(enable = "avx2")]
    unsafe fn suffix_avx2(a: &[u8], b: &[u8], cap: usize) -> usize {
        let (ea, eb) = (a.len(), b.len());
        let mut k = 0;
        // SAFETY (all loads): `cap <= min(len)`, so `[e - k - 32, e - k)` lies in each
        // slice while `k + 32 <= cap`.
        unsafe {
            while k + 32 <= cap {
                let va = _mm256_loadu_si256(a.as_ptr().add(ea - k - 32).cast());
                let vb = _mm256_loadu_si256(b.as_ptr().add(eb - k - 32).cast());
                let diff = !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(va, vb)) as u32);
                if diff != 0 {
                    return k + diff.leading_zeros() as usize;
                }
                k += 32;
            }
        }
        k + Scalar.common_suffix(&a[..ea - k], &b[..eb - k], cap - k)
    }

    #[target_feature(enable = "avx2")]
    unsafe fn newlines_avx2(buf: &[u8]) -> usize {
        let lf = _mm256_set1_epi8(b'\n' as i8);
        let mut count = 0usize;
        let mut chunks = buf.chunks_exact(32);
        for chunk in &mut chunks {
            // SAFETY: `chunk` is 32 readable bytes.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
            count += (_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, lf)) as u32).count_ones() as usize;
        }
        count + Scalar.count_newlines(chunks.remainder())
    }
}
