//! The codec kernels against their oracles, the reference code page tables, their
//! encoders, and the catalogue of malformed input.

use benchseal_kernels::codec::encode::{
    RecordGenerator, binary_into, binary_ordered_into, display_into, packed_into, zoned_into,
    zoned_signed_into,
};
use benchseal_kernels::codec::file::MappedInput;
use benchseal_kernels::codec::{
    ByteOrder, CodePage, CodecError, CodecPath, Column, ColumnData, Columns, Cursor, ErrorKind,
    FastPath, Field, FieldCodec, FieldKind, JsonlWriter, Layout, MAX_RECORD_LENGTH, RecordDecoder,
    RecordFormat, Unmappable, ZonedSign, binary_min_length, escape_json_string,
};
use proptest::prelude::*;

/// Every code path: the oracle, then each fast path this CPU has (narrower ones are run
/// by capping; on a CPU without one, the cap resolves to the next narrower path).
const PATHS: [CodecPath; 4] = [
    CodecPath::Scalar,
    CodecPath::AtMost(FastPath::Avx2),
    CodecPath::AtMost(FastPath::Avx512Bw),
    CodecPath::Simd,
];

/// The fast paths, each held to the oracle.
const FAST_PATHS: [CodecPath; 3] = [PATHS[1], PATHS[2], PATHS[3]];

fn text_codec(codepage: CodePage, policy: Unmappable, length: usize) -> FieldCodec {
    FieldCodec::new(&Field::display("t", 0, length.max(1)), codepage, policy)
}

fn decode_text(codec: &FieldCodec, path: CodecPath, src: &[u8]) -> TextResult {
    let mut out = b"prefix".to_vec();
    codec
        .decode_text(path, src, &mut out)
        .expect("a text field")
        .map(|()| out[6..].to_vec())
}

fn number_codec(kind: FieldKind, digits: u8, signed: bool, codepage: CodePage) -> FieldCodec {
    let field = Field::numeric("n", kind, 0, digits, 0, signed);
    FieldCodec::new(&field, codepage, Unmappable::Error)
}

#[test]
fn this_machine_runs_a_vector_path_when_it_has_avx512() {
    // Guards against a detection bug silently making every "simd" figure a scalar one.
    #[cfg(target_arch = "x86_64")]
    if std::env::var_os("BENCHSEAL_SIMD_LEVEL").is_none()
        && is_x86_feature_detected!("avx512vbmi2")
        && is_x86_feature_detected!("avx512bw")
    {
        assert_eq!(FastPath::detect(), FastPath::Avx512Vbmi2);
        assert_eq!(FastPath::detect().label(), "simd (avx512vbmi2)");
    }
    assert_eq!(FastPath::resolve(CodecPath::Scalar), FastPath::None);
    assert!(FastPath::resolve(CodecPath::AtMost(FastPath::Avx2)) <= FastPath::Avx2);
}

#[test]
fn every_byte_of_every_code_page_matches_the_reference_codecs() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/codec/codepages.json"
    ))
    .expect("fixture");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    let pages = doc["codepages"].as_object().expect("codepages");
    assert_eq!(pages.len(), 5);
    for (name, bytes) in pages {
        let codepage: CodePage = name.parse().expect("known code page");
        let expected: Vec<Vec<u8>> = bytes
            .as_array()
            .expect("256 entries")
            .iter()
            .map(|h| hex_decode(h.as_str().expect("hex")))
            .collect();
        assert_eq!(expected.len(), 256);
        let codec = text_codec(codepage, Unmappable::Keep, 1);
        let all: Vec<u8> = (0..=255).collect();
        for path in PATHS {
            for byte in 0..=255u8 {
                let got = decode_text(&codec, path, &[byte]).unwrap();
                assert_eq!(
                    got,
                    expected[usize::from(byte)],
                    "{name} byte {byte:#04x} {path:?}"
                );
            }
            // The same, through whole vectors at once.
            assert_eq!(decode_text(&codec, path, &all).unwrap(), expected.concat());
        }
    }
}

#[test]
fn ascii_passes_ascii_and_rejects_the_rest() {
    let codec = text_codec(CodePage::Ascii, Unmappable::Error, 1);
    for path in PATHS {
        assert_eq!(
            decode_text(&codec, path, b"Hello\tWorld").unwrap(),
            b"Hello\tWorld"
        );
        let fault = decode_text(&codec, path, b"caf\xE9").unwrap_err();
        assert_eq!((fault.at, fault.byte), (3, 0xE9));
    }
}

#[test]
fn unmappable_policies() {
    // CP037: 0x00 is NUL (unmappable), 0x05 is TAB (kept), 0xC1 is `A`.
    let src = [0xC1, 0x00, 0x05, 0xC1];
    for path in PATHS {
        let error = text_codec(CodePage::Cp037, Unmappable::Error, 4);
        let fault = decode_text(&error, path, &src).unwrap_err();
        assert_eq!((fault.at, fault.byte), (1, 0x00));
        let replace = text_codec(CodePage::Cp037, Unmappable::Replace, 4);
        assert_eq!(
            decode_text(&replace, path, &src).unwrap(),
            "A\u{FFFD}\tA".as_bytes()
        );
        let keep = text_codec(CodePage::Cp037, Unmappable::Keep, 4);
        assert_eq!(decode_text(&keep, path, &src).unwrap(), b"A\0\tA");
    }
}

