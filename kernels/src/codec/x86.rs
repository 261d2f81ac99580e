//! AVX-512 and AVX2 fast paths, compiled for any x86-64 target and entered only after run-time
//! detection (see [`super::FastPath`]).
//!
//! * DISPLAY (AVX-512 VBMI + VBMI2): 64 input bytes per step. Two `vpermi2b` lookups over
//!   four table registers give the 256-entry table; every chunk is widened to 16-bit
//!   lanes, its Latin-1 letters (accents) turned into two-byte UTF-8, and packed with
//!   `vpcompressb` (a chunk of plain ASCII packs back to itself). A chunk with anything
//!   else (TAB/LF/CR, unmappable bytes, code points above U+00FF such as € or ‾) goes to
//!   the scalar oracle, which also produces every error, so errors are the oracle's own.
//! * Zoned and COMP-3 (AVX-512 BW + VL): the field is loaded right-aligned into one
//!   register with a masked load (masked-out bytes are never touched, so no read goes past
//!   the field), zones and nibbles are checked with one compare each, and the digits are
//!   folded into an integer with three multiply-add steps. A field that fails any check is
//!   decoded again by the oracle to get the exact error.
//!
//! * COMP-3 columns (AVX-512 F/BW): a field of up to 8 bytes in eight records at a time,
//!   each read as the big-endian word ending where the field ends, checked and folded in
//!   the eight 64-bit lanes of one register (nibbles to bytes by subtraction, then
//!   `vpmaddubsw`, `vpmaddwd` and `vpmuludq` steps); a group with any invalid field is
//!   handed back whole.
//! * DISPLAY on AVX2 (no byte permutes across lanes): 32 input bytes per step, the
//!   table as sixteen rows of sixteen, one `vpshufb` per row by the low nibbles blended in
//!   where the high nibble matches; a step of ASCII is stored whole, one with Latin-1
//!   letters widened byte by byte without branches; anything else goes to the oracle as
//!   on AVX-512.
//! * Zoned and COMP-3 on AVX2 (no masked loads): the field is first copied right-aligned
//!   into a small zeroed array, then checked and folded the same way.
//!
//! Every function here requires its target features; callers uphold that by construction.
//! The per-field numeric decoders (and their helpers) are `#[inline(always)] unsafe fn`s
//! without `#[target_feature]`, like the DISPLAY bodies: a `#[target_feature]` function
//! cannot be forced inline, and the compiler stopped inlining them into the column loops
//! once those grew (a call per field cost zoned decimal a tenth of its speed). They are
//! only called from functions compiled with the features; calling them from anywhere
//! else is unsound.

use std::arch::x86_64::*;

use super::codepage::DisplayTables;
use super::columns::{Column, ColumnData};
use super::decode::{MAX_RUN_BYTES, MAX_RUN_FIELDS};
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
    out.reserve(src.len() * 3 + STORE_SLACK);
    // SAFETY: this function requires the features `append_field` needs, and the room it
    // writes into was reserved just above.
    unsafe { append_field(table_registers(tables), tables, src, out) }
}

/// Appends the UTF-8 of one field to `out`: the vector steps, or the oracle for a field
/// they do not take (whose output and errors are then the oracle's). Same contract as
/// [`display_vector`]: the caller has the features and left room for three bytes per
/// input byte plus [`STORE_SLACK`] past `out.len()`.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn append_field(
    registers: TableRegisters,
    tables: &DisplayTables,
    src: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), FieldFault> {
    let len = out.len();
    match display_vector(registers, src, out.as_mut_ptr().add(len)) {
        Some(written) => {
            // SAFETY: `display_vector` initialised `written` bytes from `len`.
            unsafe { out.set_len(len + written) };
            Ok(())
        }
        None => super::display::display(tables, src, out),
    }
}

/// How far ahead of the write position a column's output is asked for: a few hundred
/// records' worth of a short field, a few records of a long one.
const OUTPUT_AHEAD: usize = 1024;

/// How many runs of records ahead a column's input is asked for.
const INPUT_RUNS_AHEAD: usize = 2;

