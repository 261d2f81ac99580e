//! The codec against records GnuCOBOL writes: a small COBOL program, generated here from a
//! table of fields, is compiled with `cobc -x` under each `-fbinary-size` rule, writes
//! records of every field kind (zero, ± maximum, negative zero, seeded random values) and
//! DISPLAYs each value; the decode of its file must equal what COBOL displayed, on every
//! code path.
//!
//! Needs GnuCOBOL's `cobc` (`.ci/steps/30-gnucobol.sh` installs it and runs these with
//! `--include-ignored`). Without it the tests fail, naming what is missing.

use std::path::Path;
use std::process::Command;

use benchseal_kernels::codec::{
    ByteOrder, CodePage, CodecPath, Columns, Cursor, FastPath, Field, FieldKind, Layout,
    RecordDecoder, RecordFormat, Unmappable, ZonedSign,
};

const PATHS: [CodecPath; 4] = [
    CodecPath::Scalar,
    CodecPath::AtMost(FastPath::Avx2),
    CodecPath::AtMost(FastPath::Avx512Bw),
    CodecPath::Simd,
];

/// Seeded random records after the fixed ones.
const RANDOM_RECORDS: usize = 300;

/// How a field is declared in COBOL and described in a layout.
#[derive(Clone, Copy)]
enum Kind {
    /// `COMP` (big-endian).
    Comp,
    /// `COMP-5` (native: little-endian on x86).
    Comp5,
    /// Zoned DISPLAY with its sign where the clause puts it.
    Zoned(ZonedSign),
}

struct Spec {
    digits: u8,
    scale: u8,
    signed: bool,
    kind: Kind,
}

const fn spec(digits: u8, scale: u8, signed: bool, kind: Kind) -> Spec {
    Spec {
        digits,
        scale,
        signed,
        kind,
    }
}

const FIELDS: &[Spec] = &[
    spec(1, 0, true, Kind::Comp),
    spec(2, 0, true, Kind::Comp),
    spec(2, 0, false, Kind::Comp),
    spec(3, 0, true, Kind::Comp),
    spec(4, 0, true, Kind::Comp),
    spec(4, 0, false, Kind::Comp),
    spec(6, 0, true, Kind::Comp),
    spec(7, 0, false, Kind::Comp),
    spec(9, 2, true, Kind::Comp),
    spec(9, 0, false, Kind::Comp),
    spec(11, 0, true, Kind::Comp),
    spec(12, 0, false, Kind::Comp),
    spec(14, 4, true, Kind::Comp),
    spec(16, 0, true, Kind::Comp),
    spec(18, 0, true, Kind::Comp),
    spec(18, 0, false, Kind::Comp),
    spec(2, 0, true, Kind::Comp5),
    spec(4, 0, true, Kind::Comp5),
    spec(4, 0, false, Kind::Comp5),
    spec(7, 0, false, Kind::Comp5),
    spec(9, 2, true, Kind::Comp5),
    spec(18, 0, true, Kind::Comp5),
    spec(18, 0, false, Kind::Comp5),
    spec(7, 2, true, Kind::Zoned(ZonedSign::Trailing)),
    spec(7, 2, true, Kind::Zoned(ZonedSign::Leading)),
    spec(7, 2, true, Kind::Zoned(ZonedSign::TrailingSeparate)),
    spec(7, 2, true, Kind::Zoned(ZonedSign::LeadingSeparate)),
    spec(18, 0, true, Kind::Zoned(ZonedSign::Leading)),
    spec(18, 0, true, Kind::Zoned(ZonedSign::TrailingSeparate)),
    spec(5, 0, false, Kind::Zoned(ZonedSign::Trailing)),
];

impl Spec {
    fn picture(&self) -> String {
        let sign = if self.signed { "S" } else { "" };
        let int = self.digits - self.scale;
        let fraction = if self.scale > 0 {
            format!("V9({})", self.scale)
        } else {
            String::new()
        };
        let usage = match self.kind {
            Kind::Comp => " COMP".into(),
            Kind::Comp5 => " COMP-5".into(),
            Kind::Zoned(ZonedSign::Trailing) => String::new(),
            Kind::Zoned(ZonedSign::Leading) => " SIGN LEADING".into(),
            Kind::Zoned(ZonedSign::TrailingSeparate) => " SIGN TRAILING SEPARATE CHARACTER".into(),
            Kind::Zoned(ZonedSign::LeadingSeparate) => " SIGN LEADING SEPARATE CHARACTER".into(),
        };
        format!("PIC {sign}9({int}){fraction}{usage}")
    }

    /// The bytes of a negative zero, for zoned fields (ASCII: `p` is a negative 0 digit).
    fn negative_zero(&self) -> Option<String> {
        let zeros = "0".repeat(usize::from(self.digits) - 1);
        match self.kind {
            Kind::Zoned(ZonedSign::Trailing) if self.signed => Some(format!("{zeros}p")),
            Kind::Zoned(ZonedSign::Leading) => Some(format!("p{zeros}")),
            Kind::Zoned(ZonedSign::TrailingSeparate) => Some(format!("{zeros}0-")),
            Kind::Zoned(ZonedSign::LeadingSeparate) => Some(format!("-{zeros}0")),
            _ => None,
        }
    }
}

