//! Scalar oracle of DISPLAY (`PIC X(n)`) decoding: code page byte → UTF-8.

use super::codepage::{DisplayTables, Unmappable};
use super::error::{FaultKind, FieldFault};

/// Appends the UTF-8 text of `src` to `out`. On error `out` may hold part of the field;
/// the record decoder rolls it back.
pub fn display(tables: &DisplayTables, src: &[u8], out: &mut Vec<u8>) -> Result<(), FieldFault> {
    for (at, &byte) in src.iter().enumerate() {
        let i = usize::from(byte);
        if tables.unmappable[i] && tables.policy == Unmappable::Error {
            return Err(FieldFault::new(FaultKind::Unmappable, at, byte));
        }
        match tables.utf8_len[i] {
            // Most text is one byte per character; `push` avoids a copy call per byte.
            1 => out.push(tables.utf8[i][0]),
            len => out.extend_from_slice(&tables.utf8[i][..usize::from(len)]),
        }
    }
    Ok(())
}
