//! Workloads of the quant family: ternarisation, and GEMV/GEMM on the I2_S, TL1 and TL2
//! layouts (docs/architecture.md, "Kernels / quant").
//!
//! The shapes are the ones bitnet.cpp reports (2048², 4096², 4096×11008) and small-batch
//! GEMM with 8 and 128 tokens. Weights and activations are drawn from the workload's input
//! stream as integers and scaled by powers of two, so the f32 values are exact on every
//! machine (no platform float functions involved). A GEMV/GEMM run quantises the f32
//! activations and multiplies; the I2_S weights are prepared in setup, as a model loader
//! would. Every layout of a shape hashes the same output, so one golden digest covers the
//! scalar, SIMD and GPU paths of all three layouts.
//!
//! The decode-step workloads (`decode.rs`) chain these GEMVs through every projection of a
//! whole model, counted in tokens.

mod decode;

use benchseal_kernels::quant::{
    I2sMatrix, LutScratch, QuantKernel, QuantizedActivations, Shape, Tl1Matrix, Tl2Matrix,
    gemm_i2s, gemm_tl1, gemm_tl2, ternarize_i2s, ternarize_i2s_into, ternary_quality,
};

use crate::input::InputStream;
use crate::registry::{
    Family, Instance, KernelPath, Parallel, RoofKind, RunError, Size, ThreadParts, Unit, Workload,
    WorkloadId, on_threads,
};

/// Quantise shapes per tier (rows, cols).
const QUANTIZE_SHAPES: [(Size, usize, usize); 3] = [
    (Size::Tiny, 128, 256),
    (Size::Small, 2048, 2048),
    (Size::Medium, 4096, 4096),
];

/// GEMV shapes per tier (rows, K).
const GEMV_SHAPES: [(Size, usize, usize); 4] = [
    (Size::Tiny, 128, 256),
    (Size::Small, 2048, 2048),
    (Size::Medium, 4096, 4096),
    (Size::Large, 4096, 11008),
];

/// GEMM cases per tier (rows, K, tokens).
const GEMM_SHAPES: [(Size, usize, usize, usize); 3] = [
    (Size::Tiny, 128, 256, 8),
    (Size::Medium, 4096, 4096, 8),
    (Size::Medium, 4096, 4096, 128),
];

/// Weight layouts measured by the GEMV/GEMM workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    I2s,
    Tl1,
    Tl2,
}

impl Layout {
    const ALL: [Layout; 3] = [Layout::I2s, Layout::Tl1, Layout::Tl2];

    fn name(self) -> &'static str {
        match self {
            Layout::I2s => "i2s",
            Layout::Tl1 => "tl1",
            Layout::Tl2 => "tl2",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Layout::I2s => "I2_S",
            Layout::Tl1 => "TL1",
            Layout::Tl2 => "TL2",
        }
    }

    /// Bits one ternary weight takes in the layout: 2 in I2_S and TL1 (four codes, or a
    /// 4-bit index per pair, per byte), 5/3 in TL2 (a 5-bit index per three).
    fn bits_per_weight(self) -> f64 {
        match self {
            Layout::I2s | Layout::Tl1 => 2.0,
            Layout::Tl2 => 5.0 / 3.0,
        }
    }

    /// Only I2_S has a CUDA kernel.
    fn paths(self) -> &'static [KernelPath] {
        match self {
            Layout::I2s => &[KernelPath::Scalar, KernelPath::Simd, KernelPath::Gpu],
            Layout::Tl1 | Layout::Tl2 => &[KernelPath::Scalar, KernelPath::Simd],
        }
    }
}

