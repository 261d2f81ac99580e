//! Decode-step workloads: one token through every projection GEMV of a BitNet b1.58
//! 2B-class model, on the I2_S, TL1 and TL2 layouts, counted in tokens.
//!
//! A decode step streams every weight of the model once, so what it measures is how fast
//! a layout's kernel reads ~2.4 G ternary weights, not a cache: each layer has weights of
//! its own. They are drawn as ternary codes straight from the workload's input stream
//! (about 0.6 GB of I2_S bytes for the whole model) instead of ternarising f32 weights,
//! which for 2.4 G values would take ~10 GB and minutes. The TL1/TL2 weights are the same
//! codes re-laid out, so all three layouts of a model hash one output.
//!
//! Each projection quantises its f32 input to int8, as the GEMV workloads do, and its
//! input is an earlier projection's output where the shapes chain: q, k and v take the
//! layer's input, o takes v's output (attention over a single position returns v), gate
//! and up take o's output, down takes up's output, and the next layer takes down's output.
//! Attention itself, the norms, residual adds, RoPE, the ReLU² gate and the LM head are not
//! computed. Without norms, a value's magnitude changes by each projection's gain; the
//! weight scale is the power of two nearest to 1/√(2K/3), the reciprocal of the gain of
//! uniform ternary codes over K columns, so over 30 layers values stay far inside f32.

use std::ops::Range;

use benchseal_kernels::quant::{
    I2S_BLOCK, I2sMatrix, LutScratch, QuantizedActivations, Shape, Tl1Matrix, Tl2Matrix,
};

use super::{Layout, Weights, accuracy_vs_f32, bell_values, cpu_kernel, feed_f32, product};
use crate::input::InputStream;
use crate::registry::{
    Family, Instance, KernelPath, RoofKind, RunError, Size, Unit, Workload, WorkloadId,
};

/// The projection shapes of a decoder-only model.
#[derive(Clone, Copy, Debug)]
struct Model {
    size: Size,
    /// The id's variant; says the layer count unless it is the whole model.
    variant: &'static str,
    /// What it is, for the description.
    title: &'static str,
    hidden: usize,
    ffn: usize,
    layers: usize,
}

/// Per tier: a toy model of the same structure for tests and instruction counts, and the
/// whole BitNet b1.58 2B model. No small tier: fewer layers of the real shapes would be
/// read as the model's tokens/s, and a few layers (20 MB of I2_S each) fit in the last-level
/// cache of large server CPUs, which would measure the cache.
const MODELS: [Model; 2] = [
    Model {
        size: Size::Tiny,
        variant: "toy-2layers",
        title: "a toy model of the same structure",
        hidden: 256,
        ffn: 768,
        layers: 2,
    },
    Model {
        size: Size::Medium,
        variant: "bitnet-2b",
        title: "a BitNet b1.58 2B-class model",
        hidden: 2560,
        ffn: 6912,
        layers: 30,
    },
];

/// The projections of one layer, in the order a decode step runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Projection {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Projection {
    const ORDER: [Projection; 7] = [
        Projection::Q,
        Projection::K,
        Projection::V,
        Projection::O,
        Projection::Gate,
        Projection::Up,
        Projection::Down,
    ];

    /// rows × K. k and v are as wide as q: the model's grouped-query k/v (5 of 20 heads)
    /// are not modelled.
    fn shape(self, model: &Model) -> Shape {
        match self {
            Projection::Q | Projection::K | Projection::V | Projection::O => {
                Shape::new(model.hidden, model.hidden)
            }
            Projection::Gate | Projection::Up => Shape::new(model.ffn, model.hidden),
            Projection::Down => Shape::new(model.hidden, model.ffn),
        }
    }

    /// The projection of the same layer whose output this one multiplies; `None`: the
    /// layer's input.
    fn input(self) -> Option<Projection> {
        match self {
            Projection::Q | Projection::K | Projection::V => None,
            Projection::O => Some(Projection::V),
            Projection::Gate | Projection::Up => Some(Projection::O),
            Projection::Down => Some(Projection::Up),
        }
    }
}

