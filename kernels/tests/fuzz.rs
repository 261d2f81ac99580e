//! Fuzzing the codec's inputs: arbitrary bytes decoded with the customer layout (fixed and
//! RDW framing, every path, errors skipped or stopping), and arbitrary layout documents,
//! mutated from a valid one or built from extreme field values. Nothing may panic: every
//! bad input is a `CodecError` or a `LayoutError`.

use benchseal_kernels::codec::{
    CodecPath, Columns, Cursor, JsonlWriter, Layout, RecordDecoder, RecordFormat, Unmappable,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const PATHS: [CodecPath; 2] = [CodecPath::Scalar, CodecPath::Simd];

fn customer() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/codec/customer.json"
    ))
    .expect("the customer layout fixture")
}

/// Decodes `input` with `layout` on every path and framing, with errors skipped and with
/// errors stopping, and formats what decoded as JSON Lines.
fn decode_everything(layout: &Layout, input: &[u8]) {
    for path in PATHS {
        for format in [RecordFormat::Fixed, RecordFormat::Rdw] {
            for stop in [false, true] {
                let decoder = RecordDecoder::new(layout, None, Unmappable::Replace, path);
                let mut columns = Columns::with_capacity(layout, 4);
                let mut cursor = Cursor::default();
                let _ = decoder.decode(input, format, &mut cursor, 64, &mut columns, &mut |e| {
                    if stop { Err(e) } else { Ok(()) }
                });
                let mut writer = JsonlWriter::new(&columns);
                writer.format(&columns, 0..columns.records());
                let mut sink = Vec::new();
                writer.flush(&mut sink).unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(input in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let layout = Layout::from_json(&customer()).unwrap();
        decode_everything(&layout, &input);
    }
}

/// A layout document with one field of arbitrary, often absurd, attributes.
fn extreme_layout() -> impl Strategy<Value = String> {
    let kinds = prop::sample::select(vec![
        "display", "zoned", "packed", "binary", "comp5", "float", "bogus",
    ]);
    // Mostly plausible sizes, sometimes absurd ones.
    let sizes = prop_oneof![
        8 => 0u64..40,
        1 => prop::sample::select(vec![
            255u64, 65_536, 1 << 20, (1 << 20) + 1, u32::MAX as u64, i64::MAX as u64, u64::MAX,
        ]),
    ];
    let attribute = |name: &'static str| {
        prop::option::of(sizes.clone())
            .prop_map(move |v| v.map_or(String::new(), |v| format!(r#", "{name}": {v}"#)))
    };
    (
        kinds,
        sizes.clone(),
        attribute("length"),
        attribute("digits"),
        attribute("scale"),
        attribute("record_length"),
        any::<bool>(),
    )
        .prop_map(|(kind, offset, length, digits, scale, record_length, signed)| {
            format!(
                r#"{{"schema": "benchseal.codec.layout/1"{record_length},
                    "fields": [{{"name": "f", "kind": "{kind}", "offset": {offset}{length}{digits}{scale},
                    "signed": {signed}}}]}}"#
            )
        })
}

/// The customer layout with a few of its digits changed (still JSON, other numbers) or,
/// one time in four, a few arbitrary bytes overwritten.
fn mutated_layout() -> impl Strategy<Value = String> {
    let edits = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6);
    (edits, 0..4u8).prop_map(|(edits, mode)| {
        let mut bytes = customer().into_bytes();
        let digits: Vec<usize> = (0..bytes.len())
            .filter(|&i| bytes[i].is_ascii_digit())
            .collect();
        for (at, byte) in edits {
            if mode == 0 {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            } else {
                bytes[digits[at.index(digits.len())]] = b'0' + byte % 10;
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_layouts_are_refused_or_decode_without_panicking(
        text in prop_oneof![extreme_layout(), mutated_layout()],
        input in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        if let Ok(layout) = Layout::from_json(&text) {
            decode_everything(&layout, &input);
        }
    }
}

#[test]
fn the_layout_strategies_reach_the_decoder() {
    // A fuzzer whose layouts were all refused would never exercise decoding.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop_oneof![extreme_layout(), mutated_layout()];
    let accepted = (0..200)
        .filter(|_| {
            let text = strategy.new_tree(&mut runner).unwrap().current();
            Layout::from_json(&text).is_ok()
        })
        .count();
    eprintln!("{accepted} of 200 fuzzed layouts parsed and were decoded");
    assert!(accepted >= 20, "only {accepted} of 200 layouts parsed");
}
