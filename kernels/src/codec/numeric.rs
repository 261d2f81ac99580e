//! Scalar oracles of the numeric field kinds: zoned decimal, COMP-3 packed decimal and
//! COMP/BINARY (either byte order), plus the decimal-string rendering of a scaled value.
//!
//! Each oracle walks the field byte by byte in the order a person reads the format's
//! definition, so that it is obviously right; the vector paths in `x86` must agree with
//! them on every input, errors included (they hand any field they reject back to these).

use super::error::{FaultKind, FieldFault};
use super::layout::ZonedSign;

/// The meaning of the last byte of a zoned field: its digit and sign, or what is wrong.
pub fn zoned_last_byte(byte: u8, ebcdic: bool, signed: bool) -> Result<(u8, bool), FaultKind> {
    let (zone, digit) = (byte >> 4, byte & 0x0F);
    if ebcdic {
        if digit > 9 {
            return Err(FaultKind::BadDigit);
        }
        return match (zone, signed) {
            (0xF, _) | (0xC, true) => Ok((digit, false)),
            (0xD, true) => Ok((digit, true)),
            (0xC | 0xD, false) => Err(FaultKind::BadSign),
            (_, true) => Err(FaultKind::BadSign),
            (_, false) => Err(FaultKind::BadZone),
        };
    }
    // ASCII: a plain digit, or (signed only) an overpunch: `{`, `A`–`I` positive 0–9,
    // `}`, `J`–`R` negative 0–9, or GnuCOBOL's 0x70–0x79 negative 0–9.
    let overpunch = match byte {
        b'{' => Some((0, false)),
        b'A'..=b'I' => Some((byte - b'A' + 1, false)),
        b'}' => Some((0, true)),
        b'J'..=b'R' => Some((byte - b'J' + 1, true)),
        0x70..=0x79 => Some((digit, true)),
        _ => None,
    };
    match (byte, overpunch, signed) {
        (b'0'..=b'9', _, _) => Ok((digit, false)),
        (0x3A..=0x3F, _, _) => Err(FaultKind::BadDigit),
        (_, Some(value), true) => Ok(value),
        (_, Some(_), false) | (_, None, true) => Err(FaultKind::BadSign),
        (_, None, false) => Err(FaultKind::BadZone),
    }
}

/// Zoned decimal (one digit per byte, sign in the last byte) → scaled integer.
/// `src` holds 1 to 18 bytes.
pub fn zoned(src: &[u8], ebcdic: bool, signed: bool) -> Result<i64, FieldFault> {
    let zone_expected = if ebcdic { 0xF } else { 0x3 };
    let Some((&last, body)) = src.split_last() else {
        return Ok(0);
    };
    let mut value: i64 = 0;
    for (at, &byte) in body.iter().enumerate() {
        if byte >> 4 != zone_expected {
            return Err(FieldFault::new(FaultKind::BadZone, at, byte));
        }
        let digit = byte & 0x0F;
        if digit > 9 {
            return Err(FieldFault::new(FaultKind::BadDigit, at, byte));
        }
        value = value * 10 + i64::from(digit);
    }
    let (digit, negative) = zoned_last_byte(last, ebcdic, signed)
        .map_err(|kind| FieldFault::new(kind, body.len(), last))?;
    value = value * 10 + i64::from(digit);
    Ok(if negative { -value } else { value })
}

/// Whether a COMP-3 sign nibble is allowed, and whether it means negative.
pub fn packed_sign(nibble: u8, signed: bool) -> Option<bool> {
    match (nibble, signed) {
        (0xF, _) => Some(false),
        (0xA | 0xC | 0xE, true) => Some(false),
        (0xB | 0xD, true) => Some(true),
        _ => None,
    }
}

