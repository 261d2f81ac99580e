//! AVX-512 fast paths, compiled for any x86-64 target and entered only after run-time
//! detection (see [`super::FastPath`]).
//!
//! * DISPLAY (AVX-512 VBMI + VBMI2): 64 input bytes per step. Two `vpermi2b` lookups over
//!   four table registers give the 256-entry table; a chunk whose bytes all map to ASCII
//!   ≥ 0x20 is stored as is; a chunk with Latin-1 letters (accents) is widened to 16-bit
//!   lanes, turned into two-byte UTF-8 and packed with `vpcompressb`. A chunk with anything
//!   else (TAB/LF/CR, unmappable bytes, code points above U+00FF such as € or ‾) goes to
//!   the scalar oracle, which also produces every error, so errors are the oracle's own.
//! * Zoned and COMP-3 (AVX-512 BW + VL): the field is loaded right-aligned into one
//!   register with a masked load (masked-out bytes are never touched, so no read goes past
//!   the field), zones and nibbles are checked with one compare each, and the digits are
//!   folded into an integer with three multiply-add steps. A field that fails any check is
//!   decoded again by the oracle to get the exact error.
//!
//! Every function here requires its target features; callers uphold that by construction.

use std::arch::x86_64::*;

use super::codepage::DisplayTables;
use super::error::FieldFault;
use super::numeric;

/// Runs of output written with full-width stores need this much spare capacity.
const STORE_SLACK: usize = 64;

/// The 256-entry Latin-1 table in four registers.
#[derive(Clone, Copy)]
struct TableRegisters([__m512i; 4]);

#[inline]
#[target_feature(enable = "avx512f")]
fn table_registers(tables: &DisplayTables) -> TableRegisters {
    let base = tables.latin1.0.as_ptr();
    // SAFETY: `Latin1Table` is 256 bytes aligned to 64; the four loads cover it exactly.
    unsafe {
        TableRegisters([
            _mm512_load_si512(base.cast()),
            _mm512_load_si512(base.add(64).cast()),
            _mm512_load_si512(base.add(128).cast()),
            _mm512_load_si512(base.add(192).cast()),
        ])
    }
}

/// DISPLAY decode of one field. Requires AVX-512 F/BW/VBMI/VBMI2 and BMI2.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi2,popcnt")]
pub(super) fn display(
    tables: &DisplayTables,
    src: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), FieldFault> {
    // SAFETY: this function requires the features `display_with` needs.
    unsafe { display_with(table_registers(tables), tables, src, out) }
}