/// DISPLAY decode of one field over many records into a text column, the
/// table kept in registers throughout. False at the first fault (the caller redoes the
/// records one by one to locate it).
///
/// The records come column by column, so the input is read at the record stride, which
/// the hardware prefetchers follow poorly, and the output of several columns is written
/// side by side. Both are asked for ahead of use: for each record, the same field
/// [`INPUT_RUNS_AHEAD`] runs of records further on (the records that follow are framed
/// the same way), and the column's output [`OUTPUT_AHEAD`] bytes past where it is
/// written (the line then arrives before the store that needs it, instead of that store
/// waiting for it).
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
    // Room for the whole run: three bytes per input byte plus one full vector store.
    bytes.reserve(spans.len() * length * 3 + STORE_SLACK);
    ends.reserve(spans.len());
    let run = spans.last().map_or(0, |s| s.1) - spans.first().map_or(0, |s| s.0);
    for &(start, _) in spans {
        let ahead = input
            .as_ptr()
            .wrapping_add(start + INPUT_RUNS_AHEAD * run + offset);
        prefetch(ahead);
        prefetch(ahead.wrapping_add(length.saturating_sub(1)));
        prefetch(bytes.as_ptr().wrapping_add(bytes.len() + OUTPUT_AHEAD));
        let src = &input[start + offset..start + offset + length];
        // SAFETY: this function requires the features `append_field` needs; the room it
        // writes into was reserved for the whole run above (each field takes at most
        // three bytes per input byte).
        if unsafe { append_field(registers, tables, src, bytes) }.is_err() {
            return false;
        }
        ends.push(bytes.len());
    }
    true
}

/// Asks for the cache line holding `at` (a hint: never faults, wherever it points).
#[inline(always)]
fn prefetch(at: *const u8) {
    // SAFETY: SSE is part of the x86-64 baseline, and a prefetch does not access memory
    // in a way that can fault or be observed.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast()) };
}

/// The body of the per-field DISPLAY entry points: writes the UTF-8 of `src` to `dst`
/// and returns its length, or `None` (after writing garbage) when a byte maps to
/// anything but printable Latin-1 (TAB/LF/CR, unmappable bytes, code points above
/// U+00FF); the caller then hands the field to the oracle, whose output and errors are
/// the reference.
///
/// Not a `#[target_feature]` function itself so that it can be forced inline into the
/// entry points (where the features hold); calling it from anywhere else is unsound, and
/// so is calling it without room for three bytes per input byte plus [`STORE_SLACK`] at
/// `dst`. Its intrinsic calls rely on that contract (hence the allow); its memory
/// accesses keep their own `unsafe` blocks and reasons.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn display_vector(registers: TableRegisters, src: &[u8], dst: *mut u8) -> Option<usize> {
    let mut written = 0usize;
    let mut i = 0usize;
    while i < src.len() {
        let n = (src.len() - i).min(64);
        let live = _bzhi_u64(u64::MAX, n as u32);
        // SAFETY: the mask covers exactly the `n` bytes of `src` from `i`.
        let x = unsafe { _mm512_maskz_loadu_epi8(live, src.as_ptr().add(i).cast()) };
        // SAFETY: at most 2 bytes per input byte are written so far, and the step's
        // stores stay inside the room the caller left (see `display_step`).
        let (len, _) = unsafe { display_step(registers, x, live, dst.add(written)) }?;
        written += len;
        i += n;
    }
    Some(written)
}

/// One 64-byte step of DISPLAY decoding: the `live` bytes of `x` mapped through the
/// table and written to `dst` as UTF-8 (64 or 128 bytes stored, the first `len` of them
/// meaningful). Returns `len` and the mask of bytes that took two UTF-8 bytes, or `None`
/// when a live byte maps below U+0020 or outside Latin-1 (nothing meaningful written).
/// Same contract as [`display_vector`] for the features. Room: a step with at most 32
/// live bytes stores 64 bytes at `dst`, one with more stores up to 128 (the second store
/// starts at most 64 bytes in). For a field of `n` bytes whose step at input offset `i`
/// writes at `dst = start + written` with `written ≤ 2·i`, that is at most
/// `2·i + 128 ≤ 3·(i + live) + 64` bytes from `start` when `live > 32`, and
/// `2·i + 64 ≤ 3·i + 64` otherwise: inside the three bytes per input byte plus
/// [`STORE_SLACK`] that the entry points reserve.
///
/// Every step takes the same way whether or not it holds Latin-1 letters: a branch on
/// that is as random as the text, and its mispredictions cost more than the widening
/// they would skip.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn display_step(
    registers: TableRegisters,
    x: __m512i,
    live: u64,
    dst: *mut u8,
) -> Option<(usize, u64)> {
    let [t0, t1, t2, t3] = registers.0;
    let low_half = _mm512_permutex2var_epi8(t0, x, t1);
    let high_half = _mm512_permutex2var_epi8(t2, x, t3);
    let mapped = _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), low_half, high_half);
    if _mm512_mask_cmplt_epu8_mask(live, mapped, _mm512_set1_epi8(0x20)) != 0 {
        return None;
    }
    let wide = _mm512_movepi8_mask(mapped) & live;
    let mut written = 0usize;
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
        let lead = _mm512_or_si512(_mm512_srli_epi16::<6>(lanes), _mm512_set1_epi16(0xC0));
        let cont = _mm512_or_si512(
            _mm512_and_si512(lanes, _mm512_set1_epi16(0x3F)),
            _mm512_set1_epi16(0x80),
        );
        let two_bytes = _mm512_or_si512(lead, _mm512_slli_epi16::<8>(cont));
        let wide_half = ((wide >> (32 * half)) & 0xFFFF_FFFF) as u32;
        let utf8 = _mm512_mask_blend_epi16(wide_half, lanes, two_bytes);
        let keep = _pdep_u64(valid, 0x5555_5555_5555_5555)
            | _pdep_u64(u64::from(wide_half), 0xAAAA_AAAA_AAAA_AAAA);
        let packed = _mm512_maskz_compress_epi8(keep, utf8);
        // SAFETY: at most 64 bytes were written before this store, which the caller's
        // room covers.
        unsafe { _mm512_storeu_si512(dst.add(written).cast(), packed) };
        written += keep.count_ones() as usize;
    }
    Some((written, wide))
}