pub fn workloads() -> Vec<Workload> {
    let mut all = Vec::new();
    for (size, rows, cols) in QUANTIZE_SHAPES {
        let shape = Shape::new(rows, cols);
        all.push(
            Workload::new(
                WorkloadId::new(Family::Quant, "quantize", &format!("{rows}x{cols}"), size),
                Unit::Weights,
                (rows * cols) as u64,
                &[KernelPath::Scalar, KernelPath::Simd],
                format!(
                    "ternarise {rows}×{cols} f32 weights (absmean scale, round half even) and pack \
                 them as I2_S; unit = weights; reports cosine similarity and relative RMS error \
                 against the f32 weights"
                ),
                move || Ok(Box::new(QuantizeInstance::new(shape)?) as Box<dyn Instance>),
            )
            .with_roof(RoofKind::Read, 4.0, "bytes read per f32 weight"),
        );
    }
    let products = GEMV_SHAPES
        .iter()
        .map(|&(size, rows, cols)| (size, rows, cols, 1))
        .chain(GEMM_SHAPES);
    for (size, rows, cols, tokens) in products {
        for layout in Layout::ALL {
            let (kernel, variant, what) = if tokens == 1 {
                ("gemv", format!("{rows}x{cols}"), "GEMV".to_string())
            } else {
                (
                    "gemm",
                    format!("{rows}x{cols}-t{tokens}"),
                    format!("GEMM of {tokens} tokens"),
                )
            };
            let case = ProductCase {
                layout,
                shape: Shape::new(rows, cols),
                tokens,
            };
            let workload = Workload::new(
                WorkloadId::new(
                    Family::Quant,
                    &format!("{kernel}-{}", layout.name()),
                    &variant,
                    size,
                ),
                Unit::Weights,
                (rows * cols * tokens) as u64,
                layout.paths(),
                format!(
                    "{} {what} on {rows}×{cols} ternary weights: int8 quantisation of the f32 \
                     activations, then the exact integer product; unit = weights × tokens \
                     ({tokens} token{}), 2 integer ops per unit",
                    layout.title(),
                    if tokens == 1 { "" } else { "s" },
                ),
                move || Ok(Box::new(ProductInstance::new(case)?) as Box<dyn Instance>),
            )
            .with_roof(
                RoofKind::DotI8,
                1.0,
                "int8 multiply-accumulates per weight and token",
            );
            all.push(if tokens > 1 {
                workload.with_parallel(case.parallel())
            } else {
                workload
            });
        }
    }
    all.extend(decode::workloads());
    all
}

/// The implementation behind the `simd` path on this machine.
pub fn simd_label() -> String {
    match QuantKernel::detect() {
        QuantKernel::Scalar => "simd (none: scalar)".into(),
        QuantKernel::Avx2 => "simd (avx2)".into(),
        QuantKernel::Avx512Vnni => "simd (avx512vnni; tl1/tl2 avx2)".into(),
    }
}

/// The kernel a CPU path runs on, or why it cannot run here.
fn cpu_kernel(path: KernelPath) -> Result<QuantKernel, RunError> {
    match path {
        KernelPath::Scalar => Ok(QuantKernel::Scalar),
        KernelPath::Simd => match QuantKernel::detect() {
            QuantKernel::Scalar => Err(RunError::Unavailable(format!(
                "no SIMD kernel at SIMD level `{}` (needs AVX2)",
                benchseal_kernels::simd::SimdLevel::detect()
            ))),
            kernel => Ok(kernel),
        },
        KernelPath::Gpu => Err(RunError::Unavailable(
            "this workload has no GPU kernel".into(),
        )),
        KernelPath::Reference => Err(RunError::Unavailable(
            "the quant family has no reference path".into(),
        )),
    }
}

fn failed(e: impl std::fmt::Display) -> RunError {
    RunError::Failed(e.to_string())
}

/// `n` f32 values, each the sum of four uniform 16-bit integers, centred and divided by
/// 2^16: a bell-shaped distribution (σ ≈ 1.15) whose values are exact on every machine.
fn bell_values(stream: &mut InputStream, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let v = stream.next_u64();
            let sum: i64 = (0..4).map(|i| ((v >> (16 * i)) & 0xFFFF) as i64).sum();
            (sum - 2 * 0xFFFF) as f32 / 65536.0
        })
        .collect()
}

