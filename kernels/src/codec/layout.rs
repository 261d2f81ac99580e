//! Record layouts: which field sits where in a record, read from a small JSON file.
//!
//! ```json
//! { "schema": "benchseal.codec.layout/1", "record_length": 80, "codepage": "cp037",
//!   "fields": [
//!     { "name": "customer", "kind": "display", "offset": 0, "length": 30 },
//!     { "name": "balance", "kind": "comp3", "offset": 30, "digits": 11, "scale": 2, "signed": true },
//!     { "name": "visits", "kind": "zoned", "offset": 36, "digits": 5 },
//!     { "name": "id", "kind": "binary", "offset": 41, "digits": 9, "signed": false } ] }
//! ```
//!
//! `length` may be left out for numeric kinds: it follows from `digits` (zoned: one byte per
//! digit, one more with a separate sign; COMP-3: ⌈(digits+1)/2⌉; binary: 2/4/8 bytes for
//! ≤4/≤9/≤18 digits). When given it must agree, except for binary, which may be given any
//! length from 1 to 8 bytes that holds its digits (signed, 1 byte: ≤2 digits, 2: ≤4, 3: ≤6,
//! 4: ≤9, 5: ≤11, 6: ≤14, 7: ≤16, 8: ≤18; unsigned, 3 bytes: ≤7, 5: ≤12, the others
//! alike), as compilers lay out binary items under other size rules (GnuCOBOL's default
//! `binary-size` 1-2-4-8 makes `PIC S9(2) COMP` one byte, `1--8` the fewest bytes).
//! `record_length` defaults to the end of the last field. Fields may overlap (COBOL
//! REDEFINES).
//!
//! Options of numeric fields, each left out for the default (so every older layout means
//! what it meant):
//!
//! - `"byte_order": "big"` (default) or `"little"`, binary only. Kind `comp5` (or `comp-5`)
//!   is binary with `"byte_order": "little"`: native binary as GnuCOBOL writes it on x86.
//! - `"sign"` of a signed zoned field: `"trailing"` (default: the sign in the last digit's
//!   zone, or an overpunch), `"leading"` (in the first digit), `"trailing_separate"` or
//!   `"leading_separate"` (COBOL `SIGN ... SEPARATE CHARACTER`: a `+` or `-` byte in the
//!   field's code page after or before the digits, one byte more than the digits).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::codepage::CodePage;
use super::error::LayoutError;

/// The schema name layouts carry; others are rejected.
pub const LAYOUT_SCHEMA: &str = "benchseal.codec.layout/1";

/// The kind of a field, as COBOL declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// `PIC X(n)`: text in the code page.
    Display,
    /// `PIC S9(n)V9(m)` DISPLAY: zoned decimal, one digit per byte.
    Zoned,
    /// `COMP-3`: packed decimal.
    Packed,
    /// `COMP` / `BINARY`: two's complement, big-endian unless the field says little
    /// (`COMP-5`).
    Binary,
}

impl FieldKind {
    pub const ALL: [FieldKind; 4] = [
        FieldKind::Display,
        FieldKind::Zoned,
        FieldKind::Packed,
        FieldKind::Binary,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Display => "display",
            FieldKind::Zoned => "zoned",
            FieldKind::Packed => "comp3",
            FieldKind::Binary => "binary",
        }
    }

    pub fn is_numeric(self) -> bool {
        self != FieldKind::Display
    }
}

impl fmt::Display for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FieldKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "display" => Ok(FieldKind::Display),
            "zoned" => Ok(FieldKind::Zoned),
            "comp3" | "comp-3" | "packed" => Ok(FieldKind::Packed),
            "binary" | "comp" | "comp5" | "comp-5" => Ok(FieldKind::Binary),
            _ => Err(format!(
                "unknown field kind `{s}` (valid: display, zoned, comp3, binary, comp5)"
            )),
        }
    }
}

/// Byte order of a binary field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `COMP` / `BINARY`: most significant byte first.
    #[default]
    Big,
    /// `COMP-5` on a little-endian machine: least significant byte first.
    Little,
}

impl ByteOrder {
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Big => "big",
            ByteOrder::Little => "little",
        }
    }
}

impl FromStr for ByteOrder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "big" => Ok(ByteOrder::Big),
            "little" => Ok(ByteOrder::Little),
            _ => Err(format!("unknown byte order `{s}` (valid: big, little)")),
        }
    }
}