/// Adjacent DISPLAY fields of one code page over many records (at most 128), each
/// appended to its text column: per record, the whole run of fields is decoded in full
/// 64-byte steps into a buffer, then each field's UTF-8 is copied to its column (where
/// a field's UTF-8 starts and ends follows from how many bytes before it took two UTF-8
/// bytes). A record whose run holds any byte the vector steps do not take is decoded
/// field by field as [`display_column`] does. False at the first fault.
///
/// `lengths` are the fields' lengths, the first field at `offset` in each record, at
/// most [`MAX_RUN_BYTES`] in all and [`MAX_RUN_FIELDS`] fields (the decoder cuts longer runs);
/// `columns` are their text columns.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi2,popcnt")]
pub(super) fn display_run(
    tables: &DisplayTables,
    input: &[u8],
    spans: &[(usize, usize)],
    offset: usize,
    lengths: &[usize],
    columns: &mut [Column],
) -> bool {
    let total: usize = lengths.iter().sum();
    assert!(
        total <= MAX_RUN_BYTES && lengths.len() <= MAX_RUN_FIELDS && lengths.len() == columns.len(),
        "a run of text fields longer than the decoder cuts them"
    );
    let registers = table_registers(tables);
    // Where each field starts in the run, and where the run ends.
    let mut bounds = [0usize; MAX_RUN_FIELDS + 1];
    for (i, &length) in lengths.iter().enumerate() {
        bounds[i + 1] = bounds[i] + length;
    }
    for (column, &length) in columns.iter_mut().zip(lengths) {
        let ColumnData::Text { bytes, ends } = &mut column.data else {
            panic!("columns built for another layout (field `{}`)", column.name)
        };
        bytes.reserve(spans.len() * length * 3 + STORE_SLACK);
        ends.reserve(spans.len());
    }
    // The run's UTF-8 (at most two bytes per input byte on this way) plus the spill of
    // the last step's stores, and each step's mask of two-byte characters.
    let mut text = [0u8; 2 * MAX_RUN_BYTES + 192];
    let mut wides = [0u64; MAX_RUN_BYTES / 64 + 1];
    let steps = total.div_ceil(64);
    let run = spans.last().map_or(0, |s| s.1) - spans.first().map_or(0, |s| s.0);
    for &(start, _) in spans {
        let from = start + offset;
        let src = &input[from..from + total];
        for line in (0..total).step_by(64) {
            prefetch(
                input
                    .as_ptr()
                    .wrapping_add(from + INPUT_RUNS_AHEAD * run + line),
            );
        }
        let mut written = 0usize;
        let mut vector = true;
        for (step, wide_mask) in wides[..steps].iter_mut().enumerate() {
            let i = step * 64;
            let live = _bzhi_u64(u64::MAX, (total - i).min(64) as u32);
            // SAFETY: the mask covers exactly the bytes of `src` from `i` (at most 64).
            let x = unsafe { _mm512_maskz_loadu_epi8(live, src.as_ptr().add(i).cast()) };
            // SAFETY: this function has the features; `written` ≤ 2·i, so the step's
            // stores (at most 128 bytes) stay inside `text`.
            match unsafe { display_step(registers, x, live, text.as_mut_ptr().add(written)) } {
                Some((len, wide)) => {
                    written += len;
                    *wide_mask = wide;
                }
                None => {
                    vector = false;
                    break;
                }
            }
        }
        if !vector {
            // SAFETY: this function has the features; room was reserved above.
            if !unsafe { run_by_fields(registers, tables, src, &bounds, columns) } {
                return false;
            }
            continue;
        }
        // Where the UTF-8 of input byte `p` of the run starts: `p` plus the two-byte
        // characters before it.
        let mut before = [0usize; MAX_RUN_BYTES / 64 + 1];
        for k in 1..=steps {
            before[k] = before[k - 1] + wides[k - 1].count_ones() as usize;
        }
        let utf8_at = |p: usize| {
            let (word, bit) = (p / 64, p % 64);
            p + before[word] + (_bzhi_u64(wides[word], bit as u32).count_ones() as usize)
        };
        let mut begin = 0;
        for (i, column) in columns.iter_mut().enumerate() {
            let ColumnData::Text { bytes, ends } = &mut column.data else {
                unreachable!("checked above")
            };
            let end = utf8_at(bounds[i + 1]);
            let len = bytes.len();
            prefetch(bytes.as_ptr().wrapping_add(len + OUTPUT_AHEAD));
            prefetch(
                ends.as_ptr()
                    .wrapping_add(ends.len() + OUTPUT_AHEAD / 16)
                    .cast(),
            );
            // SAFETY: `begin..end` lies inside the `written` bytes of `text`, whose
            // 64-byte reads past it stay inside `text`; the column has room for three
            // bytes per input byte of the field, and the masked stores write exactly
            // the `end - begin` bytes that `set_len` then covers. (Masked stores also
            // keep the compiler from turning this loop into a `memcpy` call per field.)
            unsafe {
                let (dst, n) = (bytes.as_mut_ptr().add(len), end - begin);
                let mut k = 0;
                while k < n {
                    let chunk = _mm512_loadu_si512(text.as_ptr().add(begin + k).cast());
                    let live = _bzhi_u64(u64::MAX, (n - k).min(64) as u32);
                    _mm512_mask_storeu_epi8(dst.add(k).cast(), live, chunk);
                    k += 64;
                }
                bytes.set_len(len + n);
            }
            ends.push(bytes.len());
            begin = end;
        }
    }
    true
}