/// DISPLAY decode of one field over many records into a text column, the table kept in
/// registers throughout. False at the first fault (the caller redoes the records one by
/// one to locate it).
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi2,popcnt")]
pub(super) fn display_column(
    tables: &DisplayTables,
    input: &[u8],
    spans: &[(usize, usize)],
    offset: usize,
    length: usize,
    bytes: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> bool {
    let registers = table_registers(tables);
    bytes.reserve(spans.len() * length * 3 + STORE_SLACK);
    ends.reserve(spans.len());
    for &(start, _) in spans {
        let src = &input[start + offset..start + offset + length];
        // SAFETY: this function requires the features `display_with` needs.
        if unsafe { display_with(registers, tables, src, bytes) }.is_err() {
            return false;
        }
        ends.push(bytes.len());
    }
    true
}

/// The body of both DISPLAY entry points. Not a `#[target_feature]` function itself so
/// that it can be forced inline into them (where the features hold); calling it from
/// anywhere else is unsound. Its intrinsic calls rely on that contract (hence the allow);
/// its memory accesses keep their own `unsafe` blocks and reasons.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn display_with(
    registers: TableRegisters,
    tables: &DisplayTables,
    src: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), FieldFault> {
    // Worst case three output bytes per input byte, plus room for one full vector store.
    out.reserve(src.len() * 3 + STORE_SLACK);
    let [t0, t1, t2, t3] = registers.0;
    let below_space = _mm512_set1_epi8(0x20);
    let low6 = _mm512_set1_epi16(0x3F);
    let lead_tag = _mm512_set1_epi16(0xC0);
    let cont_tag = _mm512_set1_epi16(0x80);
    let start = out.len();
    let mut written = 0usize;
    let mut i = 0usize;
    while i < src.len() {
        let n = (src.len() - i).min(64);
        let live = _bzhi_u64(u64::MAX, n as u32);
        // SAFETY: the mask covers exactly the `n` bytes of `src` from `i`.
        let x = unsafe { _mm512_maskz_loadu_epi8(live, src.as_ptr().add(i).cast()) };
        let low_half = _mm512_permutex2var_epi8(t0, x, t1);
        let high_half = _mm512_permutex2var_epi8(t2, x, t3);
        let mapped = _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), low_half, high_half);
        if _mm512_mask_cmplt_epu8_mask(live, mapped, below_space) != 0 {
            // SAFETY: `written` bytes past `start` were initialised by the stores below.
            unsafe { out.set_len(start + written) };
            super::display::display(tables, &src[i..i + n], out)
                .map_err(|f| FieldFault { at: f.at + i, ..f })?;
            written = out.len() - start;
            i += n;
            continue;
        }
        let wide = _mm512_movepi8_mask(mapped) & live;
        // SAFETY (both stores): capacity was reserved for 3 bytes per input byte plus
        // STORE_SLACK; at most 3 * i bytes are written so far, so a 64-byte store at
        // `start + written` stays inside the allocation.
        let dst = unsafe { out.as_mut_ptr().add(start + written) };
        if wide == 0 {
            unsafe { _mm512_mask_storeu_epi8(dst.cast(), live, mapped) };
            written += n;
        } else {
            let mut dst = dst;
            for half in 0..2 {
                let valid = (live >> (32 * half)) & 0xFFFF_FFFF;
                if valid == 0 {
                    break;
                }
                let lanes = if half == 0 {
                    _mm512_cvtepu8_epi16(_mm512_castsi512_si256(mapped))
                } else {
                    _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64::<1>(mapped))
                };
                let lead = _mm512_or_si512(_mm512_srli_epi16::<6>(lanes), lead_tag);
                let cont = _mm512_or_si512(_mm512_and_si512(lanes, low6), cont_tag);
                let two_bytes = _mm512_or_si512(lead, _mm512_slli_epi16::<8>(cont));
                let wide_half = ((wide >> (32 * half)) & 0xFFFF_FFFF) as u32;
                let utf8 = _mm512_mask_blend_epi16(wide_half, lanes, two_bytes);
                let keep = _pdep_u64(valid, 0x5555_5555_5555_5555)
                    | _pdep_u64(u64::from(wide_half), 0xAAAA_AAAA_AAAA_AAAA);
                let packed = _mm512_maskz_compress_epi8(keep, utf8);
                unsafe { _mm512_storeu_si512(dst.cast(), packed) };
                let len = keep.count_ones() as usize;
                dst = unsafe { dst.add(len) };
                written += len;
            }
        }
        i += n;
    }
    // SAFETY: every byte up to `start + written` was written above.
    unsafe { out.set_len(start + written) };
    Ok(())
}

/// Folds up to 19 right-aligned decimal digits (one per byte, zeros before them) into an
/// integer: pairs, then quads, then groups of eight, then the three low groups.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
fn fold_digits(digits: __m256i) -> u64 {
    let pairs = _mm256_maddubs_epi16(digits, _mm256_set1_epi16(0x010A));
    let quads = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x0001_0064));
    let eights = _mm256_add_epi64(
        _mm256_mul_epu32(quads, _mm256_set1_epi64x(10_000)),
        _mm256_srli_epi64::<32>(quads),
    );
    let high = _mm256_extracti128_si256::<1>(eights);
    let g1 = _mm_extract_epi64::<1>(_mm256_castsi256_si128(eights)) as u64;
    let g2 = _mm_cvtsi128_si64(high) as u64;
    let g3 = _mm_extract_epi64::<1>(high) as u64;
    g1 * 10_000_000_000_000_000 + g2 * 100_000_000 + g3
}

