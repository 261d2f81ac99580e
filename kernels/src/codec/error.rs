//! Errors of record decoding and of layouts.
//!
//! Field decoders report a [`FieldFault`] (what is wrong and where inside the field); the
//! record decoder turns it into a [`CodecError`] carrying the record index, the field name
//! and the absolute byte offset in the input, which is what a person needs to find the byte.

use std::fmt;

use thiserror::Error;

/// What is wrong with a field's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// A zoned digit's zone nibble is not the convention's (EBCDIC F, ASCII 3).
    BadZone,
    /// A digit nibble is above 9 (or a COMP-3 pad nibble is not 0).
    BadDigit,
    /// The sign nibble or overpunch byte is not one the field allows.
    BadSign,
    /// A DISPLAY byte has no printable mapping and the policy is `error`.
    Unmappable,
    /// A binary field of a length no layout admits (1 to 8 bytes are): reachable only
    /// through a hand-built codec.
    OutOfRange,
}

/// A fault inside one field: its kind, the byte's index within the field, and the byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldFault {
    pub kind: FaultKind,
    pub at: usize,
    pub byte: u8,
}

impl FieldFault {
    pub fn new(kind: FaultKind, at: usize, byte: u8) -> Self {
        FieldFault { kind, at, byte }
    }
}

/// The kinds of [`CodecError`], for counting errors by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    BadZone,
    BadDigit,
    BadSign,
    Unmappable,
    OutOfRange,
    TruncatedRecord,
    BadRdw,
    RdwBeyondFile,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadZone => "bad-zone",
            ErrorKind::BadDigit => "bad-digit",
            ErrorKind::BadSign => "bad-sign",
            ErrorKind::Unmappable => "unmappable",
            ErrorKind::OutOfRange => "out-of-range",
            ErrorKind::TruncatedRecord => "truncated-record",
            ErrorKind::BadRdw => "bad-rdw",
            ErrorKind::RdwBeyondFile => "rdw-beyond-file",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoding error: what, in which record and field, at which byte offset of the input.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error(
        "record {record}, field `{field}`, byte offset {offset}: bad zone in byte 0x{byte:02X}"
    )]
    BadZone {
        record: u64,
        field: String,
        offset: u64,
        byte: u8,
    },
    #[error(
        "record {record}, field `{field}`, byte offset {offset}: digit nibble above 9 (or non-zero pad nibble) in byte 0x{byte:02X}"
    )]
    BadDigit {
        record: u64,
        field: String,
        offset: u64,
        byte: u8,
    },
    #[error(
        "record {record}, field `{field}`, byte offset {offset}: bad sign in byte 0x{byte:02X}"
    )]
    BadSign {
        record: u64,
        field: String,
        offset: u64,
        byte: u8,
    },
    #[error(
        "record {record}, field `{field}`, byte offset {offset}: byte 0x{byte:02X} is unmappable in {codepage}"
    )]
    Unmappable {
        record: u64,
        field: String,
        offset: u64,
        byte: u8,
        codepage: String,
    },
    #[error(
        "record {record}, field `{field}`, byte offset {offset}: a binary field must be 1 to 8 bytes long (first byte 0x{byte:02X})"
    )]
    OutOfRange {
        record: u64,
        field: String,
        offset: u64,
        byte: u8,
    },
    #[error(
        "record {record} at byte offset {offset}: truncated record, {available} bytes where the layout needs {needed}"
    )]
    TruncatedRecord {
        record: u64,
        offset: u64,
        needed: u64,
        available: u64,
    },
    #[error(
        "record {record} at byte offset {offset}: RDW length {length} is below the 4-byte header (bytes {header:02X?})"
    )]
    BadRdw {
        record: u64,
        offset: u64,
        length: u64,
        header: [u8; 4],
    },
    #[error(
        "record {record} at byte offset {offset}: RDW length {length} runs beyond the end of the input ({input_len} bytes)"
    )]
    RdwBeyondFile {
        record: u64,
        offset: u64,
        length: u64,
        input_len: u64,
    },
}

impl CodecError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CodecError::BadZone { .. } => ErrorKind::BadZone,
            CodecError::BadDigit { .. } => ErrorKind::BadDigit,
            CodecError::BadSign { .. } => ErrorKind::BadSign,
            CodecError::Unmappable { .. } => ErrorKind::Unmappable,
            CodecError::OutOfRange { .. } => ErrorKind::OutOfRange,
            CodecError::TruncatedRecord { .. } => ErrorKind::TruncatedRecord,
            CodecError::BadRdw { .. } => ErrorKind::BadRdw,
            CodecError::RdwBeyondFile { .. } => ErrorKind::RdwBeyondFile,
        }
    }

    /// Index of the record the error is in.
    pub fn record(&self) -> u64 {
        match self {
            CodecError::BadZone { record, .. }
            | CodecError::BadDigit { record, .. }
            | CodecError::BadSign { record, .. }
            | CodecError::Unmappable { record, .. }
            | CodecError::OutOfRange { record, .. }
            | CodecError::TruncatedRecord { record, .. }
            | CodecError::BadRdw { record, .. }
            | CodecError::RdwBeyondFile { record, .. } => *record,
        }
    }

    /// Whether decoding can go on with the next record (false when the framing is lost).
    pub fn is_recoverable(&self) -> bool {
        !matches!(
            self,
            CodecError::BadRdw { .. } | CodecError::RdwBeyondFile { .. }
        )
    }

    pub(crate) fn from_fault(
        fault: FieldFault,
        record: u64,
        field: &str,
        field_offset: u64,
        codepage: super::CodePage,
    ) -> Self {
        let field = field.to_string();
        let offset = field_offset + fault.at as u64;
        let byte = fault.byte;
        match fault.kind {
            FaultKind::BadZone => CodecError::BadZone {
                record,
                field,
                offset,
                byte,
            },
            FaultKind::BadDigit => CodecError::BadDigit {
                record,
                field,
                offset,
                byte,
            },
            FaultKind::BadSign => CodecError::BadSign {
                record,
                field,
                offset,
                byte,
            },
            FaultKind::Unmappable => CodecError::Unmappable {
                record,
                field,
                offset,
                byte,
                codepage: codepage.name().to_string(),
            },
            FaultKind::OutOfRange => CodecError::OutOfRange {
                record,
                field,
                offset,
                byte,
            },
        }
    }
}

/// A layout that cannot describe records.
#[derive(Debug, Error)]
pub enum LayoutError {
    #[error("layout is not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("layout field `{field}`: {message}")]
    Field { field: String, message: String },
    #[error("layout: {0}")]
    Layout(String),
}
