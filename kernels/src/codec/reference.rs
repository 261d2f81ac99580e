//! The system's own converter, iconv(3), decoding DISPLAY records: a peer to compare the
//! DISPLAY decoders with, not a kernel of this project.
//!
//! [`Iconv`] is a safe wrapper around one conversion descriptor. [`IconvDisplay`] decodes
//! fixed-length records of DISPLAY fields with it, one `iconv` call per field straight into
//! the field's text column, and commits each record as the record decoder does, so its
//! [`Columns::serialize`] bytes are the oracle's for any input both convert. It applies no
//! [`Unmappable`](super::Unmappable) policy of its own: a C0 control byte, which the
//! oracle refuses under `error`, is converted as iconv converts it.

use std::ffi::{CString, c_char};
use std::io;

use super::codepage::CodePage;
use super::columns::{ColumnData, Columns};
use super::layout::{FieldKind, Layout};

/// The charset every conversion here writes.
const UTF8: &str = "UTF-8";

/// An iconv(3) conversion descriptor from one charset to another, closed on drop.
#[derive(Debug)]
pub struct Iconv {
    cd: libc::iconv_t,
    from: String,
    to: String,
}

// SAFETY: a descriptor is state owned by this value alone; iconv(3) needs no more than that
// one thread use it at a time, which `&mut self` on `convert` ensures, so it may move
// between threads. (It is not `Sync`: no `&self` method touches the descriptor.)
unsafe impl Send for Iconv {}

/// Why [`Iconv::convert`] stopped: the input byte it stopped at and the OS error
/// (`EILSEQ`: no conversion for it; `EINVAL`: an incomplete sequence at the end).
#[derive(Debug)]
pub struct ConvertError {
    /// Index in the input of the first byte not converted.
    pub at: usize,
    pub error: io::Error,
}

impl Iconv {
    /// A descriptor converting `from` to `to` (iconv's charset names, e.g. `IBM037`,
    /// `UTF-8`); the error names both and the OS error (`EINVAL` where the system has no
    /// such conversion, e.g. without its gconv modules).
    pub fn new(from: &str, to: &str) -> Result<Iconv, String> {
        let cstring = |name: &str| {
            CString::new(name).map_err(|_| format!("charset name `{name}` holds a NUL byte"))
        };
        let (from_c, to_c) = (cstring(from)?, cstring(to)?);
        // SAFETY: both arguments are NUL-terminated strings that outlive the call.
        let cd = unsafe { libc::iconv_open(to_c.as_ptr(), from_c.as_ptr()) };
        if cd as isize == -1 {
            let error = io::Error::last_os_error();
            return Err(format!("iconv cannot convert from {from} to {to}: {error}"));
        }
        Ok(Iconv {
            cd,
            from: from.into(),
            to: to.into(),
        })
    }

    /// The charset converted from.
    pub fn from_charset(&self) -> &str {
        &self.from
    }

    /// The charset converted to.
    pub fn to_charset(&self) -> &str {
        &self.to
    }

