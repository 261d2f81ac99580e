//! Workloads of the roof family: the roofline references the kernels are read against
//! (docs/architecture.md, "Roofline references").
//!
//! Every tier measures single-core sequential read, copy (`memcpy`) and write (`memset`)
//! over buffers of the tier's working set ([`Size::working_set`]), so a kernel is compared
//! with what the same cache level or memory allows, and an int8 dot-product peak on an
//! L1-resident block. They run in the same session as the kernels (the harness adds the
//! roofs a selection names), and their outputs are hashed like any kernel's, so a roof
//! that did not do its work cannot be quoted.

use benchseal_kernels::quant::QuantKernel;
use benchseal_kernels::roof::{
    DOT_VECTOR, RoofError, copy, copy_scalar, dot_i8, dot_i8_scalar, read_sum, read_sum_scalar,
    write_fill, write_fill_scalar,
};

use std::hint::black_box;

use crate::input::{AlignedBytes, InputStream};
use crate::registry::{Instance, KernelPath, RoofKind, RunError, Size, Unit, Workload};

/// The path a roof registers: its fastest. The scalar loops behind [`Instance::run`]'s
/// `scalar` arm are oracles the tests hold the vector loops to, not roofs, and measuring
/// them took about 8 s of a quick run (docs/architecture.md, "Roofline references").
const ROOF_PATHS: &[KernelPath] = &[KernelPath::Simd];

/// Vectors in the dot loop's block: 6 KiB, resident in any L1 data cache.
const DOT_BLOCK_VECTORS: usize = 96;

/// The byte the write roof stores.
const FILL: u8 = 0xA5;

/// Passes over the dot block per run: a few microseconds at the tiny tier (instruction
/// counts under valgrind), about 12 M multiply-accumulates elsewhere.
fn dot_rounds(size: Size) -> usize {
    match size {
        Size::Tiny => 16,
        Size::Small | Size::Medium | Size::Large => 2000,
    }
}

/// Bytes one call of a memory roof moves at least: a call over the tiny tier's 6 KiB takes
/// tens of nanoseconds, most of them the call's own cost, so it passes over its buffer
/// (which stays where the tier puts it) until it has moved this much.
const LEAST_BYTES_PER_CALL: usize = 256 * 1024;

/// Passes over a buffer of `bytes` per call of a memory roof.
fn passes(bytes: usize) -> usize {
    LEAST_BYTES_PER_CALL.div_ceil(bytes).max(1)
}

pub fn workloads() -> Vec<Workload> {
    let mut all = Vec::new();
    for size in Size::ALL {
        let bytes = size.working_set();
        let passes = passes(bytes);
        let human = human_bytes(bytes);
        for kind in [RoofKind::Read, RoofKind::Copy, RoofKind::Write] {
            let id = kind.workload(size);
            let stem = id.stem();
            let describe = match kind {
                RoofKind::Read => format!(
                    "roof: sequential read of a {human} buffer on one core (sum of every \
                     64-bit word, widest loads); unit = bytes read"
                ),
                RoofKind::Copy => format!(
                    "roof: memcpy of a {human} buffer into another on one core; unit = bytes \
                     copied"
                ),
                _ => format!("roof: memset of a {human} buffer on one core; unit = bytes written"),
            };
            let describe = if passes > 1 {
                format!("{describe} ({passes} passes per call)")
            } else {
                describe
            };
            all.push(Workload::new(
                id,
                Unit::Bytes,
                (bytes * passes) as u64,
                ROOF_PATHS,
                describe,
                move || {
                    Ok(Box::new(MemoryRoof::new(kind, &stem, bytes, passes)) as Box<dyn Instance>)
                },
            ));
        }
        let id = RoofKind::DotI8.workload(size);
        let stem = id.stem();
        let rounds = dot_rounds(size);
        let macs = rounds * DOT_BLOCK_VECTORS * DOT_VECTOR;
        all.push(Workload::new(
            id,
            Unit::Macs,
            macs as u64,
            ROOF_PATHS,
            format!(
                "roof: int8 multiply-accumulates (u8 × i8, four summed into each i32 lane) over \
                 a {} KiB L1-resident block, {rounds} passes, independent accumulators \
                 (vpdpbusd with AVX-512 VNNI, vpmaddubsw + vpmaddwd with AVX2); unit = MACs",
                DOT_BLOCK_VECTORS * DOT_VECTOR / 1024
            ),
            move || Ok(Box::new(DotRoof::new(&stem, rounds)) as Box<dyn Instance>),
        ));
    }
    all
}

