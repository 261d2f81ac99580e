//! The scaling pass: the workloads that divide their work among threads (the quant GEMMs
//! by tokens, codec decode by record ranges) run on 1, 2, … threads, in-process.
//!
//! Each thread count first runs once untimed (it allocates that count's per-thread
//! buffers), then `rounds` timed runs, one per round, the counts of a round in an order
//! rotated by the round, so slow drift of the machine touches every count alike (pyperf
//! interleaves the same way). The output of every run is hashed outside the timed region
//! and must equal the committed golden digest, or without one the one-thread output: a
//! result that depends on the thread count is `invalid (digest mismatch: …)`, exit 3.
//!
//! Each run also measures the CPU time of the calling thread, which runs the first part of
//! the work, against the run's wall time: below
//! [`CONTENDED_SHARE`](crate::model::record::CONTENDED_SHARE) the threads shared their
//! cores with another process, and such a scaling is marked contended (said in the
//! summary, skipped by the SLO metrics, never a kernel's failure).
//!
//! Only times, CPU shares and digests are recorded; speedup and efficiency are derived from them on
//! reading ([`ScalingRecord::speedup`]).

use std::time::Instant;

use benchseal_benches::registry::path_label;
use benchseal_benches::{Family, KernelPath, RunError, Size, Workload};

use crate::analysis::names::matches_pattern;
use crate::analysis::stats::median;
use crate::model::digest::Hasher;
use crate::model::golden::GoldenDigests;
use crate::model::record::{ScalingPoint, ScalingRecord, Status};
use crate::pipeline::digest_pass::DIGEST_MISMATCH;
use crate::sys::process::cpu;
use crate::sys::process::interrupt::Interrupt;

/// Timed rounds per thread count: `--quick` and otherwise.
pub const QUICK_ROUNDS: usize = 5;
pub const FULL_ROUNDS: usize = 11;

/// The tier whose parallel workloads the pass measures: large enough that a run takes
/// milliseconds (thread start-up is tens of microseconds), small enough for a quick run.
pub const SCALING_SIZE: Size = Size::Medium;

/// The tier the pass measures for a run of the tiers `sizes`: [`SCALING_SIZE`], or the
/// tiny tier when the run selects nothing else (a test-sized run gets a test-sized pass,
/// which measures thread start-up more than the kernel).
pub fn tier(sizes: &[Size]) -> Size {
    if !sizes.is_empty() && sizes.iter().all(|s| *s == Size::Tiny) {
        Size::Tiny
    } else {
        SCALING_SIZE
    }
}

/// What the scaling pass measures: thread counts, ascending, starting at 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Threads(Vec<usize>);

impl Threads {
    /// `requested` checked against `cores`: empty means 1..=cores; a count of 0 is
    /// refused, and one above `cores` too unless `oversubscribe`. One thread is always
    /// measured: it is what speedup is relative to.
    pub fn new(requested: &[usize], cores: usize, oversubscribe: bool) -> Result<Threads, String> {
        let mut threads: Vec<usize> = if requested.is_empty() {
            (1..=cores.max(1)).collect()
        } else {
            requested.to_vec()
        };
        if threads.contains(&0) {
            return Err("--threads: a thread count must be at least 1".into());
        }
        if !oversubscribe && let Some(&over) = threads.iter().find(|&&t| t > cores) {
            return Err(format!(
                "--threads {over}: this machine has {cores} core{} (nproc); more threads than \
                 cores measure the scheduler, not the kernel (add --oversubscribe to measure \
                 them anyway)",
                if cores == 1 { "" } else { "s" }
            ));
        }
        threads.push(1);
        threads.sort_unstable();
        threads.dedup();
        Ok(Threads(threads))
    }

    pub fn counts(&self) -> &[usize] {
        &self.0
    }
}

/// The cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The workloads the pass measures: parallel ones of the tier `size` in `suites`, and of
/// those only the ones matching one of `patterns` when there are any.
pub fn candidates<'a>(
    registry: &'a [Workload],
    size: Size,
    suites: &[Family],
    patterns: &[String],
) -> Vec<&'a Workload> {
    registry
        .iter()
        .filter(|w| w.parallel.is_some() && w.id.size == size)
        .filter(|w| suites.contains(&w.id.family))
        .filter(|w| {
            let id = w.id.to_string();
            patterns.is_empty() || patterns.iter().any(|p| matches_pattern(p, &id))
        })
        .collect()
}

