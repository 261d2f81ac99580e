//! Workloads of the sync family (docs/architecture.md, "Kernels / sync"; kernels in `benchseal_kernels::sync`).
//!
//! Tiers, chosen per kernel because a single-file or single-buffer kernel has no natural
//! "bigger" version of itself:
//!
//! | kernel  | tiny                 | small                  | medium                  |
//! |---------|----------------------|------------------------|-------------------------|
//! | detect  | corpus of 100 files  | 8 KiB text, 4 KiB binary, 14 KB text, corpus of 1000 files | — |
//! | compare | 13 B pairs           | 4 KiB pairs            | 1 MiB pairs             |
//! | plan    | 104 files            | 1000 files             | 10 000 files            |
//! | cache   | 100 operations       | 10 000 operations      | —                       |
//!
//! Comparison ids name the size in the variant too (`identical-1mib`) so an id reads on its
//! own. Every comparison size has a `memcmp-*` reference workload: slice `==`, which
//! lowers to the C library's `memcmp`/`bcmp`, on the same identical pair, so the ratio
//! "ours vs the platform's" comes from one run. Planning and the cache have one real
//! implementation each for the registry, so they register only the `Scalar` path: for
//! planning that is the fast planner `benchseal sync plan` runs (its tests hold it to the
//! one-thread oracle), as a file-system-bound kernel has no vector path.
//! [`write_plan_trees`] writes a planning workload's trees to disk for whole commands.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use benchseal_kernels::simd::SimdLevel;
use benchseal_kernels::sync::cache::TtlCache;
use benchseal_kernels::sync::compare::{Comparison, compare, compare_scalar};
use benchseal_kernels::sync::detect::{Detection, detect, detect_at};
use benchseal_kernels::sync::plan::{Excludes, Plan, plan, plan_on};

use crate::input::{AlignedBytes, InputStream};
use crate::registry::{
    Family, Instance, KernelPath, RoofKind, RunError, Size, Unit, Workload, WorkloadId,
};

const BOTH_PATHS: &[KernelPath] = &[KernelPath::Scalar, KernelPath::Simd];
const SCALAR_ONLY: &[KernelPath] = &[KernelPath::Scalar];

pub fn workloads() -> Vec<Workload> {
    let mut all = Vec::new();
    detect_workloads(&mut all);
    compare_workloads(&mut all);
    plan_workloads(&mut all);
    cache_workloads(&mut all);
    all
}

pub fn simd_label() -> String {
    format!("simd ({})", SimdLevel::detect())
}

/// The SIMD level a `path` runs at: the scalar oracle or this process's fastest level.
fn level_for(path: KernelPath) -> Result<SimdLevel, RunError> {
    match path {
        KernelPath::Scalar => Ok(SimdLevel::None),
        KernelPath::Simd => Ok(SimdLevel::detect()),
        KernelPath::Gpu => Err(RunError::Unavailable(
            "the sync family has no GPU path".into(),
        )),
        KernelPath::Reference => Err(RunError::Unavailable(
            "the sync family has no reference path".into(),
        )),
    }
}

fn id(kernel: &str, variant: &str, size: Size) -> WorkloadId {
    WorkloadId::new(Family::Sync, kernel, variant, size)
}