/// Feeds f32 values to `sink` as little-endian bytes, a page at a time.
fn feed_f32(values: &[f32], sink: &mut dyn FnMut(&[u8])) {
    let mut page = [0u8; 4096];
    for chunk in values.chunks(page.len() / 4) {
        for (dst, v) in page.chunks_exact_mut(4).zip(chunk) {
            dst.copy_from_slice(&v.to_le_bytes());
        }
        sink(&page[..4 * chunk.len()]);
    }
}

struct QuantizeInstance {
    shape: Shape,
    weights: Vec<f32>,
    packed: I2sMatrix,
}

impl QuantizeInstance {
    fn new(shape: Shape) -> Result<Self, String> {
        let stem = format!("quant/quantize/{}x{}", shape.rows, shape.cols);
        let weights = bell_values(&mut InputStream::new(&stem), shape.rows * shape.cols);
        let packed = I2sMatrix::zeroed(shape).map_err(|e| e.to_string())?;
        // The quality can only fail on a shape or length mismatch, and neither changes after
        // setup: checking it here means `extra_metrics` always has it to report.
        ternary_quality(&weights, &packed).map_err(|e| format!("ternary quality: {e}"))?;
        Ok(QuantizeInstance {
            shape,
            weights,
            packed,
        })
    }
}

impl Instance for QuantizeInstance {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        feed_f32(&self.weights, sink);
    }

    fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
        let kernel = cpu_kernel(path)?;
        ternarize_i2s_into(&self.weights, self.shape, kernel, &mut self.packed).map_err(failed)
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(self.packed.as_bytes());
    }

    fn extra_metrics(&self) -> Vec<(String, f64, String)> {
        let q = ternary_quality(&self.weights, &self.packed)
            .expect("shape and length of the weights were checked against the matrix in setup");
        vec![
            (
                "cosine_similarity".into(),
                q.cosine_similarity,
                "ratio".into(),
            ),
            (
                "relative_rms_error".into(),
                q.relative_rms_error,
                "ratio".into(),
            ),
        ]
    }
}

#[derive(Clone, Copy, Debug)]
struct ProductCase {
    layout: Layout,
    shape: Shape,
    tokens: usize,
}

impl ProductCase {
    /// Tokens are independent: each thread quantises and multiplies its own.
    fn parallel(self) -> Parallel {
        Parallel {
            unit: "tokens",
            count: self.tokens,
        }
    }
}

/// How far a GEMV's output `out` is from the product it approximates: the dequantised
/// ternary weights (scale × −1/0/1) times the unquantised f32 activations `x`, summed in
/// f64. `cosine_vs_f32` is the cosine similarity of the two output vectors;
/// `max_rel_error_vs_f32` the largest absolute difference over the largest magnitude of
/// the exact output (per element it would divide by outputs near zero). What the int8
/// activations and the integer sums cost in accuracy; the ternarisation's own loss is the
/// `quant/quantize` workloads' `relative_rms_error`.
fn accuracy_vs_f32(i2s: &I2sMatrix, x: &[f32], out: &[f32]) -> Vec<(String, f64, String)> {
    let Shape { rows, cols } = i2s.shape();
    let scale = f64::from(i2s.scale());
    let (mut dot, mut norm_out, mut norm_exact) = (0.0f64, 0.0f64, 0.0f64);
    let (mut max_diff, mut max_exact) = (0.0f64, 0.0f64);
    for (row, &got) in out.iter().enumerate().take(rows) {
        let exact: f64 = (0..cols)
            .filter_map(|col| {
                i2s.weight(row, col)
                    .map(|w| f64::from(w) * f64::from(x[col]))
            })
            .sum::<f64>()
            * scale;
        let got = f64::from(got);
        dot += got * exact;
        norm_out += got * got;
        norm_exact += exact * exact;
        max_diff = max_diff.max((got - exact).abs());
        max_exact = max_exact.max(exact.abs());
    }
    let cosine = if norm_out > 0.0 && norm_exact > 0.0 {
        dot / (norm_out.sqrt() * norm_exact.sqrt())
    } else {
        f64::NAN
    };
    vec![
        ("cosine_vs_f32".into(), cosine, "ratio".into()),
        (
            "max_rel_error_vs_f32".into(),
            if max_exact > 0.0 {
                max_diff / max_exact
            } else {
                f64::NAN
            },
            "ratio".into(),
        ),
    ]
}