fn human_bytes(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        let mib = bytes as f64 / f64::from(1 << 20);
        format!("{mib} MiB")
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// The implementation behind the roofs' `simd` path here.
pub fn simd_label() -> String {
    match QuantKernel::detect() {
        QuantKernel::Avx512Vnni => "simd (avx512, vnni; libc memcpy/memset)".into(),
        QuantKernel::Avx2 => "simd (avx2; libc memcpy/memset)".into(),
        QuantKernel::Scalar => "simd (none: libc memcpy/memset only)".into(),
    }
}

/// The kernel level the `simd` path runs at, or why the read and dot roofs cannot run.
fn simd_kernel() -> Result<QuantKernel, RunError> {
    match QuantKernel::detect() {
        QuantKernel::Scalar => Err(RunError::Unavailable(format!(
            "no vector loads or int8 dot instructions at SIMD level `{}` (needs AVX2)",
            benchseal_kernels::simd::SimdLevel::detect()
        ))),
        kernel => Ok(kernel),
    }
}

fn other_path(path: KernelPath) -> RunError {
    RunError::Unavailable(format!("the roof family has no {path} path"))
}

/// Buffers start on a 64-byte boundary: a 64-byte load that straddles two cache lines
/// costs two, and the C library's `memcpy` and `memset` run a different prologue (another
/// instruction count) for another start address.
struct MemoryRoof {
    kind: RoofKind,
    /// Passes over the buffer per run; each gives the same output.
    passes: usize,
    source: AlignedBytes,
    target: AlignedBytes,
    sum: u64,
}

impl MemoryRoof {
    fn new(kind: RoofKind, stem: &str, bytes: usize, passes: usize) -> Self {
        let source = match kind {
            RoofKind::Write => AlignedBytes::new(&[]),
            _ => AlignedBytes::new(&InputStream::new(stem).bytes(bytes)),
        };
        let target = match kind {
            RoofKind::Read => AlignedBytes::new(&[]),
            // Written once here, so that the timed runs do not fault its pages in.
            _ => AlignedBytes::new(&vec![0u8; bytes]),
        };
        MemoryRoof {
            kind,
            passes,
            source,
            target,
            sum: 0,
        }
    }
}

impl Instance for MemoryRoof {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        match self.kind {
            RoofKind::Write => sink(&[FILL]),
            _ => sink(&self.source),
        }
    }

    fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
        let kernel = match path {
            KernelPath::Scalar => None,
            KernelPath::Simd => Some(simd_kernel()?),
            other => return Err(other_path(other)),
        };
        if self.kind == RoofKind::Read {
            // The read loops run their passes themselves.
            self.sum = match kernel {
                None => read_sum_scalar(&self.source, self.passes),
                Some(k) => read_sum(&self.source, self.passes, k),
            };
            return Ok(());
        }
        for _ in 0..self.passes {
            // Hidden from the optimiser, so that no pass is dropped as a repeat.
            let (source, target) = black_box((&self.source, &mut self.target));
            match (kernel, self.kind) {
                (None, RoofKind::Copy) => copy_scalar(target, source),
                (None, _) => write_fill_scalar(target, FILL),
                (Some(_), RoofKind::Copy) => copy(target, source),
                (Some(_), _) => write_fill(target, FILL),
            }
        }
        Ok(())
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        match self.kind {
            RoofKind::Read => sink(&self.sum.to_le_bytes()),
            _ => sink(&self.target),
        }
    }
}