/// The record of `workload` on `path` before any point is measured, with `status`:
/// `Skipped(why)` for one that will not be.
pub fn unmeasured(
    workload: &Workload,
    path: KernelPath,
    rounds: usize,
    status: Status,
) -> ScalingRecord {
    let parallel = workload
        .parallel
        .expect("candidates() keeps parallel workloads only");
    ScalingRecord {
        workload: workload.id.clone(),
        path,
        label: path_label(workload.id.family, path),
        unit: workload.unit,
        units: workload.units,
        divides: parallel.unit.into(),
        parts: parallel.count,
        rounds,
        status,
        left_out: None,
        points: Vec::new(),
    }
}

/// Measures `workload` on `path` at every count of `threads` up to the parts its work
/// divides into (the counts above are named in `left_out`).
pub fn measure(
    workload: &Workload,
    path: KernelPath,
    threads: &Threads,
    rounds: usize,
    golden: &GoldenDigests,
    interrupt: &Interrupt,
) -> ScalingRecord {
    let parallel = workload
        .parallel
        .expect("candidates() keeps parallel workloads only");
    let mut record = unmeasured(workload, path, rounds, Status::Ok);
    let counts: Vec<usize> = threads
        .counts()
        .iter()
        .copied()
        .filter(|&t| t <= parallel.count)
        .collect();
    if counts.len() < threads.counts().len() {
        // Said, not dropped: the counts above the work's parts are not measured.
        let dropped: Vec<String> = threads.counts()[counts.len()..]
            .iter()
            .map(|t| t.to_string())
            .collect();
        record.left_out = Some(format!(
            "{} {} cannot be shared among {} threads; measured up to {}",
            parallel.count,
            parallel.unit,
            dropped.join(", "),
            counts.last().copied().unwrap_or(1)
        ));
    }
    let mut instance = match workload.setup() {
        Ok(instance) => instance,
        Err(e) => {
            record.status = Status::Invalid(e);
            return record;
        }
    };
    let id = workload.id.to_string();
    let expected = golden.workloads.get(&id).map(|g| g.output_sha256.clone());
    if let Some(g) = golden.workloads.get(&id) {
        let mut hasher = Hasher::new();
        instance.input(&mut |b| hasher.update(b));
        let input = hasher.finish_hex();
        if input != g.input_sha256 {
            record.status = Status::Invalid(format!(
                "{DIGEST_MISMATCH}: input {input} differs from golden {}",
                g.input_sha256
            ));
            return record;
        }
    }
    // (wall ns, CPU share, output digest) of one run on `threads`.
    let run = |instance: &mut Box<dyn benchseal_benches::Instance>, threads: usize| {
        let cpu_before = cpu::thread_ns();
        let started = Instant::now();
        let result = instance.run_threads(path, threads);
        let elapsed = started.elapsed().as_nanos() as f64;
        let cpu_after = cpu::thread_ns();
        result.map(|()| {
            let share = match (cpu_before, cpu_after) {
                (Some(a), Some(b)) if elapsed > 0.0 => Some(b.saturating_sub(a) as f64 / elapsed),
                _ => None,
            };
            let mut hasher = Hasher::new();
            instance.output(&mut |b| hasher.update(b));
            (elapsed, share, hasher.finish_hex())
        })
    };
    let mut digests: Vec<String> = Vec::with_capacity(counts.len());
    // Untimed first runs: buffers, page faults, and each count's first digest.
    for &t in &counts {
        match run(&mut instance, t) {
            Ok((_, _, digest)) => digests.push(digest),
            Err(e) => {
                record.status = run_error(e, t);
                return record;
            }
        }
    }
    let reference = expected.clone().unwrap_or_else(|| digests[0].clone());
    let against = if expected.is_some() {
        "golden"
    } else {
        "one thread"
    };
    // Why `digest`, the output on `threads`, is not the reference; `None` when it is.
    let differs = |threads: usize, digest: &str| {
        (digest != reference)
            .then(|| format!("{threads} thread(s) gave output {digest}, {against} {reference}"))
    };
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); counts.len()];
    let mut shares: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); counts.len()];
    let mut mismatch: Option<String> = None;
    'rounds: for round in 0..rounds {
        if interrupt.requested() {
            break;
        }
        for k in 0..counts.len() {
            let i = (k + round) % counts.len();
            match run(&mut instance, counts[i]) {
                Ok((ns, share, digest)) => {
                    shares[i].extend(share);
                    if mismatch.is_none() {
                        mismatch = differs(counts[i], &digest);
                    }
                    digests[i] = digest;
                    samples[i].push(ns);
                }
                Err(e) => {
                    record.status = run_error(e, counts[i]);
                    break 'rounds;
                }
            }
        }
    }
    // The untimed first runs' digests too (all there is when no round ran).
    if mismatch.is_none() {
        mismatch = counts
            .iter()
            .zip(&digests)
            .find_map(|(&threads, digest)| differs(threads, digest));
    }
    if let Some(why) = mismatch {
        record.status = Status::Invalid(format!("{DIGEST_MISMATCH}: {why}"));
    }
    record.points = counts
        .iter()
        .zip(samples)
        .zip(shares)
        .zip(digests)
        .filter(|(((_, s), _), _)| !s.is_empty())
        .map(
            |(((&threads, samples_ns), shares), output_sha256)| ScalingPoint {
                threads,
                median_ns: median(&samples_ns).unwrap_or(0.0),
                samples_ns,
                output_sha256,
                cpu_share: median(&shares),
            },
        )
        .collect();
    record
}