/// Printable ASCII text: lines of 2–12 letter words, 20–100 bytes each, LF-terminated,
/// cut to exactly `len` bytes.
fn text(stream: &mut InputStream, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    while out.len() < len {
        let line_len = 20 + stream.below(81) as usize;
        let line_start = out.len();
        while out.len() - line_start < line_len {
            let word = 2 + stream.below(11) as usize;
            for _ in 0..word {
                out.push(b'a' + stream.below(26) as u8);
            }
            out.push(b' ');
        }
        out.pop();
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

// ---------------------------------------------------------------------------------------
// Binary detection

/// One file of a detection workload: the name feeds the extension lists.
struct Sample {
    name: PathBuf,
    bytes: AlignedBytes,
}

struct DetectInstance {
    samples: Vec<Sample>,
    /// [`VERDICT_LEN`] bytes per sample, see [`encode`].
    verdicts: Vec<u8>,
}

/// Bytes per file in a detection workload's output.
const VERDICT_LEN: usize = 11;

/// Kind and reason (as indices of their enums), then — when the content decided — the
/// sampled length and suspicious count (u32 LE) and the NUL flag, zeros otherwise. The
/// counts make the output prove the sample was scanned, not just that a verdict came out.
fn encode(d: Detection) -> [u8; VERDICT_LEN] {
    use benchseal_kernels::sync::detect::{FileKind, Reason};
    let kind = match d.kind {
        FileKind::Text => 0,
        FileKind::Binary => 1,
    };
    let reason = match d.reason {
        Reason::TextExtension => 0,
        Reason::BinaryExtension => 1,
        Reason::Empty => 2,
        Reason::Nul => 3,
        Reason::SuspiciousShare => 4,
        Reason::MostlyPrintable => 5,
    };
    let mut out = [0u8; VERDICT_LEN];
    out[0] = kind;
    out[1] = reason;
    if let Some(stats) = d.stats {
        out[2..6].copy_from_slice(&(stats.sampled as u32).to_le_bytes());
        out[6..10].copy_from_slice(&(stats.suspicious as u32).to_le_bytes());
        out[10] = u8::from(stats.has_nul);
    }
    out
}

impl Instance for DetectInstance {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        for s in &self.samples {
            let name = s.name.as_os_str().as_encoded_bytes();
            sink(&(name.len() as u64).to_le_bytes());
            sink(name);
            sink(&(s.bytes.len() as u64).to_le_bytes());
            sink(&s.bytes);
        }
    }

    fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
        let level = level_for(path)?;
        for (s, out) in self
            .samples
            .iter()
            .zip(self.verdicts.chunks_exact_mut(VERDICT_LEN))
        {
            let verdict = match level {
                SimdLevel::None => detect_at(&s.name, &s.bytes, level),
                _ => detect(&s.name, &s.bytes),
            };
            out.copy_from_slice(&encode(verdict));
        }
        Ok(())
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&self.verdicts);
    }
}

fn detect_instance(samples: Vec<Sample>) -> Box<dyn Instance> {
    let verdicts = vec![0; samples.len() * VERDICT_LEN];
    Box::new(DetectInstance { samples, verdicts })
}

/// A generated repository-like corpus: a third of the files carry a known extension, the
/// rest need their content read; contents are text, UTF-8-heavy text, control-heavy
/// bytes, random binary (NULs) or empty, 0–16 KiB long.
fn corpus(stream: &mut InputStream, files: usize) -> Vec<Sample> {
    const NAMES: [&str; 6] = ["rs", "png", "md", "zip", "", "data"];
    (0..files)
        .map(|i| {
            let ext = NAMES[stream.below(NAMES.len() as u64) as usize];
            let name = if ext.is_empty() {
                format!("dir{}/file{i:04}", i % 26)
            } else {
                format!("dir{}/file{i:04}.{ext}", i % 26)
            };
            let len = stream.below(16 * 1024 + 1) as usize;
            let bytes = match stream.below(10) {
                0 => Vec::new(),
                1 | 2 => stream.bytes(len),
                3 => {
                    // Mostly text with a sprinkling of controls: either side of 30%.
                    let mut t = text(stream, len);
                    let share = stream.below(60);
                    for b in t.iter_mut() {
                        if stream.below(100) < share {
                            *b = 1 + stream.below(31) as u8;
                        }
                    }
                    t
                }
                4 => {
                    // UTF-8 heavy: two-byte sequences for every other character.
                    let mut t = text(stream, len);
                    for pair in t.chunks_exact_mut(4) {
                        pair[0] = 0xC3;
                        pair[1] = 0xA9;
                    }
                    t
                }
                _ => text(stream, len),
            };
            Sample {
                name: PathBuf::from(name),
                bytes: AlignedBytes::new(&bytes),
            }
        })
        .collect()
}

