//! The digest pass: every selected workload is set up, its input hashed, each kernel path
//! run once and its output hashed, in-process, before any timing.
//!
//! Judging is separate from computing ([`judge`] is pure), so the same rules serve
//! `benchseal run` and `benchseal digests --check`: with a committed golden digest, every
//! path must reproduce it; without one, every path must reproduce the scalar oracle. A path
//! that does not is `invalid (digest mismatch: ...)` and its timings are never reported.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use benchseal_benches::registry::path_label;
use benchseal_benches::{KernelPath, RunError, Workload};

use crate::model::digest::Hasher;
use crate::model::golden::{GOLDEN_PATH, GoldenDigests, WorkloadDigests};
use crate::model::outcome::bad_input;
use crate::model::record::{
    Allocations, ExtraMetric, PathRecord, RoofRecord, Status, WorkloadRecord,
};
use crate::pipeline::select::Selected;
use crate::sys::process::interrupt::Interrupt;

/// Prefix of every status reason that means broken reproducibility (exit code 3).
pub const DIGEST_MISMATCH: &str = "digest mismatch";

/// What one path produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathOutput {
    /// SHA-256 of the serialised output.
    Digest(String),
    /// The path cannot run on this machine.
    Unavailable(String),
    /// The kernel returned an error on valid input.
    Failed(String),
}

/// Digests of one workload on every path that was run.
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    /// `Err`: setup failed, nothing ran.
    pub input_sha256: Result<String, String>,
    pub outputs: Vec<(KernelPath, PathOutput)>,
    /// The workload's own metrics after its scalar run: path-independent ones, since every
    /// valid path reproduces the scalar output (e.g. the ternarisation quality).
    pub extra: Vec<ExtraValue>,
    /// Per non-scalar path, the metrics its run reported that the scalar run did not
    /// (or reported with another value), e.g. the GPU kernel and transfer times, which only
    /// exist after a GPU run.
    pub path_extra: Vec<(KernelPath, Vec<ExtraValue>)>,
    /// Per path that ran, the allocations of its second (warm) run.
    pub allocations: Vec<(KernelPath, Allocations)>,
    /// Paths whose second and third runs allocated differently on the calling thread
    /// (work handed to threads of the kernel's own): no count is recorded for them.
    pub unsteady_allocations: Vec<KernelPath>,
}

/// A workload metric as [`benchseal_benches::Instance::extra_metrics`] reports it:
/// name, value, unit.
pub type ExtraValue = (String, f64, String);

impl Computed {
    pub fn output(&self, path: KernelPath) -> Option<&PathOutput> {
        self.outputs
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, o)| o)
    }
}

/// Runs `workload` once on each of `paths`, hashing input and outputs. The scalar oracle
/// runs first (it is added when missing, as the reference the other paths answer to).
pub fn compute(workload: &Workload, paths: &[KernelPath]) -> Computed {
    let mut instance = match workload.setup() {
        Ok(instance) => instance,
        Err(e) => {
            return Computed {
                input_sha256: Err(e),
                outputs: Vec::new(),
                extra: Vec::new(),
                path_extra: Vec::new(),
                allocations: Vec::new(),
                unsteady_allocations: Vec::new(),
            };
        }
    };
    let mut hasher = Hasher::new();
    instance.input(&mut |bytes| hasher.update(bytes));
    let input_sha256 = Ok(hasher.finish_hex());

    let mut order = vec![KernelPath::Scalar];
    order.extend(paths.iter().copied().filter(|p| *p != KernelPath::Scalar));
    let mut outputs = Vec::new();
    let mut extra = Vec::new();
    let mut path_extra = Vec::new();
    let mut allocations = Vec::new();
    let mut unsteady_allocations = Vec::new();
    for path in order {
        let output = match instance.run(path) {
            Ok(()) => {
                let mut hasher = Hasher::new();
                instance.output(&mut |bytes| hasher.update(bytes));
                // Collected after every path's run: some metrics exist only after one
                // path (the GPU's timings), and reading them once would lose them.
                let metrics = instance.extra_metrics();
                if path == KernelPath::Scalar {
                    extra = metrics;
                } else {
                    let own = path_specific(&extra, metrics);
                    if !own.is_empty() {
                        path_extra.push((path, own));
                    }
                }
                // A second run, counted: what each timed (warm) run allocates.
                if let (Ok(()), allocs) = crate::sys::alloc::counted(|| instance.run(path)) {
                    let counted = Allocations {
                        per_run: allocs.count,
                        bytes_per_run: allocs.bytes,
                    };
                    // The count is of the calling thread: a kernel that hands work to
                    // threads of its own allocates there too, and how much lands here can
                    // change from run to run. A third run must agree, or nothing is
                    // recorded (a varying count would read as a change when compared).
                    let steady = allocs.count == 0
                        || matches!(
                            crate::sys::alloc::counted(|| instance.run(path)),
                            (Ok(()), again) if again == allocs
                        );
                    if steady {
                        allocations.push((path, counted));
                    } else {
                        unsteady_allocations.push(path);
                    }
                }
                PathOutput::Digest(hasher.finish_hex())
            }
            Err(RunError::Unavailable(why)) => PathOutput::Unavailable(why),
            Err(RunError::Failed(why)) => PathOutput::Failed(why),
        };
        outputs.push((path, output));
    }
    Computed {
        input_sha256,
        outputs,
        extra,
        path_extra,
        allocations,
        unsteady_allocations,
    }
}