impl Model {
    fn weights_per_layer(&self) -> usize {
        Projection::ORDER
            .iter()
            .map(|p| {
                let Shape { rows, cols } = p.shape(self);
                rows * cols
            })
            .sum()
    }

    /// One GEMV per projection and layer, with where its input and output lie in the
    /// instance's values (the token first, then every output in this order).
    fn steps(&self) -> Vec<Step> {
        let mut steps: Vec<Step> = Vec::with_capacity(self.layers * Projection::ORDER.len());
        let mut layer_input = 0..self.hidden;
        let mut next = self.hidden;
        for _ in 0..self.layers {
            let first = steps.len();
            for projection in Projection::ORDER {
                let shape = projection.shape(self);
                let input = match projection.input() {
                    None => layer_input.clone(),
                    Some(from) => steps[first + from as usize].output.clone(),
                };
                steps.push(Step {
                    shape,
                    input,
                    output: next..next + shape.rows,
                });
                next += shape.rows;
            }
            layer_input = steps[first + Projection::Down as usize].output.clone();
        }
        steps
    }

    /// The stream the token and the weights of every layout of this model come from.
    fn stream(&self) -> InputStream {
        InputStream::new(&format!("quant/decode/{}", self.variant))
    }
}

/// One GEMV of a decode step.
#[derive(Clone, Debug)]
struct Step {
    shape: Shape,
    /// Where its f32 input lies in the values: the token or an earlier output.
    input: Range<usize>,
    output: Range<usize>,
}

pub(super) fn workloads() -> Vec<Workload> {
    let mut all = Vec::new();
    for model in MODELS {
        for layout in Layout::ALL {
            let Model {
                hidden,
                ffn,
                layers,
                ..
            } = model;
            let weights = model.weights_per_layer() * layers;
            all.push(
                Workload::new(
                    WorkloadId::new(
                        Family::Quant,
                        &format!("decode-{}", layout.name()),
                        model.variant,
                        model.size,
                    ),
                    Unit::Tokens,
                    1,
                    &[KernelPath::Scalar, KernelPath::Simd],
                    format!(
                        "{} decode step of one token through the projection GEMVs of {} \
                     ({layers} layers, hidden {hidden}, FFN {ffn}): per layer q, k, v, o \
                     {hidden}×{hidden} (k and v at the full hidden size, not the model's \
                     grouped-query size), gate and up {ffn}×{hidden}, down {hidden}×{ffn}; \
                     {:.1} M ternary weights, distinct per layer. Each GEMV quantises its f32 \
                     input to int8: q, k, v take the layer's input, o takes v's output \
                     (attention over one position returns v), gate and up take o's output, \
                     down takes up's output, the next layer takes down's. Attention, norms, \
                     residuals, the ReLU² gate and the LM head are not included; unit = \
                     tokens (1 per run); cosine_vs_f32 and max_rel_error_vs_f32 are those of \
                     layer 0's q projection",
                        layout.title(),
                        model.title,
                        weights as f64 / 1e6,
                    ),
                    move || Ok(Box::new(DecodeInstance::new(model, layout)?) as Box<dyn Instance>),
                )
                // One token streams every packed weight once: memory-bound on the full model.
                // Its working set is the large tier's (the toy model's fits in L2 like the small
                // tier's roof).
                .with_roof_at(
                    RoofKind::Read,
                    if model.size == Size::Tiny {
                        Size::Small
                    } else {
                        Size::Large
                    },
                    weights as f64 * layout.bits_per_weight() / 8.0,
                    "bytes of packed weights read per token",
                ),
            );
        }
    }
    all
}

/// Valid I2_S bytes (four codes 0..=2, weights −1, 0, 1) indexed by their base-3 value.
const CODE_BYTES: [u8; 81] = {
    let mut bytes = [0u8; 81];
    let mut i = 0;
    while i < 81 {
        bytes[i] = ((i / 27) << 6 | (i / 9 % 3) << 4 | (i / 3 % 3) << 2 | (i % 3)) as u8;
        i += 1;
    }
    bytes
};

