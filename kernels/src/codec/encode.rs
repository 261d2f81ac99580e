//! Encoders: the inverse of each field decoder, and a generator of valid records.
//!
//! They serve round-trip tests (encode a value, decode it, get it back) and generated
//! inputs: the benchmark workloads and `benchseal codec generate` both build records here
//! from a caller's random source, so the same seed gives the same bytes everywhere.

use std::collections::HashMap;
use std::io::{self, Write};

use super::codepage::CodePage;
use super::decode::RecordFormat;
use super::layout::{ByteOrder, Field, FieldKind, Layout, ZonedSign};

/// Encodes `text` in `codepage` into `out`, padded with spaces. `None` when a character
/// has no byte in the code page or the text is longer than `out`.
pub fn display_into(codepage: CodePage, text: &str, out: &mut [u8]) -> Option<()> {
    let mut n = 0;
    for ch in text.chars() {
        *out.get_mut(n)? = codepage.encode_char(ch)?;
        n += 1;
    }
    out[n..].fill(codepage.space());
    Some(())
}

/// Encodes `value` as zoned decimal of `out.len()` digits: EBCDIC zone F with sign zone
/// C/D (F when unsigned); ASCII digits with a negative last digit overpunched (`}`,
/// `J`–`R`). `None` if it does not fit.
pub fn zoned_into(value: i64, signed: bool, ebcdic: bool, out: &mut [u8]) -> Option<()> {
    if out.is_empty() || (!signed && value < 0) {
        return None;
    }
    let mut magnitude = value.unsigned_abs();
    for byte in out.iter_mut().rev() {
        let digit = (magnitude % 10) as u8;
        magnitude /= 10;
        *byte = if ebcdic { 0xF0 | digit } else { b'0' + digit };
    }
    if magnitude != 0 {
        return None;
    }
    let last = out.last_mut()?;
    let digit = *last & 0x0F;
    match (signed, ebcdic, value < 0) {
        (true, true, false) => *last = 0xC0 | digit,
        (true, true, true) => *last = 0xD0 | digit,
        (true, false, true) => *last = if digit == 0 { b'}' } else { b'J' + digit - 1 },
        _ => {}
    }
    Some(())
}