/// Zoned decimal of 1 to 18 bytes. Requires AVX-512 F/BW/VL.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,bmi2")]
pub(super) fn zoned(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault> {
    let Some((&last, body)) = src.split_last() else {
        return numeric::zoned(src, ebcdic, signed);
    };
    if body.len() > 17 {
        return numeric::zoned(src, ebcdic, signed);
    }
    let live = !_bzhi_u32(u32::MAX, 32 - body.len() as u32);
    // SAFETY: the mask selects the top `body.len()` lanes, which map exactly onto `body`;
    // masked-out lanes are not accessed, so the pointer before `body` is never read.
    let x = unsafe {
        _mm256_maskz_loadu_epi8(
            live,
            body.as_ptr()
                .wrapping_add(body.len())
                .wrapping_sub(32)
                .cast(),
        )
    };
    let zone = _mm256_set1_epi8(if ebcdic { 0xF0u8 as i8 } else { 0x30 });
    let high = _mm256_and_si256(x, _mm256_set1_epi8(0xF0u8 as i8));
    let digits = _mm256_and_si256(x, _mm256_set1_epi8(0x0F));
    let bad = _mm256_mask_cmpneq_epi8_mask(live, high, zone)
        | _mm256_mask_cmpgt_epu8_mask(live, digits, _mm256_set1_epi8(9));
    match numeric::zoned_last_byte(last, ebcdic, signed) {
        Ok((digit, negative)) if bad == 0 => {
            let value = (fold_digits(digits) * 10 + u64::from(digit)) as i64;
            Ok(if negative { -value } else { value })
        }
        _ => numeric::zoned(src, ebcdic, signed),
    }
}

/// COMP-3 packed decimal of 1 to 10 bytes. Requires AVX-512 F/BW/VL.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,bmi2")]
pub(super) fn packed(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault> {
    let n = src.len();
    if n == 0 || n > 10 || (n == 10 && !pad) {
        return numeric::packed(src, pad, signed);
    }
    let live = !_bzhi_u32(u32::from(u16::MAX), 16 - n as u32) as u16;
    // SAFETY: the mask selects the top `n` lanes, exactly the bytes of `src`.
    let x =
        unsafe { _mm_maskz_loadu_epi8(live, src.as_ptr().wrapping_add(n).wrapping_sub(16).cast()) };
    // One byte per nibble, in reading order: byte 2k = high nibble, 2k+1 = low nibble.
    let words = _mm256_cvtepu8_epi16(x);
    let nibbles = _mm256_or_si256(
        _mm256_srli_epi16::<4>(words),
        _mm256_slli_epi16::<8>(_mm256_and_si256(words, _mm256_set1_epi16(0x0F))),
    );
    // Digit nibbles: all of the field's but the last (the sign).
    let digit_lanes = !_bzhi_u32(u32::MAX, 32 - 2 * n as u32) & 0x7FFF_FFFF;
    let bad = _mm256_mask_cmpgt_epu8_mask(digit_lanes, nibbles, _mm256_set1_epi8(9));
    let pad_ok = !pad || src[0] >> 4 == 0;
    match numeric::packed_sign(src[n - 1] & 0x0F, signed) {
        Some(negative) if bad == 0 && pad_ok => {
            // With the sign lane zeroed the fold yields ten times the value.
            let value = (fold_digits(_mm256_maskz_mov_epi8(digit_lanes, nibbles)) / 10) as i64;
            Ok(if negative { -value } else { value })
        }
        _ => numeric::packed(src, pad, signed),
    }
}