/// Where a signed zoned field keeps its sign (COBOL's `SIGN` clause).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ZonedSign {
    /// In the zone of the last digit (or an ASCII overpunch): COBOL's default.
    #[default]
    Trailing,
    /// In the zone of the first digit: `SIGN LEADING`.
    Leading,
    /// A separate `+`/`-` byte after the digits: `SIGN TRAILING SEPARATE`.
    TrailingSeparate,
    /// A separate `+`/`-` byte before the digits: `SIGN LEADING SEPARATE`.
    LeadingSeparate,
}

impl ZonedSign {
    pub const ALL: [ZonedSign; 4] = [
        ZonedSign::Trailing,
        ZonedSign::Leading,
        ZonedSign::TrailingSeparate,
        ZonedSign::LeadingSeparate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ZonedSign::Trailing => "trailing",
            ZonedSign::Leading => "leading",
            ZonedSign::TrailingSeparate => "trailing_separate",
            ZonedSign::LeadingSeparate => "leading_separate",
        }
    }

    /// Whether the sign takes a byte of its own.
    pub fn is_separate(self) -> bool {
        matches!(
            self,
            ZonedSign::TrailingSeparate | ZonedSign::LeadingSeparate
        )
    }
}

impl FromStr for ZonedSign {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ZonedSign::ALL
            .iter()
            .copied()
            .find(|z| z.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown sign `{s}` (valid: trailing, leading, trailing_separate, leading_separate)"
                )
            })
    }
}

/// The fewest bytes of binary that hold every value of `digits` digits: with a sign bit
/// (two's complement) when `signed`, else every bit for the magnitude. 1 to 8.
pub fn binary_min_length(digits: u8, signed: bool) -> usize {
    // The largest digit count each size holds: signed 2^(8n-1) - 1, unsigned 2^(8n) - 1.
    let holds: [u8; 8] = if signed {
        [2, 4, 6, 9, 11, 14, 16, 18]
    } else {
        [2, 4, 7, 9, 12, 14, 16, 19]
    };
    holds.iter().position(|&d| digits <= d).unwrap_or(7) + 1
}

/// One field of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    /// Byte offset in the record.
    pub offset: usize,
    /// Byte length in the record.
    pub length: usize,
    /// Declared digits (numeric kinds; 0 for DISPLAY).
    pub digits: u8,
    /// Digits after the implied decimal point.
    pub scale: u8,
    pub signed: bool,
    /// The field's own code page, overriding the layout's (DISPLAY and zoned).
    pub codepage: Option<CodePage>,
    /// Byte order (binary only).
    pub byte_order: ByteOrder,
    /// Where the sign sits (signed zoned only).
    pub sign: ZonedSign,
}

impl Field {
    /// A DISPLAY field of `length` bytes.
    pub fn display(name: &str, offset: usize, length: usize) -> Field {
        Field {
            name: name.into(),
            kind: FieldKind::Display,
            offset,
            length,
            digits: 0,
            scale: 0,
            signed: false,
            codepage: None,
            byte_order: ByteOrder::Big,
            sign: ZonedSign::Trailing,
        }
    }

    /// A numeric field whose length follows from its kind and digits.
    pub fn numeric(
        name: &str,
        kind: FieldKind,
        offset: usize,
        digits: u8,
        scale: u8,
        signed: bool,
    ) -> Field {
        Field {
            name: name.into(),
            kind,
            offset,
            length: numeric_length(kind, digits),
            digits,
            scale,
            signed,
            codepage: None,
            byte_order: ByteOrder::Big,
            sign: ZonedSign::Trailing,
        }
    }

    /// The same field with its binary bytes in `order` (little: COMP-5).
    pub fn with_byte_order(mut self, order: ByteOrder) -> Field {
        self.byte_order = order;
        self
    }

    /// The same zoned field with its sign at `sign` (the length follows).
    pub fn with_sign(mut self, sign: ZonedSign) -> Field {
        self.sign = sign;
        self.length = usize::from(self.digits) + usize::from(sign.is_separate());
        self
    }

    /// The same field `length` bytes long (binary: 1 to 8 bytes that hold the digits).
    pub fn with_length(mut self, length: usize) -> Field {
        self.length = length;
        self
    }

    /// Where the field ends (saturating: a field that would end past `usize::MAX` is
    /// refused by [`Layout::new`]).
    pub fn end(&self) -> usize {
        self.offset.saturating_add(self.length)
    }