struct DotRoof {
    /// On a 64-byte boundary, so that no load straddles two cache lines.
    block: AlignedBytes,
    weights: Vec<i8>,
    rounds: usize,
    sums: Vec<u8>,
}

impl DotRoof {
    /// Block bytes below 128 and weights in −2..=2, so AVX2's saturating pair sums are
    /// exact ([`dot_i8`]).
    fn new(stem: &str, rounds: usize) -> Self {
        let mut stream = InputStream::new(stem);
        let block: Vec<u8> = stream
            .bytes(DOT_BLOCK_VECTORS * DOT_VECTOR)
            .into_iter()
            .map(|b| b & 0x7F)
            .collect();
        let block = AlignedBytes::new(&block);
        let weights = (0..DOT_VECTOR).map(|_| stream.below(5) as i8 - 2).collect();
        DotRoof {
            block,
            weights,
            rounds,
            sums: Vec::new(),
        }
    }
}

impl Instance for DotRoof {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&self.block);
        let weights: Vec<u8> = self.weights.iter().map(|&w| w as u8).collect();
        sink(&weights);
        sink(&(self.rounds as u64).to_le_bytes());
    }

    fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
        let sums = match path {
            KernelPath::Scalar => dot_i8_scalar(&self.block, &self.weights, self.rounds),
            KernelPath::Simd => dot_i8(&self.block, &self.weights, self.rounds, simd_kernel()?),
            other => return Err(other_path(other)),
        }
        .map_err(|e| match e {
            RoofError::NoDotInstructions => RunError::Unavailable(e.to_string()),
            RoofError::DotShape { .. } => RunError::Failed(e.to_string()),
        })?;
        self.sums.clear();
        self.sums.extend(sums.iter().flat_map(|s| s.to_le_bytes()));
        Ok(())
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&self.sums);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Family, registry};

    #[test]
    fn every_tier_has_the_four_roofs_and_every_roof_a_kernel_reads_exists() {
        let all = registry();
        let roofs: Vec<_> = all.iter().filter(|w| w.id.family == Family::Roof).collect();
        assert_eq!(roofs.len(), 4 * Size::ALL.len());
        for w in &all {
            if let Some(roof) = w.roof {
                let id = roof.workload(w.id.size);
                assert!(all.iter().any(|r| r.id == id), "{}: no {id}", w.id);
                assert!(roof.per_unit > 0.0, "{}", w.id);
            }
        }
        for (id, bytes) in [
            ("roof/copy/memcpy/small", 3 * 512 * 1024),
            ("roof/read/seq/large", 1 << 28),
        ] {
            let w = all.iter().find(|w| w.id.to_string() == id).unwrap();
            assert_eq!((w.unit, w.units), (Unit::Bytes, bytes));
        }
    }

    #[test]
    fn memory_roofs_do_their_work_on_both_paths() {
        for kind in [RoofKind::Read, RoofKind::Copy, RoofKind::Write] {
            let mut roof = MemoryRoof::new(kind, "roof/test", 10_000, 3);
            let mut outputs = Vec::new();
            for path in [KernelPath::Scalar, KernelPath::Simd] {
                roof.target.iter_mut().for_each(|b| *b = 0);
                roof.run(path).unwrap();
                let mut out = Vec::new();
                roof.output(&mut |b| out.extend_from_slice(b));
                outputs.push(out);
            }
            assert_eq!(outputs[0], outputs[1], "{kind:?}");
            match kind {
                RoofKind::Read => {
                    assert_eq!(outputs[0], read_sum_scalar(&roof.source, 3).to_le_bytes())
                }
                RoofKind::Copy => assert_eq!(outputs[0], &roof.source[..]),
                _ => assert!(outputs[0].iter().all(|&b| b == FILL) && outputs[0].len() == 10_000),
            }
            assert!(matches!(
                roof.run(KernelPath::Gpu),
                Err(RunError::Unavailable(_))
            ));
        }
    }
}