/// The I2_S bytes (packed rows, then the scale) of `shape` drawn from `stream`: every
/// stream byte below 243 = 3·81 picks one of the 81 valid bytes, so each weight is −1, 0 or
/// 1 with equal probability. K must be whole I2_S blocks (no padding to keep at zero).
fn draw_i2s_bytes(stream: &mut InputStream, shape: Shape) -> Vec<u8> {
    debug_assert!(shape.cols.is_multiple_of(I2S_BLOCK), "{shape}");
    let packed = shape.rows * shape.cols / 4;
    let mut bytes = Vec::with_capacity(packed + 4);
    let mut page = [0u8; 4096];
    while bytes.len() < packed {
        stream.fill(&mut page);
        let wanted = packed - bytes.len();
        bytes.extend(
            page.iter()
                .filter(|b| **b < 243)
                .map(|b| CODE_BYTES[usize::from(b % 81)])
                .take(wanted),
        );
    }
    bytes.extend_from_slice(&weight_scale(shape.cols).to_le_bytes());
    bytes
}

/// The power of two nearest (in ratio) to 1/√(2K/3): 2^−e with 4^e ≤ 4K/3 < 4^(e+1).
fn weight_scale(cols: usize) -> f32 {
    let e = (4 * cols / 3).ilog2() / 2;
    1.0 / (1u32 << e) as f32
}

/// A projection's weights in the layout measured.
enum Matrix {
    I2s(I2sMatrix),
    Tl1(Tl1Matrix),
    Tl2(Tl2Matrix),
}

impl Matrix {
    fn new(layout: Layout, i2s: I2sMatrix) -> Matrix {
        match layout {
            Layout::I2s => Matrix::I2s(i2s),
            Layout::Tl1 => Matrix::Tl1(Tl1Matrix::from_i2s(&i2s)),
            Layout::Tl2 => Matrix::Tl2(Tl2Matrix::from_i2s(&i2s)),
        }
    }

    fn weights(&self) -> Weights<'_> {
        match self {
            Matrix::I2s(m) => Weights::I2s(m),
            Matrix::Tl1(m) => Weights::Tl1(m),
            Matrix::Tl2(m) => Weights::Tl2(m),
        }
    }
}

struct DecodeInstance {
    model: Model,
    steps: Vec<Step>,
    /// One per step, in the layout measured.
    matrices: Vec<Matrix>,
    /// Layer 0's q projection as I2_S, for its accuracy against the f32 product.
    first: I2sMatrix,
    /// The token's f32 vector, then every step's output.
    values: Vec<f32>,
    /// Int8 activations of the two widths a projection reads (hidden, FFN).
    act_hidden: QuantizedActivations,
    act_ffn: QuantizedActivations,
    scratch: LutScratch,
    ran: bool,
}

impl DecodeInstance {
    fn new(model: Model, layout: Layout) -> Result<Self, String> {
        let steps = model.steps();
        let mut stream = model.stream();
        let mut values = bell_values(&mut stream, model.hidden);
        let mut matrices = Vec::with_capacity(steps.len());
        let mut first = None;
        for step in &steps {
            if !step.shape.cols.is_multiple_of(I2S_BLOCK) {
                return Err(format!("K of {} is not whole I2_S blocks", step.shape));
            }
            let bytes = draw_i2s_bytes(&mut stream, step.shape);
            let i2s = I2sMatrix::from_bytes(step.shape, &bytes).map_err(|e| e.to_string())?;
            first.get_or_insert_with(|| i2s.clone());
            matrices.push(Matrix::new(layout, i2s));
        }
        values.resize(steps.last().map_or(model.hidden, |s| s.output.end), 0.0);
        let act =
            |cols| QuantizedActivations::zeroed(Shape::new(1, cols)).map_err(|e| e.to_string());
        Ok(DecodeInstance {
            model,
            first: first.ok_or("a model without layers")?,
            steps,
            matrices,
            values,
            act_hidden: act(model.hidden)?,
            act_ffn: act(model.ffn)?,
            scratch: LutScratch::default(),
            ran: false,
        })
    }
}

