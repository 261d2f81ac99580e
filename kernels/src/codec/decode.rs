//! Record framing and the record decoder: fields resolved once, records decoded into
//! columns, errors located.

use super::codepage::{CodePage, DisplayTables, Unmappable};
use super::columns::{Column, ColumnData, Columns};
use super::error::{CodecError, FieldFault};
use super::layout::{ByteOrder, Field, FieldKind, Layout, ZonedSign};
use super::{CodecPath, FastPath, display, numeric};

/// How records follow one another in an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordFormat {
    /// Every record is the layout's record length.
    Fixed,
    /// Each record starts with a 4-byte RDW: big-endian length (header included) and two
    /// reserved bytes.
    Rdw,
}

/// Where decoding of an input stands: the next record's index and byte position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub record: u64,
    pub pos: usize,
}

#[derive(Clone, Debug)]
enum Plan {
    Text(Box<DisplayTables>),
    Zoned {
        ebcdic: bool,
        signed: bool,
    },
    /// Signed zoned with the sign elsewhere than the last digit's zone: the oracle on
    /// every path (such fields are rare enough that a vector form would not pay).
    ZonedSign {
        ebcdic: bool,
        sign: ZonedSign,
    },
    Packed {
        pad: bool,
        signed: bool,
    },
    Binary {
        signed: bool,
        little: bool,
    },
}

/// One field's decoder, resolved from the layout once.
#[derive(Clone, Debug)]
pub struct FieldCodec {
    name: String,
    offset: usize,
    length: usize,
    codepage: CodePage,
    plan: Plan,
}

impl FieldCodec {
    /// The decoder of `field`; `codepage` applies unless the field names its own.
    pub fn new(field: &Field, codepage: CodePage, policy: Unmappable) -> FieldCodec {
        let codepage = field.codepage.unwrap_or(codepage);
        let plan = match field.kind {
            FieldKind::Display => Plan::Text(Box::new(DisplayTables::new(codepage, policy))),
            FieldKind::Zoned if field.sign != ZonedSign::Trailing => Plan::ZonedSign {
                ebcdic: codepage.is_ebcdic(),
                sign: field.sign,
            },
            FieldKind::Zoned => Plan::Zoned {
                ebcdic: codepage.is_ebcdic(),
                signed: field.signed,
            },
            FieldKind::Packed => Plan::Packed {
                pad: field.digits.is_multiple_of(2),
                signed: field.signed,
            },
            FieldKind::Binary => Plan::Binary {
                signed: field.signed,
                little: field.byte_order == ByteOrder::Little,
            },
        };
        FieldCodec {
            name: field.name.clone(),
            offset: field.offset,
            length: field.length,
            codepage,
            plan,
        }
    }