/// The COBOL program: writes `records.dat` and DISPLAYs first each field's length, then
/// each record's values, one line per record.
fn program() -> String {
    let mut record = String::new();
    let mut moves = String::new();
    let mut negative_zero = String::new();
    let mut lengths = String::from("    DISPLAY \"L\"");
    let mut display = String::from("    DISPLAY \"V\"");
    for (i, field) in FIELDS.iter().enumerate() {
        record.push_str(&format!("   05 F{i} {}.\n", field.picture()));
        if let Some(bytes) = field.negative_zero() {
            record.push_str(&format!(
                "   05 X{i} REDEFINES F{i} PIC X({}).\n",
                bytes.len()
            ));
            negative_zero.push_str(&format!("    MOVE \"{bytes}\" TO X{i}\n"));
        } else {
            negative_zero.push_str(&format!("    MOVE 0 TO F{i}\n"));
        }
        let source = if field.scale > 0 { "WF" } else { "WI" };
        moves.push_str(&format!("    MOVE {source} TO F{i}\n"));
        lengths.push_str(&format!("\n        \" \" FUNCTION LENGTH(F{i})"));
        display.push_str(&format!("\n        \" \" F{i}"));
    }
    format!(
        r#"IDENTIFICATION DIVISION.
PROGRAM-ID. KINDS.
ENVIRONMENT DIVISION.
INPUT-OUTPUT SECTION.
FILE-CONTROL.
    SELECT OUT-FILE ASSIGN TO "records.dat"
        ORGANIZATION IS SEQUENTIAL.
DATA DIVISION.
FILE SECTION.
FD OUT-FILE.
01 REC.
{record}WORKING-STORAGE SECTION.
01 WI PIC S9(18).
01 WF PIC S9(16)V99.
01 WR PIC V9(18).
01 WK PIC 9(4).
01 WN PIC 9(4).
PROCEDURE DIVISION.
    OPEN OUTPUT OUT-FILE
{lengths}
    MOVE 0 TO WI WF
    PERFORM PUT-RECORD
    MOVE 999999999999999999 TO WI
    MOVE 9999999999999999.99 TO WF
    PERFORM PUT-RECORD
    MOVE -999999999999999999 TO WI
    MOVE -9999999999999999.99 TO WF
    PERFORM PUT-RECORD
{negative_zero}{display}
    WRITE REC
    COMPUTE WR = FUNCTION RANDOM(20240601)
    PERFORM VARYING WK FROM 1 BY 1 UNTIL WK > {RANDOM_RECORDS}
        COMPUTE WN = FUNCTION RANDOM * 18
        COMPUTE WI = (FUNCTION RANDOM * 2 - 1) * (10 ** WN)
        COMPUTE WN = FUNCTION RANDOM * 16
        COMPUTE WF = (FUNCTION RANDOM * 2 - 1) * (10 ** WN)
        PERFORM PUT-RECORD
    END-PERFORM
    CLOSE OUT-FILE
    STOP RUN.
PUT-RECORD.
{moves}{display}
    WRITE REC.
"#
    )
}

/// `text` as COBOL DISPLAYs a number (`-001234567`, `+12.50`, `34567.00-`, `0012`) → the
/// scaled integer of a field with `scale` fraction digits. Zoned items are displayed with
/// their decimal point; binary ones as the stored integer, all digits of their size and
/// no point, which is the scaled integer already.
fn displayed(text: &str, scale: u8) -> i64 {
    let negative = text.starts_with('-') || text.ends_with('-');
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if let Some((_, fraction)) = text.split_once('.') {
        let places = fraction.chars().filter(char::is_ascii_digit).count();
        assert_eq!(places, usize::from(scale), "fraction digits of `{text}`");
    }
    let magnitude: i64 = digits.parse().unwrap_or_else(|e| panic!("`{text}`: {e}"));
    if negative { -magnitude } else { magnitude }
}

/// The layout of the program's record under the lengths the compiler reported.
fn layout(lengths: &[usize]) -> Layout {
    let mut offset = 0;
    let fields = FIELDS
        .iter()
        .zip(lengths)
        .enumerate()
        .map(|(i, (spec, &length))| {
            let name = format!("f{i}");
            let field = match spec.kind {
                Kind::Comp | Kind::Comp5 => {
                    let order = if matches!(spec.kind, Kind::Comp5) {
                        ByteOrder::Little
                    } else {
                        ByteOrder::Big
                    };
                    Field::numeric(
                        &name,
                        FieldKind::Binary,
                        offset,
                        spec.digits,
                        spec.scale,
                        spec.signed,
                    )
                    .with_byte_order(order)
                    .with_length(length)
                }
                Kind::Zoned(sign) => {
                    let field = Field::numeric(
                        &name,
                        FieldKind::Zoned,
                        offset,
                        spec.digits,
                        spec.scale,
                        spec.signed,
                    );
                    if spec.signed {
                        field.with_sign(sign)
                    } else {
                        field
                    }
                }
            };
            assert_eq!(field.length, length, "{name}: {}", spec.picture());
            offset += length;
            field
        })
        .collect();
    // The layout goes through its JSON form, as a user's layout file would.
    let layout = Layout::new(fields, None, Some(CodePage::Ascii)).expect("a valid layout");
    Layout::from_json(&layout.to_json()).expect("the layout reads back")
}

