//! Columnar output: one buffer per field, a deterministic serialisation for hashing and a
//! JSON Lines writer for interop.

use std::io::{self, Write};
use std::ops::Range;

use super::layout::{FieldKind, Layout};
use super::numeric::{format_decimal, format_unsigned_decimal};

/// Schema line that opens the serialised form; changing the form means a new version.
pub const COLUMNS_SCHEMA: &str = "benchseal.codec.columns/1";

/// The most bytes [`Columns::with_capacity`] reserves up front for one text column.
const TEXT_HINT_LIMIT: usize = 1 << 30;

/// The values of one field over the decoded records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnData {
    /// UTF-8 text of every value back to back; `ends[i]` is where value `i` ends.
    Text { bytes: Vec<u8>, ends: Vec<usize> },
    /// Scaled integers: the value is `values[i] / 10^scale`, `values[i]` read as `u64`
    /// in an [`unsigned`](Column::unsigned) column.
    Number { values: Vec<i64> },
}

/// One field's column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub scale: u8,
    /// An unsigned 8-byte binary field: its values are `u64`s (up to 18446744073709551615),
    /// held as their bit patterns in `i64`s. Shorter or signed fields fit an `i64` as is.
    pub unsigned: bool,
    pub data: ColumnData,
}

impl Column {
    /// The text of record `row` (text columns).
    pub fn text(&self, row: usize) -> Option<&str> {
        match &self.data {
            ColumnData::Text { bytes, ends } => {
                let start = if row == 0 { 0 } else { ends[row - 1] };
                std::str::from_utf8(&bytes[start..ends[row]]).ok()
            }
            ColumnData::Number { .. } => None,
        }
    }

    /// The scaled integer of record `row` (numeric columns), wide enough for a signed or
    /// an [`unsigned`](Column::unsigned) column.
    pub fn number(&self, row: usize) -> Option<i128> {
        match &self.data {
            ColumnData::Number { values } => values.get(row).map(|&v| {
                if self.unsigned {
                    i128::from(v as u64)
                } else {
                    i128::from(v)
                }
            }),
            ColumnData::Text { .. } => None,
        }
    }
}

/// The decoded records of one batch (or one whole input), one column per layout field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    pub columns: Vec<Column>,
    records: usize,
}

impl Columns {
    /// Empty columns for `layout`, with room for `records` records without reallocation
    /// (text columns get room for three bytes of UTF-8 per input byte, up to 1 GiB each).
    pub fn with_capacity(layout: &Layout, records: usize) -> Columns {
        let columns = layout
            .fields
            .iter()
            .map(|f| Column {
                name: f.name.clone(),
                scale: f.scale,
                unsigned: f.kind == FieldKind::Binary && !f.signed && f.length == 8,
                data: match f.kind {
                    // The capacity is a hint, held to TEXT_HINT_LIMIT: the decoder
                    // reserves what each run of records needs anyway, so a layout with
                    // enormous fields costs nothing until such records actually come.
                    FieldKind::Display => ColumnData::Text {
                        bytes: Vec::with_capacity(
                            records
                                .saturating_mul(f.length)
                                .saturating_mul(3)
                                .saturating_add(64)
                                .min(TEXT_HINT_LIMIT),
                        ),
                        ends: Vec::with_capacity(records),
                    },
                    _ => ColumnData::Number {
                        values: Vec::with_capacity(records),
                    },
                },
            })
            .collect();
        Columns {
            columns,
            records: 0,
        }
    }