    /// Converts all of `input`, appending the result to `out`: one `iconv` call when `out`
    /// has room for three output bytes per input byte (it reserves that much first), more
    /// only when the output outgrows it. On error `out` holds what was converted before
    /// the byte it names, and the descriptor is back in its initial state. The charsets
    /// used here are stateless, so no closing shift sequence is written.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ConvertError> {
        let mut in_ptr = input.as_ptr().cast::<c_char>().cast_mut();
        let mut in_left = input.len();
        let mut room = input.len().saturating_mul(3).max(16);
        loop {
            out.reserve(room);
            let spare = out.spare_capacity_mut();
            let mut out_ptr = spare.as_mut_ptr().cast::<c_char>();
            let mut out_left = spare.len();
            // SAFETY: `in_ptr`/`in_left` lie within `input` (iconv only reads through
            // `in_ptr`, the `*mut` is its signature's) and `out_ptr`/`out_left` within
            // `out`'s spare capacity; iconv advances both pairs together and never past
            // their ends. The descriptor is open until drop.
            let converted = unsafe {
                libc::iconv(
                    self.cd,
                    &mut in_ptr,
                    &mut in_left,
                    &mut out_ptr,
                    &mut out_left,
                )
            };
            let error = (converted == usize::MAX).then(io::Error::last_os_error);
            let written = spare.len() - out_left;
            // SAFETY: iconv wrote `written` bytes at the start of the spare capacity, so
            // they are initialised, and the new length is within the capacity.
            unsafe { out.set_len(out.len() + written) };
            match error {
                None => return Ok(()),
                Some(e) if e.raw_os_error() == Some(libc::E2BIG) => room = room.max(16) * 2,
                Some(error) => {
                    self.reset();
                    return Err(ConvertError {
                        at: input.len() - in_left,
                        error,
                    });
                }
            }
        }
    }

    /// Puts the descriptor back in its initial conversion state.
    fn reset(&mut self) {
        // SAFETY: null buffers ask iconv to reset the descriptor's state only; it is open.
        unsafe {
            libc::iconv(
                self.cd,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
    }
}

impl Drop for Iconv {
    fn drop(&mut self) {
        // SAFETY: `cd` came from a successful iconv_open and is closed only here, once.
        unsafe { libc::iconv_close(self.cd) };
    }
}

/// iconv's name of `codepage`, or `None` for a code page iconv has no counterpart of here.
fn iconv_charset(codepage: CodePage) -> Option<&'static str> {
    match codepage {
        CodePage::Cp037 => Some("IBM037"),
        CodePage::Cp273 => Some("IBM273"),
        CodePage::Cp500 => Some("IBM500"),
        CodePage::Cp1140 => Some("IBM1140"),
        CodePage::Cp1047 => Some("IBM1047"),
        CodePage::Ascii => None,
    }
}

/// One DISPLAY field: where it lies in a record and which converter decodes it.
#[derive(Debug)]
struct TextField {
    name: String,
    offset: usize,
    length: usize,
    /// Index into [`IconvDisplay::converters`].
    converter: usize,
}

/// Decodes fixed-length records of DISPLAY fields with iconv into [`Columns`], as the
/// record decoder does with its tables.
#[derive(Debug)]
pub struct IconvDisplay {
    fields: Vec<TextField>,
    record_length: usize,
    /// One descriptor per code page the fields use.
    converters: Vec<(CodePage, Iconv)>,
}

impl IconvDisplay {
    /// A decoder of `layout`, whose fields must all be DISPLAY; `codepage` applies unless a
    /// field names its own. The error names a field of another kind, a code page iconv is
    /// not asked for (`ascii`), or why iconv cannot open a conversion.
    pub fn new(codepage: CodePage, layout: &Layout) -> Result<IconvDisplay, String> {
        let mut converters: Vec<(CodePage, Iconv)> = Vec::new();
        let mut fields = Vec::with_capacity(layout.fields.len());
        for field in &layout.fields {
            if field.kind != FieldKind::Display {
                return Err(format!(
                    "field `{}` is {}: the iconv reference decodes DISPLAY fields only",
                    field.name, field.kind
                ));
            }
            let page = field.codepage.unwrap_or(codepage);
            let converter = match converters.iter().position(|(p, _)| *p == page) {
                Some(at) => at,
                None => {
                    let charset = iconv_charset(page).ok_or_else(|| {
                        format!(
                            "field `{}`: code page {page} has no iconv reference \
                             (cp037, cp273, cp500, cp1140 and cp1047 have)",
                            field.name
                        )
                    })?;
                    converters.push((page, Iconv::new(charset, UTF8)?));
                    converters.len() - 1
                }
            };
            fields.push(TextField {
                name: field.name.clone(),
                offset: field.offset,
                length: field.length,
                converter,
            });
        }
        Ok(IconvDisplay {
            fields,
            record_length: layout.record_length,
            converters,
        })
    }

