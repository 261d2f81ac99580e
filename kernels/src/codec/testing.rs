//! Helpers of the codec module's unit tests.

use super::encode::RecordGenerator;
use super::{CodePage, Columns, Layout, RecordFormat};

/// The serialised bytes of `columns` ([`Columns::serialize`]).
pub(super) fn serialized(columns: &Columns) -> Vec<u8> {
    let mut bytes = Vec::new();
    columns.serialize(&mut |b| bytes.extend_from_slice(b));
    bytes
}

/// `records` valid fixed-length records of `layout` in `codepage`, drawn by the record
/// generator from an xorshift stream seeded with `seed` (not zero).
pub(super) fn generated(layout: &Layout, codepage: CodePage, records: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut random = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut input = Vec::new();
    RecordGenerator::new(layout, Some(codepage))
        .write(&mut random, records as u64, RecordFormat::Fixed, &mut input)
        .expect("writing to memory cannot fail");
    input
}