/// One thread's buffers in [`Instance::run_threads`]: its tokens' quantised activations
/// and its own lookup tables.
struct TokenPart {
    act: QuantizedActivations,
    scratch: LutScratch,
}

/// The weights of a product workload in the layout it measures.
enum LaidOut {
    I2s,
    Tl1(Tl1Matrix),
    Tl2(Tl2Matrix),
}

impl LaidOut {
    /// The weights to multiply: `i2s` itself for the I2_S layout.
    fn with<'a>(&'a self, i2s: &'a I2sMatrix) -> Weights<'a> {
        match self {
            LaidOut::I2s => Weights::I2s(i2s),
            LaidOut::Tl1(m) => Weights::Tl1(m),
            LaidOut::Tl2(m) => Weights::Tl2(m),
        }
    }
}

/// Ternary weights in one of the three layouts, as a product multiplies them.
#[derive(Clone, Copy)]
enum Weights<'a> {
    I2s(&'a I2sMatrix),
    Tl1(&'a Tl1Matrix),
    Tl2(&'a Tl2Matrix),
}

struct ProductInstance {
    case: ProductCase,
    /// The canonical weights (what `input` hashes); the I2_S path multiplies them directly.
    i2s: I2sMatrix,
    laid_out: LaidOut,
    x: Vec<f32>,
    act: QuantizedActivations,
    scratch: LutScratch,
    out: Vec<f32>,
    /// Per-thread buffers of `run_threads`, for each thread count used.
    parts: ThreadParts<TokenPart>,
    gpu: gpu::GpuState,
    /// The path of the last successful run: GPU metrics are reported only after a GPU run,
    /// so a record of a CPU path never carries another path's figures.
    last_path: Option<KernelPath>,
}

impl ProductInstance {
    fn new(case: ProductCase) -> Result<Self, String> {
        let ProductCase { shape, tokens, .. } = case;
        // All layouts of one shape share a stream, hence inputs and golden output.
        let mut stream = InputStream::new(&format!(
            "quant/product/{}x{}-t{tokens}",
            shape.rows, shape.cols
        ));
        let weights = bell_values(&mut stream, shape.rows * shape.cols);
        let i2s =
            ternarize_i2s(&weights, shape, QuantKernel::detect()).map_err(|e| e.to_string())?;
        drop(weights);
        let x = bell_values(&mut stream, tokens * shape.cols);
        let act = QuantizedActivations::zeroed(Shape::new(tokens, shape.cols))
            .map_err(|e| e.to_string())?;
        let laid_out = match case.layout {
            Layout::I2s => LaidOut::I2s,
            Layout::Tl1 => LaidOut::Tl1(Tl1Matrix::from_i2s(&i2s)),
            Layout::Tl2 => LaidOut::Tl2(Tl2Matrix::from_i2s(&i2s)),
        };
        Ok(ProductInstance {
            case,
            i2s,
            laid_out,
            x,
            act,
            scratch: LutScratch::default(),
            out: vec![0.0; tokens * shape.rows],
            parts: ThreadParts::default(),
            gpu: gpu::GpuState::default(),
            last_path: None,
        })
    }
}

impl Instance for ProductInstance {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(self.i2s.as_bytes());
        feed_f32(&self.x, sink);
    }

    fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
        self.last_path = None;
        self.run_on(path)?;
        self.last_path = Some(path);
        Ok(())
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        feed_f32(&self.out, sink);
    }

    fn extra_metrics(&self) -> Vec<(String, f64, String)> {
        let mut metrics = Vec::new();
        if self.last_path.is_some() && self.case.tokens == 1 {
            metrics.extend(accuracy_vs_f32(&self.i2s, &self.x, &self.out));
        }
        if self.last_path == Some(KernelPath::Gpu) {
            metrics.extend(self.gpu.metrics(self.i2s.packed().len()));
        }
        metrics
    }

    fn run_threads(&mut self, path: KernelPath, threads: usize) -> Result<(), RunError> {
        self.last_path = None;
        self.run_threads_on(path, threads)?;
        self.last_path = Some(path);
        Ok(())
    }
}