    /// Decodes the first `records` fixed-length records of `input`, appending them to
    /// `columns` (built for the same layout). An error names the record, the field and the
    /// byte offset in `input`; the records before it stay in `columns`, the failed one
    /// does not.
    pub fn decode(
        &mut self,
        input: &[u8],
        records: usize,
        columns: &mut Columns,
    ) -> Result<(), String> {
        if columns.columns.len() != self.fields.len() {
            return Err(format!(
                "columns of {} fields for a layout of {}",
                columns.columns.len(),
                self.fields.len()
            ));
        }
        let needed = records.checked_mul(self.record_length);
        if needed.is_none_or(|needed| needed > input.len()) {
            return Err(format!(
                "{records} records of {} bytes need more than the {} bytes of input",
                self.record_length,
                input.len()
            ));
        }
        for record in 0..records {
            let start = record * self.record_length;
            for (field, column) in self.fields.iter().zip(columns.columns.iter_mut()) {
                let ColumnData::Text { bytes, ends } = &mut column.data else {
                    return Err(format!("column `{}` is not a text column", column.name));
                };
                let at = start + field.offset;
                let iconv = &mut self.converters[field.converter].1;
                if let Err(e) = iconv.convert(&input[at..at + field.length], bytes) {
                    let offset = at + e.at;
                    let held = columns.records();
                    columns.truncate(held);
                    return Err(format!(
                        "record {record}, field `{}`, byte offset {offset}: iconv from {} \
                         stopped at byte 0x{:02X}: {}",
                        field.name,
                        iconv.from_charset(),
                        input[offset],
                        e.error
                    ));
                }
                ends.push(bytes.len());
            }
            columns.commit_record();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testing::{generated, serialized};
    use crate::codec::{CodecPath, Cursor, Field, RecordDecoder, RecordFormat, Unmappable};

    const SEED: u64 = 0x2545_F491_4F6C_DD1D;

    fn text_layout() -> Layout {
        Layout::new(
            vec![
                Field::display("name", 0, 30),
                Field::display("city", 30, 17),
                Field::display("note", 47, 1),
            ],
            Some(52),
            None,
        )
        .unwrap()
    }

    #[test]
    fn iconv_columns_serialise_as_the_oracles_do() {
        let layout = text_layout();
        let records = 300;
        for codepage in [CodePage::Cp037, CodePage::Cp273] {
            let input = generated(&layout, codepage, records, SEED);
            let mut oracle = Columns::with_capacity(&layout, records);
            RecordDecoder::new(
                &layout,
                Some(codepage),
                Unmappable::Error,
                CodecPath::Scalar,
            )
            .decode(
                &input,
                RecordFormat::Fixed,
                &mut Cursor::default(),
                usize::MAX,
                &mut oracle,
                &mut Err,
            )
            .unwrap();
            assert_eq!(oracle.records(), records);
            let mut reference = IconvDisplay::new(codepage, &layout).unwrap();
            let mut columns = Columns::with_capacity(&layout, 0);
            reference.decode(&input, records, &mut columns).unwrap();
            assert_eq!(serialized(&columns), serialized(&oracle), "{codepage}");
            // Decoding again after a clear gives the same columns.
            columns.clear();
            reference.decode(&input, records, &mut columns).unwrap();
            assert_eq!(columns, oracle, "{codepage}");
        }
    }

    #[test]
    fn layouts_with_other_fields_or_code_pages_are_refused_by_name() {
        let packed = Layout::new(
            vec![
                Field::display("name", 0, 10),
                Field::numeric("balance", FieldKind::Packed, 10, 9, 2, true),
            ],
            None,
            None,
        )
        .unwrap();
        let err = IconvDisplay::new(CodePage::Cp037, &packed).unwrap_err();
        assert!(err.contains("field `balance` is comp3"), "{err}");
        let err = IconvDisplay::new(CodePage::Ascii, &text_layout()).unwrap_err();
        assert!(err.contains("field `name`: code page ascii"), "{err}");
        let err = Iconv::new("NO-SUCH-CHARSET", UTF8).unwrap_err();
        assert!(err.contains("from NO-SUCH-CHARSET to UTF-8"), "{err}");
        assert!(err.contains("os error"), "{err}");
    }

    #[test]
    fn errors_name_the_record_field_and_byte_offset() {
        // Every byte converts from IBM037, so a failing conversion is one into a charset
        // that lacks the character: ASCII has no `é`.
        let mut ascii = Iconv::new(UTF8, "ASCII").unwrap();
        let mut out = b"kept".to_vec();
        let err = ascii.convert("abé".as_bytes(), &mut out).unwrap_err();
        assert_eq!(err.at, 2);
        assert_eq!(err.error.raw_os_error(), Some(libc::EILSEQ));
        assert_eq!(out, b"keptab");
        // The descriptor still converts after an error.
        out.clear();
        ascii.convert(b"ok", &mut out).unwrap();
        assert_eq!(out, b"ok");

        // A decoder whose converter reads ASCII, which has no byte 0xC1.
        let layout = text_layout();
        let mut reference = IconvDisplay::new(CodePage::Cp037, &layout).unwrap();
        reference.converters[0].1 = Iconv::new("ASCII", UTF8).unwrap();
        let mut input = b"x".repeat(3 * 52);
        input[52 + 30 + 3] = 0xC1;
        let mut columns = Columns::with_capacity(&layout, 3);
        let err = reference.decode(&input, 3, &mut columns).unwrap_err();
        assert!(
            err.starts_with(
                "record 1, field `city`, byte offset 85: iconv from ASCII stopped at byte 0xC1: "
            ),
            "{err}"
        );
        // The record before stays; the failed one's `name` is rolled back.
        assert_eq!(columns.records(), 1);
        assert_eq!(serialized(&columns), {
            let mut one = Columns::with_capacity(&layout, 1);
            reference.decode(&input, 1, &mut one).unwrap();
            serialized(&one)
        });
        let err = reference.decode(&input, 4, &mut columns).unwrap_err();
        assert!(err.contains("4 records of 52 bytes"), "{err}");
    }

    /// Bytes glibc's converters read otherwise than the tables: CP273 0xBC is U+203E
    /// OVERLINE in the tables (Python's cp273), U+00AF MACRON in glibc's IBM273.
    const DIFFERENT: &[(CodePage, &str)] = &[(CodePage::Cp273, "0xBC")];

    #[test]
    fn every_byte_of_the_code_pages_converts_as_the_tables_say_but_the_known_ones() {
        let all: Vec<u8> = (0..=255).collect();
        let layout = Layout::new(vec![Field::display("b", 0, 1)], None, None).unwrap();
        for codepage in CodePage::ALL {
            let Some(charset) = iconv_charset(codepage) else {
                continue;
            };
            let mut iconv = Iconv::new(charset, UTF8).unwrap();
            let mut differ = Vec::new();
            for &byte in &all {
                let mut ours = Columns::with_capacity(&layout, 1);
                RecordDecoder::new(&layout, Some(codepage), Unmappable::Keep, CodecPath::Scalar)
                    .decode_record(&[byte], 0, 0, &mut ours)
                    .unwrap();
                let mut theirs = Vec::new();
                iconv.convert(&[byte], &mut theirs).unwrap();
                if ours.columns[0].text(0).unwrap().as_bytes() != theirs {
                    differ.push(format!("0x{byte:02X}"));
                }
            }
            let known: Vec<&str> = DIFFERENT
                .iter()
                .filter(|(page, _)| *page == codepage)
                .map(|(_, byte)| *byte)
                .collect();
            assert_eq!(differ, known, "{codepage}");
        }
    }
}