    fn check(&self) -> Result<(), String> {
        if self.offset.checked_add(self.length).is_none() {
            return Err(format!(
                "offset {} plus length {} is beyond any record",
                self.offset, self.length
            ));
        }
        if self.kind == FieldKind::Display {
            if self.length == 0 {
                return Err("a display field needs a length of at least 1".into());
            }
            if self.digits != 0 || self.scale != 0 || self.signed {
                return Err("digits, scale and signed apply to numeric fields only".into());
            }
            return Ok(());
        }
        if !(1..=18).contains(&self.digits) {
            return Err(format!("digits must be 1 to 18, not {}", self.digits));
        }
        if self.scale > self.digits {
            return Err(format!(
                "scale {} exceeds the {} digits",
                self.scale, self.digits
            ));
        }
        if self.byte_order != ByteOrder::Big && self.kind != FieldKind::Binary {
            return Err("byte_order applies to binary fields only".into());
        }
        if self.sign != ZonedSign::Trailing {
            if self.kind != FieldKind::Zoned {
                return Err("sign applies to zoned fields only".into());
            }
            if !self.signed {
                return Err(format!(
                    "sign `{}` needs a signed field (\"signed\": true)",
                    self.sign.name()
                ));
            }
        }
        if self.kind == FieldKind::Binary {
            let least = binary_min_length(self.digits, self.signed);
            if !(least..=8).contains(&self.length) {
                return Err(format!(
                    "binary with {} digits is {least} to 8 bytes long, not {}",
                    self.digits, self.length
                ));
            }
            return Ok(());
        }
        let expected =
            numeric_length(self.kind, self.digits) + usize::from(self.sign.is_separate());
        if self.length != expected {
            return Err(format!(
                "{} with {} digits is {expected} bytes long, not {}",
                self.kind, self.digits, self.length
            ));
        }
        Ok(())
    }
}

/// Byte length of a numeric field of `digits` digits.
pub fn numeric_length(kind: FieldKind, digits: u8) -> usize {
    let digits = usize::from(digits);
    match kind {
        FieldKind::Display | FieldKind::Zoned => digits,
        FieldKind::Packed => digits / 2 + 1,
        FieldKind::Binary => match digits {
            0..=4 => 2,
            5..=9 => 4,
            _ => 8,
        },
    }
}