impl ProductInstance {
    fn run_on(&mut self, path: KernelPath) -> Result<(), RunError> {
        if path == KernelPath::Gpu && self.case.layout == Layout::I2s {
            // The host quantises the activations, as a GPU inference loop would hand them over.
            self.act
                .quantize_into(&self.x, QuantKernel::detect())
                .map_err(failed)?;
            return self.gpu.run(&self.i2s, &self.act, &mut self.out);
        }
        let kernel = cpu_kernel(path)?;
        product(
            self.laid_out.with(&self.i2s),
            &self.x,
            &mut self.act,
            &mut self.scratch,
            &mut self.out,
            kernel,
        )
    }

    fn run_threads_on(&mut self, path: KernelPath, threads: usize) -> Result<(), RunError> {
        if path == KernelPath::Gpu {
            return Err(RunError::Unavailable(
                "the GPU path does not run on several CPU threads".into(),
            ));
        }
        if self.case.tokens == 1 {
            // A GEMV has one token: registered without `parallel`, like the default says.
            return Err(RunError::Unavailable(
                "this workload does not run on several threads".into(),
            ));
        }
        let parallel = self.case.parallel();
        parallel.check(threads)?;
        let kernel = cpu_kernel(path)?;
        let Shape { rows, cols } = self.case.shape;
        let parts = self.parts.get_or_build(threads, |part| {
            let tokens = parallel.range(threads, part).len();
            Ok(TokenPart {
                act: QuantizedActivations::zeroed(Shape::new(tokens, cols)).map_err(failed)?,
                scratch: LutScratch::default(),
            })
        })?;
        // Tokens are rows of `x` and of `out` (token-major): each part takes the next ones.
        let weights = self.laid_out.with(&self.i2s);
        let (mut x, mut out) = (self.x.as_slice(), self.out.as_mut_slice());
        let work = parts.iter_mut().map(|part| {
            let tokens = part.act.shape().rows;
            let (x_part, x_rest) = x.split_at(tokens * cols);
            let (out_part, out_rest) = std::mem::take(&mut out).split_at_mut(tokens * rows);
            (x, out) = (x_rest, out_rest);
            (part, x_part, out_part)
        });
        on_threads(work, |(part, x, out)| {
            product(weights, x, &mut part.act, &mut part.scratch, out, kernel)
        })
    }
}

/// Quantises the activations `x` into `act` (of their shape) and multiplies them with the
/// weights in the layout measured, into `out`.
fn product(
    weights: Weights<'_>,
    x: &[f32],
    act: &mut QuantizedActivations,
    scratch: &mut LutScratch,
    out: &mut [f32],
    kernel: QuantKernel,
) -> Result<(), RunError> {
    act.quantize_into(x, kernel).map_err(failed)?;
    match weights {
        Weights::I2s(m) => gemm_i2s(m, act, out, kernel),
        Weights::Tl1(m) => gemm_tl1(m, act, out, scratch, kernel),
        Weights::Tl2(m) => gemm_tl2(m, act, out, scratch, kernel),
    }
    .map_err(failed)
}

#[cfg(feature = "cuda")]
mod gpu {
    //! The GPU path: weights uploaded once, then per run the activations go up, the
    //! kernel runs and the outputs come back; kernel and transfer times are kept apart.
    //! Every run's times are kept, and the metrics are their medians since setup: one run
    //! is as noisy as a single wall-clock sample, and the median is what the harness
    //! reports for wall-clock time too.

    use benchseal_kernels::gpu::{GpuError, GpuGemm, GpuTiming};
    use benchseal_kernels::quant::{I2sMatrix, QuantizedActivations};

    use super::median;
    use crate::registry::RunError;

