//! Decoding a file of any size with bounded resident memory.
//!
//! The file is memory-mapped (`memmap2`) with `MADV_SEQUENTIAL`, decoded in batches of
//! records into one reused [`Columns`], and after each batch the pages behind the cursor
//! are dropped from this process with `MADV_DONTNEED`. Resident memory is then one batch
//! of columns plus the pages of the current batch and the kernel's read-ahead, however
//! large the file: no read copies, no buffer that grows with the input.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::{Advice, Mmap, UncheckedAdvice};

use super::columns::Columns;
use super::decode::{Cursor, ErrorPolicy, RecordDecoder, RecordFormat};
use super::error::CodecError;
use super::layout::Layout;

/// A read-only memory-mapped input file.
pub struct MappedInput {
    path: PathBuf,
    map: Option<Mmap>,
    page: usize,
}

impl MappedInput {
    /// Maps `path` for sequential reading.
    pub fn open(path: &Path) -> io::Result<MappedInput> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let map = if len == 0 {
            None
        } else {
            // SAFETY: the map is read-only and private to this value; the usual caveat of
            // file mappings applies (another process truncating the file while it is mapped
            // would fault), which a decoder of files it was handed has to accept.
            let map = unsafe { Mmap::map(&file)? };
            // Only a hint: a kernel that ignores it reads the file all the same.
            let _ = map.advise(Advice::Sequential);
            Some(map)
        };
        Ok(MappedInput {
            path: path.to_path_buf(),
            map,
            page: page_size(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// Drops the mapped pages that lie wholly before `pos` from this process's memory.
    pub fn release_before(&self, pos: usize) {
        let Some(map) = &self.map else { return };
        let end = pos.min(map.len()) / self.page * self.page;
        if end > 0 {
            // SAFETY: the map is a read-only shared file mapping: after MADV_DONTNEED a
            // later access faults the same bytes back in from the file, so no reference
            // into the map ever observes different contents. Only hint failures are ignored.
            let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, 0, end) };
        }
    }

    /// Decodes the file in batches of `batch_records` records. After each batch,
    /// `on_batch` gets the batch's columns (rebuilt from empty for every batch) and the
    /// pages behind the cursor are released. Returns where decoding stopped.
    pub fn decode_batches<E: From<CodecError>>(
        &self,
        layout: &Layout,
        decoder: &RecordDecoder,
        format: RecordFormat,
        batch_records: usize,
        on_error: &mut ErrorPolicy<'_>,
        on_batch: &mut dyn FnMut(&Columns) -> Result<(), E>,
    ) -> Result<Cursor, E> {
        let bytes = self.bytes();
        let batch_records = batch_records.max(1);
        let mut columns = Columns::with_capacity(layout, batch_records);
        let mut cursor = Cursor::default();
        while cursor.pos < bytes.len() {
            columns.clear();
            let result = decoder.decode(
                bytes,
                format,
                &mut cursor,
                batch_records,
                &mut columns,
                on_error,
            );
            on_batch(&columns)?;
            result?;
            self.release_before(cursor.pos);
        }
        Ok(cursor)
    }
}

fn page_size() -> usize {
    // The page size is at least 4 KiB everywhere memmap2 runs; rounding down to 64 KiB
    // multiples is a valid (coarser) choice on any page size up to that.
    64 * 1024
}