    /// The number of complete records held.
    pub fn records(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Forgets all records, keeping the allocations.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Keeps the first `records` records; drops any part of a record after them.
    pub fn truncate(&mut self, records: usize) {
        for column in &mut self.columns {
            match &mut column.data {
                ColumnData::Text { bytes, ends } => {
                    ends.truncate(records);
                    bytes.truncate(ends.last().copied().unwrap_or(0));
                }
                ColumnData::Number { values } => values.truncate(records),
            }
        }
        self.records = self.records.min(records);
    }

    /// Appends the complete records of `other` (columns of the same layout) after this
    /// one's: text bytes are appended with `other`'s ends shifted past this column's bytes,
    /// numbers appended, record counts summed. Decoding an input in parts and appending
    /// the parts in order gives the columns of decoding it whole. Any part of a record
    /// after the complete ones (in either) is dropped first. Reuses this one's memory: no
    /// allocation when it has the room.
    ///
    /// # Panics
    ///
    /// If `other`'s columns are not those of this one's layout (count, names, scales,
    /// signedness and kinds).
    pub fn append(&mut self, other: &Columns) {
        self.check_same_layout(other);
        self.truncate(self.records);
        let records = other.records;
        for (column, from) in self.columns.iter_mut().zip(&other.columns) {
            match (&mut column.data, &from.data) {
                (
                    ColumnData::Text { bytes, ends },
                    ColumnData::Text {
                        bytes: more,
                        ends: more_ends,
                    },
                ) => {
                    let shift = bytes.len();
                    let more_ends = &more_ends[..records];
                    bytes.extend_from_slice(&more[..more_ends.last().copied().unwrap_or(0)]);
                    ends.extend(more_ends.iter().map(|end| end + shift));
                }
                (ColumnData::Number { values }, ColumnData::Number { values: more }) => {
                    values.extend_from_slice(&more[..records]);
                }
                _ => unreachable!("column kinds were checked to match"),
            }
        }
        self.records += records;
    }

    /// Marks one more record complete (every column got its value).
    pub(crate) fn commit_record(&mut self) {
        self.records += 1;
    }

    /// Marks `n` more records complete.
    pub(crate) fn commit_records(&mut self, n: usize) {
        self.records += n;
    }

    /// Feeds the deterministic serialisation to `sink`: the schema line, then per column
    /// its name, kind, scale, record count and values (text: u64 LE end offsets then the
    /// UTF-8 bytes; numbers: i64 LE, the u64's own bytes in an unsigned column, which the
    /// layout, part of the input, tells apart).
    pub fn serialize(&self, sink: &mut dyn FnMut(&[u8])) {
        Columns::serialize_parts(std::slice::from_ref(self), sink);
    }

    /// Serialises `parts`, the columns of consecutive ranges of one input decoded apart
    /// (by threads, say), exactly as [`serialize`](Columns::serialize) serialises the
    /// columns of the input decoded whole, without joining them first: each part's text
    /// ends are shifted past the bytes of the parts before it. One part is `serialize`.
    ///
    /// # Panics
    ///
    /// If `parts` is empty or its columns are not all of one layout (count, names,
    /// scales, signedness and kinds).
    pub fn serialize_parts(parts: &[Columns], sink: &mut dyn FnMut(&[u8])) {
        let (first, rest) = parts.split_first().expect("at least one part");
        for other in rest {
            first.check_same_layout(other);
        }
        let records: usize = parts.iter().map(|p| p.records).sum();
        sink(COLUMNS_SCHEMA.as_bytes());
        sink(b"\n");
        sink(&(first.columns.len() as u64).to_le_bytes());
        sink(&(records as u64).to_le_bytes());
        let mut chunk = Vec::with_capacity(64 * 1024);
        for (at, column) in first.columns.iter().enumerate() {
            sink(&(column.name.len() as u64).to_le_bytes());
            sink(column.name.as_bytes());
            let data = || parts.iter().map(move |p| &p.columns[at].data);
            match &column.data {
                ColumnData::Text { .. } => {
                    sink(b"T");
                    sink(&[column.scale]);
                    let mut shift = 0;
                    for data in data() {
                        let ColumnData::Text { bytes, ends } = data else {
                            unreachable!("column kinds were checked to match")
                        };
                        for slice in ends.chunks(8192) {
                            chunk.clear();
                            for end in slice {
                                chunk.extend_from_slice(&((end + shift) as u64).to_le_bytes());
                            }
                            sink(&chunk);
                        }
                        shift += bytes.len();
                    }
                    sink(&(shift as u64).to_le_bytes());
                    for data in data() {
                        if let ColumnData::Text { bytes, .. } = data {
                            sink(bytes);
                        }
                    }
                }
                ColumnData::Number { .. } => {
                    sink(b"N");
                    sink(&[column.scale]);
                    for data in data() {
                        let ColumnData::Number { values } = data else {
                            unreachable!("column kinds were checked to match")
                        };
                        for slice in values.chunks(8192) {
                            chunk.clear();
                            for v in slice {
                                chunk.extend_from_slice(&v.to_le_bytes());
                            }
                            sink(&chunk);
                        }
                    }
                }
            }
        }
    }

    /// Panics with "columns of another layout" unless `other`'s columns are this one's
    /// (count, names, scales, signedness and kinds).
    fn check_same_layout(&self, other: &Columns) {
        assert!(
            self.columns.len() == other.columns.len()
                && self.columns.iter().zip(&other.columns).all(|(a, b)| {
                    a.name == b.name
                        && a.scale == b.scale
                        && a.unsigned == b.unsigned
                        && std::mem::discriminant(&a.data) == std::mem::discriminant(&b.data)
                }),
            "columns of another layout"
        );
    }

    /// Writes one JSON object per record, fields in layout order; numbers as decimal
    /// strings (`"-123.45"`) so no reader loses digits to floating point. A one-off
    /// [`JsonlWriter`]; callers writing many batches keep one instead.
    pub fn write_jsonl(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut writer = JsonlWriter::new(self);
        writer.write(self, out)?;
        writer.flush(out)
    }
}

/// Bytes of JSON Lines a [`JsonlWriter`] gathers before handing them to its output: large
/// writes, and a bound on its memory (the buffer never holds more than this plus one
/// record).
pub const JSONL_FLUSH_BYTES: usize = 1 << 20;

/// JSON Lines writer for batches of [`Columns`] of one layout: each record is formatted
/// field by field straight into one reusable buffer (keys rendered once, text escaped in
/// runs, numbers formatted in place), which goes out in writes of about
/// [`JSONL_FLUSH_BYTES`]. Nothing is allocated per record. The bytes are those of
/// `serde_json` for the same strings: `"`, `\\` and control characters escaped, the rest
/// of the UTF-8 as is.
#[derive(Clone, Debug)]
pub struct JsonlWriter {
    /// Per column: what comes before its value (`{"name":` or `,"name":`).
    prefixes: Vec<Vec<u8>>,
    buf: Vec<u8>,
    /// Per column: whether every value of the block of records being formatted is UTF-8.
    valid: Vec<bool>,
}

/// Records whose text is checked for UTF-8 at once.
const CHECK_ROWS: usize = 256;

/// Whether the values of `rows` in a text column are all UTF-8 (each one on its own:
/// the bytes of the rows are, and each value ends on a character boundary).
fn utf8_rows(bytes: &[u8], ends: &[usize], rows: Range<usize>) -> bool {
    let start = if rows.start == 0 {
        0
    } else {
        ends[rows.start - 1]
    };
    let end = ends[rows.end - 1];
    match bytes.get(start..end).map(simdutf8::basic::from_utf8) {
        Some(Ok(text)) => ends[rows]
            .iter()
            .all(|&e| e >= start && text.is_char_boundary(e - start)),
        _ => false,
    }
}

impl JsonlWriter {
    /// A writer for columns named as `columns`' are (any batch of the same layout).
    pub fn new(columns: &Columns) -> JsonlWriter {
        let prefixes = columns
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut prefix = vec![if i == 0 { b'{' } else { b',' }];
                escape_json_string(c.name.as_bytes(), &mut prefix);
                prefix.push(b':');
                prefix
            })
            .collect();
        JsonlWriter {
            prefixes,
            buf: Vec::with_capacity(JSONL_FLUSH_BYTES + 64 * 1024),
            valid: Vec::new(),
        }
    }

    /// Formats records of `columns` from `rows.start` on into the buffer until it holds
    /// [`JSONL_FLUSH_BYTES`] or `rows` is done; returns the first record not formatted.
    pub fn format(&mut self, columns: &Columns, rows: Range<usize>) -> usize {
        assert_eq!(
            columns.columns.len(),
            self.prefixes.len(),
            "columns of another layout"
        );
        // Text columns are UTF-8 when the decoder made them; a hand-built column might
        // not be, and a value that is not UTF-8 is written as an empty string. Records are
        // checked a block at a time (one pass over each column's bytes), so no value
        // needs its own check.
        let mut row = rows.start;
        let mut checked = row;
        while row < rows.end && self.buf.len() < JSONL_FLUSH_BYTES {
            if row == checked {
                checked = rows.end.min(row + CHECK_ROWS);
                self.valid.clear();
                self.valid
                    .extend(columns.columns.iter().map(|c| match &c.data {
                        ColumnData::Text { bytes, ends } => utf8_rows(bytes, ends, row..checked),
                        ColumnData::Number { .. } => true,
                    }));
            }
            for ((column, prefix), &valid) in
                columns.columns.iter().zip(&self.prefixes).zip(&self.valid)
            {
                self.buf.extend_from_slice(prefix);
                match &column.data {
                    ColumnData::Text { bytes, ends } => {
                        let start = if row == 0 { 0 } else { ends[row - 1] };
                        let value = &bytes[start..ends[row]];
                        if valid || std::str::from_utf8(value).is_ok() {
                            escape_json_string(value, &mut self.buf);
                        } else {
                            self.buf.extend_from_slice(b"\"\"");
                        }
                    }
                    ColumnData::Number { values } => {
                        self.buf.push(b'"');
                        if column.unsigned {
                            format_unsigned_decimal(
                                values[row] as u64,
                                column.scale,
                                &mut self.buf,
                            );
                        } else {
                            format_decimal(values[row], column.scale, &mut self.buf);
                        }
                        self.buf.push(b'"');
                    }
                }
            }
            self.buf.extend_from_slice(b"}\n");
            row += 1;
        }
        row
    }

    /// The formatted bytes not yet written.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Hands over the formatted bytes not yet written, leaving `empty` (cleared) as the
    /// buffer: for output written on another thread, which hands the buffer back to be
    /// passed in here again.
    pub fn take_pending(&mut self, mut empty: Vec<u8>) -> Vec<u8> {
        empty.clear();
        empty.reserve(JSONL_FLUSH_BYTES + 64 * 1024);
        std::mem::replace(&mut self.buf, empty)
    }

    /// Whether the buffer is due to be written.
    pub fn is_full(&self) -> bool {
        self.buf.len() >= JSONL_FLUSH_BYTES
    }

    /// Writes the formatted bytes to `out` and empties the buffer (keeping its memory).
    pub fn flush(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.buf.is_empty() {
            out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Formats every record of `columns`, writing to `out` each time the buffer fills;
    /// what is left stays buffered for the next batch or [`Self::flush`].
    pub fn write(&mut self, columns: &Columns, out: &mut dyn Write) -> io::Result<()> {
        let mut row = 0;
        while row < columns.records() {
            row = self.format(columns, row..columns.records());
            if self.is_full() {
                self.flush(out)?;
            }
        }
        Ok(())
    }
}

/// Whether a byte has to be escaped inside a JSON string.
const fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// Appends `text` (UTF-8) as a JSON string, quotes included, escaped as `serde_json`
/// escapes: `\"`, `\\\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as `\u00xx`.
/// Runs of bytes that need no escape are copied whole; eight bytes are tested at a time.
pub fn escape_json_string(text: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut clean = 0;
    let mut at = 0;
    loop {
        at += first_escape(&text[at..]);
        let Some(&byte) = text.get(at) else { break };
        out.extend_from_slice(&text[clean..at]);
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ]),
        }
        at += 1;
        clean = at;
    }
    out.extend_from_slice(&text[clean..]);
    out.push(b'"');
}