    /// No NVRTC, a compute capability below 6.1, unusable CUDA libraries: the machine
    /// cannot run the path, which is a skip; every other GPU error is a defect.
    pub(super) fn run_error(e: GpuError) -> RunError {
        match e {
            GpuError::Unavailable(why) => RunError::Unavailable(why),
            other => RunError::Failed(other.to_string()),
        }
    }

    #[derive(Default)]
    pub(super) struct GpuState {
        gemm: Option<GpuGemm>,
        /// The times of every GPU run since setup.
        timings: Vec<GpuTiming>,
        /// The device's memory bandwidth bound, GB/s, when the driver reports it.
        peak_gbs: Option<f64>,
    }

    impl GpuState {
        pub(super) fn run(
            &mut self,
            weights: &I2sMatrix,
            act: &QuantizedActivations,
            out: &mut [f32],
        ) -> Result<(), RunError> {
            let gemm = match &mut self.gemm {
                Some(gemm) => gemm,
                None => {
                    benchseal_kernels::gpu::device_available().map_err(RunError::Unavailable)?;
                    let gemm = GpuGemm::new(weights, act.shape().rows).map_err(run_error)?;
                    self.peak_gbs = benchseal_kernels::gpu::gpu_info()
                        .ok()
                        .map(|info| info.peak_memory_bandwidth_gbs)
                        .filter(|gbs| *gbs > 0.0);
                    self.gemm.insert(gemm)
                }
            };
            let timing = gemm.run(act, out).map_err(run_error)?;
            self.timings.push(timing);
            Ok(())
        }

        /// Median kernel and transfer times over every GPU run since setup, and the weight
        /// bandwidth of the median kernel time; empty before the first GPU run.
        pub(super) fn metrics(&self, weight_bytes: usize) -> Vec<(String, f64, String)> {
            let Some(kernel_ms) = median(self.timings.iter().map(|t| t.kernel_ms)) else {
                return Vec::new();
            };
            let upload_ms = median(self.timings.iter().map(|t| t.upload_ms)).unwrap_or(f64::NAN);
            let download_ms =
                median(self.timings.iter().map(|t| t.download_ms)).unwrap_or(f64::NAN);
            // Packed weights are the bytes a GEMV must read: its bandwidth bound.
            let gbs = weight_bytes as f64 / (kernel_ms * 1e-3) / 1e9;
            let mut metrics = vec![
                ("gpu_kernel_time".into(), kernel_ms, "ms".into()),
                ("gpu_upload_time".into(), upload_ms, "ms".into()),
                ("gpu_download_time".into(), download_ms, "ms".into()),
                ("gpu_weight_bandwidth".into(), gbs, "GB/s".into()),
                ("gpu_runs".into(), self.timings.len() as f64, "count".into()),
            ];
            if let Some(peak) = self.peak_gbs {
                metrics.push(("gpu_bandwidth_fraction".into(), gbs / peak, "ratio".into()));
            }
            metrics
        }
    }
}

/// The median of `values` (mean of the middle two for an even count); `None` when empty.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

#[cfg(not(feature = "cuda"))]
mod gpu {
    use benchseal_kernels::quant::{I2sMatrix, QuantizedActivations};

    use crate::registry::RunError;

    #[derive(Default)]
    pub(super) struct GpuState {}

    impl GpuState {
        pub(super) fn run(
            &mut self,
            _: &I2sMatrix,
            _: &QuantizedActivations,
            _: &mut [f32],
        ) -> Result<(), RunError> {
            Err(RunError::Unavailable("built without feature `cuda`".into()))
        }