/// Compiles the program with `flags`, runs it, decodes its records on every path and
/// compares them with what it displayed. Returns the record length.
fn check(flags: &[&str]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("kinds.cob");
    std::fs::write(&source, program()).unwrap();
    let compiled = Command::new("cobc")
        .args(["-x", "-free"])
        .args(flags)
        .arg("-o")
        .arg(dir.path().join("kinds"))
        .arg(&source)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run GnuCOBOL's `cobc` ({e}); .ci/steps/30-gnucobol.sh installs it")
        });
    assert!(
        compiled.status.success(),
        "cobc {flags:?} failed:\n{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let run = Command::new(dir.path().join("kinds"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8(run.stdout).unwrap();
    let mut lines = stdout.lines();
    let lengths: Vec<usize> = lines
        .next()
        .and_then(|l| l.strip_prefix('L'))
        .expect("the length line")
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let expected: Vec<Vec<i64>> = lines
        .map(|line| {
            let values: Vec<&str> = line
                .strip_prefix('V')
                .expect("a value line")
                .split_whitespace()
                .collect();
            assert_eq!(values.len(), FIELDS.len(), "{line}");
            values
                .iter()
                .zip(FIELDS)
                .map(|(text, spec)| displayed(text, spec.scale))
                .collect()
        })
        .collect();
    assert_eq!(expected.len(), 4 + RANDOM_RECORDS);
    // The random records really vary: many distinct values per field, both signs where
    // the field has a sign.
    for (i, spec) in FIELDS.iter().enumerate() {
        let column: std::collections::BTreeSet<i64> = expected.iter().map(|r| r[i]).collect();
        let enough = 10usize.pow(u32::from(spec.digits.min(3))) / 2;
        assert!(
            column.len() >= enough.min(50),
            "f{i} {}: {column:?}",
            spec.picture()
        );
        assert_eq!(
            column.iter().any(|&v| v < 0),
            spec.signed,
            "f{i} {}",
            spec.picture()
        );
    }
    let layout = layout(&lengths);
    let data = std::fs::read(dir.path().join("records.dat")).unwrap();
    assert_eq!(data.len(), layout.record_length * expected.len());
    for path in PATHS {
        let decoder = RecordDecoder::new(&layout, None, Unmappable::Error, path);
        let mut columns = Columns::with_capacity(&layout, expected.len());
        decoder
            .decode(
                &data,
                RecordFormat::Fixed,
                &mut Cursor::default(),
                usize::MAX,
                &mut columns,
                &mut Err,
            )
            .unwrap_or_else(|e| panic!("{flags:?} {path:?}: {e}"));
        assert_eq!(columns.records(), expected.len());
        for (row, values) in expected.iter().enumerate() {
            for (i, &value) in values.iter().enumerate() {
                assert_eq!(
                    columns.columns[i].number(row),
                    Some(i128::from(value)),
                    "{flags:?} {path:?}: record {row}, field f{i} {}",
                    FIELDS[i].picture()
                );
            }
        }
    }
    layout.record_length
}

#[test]
#[ignore = "needs GnuCOBOL's cobc: .ci/steps/30-gnucobol.sh installs it"]
fn gnucobol_default_binary_size_1_2_4_8() {
    // The default configuration's size rule, named explicitly so a changed default
    // cannot change what is tested.
    let default = check(&[]);
    assert_eq!(check(&["-fbinary-size=1-2-4-8"]), default);
}

#[test]
#[ignore = "needs GnuCOBOL's cobc: .ci/steps/30-gnucobol.sh installs it"]
fn gnucobol_binary_size_1_to_8() {
    check(&["-fbinary-size=1--8"]);
}

#[test]
#[ignore = "needs GnuCOBOL's cobc: .ci/steps/30-gnucobol.sh installs it"]
fn gnucobol_binary_size_2_4_8() {
    check(&["-fbinary-size=2-4-8"]);
}

#[test]
fn display_texts_parse() {
    assert_eq!(displayed("-001234567", 0), -1_234_567);
    assert_eq!(displayed("+10617", 0), 10_617);
    assert_eq!(displayed("34567.00-", 2), -3_456_700);
    assert_eq!(displayed("+00000.00", 2), 0);
    assert_eq!(displayed("0012", 0), 12);
    assert_eq!(displayed("+0000001234", 2), 1234);
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).is_dir());
}