fn detect_workloads(all: &mut Vec<Workload>) {
    let singles: [(&str, usize, bool, &str); 3] = [
        ("text-8kib", 8 * 1024, true, "an 8 KiB ASCII text file"),
        ("binary-4kib", 4 * 1024, false, "a 4 KiB random binary file"),
        (
            "text-14kb",
            14_000,
            true,
            "a 14 000-byte ASCII text file (8 KiB sampled)",
        ),
    ];
    for (variant, len, is_text, what) in singles {
        let wid = id("detect", variant, Size::Small);
        let stem = wid.stem();
        all.push(Workload::new(
            wid,
            Unit::Files,
            1,
            BOTH_PATHS,
            format!("binary detection of {what} with no known extension"),
            move || {
                let mut stream = InputStream::new(&stem);
                let bytes = if is_text {
                    text(&mut stream, len)
                } else {
                    stream.bytes(len)
                };
                Ok(detect_instance(vec![Sample {
                    name: PathBuf::from("sample"),
                    bytes: AlignedBytes::new(&bytes),
                }]))
            },
        ));
    }
    for (size, files) in [(Size::Tiny, 100usize), (Size::Small, 1000)] {
        let wid = id("detect", "mixed-corpus", size);
        let stem = wid.stem();
        all.push(Workload::new(
            wid,
            Unit::Files,
            files as u64,
            BOTH_PATHS,
            format!("binary detection over a mixed corpus of {files} generated files"),
            move || Ok(detect_instance(corpus(&mut InputStream::new(&stem), files))),
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Content comparison

/// Where the second buffer of a pair differs from the first.
#[derive(Clone, Copy)]
enum Change {
    Identical,
    /// One byte changed at 1% of the length (byte 1 of 13).
    Early,
    /// One byte changed at 99% of the length (byte 11 of 13).
    Late,
}

/// The two sides of a comparison, each on an aligned start ([`AlignedBytes`]), so that the
/// vector kernels and `memcmp` take the same path in every bench process.
struct ComparePair {
    old: AlignedBytes,
    new: AlignedBytes,
}

impl ComparePair {
    fn make(stem: &str, len: usize, change: Change) -> ComparePair {
        let old = text(&mut InputStream::new(stem), len);
        let mut new = old.clone();
        let at = match change {
            Change::Identical => None,
            Change::Early => Some((len / 100).max(1)),
            Change::Late => Some(len - 1 - (len / 100).max(1)),
        };
        if let Some(at) = at {
            new[at] = if new[at] == b'#' { b'%' } else { b'#' };
        }
        ComparePair {
            old: AlignedBytes::new(&old),
            new: AlignedBytes::new(&new),
        }
    }

    fn feed(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&(self.old.len() as u64).to_le_bytes());
        sink(&self.old);
        sink(&(self.new.len() as u64).to_le_bytes());
        sink(&self.new);
    }
}

struct CompareInstance {
    pair: ComparePair,
    result: Comparison,
}

impl Instance for CompareInstance {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        self.pair.feed(sink);
    }

    fn run(&mut self, path: KernelPath) -> Result<(), RunError> {
        let (old, new) = (&self.pair.old[..], &self.pair.new[..]);
        self.result = match level_for(path)? {
            SimdLevel::None => compare_scalar(old, new),
            _ => compare(old, new),
        };
        Ok(())
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&self.result.to_bytes());
    }
}

/// The platform reference: slice equality, i.e. `memcmp`/`bcmp` from the C library.
struct MemcmpInstance {
    pair: ComparePair,
    equal: bool,
}

impl Instance for MemcmpInstance {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        self.pair.feed(sink);
    }

    fn run(&mut self, _path: KernelPath) -> Result<(), RunError> {
        let old = std::hint::black_box(&self.pair.old[..]);
        let new = std::hint::black_box(&self.pair.new[..]);
        self.equal = std::hint::black_box(old == new);
        Ok(())
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        sink(&[u8::from(self.equal)]);
    }
}