    /// Decodes a DISPLAY field's bytes (exactly the field's length) on `path`.
    /// Returns `None` for a numeric field.
    pub fn decode_text(
        &self,
        path: CodecPath,
        src: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Result<(), FieldFault>> {
        let Plan::Text(tables) = &self.plan else {
            return None;
        };
        Some(match FastPath::resolve(path) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `resolve` reported that this CPU has the features.
            FastPath::Avx512Vbmi2 => unsafe { super::x86::display(tables, src, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            FastPath::Avx512Bw | FastPath::Avx2 => unsafe { text_avx2(tables, src, out) },
            _ => display::display(tables, src, out),
        })
    }

    /// Decodes a numeric field's bytes (exactly the field's length) on `path` to a scaled
    /// integer. Returns `None` for a DISPLAY field or bytes of the wrong length.
    pub fn decode_number(&self, path: CodecPath, src: &[u8]) -> Option<Result<i64, FieldFault>> {
        if src.len() != self.length {
            return None;
        }
        Some(match FastPath::resolve(path) {
            FastPath::None => self.number::<ScalarKernels>(src)?,
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `resolve` reported that this CPU has the features.
            FastPath::Avx2 => unsafe { number_avx2(self, src)? },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `resolve` reported that this CPU has the features.
            _ => unsafe { number_avx512(self, src)? },
            #[cfg(not(target_arch = "x86_64"))]
            _ => self.number::<ScalarKernels>(src)?,
        })
    }

    #[inline(always)]
    fn number<K: Kernels>(&self, src: &[u8]) -> Option<Result<i64, FieldFault>> {
        Some(match self.plan {
            Plan::Text(_) => return None,
            Plan::Zoned { ebcdic, signed } => K::zoned(src, ebcdic, signed),
            Plan::ZonedSign { ebcdic, sign } => numeric::zoned_signed(src, ebcdic, sign),
            Plan::Packed { pad, signed } => K::packed(src, pad, signed),
            Plan::Binary { signed, little } => numeric::binary_ordered(src, signed, little),
        })
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,bmi2")]
fn number_avx512(codec: &FieldCodec, src: &[u8]) -> Option<Result<i64, FieldFault>> {
    codec.number::<Avx512Kernels>(src)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn text_avx2(tables: &DisplayTables, src: &[u8], out: &mut Vec<u8>) -> Result<(), FieldFault> {
    // SAFETY: this function has AVX2, which the steps require.
    unsafe { super::x86::display_avx2(&super::x86::table_rows(tables), tables, src, out) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi2")]
fn number_avx2(codec: &FieldCodec, src: &[u8]) -> Option<Result<i64, FieldFault>> {
    codec.number::<Avx2Kernels>(src)
}

/// AVX2: vector DISPLAY (AVX2 steps), zoned and COMP-3.
#[cfg(target_arch = "x86_64")]
struct Avx2Kernels;

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx2Kernels {
    const PACKED_WORDS: bool = true;
    const TEXT_AVX2: bool = true;
    #[inline(always)]
    fn zoned(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault> {
        // SAFETY: only reached from functions entered after detecting AVX2 + BMI2.
        unsafe { super::x86::zoned_avx2(src, ebcdic, signed) }
    }
    #[inline(always)]
    fn packed(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault> {
        // SAFETY: as above.
        unsafe { super::x86::packed_avx2(src, pad, signed) }
    }
}

/// The per-kind decoders of one code path; the record loop is generic over it so each
/// path gets its own fully inlined copy.
trait Kernels {
    /// COMP-3 fields of up to 8 bytes are read as one word and decoded by
    /// [`numeric::packed_word`] (no vector instructions needed, but a fast path only).
    const PACKED_WORDS: bool = false;
    /// COMP-3 columns go eight records a step through [`super::x86::packed_column`];
    /// only for kernels entered after detecting AVX-512 F/BW.
    const PACKED_EIGHT: bool = false;
    /// DISPLAY fields go through the AVX2 steps ([`super::x86::display_avx2`]); only for
    /// kernels entered after detecting AVX2.
    const TEXT_AVX2: bool = false;
    /// One DISPLAY field; the oracle unless a path has vector code for it.
    #[inline(always)]
    fn text(tables: &DisplayTables, src: &[u8], out: &mut Vec<u8>) -> Result<(), FieldFault> {
        #[cfg(target_arch = "x86_64")]
        if Self::TEXT_AVX2 {
            // SAFETY: only kernels entered after detecting AVX2 set TEXT_AVX2.
            return unsafe {
                super::x86::display_avx2(&super::x86::table_rows(tables), tables, src, out)
            };
        }
        display::display(tables, src, out)
    }
    /// One DISPLAY field over `spans`, appended to a text column; false at the first fault.
    #[inline(always)]
    fn text_column(
        tables: &DisplayTables,
        input: &[u8],
        spans: &[(usize, usize)],
        offset: usize,
        length: usize,
        bytes: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if Self::TEXT_AVX2 {
            // SAFETY: only kernels entered after detecting AVX2 set TEXT_AVX2.
            return unsafe {
                super::x86::display_column_avx2(tables, input, spans, offset, length, bytes, ends)
            };
        }
        ends.reserve(spans.len());
        for &(start, _) in spans {
            let src = &input[start + offset..start + offset + length];
            if Self::text(tables, src, bytes).is_err() {
                return false;
            }
            ends.push(bytes.len());
        }
        true
    }
    /// Adjacent DISPLAY fields of one code page (`lengths`, the first at `offset`) over
    /// `spans`, each appended to its text column; false at the first fault.
    #[inline(always)]
    fn text_run(
        tables: &DisplayTables,
        input: &[u8],
        spans: &[(usize, usize)],
        offset: usize,
        lengths: &[usize],
        columns: &mut [Column],
    ) -> bool {
        let mut at = offset;
        for (&length, column) in lengths.iter().zip(columns) {
            let ColumnData::Text { bytes, ends } = &mut column.data else {
                panic!("columns built for another layout (field `{}`)", column.name)
            };
            if !Self::text_column(tables, input, spans, at, length, bytes, ends) {
                return false;
            }
            at += length;
        }
        true
    }
    fn zoned(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault>;
    fn packed(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault>;
    /// The COMP-3 field `input[at..at + len]`. With [`Self::PACKED_WORDS`], a field of up
    /// to 8 bytes with 8 bytes of input ending where it ends is read as one word (the
    /// bytes before the field are ignored; nothing past it is read).
    #[inline(always)]
    fn packed_in(
        input: &[u8],
        at: usize,
        len: usize,
        pad: bool,
        signed: bool,
    ) -> Result<i64, FieldFault> {
        let end = at + len;
        if Self::PACKED_WORDS
            && (1..=8).contains(&len)
            && let Some(bytes) = end.checked_sub(8).and_then(|from| input.get(from..end))
        {
            let word = u64::from_be_bytes(bytes.try_into().expect("eight bytes"));
            if let Some(value) = numeric::packed_word(word, len, pad, signed) {
                return Ok(value);
            }
        }
        // Anything else, or a field the word rejects, goes to the path's field decoder
        // (which ends in the oracle for an invalid one).
        Self::packed(&input[at..end], pad, signed)
    }
    /// One COMP-3 field over `spans`, appended to a number column; false at the first
    /// fault.
    #[inline(always)]
    fn packed_column(
        input: &[u8],
        spans: &[(usize, usize)],
        offset: usize,
        length: usize,
        pad: bool,
        signed: bool,
        values: &mut Vec<i64>,
    ) -> bool {
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if Self::PACKED_EIGHT {
            // SAFETY: only kernels entered after detecting AVX-512 F/BW set PACKED_EIGHT.
            let Some(eight) = (unsafe {
                super::x86::packed_column(input, spans, offset, length, pad, signed, values)
            }) else {
                return false;
            };
            done = eight;
        }
        numbers_column(&spans[done..], offset, values, |at| {
            Self::packed_in(input, at, length, pad, signed)
        })
    }
}

struct ScalarKernels;

impl Kernels for ScalarKernels {
    #[inline(always)]
    fn zoned(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault> {
        numeric::zoned(src, ebcdic, signed)
    }
    #[inline(always)]
    fn packed(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault> {
        numeric::packed(src, pad, signed)
    }
}

/// AVX-512 BW: vector zoned and COMP-3, DISPLAY on the AVX2 steps (VBMI's byte
/// permutes are missing). Only instantiated inside functions that require the features.
#[cfg(target_arch = "x86_64")]
struct Avx512Kernels;

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx512Kernels {
    const PACKED_WORDS: bool = true;
    const TEXT_AVX2: bool = true;
    const PACKED_EIGHT: bool = true;
    #[inline(always)]
    fn zoned(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault> {
        // SAFETY: only reached from functions entered after detecting AVX-512 BW/VL + BMI2.
        unsafe { super::x86::zoned(src, ebcdic, signed) }
    }
    #[inline(always)]
    fn packed(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault> {
        // SAFETY: as above.
        unsafe { super::x86::packed(src, pad, signed) }
    }
}

/// AVX-512 with VBMI/VBMI2: every vectorised kind.
#[cfg(target_arch = "x86_64")]
struct Vbmi2Kernels;

#[cfg(target_arch = "x86_64")]
impl Kernels for Vbmi2Kernels {
    const PACKED_WORDS: bool = true;
    const PACKED_EIGHT: bool = true;
    #[inline(always)]
    fn text(tables: &DisplayTables, src: &[u8], out: &mut Vec<u8>) -> Result<(), FieldFault> {
        // SAFETY: only reached from functions entered after detecting VBMI/VBMI2 + BMI2.
        unsafe { super::x86::display(tables, src, out) }
    }
    #[inline(always)]
    fn text_column(
        tables: &DisplayTables,
        input: &[u8],
        spans: &[(usize, usize)],
        offset: usize,
        length: usize,
        bytes: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> bool {
        // SAFETY: as above.
        unsafe { super::x86::display_column(tables, input, spans, offset, length, bytes, ends) }
    }
    #[inline(always)]
    fn text_run(
        tables: &DisplayTables,
        input: &[u8],
        spans: &[(usize, usize)],
        offset: usize,
        lengths: &[usize],
        columns: &mut [Column],
    ) -> bool {
        // SAFETY: as above.
        unsafe { super::x86::display_run(tables, input, spans, offset, lengths, columns) }
    }
    #[inline(always)]
    fn zoned(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault> {
        Avx512Kernels::zoned(src, ebcdic, signed)
    }
    #[inline(always)]
    fn packed(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault> {
        Avx512Kernels::packed(src, pad, signed)
    }
}

/// Entry points of the vector paths: the generic record loop compiled with the features
/// enabled, so the field kernels inline into it.
macro_rules! vector_entry_points {
    ($features:literal, $kernels:ty, $decode:ident, $record:ident) => {
        #[cfg(target_arch = "x86_64")]
        impl RecordDecoder {
            #[target_feature(enable = $features)]
            fn $decode(
                &self,
                input: &[u8],
                format: RecordFormat,
                cursor: &mut Cursor,
                max_records: usize,
                out: &mut Columns,
                on_error: &mut ErrorPolicy<'_>,
            ) -> Result<(), CodecError> {
                self.decode_with::<$kernels>(input, format, cursor, max_records, out, on_error)
            }

            #[target_feature(enable = $features)]
            fn $record(
                &self,
                record: &[u8],
                index: u64,
                offset: u64,
                out: &mut Columns,
            ) -> Result<(), CodecError> {
                self.record_with::<$kernels>(record, index, offset, out)
            }
        }
    };
}

vector_entry_points!(
    "avx512f,avx512bw,avx512vl,avx512vbmi,avx512vbmi2,avx2,bmi2,popcnt",
    Vbmi2Kernels,
    decode_vbmi2,
    record_vbmi2
);
vector_entry_points!(
    "avx512f,avx512bw,avx512vl,avx2,bmi2",
    Avx512Kernels,
    decode_avx512,
    record_avx512
);
vector_entry_points!("avx2,bmi2", Avx2Kernels, decode_avx2, record_avx2);

/// Records framed and decoded column by column in one go at most; a power of two that
/// keeps the spans on the stack and a chunk's columns in cache.
const CHUNK_RECORDS: usize = 128;

/// Input bytes of one chunk, as near as whole records allow: a chunk is read once per
/// field, so it and the next one (asked for ahead) should fit the L1 data cache together.
const CHUNK_BYTES: usize = 8 * 1024;

/// Records per chunk for records of `length` bytes: [`CHUNK_BYTES`] of them, at least 8
/// (a vector step of the column kernels) and at most [`CHUNK_RECORDS`].
fn chunk_records(length: usize) -> usize {
    (CHUNK_BYTES / length.max(1)).clamp(8, CHUNK_RECORDS)
}

/// Appends the values of one numeric field over `spans` (at most [`CHUNK_RECORDS`]);
/// false at the first fault. `decode` gets where the field starts in the input. Values
/// gather in a local array first so the loop keeps its count in a register instead of
/// updating the vector's length per value.
#[inline(always)]
fn numbers_column(
    spans: &[(usize, usize)],
    offset: usize,
    values: &mut Vec<i64>,
    decode: impl Fn(usize) -> Result<i64, FieldFault>,
) -> bool {
    let mut decoded = [0i64; CHUNK_RECORDS];
    for (slot, &(start, _)) in decoded.iter_mut().zip(spans) {
        match decode(start + offset) {
            Ok(value) => *slot = value,
            Err(_) => return false,
        }
    }
    values.extend_from_slice(&decoded[..spans.len().min(CHUNK_RECORDS)]);
    true
}

/// Longest run of adjacent DISPLAY fields decoded as one text, in input bytes and in
/// fields; longer runs are cut.
pub(super) const MAX_RUN_BYTES: usize = 1024;
pub(super) const MAX_RUN_FIELDS: usize = 32;

/// Cuts `fields` (in layout order) into runs: each DISPLAY field that starts where the
/// previous DISPLAY field ends, in the same code page, joins that field's run (within
/// [`MAX_RUN_BYTES`] and [`MAX_RUN_FIELDS`]); every other field is a run of its own.
/// A record's run of text fields is one stretch of input that a vector path can decode
/// in full 64-byte steps and then split at the field boundaries, instead of paying a
/// partly filled step per field.
fn text_runs(fields: &[FieldCodec]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if let Some(run) = runs.last_mut()
            && run.end == i
            && matches!(field.plan, Plan::Text(_))
        {
            let previous = &fields[i - 1];
            // Fields need not come in offset order (a layout may redefine bytes), so the
            // run's length is only worked out once this field follows the previous one.
            if matches!(previous.plan, Plan::Text(_))
                && previous.offset + previous.length == field.offset
                && previous.codepage == field.codepage
                && field.offset + field.length - fields[run.start].offset <= MAX_RUN_BYTES
                && run.len() < MAX_RUN_FIELDS
            {
                run.end = i + 1;
                continue;
            }
        }
        runs.push(i..i + 1);
    }
    runs
}

/// Decodes records of one layout on one code path.
#[derive(Clone, Debug)]
pub struct RecordDecoder {
    fields: Vec<FieldCodec>,
    extent: usize,
    record_length: usize,
    /// Records per chunk (see [`chunk_records`]).
    chunk: usize,
    /// The fields in layout order, cut into runs decoded together (see [`text_runs`]).
    runs: Vec<std::ops::Range<usize>>,
    fast: FastPath,
}

/// What to do with a record that failed: `Ok` skips it, `Err` stops decoding.
pub type ErrorPolicy<'a> = dyn FnMut(CodecError) -> Result<(), CodecError> + 'a;

impl RecordDecoder {
    /// A decoder of `layout`. `codepage` overrides the layout's default code page (fields
    /// naming their own keep it); with neither, CP037.
    pub fn new(
        layout: &Layout,
        codepage: Option<CodePage>,
        policy: Unmappable,
        path: CodecPath,
    ) -> RecordDecoder {
        let default = codepage.or(layout.codepage).unwrap_or(CodePage::Cp037);
        let fields: Vec<FieldCodec> = layout
            .fields
            .iter()
            .map(|f| FieldCodec::new(f, default, policy))
            .collect();
        RecordDecoder {
            runs: text_runs(&fields),
            fields,
            extent: layout.extent(),
            record_length: layout.record_length,
            chunk: chunk_records(layout.record_length.max(layout.extent())),
            fast: FastPath::resolve(path),
        }
    }

    /// The fast path this decoder runs.
    pub fn fast_path(&self) -> FastPath {
        self.fast
    }

    /// Decodes records of `input` from `cursor` on, at most `max_records` of them (failed
    /// ones included), appending to `out` (built for the same layout). Byte offsets in
    /// errors are positions in `input`. A record that fails is handed to `on_error`; if
    /// that returns `Err`, decoding stops with it. After a framing error that loses the
    /// record boundaries (bad RDW), the cursor moves to the end of the input.
    pub fn decode(
        &self,
        input: &[u8],
        format: RecordFormat,
        cursor: &mut Cursor,
        max_records: usize,
        out: &mut Columns,
        on_error: &mut ErrorPolicy<'_>,
    ) -> Result<(), CodecError> {
        assert_eq!(
            out.columns.len(),
            self.fields.len(),
            "columns built for another layout"
        );
        match self.fast {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `fast` came from `FastPath::resolve`, which detected the features.
            FastPath::Avx512Vbmi2 => unsafe {
                self.decode_vbmi2(input, format, cursor, max_records, out, on_error)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            FastPath::Avx512Bw => unsafe {
                self.decode_avx512(input, format, cursor, max_records, out, on_error)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            FastPath::Avx2 => unsafe {
                self.decode_avx2(input, format, cursor, max_records, out, on_error)
            },
            _ => {
                self.decode_with::<ScalarKernels>(input, format, cursor, max_records, out, on_error)
            }
        }
    }

    #[inline(always)]
    fn decode_with<K: Kernels>(
        &self,
        input: &[u8],
        format: RecordFormat,
        cursor: &mut Cursor,
        max_records: usize,
        out: &mut Columns,
        on_error: &mut ErrorPolicy<'_>,
    ) -> Result<(), CodecError> {
        let mut spans = [(0usize, 0usize); CHUNK_RECORDS];
        let mut done = 0;
        while done < max_records && cursor.pos < input.len() {
            // Frame a run of whole records ahead of the cursor; the first record that is
            // not whole (framing error, too short) is left to the record-by-record step.
            let limit = self.chunk.min(max_records - done);
            let mut probe = *cursor;
            let mut whole = 0;
            if format == RecordFormat::Fixed && self.record_length >= self.extent.max(1) {
                // Fixed records need no header reads: as many whole ones as fit.
                let fit = (input.len() - cursor.pos) / self.record_length;
                whole = limit.min(fit);
                for (k, span) in spans[..whole].iter_mut().enumerate() {
                    let start = cursor.pos + k * self.record_length;
                    *span = (start, start + self.record_length);
                }
                probe.pos += whole * self.record_length;
            }
            while whole < limit && probe.pos < input.len() {
                match self.frame(input, format, &mut probe) {
                    Ok((start, end)) if end - start >= self.extent => {
                        spans[whole] = (start, end);
                        whole += 1;
                    }
                    _ => break,
                }
            }
            if whole > 0 {
                let spans = &spans[..whole];
                let before = out.records();
                if self.columns_with::<K>(input, spans, out) {
                    out.commit_records(whole);
                    cursor.record += whole as u64;
                    cursor.pos = spans[whole - 1].1;
                } else {
                    // Some field failed: redo these records one by one, which locates the
                    // error and keeps the records around it.
                    out.truncate(before);
                    for &(start, end) in spans {
                        let index = cursor.record;
                        cursor.record += 1;
                        cursor.pos = end;
                        let result =
                            self.record_with::<K>(&input[start..end], index, start as u64, out);
                        if let Err(error) = result {
                            on_error(error)?;
                        }
                    }
                }
                done += whole;
                continue;
            }
            let index = cursor.record;
            let framed = self.frame(input, format, cursor);
            cursor.record += 1;
            done += 1;
            let result = framed.and_then(|(start, end)| {
                self.record_with::<K>(&input[start..end], index, start as u64, out)
            });
            if let Err(error) = result {
                if !error.is_recoverable() {
                    cursor.pos = input.len();
                }
                on_error(error)?;
            }
        }
        Ok(())
    }

    /// Decodes whole records (`spans` of at least the layout's extent) field by field,
    /// column after column. Returns false, with `out` partly filled, if any field fails.
    #[inline(always)]
    fn columns_with<K: Kernels>(
        &self,
        input: &[u8],
        spans: &[(usize, usize)],
        out: &mut Columns,
    ) -> bool {
        for run in &self.runs {
            if run.len() > 1 {
                let fields = &self.fields[run.clone()];
                let Plan::Text(tables) = &fields[0].plan else {
                    unreachable!("runs hold DISPLAY fields only")
                };
                let mut lengths = [0usize; MAX_RUN_FIELDS];
                for (length, field) in lengths.iter_mut().zip(fields) {
                    *length = field.length;
                }
                let columns = &mut out.columns[run.clone()];
                if !K::text_run(
                    tables,
                    input,
                    spans,
                    fields[0].offset,
                    &lengths[..run.len()],
                    columns,
                ) {
                    return false;
                }
                continue;
            }
            let (field, column) = (&self.fields[run.start], &mut out.columns[run.start]);
            let (offset, length) = (field.offset, field.length);
            let ok = match (&field.plan, &mut column.data) {
                (Plan::Text(tables), ColumnData::Text { bytes, ends }) => {
                    K::text_column(tables, input, spans, offset, length, bytes, ends)
                }
                (&Plan::Zoned { ebcdic, signed }, ColumnData::Number { values }) => {
                    numbers_column(spans, offset, values, |at| {
                        K::zoned(&input[at..at + length], ebcdic, signed)
                    })
                }
                (&Plan::Packed { pad, signed }, ColumnData::Number { values }) => {
                    K::packed_column(input, spans, offset, length, pad, signed, values)
                }
                (&Plan::ZonedSign { ebcdic, sign }, ColumnData::Number { values }) => {
                    numbers_column(spans, offset, values, |at| {
                        numeric::zoned_signed(&input[at..at + length], ebcdic, sign)
                    })
                }
                (&Plan::Binary { signed, little }, ColumnData::Number { values }) => {
                    numbers_column(spans, offset, values, |at| {
                        numeric::binary_ordered(&input[at..at + length], signed, little)
                    })
                }
                _ => panic!("columns built for another layout (field `{}`)", field.name),
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// The byte range of the next record's data, and the cursor moved past it.
    fn frame(
        &self,
        input: &[u8],
        format: RecordFormat,
        cursor: &mut Cursor,
    ) -> Result<(usize, usize), CodecError> {
        let pos = cursor.pos;
        let remaining = input.len() - pos;
        let truncated = |needed: usize| CodecError::TruncatedRecord {
            record: cursor.record,
            offset: pos as u64,
            needed: needed as u64,
            available: remaining as u64,
        };
        match format {
            RecordFormat::Fixed => {
                let length = self.record_length.max(1);
                if remaining < length {
                    let error = truncated(length);
                    cursor.pos = input.len();
                    return Err(error);
                }
                cursor.pos += length;
                Ok((pos, pos + length))
            }
            RecordFormat::Rdw => {
                if remaining < 4 {
                    let error = truncated(4);
                    cursor.pos = input.len();
                    return Err(error);
                }
                let header = [input[pos], input[pos + 1], input[pos + 2], input[pos + 3]];
                let length = usize::from(u16::from_be_bytes([header[0], header[1]]));
                if length < 4 {
                    return Err(CodecError::BadRdw {
                        record: cursor.record,
                        offset: pos as u64,
                        length: length as u64,
                        header,
                    });
                }
                if length > remaining {
                    return Err(CodecError::RdwBeyondFile {
                        record: cursor.record,
                        offset: pos as u64,
                        length: length as u64,
                        input_len: input.len() as u64,
                    });
                }
                cursor.pos += length;
                Ok((pos + 4, pos + length))
            }
        }
    }

    /// Decodes one record's bytes (`offset`: where they start in the input), appending
    /// to `out` (built for the same layout); on error `out` is left as it was.
    pub fn decode_record(
        &self,
        record: &[u8],
        index: u64,
        offset: u64,
        out: &mut Columns,
    ) -> Result<(), CodecError> {
        assert_eq!(
            out.columns.len(),
            self.fields.len(),
            "columns built for another layout"
        );
        match self.fast {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `fast` came from `FastPath::resolve`, which detected the features.
            FastPath::Avx512Vbmi2 => unsafe { self.record_vbmi2(record, index, offset, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            FastPath::Avx512Bw => unsafe { self.record_avx512(record, index, offset, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            FastPath::Avx2 => unsafe { self.record_avx2(record, index, offset, out) },
            _ => self.record_with::<ScalarKernels>(record, index, offset, out),
        }
    }

    #[inline(always)]
    fn record_with<K: Kernels>(
        &self,
        record: &[u8],
        index: u64,
        offset: u64,
        out: &mut Columns,
    ) -> Result<(), CodecError> {
        if record.len() < self.extent {
            return Err(CodecError::TruncatedRecord {
                record: index,
                offset,
                needed: self.extent as u64,
                available: record.len() as u64,
            });
        }
        for (field, column) in self.fields.iter().zip(out.columns.iter_mut()) {
            let src = &record[field.offset..field.offset + field.length];
            let result = match (&field.plan, &mut column.data) {
                (Plan::Text(tables), ColumnData::Text { bytes, ends }) => {
                    K::text(tables, src, bytes).map(|()| ends.push(bytes.len()))
                }
                (&Plan::Zoned { ebcdic, signed }, ColumnData::Number { values }) => {
                    K::zoned(src, ebcdic, signed).map(|v| values.push(v))
                }
                (&Plan::Packed { pad, signed }, ColumnData::Number { values }) => {
                    K::packed(src, pad, signed).map(|v| values.push(v))
                }
                (&Plan::ZonedSign { ebcdic, sign }, ColumnData::Number { values }) => {
                    numeric::zoned_signed(src, ebcdic, sign).map(|v| values.push(v))
                }
                (&Plan::Binary { signed, little }, ColumnData::Number { values }) => {
                    numeric::binary_ordered(src, signed, little).map(|v| values.push(v))
                }
                _ => panic!("columns built for another layout (field `{}`)", field.name),
            };
            if let Err(fault) = result {
                let records = out.records();
                out.truncate(records);
                return Err(CodecError::from_fault(
                    fault,
                    index,
                    &field.name,
                    offset + field.offset as u64,
                    field.codepage,
                ));
            }
        }
        out.commit_record();
        Ok(())
    }
}