        pub(super) fn metrics(&self, _: usize) -> Vec<(String, f64, String)> {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn digest(instance: &dyn Instance) -> String {
        let mut h = Sha256::new();
        instance.output(&mut |b| h.update(b));
        format!("{:x}", h.finalize())
    }

    #[test]
    fn every_tiny_quant_workload_gives_one_output_per_shape_on_every_cpu_path() {
        let mut by_shape = std::collections::BTreeMap::<String, String>::new();
        for w in workloads().into_iter().filter(|w| w.id.size == Size::Tiny) {
            let mut instance = w.setup().unwrap();
            for path in [KernelPath::Scalar, KernelPath::Simd] {
                match instance.run(path) {
                    Ok(()) => {}
                    // SIMD switched off (BENCHSEAL_SIMD_LEVEL=none) or absent: nothing to compare.
                    Err(RunError::Unavailable(why)) if path == KernelPath::Simd => {
                        eprintln!("{}@simd not compared: {why}", w.id);
                        continue;
                    }
                    Err(e) => panic!("{} on {path}: {e}", w.id),
                }
                let d = digest(instance.as_ref());
                let shape = if w.id.kernel == "quantize" {
                    w.id.to_string()
                } else {
                    format!("{}{}", &w.id.kernel[..4], w.id.variant)
                };
                let first = by_shape.entry(shape).or_insert_with(|| d.clone());
                assert_eq!(*first, d, "{} on {path}", w.id);
            }
        }
        // quantize, the GEMV, the GEMM and the decode step.
        assert_eq!(by_shape.len(), 4, "{by_shape:?}");
    }

    #[test]
    fn quantize_reports_its_quality() {
        let w = workloads()
            .into_iter()
            .find(|w| w.id.to_string() == "quant/quantize/128x256/tiny")
            .unwrap();
        let mut instance = w.setup().unwrap();
        instance.run(KernelPath::Scalar).unwrap();
        let metrics = instance.extra_metrics();
        let cosine = metrics
            .iter()
            .find(|m| m.0 == "cosine_similarity")
            .unwrap()
            .1;
        let rms = metrics
            .iter()
            .find(|m| m.0 == "relative_rms_error")
            .unwrap()
            .1;
        // Ternarising bell-shaped weights keeps the direction well but not perfectly.
        assert!(cosine > 0.8 && cosine < 0.99, "{cosine}");
        assert!(rms > 0.1 && rms < 0.7, "{rms}");
    }

    #[test]
    fn a_gemv_reports_its_accuracy_against_the_f32_product_and_a_gemm_does_not() {
        let mut gemv = gemv_i2s_tiny();
        assert!(gemv.extra_metrics().is_empty(), "nothing before a run");
        for path in [KernelPath::Scalar, KernelPath::Simd] {
            if gemv.run(path).is_err() {
                continue;
            }
            let metrics = gemv.extra_metrics();
            let value = |name: &str| metrics.iter().find(|m| m.0 == name).unwrap().1;
            // int8 activations with per-token absmax scaling keep the direction closely
            // (128 levels a side) but not exactly.
            let cosine = value("cosine_vs_f32");
            assert!(cosine > 0.999 && cosine < 1.0, "{path}: {cosine}");
            let error = value("max_rel_error_vs_f32");
            assert!(error > 0.0 && error < 0.05, "{path}: {error}");
        }
        let mut gemm = workloads()
            .into_iter()
            .find(|w| w.id.to_string() == "quant/gemm-i2s/128x256-t8/tiny")
            .unwrap()
            .setup()
            .unwrap();
        gemm.run(KernelPath::Scalar).unwrap();
        assert!(gemm.extra_metrics().is_empty());
    }

    #[test]
    fn accuracy_against_itself_is_exact() {
        let weights: Vec<f32> = (0..4 * 128).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let i2s = ternarize_i2s(&weights, Shape::new(4, 128), QuantKernel::Scalar).unwrap();
        let x: Vec<f32> = (0..128).map(|i| (i % 5) as f32 - 2.0).collect();
        let exact: Vec<f32> = (0..4)
            .map(|r| {
                (0..128)
                    .map(|c| f32::from(i2s.weight(r, c).unwrap()) * x[c])
                    .sum::<f32>()
                    * i2s.scale()
            })
            .collect();
        let metrics = accuracy_vs_f32(&i2s, &x, &exact);
        assert!((metrics[0].1 - 1.0).abs() < 1e-12, "{metrics:?}");
        assert_eq!(metrics[1].1, 0.0, "{metrics:?}");
    }

    fn gemv_i2s_tiny() -> Box<dyn Instance> {
        workloads()
            .into_iter()
            .find(|w| w.id.to_string() == "quant/gemv-i2s/128x256/tiny")
            .unwrap()
            .setup()
            .unwrap()
    }

    /// Why this process cannot run the GPU path, `None` when it can.
    fn gpu_unavailable() -> Option<String> {
        #[cfg(feature = "cuda")]
        return benchseal_kernels::gpu::device_available().err();
        #[cfg(not(feature = "cuda"))]
        Some("built without feature `cuda`".into())
    }

    #[test]
    fn the_gpu_path_is_skipped_not_failed_without_a_device() {
        let Some(expected) = gpu_unavailable() else {
            // A device is present: the skip is not exercised here (the device case is
            // `gpu_output_and_median_metrics_on_a_device`, ignored by default). The GPU
            // path either runs or names why it cannot (e.g. compute capability, NVRTC).
            match gemv_i2s_tiny().run(KernelPath::Gpu) {
                Ok(()) => {}
                Err(RunError::Unavailable(why)) => eprintln!("GPU path unavailable: {why}"),
                Err(e) => panic!("the GPU path failed on a device: {e}"),
            }
            eprintln!("a device is present: the no-device skip was not checked");
            return;
        };
        let mut instance = gemv_i2s_tiny();
        assert_eq!(
            instance.run(KernelPath::Gpu),
            Err(RunError::Unavailable(expected))
        );
        assert!(instance.extra_metrics().is_empty());
    }

    #[cfg(feature = "cuda")]
    #[test]
    #[ignore = "needs a CUDA device"]
    fn gpu_output_and_median_metrics_on_a_device() {
        let mut instance = gemv_i2s_tiny();
        for _ in 0..5 {
            instance.run(KernelPath::Gpu).unwrap();
        }
        let gpu = digest(instance.as_ref());
        let metrics = instance.extra_metrics();
        let get = |name: &str| metrics.iter().find(|m| m.0 == name).map(|m| m.1);
        assert_eq!(get("gpu_runs"), Some(5.0), "{metrics:?}");
        assert!(get("gpu_kernel_time").unwrap() > 0.0, "{metrics:?}");
        assert!(
            metrics.iter().all(|m| m.0.starts_with("gpu_")),
            "{metrics:?}"
        );
        // A CPU run afterwards must not carry the GPU path's figures, and gives its bytes.
        instance.run(KernelPath::Scalar).unwrap();
        assert!(instance.extra_metrics().is_empty());
        assert_eq!(gpu, digest(instance.as_ref()));
    }

    #[cfg(feature = "cuda")]
    #[test]
    fn gpu_unavailable_at_gemm_creation_is_a_skip_not_a_failure() {
        use benchseal_kernels::gpu::GpuError;
        let why = "compute capability 5.2 lacks __dp4a (needs 6.1)".to_string();
        assert_eq!(
            gpu::run_error(GpuError::Unavailable(why.clone())),
            RunError::Unavailable(why)
        );
        assert!(matches!(
            gpu::run_error(GpuError::Compile("syntax".into())),
            RunError::Failed(_)
        ));
    }

    #[test]
    fn gpu_metrics_are_medians_not_the_last_run() {
        assert_eq!(median([5.0, 1.0, 100.0].into_iter()), Some(5.0));
        assert_eq!(median([4.0, 1.0, 2.0, 100.0].into_iter()), Some(3.0));
        assert_eq!(median(std::iter::empty()), None);
    }

    #[test]
    fn cpu_runs_report_no_gpu_metrics() {
        let mut instance = gemv_i2s_tiny();
        instance.run(KernelPath::Scalar).unwrap();
        let names: Vec<String> = instance.extra_metrics().into_iter().map(|m| m.0).collect();
        assert_eq!(names, ["cosine_vs_f32", "max_rel_error_vs_f32"]);
    }
}