/// A comparison reads both buffers up to the first difference (all of them when equal).
const COMPARE_ROOF: &str = "bytes read per byte compared (two buffers)";

fn compare_workloads(all: &mut Vec<Workload>) {
    // With the roof tier whose working set holds the pair: L1 for 13 B and 4 KiB pairs
    // (the tiny tier's 6 KiB), L2 for the 1 MiB pair (the small tier's 1.5 MiB).
    let sizes = [
        (Size::Tiny, 13usize, "13b", Size::Tiny),
        (Size::Small, 4096, "4kib", Size::Tiny),
        (Size::Medium, 1 << 20, "1mib", Size::Small),
    ];
    let changes = [
        (Change::Identical, "identical", "identical"),
        (Change::Early, "early", "one byte changed at 1%"),
        (Change::Late, "late", "one byte changed at 99%"),
    ];
    for (size, len, label, roof_at) in sizes {
        for (change, name, what) in changes {
            let wid = id("compare", &format!("{name}-{label}"), size);
            // Every variant of one size compares against the same base text.
            let stem = format!("sync/compare/{label}");
            let workload = Workload::new(
                wid,
                Unit::Bytes,
                len as u64,
                BOTH_PATHS,
                format!(
                    "compare two {len}-byte text buffers, {what}: equality, first difference, changed lines"
                ),
                move || {
                    Ok(Box::new(CompareInstance {
                        pair: ComparePair::make(&stem, len, change),
                        result: Comparison { difference: None },
                    }) as Box<dyn Instance>)
                },
            );
            // An identical pair is read whole; the others stop at their difference, so
            // they name no roof (their work is not a full read).
            all.push(if matches!(change, Change::Identical) {
                workload.with_roof_at(RoofKind::Read, roof_at, 2.0, COMPARE_ROOF)
            } else {
                workload
            });
        }
        let stem = format!("sync/compare/{label}");
        all.push(
            Workload::new(
                id("compare", &format!("memcmp-{label}"), size),
                Unit::Bytes,
                len as u64,
                SCALAR_ONLY,
                format!("reference: the C library's memcmp on the identical {len}-byte pair"),
                move || {
                    Ok(Box::new(MemcmpInstance {
                        pair: ComparePair::make(&stem, len, Change::Identical),
                        equal: false,
                    }) as Box<dyn Instance>)
                },
            )
            .with_roof_at(RoofKind::Read, roof_at, 2.0, COMPARE_ROOF),
        );
    }
}

// ---------------------------------------------------------------------------------------
// Directory sync planning

/// Generated trees: the source files, then what the target holds instead.
struct TreeSpec {
    source: Vec<(String, Vec<u8>)>,
    target: Vec<(String, Vec<u8>)>,
}

/// `files` source files over 26 folders `a`..`z`, 0–4 KiB each; the target is the source
/// with, per file, 4% missing (create), 4% edited in place at the same size (update by
/// digest), 4% grown (update by size), plus one extra target file per 25 (delete). One
/// file in 50 is a `.tmp` file that the workload's exclusion glob skips.
fn tree_spec(stream: &mut InputStream, files: usize) -> TreeSpec {
    let mut spec = TreeSpec {
        source: Vec::with_capacity(files),
        target: Vec::with_capacity(files),
    };
    for i in 0..files {
        let folder = (b'a' + (i % 26) as u8) as char;
        let ext = if i % 50 == 49 { "tmp" } else { "txt" };
        let path = format!("{folder}/file-{i:05}.{ext}");
        let len = stream.below(4097) as usize;
        let contents = text(stream, len);
        let fate = stream.below(100);
        let mut target_contents = contents.clone();
        match fate {
            0..=3 => {
                spec.source.push((path, contents));
                continue;
            }
            4..=7 if !target_contents.is_empty() => {
                let at = stream.below(target_contents.len() as u64) as usize;
                target_contents[at] ^= 0x20;
            }
            8..=11 => target_contents.extend_from_slice(b"appended line\n"),
            _ => {}
        }
        if i % 25 == 24 {
            spec.target
                .push((format!("{folder}/stale-{i:05}.txt"), b"stale\n".to_vec()));
        }
        spec.source.push((path.clone(), contents));
        spec.target.push((path, target_contents));
    }
    spec.source.sort();
    spec.target.sort();
    spec
}