/// One record's run of text fields decoded field by field (the way for runs holding
/// bytes the vector steps do not take); false at the first fault.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn run_by_fields(
    registers: TableRegisters,
    tables: &DisplayTables,
    src: &[u8],
    bounds: &[usize],
    columns: &mut [Column],
) -> bool {
    for (i, column) in columns.iter_mut().enumerate() {
        let ColumnData::Text { bytes, ends } = &mut column.data else {
            unreachable!("checked by the caller")
        };
        let field = &src[bounds[i]..bounds[i + 1]];
        // SAFETY: the caller has the features and reserved room for the field.
        if unsafe { append_field(registers, tables, field, bytes) }.is_err() {
            return false;
        }
        ends.push(bytes.len());
    }
    true
}

/// Folds up to 19 right-aligned decimal digits (one per byte, zeros before them) into an
/// integer: pairs, then quads, then groups of eight, then the three low groups.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn fold_digits(digits: __m256i) -> u64 {
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
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
pub(super) unsafe fn zoned(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault> {
    let Some((_, body)) = src.split_last() else {
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
    zoned_checked(x, live, src, ebcdic, signed)
}

/// Checks and folds a zoned field whose body (all but the last byte) is right-aligned in
/// `x` over the `live` lanes, zeros elsewhere; shared by the AVX-512 and AVX2 loads.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn zoned_checked(
    x: __m256i,
    live: u32,
    src: &[u8],
    ebcdic: bool,
    signed: bool,
) -> Result<i64, FieldFault> {
    let last = src[src.len() - 1];
    let zone = _mm256_set1_epi8(if ebcdic { 0xF0u8 as i8 } else { 0x30 });
    let high = _mm256_and_si256(x, _mm256_set1_epi8(0xF0u8 as i8));
    let digits = _mm256_and_si256(x, _mm256_set1_epi8(0x0F));
    let zone_ok = _mm256_movemask_epi8(_mm256_cmpeq_epi8(high, zone)) as u32;
    let digit_bad = _mm256_movemask_epi8(_mm256_cmpgt_epi8(digits, _mm256_set1_epi8(9))) as u32;
    match numeric::zoned_last_byte(last, ebcdic, signed) {
        Ok((digit, negative)) if live & (!zone_ok | digit_bad) == 0 => {
            let value = (fold_digits(digits) * 10 + u64::from(digit)) as i64;
            Ok(if negative { -value } else { value })
        }
        _ => numeric::zoned(src, ebcdic, signed),
    }
}

/// COMP-3 packed decimal of 1 to 10 bytes. Requires AVX-512 F/BW/VL.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
pub(super) unsafe fn packed(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault> {
    let n = src.len();
    if n == 0 || n > 10 || (n == 10 && !pad) {
        return numeric::packed(src, pad, signed);
    }
    let live = !_bzhi_u32(u32::from(u16::MAX), 16 - n as u32) as u16;
    // SAFETY: the mask selects the top `n` lanes, exactly the bytes of `src`.
    let x =
        unsafe { _mm_maskz_loadu_epi8(live, src.as_ptr().wrapping_add(n).wrapping_sub(16).cast()) };
    packed_checked(x, src, pad, signed)
}

/// Checks and folds a COMP-3 field right-aligned in `x`, zeros before it; shared by the
/// AVX-512 and AVX2 loads.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn packed_checked(
    x: __m128i,
    src: &[u8],
    pad: bool,
    signed: bool,
) -> Result<i64, FieldFault> {
    // One byte per digit nibble, in reading order, the sign nibble left out: u16 lane k
    // holds (low nibble of byte k-1, high nibble of byte k), so the digits end right-aligned
    // at the top lane, ready to fold. Lanes before the field are zero, so a check of the
    // whole register is exact.
    let previous = _mm_bslli_si128::<1>(x);
    let digits = _mm256_or_si256(
        _mm256_and_si256(_mm256_cvtepu8_epi16(previous), _mm256_set1_epi16(0x0F)),
        _mm256_slli_epi16::<8>(_mm256_srli_epi16::<4>(_mm256_cvtepu8_epi16(x))),
    );
    let bad = _mm256_movemask_epi8(_mm256_cmpgt_epi8(digits, _mm256_set1_epi8(9)));
    let pad_ok = !pad || src[0] >> 4 == 0;
    match numeric::packed_sign(src[src.len() - 1] & 0x0F, signed) {
        Some(negative) if bad == 0 && pad_ok => {
            let value = fold_digits(digits) as i64;
            Ok(if negative { -value } else { value })
        }
        _ => numeric::packed(src, pad, signed),
    }
}

/// COMP-3 of one field of up to 8 bytes over many records, eight records per step: each
/// field is read as the big-endian word of the 8 input bytes ending where it ends (the
/// bytes before it are masked off), and the eight words are checked and folded side by
/// side as [`numeric::packed_word`] does for one. Appends the values of the records it
/// decoded and returns how many that is (whole groups of eight, from the first), leaving
/// the rest to the caller; `None` if a group holds any field the word check rejects (the
/// caller then redoes those records one by one, which ends in the oracle's error). Also
/// returns `Some(0)` for fields it does not handle (longer than 8 bytes, or a first field
/// ending less than 8 bytes into the input). Requires AVX-512 F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn packed_column(
    input: &[u8],
    spans: &[(usize, usize)],
    offset: usize,
    len: usize,
    pad: bool,
    signed: bool,
    values: &mut Vec<i64>,
) -> Option<usize> {
    let groups = spans.len() / 8;
    if groups == 0 || !(1..=8).contains(&len) || spans[0].0 + offset + len < 8 {
        return Some(0);
    }
    let field_mask = _mm512_set1_epi64((u64::MAX >> (64 - 8 * len)) as i64);
    let nibble = _mm512_set1_epi64(0x0F);
    let high_bits = _mm512_set1_epi64(0x8888_8888_8888_8888u64 as i64);
    let low_nibbles = _mm512_set1_epi64(0x0F0F_0F0F_0F0F_0F0F);
    let byte_pairs = _mm512_set1_epi16(0x6401); // 1 x low byte + 100 x high byte
    let word_pairs = _mm512_set1_epi32(0x2710_0001); // 1 x low word + 10 000 x high word
    let low_dword = _mm512_set1_epi64(0xFFFF_FFFF);
    let hundred_million = _mm512_set1_epi64(100_000_000);
    let pad_shift = _mm512_set1_epi64(if pad { (8 * len - 8) as i64 } else { 64 });
    let zero = _mm512_setzero_si512();
    for group in spans.chunks_exact(8) {
        let mut words = [0u64; 8];
        for (word, &(start, _)) in words.iter_mut().zip(group) {
            let end = start + offset + len;
            *word = u64::from_be_bytes(input[end - 8..end].try_into().expect("eight bytes"));
        }
        // SAFETY: `words` is 64 bytes.
        let field = _mm512_and_si512(
            unsafe { _mm512_loadu_si512(words.as_ptr().cast()) },
            field_mask,
        );
        let sign = _mm512_and_si512(field, nibble);
        let digits = _mm512_srli_epi64::<4>(field);
        let above_nine = _mm512_and_si512(
            digits,
            _mm512_or_si512(
                _mm512_slli_epi64::<1>(digits),
                _mm512_slli_epi64::<2>(digits),
            ),
        );
        let pad_nibble = _mm512_srlv_epi64(digits, pad_shift);
        let bad = _mm512_test_epi64_mask(above_nine, high_bits)
            | _mm512_test_epi64_mask(pad_nibble, pad_nibble);
        let sign_ok = if signed {
            _mm512_cmpge_epu64_mask(sign, _mm512_set1_epi64(0xA))
        } else {
            _mm512_cmpeq_epi64_mask(sign, _mm512_set1_epi64(0xF))
        };
        if bad != 0 || sign_ok != 0xFF {
            return None;
        }
        let negative = _mm512_cmpeq_epi64_mask(sign, _mm512_set1_epi64(0xB))
            | _mm512_cmpeq_epi64_mask(sign, _mm512_set1_epi64(0xD));
        // Nibbles to bytes (0..=99): subtract 6 x the high nibble of each byte.
        let high = _mm512_and_si512(_mm512_srli_epi64::<4>(digits), low_nibbles);
        let bytes = _mm512_sub_epi64(
            _mm512_sub_epi64(digits, _mm512_slli_epi64::<2>(high)),
            _mm512_slli_epi64::<1>(high),
        );
        let words16 = _mm512_maddubs_epi16(bytes, byte_pairs);
        let dwords = _mm512_madd_epi16(words16, word_pairs);
        let value = _mm512_add_epi64(
            _mm512_mul_epu32(_mm512_srli_epi64::<32>(dwords), hundred_million),
            _mm512_and_si512(dwords, low_dword),
        );
        let value = _mm512_mask_sub_epi64(value, negative, zero, value);
        let mut out = [0i64; 8];
        // SAFETY: `out` is 64 bytes.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), value) };
        values.extend_from_slice(&out);
    }
    Some(groups * 8)
}

