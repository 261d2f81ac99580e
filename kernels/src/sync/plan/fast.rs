//! The fast planner: the oracle's decisions, with fewer and cheaper system calls and both
//! cores busy. Planning is system-call bound (a `stat` per entry, an open, a read and a
//! close per file of each same-size pair), so the speed comes from three changes, not from
//! vector code:
//!
//! - **Directory descriptors.** Each directory is opened once and its children are listed
//!   (`getdents64`, 32 KiB per call), `lstat`ed (`fstatat`), read as links (`readlinkat`)
//!   and opened (`openat`) relative to it, so the kernel resolves one name per call rather
//!   than the whole path from the root. Descriptors of up to [`HELD_DIRS`] directories per
//!   tree stay open for the content pass; files in further directories are opened by path,
//!   so a tree of any size stays within the descriptor limit.
//! - **Both trees at once.** The source and the target are walked as two tasks, one per
//!   thread.
//! - **Contents on every core.** The merge only notes each same-size pair; the pairs are
//!   then split evenly among the threads up front, in contiguous ranges (so every run does
//!   the same work on each thread, and the calling thread's allocations are the same from
//!   run to run), and the results are put back in path order. A read-failure problem
//!   concerns only its own file, so deciding the pairs after the merge gives exactly the
//!   oracle's entries and problems, in the oracle's order.
//!
//! - **Helpers on CPUs of their own.** A kernel that queues a new thread behind its parent
//!   on one CPU (as VM kernels that pack virtual CPUs do) would run the two halves one after
//!   the other; so a helper that has not started within 100 µs of being created gets the
//!   CPU, and the calling thread steps aside to another one (see `cpus.rs`).
//!
//! Small jobs (under [`MIN_PARALLEL_PAIRS`] pairs or [`MIN_PARALLEL_BYTES`]) are compared
//! on the calling thread: starting a thread costs more than it saves there.
//!
//! The caller says how many threads ([`super::plan_on`]; [`super::plan`] takes one per
//! core). One thread runs everything on the calling thread, which is what the instr bench
//! executable asks for: a run that starts and joins threads executes a number of
//! instructions that varies a little from run to run (the join's wait), and a count must be
//! exact to be compared.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::thread;

use super::cpus::{self, Spread};
use super::dir::{Dir, RawEntry};
use super::{
    Action, ContentDigest, Evidence, Excludes, FileOpener, FsOpener, Listing, Node, PairReader,
    PairResult, Plan, PlanError, ProblemKind, Side, merge, root_identity,
};

/// Directories per tree whose descriptors are kept for the content pass: both trees'
/// stay well under the usual soft limit of 1024 open descriptors per process.
const HELD_DIRS: usize = 256;
/// Below this many same-size pairs, or this many bytes, the pairs are compared on the
/// calling thread. The 1000-file tree (1.7 MB of pairs) is above both: on a 2-core VM,
/// idle, it planned in 3.9 ms on two threads against 5.47 ms on one.
const MIN_PARALLEL_PAIRS: usize = 32;
const MIN_PARALLEL_BYTES: u64 = 256 * 1024;
/// At most this many threads.
const MAX_THREADS: usize = 16;

/// How the content pass opens files.
#[derive(Clone, Copy)]
pub(super) enum Opener<'a> {
    /// From the held directory descriptor (by path beyond [`HELD_DIRS`]).
    Fs,
    /// By path, through the caller's opener.
    Custom(&'a dyn FileOpener),
}

/// One walked tree, with what the content pass needs to open its files again.
#[derive(Default)]
struct TreeListing {
    listing: Listing,
    /// Per entry of `listing`: for a file, its directory's index in `dirs` and its name.
    files: Vec<Option<(usize, CString)>>,
    /// Held directory descriptors, by the order directories were walked.
    dirs: Vec<Option<Dir>>,
}

impl TreeListing {
    fn push(&mut self, path: PathBuf, node: Node, file: Option<(usize, CString)>) {
        self.listing.entries.push((path, node));
        self.files.push(file);
    }