/// The metrics of a path's run that the scalar run did not report with the same value:
/// the rest are path-independent and recorded once, on the workload.
fn path_specific(scalar: &[ExtraValue], metrics: Vec<ExtraValue>) -> Vec<ExtraValue> {
    metrics
        .into_iter()
        .filter(|m| !scalar.contains(m))
        .collect()
}

/// [`compute`] for each selected workload, on as many threads as there are cores, in
/// the order given. Stops starting new workloads once `interrupt` is raised, so the result
/// may be shorter than `selected`. `on_done(count, workload)` reports progress.
pub fn compute_all(
    selected: &[Selected],
    interrupt: &Interrupt,
    mut on_done: impl FnMut(usize, &Selected),
) -> Vec<Computed> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(selected.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<Computed>> = vec![None; selected.len()];
    std::thread::scope(|scope| {
        let (results_tx, results_rx) = channel();
        for _ in 0..workers {
            let results_tx = results_tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= selected.len() || interrupt.requested() {
                        break;
                    }
                    let s = &selected[i];
                    if results_tx
                        .send((i, compute(&s.workload, &s.paths)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(results_tx);
        for (done, (i, computed)) in results_rx.into_iter().enumerate() {
            on_done(done + 1, &selected[i]);
            slots[i] = Some(computed);
        }
    });
    slots.into_iter().map_while(|slot| slot).collect()
}

/// The verdict on each path of `computed`, held to `golden` when the workload has one and
/// to the scalar oracle otherwise. Empty when setup failed (nothing ran).
pub fn judge(computed: &Computed, golden: Option<&WorkloadDigests>) -> Vec<(KernelPath, Status)> {
    let input = match &computed.input_sha256 {
        Ok(input) => input,
        // Nothing ran: the caller reports the setup error on every path.
        Err(_) => return Vec::new(),
    };
    let input_mismatch = golden.filter(|g| &g.input_sha256 != input).map(|g| {
        format!(
            "{DIGEST_MISMATCH}: input {input} differs from golden {}",
            g.input_sha256
        )
    });
    let scalar = match computed.output(KernelPath::Scalar) {
        Some(PathOutput::Digest(d)) => Some(d),
        _ => None,
    };
    computed
        .outputs
        .iter()
        .map(|(path, output)| {
            let status = match output {
                PathOutput::Unavailable(why) => Status::Skipped(why.clone()),
                PathOutput::Failed(why) => Status::Invalid(format!("kernel failed: {why}")),
                PathOutput::Digest(_) if input_mismatch.is_some() => {
                    Status::Invalid(input_mismatch.clone().unwrap_or_default())
                }
                PathOutput::Digest(d) => match (golden, scalar) {
                    (Some(g), _) if &g.output_sha256 != d => Status::Invalid(format!(
                        "{DIGEST_MISMATCH}: {path} output {d} differs from golden {}",
                        g.output_sha256
                    )),
                    (None, Some(s)) if s != d => Status::Invalid(format!(
                        "{DIGEST_MISMATCH}: {path} output {d} differs from the scalar oracle's {s}"
                    )),
                    _ => Status::Ok,
                },
            };
            (*path, status)
        })
        .collect()
}

/// Whether a status means broken reproducibility.
pub fn is_digest_mismatch(status: &Status) -> bool {
    matches!(status, Status::Invalid(why) if why.starts_with(DIGEST_MISMATCH))
}

/// The golden digests, and notes about what they do not cover.
pub struct Golden {
    pub digests: GoldenDigests,
    pub notes: Vec<String>,
}

pub fn load_golden(path: &Path) -> Result<Golden> {
    if path.is_file() {
        Ok(Golden {
            digests: crate::store::golden::load(path)?,
            notes: Vec::new(),
        })
    } else if path == Path::new(GOLDEN_PATH) {
        Ok(Golden {
            digests: GoldenDigests::default(),
            notes: vec![format!(
                "no golden digest file at {GOLDEN_PATH}: paths were checked against the scalar oracle only"
            )],
        })
    } else {
        Err(bad_input(format!(
            "golden digest file {} does not exist",
            path.display()
        )))
    }
}

pub fn digest_record(
    selected: &Selected,
    computed: Computed,
    golden: &Golden,
    notes: &mut Vec<String>,
) -> WorkloadRecord {
    let workload = &selected.workload;
    let id = workload.id.to_string();
    let golden_entry = golden.digests.workloads.get(&id);
    if golden_entry.is_none() && golden.notes.is_empty() {
        notes.push(format!(
            "{id} has no golden digest: its paths were checked against the scalar oracle only \
             (`benchseal digests --write` records one)"
        ));
    }
    for path in &computed.unsteady_allocations {
        notes.push(format!(
            "{id}@{path}: allocations not recorded: two warm runs allocated differently on the \
             calling thread (the kernel works on threads of its own, whose allocations are not \
             counted)"
        ));
    }
    let verdicts = judge(&computed, golden_entry);
    let paths = selected
        .paths
        .iter()
        .map(|&path| {
            let status = match &computed.input_sha256 {
                Err(e) => Status::Invalid(e.clone()),
                Ok(_) => verdicts
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, s)| s.clone())
                    .unwrap_or(Status::Skipped("not run".into())),
            };
            PathRecord {
                path,
                label: path_label(workload.id.family, path),
                output_sha256: match computed.output(path) {
                    Some(PathOutput::Digest(d)) => Some(d.clone()),
                    _ => None,
                },
                status,
                wall: None,
                instr: None,
                extra: computed
                    .path_extra
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, metrics)| extra_metrics(metrics))
                    .unwrap_or_default(),
                allocations: computed
                    .allocations
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, a)| *a),
            }
        })
        .collect();
    WorkloadRecord {
        id: workload.id.clone(),
        family: workload.id.family,
        unit: workload.unit,
        units: workload.units,
        describe: workload.describe.clone(),
        input_sha256: computed.input_sha256.clone().ok(),
        golden_output_sha256: golden_entry.map(|g| g.output_sha256.clone()),
        paths,
        extra: extra_metrics(&computed.extra),
        roof: workload.roof.map(|r| RoofRecord {
            workload: r.workload(workload.id.size),
            per_unit: r.per_unit,
            basis: r.basis.into(),
        }),
    }
}