/// `src` (at most N bytes) right-aligned in an N-byte array, zeros before it: the AVX2
/// paths' stand-in for a masked load.
#[inline(always)]
fn right_aligned<const N: usize>(src: &[u8]) -> [u8; N] {
    let mut buf = [0u8; N];
    buf[N - src.len()..].copy_from_slice(src);
    buf
}

/// Zoned decimal of 1 to 18 bytes. Requires AVX2 and BMI2.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
pub(super) unsafe fn zoned_avx2(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault> {
    let Some((_, body)) = src.split_last() else {
        return numeric::zoned(src, ebcdic, signed);
    };
    if body.len() > 17 {
        return numeric::zoned(src, ebcdic, signed);
    }
    let buf = right_aligned::<32>(body);
    // SAFETY: `buf` is 32 bytes.
    let x = unsafe { _mm256_loadu_si256(buf.as_ptr().cast()) };
    let live = !_bzhi_u32(u32::MAX, 32 - body.len() as u32);
    zoned_checked(x, live, src, ebcdic, signed)
}

/// COMP-3 packed decimal of 1 to 10 bytes. Requires AVX2 and BMI2.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
pub(super) unsafe fn packed_avx2(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault> {
    let n = src.len();
    if n == 0 || n > 10 || (n == 10 && !pad) {
        return numeric::packed(src, pad, signed);
    }
    let buf = right_aligned::<16>(src);
    // SAFETY: `buf` is 16 bytes.
    let x = unsafe { _mm_loadu_si128(buf.as_ptr().cast()) };
    packed_checked(x, src, pad, signed)
}

/// The 256-entry Latin-1 table as sixteen rows of sixteen bytes, each row in both 128-bit
/// lanes of a register: AVX2's `vpshufb` looks up sixteen entries within a lane.
pub(super) struct TableRows([__m256i; 16]);

/// The table's rows for the AVX2 DISPLAY steps. Requires AVX2.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
pub(super) unsafe fn table_rows(tables: &DisplayTables) -> TableRows {
    let base = tables.latin1.0.as_ptr();
    let mut rows = [_mm256_setzero_si256(); 16];
    for (r, row) in rows.iter_mut().enumerate() {
        // SAFETY: row `r` is bytes 16·r .. 16·r + 16 of the 256-byte table.
        *row = _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(base.add(16 * r).cast()) });
    }
    TableRows(rows)
}