/// Encodes `value` as COMP-3 of `digits` digits into `out` (⌈(digits+1)/2⌉ bytes): sign
/// nibble C/D, or F when unsigned. `None` if it does not fit.
pub fn packed_into(value: i64, digits: u8, signed: bool, out: &mut [u8]) -> Option<()> {
    if out.len() != usize::from(digits) / 2 + 1 || (!signed && value < 0) {
        return None;
    }
    let sign = match (signed, value < 0) {
        (false, _) => 0xF,
        (true, false) => 0xC,
        (true, true) => 0xD,
    };
    let mut magnitude = value.unsigned_abs();
    // Nibbles from the right: the sign, then the digits; an even count leaves a zero pad.
    let nibbles = out.len() * 2;
    let mut packed = vec![0u8; nibbles];
    packed[nibbles - 1] = sign;
    for i in 0..usize::from(digits) {
        packed[nibbles - 2 - i] = (magnitude % 10) as u8;
        magnitude /= 10;
    }
    if magnitude != 0 {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(packed.chunks(2)) {
        *byte = pair[0] << 4 | pair[1];
    }
    Some(())
}

/// Encodes `value` as big-endian binary of `out.len()` (1 to 8) bytes.
pub fn binary_into(value: i64, signed: bool, out: &mut [u8]) -> Option<()> {
    binary_ordered_into(value, signed, ByteOrder::Big, out)
}

/// Encodes `value` as two's complement binary of `out.len()` (1 to 8) bytes in `order`.
/// `None` if it does not fit (unsigned: negative or too large; signed: outside the
/// range of that many bytes).
pub fn binary_ordered_into(
    value: i64,
    signed: bool,
    order: ByteOrder,
    out: &mut [u8],
) -> Option<()> {
    let len = out.len();
    if !(1..=8).contains(&len) {
        return None;
    }
    let bits = 8 * len as u32;
    let fits = if signed {
        bits == 64 || (-(1i64 << (bits - 1))..(1i64 << (bits - 1))).contains(&value)
    } else {
        value >= 0 && (bits == 64 || value < (1i64 << bits))
    };
    if !fits {
        return None;
    }
    let bytes = value.to_le_bytes();
    match order {
        ByteOrder::Little => out.copy_from_slice(&bytes[..len]),
        ByteOrder::Big => {
            for (o, b) in out.iter_mut().zip(bytes[..len].iter().rev()) {
                *o = *b;
            }
        }
    }
    Some(())
}

/// Encodes `value` as signed zoned decimal with its sign at `sign`: trailing as
/// [`zoned_into`]; leading puts that sign into the first digit (EBCDIC zone C/D; ASCII a
/// negative first digit overpunched); the separate forms add a `+`/`-` byte in the code
/// page before or after the digits (`out` is then one byte longer than the digits).
pub fn zoned_signed_into(value: i64, ebcdic: bool, sign: ZonedSign, out: &mut [u8]) -> Option<()> {
    let (digits, sign_byte) = match sign {
        ZonedSign::Trailing => return zoned_into(value, true, ebcdic, out),
        ZonedSign::Leading => {
            zoned_into(value.unsigned_abs().try_into().ok()?, false, ebcdic, out)?;
            let first = out.first_mut()?;
            let digit = *first & 0x0F;
            match (ebcdic, value < 0) {
                (true, false) => *first = 0xC0 | digit,
                (true, true) => *first = 0xD0 | digit,
                (false, true) => *first = if digit == 0 { b'}' } else { b'J' + digit - 1 },
                (false, false) => {}
            }
            return Some(());
        }
        ZonedSign::LeadingSeparate => {
            let (first, digits) = out.split_first_mut()?;
            (digits, first)
        }
        ZonedSign::TrailingSeparate => {
            let (last, digits) = out.split_last_mut()?;
            (digits, last)
        }
    };
    zoned_into(value.unsigned_abs().try_into().ok()?, false, ebcdic, digits)?;
    *sign_byte = match (ebcdic, value < 0) {
        (true, false) => 0x4E,
        (true, true) => 0x60,
        (false, false) => b'+',
        (false, true) => b'-',
    };
    Some(())
}

/// Words of real text, mostly plain ASCII letters with the accented letters of German,
/// French, Spanish and the Nordic languages mixed in, as names and addresses in customer
/// records are.
const WORDS: &[&str] = &[
    "Müller",
    "Schäfer",
    "Straße",
    "Zürich",
    "Köln",
    "Düsseldorf",
    "Gärtnerei",
    "Bäckerei",
    "François",
    "Hélène",
    "Noël",
    "Renée",
    "Zoë",
    "crème",
    "brûlée",
    "café",
    "rue",
    "de",
    "la",
    "Gare",
    "São",
    "Paulo",
    "Peña",
    "Muñoz",
    "Núñez",
    "Añorga",
    "José",
    "García",
    "Álvarez",
    "Ibáñez",
    "Ørsted",
    "Åsa",
    "Jönköping",
    "Malmö",
    "Tromsø",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Main",
    "Street",
    "Avenue",
    "Road",
    "Lane",
    "North",
    "South",
    "East",
    "West",
    "Park",
    "Station",
    "Market",
    "Bridge",
    "Church",
    "Hauptstraße",
    "Bahnhofstraße",
    "Königsallee",
    "Marktplatz",
    "Schloßberg",
    "Rathaus",
    "London",
    "Paris",
    "Madrid",
    "Berlin",
    "Wien",
    "Genève",
    "Montréal",
    "Québec",
    "Besançon",
    "Sevilla",
    "Málaga",
    "Córdoba",
    "Lyon",
    "Nantes",
    "Hamburg",
    "München",
    "Stuttgart",
    "account",
    "balance",
    "invoice",
    "payment",
    "order",
    "customer",
    "supplier",
    "branch",
    "Apt",
    "Suite",
    "Floor",
    "No.",
    "12",
    "221B",
    "1500",
    "47",
    "8",
    "330",
    "Co.",
    "Ltd",
    "GmbH",
    "S.A.",
    "AG",
    "Inc.",
    "&",
    "-",
    "/",
    "(",
    ")",
    "€",
];

enum Generated {
    Text {
        offset: usize,
        length: usize,
        words: Vec<Vec<u8>>,
        space: u8,
    },
    Number {
        field: Field,
        ebcdic: bool,
    },
}

/// Produces valid records of a layout from a random source.
pub struct RecordGenerator {
    fields: Vec<Generated>,
    record_length: usize,
    filler: u8,
}

impl RecordGenerator {
    /// A generator for `layout`; `codepage` as for the decoder (overrides the layout's
    /// default, fields naming their own keep it; CP037 when neither says).
    pub fn new(layout: &Layout, codepage: Option<CodePage>) -> RecordGenerator {
        let default = codepage.or(layout.codepage).unwrap_or(CodePage::Cp037);
        let mut encoded: HashMap<CodePage, Vec<Vec<u8>>> = HashMap::new();
        let fields = layout
            .fields
            .iter()
            .map(|f| {
                let cp = f.codepage.unwrap_or(default);
                match f.kind {
                    FieldKind::Display => Generated::Text {
                        offset: f.offset,
                        length: f.length,
                        words: encoded
                            .entry(cp)
                            .or_insert_with(|| encode_words(cp))
                            .clone(),
                        space: cp.space(),
                    },
                    _ => Generated::Number {
                        field: f.clone(),
                        ebcdic: cp.is_ebcdic(),
                    },
                }
            })
            .collect();
        RecordGenerator {
            fields,
            record_length: layout.record_length,
            filler: default.space(),
        }
    }

    pub fn record_length(&self) -> usize {
        self.record_length
    }

    /// Fills `record` (the layout's record length) with a valid record: text fields get
    /// words up to their length, numeric fields values of a random number of digits.
    pub fn fill(&self, random: &mut dyn FnMut() -> u64, record: &mut [u8]) {
        record.fill(self.filler);
        for field in &self.fields {
            match field {
                Generated::Text {
                    offset,
                    length,
                    words,
                    space,
                } => {
                    let out = &mut record[*offset..offset + length];
                    out.fill(*space);
                    let mut at = 0;
                    while at < out.len() {
                        let word = &words[(random() % words.len() as u64) as usize];
                        if at + word.len() > out.len() {
                            break;
                        }
                        out[at..at + word.len()].copy_from_slice(word);
                        at += word.len() + 1;
                    }
                }
                Generated::Number { field, ebcdic } => {
                    let value = random_value(field, random);
                    let out = &mut record[field.offset..field.end()];
                    let fits = match field.kind {
                        FieldKind::Zoned if field.sign != ZonedSign::Trailing => {
                            zoned_signed_into(value, *ebcdic, field.sign, out)
                        }
                        FieldKind::Zoned => zoned_into(value, field.signed, *ebcdic, out),
                        FieldKind::Packed => packed_into(value, field.digits, field.signed, out),
                        FieldKind::Binary => {
                            binary_ordered_into(value, field.signed, field.byte_order, out)
                        }
                        FieldKind::Display => Some(()),
                    };
                    debug_assert!(fits.is_some(), "random_value stays within the digits");
                }
            }
        }
    }

    /// Writes `records` records to `out` in `format`, returning the bytes written. RDW
    /// records carry 0 to 15 filler bytes beyond the layout so their lengths vary.
    pub fn write(
        &self,
        random: &mut dyn FnMut() -> u64,
        records: u64,
        format: RecordFormat,
        out: &mut dyn Write,
    ) -> io::Result<u64> {
        if format == RecordFormat::Rdw && self.record_length + 4 + 15 > usize::from(u16::MAX) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "records of {} bytes do not fit a 16-bit RDW length",
                    self.record_length
                ),
            ));
        }
        let mut record = vec![0u8; self.record_length + 4 + 15];
        let mut written = 0u64;
        for _ in 0..records {
            let bytes = self.next_record(random, format, &mut record);
            out.write_all(bytes)?;
            written += bytes.len() as u64;
        }
        Ok(written)
    }

    /// Builds one record in `format` in `buf` (at least record length + 19 bytes) and
    /// returns its bytes.
    pub fn next_record<'b>(
        &self,
        random: &mut dyn FnMut() -> u64,
        format: RecordFormat,
        buf: &'b mut [u8],
    ) -> &'b [u8] {
        match format {
            RecordFormat::Fixed => {
                self.fill(random, &mut buf[..self.record_length]);
                &buf[..self.record_length]
            }
            RecordFormat::Rdw => {
                let extra = (random() % 16) as usize;
                let total = 4 + self.record_length + extra;
                let length = u16::try_from(total).unwrap_or(u16::MAX);
                buf[..2].copy_from_slice(&length.to_be_bytes());
                buf[2..4].fill(0);
                self.fill(random, &mut buf[4..4 + self.record_length]);
                buf[4 + self.record_length..total].fill(self.filler);
                &buf[..total]
            }
        }
    }
}

fn encode_words(codepage: CodePage) -> Vec<Vec<u8>> {
    WORDS
        .iter()
        .filter_map(|w| {
            w.chars()
                .map(|c| codepage.encode_char(c))
                .collect::<Option<Vec<u8>>>()
        })
        .collect()
}

/// A value of 1 to `digits` digits (uniform digit count, then uniform value), negative
/// half the time when signed.
fn random_value(field: &Field, random: &mut dyn FnMut() -> u64) -> i64 {
    let digits = 1 + (random() % u64::from(field.digits.max(1))) as u32;
    let bound = 10u64.pow(digits);
    let magnitude = (random() % bound) as i64;
    if field.signed && random() & 1 == 1 {
        -magnitude
    } else {
        magnitude
    }
}
