//! Columnar output: one buffer per field, a deterministic serialisation for hashing and a
//! JSON Lines writer for interop.

use std::io::{self, Write};

use super::layout::{FieldKind, Layout};
use super::numeric::format_decimal;

/// Schema line that opens the serialised form; changing the form means a new version.
pub const COLUMNS_SCHEMA: &str = "benchseal.codec.columns/1";

/// The most bytes [`Columns::with_capacity`] reserves up front for one text column.
const TEXT_HINT_LIMIT: usize = 1 << 30;

/// The values of one field over the decoded records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnData {
    /// UTF-8 text of every value back to back; `ends[i]` is where value `i` ends.
    Text { bytes: Vec<u8>, ends: Vec<usize> },
    /// Scaled integers: the value is `values[i] / 10^scale`.
    Number { values: Vec<i64> },
}

/// One field's column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub scale: u8,
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

    /// The scaled integer of record `row` (numeric columns).
    pub fn number(&self, row: usize) -> Option<i64> {
        match &self.data {
            ColumnData::Number { values } => values.get(row).copied(),
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
    /// UTF-8 bytes; numbers: i64 LE).
    pub fn serialize(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(COLUMNS_SCHEMA.as_bytes());
        sink(b"\n");
        sink(&(self.columns.len() as u64).to_le_bytes());
        sink(&(self.records as u64).to_le_bytes());
        let mut chunk = Vec::with_capacity(64 * 1024);
        for column in &self.columns {
            sink(&(column.name.len() as u64).to_le_bytes());
            sink(column.name.as_bytes());
            match &column.data {
                ColumnData::Text { bytes, ends } => {
                    sink(b"T");
                    sink(&[column.scale]);
                    for slice in ends.chunks(8192) {
                        chunk.clear();
                        for end in slice {
                            chunk.extend_from_slice(&(*end as u64).to_le_bytes());
                        }
                        sink(&chunk);
                    }
                    sink(&(bytes.len() as u64).to_le_bytes());
                    sink(bytes);
                }
                ColumnData::Number { values } => {
                    sink(b"N");
                    sink(&[column.scale]);
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

    /// Writes one JSON object per record, fields in layout order; numbers as decimal
    /// strings (`"-123.45"`) so no reader loses digits to floating point.
    pub fn write_jsonl(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut line = Vec::with_capacity(1024);
        let keys: Vec<String> = self
            .columns
            .iter()
            .map(|c| serde_json::to_string(&c.name).expect("a string serialises"))
            .collect();
        for row in 0..self.records {
            line.clear();
            line.push(b'{');
            for (i, column) in self.columns.iter().enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(keys[i].as_bytes());
                line.push(b':');
                match &column.data {
                    ColumnData::Text { .. } => {
                        let text = column.text(row).unwrap_or_default();
                        serde_json::to_writer(&mut line, text)?;
                    }
                    ColumnData::Number { values } => {
                        line.push(b'"');
                        format_decimal(values[row], column.scale, &mut line);
                        line.push(b'"');
                    }
                }
            }
            line.extend_from_slice(b"}\n");
            out.write_all(&line)?;
        }
        Ok(())
    }
}