/// Appends the UTF-8 of one DISPLAY field to `out` with AVX2 steps, or through the oracle
/// for a field they do not take (then the output and any error are the oracle's).
/// Requires AVX2 (callers are compiled with it).
///
/// Each 32-byte step maps its bytes through the table (per high nibble, a `vpshufb` of
/// that row by the low nibbles, blended in where the high nibble matches). A step of
/// ASCII is stored as it is; one with Latin-1 letters is widened to two-byte UTF-8 byte
/// by byte without branches. Like the AVX-512 steps, anything that does not map to
/// printable Latin-1 (TAB/LF/CR, unmappable bytes, code points above U+00FF) sends the
/// field to the oracle.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
pub(super) unsafe fn display_avx2(
    rows: &TableRows,
    tables: &DisplayTables,
    src: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), FieldFault> {
    // Two UTF-8 bytes per input byte at most on this way, plus one full 32-byte store.
    out.reserve(src.len() * 2 + 32);
    let len = out.len();
    // SAFETY: the room was reserved just above; the caller has AVX2.
    match unsafe { display_steps_avx2(rows, src, out.as_mut_ptr().add(len)) } {
        Some(written) => {
            // SAFETY: `display_steps_avx2` initialised `written` bytes from `len`.
            unsafe { out.set_len(len + written) };
            Ok(())
        }
        None => super::display::display(tables, src, out),
    }
}