fn write_tree(root: &Path, files: &[(String, Vec<u8>)]) -> Result<(), String> {
    for folder in b'a'..=b'z' {
        let dir = root.join((folder as char).to_string());
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for (rel, contents) in files {
        let path = root.join(rel);
        std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Generates the trees of `files` source files from the stream `stem` and writes them.
fn write_trees(stem: &str, files: usize, source: &Path, target: &Path) -> Result<TreeSpec, String> {
    let spec = tree_spec(&mut InputStream::new(stem), files);
    write_tree(source, &spec.source)?;
    write_tree(target, &spec.target)?;
    Ok(spec)
}

struct PlanInstance {
    /// Owns the on-disk trees; removed when the instance is dropped.
    _dir: tempfile::TempDir,
    source: PathBuf,
    target: PathBuf,
    spec: TreeSpec,
    excludes: Excludes,
    /// `None`: one per core, as `benchseal sync plan` runs; one once the instr bench
    /// executable asks for exact counts.
    threads: Option<NonZeroUsize>,
    plan: Plan,
}

impl Instance for PlanInstance {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        for (side, files) in [
            (b"source", &self.spec.source),
            (b"target", &self.spec.target),
        ] {
            sink(side);
            for (path, contents) in files {
                sink(&(path.len() as u64).to_le_bytes());
                sink(path.as_bytes());
                sink(&(contents.len() as u64).to_le_bytes());
                sink(contents);
            }
        }
    }

    fn run(&mut self, _path: KernelPath) -> Result<(), RunError> {
        self.plan = match self.threads {
            None => plan(&self.source, &self.target, &self.excludes),
            Some(threads) => plan_on(&self.source, &self.target, &self.excludes, threads),
        }
        .map_err(|e| RunError::Failed(e.to_string()))?;
        if let Some(p) = self.plan.problems.first() {
            return Err(RunError::Failed(format!(
                "{} {}: {}",
                p.side.name(),
                p.path.display(),
                p.detail
            )));
        }
        Ok(())
    }

    fn stay_on_calling_thread(&mut self) {
        self.threads = Some(NonZeroUsize::MIN);
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        let mut bytes = Vec::new();
        self.plan.write_canonical(&mut bytes);
        sink(&bytes);
    }
}

/// Source files per size tier of `sync/plan/tree-26-dirs`.
const PLAN_TIERS: [(Size, usize); 3] = [
    (Size::Tiny, 104),
    (Size::Small, 1000),
    (Size::Medium, 10_000),
];

/// What [`write_plan_trees`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanTrees {
    /// The workload whose trees they are.
    pub workload: WorkloadId,
    pub source_files: usize,
    pub target_files: usize,
}

/// Writes the source and target trees that `sync/plan/tree-26-dirs/<size>` plans, from
/// the workload's own seeded stream, under `source` and `target` (created as needed;
/// existing files of the same names are overwritten), so a whole command can be timed on
/// the workload's exact work. An error names the path that could not be written.
pub fn write_plan_trees(size: Size, source: &Path, target: &Path) -> Result<PlanTrees, String> {
    let Some(&(_, files)) = PLAN_TIERS.iter().find(|(s, _)| *s == size) else {
        return Err(format!(
            "sync/plan/tree-26-dirs has no {} tier (tiers: tiny, small, medium)",
            size.name()
        ));
    };
    let workload = id("plan", "tree-26-dirs", size);
    let spec = write_trees(&workload.stem(), files, source, target)?;
    Ok(PlanTrees {
        workload,
        source_files: spec.source.len(),
        target_files: spec.target.len(),
    })
}

fn plan_workloads(all: &mut Vec<Workload>) {
    for (size, files) in PLAN_TIERS {
        let wid = id("plan", "tree-26-dirs", size);
        let stem = wid.stem();
        all.push(Workload::new(
            wid,
            Unit::Files,
            files as u64,
            SCALAR_ONLY,
            format!(
                "sync plan of {files} source files in 26 folders against an edited copy on disk \
                 (stat, SHA-256 of same-size pairs, exclusion glob **/*.tmp)"
            ),
            move || {
                let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
                let source = dir.path().join("source");
                let target = dir.path().join("target");
                let spec = write_trees(&stem, files, &source, &target)?;
                let excludes = Excludes::new(&["**/*.tmp"]).map_err(|e| e.to_string())?;
                Ok(Box::new(PlanInstance {
                    _dir: dir,
                    source,
                    target,
                    spec,
                    excludes,
                    threads: None,
                    plan: Plan::default(),
                }) as Box<dyn Instance>)
            },
        ));
    }
}

// ---------------------------------------------------------------------------------------
// TTL cache

/// Entries in the cache before every run; the cache's size bound.
const CACHE_ENTRIES: usize = 16 * 1024;
/// Long enough that nothing expires during a benchmark: eviction is by size here, and
/// expiry is covered by the tests.
const CACHE_TTL: u64 = u64::MAX / 4;

#[derive(Clone, Copy, PartialEq, Eq)]
enum CacheMix {
    /// Every operation a `get` of a present key.
    Hit,
    /// Every operation a `get` of an absent key.
    Miss,
    /// Every operation a `set` of a new key into the full cache (evicting the oldest).
    Set,
    /// 90% `get` of present keys, 10% `set` overwriting present keys.
    Mixed,
}

/// The value stored for a key, so outputs can check what a `get` returned.
fn value_of(key: u64) -> u64 {
    key.rotate_left(17) ^ 0x9E37_79B9_7F4A_7C15
}

/// SipHash with fixed (zero) keys. The cache's default `RandomState` draws new keys per
/// process, which moves keys between buckets and changed the instruction counts of the
/// cache workloads from run to run; a benchmark must do the same work every time.
type FixedHasher = std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

struct CacheInstance {
    cache: TtlCache<u64, u64, FixedHasher>,
    mix: CacheMix,
    /// One key per operation, drawn from the input stream; `is_set[i]` for the mixed run.
    keys: Vec<u64>,
    is_set: Vec<bool>,
    /// `Set` runs insert `keys[i] + fresh_offset`, advanced per run so every run inserts
    /// keys the cache has never seen and does the same work.
    fresh_offset: u64,
    /// Monotonic time: advanced by one per operation.
    now: u64,
    checksum: u64,
}

impl Instance for CacheInstance {
    fn input(&self, sink: &mut dyn FnMut(&[u8])) {
        for (key, set) in self.keys.iter().zip(&self.is_set) {
            sink(&key.to_le_bytes());
            sink(&[u8::from(*set)]);
        }
    }

    fn run(&mut self, _path: KernelPath) -> Result<(), RunError> {
        self.cache.reset_stats();
        let mut checksum = 0u64;
        match self.mix {
            CacheMix::Hit | CacheMix::Miss => {
                for key in &self.keys {
                    self.now += 1;
                    let got = self.cache.get(key, self.now).copied().unwrap_or(0);
                    checksum = checksum.wrapping_add(got);
                }
            }
            CacheMix::Set => {
                self.fresh_offset += 1 << 40;
                for key in &self.keys {
                    self.now += 1;
                    let key = key + self.fresh_offset;
                    self.cache.set(key, value_of(key), self.now);
                }
            }
            CacheMix::Mixed => {
                for (key, &set) in self.keys.iter().zip(&self.is_set) {
                    self.now += 1;
                    if set {
                        self.cache.set(*key, value_of(*key), self.now);
                    } else {
                        let got = self.cache.get(key, self.now).copied().unwrap_or(0);
                        checksum = checksum.wrapping_add(got);
                    }
                }
            }
        }
        self.checksum = checksum;
        Ok(())
    }

    fn output(&self, sink: &mut dyn FnMut(&[u8])) {
        let s = self.cache.stats();
        for field in [
            self.checksum,
            s.hits,
            s.misses,
            s.expired_evictions,
            s.capacity_evictions,
        ] {
            sink(&field.to_le_bytes());
        }
    }
}

fn cache_instance(stem: &str, mix: CacheMix, ops: usize) -> CacheInstance {
    let mut stream = InputStream::new(stem);
    let capacity = NonZeroUsize::new(CACHE_ENTRIES).expect("non-zero");
    let mut cache = TtlCache::with_hasher(capacity, CACHE_TTL, FixedHasher::default());
    // Present keys have their low bit clear; absent keys have it set.
    let present: Vec<u64> = (0..CACHE_ENTRIES)
        .map(|_| stream.next_u64() & !1 & ((1 << 40) - 1))
        .collect();
    for (now, &key) in present.iter().enumerate() {
        cache.set(key, value_of(key), now as u64);
    }
    let mut keys = Vec::with_capacity(ops);
    let mut is_set = Vec::with_capacity(ops);
    for _ in 0..ops {
        let key = match mix {
            CacheMix::Miss => stream.next_u64() | 1,
            CacheMix::Set => stream.next_u64() & ((1 << 40) - 1),
            CacheMix::Hit | CacheMix::Mixed => present[stream.below(CACHE_ENTRIES as u64) as usize],
        };
        keys.push(key);
        is_set.push(match mix {
            CacheMix::Set => true,
            CacheMix::Mixed => stream.below(10) == 0,
            CacheMix::Hit | CacheMix::Miss => false,
        });
    }
    cache.reset_stats();
    CacheInstance {
        cache,
        mix,
        keys,
        is_set,
        fresh_offset: 0,
        now: CACHE_ENTRIES as u64,
        checksum: 0,
    }
}

fn cache_workloads(all: &mut Vec<Workload>) {
    let mixes = [
        (CacheMix::Hit, "get-hit", "get of a present key"),
        (CacheMix::Miss, "get-miss", "get of an absent key"),
        (
            CacheMix::Set,
            "set",
            "set of a new key into the full cache, evicting the oldest",
        ),
        (
            CacheMix::Mixed,
            "mixed-90-10",
            "90% get of a present key, 10% set overwriting one",
        ),
    ];
    for (size, ops) in [(Size::Tiny, 100usize), (Size::Small, 10_000)] {
        for (mix, variant, what) in mixes {
            let wid = id("cache", variant, size);
            let stem = wid.stem();
            all.push(Workload::new(
                wid,
                Unit::Operations,
                ops as u64,
                SCALAR_ONLY,
                format!("TTL cache of {CACHE_ENTRIES} u64 entries: {ops} operations, each a {what}; keys vary per operation"),
                move || Ok(Box::new(cache_instance(&stem, mix, ops)) as Box<dyn Instance>),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn digest(f: impl Fn(&mut dyn FnMut(&[u8]))) -> [u8; 32] {
        let mut h = Sha256::new();
        f(&mut |b: &[u8]| h.update(b));
        h.finalize().into()
    }

    /// Every tiny sync workload runs on each of its paths, the paths agree byte for byte,
    /// and a second run gives the same output as the first (runs are repeatable).
    #[test]
    fn tiny_workloads_agree_across_paths_and_repeated_runs() {
        let tiny: Vec<_> = workloads()
            .into_iter()
            .filter(|w| w.id.size == Size::Tiny)
            .collect();
        assert!(tiny.len() >= 10, "tiny tier covers every kernel");
        for w in tiny {
            let mut outputs = Vec::new();
            for &path in &w.paths {
                let mut inst = w.setup().unwrap();
                for _ in 0..2 {
                    inst.run(path).unwrap_or_else(|e| panic!("{}: {e}", w.id));
                    outputs.push(digest(|sink| inst.output(sink)));
                }
            }
            assert!(
                outputs.windows(2).all(|p| p[0] == p[1]),
                "{} outputs differ",
                w.id
            );
        }
    }

    #[test]
    fn comparison_variants_find_what_they_claim() {
        for (change, expect_equal) in [
            (Change::Identical, true),
            (Change::Early, false),
            (Change::Late, false),
        ] {
            let pair = ComparePair::make("t", 4096, change);
            assert_eq!(
                compare_scalar(&pair.old, &pair.new).is_equal(),
                expect_equal
            );
        }
        let late = ComparePair::make("t", 1 << 20, Change::Late);
        let d = compare_scalar(&late.old, &late.new).difference.unwrap();
        assert!(d.offset > (1 << 20) * 98 / 100);
    }

    /// The output of one run of `sync/plan/tree-26-dirs/<size>`, on the calling thread only
    /// if `one_thread`.
    fn plan_output(size: &str, one_thread: bool) -> Vec<u8> {
        let w = workloads()
            .into_iter()
            .find(|w| w.id.to_string() == format!("sync/plan/tree-26-dirs/{size}"))
            .unwrap();
        let mut inst = w.setup().unwrap();
        if one_thread {
            inst.stay_on_calling_thread();
        }
        inst.run(KernelPath::Scalar).unwrap();
        let mut out = Vec::new();
        inst.output(&mut |b: &[u8]| out.extend_from_slice(b));
        out
    }

    /// The output of one run of `sync/plan/tree-26-dirs/tiny`.
    fn tiny_plan_output() -> Vec<u8> {
        plan_output("tiny", false)
    }

    /// What the instr engine counts (the calling thread only) plans what the wall engine
    /// times (a thread per core).
    #[test]
    fn plan_workload_output_is_the_same_on_the_calling_thread_only() {
        for size in ["tiny", "small"] {
            assert_eq!(plan_output(size, true), plan_output(size, false), "{size}");
        }
    }

    #[test]
    fn plan_workload_exercises_every_action_and_the_exclusion() {
        let text = String::from_utf8(tiny_plan_output()).unwrap();
        for action in ["create\t", "update\t", "delete\t", "unchanged\t"] {
            assert!(
                text.lines().any(|l| l.starts_with(action)),
                "no {action} in plan"
            );
        }
        assert!(!text.contains(".tmp"), "excluded files were planned");
        assert!(
            text.lines()
                .any(|l| l.starts_with("update") && l.contains("\tcontent\t"))
        );
    }

    /// The trees `write_plan_trees` writes are the workload's: planning them gives the
    /// workload's output byte for byte.
    #[test]
    fn written_plan_trees_plan_as_the_workload() {
        let expected = tiny_plan_output();
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("s"), dir.path().join("d"));
        let written = write_plan_trees(Size::Tiny, &src, &dst).unwrap();
        assert_eq!(written.workload.to_string(), "sync/plan/tree-26-dirs/tiny");
        assert_eq!(written.source_files, 104);
        let excludes = Excludes::new(&["**/*.tmp"]).unwrap();
        let mut got = Vec::new();
        plan(&src, &dst, &excludes)
            .unwrap()
            .write_canonical(&mut got);
        assert_eq!(String::from_utf8(got), String::from_utf8(expected));
        assert!(
            write_plan_trees(Size::Large, &src, &dst)
                .unwrap_err()
                .contains("no large tier")
        );
    }

    #[test]
    fn cache_workloads_hit_and_miss_as_named() {
        for (variant, hits, misses) in [("get-hit", 100, 0), ("get-miss", 0, 100)] {
            let mut inst = cache_instance(
                &format!("sync/cache/{variant}"),
                if hits > 0 {
                    CacheMix::Hit
                } else {
                    CacheMix::Miss
                },
                100,
            );
            inst.run(KernelPath::Scalar).unwrap();
            assert_eq!(
                (inst.cache.stats().hits, inst.cache.stats().misses),
                (hits, misses)
            );
        }
        let mut set = cache_instance("sync/cache/set", CacheMix::Set, 100);
        set.run(KernelPath::Scalar).unwrap();
        set.run(KernelPath::Scalar).unwrap();
        assert_eq!(set.cache.stats().capacity_evictions, 100);
    }
}
