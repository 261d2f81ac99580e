//! Code pages for DISPLAY fields and the policy for bytes that have no printable mapping.
//!
//! A code page is a 256-entry table byte → Unicode scalar value ([`super::tables`]). What
//! counts as *unmappable* is decided here, once, for every decode path: a byte whose code
//! point is a C0 control other than TAB, LF and CR; for the `ascii` code page also every
//! byte ≥ 0x80 (it passes through valid ASCII only).

use std::fmt;
use std::str::FromStr;

use super::tables;

/// A DISPLAY code page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodePage {
    Cp037,
    Cp273,
    Cp500,
    Cp1140,
    Cp1047,
    Ascii,
}

impl CodePage {
    pub const ALL: [CodePage; 6] = [
        CodePage::Cp037,
        CodePage::Cp273,
        CodePage::Cp500,
        CodePage::Cp1140,
        CodePage::Cp1047,
        CodePage::Ascii,
    ];

    /// Lower-case name as written in layouts and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            CodePage::Cp037 => "cp037",
            CodePage::Cp273 => "cp273",
            CodePage::Cp500 => "cp500",
            CodePage::Cp1140 => "cp1140",
            CodePage::Cp1047 => "cp1047",
            CodePage::Ascii => "ascii",
        }
    }

    /// Whether numeric DISPLAY (zoned) fields of this code page follow the EBCDIC convention.
    pub fn is_ebcdic(self) -> bool {
        self != CodePage::Ascii
    }

    /// The code point of `byte`. For `ascii`, bytes ≥ 0x80 read as Latin-1 (what `keep`
    /// emits); they are unmappable all the same.
    pub fn code_point(self, byte: u8) -> u32 {
        let table: &[u16; 256] = match self {
            CodePage::Cp037 => &tables::CP037,
            CodePage::Cp273 => &tables::CP273,
            CodePage::Cp500 => &tables::CP500,
            CodePage::Cp1140 => &tables::CP1140,
            CodePage::Cp1047 => &tables::CP1047,
            CodePage::Ascii => return u32::from(byte),
        };
        u32::from(table[usize::from(byte)])
    }

    /// Whether `byte` has no printable mapping (see the module docs).
    pub fn is_unmappable(self, byte: u8) -> bool {
        if self == CodePage::Ascii && byte >= 0x80 {
            return true;
        }
        let cp = self.code_point(byte);
        cp < 0x20 && !matches!(cp, 0x09 | 0x0A | 0x0D)
    }

    /// The byte that encodes `ch`, if this code page has one (used by the encoder).
    pub fn encode_char(self, ch: char) -> Option<u8> {
        (0..=255u8).find(|&b| {
            self.code_point(b) == u32::from(ch) && !(self == CodePage::Ascii && b >= 0x80)
        })
    }

    /// The byte of the space character (the padding of DISPLAY fields).
    pub fn space(self) -> u8 {
        if self.is_ebcdic() { 0x40 } else { 0x20 }
    }
}

impl fmt::Display for CodePage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CodePage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        CodePage::ALL
            .iter()
            .copied()
            .find(|cp| cp.name() == lower)
            .ok_or_else(|| {
                let names: Vec<_> = CodePage::ALL.iter().map(|c| c.name()).collect();
                format!("unknown code page `{s}` (valid: {})", names.join(", "))
            })
    }
}

/// What DISPLAY decoding does with an unmappable byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Unmappable {
    /// Stop with [`super::CodecError::Unmappable`] naming record and byte offset.
    #[default]
    Error,
    /// Emit U+FFFD REPLACEMENT CHARACTER.
    Replace,
    /// Emit the code point the table gives (a control character).
    Keep,
}

impl Unmappable {
    pub const ALL: [Unmappable; 3] = [Unmappable::Error, Unmappable::Replace, Unmappable::Keep];

    pub fn name(self) -> &'static str {
        match self {
            Unmappable::Error => "error",
            Unmappable::Replace => "replace",
            Unmappable::Keep => "keep",
        }
    }
}

impl FromStr for Unmappable {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Unmappable::ALL
            .iter()
            .copied()
            .find(|u| u.name() == s)
            .ok_or_else(|| format!("unknown unmappable policy `{s}` (valid: error, replace, keep)"))
    }
}

/// Tables derived from a code page for the decoders, built once per layout field.
#[derive(Clone, Debug)]
pub struct DisplayTables {
    pub codepage: CodePage,
    pub policy: Unmappable,
    /// UTF-8 of each byte's output under the policy (error: the table's code point).
    pub utf8: [[u8; 4]; 256],
    pub utf8_len: [u8; 256],
    pub unmappable: [bool; 256],
    /// For the vector path: the output byte when it is one Latin-1 code point ≥ 0x20 that
    /// needs no policy, else 0 (the vector path hands such chunks to the scalar code).
    pub latin1: Latin1Table,
}

/// A 64-byte aligned 256-entry byte table (four 512-bit registers).
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct Latin1Table(pub [u8; 256]);

impl DisplayTables {
    pub fn new(codepage: CodePage, policy: Unmappable) -> Self {
        let mut utf8 = [[0u8; 4]; 256];
        let mut utf8_len = [0u8; 256];
        let mut unmappable = [false; 256];
        let mut latin1 = [0u8; 256];
        for b in 0..=255u8 {
            let i = usize::from(b);
            let bad = codepage.is_unmappable(b);
            unmappable[i] = bad;
            let cp = if bad && policy == Unmappable::Replace {
                0xFFFD
            } else {
                codepage.code_point(b)
            };
            // Every table entry is a BMP scalar value; U+FFFD is too.
            let ch = char::from_u32(cp).unwrap_or(char::REPLACEMENT_CHARACTER);
            utf8_len[i] = ch.encode_utf8(&mut utf8[i]).len() as u8;
            if !bad && (0x20..=0xFF).contains(&cp) {
                latin1[i] = cp as u8;
            }
        }
        DisplayTables {
            codepage,
            policy,
            utf8,
            utf8_len,
            unmappable,
            latin1: Latin1Table(latin1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for cp in CodePage::ALL {
            assert_eq!(cp.name().parse::<CodePage>().unwrap(), cp);
        }
        assert!("cp999".parse::<CodePage>().unwrap_err().contains("cp1047"));
    }

    #[test]
    fn c0_controls_are_unmappable_except_tab_lf_cr() {
        let cp = CodePage::Cp037;
        assert!(cp.is_unmappable(0x00));
        assert!(!cp.is_unmappable(0x05)); // TAB
        assert!(!cp.is_unmappable(0x25)); // LF
        assert!(!cp.is_unmappable(0x0D)); // CR
        assert!(!cp.is_unmappable(0x15)); // NEL is C1, not C0
        assert!(CodePage::Ascii.is_unmappable(0x80));
        assert!(!CodePage::Ascii.is_unmappable(b'a'));
    }

    #[test]
    fn encode_char_inverts_the_table() {
        for cp in CodePage::ALL {
            for b in 0..=255u8 {
                if cp == CodePage::Ascii && b >= 0x80 {
                    continue;
                }
                let ch = char::from_u32(cp.code_point(b)).unwrap();
                assert_eq!(cp.encode_char(ch), Some(b), "{cp} byte {b:#04x}");
            }
        }
    }
}