/// The steps of [`display_avx2`]: writes the UTF-8 of `src` at `dst` and returns its
/// length, or `None` (after writing garbage) for a field the steps do not take. The
/// caller has AVX2 and left room for two bytes per input byte plus 32 at `dst`: a step
/// at input offset `i` writes from at most `2·i` on, 32 bytes (a plain step) or at most
/// two per live byte (a widened one).
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn display_steps_avx2(rows: &TableRows, src: &[u8], dst: *mut u8) -> Option<usize> {
    let nibble = _mm256_set1_epi8(0x0F);
    let space = _mm256_set1_epi8(0x20);
    let mut written = 0usize;
    let mut i = 0usize;
    // Where the last step's output began, and which of its bytes took two UTF-8 bytes.
    let mut last = (0usize, 0u32);
    while i < src.len() {
        let mut n = (src.len() - i).min(32);
        let x = if n == 32 {
            // SAFETY: 32 bytes of `src` from `i`.
            unsafe { _mm256_loadu_si256(src.as_ptr().add(i).cast()) }
        } else if i >= 32 {
            // The partial last step is taken as a full one ending where the field ends
            // (no copy, whose narrow stores a wide load would wait for): it starts at
            // byte `n` of the step before and rewrites that step's output from where
            // that byte's went, with the same bytes.
            written = last.0 + n + (last.1 & ((1u32 << n) - 1)).count_ones() as usize;
            i = src.len() - 32;
            n = 32;
            // SAFETY: the field has at least 32 bytes, the last 32 from `i`.
            unsafe { _mm256_loadu_si256(src.as_ptr().add(i).cast()) }
        } else {
            let mut tail = [0u8; 32];
            tail[..n].copy_from_slice(&src[i..]);
            // SAFETY: `tail` is 32 bytes.
            unsafe { _mm256_loadu_si256(tail.as_ptr().cast()) }
        };
        let live = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
        let low = _mm256_and_si256(x, nibble);
        let high = _mm256_and_si256(_mm256_srli_epi16::<4>(x), nibble);
        let mut mapped = _mm256_setzero_si256();
        for (r, &row) in rows.0.iter().enumerate() {
            let hit = _mm256_cmpeq_epi8(high, _mm256_set1_epi8(r as i8));
            mapped = _mm256_blendv_epi8(mapped, _mm256_shuffle_epi8(row, low), hit);
        }
        // Printable means at least 0x20 (unsigned): max(m, 0x20) == m.
        let printable =
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_max_epu8(mapped, space), mapped)) as u32;
        if !printable & live != 0 {
            return None;
        }
        let wide = _mm256_movemask_epi8(mapped) as u32 & live;
        last = (written, wide);
        let at = dst.add(written);
        if wide == 0 {
            // SAFETY: inside the room: `written ≤ 2·i`, and 32 more bytes were left.
            unsafe { _mm256_storeu_si256(at.cast(), mapped) };
            written += n;
        } else {
            // SAFETY: the caller has AVX2; the stores stay inside the room (see
            // `widen_avx2`).
            written += unsafe { widen_avx2(mapped, wide, n, at) };
        }
        i += n;
    }
    Some(written)
}