/// The index of the first byte of `text` that needs an escape, or `text.len()`: 32 bytes
/// at a time with AVX2 where the CPU has it, else eight at a time (SWAR).
#[inline]
fn first_escape(text: &[u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if text.len() >= 32 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was just detected on this CPU, the only feature the function enables.
        return unsafe { first_escape_avx2(text) };
    }
    first_escape_swar(text)
}

fn first_escape_swar(text: &[u8]) -> usize {
    let mut at = 0;
    while let Some(word) = text.get(at..at + 8) {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        if word_needs_escape(word) {
            break;
        }
        at += 8;
    }
    at + text[at..]
        .iter()
        .position(|&b| needs_escape(b))
        .unwrap_or(text.len() - at)
}

/// [`first_escape`] with 32-byte vectors: a byte needs an escape when it is `"` or `\`, or
/// when it is at most 0x1F (unsigned minimum with 0x1F equal to the byte). The tail shorter
/// than a vector is read as the last 32 bytes of `text` (overlapping what was checked).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn first_escape_avx2(text: &[u8]) -> usize {
    use std::arch::x86_64::*;
    debug_assert!(text.len() >= 32);
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let control = _mm256_set1_epi8(0x1F);
    let flags = |at: usize| {
        // SAFETY: callers pass `at + 32 <= text.len()`, so the 32 bytes are readable.
        let v = unsafe { _mm256_loadu_si256(text.as_ptr().add(at).cast()) };
        let hits = _mm256_or_si256(
            _mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
            _mm256_cmpeq_epi8(_mm256_min_epu8(v, control), v),
        );
        _mm256_movemask_epi8(hits) as u32
    };
    let mut at = 0;
    while at + 32 <= text.len() {
        let hits = flags(at);
        if hits != 0 {
            return at + hits.trailing_zeros() as usize;
        }
        at += 32;
    }
    if at == text.len() {
        return at;
    }
    // The last 32 bytes; those before `at` are known clean.
    let last = text.len() - 32;
    let hits = flags(last) >> (at - last);
    if hits != 0 {
        at + hits.trailing_zeros() as usize
    } else {
        text.len()
    }
}