    /// Opens the file at entry `index`, relative path `rel`, for reading.
    fn open(&self, root: &Path, index: usize, rel: &Path, opener: Opener<'_>) -> io::Result<File> {
        let path = || root.join(rel);
        match opener {
            Opener::Custom(opener) => opener.open(&path()),
            Opener::Fs => match &self.files[index] {
                Some((dir, name)) => match &self.dirs[*dir] {
                    Some(dir) => dir.open_file(name),
                    None => FsOpener.open(&path()),
                },
                None => FsOpener.open(&path()),
            },
        }
    }
}

struct Walker<'a> {
    side: Side,
    excludes: &'a Excludes,
    /// (device, inode) of each directory on the current path, root first.
    ancestors: Vec<(u64, u64)>,
    out: TreeListing,
}

impl Walker<'_> {
    fn problem(&mut self, path: PathBuf, kind: ProblemKind, detail: impl Into<String>) {
        self.out
            .listing
            .problem(self.side, path, kind, detail.into());
    }

    /// Lists `dir` (relative `rel`), children sorted by name so the pre-order walk yields
    /// entries already in path order; the same decisions as the oracle's walker.
    fn walk_dir(&mut self, dir: Dir, rel: &Path) {
        let mut children = match dir.entries() {
            Ok(children) => children,
            Err(e) => {
                return self.problem(rel.to_path_buf(), ProblemKind::ListDirectory, e.to_string());
            }
        };
        children.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        let index = self.out.dirs.len();
        self.out.dirs.push(None);
        for child in children {
            self.visit(&dir, index, child, rel);
        }
        if index < HELD_DIRS {
            self.out.dirs[index] = Some(dir);
        }
    }

    fn visit(&mut self, dir: &Dir, index: usize, child: RawEntry, rel: &Path) {
        let child_rel = rel.join(OsStr::from_bytes(child.name.as_bytes()));
        if self.excludes.matches(&child_rel) {
            self.out.listing.excluded += 1;
            return;
        }
        // `d_type` first; an `lstat` where the file system leaves it unknown, and where
        // the size or identity is needed. Never follow a link.
        let mut stat = None;
        let mut d_type = child.d_type;
        if d_type == libc::DT_UNKNOWN {
            match dir.stat(&child.name) {
                Ok(s) => {
                    d_type = s.d_type();
                    stat = Some(s);
                }
                Err(e) => return self.problem(child_rel, ProblemKind::Metadata, e.to_string()),
            }
        }
        if matches!(d_type, libc::DT_REG | libc::DT_DIR) && stat.is_none() {
            match dir.stat(&child.name) {
                Ok(s) => stat = Some(s),
                Err(e) => return self.problem(child_rel, ProblemKind::Metadata, e.to_string()),
            }
        }
        match (d_type, stat) {
            (libc::DT_LNK, _) => match dir.read_link(&child.name) {
                Ok(target) => self.out.push(child_rel, Node::Symlink { target }, None),
                Err(e) => self.problem(child_rel, ProblemKind::ReadLink, e.to_string()),
            },
            (libc::DT_REG, Some(stat)) => self.out.push(
                child_rel,
                Node::File { size: stat.size },
                Some((index, child.name)),
            ),
            (libc::DT_DIR, Some(stat)) => {
                let id = (stat.dev, stat.ino);
                if self.ancestors.contains(&id) {
                    return self.problem(
                        child_rel,
                        ProblemKind::DirectoryCycle,
                        "directory is its own ancestor; not descended into",
                    );
                }
                self.out.push(child_rel.clone(), Node::Dir, None);
                match dir.open_dir(&child.name) {
                    Ok(child_dir) => {
                        self.ancestors.push(id);
                        self.walk_dir(child_dir, &child_rel);
                        self.ancestors.pop();
                    }
                    Err(e) => self.problem(child_rel, ProblemKind::ListDirectory, e.to_string()),
                }
            }
            (other, _) => {
                let what = special_file_name(other);
                self.problem(
                    child_rel,
                    ProblemKind::SpecialFile,
                    format!("{what}: not a regular file, directory or symlink; skipped"),
                );
            }
        }
    }
}