/// Per mask of which of eight bytes take two UTF-8 bytes: the `vpshufb` indices that keep
/// the low byte of each 16-bit lane and the high byte of the two-byte ones, in order.
static WIDEN: [[u8; 16]; 256] = widen_table();

const fn widen_table() -> [[u8; 16]; 256] {
    let mut table = [[0x80u8; 16]; 256];
    let mut mask = 0;
    while mask < 256 {
        let (mut j, mut k) = (0, 0);
        while j < 8 {
            table[mask][k] = 2 * j as u8;
            k += 1;
            if (mask >> j) & 1 == 1 {
                table[mask][k] = 2 * j as u8 + 1;
                k += 1;
            }
            j += 1;
        }
        mask += 1;
    }
    table
}

/// Writes the UTF-8 of the first `n` bytes of `mapped` (Latin-1, `wide` marking those of
/// 0x80 and above among them) at `dst` and returns its length. Sixteen bytes at a time are
/// widened to 16-bit lanes holding either the byte or its two UTF-8 bytes, and each eight
/// lanes are packed by one `vpshufb` from [`WIDEN`] and stored as sixteen bytes.
/// Requires AVX2; stores reach at most 16 bytes past two output bytes per byte before
/// the last group of eight with a live byte, so no further than `2·n + 14` from `dst`.
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn widen_avx2(mapped: __m256i, wide: u32, n: usize, dst: *mut u8) -> usize {
    let mut k = 0usize;
    for (h, half) in [
        _mm256_castsi256_si128(mapped),
        _mm256_extracti128_si256::<1>(mapped),
    ]
    .into_iter()
    .enumerate()
    {
        let base = 16 * h;
        if base >= n {
            break;
        }
        let lanes = _mm256_cvtepu8_epi16(half);
        let lead = _mm256_or_si256(_mm256_srli_epi16::<6>(lanes), _mm256_set1_epi16(0xC0));
        let cont = _mm256_or_si256(
            _mm256_and_si256(lanes, _mm256_set1_epi16(0x3F)),
            _mm256_set1_epi16(0x80),
        );
        let two = _mm256_or_si256(lead, _mm256_slli_epi16::<8>(cont));
        let is_wide = _mm256_cmpgt_epi16(lanes, _mm256_set1_epi16(0x7F));
        let utf8 = _mm256_blendv_epi8(lanes, two, is_wide);
        let m = (wide >> base) & 0xFFFF;
        let (m0, m1) = ((m & 0xFF) as usize, (m >> 8) as usize);
        // SAFETY: each row of WIDEN is 16 bytes.
        let shuffle = unsafe {
            _mm256_set_m128i(
                _mm_loadu_si128(WIDEN[m1].as_ptr().cast()),
                _mm_loadu_si128(WIDEN[m0].as_ptr().cast()),
            )
        };
        let packed = _mm256_shuffle_epi8(utf8, shuffle);
        // SAFETY: see the room stated above.
        unsafe { _mm_storeu_si128(dst.add(k).cast(), _mm256_castsi256_si128(packed)) };
        k += (n - base).min(8) + m0.count_ones() as usize;
        if n - base > 8 {
            // SAFETY: as above.
            unsafe { _mm_storeu_si128(dst.add(k).cast(), _mm256_extracti128_si256::<1>(packed)) };
            k += (n - base - 8).min(8) + m1.count_ones() as usize;
        }
    }
    k
}

/// DISPLAY decode of one field over `spans` into a text column with the AVX2 steps, the
/// table rows built once. False at the first fault (the caller redoes the records one by
/// one to locate it). Requires AVX2 (callers are compiled with it).
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
pub(super) unsafe fn display_column_avx2(
    tables: &DisplayTables,
    input: &[u8],
    spans: &[(usize, usize)],
    offset: usize,
    length: usize,
    bytes: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> bool {
    let rows = table_rows(tables);
    bytes.reserve(spans.len() * (length * 2 + 32));
    ends.reserve(spans.len());
    for &(start, _) in spans {
        let src = &input[start + offset..start + offset + length];
        if display_avx2(&rows, tables, src, bytes).is_err() {
            return false;
        }
        ends.push(bytes.len());
    }
    true
}