/// A validated record layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub record_length: usize,
    /// Default code page of DISPLAY and zoned fields (a command line may override it).
    pub codepage: Option<CodePage>,
    pub fields: Vec<Field>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutDoc {
    schema: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    codepage: Option<String>,
    fields: Vec<FieldDoc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldDoc {
    name: String,
    kind: String,
    offset: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digits: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    codepage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    byte_order: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign: Option<String>,
}

/// The longest record a layout may describe: 1 MiB, far beyond COBOL's own record limits
/// (e.g. 32,760 bytes for fixed-length QSAM records on z/OS), and small enough that a batch
/// of records is always a sane allocation.
pub const MAX_RECORD_LENGTH: usize = 1 << 20;

impl Layout {
    /// Validates fields; `record_length` defaults to the end of the last field.
    pub fn new(
        fields: Vec<Field>,
        record_length: Option<usize>,
        codepage: Option<CodePage>,
    ) -> Result<Layout, LayoutError> {
        if fields.is_empty() {
            return Err(LayoutError::Layout(
                "a layout needs at least one field".into(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for field in &fields {
            let fail = |message: String| LayoutError::Field {
                field: field.name.clone(),
                message,
            };
            if field.name.is_empty() {
                return Err(LayoutError::Layout("a field has an empty name".into()));
            }
            if !names.insert(field.name.as_str()) {
                return Err(fail("the name is used twice".into()));
            }
            field.check().map_err(fail)?;
        }
        let extent = fields.iter().map(Field::end).max().unwrap_or(0);
        let record_length = record_length.unwrap_or(extent);
        if record_length > MAX_RECORD_LENGTH {
            return Err(LayoutError::Layout(format!(
                "record_length {record_length} exceeds the longest supported record, \
                 {MAX_RECORD_LENGTH} bytes"
            )));
        }
        if let Some(field) = fields.iter().find(|f| f.end() > record_length) {
            return Err(LayoutError::Field {
                field: field.name.clone(),
                message: format!(
                    "ends at byte {} beyond the record length {record_length}",
                    field.end()
                ),
            });
        }
        Ok(Layout {
            record_length,
            codepage,
            fields,
        })
    }

    /// Parses and validates a layout document.
    pub fn from_json(text: &str) -> Result<Layout, LayoutError> {
        let doc: LayoutDoc = serde_json::from_str(text).map_err(|e| LayoutError::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if let Some(schema) = &doc.schema
            && schema != LAYOUT_SCHEMA
        {
            return Err(LayoutError::Layout(format!(
                "schema `{schema}` is not understood (expected `{LAYOUT_SCHEMA}`)"
            )));
        }
        let codepage = doc
            .codepage
            .as_deref()
            .map(str::parse::<CodePage>)
            .transpose()
            .map_err(LayoutError::Layout)?;
        let mut fields = Vec::with_capacity(doc.fields.len());
        for f in doc.fields {
            let fail = |message: String| LayoutError::Field {
                field: f.name.clone(),
                message,
            };
            let kind: FieldKind = f.kind.parse().map_err(fail)?;
            let native = matches!(f.kind.as_str(), "comp5" | "comp-5");
            let byte_order = match (f.byte_order.as_deref(), native) {
                (None, false) => ByteOrder::Big,
                (None, true) => ByteOrder::Little,
                (Some(order), false) => order.parse().map_err(fail)?,
                (Some("little"), true) => ByteOrder::Little,
                (Some(order), true) => {
                    return Err(fail(format!(
                        "kind `{}` is little-endian; byte_order `{order}` contradicts it",
                        f.kind
                    )));
                }
            };
            let sign = f
                .sign
                .as_deref()
                .map(str::parse::<ZonedSign>)
                .transpose()
                .map_err(fail)?
                .unwrap_or_default();
            let digits = f.digits.unwrap_or(0);
            let length = match (kind, f.length) {
                (_, Some(length)) => length,
                (FieldKind::Display, None) => {
                    return Err(fail("a display field needs a length".into()));
                }
                (_, None) => numeric_length(kind, digits) + usize::from(sign.is_separate()),
            };
            let field_codepage = f
                .codepage
                .as_deref()
                .map(str::parse::<CodePage>)
                .transpose()
                .map_err(fail)?;
            fields.push(Field {
                name: f.name.clone(),
                kind,
                offset: f.offset,
                length,
                digits,
                scale: f.scale.unwrap_or(0),
                signed: f.signed.unwrap_or(false),
                codepage: field_codepage,
                byte_order,
                sign,
            });
        }
        Layout::new(fields, doc.record_length, codepage)
    }

    /// The layout as a JSON document that [`Layout::from_json`] reads back.
    pub fn to_json(&self) -> String {
        let doc = LayoutDoc {
            schema: Some(LAYOUT_SCHEMA.into()),
            record_length: Some(self.record_length),
            codepage: self.codepage.map(|c| c.name().to_string()),
            fields: self
                .fields
                .iter()
                .map(|f| {
                    let numeric = f.kind.is_numeric();
                    FieldDoc {
                        name: f.name.clone(),
                        kind: f.kind.name().into(),
                        offset: f.offset,
                        length: Some(f.length),
                        digits: numeric.then_some(f.digits),
                        scale: numeric.then_some(f.scale),
                        signed: numeric.then_some(f.signed),
                        codepage: f.codepage.map(|c| c.name().to_string()),
                        byte_order: (f.byte_order != ByteOrder::Big)
                            .then(|| f.byte_order.name().to_string()),
                        sign: (f.sign != ZonedSign::Trailing).then(|| f.sign.name().to_string()),
                    }
                })
                .collect(),
        };
        serde_json::to_string_pretty(&doc).expect("a layout document always serialises")
    }

    /// The number of bytes of a record that fields cover (a record may be longer).
    pub fn extent(&self) -> usize {
        self.fields.iter().map(Field::end).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_follow_from_digits_and_round_trip() {
        let text = r#"{"schema":"benchseal.codec.layout/1","codepage":"cp273","fields":[
            {"name":"a","kind":"display","offset":0,"length":5},
            {"name":"b","kind":"comp3","offset":5,"digits":11,"scale":2,"signed":true},
            {"name":"c","kind":"zoned","offset":11,"digits":3},
            {"name":"d","kind":"binary","offset":14,"digits":9}]}"#;
        let layout = Layout::from_json(text).unwrap();
        assert_eq!(layout.fields[1].length, 6);
        assert_eq!(layout.fields[3].length, 4);
        assert_eq!(layout.record_length, 18);
        assert_eq!(Layout::from_json(&layout.to_json()).unwrap(), layout);
    }

    #[test]
    fn native_binary_short_binary_and_sign_options_parse_and_round_trip() {
        let text = r#"{"fields":[
            {"name":"a","kind":"comp5","offset":0,"digits":9,"signed":true},
            {"name":"b","kind":"binary","offset":4,"digits":2,"length":1,"signed":true},
            {"name":"c","kind":"zoned","offset":5,"digits":3,"signed":true,"sign":"leading_separate"},
            {"name":"d","kind":"zoned","offset":9,"digits":3,"signed":true,"sign":"leading"},
            {"name":"e","kind":"binary","offset":12,"digits":12,"length":5,"byte_order":"little"}]}"#;
        let layout = Layout::from_json(text).unwrap();
        let f = &layout.fields;
        assert_eq!((f[0].byte_order, f[0].length), (ByteOrder::Little, 4));
        assert_eq!((f[1].byte_order, f[1].length), (ByteOrder::Big, 1));
        assert_eq!((f[2].sign, f[2].length), (ZonedSign::LeadingSeparate, 4));
        assert_eq!((f[3].sign, f[3].length), (ZonedSign::Leading, 3));
        assert_eq!((f[4].byte_order, f[4].length), (ByteOrder::Little, 5));
        assert_eq!(layout.record_length, 17);
        assert_eq!(Layout::from_json(&layout.to_json()).unwrap(), layout);
        // Defaults are not written out, so older layouts serialise as they did.
        let plain =
            Layout::from_json(r#"{"fields":[{"name":"x","kind":"binary","offset":0,"digits":4}]}"#)
                .unwrap();
        let json = plain.to_json();
        assert!(
            !json.contains("\"byte_order\"") && !json.contains("\"sign\""),
            "{json}"
        );
        assert_eq!(plain.fields[0].length, 2);
    }

    #[test]
    fn bad_options_name_the_field() {
        let cases = [
            (
                r#"{"name":"x","kind":"binary","offset":0,"digits":3,"length":1}"#,
                "2 to 8 bytes long, not 1",
            ),
            (
                r#"{"name":"x","kind":"binary","offset":0,"digits":3,"length":9}"#,
                "not 9",
            ),
            (
                r#"{"name":"x","kind":"binary","offset":0,"digits":7,"length":3,"signed":true}"#,
                "4 to 8 bytes long, not 3",
            ),
            (
                r#"{"name":"x","kind":"comp5","offset":0,"digits":3,"byte_order":"big"}"#,
                "contradicts",
            ),
            (
                r#"{"name":"x","kind":"zoned","offset":0,"digits":3,"byte_order":"little"}"#,
                "binary fields only",
            ),
            (
                r#"{"name":"x","kind":"zoned","offset":0,"digits":3,"sign":"leading"}"#,
                "needs a signed field",
            ),
            (
                r#"{"name":"x","kind":"comp3","offset":0,"digits":3,"signed":true,"sign":"leading"}"#,
                "zoned fields only",
            ),
            (
                r#"{"name":"x","kind":"zoned","offset":0,"digits":3,"signed":true,"sign":"left"}"#,
                "unknown sign `left`",
            ),
            (
                r#"{"name":"x","kind":"zoned","offset":0,"digits":3,"length":3,"signed":true,"sign":"trailing_separate"}"#,
                "4 bytes long, not 3",
            ),
        ];
        for (field, expected) in cases {
            let e = Layout::from_json(&format!(r#"{{"fields":[{field}]}}"#))
                .unwrap_err()
                .to_string();
            assert!(e.contains("`x`") && e.contains(expected), "{e}");
        }
    }

    #[test]
    fn bad_layouts_name_the_field() {
        let e = Layout::from_json(
            r#"{"fields":[{"name":"x","kind":"comp3","offset":0,"digits":5,"length":4}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`x`") && e.contains("3 bytes long"), "{e}");
        let e =
            Layout::from_json(r#"{"fields":[{"name":"x","kind":"zoned","offset":0,"digits":19}]}"#)
                .unwrap_err()
                .to_string();
        assert!(e.contains("digits must be 1 to 18"), "{e}");
        let e = Layout::from_json("{\"fields\":\n[}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