/// The name of a `d_type` that is not a file, directory or symlink.
fn special_file_name(d_type: u8) -> &'static str {
    match d_type {
        libc::DT_FIFO => "fifo",
        libc::DT_SOCK => "socket",
        libc::DT_BLK => "block device",
        libc::DT_CHR => "character device",
        _ => "unknown file type",
    }
}

/// Walks one root; `Ok(None)` for a missing target root.
fn list_tree(
    side: Side,
    root: &Path,
    excludes: &Excludes,
) -> Result<Option<TreeListing>, PlanError> {
    let Some(id) = root_identity(side, root)? else {
        return Ok(None);
    };
    let mut walker = Walker {
        side,
        excludes,
        ancestors: vec![id],
        out: TreeListing::default(),
    };
    match Dir::open(root) {
        Ok(dir) => walker.walk_dir(dir, Path::new("")),
        Err(e) => walker.problem(PathBuf::new(), ProblemKind::ListDirectory, e.to_string()),
    }
    Ok(Some(walker.out))
}

/// Runs `work(state, i)` for every task `i` in `0..tasks` on the calling thread and up to
/// `threads - 1` helpers, each with its own `state` from `init`; results in task order.
///
/// The tasks are split up front into contiguous, even ranges, one per thread, so each
/// thread does the same work in every run: what a run executes, and so its instruction
/// count and its allocations, is the same from run to run (tasks claimed from a shared
/// counter made the instruction count of one executable differ between runs, which reads
/// as broken reproducibility). Each helper starts on a CPU of its own ([`Spread`]); one
/// thread starts none and touches no CPU mask. A helper that cannot start is no error: the
/// calling thread does its range too.
fn run_tasks<S, T: Send>(
    tasks: usize,
    threads: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize) -> T + Sync,
) -> Vec<T> {
    let threads = threads.clamp(1, tasks.max(1));
    let part = |t: usize| {
        let mut state = init();
        (t * tasks / threads..(t + 1) * tasks / threads)
            .map(|task| work(&mut state, task))
            .collect::<Vec<T>>()
    };
    if threads == 1 {
        return part(0);
    }
    // Per helper (thread 1 onwards): set as it starts running.
    let started: Vec<AtomicBool> = (1..threads).map(|_| AtomicBool::new(false)).collect();
    thread::scope(|scope| {
        let part = &part;
        let mut spread = Spread::begin();
        let mask = spread.helper_mask();
        let helpers: Vec<_> = (1..threads)
            .map(|t| {
                let started = &started[t - 1];
                let helper = thread::Builder::new().spawn_scoped(scope, move || {
                    cpus::settle(started, mask);
                    part(t)
                });
                if helper.is_ok() {
                    spread.place(started);
                }
                (t, helper)
            })
            .collect();
        drop(spread);
        let mut done = part(0);
        for (t, helper) in helpers {
            match helper {
                Ok(helper) => done.extend(
                    helper
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                ),
                Err(_) => done.extend(part(t)),
            }
        }
        done
    })
}

/// A same-size pair noted by the merge: its index in each listing and its size; its path
/// once the merge is done.
struct Pair<'a> {
    source: usize,
    target: usize,
    size: u64,
    path: &'a Path,
}

/// What the content pass reads from.
struct Trees<'a> {
    source: (&'a Path, &'a TreeListing),
    target: (&'a Path, &'a TreeListing),
    opener: Opener<'a>,
}