fn extra_metrics(metrics: &[ExtraValue]) -> BTreeMap<String, ExtraMetric> {
    metrics
        .iter()
        .map(|(name, value, unit)| {
            (
                name.clone(),
                ExtraMetric {
                    value: *value,
                    unit: unit.clone(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn computed(outputs: &[(KernelPath, &str)]) -> Computed {
        Computed {
            input_sha256: Ok("in".into()),
            outputs: outputs
                .iter()
                .map(|(p, d)| (*p, PathOutput::Digest(d.to_string())))
                .collect(),
            extra: Vec::new(),
            path_extra: Vec::new(),
            allocations: Vec::new(),
            unsteady_allocations: Vec::new(),
        }
    }

    fn golden(input: &str, output: &str) -> WorkloadDigests {
        WorkloadDigests {
            input_sha256: input.into(),
            output_sha256: output.into(),
        }
    }

    #[test]
    fn agreeing_paths_are_ok_with_or_without_golden() {
        let c = computed(&[(KernelPath::Scalar, "a"), (KernelPath::Simd, "a")]);
        assert!(judge(&c, None).iter().all(|(_, s)| s.is_ok()));
        assert!(
            judge(&c, Some(&golden("in", "a")))
                .iter()
                .all(|(_, s)| s.is_ok())
        );
    }

    #[test]
    fn a_path_disagreeing_with_the_oracle_is_invalid() {
        let c = computed(&[(KernelPath::Scalar, "a"), (KernelPath::Simd, "b")]);
        let verdicts = judge(&c, None);
        assert!(verdicts[0].1.is_ok());
        assert!(is_digest_mismatch(&verdicts[1].1), "{:?}", verdicts[1]);
    }

    #[test]
    fn golden_is_the_authority_for_every_path_and_the_input() {
        let c = computed(&[(KernelPath::Scalar, "a"), (KernelPath::Simd, "a")]);
        let verdicts = judge(&c, Some(&golden("in", "z")));
        assert!(verdicts.iter().all(|(_, s)| is_digest_mismatch(s)));
        let verdicts = judge(&c, Some(&golden("other", "a")));
        assert!(verdicts.iter().all(|(_, s)| is_digest_mismatch(s)));
        assert!(
            verdicts[0]
                .1
                .to_string()
                .contains("input in differs from golden other")
        );
    }

    #[test]
    fn unavailable_is_skipped_and_failure_is_invalid_but_not_a_mismatch() {
        let c = Computed {
            input_sha256: Ok("in".into()),
            outputs: vec![
                (KernelPath::Scalar, PathOutput::Digest("a".into())),
                (KernelPath::Simd, PathOutput::Failed("bad zone at 3".into())),
                (
                    KernelPath::Gpu,
                    PathOutput::Unavailable("no CUDA device".into()),
                ),
            ],
            extra: Vec::new(),
            path_extra: Vec::new(),
            allocations: Vec::new(),
            unsteady_allocations: Vec::new(),
        };
        let v = judge(&c, None);
        assert_eq!(
            v[1].1,
            Status::Invalid("kernel failed: bad zone at 3".into())
        );
        assert!(!is_digest_mismatch(&v[1].1));
        assert_eq!(v[2].1, Status::Skipped("no CUDA device".into()));
    }

    /// Reports a quality metric after every run and a `gpu_ms` metric only after a GPU run,
    /// like the quant GPU instance.
    struct GpuLike {
        last: Option<KernelPath>,
    }

    impl benchseal_benches::Instance for GpuLike {
        fn input(&self, sink: &mut dyn FnMut(&[u8])) {
            sink(b"in");
        }
        fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
            self.last = Some(path);
            Ok(())
        }
        fn output(&self, sink: &mut dyn FnMut(&[u8])) {
            sink(b"out");
        }
        fn extra_metrics(&self) -> Vec<ExtraValue> {
            let mut metrics = vec![("quality".to_string(), 0.5, "ratio".to_string())];
            if self.last == Some(KernelPath::Gpu) {
                metrics.push(("gpu_ms".to_string(), 2.0, "ms".to_string()));
            }
            metrics
        }
    }

    #[test]
    fn gpu_extra_metrics_are_collected_after_the_gpu_run_not_only_after_scalar() {
        let workload = Workload::new(
            "quant/gemm/i2s/tiny".parse().unwrap(),
            benchseal_benches::Unit::Bytes,
            1,
            &[KernelPath::Scalar, KernelPath::Gpu],
            "test",
            || Ok(Box::new(GpuLike { last: None })),
        );
        let computed = compute(&workload, &[KernelPath::Scalar, KernelPath::Gpu]);
        assert_eq!(
            computed.extra,
            vec![("quality".to_string(), 0.5, "ratio".to_string())]
        );
        assert_eq!(
            computed.path_extra,
            vec![(
                KernelPath::Gpu,
                vec![("gpu_ms".to_string(), 2.0, "ms".to_string())]
            )]
        );
    }
}

#[cfg(test)]
mod allocation_tests {
    use super::*;

    /// Scalar allocates a 100-byte buffer on every run; SIMD grows a kept buffer once.
    struct Allocating {
        kept: Vec<u8>,
        output: Vec<u8>,
    }

    impl benchseal_benches::Instance for Allocating {
        fn input(&self, sink: &mut dyn FnMut(&[u8])) {
            sink(b"in");
        }
        fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
            match path {
                KernelPath::Scalar => self.output = vec![7; 100],
                _ => {
                    self.kept.resize(100, 7);
                    self.output.clone_from(&self.kept);
                }
            }
            Ok(())
        }
        fn output(&self, sink: &mut dyn FnMut(&[u8])) {
            sink(&self.output);
        }
    }

    #[test]
    fn each_path_records_what_its_warm_run_allocates() {
        let workload = Workload::new(
            "sync/alloc/x/tiny".parse().unwrap(),
            benchseal_benches::Unit::Bytes,
            100,
            &[KernelPath::Scalar, KernelPath::Simd],
            "test",
            || {
                Ok(Box::new(Allocating {
                    kept: Vec::new(),
                    output: Vec::new(),
                }))
            },
        );
        let computed = compute(&workload, &[KernelPath::Scalar, KernelPath::Simd]);
        assert_eq!(
            computed.allocations,
            vec![
                (
                    KernelPath::Scalar,
                    Allocations {
                        per_run: 1,
                        bytes_per_run: 100
                    }
                ),
                (
                    KernelPath::Simd,
                    Allocations {
                        per_run: 0,
                        bytes_per_run: 0
                    }
                ),
            ]
        );
    }
}
