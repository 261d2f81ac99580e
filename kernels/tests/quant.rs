//! Every quant path and layout against the scalar oracle, byte for byte, plus the layout
//! round trips and the error catalogue.

use benchseal_kernels::quant::{
    I2sMatrix, LutScratch, QuantError, QuantKernel, QuantizedActivations, Shape, Tl1Matrix,
    Tl2Matrix, dequantize, gemm_i2s, gemm_tl1, gemm_tl2, ternarize_i2s, ternary_quality,
};
use proptest::prelude::*;

/// The reference product, computed straight from the definition in i64.
fn reference(w: &[i8], shape: Shape, scale: f32, q: &[i8], scales: &[f32]) -> Vec<f32> {
    let mut out = Vec::new();
    for (t, qrow) in q.chunks_exact(shape.cols).enumerate() {
        for wrow in w.chunks_exact(shape.cols) {
            let sum: i64 = wrow
                .iter()
                .zip(qrow)
                .map(|(a, b)| i64::from(*a) * i64::from(*b))
                .sum();
            out.push(dequantize(i32::try_from(sum).unwrap(), scale, scales[t]));
        }
    }
    out
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs every layout on every kernel this CPU supports and checks each against `expected`.
fn check_all_paths(m: &I2sMatrix, act: &QuantizedActivations, expected: &[f32]) {
    let (tl1, tl2) = (Tl1Matrix::from_i2s(m), Tl2Matrix::from_i2s(m));
    let mut scratch = LutScratch::default();
    let n = expected.len();
    for kernel in QuantKernel::supported() {
        let mut out = vec![f32::NAN; n];
        gemm_i2s(m, act, &mut out, kernel).unwrap();
        assert_eq!(bits(&out), bits(expected), "I2_S on {kernel}");
        out.fill(f32::NAN);
        gemm_tl1(&tl1, act, &mut out, &mut scratch, kernel).unwrap();
        assert_eq!(bits(&out), bits(expected), "TL1 on {kernel}");
        out.fill(f32::NAN);
        gemm_tl2(&tl2, act, &mut out, &mut scratch, kernel).unwrap();
        assert_eq!(bits(&out), bits(expected), "TL2 on {kernel}");
    }
}

fn ternary_vec(len: usize) -> impl Strategy<Value = Vec<i8>> {
    prop::collection::vec(-1i8..=1, len)
}

/// Activations biased towards the extremes that break 16-bit accumulation.
fn activation_vec(len: usize) -> impl Strategy<Value = Vec<i8>> {
    prop::collection::vec(
        prop_oneof![Just(-128i8), Just(127i8), Just(-127i8), any::<i8>()],
        len,
    )
}

fn product_case() -> impl Strategy<Value = (Shape, usize, Vec<i8>, Vec<i8>, f32)> {
    (1usize..70, 1usize..420, 1usize..10).prop_flat_map(|(rows, cols, tokens)| {
        (
            Just(Shape::new(rows, cols)),
            Just(tokens),
            ternary_vec(rows * cols),
            activation_vec(tokens * cols),
            0.001f32..10.0,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_path_and_layout_equals_the_reference((shape, tokens, w, q, scale) in product_case()) {
        let m = I2sMatrix::pack(&w, shape, scale).unwrap();
        let scales: Vec<f32> = (0..tokens).map(|t| 1.0 + t as f32 / 7.0).collect();
        let act = QuantizedActivations::from_int8(&q, &scales, Shape::new(tokens, shape.cols)).unwrap();
        let expected = reference(&w, shape, scale, &q, &scales);
        check_all_paths(&m, &act, &expected);
    }

    #[test]
    fn pack_unpack_round_trips((shape, _t, w, _q, scale) in product_case()) {
        let m = I2sMatrix::pack(&w, shape, scale).unwrap();
        prop_assert_eq!(m.unpack(), w);
        let again = I2sMatrix::from_bytes(shape, m.as_bytes()).unwrap();
        prop_assert_eq!(again, m);
    }

    #[test]
    fn relayouts_equal_their_layouts_stated_weight_by_weight((shape, _t, w, _q, scale) in product_case()) {
        let m = I2sMatrix::pack(&w, shape, scale).unwrap();
        let (tl1, tl2) = (Tl1Matrix::from_i2s(&m), Tl2Matrix::from_i2s(&m));
        prop_assert_eq!(tl1.as_bytes(), tl1_by_weight(&m));
        prop_assert_eq!(tl2.as_bytes(), tl2_by_weight(&m));
    }

    #[test]
    fn ternarisation_is_identical_on_every_kernel_and_follows_the_formula(
        (shape, values) in (1usize..40, 1usize..700).prop_flat_map(|(r, c)| {
            (Just(Shape::new(r, c)), prop::collection::vec(
                prop_oneof![-3.0f32..3.0, Just(0.0f32), -1e-7f32..1e-7, -1e6f32..1e6], r * c))
        })
    ) {
        let oracle = ternarize_i2s(&values, shape, QuantKernel::Scalar).unwrap();
        for kernel in QuantKernel::supported() {
            let m = ternarize_i2s(&values, shape, kernel).unwrap();
            prop_assert_eq!(m.as_bytes(), oracle.as_bytes(), "kernel {}", kernel);
        }
        let s = oracle.scale();
        let mean = values.iter().map(|v| f64::from(v.abs())).sum::<f64>() / values.len() as f64;
        prop_assert!(((mean as f32).max(1e-5) - s).abs() <= s * 1e-5, "scale {} vs mean {}", s, mean);
        for (i, v) in values.iter().enumerate() {
            let want = (v / s).round_ties_even().clamp(-1.0, 1.0) as i8;
            prop_assert_eq!(oracle.weight(i / shape.cols, i % shape.cols), Some(want), "index {}", i);
        }
    }

    #[test]
    fn quantised_activations_follow_the_formula(
        (shape, x) in (1usize..5, 1usize..300).prop_flat_map(|(t, c)| {
            (Just(Shape::new(t, c)), prop::collection::vec(-50.0f32..50.0, t * c))
        })
    ) {
        let act = QuantizedActivations::quantize(&x, shape, QuantKernel::Scalar).unwrap();
        for kernel in QuantKernel::supported() {
            let fast = QuantizedActivations::quantize(&x, shape, kernel).unwrap();
            prop_assert_eq!(&fast, &act, "kernel {}", kernel);
        }
        for (t, row) in x.chunks_exact(shape.cols).enumerate() {
            let m = row.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-5);
            let sa = 127.0 / m;
            prop_assert_eq!(act.scale(t).to_bits(), sa.to_bits());
            for (k, v) in row.iter().enumerate() {
                let want = (v * sa).round_ties_even().clamp(-128.0, 127.0) as i8;
                prop_assert_eq!(act.row(t)[k], want);
            }
            prop_assert!(act.row(t)[shape.cols..].iter().all(|v| *v == 0), "padding must be zero");
        }
    }
}

#[test]
fn regression_int16_accumulators_would_wrap_on_extreme_activations() {
    // 8192 products of −1 × −128 = 1 048 576: far past i16, the case bitnet-style int16
    // accumulation gets wrong. Mixed rows catch sign handling in the table layouts.
    let shape = Shape::new(35, 8192);
    let w: Vec<i8> = (0..shape.rows * shape.cols)
        .map(|i| match (i / shape.cols) % 3 {
            0 => -1,
            1 => 1,
            _ => [1, -1, 0][i % 3],
        })
        .collect();
    let q = vec![-128i8; 2 * shape.cols];
    let m = I2sMatrix::pack(&w, shape, 0.5).unwrap();
    let act = QuantizedActivations::from_int8(&q, &[1.0, 2.0], Shape::new(2, shape.cols)).unwrap();
    let expected = reference(&w, shape, 0.5, &q, &[1.0, 2.0]);
    assert_eq!(expected[0], 1_048_576.0 * 0.5);
    check_all_paths(&m, &act, &expected);
}

#[test]
fn quantised_gemv_tracks_the_f32_product() {
    // End to end: ternarise, quantise, multiply; compare with f32 on the ternarised weights.
    let shape = Shape::new(64, 1000);
    let w: Vec<f32> = (0..shape.rows * shape.cols)
        .map(|i| ((i * 7919) % 201) as f32 / 100.0 - 1.0)
        .collect();
    let x: Vec<f32> = (0..shape.cols)
        .map(|i| ((i * 104_729) % 97) as f32 / 48.0 - 1.0)
        .collect();
    let m = ternarize_i2s(&w, shape, QuantKernel::detect()).unwrap();
    let act = QuantizedActivations::quantize(&x, Shape::new(1, shape.cols), QuantKernel::detect())
        .unwrap();
    let mut y = vec![0.0; shape.rows];
    gemm_i2s(&m, &act, &mut y, QuantKernel::detect()).unwrap();
    let t = m.unpack();
    let x_step = 1.0 / act.scale(0);
    for (i, y) in y.iter().enumerate() {
        let exact: f32 = (0..shape.cols)
            .map(|k| f32::from(t[i * shape.cols + k]) * m.scale() * x[k])
            .sum();
        // Each activation is off by at most half a quantisation step.
        let bound = 0.5 * x_step * m.scale() * shape.cols as f32 + 1e-3;
        assert!(
            (y - exact).abs() <= bound,
            "row {i}: {y} vs {exact} (bound {bound})"
        );
    }
}

#[test]
fn quality_is_perfect_for_exactly_ternary_weights_and_reported_otherwise() {
    let shape = Shape::new(4, 300);
    let exact: Vec<f32> = (0..1200).map(|i| [0.25, 0.0, -0.25][i % 3]).collect();
    // mean |W| = 1/6, so W/s = ±1.5 would round to ±2 → clamp ±1; scale differs from 0.25
    // and the quality must say so honestly.
    let m = ternarize_i2s(&exact, shape, QuantKernel::Scalar).unwrap();
    let q = ternary_quality(&exact, &m).unwrap();
    assert!((q.cosine_similarity - 1.0).abs() < 1e-9, "{q:?}");
    assert!(
        q.relative_rms_error > 0.3,
        "scale 1/6 vs 1/4 must show: {q:?}"
    );
    let noisy: Vec<f32> = (0..1200)
        .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
        .collect();
    let m = ternarize_i2s(&noisy, shape, QuantKernel::Scalar).unwrap();
    let q = ternary_quality(&noisy, &m).unwrap();
    assert!(
        q.cosine_similarity > 0.5 && q.cosine_similarity < 0.99,
        "{q:?}"
    );
    assert!(
        q.relative_rms_error > 0.1 && q.relative_rms_error < 1.0,
        "{q:?}"
    );
}

#[test]
fn rounding_is_half_to_even() {
    // Eight copies so the SIMD kernels' 32-wide body, not only their tail, meets the ties.
    let x: Vec<f32> = [127.0, 0.5, 1.5, -2.5, -127.0, 2.5].repeat(8);
    for kernel in QuantKernel::supported() {
        let act = QuantizedActivations::quantize(&x, Shape::new(1, 48), kernel).unwrap();
        assert_eq!(
            &act.row(0)[..48],
            [127, 0, 2, -2, -127, 2].repeat(8),
            "{kernel}"
        );
        assert_eq!(act.row_sum(0), 8 * 2, "{kernel}");
    }
    // mean |W| = 5.5/6 ≈ 0.9167: the scale is the mean itself, in f32.
    let m = ternarize_i2s(
        &[0.5, -0.5, 1.5, -1.5, 1.0, 0.5],
        Shape::new(1, 6),
        QuantKernel::Scalar,
    )
    .unwrap();
    assert_eq!(m.scale(), 0.9166667);
    let m = ternarize_i2s(
        &[0.5, -0.5, 1.5, -1.5, 1.0, 1.0],
        Shape::new(1, 6),
        QuantKernel::Scalar,
    )
    .unwrap();
    // mean |W| = 1 → W/s are the values themselves (±0.5 ties round to even, 0).
    assert_eq!(m.scale(), 1.0);
    assert_eq!(m.unpack(), vec![0, 0, 1, -1, 1, 1]);
}

#[test]
fn tiny_activations_use_the_floor_scale() {
    let act = QuantizedActivations::quantize(&[0.0, 0.0], Shape::new(1, 2), QuantKernel::detect())
        .unwrap();
    assert_eq!(act.scale(0), 127.0 / 1e-5);
    let m = ternarize_i2s(&[0.0; 4], Shape::new(2, 2), QuantKernel::Scalar).unwrap();
    assert_eq!(m.scale(), 1e-5);
}

/// The weight at (`row`, `col`), zero outside the shape (padding rows and columns).
fn weight_or_zero(m: &I2sMatrix, row: usize, col: usize) -> i32 {
    i32::from(m.weight(row, col).unwrap_or(0))
}

/// TL1 bytes as the layout states them (tl1.rs), one weight lookup at a time: in tile t,
/// group g, byte r = index(row r, pair 2g) | index(row r, pair 2g+1) << 4, index(w0, w1)
/// = 3·w0 + w1 + 4. The oracle of `Tl1Matrix::from_i2s`, which reads whole tiles.
fn tl1_by_weight(m: &I2sMatrix) -> Vec<u8> {
    let Shape { rows, cols } = m.shape();
    let groups = cols.div_ceil(4);
    let index = |row, k| (3 * weight_or_zero(m, row, k) + weight_or_zero(m, row, k + 1) + 4) as u8;
    let mut bytes = Vec::new();
    for tile in 0..rows.div_ceil(32) {
        for g in 0..groups {
            for r in 0..32 {
                let row = tile * 32 + r;
                bytes.push(index(row, 4 * g) | index(row, 4 * g + 2) << 4);
            }
        }
    }
    bytes
}

/// TL2 bytes as the layout states them (tl2.rs), one weight lookup at a time: per tile,
/// the |v| index groups, the sign words, then the remainder pair when K mod 3 ≠ 0.
fn tl2_by_weight(m: &I2sMatrix) -> Vec<u8> {
    let Shape { rows, cols } = m.shape();
    let triples = cols / 3;
    let value = |row, j: usize| {
        if j < triples {
            (0..3).fold(0, |v, i| 3 * v + weight_or_zero(m, row, 3 * j + i))
        } else {
            0
        }
    };
    let mut bytes = Vec::new();
    for tile in 0..rows.div_ceil(32) {
        let rows_of_tile = (0..32).map(|r| tile * 32 + r);
        for g in 0..triples.div_ceil(2) {
            for row in rows_of_tile.clone() {
                let (lo, hi) = (value(row, 2 * g), value(row, 2 * g + 1));
                bytes.push(lo.unsigned_abs() as u8 | (hi.unsigned_abs() as u8) << 4);
            }
        }
        for j in 0..triples {
            let negative = rows_of_tile
                .clone()
                .enumerate()
                .filter(|(_, row)| value(*row, j) < 0)
                .fold(0u32, |word, (r, _)| word | 1 << r);
            bytes.extend_from_slice(&negative.to_le_bytes());
        }
        if cols % 3 != 0 {
            let k = 3 * triples;
            for row in rows_of_tile {
                bytes.push(
                    (3 * weight_or_zero(m, row, k) + weight_or_zero(m, row, k + 1) + 4) as u8,
                );
            }
        }
    }
    bytes
}

#[test]
fn i2s_layout_matches_the_bitnet_byte_formula() {
    // c[0] = 2, c[32] = 0, c[64] = 1, c[96] = 2: byte 0 = 2<<6 | 0<<4 | 1<<2 | 2.
    let mut w = vec![0i8; 128];
    w[0] = 1;
    w[32] = -1;
    w[96] = 1;
    let m = I2sMatrix::pack(&w, Shape::new(1, 128), 2.0).unwrap();
    assert_eq!(m.as_bytes()[0], 0b10_00_01_10);
    assert_eq!(m.as_bytes()[1], 0b01_01_01_01);
    assert_eq!(&m.as_bytes()[32..], &2.0f32.to_le_bytes());
    // K = 130 pads each row to two blocks with code 1 (zero weights).
    let m = I2sMatrix::pack(&[1; 260], Shape::new(2, 130), 1.0).unwrap();
    assert_eq!(m.as_bytes().len(), 2 * 64 + 4);
    assert_eq!(m.as_bytes()[32], 0b10_01_01_01);
    assert_eq!(m.as_bytes()[34], 0b01_01_01_01);
    assert_eq!(m.weight(1, 129), Some(1));
    assert_eq!(m.weight(1, 130), None, "padding is not a weight");
    assert_eq!(m.weight(2, 0), None);
}

#[test]
fn non_finite_values_are_reported_with_their_index() {
    let mut w = vec![0.5f32; 12];
    w[7] = f32::NAN;
    let err = ternarize_i2s(&w, Shape::new(3, 4), QuantKernel::detect()).unwrap_err();
    assert!(
        matches!(
            err,
            QuantError::NonFinite {
                index: 7,
                row: 1,
                col: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("index 7"), "{err}");
    for kernel in QuantKernel::supported() {
        let mut w = vec![0.5f32; 40];
        w[33] = f32::NEG_INFINITY;
        let err = ternarize_i2s(&w, Shape::new(1, 40), kernel).unwrap_err();
        assert!(
            matches!(err, QuantError::NonFinite { index: 33, .. }),
            "{kernel}: {err}"
        );
    }
    let err = QuantizedActivations::quantize(
        &[1.0, f32::INFINITY],
        Shape::new(1, 2),
        QuantKernel::detect(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("activations: value inf at index 1"),
        "{err}"
    );
}

#[test]
fn mismatched_dimensions_name_both_shapes() {
    let m = I2sMatrix::pack(&[1; 6], Shape::new(2, 3), 1.0).unwrap();
    let act =
        QuantizedActivations::quantize(&[1.0; 4], Shape::new(1, 4), QuantKernel::Scalar).unwrap();
    let mut out = [0.0; 2];
    for kernel in QuantKernel::supported() {
        let err = gemm_i2s(&m, &act, &mut out, kernel).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dimension mismatch: weights are 2×3 (rows×K) but activations are 1×4 (tokens×K)"
        );
        let err = gemm_tl1(
            &Tl1Matrix::from_i2s(&m),
            &act,
            &mut out,
            &mut LutScratch::default(),
            kernel,
        )
        .unwrap_err();
        assert!(matches!(err, QuantError::ShapeMismatch { .. }));
        let err = gemm_tl2(
            &Tl2Matrix::from_i2s(&m),
            &act,
            &mut out,
            &mut LutScratch::default(),
            kernel,
        )
        .unwrap_err();
        assert!(matches!(err, QuantError::ShapeMismatch { .. }));
    }
    let act =
        QuantizedActivations::quantize(&[1.0; 3], Shape::new(1, 3), QuantKernel::Scalar).unwrap();
    let err = gemm_i2s(&m, &act, &mut [0.0; 3], QuantKernel::Scalar).unwrap_err();
    assert!(
        err.to_string().contains("1 tokens × 2 rows needs 2"),
        "{err}"
    );
}

#[test]
fn malformed_buffers_and_shapes_are_rejected() {
    let shape = Shape::new(1, 128);
    let mut bytes = I2sMatrix::pack(&[0; 128], shape, 1.0)
        .unwrap()
        .as_bytes()
        .to_vec();
    bytes[5] = 0b0011_0101;
    let err = I2sMatrix::from_bytes(shape, &bytes).unwrap_err();
    assert_eq!(err, QuantError::InvalidCode { shape, offset: 5 });
    let err = I2sMatrix::from_bytes(shape, &bytes[..10]).unwrap_err();
    assert!(err.to_string().contains("needs 36 values, got 10"), "{err}");
    bytes[5] = 0x55;
    bytes[32..].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(matches!(
        I2sMatrix::from_bytes(shape, &bytes),
        Err(QuantError::BadScale { .. })
    ));
    assert!(matches!(
        I2sMatrix::pack(&[2], Shape::new(1, 1), 1.0),
        Err(QuantError::NotTernary {
            index: 0,
            value: 2,
            ..
        })
    ));
    assert!(matches!(
        ternarize_i2s(&[], Shape::new(0, 5), QuantKernel::Scalar),
        Err(QuantError::EmptyShape { .. })
    ));
    assert!(matches!(
        ternarize_i2s(&[1.0; 3], Shape::new(2, 2), QuantKernel::Scalar),
        Err(QuantError::Length {
            expected: 4,
            actual: 3,
            ..
        })
    ));
    assert!(matches!(
        QuantizedActivations::zeroed(Shape::new(1, usize::MAX)),
        Err(QuantError::TooManyColumns { .. })
    ));
    assert!(matches!(
        QuantizedActivations::zeroed(Shape::new(usize::MAX, 2)),
        Err(QuantError::TooLarge { .. })
    ));
    assert!(matches!(
        QuantizedActivations::from_int8(&[1], &[0.0], Shape::new(1, 1)),
        Err(QuantError::BadScale { .. })
    ));
}

#[test]
fn bad_activation_scale_names_its_row() {
    let err = QuantizedActivations::from_int8(&[1, 2, 3], &[1.0, 2.0, -1.0], Shape::new(3, 1))
        .unwrap_err();
    assert_eq!(
        err,
        QuantError::BadScale {
            what: "activation scales",
            row: Some(2),
            scale: -1.0
        }
    );
    assert!(err.to_string().contains("row 2"), "{err}");
}

#[test]
fn padded_size_overflow_in_i2s_reset_is_an_error_not_a_panic() {
    // rows·cols fits, but rows·padded_cols (2^57·128) does not.
    let shape = Shape::new(1 << 57, 2);
    let bytes = [0x55, 0, 0, 0x80, 0x3f];
    assert_eq!(
        I2sMatrix::from_bytes(shape, &bytes),
        Err(QuantError::TooLarge { shape })
    );
    assert_eq!(
        I2sMatrix::zeroed(shape),
        Err(QuantError::TooLarge { shape })
    );
    assert!(matches!(
        QuantizedActivations::zeroed(shape),
        Err(QuantError::TooLarge { .. })
    ));
    // Rows that overflow only when rounded up to whole 32-row tiles.
    let shape = Shape::new(usize::MAX - 3, 1);
    assert_eq!(shape.checked_len(), Err(QuantError::TooLarge { shape }));
}

/// Shapes from tiny to absurd: small ones that allocate, and huge ones whose size
/// arithmetic must fail cleanly (constructors check the input length before allocating).
fn any_shape() -> impl Strategy<Value = Shape> {
    let dim = prop_oneof![
        0usize..=300,
        any::<usize>(),
        (0u32..64).prop_map(|b| 1usize << b)
    ];
    (dim.clone(), dim).prop_map(|(rows, cols)| Shape::new(rows, cols))
}

proptest! {
    #[test]
    fn constructors_never_panic_on_arbitrary_shapes_and_bytes(
        shape in any_shape(),
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let _ = I2sMatrix::from_bytes(shape, &bytes);
        let as_i8: Vec<i8> = bytes.iter().map(|b| *b as i8).collect();
        let as_f32: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let ternary: Vec<i8> = bytes.iter().map(|b| (b % 3) as i8 - 1).collect();
        let scale = as_f32.first().copied().unwrap_or(1.0);
        let _ = I2sMatrix::pack(&ternary, shape, scale);
        let _ = I2sMatrix::pack(&as_i8, shape, 1.0);
        let _ = ternarize_i2s(&as_f32, shape, QuantKernel::Scalar);
        let _ = ternarize_i2s(&as_f32, shape, QuantKernel::detect());
        let _ = QuantizedActivations::quantize(&as_f32, shape, QuantKernel::detect());
        let scales: Vec<f32> = as_f32.iter().map(|s| s.abs()).collect();
        let _ = QuantizedActivations::from_int8(&as_i8, &scales, shape);
        let _ = QuantizedActivations::from_int8(&as_i8, &vec![1.0; shape.rows.min(4096)], shape);
        // `zeroed` allocates what the shape asks for, so only shapes the checks reject or
        // that are small reach it.
        if shape.checked_len().map_or(true, |n| n <= 1 << 16) {
            let _ = I2sMatrix::zeroed(shape);
            let _ = QuantizedActivations::zeroed(shape);
        }
        // The same bytes stretched to the length a small shape needs, codes made valid
        // (code 3 → 1) and a positive scale, so the layouts built from I2_S are reached too.
        let fitted = (shape.checked_len().is_ok_and(|n| n <= 1 << 14) && !bytes.is_empty())
            .then(|| {
                let packed = shape.rows * shape.padded_cols() / 4;
                let mut fitted: Vec<u8> = bytes
                    .iter()
                    .cycle()
                    .take(packed)
                    .map(|b| b & !((b & (b >> 1) & 0x55) << 1))
                    .collect();
                fitted.extend_from_slice(&0.5f32.to_le_bytes());
                fitted
            });
        if let Some(fitted) = &fitted {
            prop_assert!(I2sMatrix::from_bytes(shape, fitted).is_ok(), "{shape}");
        }
        for candidate in [Some(&bytes), fitted.as_ref()].into_iter().flatten() {
            if let Ok(m) = I2sMatrix::from_bytes(shape, candidate) {
                let _ = Tl1Matrix::from_i2s(&m);
                let _ = Tl2Matrix::from_i2s(&m);
                let _ = ternary_quality(&as_f32, &m);
            }
        }
    }
}