impl Trees<'_> {
    fn compare(&self, reader: &mut PairReader, pair: &Pair) -> PairResult {
        let (root, tree) = self.source;
        let source = tree
            .open(root, pair.source, pair.path, self.opener)
            .map_err(|e| (Side::Source, e))?;
        let (root, tree) = self.target;
        let target = tree
            .open(root, pair.target, pair.path, self.opener)
            .map_err(|e| (Side::Target, e))?;
        reader.digest_and_compare_files(source, target, pair.size)
    }

    /// Compares every pair, on up to `threads` threads; results in `pairs`' order.
    fn compare_all(&self, pairs: &[Pair], threads: usize) -> Vec<PairResult> {
        let bytes: u64 = pairs.iter().map(|p| p.size).sum();
        let threads = if pairs.len() < MIN_PARALLEL_PAIRS || bytes < MIN_PARALLEL_BYTES {
            1
        } else {
            threads
        };
        run_tasks(pairs.len(), threads, PairReader::new, |reader, i| {
            self.compare(reader, &pairs[i])
        })
    }
}

/// One thread per core ([`plan`] takes at most [`MAX_THREADS`]).
pub(super) fn every_core() -> NonZeroUsize {
    thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Plans as the oracle does, on up to `threads` threads; see the module docs for how.
pub(super) fn plan(
    source: &Path,
    target: &Path,
    excludes: &Excludes,
    opener: Opener<'_>,
    threads: NonZeroUsize,
) -> Result<Plan, PlanError> {
    let threads = threads.get().min(MAX_THREADS);
    let sides = [(Side::Source, source), (Side::Target, target)];
    let [src, dst]: [_; 2] = run_tasks(
        2,
        threads,
        || (),
        |(), i| {
            let (side, root) = sides[i];
            list_tree(side, root, excludes)
        },
    )
    .try_into()
    .ok()
    .expect("run_tasks gives one listing per side");
    let mut src = src?.expect("source root is required");
    let mut dst = dst?.unwrap_or_default();

    // The merge takes the listings; the content pass needs the descriptors and names.
    let mut noted = Vec::new();
    let mut plan = merge(
        std::mem::take(&mut src.listing),
        std::mem::take(&mut dst.listing),
        &mut |pair| {
            noted.push((pair.source, pair.target, pair.size));
            // Decided below; a placeholder keeps the entry's place.
            Ok((ContentDigest::default(), true))
        },
    );
    if noted.is_empty() {
        return Ok(plan);
    }
    // The merge gave each noted pair one `content` entry, in the same order.
    let pairs: Vec<Pair> = plan
        .entries
        .iter()
        .filter(|e| e.evidence == Evidence::Content)
        .zip(noted)
        .map(|(entry, (source, target, size))| Pair {
            source,
            target,
            size,
            path: &entry.path,
        })
        .collect();

    let trees = Trees {
        source: (source, &src),
        target: (target, &dst),
        opener,
    };
    let mut results = trees.compare_all(&pairs, threads).into_iter();
    drop(pairs);
    let entries = std::mem::take(&mut plan.entries);
    for mut entry in entries {
        if entry.evidence == Evidence::Content {
            match results.next().expect("one result per pair") {
                Ok((digest, same)) => {
                    entry.digest = Some(digest);
                    if !same {
                        entry.action = Action::Update;
                    }
                }
                Err((side, e)) => {
                    plan.problems.push(super::Problem {
                        side,
                        path: entry.path,
                        kind: ProblemKind::ReadFile,
                        detail: e.to_string(),
                    });
                    continue;
                }
            }
        }
        plan.entries.push(entry);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_run_once_each_and_come_back_in_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for threads in [1, 2, 5] {
            let runs = AtomicUsize::new(0);
            let out = run_tasks(100, threads, Vec::new, |seen: &mut Vec<usize>, task| {
                runs.fetch_add(1, Ordering::Relaxed);
                seen.push(task);
                task * 2
            });
            assert_eq!(out, (0..100).map(|t| t * 2).collect::<Vec<_>>());
            assert_eq!(runs.load(Ordering::Relaxed), 100);
        }
        assert!(run_tasks(0, 4, || (), |(), t| t).is_empty());
    }
}