/// COMP-3 packed decimal (two digits per byte, last nibble the sign) → scaled integer.
/// `src` holds 1 to 10 bytes; `pad` says the first nibble is padding (an even digit
/// count) and must be zero.
pub fn packed(src: &[u8], pad: bool, signed: bool) -> Result<i64, FieldFault> {
    let mut value: i64 = 0;
    let last = src.len().saturating_sub(1);
    for (at, &byte) in src.iter().enumerate() {
        let (high, low) = (byte >> 4, byte & 0x0F);
        if at == 0 && pad {
            if high != 0 {
                return Err(FieldFault::new(FaultKind::BadDigit, at, byte));
            }
        } else if high > 9 {
            return Err(FieldFault::new(FaultKind::BadDigit, at, byte));
        } else {
            value = value * 10 + i64::from(high);
        }
        if at == last {
            let negative =
                packed_sign(low, signed).ok_or(FieldFault::new(FaultKind::BadSign, at, byte))?;
            return Ok(if negative { -value } else { value });
        }
        if low > 9 {
            return Err(FieldFault::new(FaultKind::BadDigit, at, byte));
        }
        value = value * 10 + i64::from(low);
    }
    Ok(value)
}

/// COMP-3 of `len` (1 to 8) bytes held in the low bytes of `word` read big-endian (the
/// field's last byte lowest); bytes above the field are ignored. `None` when any nibble
/// or the sign is not what [`packed`] accepts: the caller then asks the oracle, which
/// names the fault. This is the fast path's decoder: every nibble is checked and folded
/// at once within the 64-bit word (SWAR), with no loop over digits.
#[inline(always)]
pub fn packed_word(word: u64, len: usize, pad: bool, signed: bool) -> Option<i64> {
    debug_assert!((1..=8).contains(&len));
    let field = word & (u64::MAX >> (64 - 8 * len));
    let negative = packed_sign((field & 0x0F) as u8, signed)?;
    // The 2·len − 1 digit nibbles, most significant highest; nothing above them.
    let digits = field >> 4;
    // A nibble is above 9 when its bit 3 is set together with bit 2 or bit 1.
    if digits & ((digits << 1) | (digits << 2)) & 0x8888_8888_8888_8888 != 0 {
        return None;
    }
    if pad && digits >> (8 * len - 8) != 0 {
        return None;
    }
    // Fold neighbours pairwise: nibbles to bytes (0..=99), bytes to 16-bit lanes
    // (0..=9999), those to 32-bit lanes (0..=99_999_999) and those to the whole value;
    // each step subtracts (radix − 10^k) times the high half, so nothing borrows.
    let mut v = digits;
    v -= ((v >> 4) & 0x0F0F_0F0F_0F0F_0F0F) * 6;
    v -= ((v >> 8) & 0x00FF_00FF_00FF_00FF) * 156;
    v -= ((v >> 16) & 0x0000_FFFF_0000_FFFF) * 55_536;
    v -= (v >> 32) * 4_194_967_296;
    // At most 15 digits: below 10^15, so the cast is exact.
    let value = v as i64;
    Some(if negative { -value } else { value })
}

/// Two's complement binary of 1 to 8 bytes → integer; `little` for COMP-5 on a
/// little-endian machine (least significant byte first). An unsigned 8-byte field gives the
/// bit pattern of its `u64` (values above `i64::MAX` read as negative `i64`s): its column
/// is marked [`unsigned`](super::columns::Column::unsigned) and read back as `u64`.
pub fn binary_ordered(src: &[u8], signed: bool, little: bool) -> Result<i64, FieldFault> {
    let len = src.len();
    if !(1..=8).contains(&len) {
        // Layouts only admit 1 to 8 bytes; anything else is out of range, not a panic.
        return Err(FieldFault::new(
            FaultKind::OutOfRange,
            0,
            src.first().copied().unwrap_or(0),
        ));
    }
    // The field as an unsigned number in the low bytes of a word: the common sizes are
    // one load (and byte swap), the others folded byte by byte, most significant first.
    let raw: u64 = match (len, little) {
        (2, false) => u64::from(u16::from_be_bytes([src[0], src[1]])),
        (2, true) => u64::from(u16::from_le_bytes([src[0], src[1]])),
        (4, false) => u64::from(u32::from_be_bytes([src[0], src[1], src[2], src[3]])),
        (4, true) => u64::from(u32::from_le_bytes([src[0], src[1], src[2], src[3]])),
        (8, false) => u64::from_be_bytes(src.try_into().expect("eight bytes")),
        (8, true) => u64::from_le_bytes(src.try_into().expect("eight bytes")),
        _ => (0..len).fold(0, |raw, at| {
            let byte = if little { src[len - 1 - at] } else { src[at] };
            raw << 8 | u64::from(byte)
        }),
    };
    let spare = 64 - 8 * len as u32;
    Ok(if signed {
        // Sign-extend from the field's top bit.
        ((raw << spare) as i64) >> spare
    } else {
        // Below 8 bytes the value fits; at 8 bytes the bits are the u64's.
        raw as i64
    })
}