#[test]
fn euro_and_overline_take_three_bytes() {
    for path in PATHS {
        let cp1140 = text_codec(CodePage::Cp1140, Unmappable::Error, 1);
        let mut src = vec![0xC1; 70];
        src[66] = 0x9F;
        let mut expected = "A".repeat(70);
        expected.replace_range(66..67, "€");
        assert_eq!(
            decode_text(&cp1140, path, &src).unwrap(),
            expected.as_bytes()
        );
        let cp273 = text_codec(CodePage::Cp273, Unmappable::Error, 1);
        assert_eq!(decode_text(&cp273, path, &[0xBC]).unwrap(), "‾".as_bytes());
    }
}

type TextResult = Result<Vec<u8>, benchseal_kernels::codec::FieldFault>;

/// Each fast path's decoding of `src` beside the oracle's (the first fast path that
/// differs, else the widest).
fn both_paths(codepage: CodePage, policy: Unmappable, src: &[u8]) -> (TextResult, TextResult) {
    let codec = text_codec(codepage, policy, src.len());
    let oracle = decode_text(&codec, CodecPath::Scalar, src);
    let mut fast = oracle.clone();
    for path in &PATHS[1..] {
        fast = decode_text(&codec, *path, src);
        if fast != oracle {
            break;
        }
    }
    (fast, oracle)
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn codepage_strategy() -> impl Strategy<Value = CodePage> {
    prop::sample::select(CodePage::ALL.to_vec())
}

fn policy_strategy() -> impl Strategy<Value = Unmappable> {
    prop::sample::select(Unmappable::ALL.to_vec())
}

/// Bytes that are mostly letters, digits and spaces of the code page (so vector chunks
/// take their fast branches), with accented letters and arbitrary bytes mixed in.
fn text_bytes(codepage: CodePage) -> impl Strategy<Value = Vec<u8>> {
    text_bytes_of(codepage, 0..400)
}

fn text_bytes_of(
    codepage: CodePage,
    len: impl Into<prop::collection::SizeRange>,
) -> impl Strategy<Value = Vec<u8>> {
    let plain: Vec<u8> = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,-"
        .chars()
        .filter_map(|c| codepage.encode_char(c))
        .collect();
    let accented: Vec<u8> = "äöüßéèçñÅØ€‾"
        .chars()
        .filter_map(|c| codepage.encode_char(c))
        .collect();
    let byte = prop_oneof![
        20 => prop::sample::select(plain),
        3 => prop::sample::select(if accented.is_empty() { vec![0x40] } else { accented }),
        1 => any::<u8>(),
    ];
    prop::collection::vec(byte, len)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_fast_path_equals_the_oracle_on_text(
        (codepage, data) in codepage_strategy().prop_flat_map(|cp| (Just(cp), text_bytes(cp))),
        policy in policy_strategy(),
        start in 0usize..70,
    ) {
        let (fast, oracle) = both_paths(codepage, policy, &data[start.min(data.len())..]);
        prop_assert_eq!(fast, oracle);
    }

    #[test]
    fn display_fast_path_equals_the_oracle_on_any_bytes(
        codepage in codepage_strategy(),
        policy in policy_strategy(),
        data in prop::collection::vec(any::<u8>(), 0..300),
        start in 0usize..64,
    ) {
        let (fast, oracle) = both_paths(codepage, policy, &data[start.min(data.len())..]);
        prop_assert_eq!(fast, oracle);
    }

    #[test]
    fn display_round_trips_through_the_encoder(
        codepage in codepage_strategy(),
        text in "[a-zA-Z0-9 äöüÄÖÜßéèêàçñÑåøÆ.,;:()/&-]{0,80}",
    ) {
        let length = text.chars().count().max(1);
        let mut bytes = vec![0u8; length];
        if display_into(codepage, &text, &mut bytes).is_some() {
            let codec = text_codec(codepage, Unmappable::Error, length);
            for path in PATHS {
                let decoded = decode_text(&codec, path, &bytes).unwrap();
                let decoded = String::from_utf8(decoded).unwrap();
                prop_assert_eq!(decoded.trim_end_matches(' '), text.trim_end_matches(' '));
            }
        } else {
            prop_assert!(codepage == CodePage::Ascii || text.chars().any(|c| codepage.encode_char(c).is_none()));
        }
    }

    #[test]
    fn numbers_round_trip_and_paths_agree(
        kind in prop::sample::select(vec![FieldKind::Zoned, FieldKind::Packed, FieldKind::Binary]),
        digits in 1u8..=18,
        signed in any::<bool>(),
        ebcdic in any::<bool>(),
        raw in any::<i64>(),
        corrupt in prop::option::weighted(0.3, (any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let codepage = if ebcdic { CodePage::Cp037 } else { CodePage::Ascii };
        let codec = number_codec(kind, digits, signed, codepage);
        let length = benchseal_kernels::codec::numeric_length(kind, digits);
        let bound = match (kind, length) {
            (FieldKind::Binary, 2) => 9_999,
            (FieldKind::Binary, 4) => 999_999_999,
            _ => 10i64.pow(u32::from(digits)) - 1,
        };
        let value = if signed { raw % (bound + 1) } else { (raw % (bound + 1)).abs() };
        let mut bytes = vec![0u8; length];
        let fits = match kind {
            FieldKind::Zoned => zoned_into(value, signed, ebcdic, &mut bytes),
            FieldKind::Packed => packed_into(value, digits, signed, &mut bytes),
            _ => binary_into(value, signed, &mut bytes),
        };
        prop_assert!(fits.is_some(), "{value} fits {kind} of {digits} digits");
        for path in PATHS {
            prop_assert_eq!(codec.decode_number(path, &bytes), Some(Ok(value)));
        }
        if let Some((index, byte)) = corrupt {
            bytes[index.index(length)] = byte;
            for path in FAST_PATHS {
                prop_assert_eq!(
                    codec.decode_number(path, &bytes),
                    codec.decode_number(CodecPath::Scalar, &bytes)
                );
            }
        }
    }

    #[test]
    fn numeric_decoders_never_panic_and_paths_agree_on_any_bytes(
        kind in prop::sample::select(vec![FieldKind::Zoned, FieldKind::Packed, FieldKind::Binary]),
        digits in 1u8..=18,
        signed in any::<bool>(),
        ebcdic in any::<bool>(),
        data in prop::collection::vec(any::<u8>(), 18),
    ) {
        let codepage = if ebcdic { CodePage::Cp500 } else { CodePage::Ascii };
        let codec = number_codec(kind, digits, signed, codepage);
        let length = benchseal_kernels::codec::numeric_length(kind, digits);
        let src = &data[..length];
        for path in FAST_PATHS {
            prop_assert_eq!(
                codec.decode_number(path, src),
                codec.decode_number(CodecPath::Scalar, src)
            );
        }
    }

    #[test]
    fn whole_records_decode_alike_on_both_paths(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        seed in any::<u64>(),
        rdw in any::<bool>(),
        valid in any::<bool>(),
    ) {
        let layout = mixed_layout();
        let format = if rdw { RecordFormat::Rdw } else { RecordFormat::Fixed };
        let input = if valid {
            // Valid records with a little damage: at most one corrupted byte.
            let mut state = seed | 1;
            let mut random = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let mut bytes = Vec::new();
            RecordGenerator::new(&layout, None).write(&mut random, 20, format, &mut bytes).unwrap();
            if let Some(&b) = data.first() {
                let at = (seed as usize) % bytes.len();
                bytes[at] = b;
            }
            bytes
        } else {
            data
        };
        let (scalar_cols, scalar_errs) = decode_all(&layout, CodecPath::Scalar, format, &input);
        for path in FAST_PATHS {
            let (fast_cols, fast_errs) = decode_all(&layout, path, format, &input);
            prop_assert_eq!(&scalar_errs, &fast_errs);
            prop_assert_eq!(&scalar_cols, &fast_cols);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Column by column, eight records a step: COMP-3 fields of every length, padded and
    /// not, signed and not, over enough records to fill several steps and chunks, with a
    /// few bytes damaged anywhere.
    #[test]
    fn packed_columns_decode_alike_on_every_path(
        records in 0u64..300,
        seed in any::<u64>(),
        damage in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        rdw in any::<bool>(),
    ) {
        let layout = packed_layout();
        let format = if rdw { RecordFormat::Rdw } else { RecordFormat::Fixed };
        let mut state = seed | 1;
        let mut random = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
        let mut input = Vec::new();
        RecordGenerator::new(&layout, None).write(&mut random, records, format, &mut input).unwrap();
        if !input.is_empty() {
            for (at, byte) in &damage {
                let at = at.index(input.len());
                input[at] = *byte;
            }
        }
        let (scalar_cols, scalar_errs) = decode_all(&layout, CodecPath::Scalar, format, &input);
        if damage.is_empty() {
            prop_assert!(scalar_errs.is_empty());
            prop_assert_eq!(scalar_cols.records(), records as usize);
        }
        for path in FAST_PATHS {
            let (fast_cols, fast_errs) = decode_all(&layout, path, format, &input);
            prop_assert_eq!(&scalar_errs, &fast_errs);
            prop_assert_eq!(&scalar_cols, &fast_cols);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Runs of adjacent DISPLAY fields, decoded a record's run at a time on the widest
    /// path: fields of any length and number (runs longer than the decoder takes at once
    /// are cut), some in another code page (which ends a run), text with accents,
    /// controls and unmappable bytes (records that leave the vector steps), every policy.
    #[test]
    fn text_runs_decode_alike_on_every_path(
        (codepage, fields, data) in codepage_strategy().prop_flat_map(|cp| (
            Just(cp),
            prop::collection::vec((1usize..=150, prop::bool::weighted(0.1)), 1..40),
            text_bytes_of(cp, 0..20_000),
        )),
        policy in policy_strategy(),
        rdw in any::<bool>(),
    ) {
        let mut offset = 0;
        let fields = fields
            .iter()
            .enumerate()
            .map(|(i, &(length, other))| {
                let mut field = Field::display(&format!("t{i}"), offset, length);
                if other {
                    field.codepage = Some(if codepage == CodePage::Cp500 { CodePage::Cp037 } else { CodePage::Cp500 });
                }
                offset += length;
                field
            })
            .collect();
        let layout = Layout::new(fields, None, Some(codepage)).unwrap();
        let format = if rdw { RecordFormat::Rdw } else { RecordFormat::Fixed };
        let input = match format {
            RecordFormat::Fixed => data,
            RecordFormat::Rdw => {
                let mut framed = Vec::new();
                for record in data.chunks(layout.record_length) {
                    framed.extend_from_slice(&((record.len() + 4) as u16).to_be_bytes());
                    framed.extend_from_slice(&[0, 0]);
                    framed.extend_from_slice(record);
                }
                framed
            }
        };
        let decode = |path| {
            let decoder = RecordDecoder::new(&layout, None, policy, path);
            let mut columns = Columns::with_capacity(&layout, 0);
            let mut errors = Vec::new();
            let mut cursor = Cursor::default();
            decoder
                .decode(&input, format, &mut cursor, usize::MAX, &mut columns, &mut |e| {
                    errors.push(e);
                    Ok(())
                })
                .unwrap();
            (columns, errors)
        };
        let (scalar_cols, scalar_errs) = decode(CodecPath::Scalar);
        for path in FAST_PATHS {
            let (fast_cols, fast_errs) = decode(path);
            prop_assert_eq!(&scalar_errs, &fast_errs);
            prop_assert_eq!(&scalar_cols, &fast_cols);
        }
    }
}

/// Layouts whose fields are not in offset order (one field redefining bytes of others)
/// and a hand-built layout with an empty DISPLAY field (which `Layout::new` refuses, but
/// `Layout`'s fields are public) decode alike on every path, without a panic.
#[test]
fn unordered_and_hand_built_layouts_decode_alike_on_every_path() {
    let redefines = Layout::new(
        vec![
            Field::display("a", 0, 10),
            Field::numeric("b", FieldKind::Packed, 10, 11, 2, true),
            Field::display("c", 0, 5),
            Field::display("d", 5, 11),
        ],
        None,
        None,
    )
    .unwrap();
    let mut empty_field = Layout::new(vec![Field::display("x", 0, 4)], Some(16), None).unwrap();
    empty_field.fields.push(Field::display("empty", 4, 0));
    for layout in [redefines, empty_field] {
        let mut state = 7u64;
        let mut random = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut input = Vec::new();
        RecordGenerator::new(&layout, None)
            .write(&mut random, 300, RecordFormat::Fixed, &mut input)
            .unwrap();
        let (scalar_cols, scalar_errs) =
            decode_all(&layout, CodecPath::Scalar, RecordFormat::Fixed, &input);
        for path in FAST_PATHS {
            let (fast_cols, fast_errs) = decode_all(&layout, path, RecordFormat::Fixed, &input);
            assert_eq!(scalar_errs, fast_errs, "{path:?}");
            assert_eq!(scalar_cols, fast_cols, "{path:?}");
        }
    }
}

/// A field that would end past the largest offset, or a record longer than
/// `MAX_RECORD_LENGTH`, is a layout error, and columns for the largest fields allowed only
/// reserve a bounded hint.
#[test]
fn enormous_fields_are_refused_or_reserved_lazily() {
    let err = Layout::new(vec![Field::display("far", usize::MAX - 2, 10)], None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("far") && err.contains("beyond any record"),
        "{err}"
    );
    let err = Layout::new(vec![Field::display("huge", 0, 1 << 40)], None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exceeds the longest supported record"),
        "{err}"
    );
    let largest = Layout::new(
        vec![Field::display("largest", 0, MAX_RECORD_LENGTH)],
        None,
        None,
    )
    .unwrap();
    let columns = Columns::with_capacity(&largest, 1 << 20);
    assert_eq!(columns.records(), 0);
}

/// COMP-3 fields of 1 to 10 bytes back to back: odd and even digit counts, signed and
/// unsigned.
fn packed_layout() -> Layout {
    let mut fields = Vec::new();
    let mut offset = 0;
    for (i, digits) in [1u8, 2, 5, 4, 7, 8, 9, 11, 12, 13, 15, 14, 18]
        .into_iter()
        .enumerate()
    {
        let field = Field::numeric(
            &format!("p{i}"),
            FieldKind::Packed,
            offset,
            digits,
            0,
            i % 3 != 1,
        );
        offset = field.end();
        fields.push(field);
    }
    Layout::new(fields, None, None).unwrap()
}

fn mixed_layout() -> Layout {
    Layout::new(
        vec![
            Field::display("name", 0, 30),
            Field::numeric("balance", FieldKind::Packed, 30, 11, 2, true),
            Field::numeric("visits", FieldKind::Zoned, 36, 7, 0, true),
            Field::numeric("id", FieldKind::Binary, 43, 9, 0, false),
            Field::numeric("delta", FieldKind::Binary, 47, 4, 1, true),
            Field::numeric("big", FieldKind::Packed, 49, 18, 4, true),
            Field::display("city", 59, 21),
        ],
        Some(84),
        None,
    )
    .unwrap()
}

fn decode_all(
    layout: &Layout,
    path: CodecPath,
    format: RecordFormat,
    input: &[u8],
) -> (Columns, Vec<CodecError>) {
    let decoder = RecordDecoder::new(layout, None, Unmappable::Error, path);
    let mut columns = Columns::with_capacity(layout, 0);
    let mut errors = Vec::new();
    let mut cursor = Cursor::default();
    decoder
        .decode(
            input,
            format,
            &mut cursor,
            usize::MAX,
            &mut columns,
            &mut |e| {
                errors.push(e);
                Ok(())
            },
        )
        .unwrap();
    (columns, errors)
}

/// One record of `mixed_layout` built from known values, in CP037.
fn known_record() -> Vec<u8> {
    let layout = mixed_layout();
    let mut record = vec![0x40u8; layout.record_length];
    display_into(CodePage::Cp037, "Müller & Söhne", &mut record[0..30]).unwrap();
    packed_into(-12345, 11, true, &mut record[30..36]).unwrap();
    zoned_into(42, true, true, &mut record[36..43]).unwrap();
    binary_into(7, false, &mut record[43..47]).unwrap();
    binary_into(-5, true, &mut record[47..49]).unwrap();
    packed_into(123_456_789_012_345_678, 18, true, &mut record[49..59]).unwrap();
    display_into(CodePage::Cp037, "Zürich", &mut record[59..80]).unwrap();
    record
}

#[test]
fn a_known_record_decodes_to_its_values_as_json_lines() {
    let layout = mixed_layout();
    let mut input = known_record();
    input.extend(known_record());
    for path in PATHS {
        let (columns, errors) = decode_all(&layout, path, RecordFormat::Fixed, &input);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(columns.records(), 2);
        let mut jsonl = Vec::new();
        columns.write_jsonl(&mut jsonl).unwrap();
        let first = String::from_utf8(jsonl)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert_eq!(
            first,
            format!(
                "{{\"name\":\"Müller & Söhne{}\",\"balance\":\"-123.45\",\"visits\":\"42\",\"id\":\"7\",\"delta\":\"-0.5\",\"big\":\"12345678901234.5678\",\"city\":\"Zürich{}\"}}",
                " ".repeat(16),
                " ".repeat(15)
            )
        );
    }
}

/// The catalogue of malformed input: each defect gives its kind, record, field, offset
/// and byte, the same on both paths.
#[test]
fn malformed_input_catalogue() {
    let layout = mixed_layout();
    let cases: Vec<(&str, usize, u8, CodecError)> = vec![
        (
            "zoned digit with a bad zone",
            37,
            0xC1,
            CodecError::BadZone {
                record: 1,
                field: "visits".into(),
                offset: 84 + 37,
                byte: 0xC1,
            },
        ),
        (
            "zoned digit above 9",
            38,
            0xFA,
            CodecError::BadDigit {
                record: 1,
                field: "visits".into(),
                offset: 84 + 38,
                byte: 0xFA,
            },
        ),
        (
            "zoned sign zone",
            42,
            0xA2,
            CodecError::BadSign {
                record: 1,
                field: "visits".into(),
                offset: 84 + 42,
                byte: 0xA2,
            },
        ),
        (
            "packed digit nibble above 9",
            31,
            0x1B,
            CodecError::BadDigit {
                record: 1,
                field: "balance".into(),
                offset: 84 + 31,
                byte: 0x1B,
            },
        ),
        (
            "packed sign nibble",
            35,
            0x54,
            CodecError::BadSign {
                record: 1,
                field: "balance".into(),
                offset: 84 + 35,
                byte: 0x54,
            },
        ),
        (
            "packed pad nibble",
            49,
            0x51,
            CodecError::BadDigit {
                record: 1,
                field: "big".into(),
                offset: 84 + 49,
                byte: 0x51,
            },
        ),
        (
            "unmappable text byte",
            70,
            0x00,
            CodecError::Unmappable {
                record: 1,
                field: "city".into(),
                offset: 84 + 70,
                byte: 0x00,
                codepage: "cp037".into(),
            },
        ),
    ];
    for (what, at, byte, expected) in cases {
        let mut input = known_record();
        let mut bad = known_record();
        bad[at] = byte;
        input.extend(bad);
        input.extend(known_record());
        for path in PATHS {
            let (columns, errors) = decode_all(&layout, path, RecordFormat::Fixed, &input);
            assert_eq!(errors, vec![expected.clone()], "{what} on {path:?}");
            // The bad record is skipped whole; the records around it are kept.
            assert_eq!(columns.records(), 2, "{what}");
            assert_eq!(columns.columns[6].text(1).unwrap().trim_end(), "Zürich");
        }
        assert!(
            expected
                .to_string()
                .contains(&format!("byte offset {}", 84 + at))
        );
    }
}

#[test]
fn framing_errors() {
    let layout = mixed_layout();
    // A fixed file that ends inside its second record.
    let mut input = known_record();
    input.extend(&known_record()[..50]);
    let (columns, errors) = decode_all(&layout, CodecPath::Simd, RecordFormat::Fixed, &input);
    assert_eq!(columns.records(), 1);
    assert_eq!(
        errors,
        vec![CodecError::TruncatedRecord {
            record: 1,
            offset: 84,
            needed: 84,
            available: 50
        }]
    );

    let rdw = |len: u16, body: &[u8]| {
        let mut r = len.to_be_bytes().to_vec();
        r.extend([0, 0]);
        r.extend(body);
        r
    };
    // An RDW record shorter than the layout, then one whose length runs past the end.
    let mut input = rdw(88, &known_record());
    input.extend(rdw(20, &known_record()[..16]));
    input.extend(rdw(500, &known_record()));
    let (columns, errors) = decode_all(&layout, CodecPath::Simd, RecordFormat::Rdw, &input);
    assert_eq!(columns.records(), 1);
    assert_eq!(
        errors,
        vec![
            CodecError::TruncatedRecord {
                record: 1,
                offset: 92,
                needed: 80,
                available: 16
            },
            CodecError::RdwBeyondFile {
                record: 2,
                offset: 108,
                length: 500,
                input_len: 196
            },
        ]
    );
    assert_eq!(errors[1].kind(), ErrorKind::RdwBeyondFile);

    // An RDW length below its own header loses the framing: decoding stops there.
    let mut input = rdw(2, &[]);
    input.extend(rdw(88, &known_record()));
    let (_, errors) = decode_all(&layout, CodecPath::Scalar, RecordFormat::Rdw, &input);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind(), ErrorKind::BadRdw);
}

#[test]
fn strict_policy_stops_at_the_first_error() {
    let layout = mixed_layout();
    let mut input = known_record();
    let mut bad = known_record();
    bad[31] = 0xAA;
    input.extend(&bad);
    input.extend(&bad);
    let decoder = RecordDecoder::new(&layout, None, Unmappable::Error, CodecPath::Simd);
    let mut columns = Columns::with_capacity(&layout, 4);
    let mut cursor = Cursor::default();
    let err = decoder
        .decode(
            &input,
            RecordFormat::Fixed,
            &mut cursor,
            usize::MAX,
            &mut columns,
            &mut Err,
        )
        .unwrap_err();
    assert_eq!(err.record(), 1);
    assert_eq!(columns.records(), 1);
    assert_eq!(cursor.record, 2);
}

#[test]
fn mapped_file_batches_equal_one_decode_in_memory() {
    let layout = mixed_layout();
    let mut state = 99u64;
    let mut random = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 11
    };
    let mut bytes = Vec::new();
    RecordGenerator::new(&layout, None)
        .write(&mut random, 5000, RecordFormat::Rdw, &mut bytes)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.rdw");
    std::fs::write(&path, &bytes).unwrap();
    let (whole, errors) = decode_all(&layout, CodecPath::Simd, RecordFormat::Rdw, &bytes);
    assert!(errors.is_empty());
    let mapped = MappedInput::open(&path).unwrap();
    let decoder = RecordDecoder::new(&layout, None, Unmappable::Error, CodecPath::Simd);
    let mut jsonl_batches = Vec::new();
    let cursor = mapped
        .decode_batches::<CodecError>(
            &layout,
            &decoder,
            RecordFormat::Rdw,
            777,
            &mut Err,
            &mut |cols| {
                cols.write_jsonl(&mut jsonl_batches).unwrap();
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(cursor.record, 5000);
    let mut jsonl_whole = Vec::new();
    whole.write_jsonl(&mut jsonl_whole).unwrap();
    assert_eq!(jsonl_batches, jsonl_whole);
}

#[test]
fn serialisation_is_deterministic_and_names_its_schema() {
    let layout = mixed_layout();
    let (a, _) = decode_all(
        &layout,
        CodecPath::Scalar,
        RecordFormat::Fixed,
        &known_record(),
    );
    let (b, _) = decode_all(
        &layout,
        CodecPath::Simd,
        RecordFormat::Fixed,
        &known_record(),
    );
    let mut sa = Vec::new();
    a.serialize(&mut |s| sa.extend_from_slice(s));
    let mut sb = Vec::new();
    b.serialize(&mut |s| sb.extend_from_slice(s));
    assert_eq!(sa, sb);
    assert!(sa.starts_with(b"benchseal.codec.columns/1\n"));
}

/// A layout of every binary size in both byte orders and every zoned sign position.
fn gnu_kinds_layout() -> Layout {
    let mut fields = Vec::new();
    let mut offset = 0;
    for (i, digits) in [1u8, 2, 4, 6, 9, 11, 14, 16, 18].into_iter().enumerate() {
        for order in [ByteOrder::Big, ByteOrder::Little] {
            let field = Field::numeric(
                &format!("b{i}{}", order.name()),
                FieldKind::Binary,
                offset,
                digits,
                u8::from(digits > 3),
                i % 2 == 0,
            )
            .with_length(binary_min_length(digits, i % 2 == 0))
            .with_byte_order(order);
            offset = field.end();
            fields.push(field);
        }
    }
    for sign in ZonedSign::ALL {
        let field = Field::numeric(
            &format!("z{}", sign.name()),
            FieldKind::Zoned,
            offset,
            7,
            2,
            true,
        )
        .with_sign(sign);
        offset = field.end();
        fields.push(field);
    }
    Layout::new(fields, None, None).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Binary of 1 to 8 bytes in either byte order, and zoned with the sign in each
    /// position: encoded values come back on every path, and damaged bytes decode (or
    /// fail) on every fast path exactly as on the oracle.
    #[test]
    fn native_binary_sizes_and_sign_positions_round_trip_on_every_path(
        digits in 1u8..=18,
        extra in 0usize..=7,
        little in any::<bool>(),
        binary in any::<bool>(),
        sign in prop::sample::select(ZonedSign::ALL.to_vec()),
        signed in any::<bool>(),
        ebcdic in any::<bool>(),
        raw in any::<i64>(),
        corrupt in prop::option::weighted(0.4, (any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let codepage = if ebcdic { CodePage::Cp037 } else { CodePage::Ascii };
        let order = if little { ByteOrder::Little } else { ByteOrder::Big };
        let field = if binary {
            let length = (binary_min_length(digits, signed) + extra).min(8);
            Field::numeric("n", FieldKind::Binary, 0, digits, 0, signed)
                .with_length(length)
                .with_byte_order(order)
        } else {
            Field::numeric("n", FieldKind::Zoned, 0, digits, 0, true).with_sign(sign)
        };
        let codec = FieldCodec::new(&field, codepage, Unmappable::Error);
        let bound = 10i64.pow(u32::from(digits)) - 1;
        let value = if binary && !signed { (raw % (bound + 1)).abs() } else { raw % (bound + 1) };
        let mut bytes = vec![0u8; field.length];
        let fits = if binary {
            binary_ordered_into(value, signed, order, &mut bytes)
        } else {
            zoned_signed_into(value, ebcdic, sign, &mut bytes)
        };
        prop_assert!(fits.is_some(), "{value} fits {field:?}");
        for path in PATHS {
            prop_assert_eq!(codec.decode_number(path, &bytes), Some(Ok(value)));
        }
        if let Some((index, byte)) = corrupt {
            bytes[index.index(field.length)] = byte;
            for path in FAST_PATHS {
                prop_assert_eq!(
                    codec.decode_number(path, &bytes),
                    codec.decode_number(CodecPath::Scalar, &bytes)
                );
            }
        }
    }

    /// Whole records of every new kind: generated ones (with at most one damaged byte)
    /// and arbitrary bytes decode alike on every path, errors included.
    #[test]
    fn records_of_native_binary_and_sign_positions_decode_alike_on_every_path(
        data in prop::collection::vec(any::<u8>(), 0..1500),
        seed in any::<u64>(),
        valid in any::<bool>(),
    ) {
        let layout = gnu_kinds_layout();
        let input = if valid {
            let mut state = seed | 1;
            let mut random = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let mut bytes = Vec::new();
            RecordGenerator::new(&layout, None).write(&mut random, 12, RecordFormat::Fixed, &mut bytes).unwrap();
            if let Some(&b) = data.first() {
                let at = (seed as usize) % bytes.len();
                bytes[at] = b;
            }
            bytes
        } else {
            data
        };
        let (scalar_cols, scalar_errs) = decode_all(&layout, CodecPath::Scalar, RecordFormat::Fixed, &input);
        for path in FAST_PATHS {
            let (fast_cols, fast_errs) = decode_all(&layout, path, RecordFormat::Fixed, &input);
            prop_assert_eq!(&scalar_errs, &fast_errs);
            prop_assert_eq!(&scalar_cols, &fast_cols);
        }
    }

    /// The JSON Lines writer gives exactly the bytes of `serde_json` for each value, for
    /// any text (control characters, quotes, backslashes, non-ASCII), over batches that
    /// cross its flush size.
    #[test]
    fn json_lines_equal_serde_json_values(
        texts in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    6 => prop::sample::select("ab \"\\\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}é€😀".chars().collect::<Vec<_>>()),
                    1 => any::<char>(),
                ],
                0..40,
            ).prop_map(|c| c.into_iter().collect::<String>()),
            1..60,
        ),
        numbers in prop::collection::vec(any::<i64>(), 60),
        scale in 0u8..=18,
    ) {
        let records = texts.len();
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for text in &texts {
            bytes.extend_from_slice(text.as_bytes());
            ends.push(bytes.len());
        }
        let mut columns = Columns::with_capacity(&Layout::new(
            vec![
                Field::display("t\"ext", 0, 1),
                Field::numeric("n", FieldKind::Packed, 1, 18, scale, true),
            ],
            None,
            None,
        ).unwrap(), 0);
        columns.columns[0].data = ColumnData::Text { bytes, ends };
        columns.columns[1].data = ColumnData::Number { values: numbers[..records].to_vec() };
        columns.columns[1].scale = scale;
        // The records count of hand-built columns comes from a decode; build it by
        // truncating a decoded batch of the same size instead.
        let columns = with_records(columns, records);
        let mut expected = Vec::new();
        for (row, text) in texts.iter().enumerate() {
            expected.extend_from_slice(b"{\"t\\\"ext\":");
            serde_json::to_writer(&mut expected, text).unwrap();
            expected.extend_from_slice(b",\"n\":\"");
            benchseal_kernels::codec::format_decimal(numbers[row], scale, &mut expected);
            expected.extend_from_slice(b"\"}\n");
        }
        let mut out = Vec::new();
        columns.write_jsonl(&mut out).unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&expected));
        // A writer reused over many batches writes the batches back to back.
        let mut writer = JsonlWriter::new(&columns);
        let mut many = Vec::new();
        for _ in 0..3 {
            writer.write(&columns, &mut many).unwrap();
        }
        writer.flush(&mut many).unwrap();
        prop_assert_eq!(many, expected.repeat(3));
    }
}

/// `columns` (built by hand with `records` values per column) counted as holding them:
/// decoded from as many one-byte records, then given the hand-built data.
fn with_records(built: Columns, records: usize) -> Columns {
    let layout = Layout::new(
        vec![
            Field::display("t\"ext", 0, 1),
            Field::numeric("n", FieldKind::Zoned, 1, 1, 0, false),
        ],
        None,
        None,
    )
    .unwrap();
    let (mut decoded, errors) = decode_all(
        &layout,
        CodecPath::Scalar,
        RecordFormat::Fixed,
        &vec![0xF1; records * 2],
    );
    assert!(
        errors.is_empty() && decoded.records() == records,
        "{errors:?}"
    );
    for (column, data) in decoded.columns.iter_mut().zip(built.columns) {
        column.data = data.data;
        column.scale = data.scale;
    }
    decoded
}

#[test]
fn json_lines_of_a_value_that_is_not_utf8_is_an_empty_string() {
    let layout = Layout::new(vec![Field::display("t", 0, 2)], None, None).unwrap();
    let (mut columns, _) = decode_all(&layout, CodecPath::Scalar, RecordFormat::Fixed, &[0xC1; 6]);
    columns.columns[0].data = ColumnData::Text {
        bytes: vec![b'a', 0xFF, b'b', b'c'],
        ends: vec![1, 2, 4],
    };
    let mut out = Vec::new();
    columns.write_jsonl(&mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"t\":\"a\"}\n{\"t\":\"\"}\n{\"t\":\"bc\"}\n"
    );
    let column: &Column = &columns.columns[0];
    assert_eq!(column.text(1), None);
}

/// Bad bytes of the new kinds are located like every other fault: record, field, byte
/// offset in the input, the byte. An unsigned 8-byte binary value above `i64::MAX` is a
/// value like any other, up to 18446744073709551615.
#[test]
fn sign_faults_name_record_field_offset_and_byte() {
    let layout = Layout::new(
        vec![
            Field::numeric("lead", FieldKind::Zoned, 0, 3, 0, true)
                .with_sign(ZonedSign::LeadingSeparate),
            Field::numeric("n5", FieldKind::Binary, 4, 9, 0, false)
                .with_byte_order(ByteOrder::Little)
                .with_length(8),
        ],
        None,
        None,
    )
    .unwrap();
    let mut input = Vec::new();
    for (sign, low, top) in [
        (0x4E, 1, 0x00),
        (0x40, 1, 0x00),
        (0x60, 1, 0x80),
        (0x4E, 0xFF, 0xFF),
    ] {
        let mut record = [
            sign, 0xF1, 0xF2, 0xF3, low, low, low, low, low, low, low, top,
        ];
        if low == 1 {
            record[5..11].fill(0);
        }
        input.extend_from_slice(&record);
    }
    for path in PATHS {
        let (columns, errors) = decode_all(&layout, path, RecordFormat::Fixed, &input);
        assert_eq!(columns.records(), 3);
        assert_eq!(columns.columns[0].number(0), Some(123));
        assert_eq!(columns.columns[1].number(0), Some(1));
        assert_eq!(columns.columns[0].number(1), Some(-123));
        assert_eq!(columns.columns[1].number(1), Some((1i128 << 63) + 1));
        assert_eq!(columns.columns[1].number(2), Some(i128::from(u64::MAX)));
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(errors.len(), 1, "{text:?}");
        assert_eq!(errors[0].kind(), ErrorKind::BadSign);
        assert!(
            text[0].contains("record 1") && text[0].contains("`lead`") && text[0].contains("12"),
            "{}",
            text[0]
        );
        let mut out = Vec::new();
        columns.write_jsonl(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"lead\":\"123\",\"n5\":\"1\"}\n\
             {\"lead\":\"-123\",\"n5\":\"9223372036854775809\"}\n\
             {\"lead\":\"123\",\"n5\":\"18446744073709551615\"}\n"
        );
    }
}

/// Strings mostly of text that needs no escape, with quotes, backslashes, control
/// characters and multi-byte characters at any position (before, inside and after each
/// 32-byte vector and the overlapping tail).
fn json_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            8 => proptest::char::range('a', 'z'),
            1 => prop::sample::select(vec!['"', '\\', '\n', '\t', '\u{0}', '\u{1f}', '\u{7f}']),
            1 => prop::sample::select(vec!['é', 'ß', 'ñ', '€', '😀', ' ']),
        ],
        0..150,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn escaped_strings_are_serde_jsons(text in json_text()) {
        let mut out = Vec::new();
        escape_json_string(text.as_bytes(), &mut out);
        prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&text).unwrap());
    }
}