fn run_error(e: RunError, threads: usize) -> Status {
    match e {
        RunError::Unavailable(why) => Status::Skipped(why),
        RunError::Failed(why) => {
            Status::Invalid(format!("kernel failed on {threads} thread(s): {why}"))
        }
    }
}

/// The path the pass measures of a workload: the fast path where the selection admits
/// it, else the scalar oracle; `None` when the selection admits neither. Never the GPU
/// or reference path: the pass scales this project's own CPU kernels, and neither of
/// those runs on several threads.
pub fn path_for(workload: &Workload, admitted: impl Fn(KernelPath) -> bool) -> Option<KernelPath> {
    [KernelPath::Simd, KernelPath::Scalar]
        .into_iter()
        .find(|&p| workload.paths.contains(&p) && admitted(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pass_measures_the_fastest_own_path_never_the_reference() {
        let registry = benchseal_benches::registry();
        let display = registry
            .iter()
            .find(|w| w.id.to_string() == "codec/display/cp037-10x50/medium")
            .unwrap();
        assert!(display.paths.contains(&KernelPath::Reference));
        assert_eq!(path_for(display, |_| true), Some(KernelPath::Simd));
        assert_eq!(
            path_for(display, |p| p != KernelPath::Simd),
            Some(KernelPath::Scalar)
        );
        assert_eq!(path_for(display, |p| p == KernelPath::Reference), None);
    }

    #[test]
    fn thread_counts_default_to_every_core_and_always_include_one() {
        assert_eq!(Threads::new(&[], 4, false).unwrap().counts(), &[1, 2, 3, 4]);
        assert_eq!(
            Threads::new(&[4, 2], 4, false).unwrap().counts(),
            &[1, 2, 4]
        );
        assert_eq!(Threads::new(&[], 1, false).unwrap().counts(), &[1]);
    }

    #[test]
    fn more_threads_than_cores_need_oversubscribe() {
        let err = Threads::new(&[1, 3], 2, false).unwrap_err();
        assert!(err.contains("--threads 3"), "{err}");
        assert!(err.contains("2 cores"), "{err}");
        assert!(err.contains("--oversubscribe"), "{err}");
        assert_eq!(Threads::new(&[3], 2, true).unwrap().counts(), &[1, 3]);
        let zero = Threads::new(&[0, 2], 2, false).unwrap_err();
        assert!(zero.contains("at least 1"), "{zero}");
    }

    #[test]
    fn candidates_are_parallel_workloads_of_the_scaling_tier() {
        let registry = benchseal_benches::registry();
        let all = candidates(&registry, SCALING_SIZE, &Family::ALL, &[]);
        let ids: Vec<String> = all.iter().map(|w| w.id.to_string()).collect();
        assert!(
            ids.contains(&"quant/gemm-i2s/4096x4096-t128/medium".to_string()),
            "{ids:?}"
        );
        assert!(
            ids.contains(&"codec/display/cp037-10x50/medium".to_string()),
            "{ids:?}"
        );
        assert!(ids.iter().all(|id| id.ends_with("/medium")), "{ids:?}");
        assert!(!ids.iter().any(|id| id.contains("jsonl")), "{ids:?}");
        let quant = candidates(
            &registry,
            SCALING_SIZE,
            &[Family::Quant],
            &["quant/gemm-tl1".into()],
        );
        assert!(!quant.is_empty());
        assert!(
            quant
                .iter()
                .all(|w| w.id.to_string().starts_with("quant/gemm-tl1"))
        );
        assert!(candidates(&registry, SCALING_SIZE, &[Family::Sync], &[]).is_empty());
        let tiny = candidates(&registry, Size::Tiny, &Family::ALL, &[]);
        assert_eq!(tiny.len(), 6, "three GEMM layouts and three decodes");
    }

    #[test]
    fn a_tiny_run_scales_the_tiny_tier_and_any_other_the_scaling_tier() {
        assert_eq!(tier(&[Size::Tiny]), Size::Tiny);
        for sizes in [&[][..], &[Size::Small], &[Size::Tiny, Size::Large]] {
            assert_eq!(tier(sizes), SCALING_SIZE, "{sizes:?}");
        }
    }

    /// The tiny I2_S GEMM: 8 tokens.
    fn tiny_gemm() -> Workload {
        benchseal_benches::registry()
            .into_iter()
            .find(|w| w.id.to_string() == "quant/gemm-i2s/128x256-t8/tiny")
            .expect("registered")
    }

    #[test]
    fn every_thread_count_of_a_small_gemm_reproduces_its_digest() {
        let workload = tiny_gemm();
        let workload = &workload;
        let record = measure(
            workload,
            KernelPath::Scalar,
            &Threads::new(&[2, 3], 3, false).unwrap(),
            2,
            &GoldenDigests::default(),
            &Interrupt::never(),
        );
        assert_eq!(record.status, Status::Ok);
        let threads: Vec<usize> = record.points.iter().map(|p| p.threads).collect();
        assert_eq!(threads, [1, 2, 3]);
        assert!(record.points.iter().all(|p| p.samples_ns.len() == 2));
        let first = &record.points[0].output_sha256;
        assert!(record.points.iter().all(|p| &p.output_sha256 == first));
        assert!(record.speedup(1).is_some_and(|s| (s - 1.0).abs() < 1e-12));
    }

    #[test]
    fn a_golden_digest_that_differs_is_a_mismatch() {
        let workload = tiny_gemm();
        let workload = &workload;
        let mut instance = workload.setup().unwrap();
        let mut hasher = Hasher::new();
        instance.input(&mut |b| hasher.update(b));
        let input_sha256 = hasher.finish_hex();
        instance.run(KernelPath::Scalar).unwrap();
        let mut golden = GoldenDigests::default();
        golden.workloads.insert(
            workload.id.to_string(),
            crate::model::golden::WorkloadDigests {
                input_sha256,
                output_sha256: "0".repeat(64),
            },
        );
        let record = measure(
            workload,
            KernelPath::Scalar,
            &Threads::new(&[2], 2, false).unwrap(),
            1,
            &golden,
            &Interrupt::never(),
        );
        assert!(
            matches!(&record.status, Status::Invalid(why) if why.starts_with(DIGEST_MISMATCH) && why.contains("golden")),
            "{:?}",
            record.status
        );
    }

    #[test]
    fn thread_counts_above_the_parts_are_named_not_dropped() {
        let workload = tiny_gemm();
        let workload = &workload;
        let record = measure(
            workload,
            KernelPath::Scalar,
            &Threads::new(&[8, 9], 2, true).unwrap(),
            1,
            &GoldenDigests::default(),
            &Interrupt::never(),
        );
        assert!(
            record
                .left_out
                .as_deref()
                .is_some_and(|why| why.contains("8 tokens cannot be shared among 9 threads")),
            "{:?}",
            record.left_out
        );
        assert_eq!(record.status, Status::Ok);
        assert_eq!(record.max_threads(), Some(8));
    }
}