/// Whether any of the eight bytes of `word` needs an escape (SWAR: a byte below 0x20,
/// or equal to `"` or `\\`; bytes of 0x80 and above never do).
#[inline(always)]
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte b has its high bit set in `x - ONES * k` (for x's bytes below 0x80) exactly
    // when b < k; bytes at or above 0x80 are masked out by `!word`.
    let below_space = word.wrapping_sub(ONES * 0x20);
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let is_zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (below_space | is_zero(quote) | is_zero(backslash)) & !word & HIGH != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testing::{generated, serialized};
    use crate::codec::{
        CodePage, CodecPath, Cursor, Field, RecordDecoder, RecordFormat, Unmappable,
    };

    #[test]
    fn decoding_in_two_parts_and_appending_or_serialising_the_parts_equals_decoding_whole() {
        let layout = Layout::new(
            vec![
                Field::display("name", 0, 12),
                Field::numeric("balance", FieldKind::Packed, 12, 9, 2, true),
                Field::display("city", 17, 7),
                Field::numeric("id", FieldKind::Binary, 24, 18, 0, false),
            ],
            None,
            None,
        )
        .unwrap();
        let records = 37;
        let input = generated(&layout, CodePage::Cp273, records, 0x9E37_79B9_7F4A_7C15);
        for path in [CodecPath::Scalar, CodecPath::Simd] {
            let decoder =
                RecordDecoder::new(&layout, Some(CodePage::Cp273), Unmappable::Error, path);
            let decode = |bytes: &[u8]| {
                let mut columns = Columns::with_capacity(&layout, records);
                decoder
                    .decode(
                        bytes,
                        RecordFormat::Fixed,
                        &mut Cursor::default(),
                        usize::MAX,
                        &mut columns,
                        &mut Err,
                    )
                    .unwrap();
                columns
            };
            let whole = decode(&input);
            assert_eq!(whole.records(), records);
            for split in [0, 1, 16, records - 1, records] {
                let at = split * layout.record_length;
                let (first, second) = (decode(&input[..at]), decode(&input[at..]));
                let mut joined = Columns::with_capacity(&layout, 0);
                joined.append(&first);
                joined.append(&second);
                assert_eq!(joined.records(), records, "{path:?} split at {split}");
                let mut apart = Vec::new();
                Columns::serialize_parts(&[first.clone(), second.clone()], &mut |b| {
                    apart.extend_from_slice(b)
                });
                assert_eq!(apart, serialized(&whole), "{path:?} split at {split}");
                assert_eq!(
                    serialized(&joined),
                    serialized(&whole),
                    "{path:?} split at {split}"
                );
                assert_eq!(joined, whole, "{path:?} split at {split}");
                // Appending to columns that hold records keeps them, and a cleared buffer
                // starts over.
                joined.clear();
                joined.append(&whole);
                assert_eq!(serialized(&joined), serialized(&whole));
            }
        }
    }

    #[test]
    #[should_panic(expected = "columns of another layout")]
    fn appending_columns_of_another_layout_panics() {
        let a = Layout::new(vec![Field::display("a", 0, 4)], None, None).unwrap();
        let b = Layout::new(vec![Field::display("b", 0, 4)], None, None).unwrap();
        Columns::with_capacity(&a, 1).append(&Columns::with_capacity(&b, 1));
    }
}