/// The sign byte of a `SIGN ... SEPARATE` zoned field: `+` or `-` in the code page.
pub fn separate_sign(byte: u8, ebcdic: bool) -> Option<bool> {
    match (byte, ebcdic) {
        (0x4E, true) | (b'+', false) => Some(false),
        (0x60, true) | (b'-', false) => Some(true),
        _ => None,
    }
}

/// Digits of a zoned field that carry no sign (zone F in EBCDIC, 3 in ASCII), folded onto
/// `value`; `at` is where `digits` start in the field, for the fault.
fn zoned_digits(digits: &[u8], at: usize, ebcdic: bool, mut value: i64) -> Result<i64, FieldFault> {
    let zone_expected = if ebcdic { 0xF } else { 0x3 };
    for (i, &byte) in digits.iter().enumerate() {
        if byte >> 4 != zone_expected {
            return Err(FieldFault::new(FaultKind::BadZone, at + i, byte));
        }
        let digit = byte & 0x0F;
        if digit > 9 {
            return Err(FieldFault::new(FaultKind::BadDigit, at + i, byte));
        }
        value = value * 10 + i64::from(digit);
    }
    Ok(value)
}

/// Signed zoned decimal with its sign where COBOL's `SIGN` clause puts it → scaled
/// integer. `Trailing` is [`zoned`]; `Leading` reads the first byte as [`zoned`] reads the
/// last; the separate forms hold a `+`/`-` byte before or after the digits. `src` holds
/// the field's bytes (digits, plus one for a separate sign).
pub fn zoned_signed(src: &[u8], ebcdic: bool, sign: ZonedSign) -> Result<i64, FieldFault> {
    let Some((&first, rest)) = src.split_first() else {
        return Ok(0);
    };
    let (magnitude, negative) = match sign {
        ZonedSign::Trailing => return zoned(src, ebcdic, true),
        ZonedSign::Leading => {
            let (digit, negative) = zoned_last_byte(first, ebcdic, true)
                .map_err(|kind| FieldFault::new(kind, 0, first))?;
            (zoned_digits(rest, 1, ebcdic, i64::from(digit))?, negative)
        }
        ZonedSign::LeadingSeparate => {
            let negative = separate_sign(first, ebcdic).ok_or(FieldFault::new(
                FaultKind::BadSign,
                0,
                first,
            ))?;
            (zoned_digits(rest, 1, ebcdic, 0)?, negative)
        }
        ZonedSign::TrailingSeparate => {
            let (&last, digits) = src.split_last().expect("not empty");
            let value = zoned_digits(digits, 0, ebcdic, 0)?;
            let negative = separate_sign(last, ebcdic).ok_or(FieldFault::new(
                FaultKind::BadSign,
                digits.len(),
                last,
            ))?;
            (value, negative)
        }
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// Appends `value / 10^scale` as a decimal string: `-123.45`, no leading zeros, the
/// fraction padded to `scale` digits, zero never negative.
pub fn format_decimal(value: i64, scale: u8, out: &mut Vec<u8>) {
    format_magnitude(value < 0, value.unsigned_abs(), scale, out);
}

/// [`format_decimal`] of an unsigned scaled integer (an unsigned 8-byte binary column).
pub fn format_unsigned_decimal(value: u64, scale: u8, out: &mut Vec<u8>) {
    format_magnitude(false, value, scale, out);
}

fn format_magnitude(negative: bool, mut magnitude: u64, scale: u8, out: &mut Vec<u8>) {
    let mut digits = [0u8; 40];
    let mut n = 0;
    while magnitude > 0 || n <= usize::from(scale) {
        digits[n] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        n += 1;
    }
    if negative {
        out.push(b'-');
    }
    for i in (0..n).rev() {
        out.push(digits[i]);
        if i == usize::from(scale) && scale > 0 {
            out.push(b'.');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A nibble that is mostly a digit.
    fn nibble() -> impl Strategy<Value = u64> {
        prop_oneof![8 => 0u64..=9, 1 => 10u64..=15]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The word decoder accepts exactly what the oracle accepts, with its value, and
        /// ignores the bytes above the field.
        #[test]
        fn packed_word_equals_the_oracle(
            nibbles in prop::collection::vec(nibble(), 16),
            sign in 0u64..=15,
            above in any::<u64>(),
            len in 1usize..=8,
            pad in any::<bool>(),
            signed in any::<bool>(),
        ) {
            let field = nibbles[..2 * len - 1]
                .iter()
                .fold(0u64, |word, &n| word << 4 | n) << 4 | sign;
            let word = if len == 8 { field } else { above << (8 * len) | field };
            let bytes = word.to_be_bytes();
            let src = &bytes[8 - len..];
            prop_assert_eq!(packed_word(word, len, pad, signed), packed(src, pad, signed).ok());
        }
    }

    fn text(value: i64, scale: u8) -> String {
        let mut out = Vec::new();
        format_decimal(value, scale, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn decimal_strings() {
        assert_eq!(text(-12345, 2), "-123.45");
        assert_eq!(text(5, 2), "0.05");
        assert_eq!(text(-5, 3), "-0.005");
        assert_eq!(text(0, 2), "0.00");
        assert_eq!(text(0, 0), "0");
        assert_eq!(text(120, 0), "120");
        assert_eq!(text(i64::MIN, 0), "-9223372036854775808");
        assert_eq!(text(i64::MAX, 18), "9.223372036854775807");
        let mut out = Vec::new();
        format_unsigned_decimal(u64::MAX, 2, &mut out);
        assert_eq!(out, b"184467440737095516.15");
    }

    #[test]
    fn packed_examples() {
        assert_eq!(packed(&[0x12, 0x34, 0x5C], false, true), Ok(12345));
        assert_eq!(packed(&[0x12, 0x34, 0x5D], false, true), Ok(-12345));
        assert_eq!(packed(&[0x00, 0x0D], false, true), Ok(0)); // negative zero is zero
        assert_eq!(packed(&[0x01, 0x2F], true, false), Ok(12));
        assert_eq!(
            packed(&[0x01, 0x2C], true, false),
            Err(FieldFault::new(FaultKind::BadSign, 1, 0x2C))
        );
        assert_eq!(
            packed(&[0x1A, 0x2C], false, true),
            Err(FieldFault::new(FaultKind::BadDigit, 0, 0x1A))
        );
        assert_eq!(
            packed(&[0x10, 0x2C], true, true),
            Err(FieldFault::new(FaultKind::BadDigit, 0, 0x10))
        );
    }

    #[test]
    fn zoned_examples() {
        assert_eq!(zoned(&[0xF1, 0xF2, 0xD3], true, true), Ok(-123));
        assert_eq!(zoned(&[0xF1, 0xF2, 0xC3], true, true), Ok(123));
        assert_eq!(zoned(b"12L", false, true), Ok(-123));
        assert_eq!(zoned(b"12C", false, true), Ok(123));
        assert_eq!(zoned(b"12}", false, true), Ok(-120));
        assert_eq!(zoned(&[b'1', b'2', 0x73], false, true), Ok(-123));
        assert_eq!(
            zoned(&[0xF1, 0xC2, 0xF3], true, false),
            Err(FieldFault::new(FaultKind::BadZone, 1, 0xC2))
        );
        assert_eq!(
            zoned(b"12C", false, false),
            Err(FieldFault::new(FaultKind::BadSign, 2, b'C'))
        );
    }

    fn binary(src: &[u8], signed: bool) -> Result<i64, FieldFault> {
        binary_ordered(src, signed, false)
    }

    #[test]
    fn binary_examples() {
        assert_eq!(binary(&[0xFF, 0xFE], true), Ok(-2));
        assert_eq!(binary(&[0xFF, 0xFE], false), Ok(65534));
        // Unsigned 8 bytes: the u64's bits, whatever the top bit.
        assert_eq!(
            binary(&[0x80, 0, 0, 0, 0, 0, 0, 0], false),
            Ok((1u64 << 63) as i64)
        );
        assert_eq!(binary(&[0xFF; 8], false), Ok(-1));
        assert_eq!(binary(&[0xFF; 8], true), Ok(-1));
        // One byte (GnuCOBOL's binary-size 1-2-4-8), odd sizes, and COMP-5.
        assert_eq!(binary(&[0xFF], true), Ok(-1));
        assert_eq!(binary(&[0xFF], false), Ok(255));
        assert_eq!(binary(&[0x80, 0, 0], true), Ok(-(1 << 23)));
        assert_eq!(binary_ordered(&[1, 0], true, true), Ok(1));
        assert_eq!(binary_ordered(&[1, 0], true, false), Ok(256));
        assert_eq!(
            binary_ordered(&[0xFE, 0xFF, 0xFF, 0xFF], true, true),
            Ok(-2)
        );
        assert_eq!(
            binary_ordered(&[1, 0, 0, 0, 0, 0, 0, 0x80], false, true),
            Ok(((1u64 << 63) | 1) as i64)
        );
        assert_eq!(binary_ordered(&[1, 2, 3], false, false), Ok(0x01_02_03));
        assert_eq!(
            binary_ordered(&[], false, false),
            Err(FieldFault::new(FaultKind::OutOfRange, 0, 0))
        );
    }

    #[test]
    fn zoned_sign_positions() {
        use ZonedSign::*;
        assert_eq!(zoned_signed(&[0xD1, 0xF2, 0xF3], true, Leading), Ok(-123));
        assert_eq!(zoned_signed(b"q23", false, Leading), Ok(-123));
        assert_eq!(zoned_signed(b"123", false, Leading), Ok(123));
        assert_eq!(zoned_signed(b"-123", false, LeadingSeparate), Ok(-123));
        assert_eq!(zoned_signed(b"123+", false, TrailingSeparate), Ok(123));
        assert_eq!(
            zoned_signed(&[0xF1, 0xF2, 0x60], true, TrailingSeparate),
            Ok(-12)
        );
        assert_eq!(
            zoned_signed(&[0x4E, 0xF1, 0xF2], true, LeadingSeparate),
            Ok(12)
        );
        assert_eq!(
            zoned_signed(b"12 ", false, TrailingSeparate),
            Err(FieldFault::new(FaultKind::BadSign, 2, b' '))
        );
        assert_eq!(
            zoned_signed(b"+1-", false, LeadingSeparate),
            Err(FieldFault::new(FaultKind::BadZone, 2, b'-'))
        );
        assert_eq!(
            zoned_signed(b"12q", false, Leading),
            Err(FieldFault::new(FaultKind::BadZone, 2, b'q'))
        );
        assert_eq!(
            zoned_signed(b"12q", false, Trailing),
            zoned(b"12q", false, true)
        );
    }
}