impl Instance for DecodeInstance {
    /// The token, then every projection's weights as I2_S bytes (drawn again from the
    /// stream: a TL1/TL2 instance keeps only its own layout).
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        let mut stream = self.model.stream();
        let token = bell_values(&mut stream, self.model.hidden);
        feed_f32(&token, sink);
        for step in &self.steps {
            sink(&draw_i2s_bytes(&mut stream, step.shape));
        }
    }

    fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
        self.ran = false;
        let kernel = cpu_kernel(path)?;
        for (step, matrix) in self.steps.iter().zip(&self.matrices) {
            // Every input lies before its output (the token, or an earlier output).
            let (done, rest) = self.values.split_at_mut(step.output.start);
            let act = if step.shape.cols == self.model.hidden {
                &mut self.act_hidden
            } else {
                &mut self.act_ffn
            };
            product(
                matrix.weights(),
                &done[step.input.clone()],
                act,
                &mut self.scratch,
                &mut rest[..step.output.len()],
                kernel,
            )?;
        }
        self.ran = true;
        Ok(())
    }

    /// Every projection's output, layer after layer.
    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        feed_f32(&self.values[self.model.hidden..], sink);
    }

    fn extra_metrics(&self) -> Vec<(String, f64, String)> {
        if !self.ran {
            return Vec::new();
        }
        let q = &self.steps[0];
        accuracy_vs_f32(
            &self.first,
            &self.values[q.input.clone()],
            &self.values[q.output.clone()],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_bytes_are_the_81_valid_i2s_bytes() {
        let mut seen: Vec<u8> = CODE_BYTES.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 81);
        // No 2-bit field holds the unused code 3.
        assert!(seen.iter().all(|b| b & (b >> 1) & 0b0101_0101 == 0));
    }

    #[test]
    fn weight_scales_are_the_nearest_powers_of_two() {
        // √(2K/3): 41.3 for 2560, 67.9 for 6912, 13.1 for 256, 22.6 for 768.
        assert_eq!(weight_scale(2560), 1.0 / 32.0);
        assert_eq!(weight_scale(6912), 1.0 / 64.0);
        assert_eq!(weight_scale(256), 1.0 / 16.0);
        assert_eq!(weight_scale(768), 1.0 / 32.0);
    }

    #[test]
    fn the_full_model_has_the_bitnet_2b_shapes_and_2_4_g_weights() {
        let model = MODELS.iter().find(|m| m.variant == "bitnet-2b").unwrap();
        assert_eq!(model.size, Size::Medium);
        assert_eq!(model.weights_per_layer(), 4 * 2560 * 2560 + 3 * 2560 * 6912);
        assert_eq!(model.weights_per_layer() * model.layers, 2_378_956_800);
        for m in MODELS {
            for p in Projection::ORDER {
                assert!(p.shape(&m).cols.is_multiple_of(I2S_BLOCK), "{m:?} {p:?}");
            }
        }
    }

    #[test]
    fn steps_chain_where_the_shapes_do() {
        let model = MODELS[0];
        let steps = model.steps();
        assert_eq!(steps.len(), 7 * model.layers);
        let (h, f) = (model.hidden, model.ffn);
        let at = |layer: usize, p: Projection| &steps[layer * 7 + p as usize];
        for p in [Projection::Q, Projection::K, Projection::V] {
            assert_eq!(at(0, p).input, 0..h);
            assert_eq!(at(1, p).input, at(0, Projection::Down).output);
        }
        assert_eq!(at(1, Projection::O).input, at(1, Projection::V).output);
        assert_eq!(at(1, Projection::Gate).input, at(1, Projection::O).output);
        assert_eq!(at(1, Projection::Up).input, at(1, Projection::O).output);
        assert_eq!(at(1, Projection::Down).input, at(1, Projection::Up).output);
        assert_eq!(at(0, Projection::Up).output.len(), f);
        // Outputs tile the values after the token, each after its input.
        let mut next = h;
        for step in &steps {
            assert_eq!(step.output.start, next);
            assert_eq!(step.input.len(), step.shape.cols);
            assert!(step.input.end <= step.output.start);
            next = step.output.end;
        }
    }

    /// The tiny model's output digest on `path` of `layout`, or `None` when SIMD is absent.
    fn tiny_digest(layout: Layout, path: KernelPath) -> Option<Vec<u8>> {
        use sha2::{Digest, Sha256};
        let mut instance = DecodeInstance::new(MODELS[0], layout).unwrap();
        match instance.run(path) {
            Ok(()) => {}
            Err(RunError::Unavailable(why)) if path == KernelPath::Simd => {
                eprintln!("{layout:?}@simd not compared: {why}");
                return None;
            }
            Err(e) => panic!("{layout:?} on {path}: {e}"),
        }
        let mut h = Sha256::new();
        instance.output(&mut |b| h.update(b));
        Some(h.finalize().to_vec())
    }

    #[test]
    fn every_layout_and_path_of_the_tiny_model_gives_one_output() {
        let scalar = tiny_digest(Layout::I2s, KernelPath::Scalar).unwrap();
        for layout in Layout::ALL {
            for path in [KernelPath::Scalar, KernelPath::Simd] {
                if let Some(d) = tiny_digest(layout, path) {
                    assert_eq!(d, scalar, "{layout:?} on {path}");
                }
            }
        }
    }

    #[test]
    fn layers_have_distinct_weights_and_every_output_is_finite_and_nonzero() {
        let mut instance = DecodeInstance::new(MODELS[0], Layout::I2s).unwrap();
        instance.run(KernelPath::Scalar).unwrap();
        let bytes = |i: usize| match &instance.matrices[i] {
            Matrix::I2s(m) => m.as_bytes().to_vec(),
            _ => unreachable!(),
        };
        assert_ne!(bytes(0), bytes(7), "layer 0 and layer 1 q");
        assert_ne!(bytes(0), bytes(1), "q and k");
        for step in &instance.steps {
            let out = &instance.values[step.output.clone()];
            assert!(out.iter().all(|v| v.is_finite()), "{step:?}");
            assert!(out.iter().any(|v| *v != 0.0), "{step:?}");
        }
    }

    #[test]
    fn input_is_the_token_then_the_drawn_weights_as_setup_laid_them_out() {
        let instance = DecodeInstance::new(MODELS[0], Layout::I2s).unwrap();
        let mut expected = Vec::new();
        feed_f32(&instance.values[..MODELS[0].hidden], &mut |b| {
            expected.extend_from_slice(b)
        });
        for m in &instance.matrices {
            let Matrix::I2s(m) = m else { unreachable!() };
            expected.extend_from_slice(m.as_bytes());
        }
        let mut input = Vec::new();
        instance.input(&mut |b| input.extend_from_slice(b));
        assert_eq!(input, expected);
    }

    #[test]
    fn drawn_codes_are_uniform_ternary() {
        let shape = Shape::new(64, 1024);
        let bytes = draw_i2s_bytes(&mut InputStream::new("test"), shape);
        let m = I2sMatrix::from_bytes(shape, &bytes).unwrap();
        let mut counts = [0usize; 3];
        for w in m.unpack() {
            counts[(w + 1) as usize] += 1;
        }
        // 65536 weights: each value within 2 % of a third.
        for c in counts {
            assert!((c as f64 / 65536.0 - 1.0 / 3.0).abs() < 0.02, "{counts:?}");
        }
        assert_eq!(m.scale(), 1.0 / 32.0);
    }

    #[test]
    fn the_first_projection_reports_its_accuracy_after_a_run() {
        let mut instance = DecodeInstance::new(MODELS[0], Layout::Tl2).unwrap();
        assert!(instance.extra_metrics().is_empty());
        instance.run(KernelPath::Scalar).unwrap();
        let metrics = instance.extra_metrics();
        let names: Vec<&str> = metrics.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(names, ["cosine_vs_f32", "max_rel_error_vs_f32"]);
        assert!(metrics[0].1 > 0.999 && metrics[0].1 < 1.0, "{metrics:?}");
    }
}
