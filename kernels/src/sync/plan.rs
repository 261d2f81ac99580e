//! Directory sync planning: what would make the target tree equal the source tree?
//!
//! [`plan`] walks both trees and returns a [`Plan`]: one [`PlanEntry`] per relative path,
//! in path order, each with an [`Action`] (create / update / delete / unchanged). The
//! decision for a path present on both sides looks at the entry kind, then the size, and
//! only when sizes match at the contents: most changed files are caught by the cheap
//! `stat`, and no file is read unless its size says it might be equal. For a same-size pair
//! the source is hashed (SHA-256, recorded in the entry so an executor can verify its copy)
//! and the target is compared with it byte for byte in the same pass. That decides exactly
//! what comparing the two digests would decide (equal bytes, equal digests; and a byte
//! comparison cannot collide) while hashing only one side.
//!
//! Two implementations make the same decisions through one merge ([`merge`]): the oracle
//! ([`plan_oracle`]: `std::fs` by path, one thread, each pair read as the merge meets it)
//! and the fast planner ([`plan`], module `fast`: directory descriptors, both trees walked
//! at once, the pairs compared on every core after the merge). Tests hold the fast
//! planner to the oracle's exact plan and errors.
//!
//! Rules that keep planning safe on trees nobody vetted:
//!
//! - **Read-only.** Nothing is created, modified or renamed in either tree. Files are opened
//!   read-only with `O_NOATIME` where the kernel allows it (the owner or root), so even
//!   file access times stay as they were; otherwise the open is retried without it.
//!   Listing a directory may still let the kernel refresh that directory's access time
//!   (relatime); std offers no `O_NOATIME` directory listing and that is kernel
//!   bookkeeping, not a write by the planner.
//! - **Symlinks are entries, never followed.** A symlink is compared by its target text
//!   (`readlink`), not by what it points at, so a link out of the tree or a link loop is
//!   just a short string. Entry types come from `lstat`/`d_type`; file opens use
//!   `O_NOFOLLOW`, so a file swapped for a link mid-plan is refused, not followed.
//!   Directory cycles through bind mounts are cut by remembering the (device, inode) of
//!   every directory on the current path. The two roots themselves are taken as given:
//!   if `SRC` is a symlink to a directory, that directory is planned.
//! - **Lossless names.** Relative paths are kept as `PathBuf` (bytes on Unix), so a
//!   non-UTF-8 name is planned and ordered by its real bytes; only display is lossy.
//! - **Problems are listed, not fatal.** An unreadable directory or file, a failed `stat`,
//!   a special file (FIFO, socket, device) or a directory cycle becomes a [`Problem`] with
//!   its path. Such a path, and everything below it, gets *no action* on either side: a
//!   directory that could not be listed must not turn into "delete everything under it on
//!   the other side". Only an unusable root ([`PlanError`]) stops the plan.
//! - **Exclusions** are `globset` globs matched against the `/`-separated relative path.
//!   A `*` also matches `/` (globset's default), so `*.tmp` excludes every `.tmp` file at
//!   any depth, while `build` excludes only the top-level `build`; `**/build` excludes it
//!   anywhere. An excluded directory is not descended into.
//! - A missing target root is an empty target (everything is created); a missing source
//!   root is an error.
//!
//! Entries are ordered by path, component by component (so `a/z` comes before `a.b`);
//! an executor applies creates in that order and deletes in reverse.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

mod cpus;
mod dir;
pub mod fast;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// SHA-256 of a file's contents.
pub type ContentDigest = [u8; 32];

/// What kind of entry a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

impl EntryKind {
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
        }
    }
}

/// What the plan does with a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Only in the source: copy it over.
    Create,
    /// In both, different: replace the target's.
    Update,
    /// Only in the target: remove it.
    Delete,
    /// In both and equal.
    Unchanged,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
        }
    }
}

/// Why an entry was found different (or, for unchanged files, how equality was shown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// Present on one side only.
    Presence,
    /// File on one side, directory or symlink on the other.
    Kind,
    /// Both files, sizes differ.
    Size,
    /// Both files, same size, contents compared (the source's SHA-256 is recorded).
    Content,
    /// Both symlinks; target texts compared.
    LinkTarget,
    /// Both directories (their contents are separate entries).
    Directory,
}

impl Evidence {
    pub fn name(self) -> &'static str {
        match self {
            Evidence::Presence => "presence",
            Evidence::Kind => "kind",
            Evidence::Size => "size",
            Evidence::Content => "content",
            Evidence::LinkTarget => "link-target",
            Evidence::Directory => "directory",
        }
    }
}

/// One line of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanEntry {
    /// Path relative to the roots, lossless.
    pub path: PathBuf,
    pub action: Action,
    /// The kind in the source, or in the target for a delete.
    pub kind: EntryKind,
    /// File size in bytes (source side; target side for a delete); `None` for others.
    pub size: Option<u64>,
    /// SHA-256 of the source file, when it was computed (sizes matched).
    pub digest: Option<ContentDigest>,
    /// Symlink target text (source side; target side for a delete).
    pub link_target: Option<OsString>,
    pub evidence: Evidence,
}

/// Which tree a problem was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    Source,
    Target,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }
}

/// What went wrong with a path that therefore got no action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// A directory could not be listed.
    ListDirectory,
    /// `lstat` failed.
    Metadata,
    /// A symlink's target could not be read.
    ReadLink,
    /// A file could not be opened or read for its digest.
    ReadFile,
    /// Not a regular file, directory or symlink (FIFO, socket, device): skipped.
    SpecialFile,
    /// A directory that is its own ancestor (bind mount): not descended into.
    DirectoryCycle,
}

impl ProblemKind {
    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::ListDirectory => "list-directory",
            ProblemKind::Metadata => "metadata",
            ProblemKind::ReadLink => "read-link",
            ProblemKind::ReadFile => "read-file",
            ProblemKind::SpecialFile => "special-file",
            ProblemKind::DirectoryCycle => "directory-cycle",
        }
    }
}

/// A path the plan could not decide, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub side: Side,
    /// Relative path (empty for the root itself).
    pub path: PathBuf,
    pub kind: ProblemKind,
    /// Human-readable detail, e.g. the OS error.
    pub detail: String,
}

/// Counts of entries per action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanSummary {
    pub create: u64,
    pub update: u64,
    pub delete: u64,
    pub unchanged: u64,
}

/// The result of planning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// One entry per decided path, in path order.
    pub entries: Vec<PlanEntry>,
    /// Paths that got no action, in the order found (source walk, target walk, digests).
    pub problems: Vec<Problem>,
    /// Entries matched by an exclusion glob (an excluded directory counts once).
    pub excluded: u64,
}

impl Plan {
    pub fn summary(&self) -> PlanSummary {
        let mut s = PlanSummary::default();
        for e in &self.entries {
            match e.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
                Action::Unchanged => s.unchanged += 1,
            }
        }
        s
    }

    /// A deterministic byte serialisation for hashing: one tab-separated line per entry
    /// (action, kind, size, digest, evidence, link target, raw path bytes), then one per
    /// problem (side, kind, path; the OS's wording of the error is left out because it
    /// differs between systems), then the excluded count.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        for e in &self.entries {
            out.extend_from_slice(e.action.name().as_bytes());
            out.push(b'\t');
            out.extend_from_slice(e.kind.name().as_bytes());
            out.push(b'\t');
            match e.size {
                Some(size) => out.extend_from_slice(size.to_string().as_bytes()),
                None => out.push(b'-'),
            }
            out.push(b'\t');
            match &e.digest {
                Some(d) => {
                    for byte in d {
                        out.extend_from_slice(format!("{byte:02x}").as_bytes());
                    }
                }
                None => out.push(b'-'),
            }
            out.push(b'\t');
            out.extend_from_slice(e.evidence.name().as_bytes());
            out.push(b'\t');
            if let Some(target) = &e.link_target {
                out.extend_from_slice(target.as_encoded_bytes());
            }
            out.push(b'\t');
            out.extend_from_slice(e.path.as_os_str().as_encoded_bytes());
            out.push(b'\n');
        }
        for p in &self.problems {
            out.extend_from_slice(
                format!("problem\t{}\t{}\t", p.side.name(), p.kind.name()).as_bytes(),
            );
            out.extend_from_slice(p.path.as_os_str().as_encoded_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(format!("excluded\t{}\n", self.excluded).as_bytes());
    }
}

/// Why no plan could be made at all.
#[derive(Debug, Error)]
pub enum PlanError {
    #[error("source root {path}: {source}")]
    SourceRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("target root {path}: {source}")]
    TargetRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{side} root {path} is not a directory", side = side.name())]
    NotADirectory { side: Side, path: PathBuf },
    #[error("exclusion glob `{pattern}`: {source}")]
    BadGlob {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    /// Every pattern compiled alone, but the set of them did not (e.g. a size limit).
    #[error("the {count} exclusion globs together: {source}")]
    GlobSetTooLarge {
        count: usize,
        #[source]
        source: globset::Error,
    },
}

/// Exclusion globs, compiled once.
#[derive(Clone, Debug)]
pub struct Excludes {
    set: GlobSet,
}

impl Excludes {
    /// No exclusions.
    pub fn none() -> Self {
        Excludes {
            set: GlobSet::empty(),
        }
    }

    /// Compiles `patterns`; a bad pattern is an error naming it.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PlanError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let bad = |source| PlanError::BadGlob {
                pattern: pattern.to_owned(),
                source,
            };
            let glob = Glob::new(pattern).map_err(bad)?;
            // Compiling each pattern alone pins a matcher failure on the pattern that
            // caused it, which the set's build error cannot do.
            GlobSetBuilder::new()
                .add(glob.clone())
                .build()
                .map_err(bad)?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|source| PlanError::GlobSetTooLarge {
                count: patterns.len(),
                source,
            })?;
        Ok(Excludes { set })
    }

    fn matches(&self, relative: &Path) -> bool {
        !self.set.is_empty() && self.set.is_match(relative)
    }
}

/// Opens files for reading; injectable so tests can make opens fail (as root, permission
/// bits cannot make a file unreadable). Shared by the threads that compare contents.
pub trait FileOpener: Sync {
    /// Opens the regular file at `path` (absolute) for reading, without following a
    /// symlink.
    fn open(&self, path: &Path) -> io::Result<File>;
}

/// Opens files on disk: read-only, never following a final symlink, never blocking on a
/// FIFO that raced into place, with `O_NOATIME` where permitted (retried without on EPERM).
#[derive(Clone, Copy, Debug, Default)]
pub struct FsOpener;

impl FileOpener for FsOpener {
    fn open(&self, path: &Path) -> io::Result<File> {
        let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        let open = |flags| OpenOptions::new().read(true).custom_flags(flags).open(path);
        match open(base | libc::O_NOATIME) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(base),
            other => other,
        }
    }
}

/// Size of each of the two read buffers.
const CHUNK: usize = 64 * 1024;

/// Reads a same-size file pair in lockstep: the source is hashed with SHA-256, the target
/// is compared byte for byte with it (SIMD [`compare`](crate::sync::compare::compare)).
/// Identical bytes have identical digests, so hashing the target too would only repeat
/// work; a difference stops the target's reads early. Memory stays at two buffers however
/// large the files are.
struct PairReader {
    source_buf: Vec<u8>,
    target_buf: Vec<u8>,
}

impl PairReader {
    fn new() -> Self {
        PairReader {
            source_buf: vec![0; CHUNK],
            target_buf: vec![0; CHUNK],
        }
    }

    /// The source's digest and whether the target holds the same bytes, reading each at
    /// most `size` bytes (the size `lstat` reported for both): the plan describes the
    /// trees as they were when listed, and a file growing meanwhile is a race an executor
    /// must re-check anyway. Reading exactly `size` also saves the end-of-file probe read.
    fn digest_and_compare(
        &mut self,
        opener: &dyn FileOpener,
        source: &Path,
        target: &Path,
        size: u64,
    ) -> Result<(ContentDigest, bool), (Side, io::Error)> {
        let source_file = opener.open(source).map_err(|e| (Side::Source, e))?;
        let target_file = opener.open(target).map_err(|e| (Side::Target, e))?;
        self.digest_and_compare_files(source_file, target_file, size)
    }

    /// As [`PairReader::digest_and_compare`], on a pair already open.
    fn digest_and_compare_files(
        &mut self,
        mut source_file: File,
        mut target_file: File,
        size: u64,
    ) -> Result<(ContentDigest, bool), (Side, io::Error)> {
        let mut hasher = Sha256::new();
        let mut same = true;
        let mut remaining = size;
        loop {
            let want = usize::try_from(remaining).unwrap_or(usize::MAX).min(CHUNK);
            let got = read_up_to(&mut source_file, &mut self.source_buf[..want])
                .map_err(|e| (Side::Source, e))?;
            hasher.update(&self.source_buf[..got]);
            if same {
                let got_target = read_up_to(&mut target_file, &mut self.target_buf[..want])
                    .map_err(|e| (Side::Target, e))?;
                same = crate::sync::compare::compare(
                    &self.source_buf[..got],
                    &self.target_buf[..got_target],
                )
                .is_equal();
            }
            remaining -= got as u64;
            if got < want || remaining == 0 {
                break;
            }
        }
        Ok((hasher.finalize().into(), same))
    }
}

/// Fills `buf` unless the file ends first; returns the bytes read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// What the walk records per path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    File { size: u64 },
    Dir,
    Symlink { target: OsString },
}

impl Node {
    fn kind(&self) -> EntryKind {
        match self {
            Node::File { .. } => EntryKind::File,
            Node::Dir => EntryKind::Dir,
            Node::Symlink { .. } => EntryKind::Symlink,
        }
    }
}

/// One walked tree: entries in path order, plus the paths whose problems withhold them.
#[derive(Default)]
struct Listing {
    entries: Vec<(PathBuf, Node)>,
    problems: Vec<Problem>,
    excluded: u64,
}

struct Walker<'a> {
    side: Side,
    root: &'a Path,
    excludes: &'a Excludes,
    /// (device, inode) of each directory on the current path, root first.
    ancestors: Vec<(u64, u64)>,
    out: Listing,
}

impl Listing {
    fn problem(&mut self, side: Side, path: PathBuf, kind: ProblemKind, detail: String) {
        self.problems.push(Problem {
            side,
            path,
            kind,
            detail,
        });
    }
}

impl Walker<'_> {
    fn problem(&mut self, path: PathBuf, kind: ProblemKind, detail: impl Into<String>) {
        self.out.problem(self.side, path, kind, detail.into());
    }

    /// Lists `dir` (relative `rel`), children sorted by name so the pre-order walk yields
    /// entries already in path order.
    fn walk_dir(&mut self, dir: &Path, rel: &Path) {
        let reader = match fs::read_dir(dir) {
            Ok(reader) => reader,
            Err(e) => {
                return self.problem(rel.to_path_buf(), ProblemKind::ListDirectory, e.to_string());
            }
        };
        let mut children = Vec::new();
        for item in reader {
            match item {
                Ok(entry) => children.push(entry),
                Err(e) => {
                    // The listing broke off part-way: what we have is incomplete, so the
                    // whole directory is withheld rather than half-planned.
                    return self.problem(
                        rel.to_path_buf(),
                        ProblemKind::ListDirectory,
                        e.to_string(),
                    );
                }
            }
        }
        children.sort_unstable_by_key(|entry| entry.file_name());
        for entry in children {
            let child_rel = rel.join(entry.file_name());
            if self.excludes.matches(&child_rel) {
                self.out.excluded += 1;
                continue;
            }
            // `file_type` and `metadata` come from d_type / lstat: never follow a link.
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) => {
                    self.problem(child_rel, ProblemKind::Metadata, e.to_string());
                    continue;
                }
            };
            let child_abs = entry.path();
            if file_type.is_symlink() {
                match fs::read_link(&child_abs) {
                    Ok(target) => self.out.entries.push((
                        child_rel,
                        Node::Symlink {
                            target: target.into_os_string(),
                        },
                    )),
                    Err(e) => self.problem(child_rel, ProblemKind::ReadLink, e.to_string()),
                }
            } else if file_type.is_file() {
                match entry.metadata() {
                    Ok(meta) => self
                        .out
                        .entries
                        .push((child_rel, Node::File { size: meta.len() })),
                    Err(e) => self.problem(child_rel, ProblemKind::Metadata, e.to_string()),
                }
            } else if file_type.is_dir() {
                let meta = match entry.metadata() {
                    Ok(meta) => meta,
                    Err(e) => {
                        self.problem(child_rel, ProblemKind::Metadata, e.to_string());
                        continue;
                    }
                };
                let id = (meta.dev(), meta.ino());
                if self.ancestors.contains(&id) {
                    self.problem(
                        child_rel,
                        ProblemKind::DirectoryCycle,
                        "directory is its own ancestor; not descended into",
                    );
                    continue;
                }
                self.out.entries.push((child_rel.clone(), Node::Dir));
                self.ancestors.push(id);
                self.walk_dir(&child_abs, &child_rel);
                self.ancestors.pop();
            } else {
                let what = special_file_name(&file_type);
                self.problem(
                    child_rel,
                    ProblemKind::SpecialFile,
                    format!("{what}: not a regular file, directory or symlink; skipped"),
                );
            }
        }
    }
}

fn special_file_name(file_type: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_char_device() {
        "character device"
    } else {
        "unknown file type"
    }
}

/// The (device, inode) of a root directory, following a symlink (a root is taken as
/// given); `Ok(None)` for a missing target root.
fn root_identity(side: Side, root: &Path) -> Result<Option<(u64, u64)>, PlanError> {
    let meta = match fs::metadata(root) {
        Ok(meta) => meta,
        Err(e) if side == Side::Target && e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            let path = root.to_path_buf();
            return Err(match side {
                Side::Source => PlanError::SourceRoot { path, source },
                Side::Target => PlanError::TargetRoot { path, source },
            });
        }
    };
    if !meta.is_dir() {
        return Err(PlanError::NotADirectory {
            side,
            path: root.to_path_buf(),
        });
    }
    Ok(Some((meta.dev(), meta.ino())))
}

/// Walks one root; `Ok(None)` for a missing target root.
fn list_tree(side: Side, root: &Path, excludes: &Excludes) -> Result<Option<Listing>, PlanError> {
    let Some(id) = root_identity(side, root)? else {
        return Ok(None);
    };
    let mut walker = Walker {
        side,
        root,
        excludes,
        ancestors: vec![id],
        out: Listing::default(),
    };
    walker.walk_dir(walker.root, Path::new(""));
    Ok(Some(walker.out))
}

/// Plans the sync of `target` from `source`, reading file contents from disk: the fast
/// path (directory descriptors, both trees walked at once, contents compared on every
/// core; see [`fast`]). Its result is [`plan_oracle`]'s, entry for entry.
pub fn plan(source: &Path, target: &Path, excludes: &Excludes) -> Result<Plan, PlanError> {
    plan_on(source, target, excludes, fast::every_core())
}

/// As [`plan`], on at most `threads` threads; one runs everything on the calling thread,
/// so a run executes the same instructions every time (what an instruction count needs).
/// The plan is the same whatever the number.
pub fn plan_on(
    source: &Path,
    target: &Path,
    excludes: &Excludes,
    threads: NonZeroUsize,
) -> Result<Plan, PlanError> {
    fast::plan(source, target, excludes, fast::Opener::Fs, threads)
}

/// As [`plan_on`], with files opened by `opener` (by path).
pub fn plan_with_opener(
    source: &Path,
    target: &Path,
    excludes: &Excludes,
    opener: &dyn FileOpener,
    threads: NonZeroUsize,
) -> Result<Plan, PlanError> {
    fast::plan(
        source,
        target,
        excludes,
        fast::Opener::Custom(opener),
        threads,
    )
}

/// The oracle: one thread, `std::fs` by path, each same-size pair read as the merge meets
/// it. Tests hold [`plan`] to its exact result.
pub fn plan_oracle(source: &Path, target: &Path, excludes: &Excludes) -> Result<Plan, PlanError> {
    plan_oracle_with_opener(source, target, excludes, &FsOpener)
}

/// As [`plan_oracle`], with files opened by `opener`.
pub fn plan_oracle_with_opener(
    source: &Path,
    target: &Path,
    excludes: &Excludes,
    opener: &dyn FileOpener,
) -> Result<Plan, PlanError> {
    let mut reader = PairReader::new();
    let src = list_tree(Side::Source, source, excludes)?.expect("source root is required");
    let dst = list_tree(Side::Target, target, excludes)?.unwrap_or_default();
    Ok(merge(src, dst, &mut |pair| {
        reader.digest_and_compare(
            opener,
            &source.join(pair.path),
            &target.join(pair.path),
            pair.size,
        )
    }))
}

/// A same-size file pair the merge needs compared: its path, size, and index in each
/// listing.
struct PairAt<'a> {
    path: &'a Path,
    size: u64,
    source: usize,
    target: usize,
}

/// What comparing a pair gives: the source's digest and whether the target is equal, or
/// which side could not be read.
type PairResult = Result<(ContentDigest, bool), (Side, io::Error)>;

/// Joins two listings into a plan, in path order; `compare` decides same-size file pairs,
/// in path order.
fn merge(src: Listing, dst: Listing, compare: &mut dyn FnMut(PairAt<'_>) -> PairResult) -> Plan {
    let mut plan = Plan {
        entries: Vec::with_capacity(src.entries.len().max(dst.entries.len())),
        problems: Vec::new(),
        excluded: src.excluded + dst.excluded,
    };
    plan.problems.extend(src.problems);
    plan.problems.extend(dst.problems);
    // Paths at or below a problem get no action on either side.
    let mut withheld: Vec<PathBuf> = plan.problems.iter().map(|p| p.path.clone()).collect();
    let is_withheld =
        |withheld: &[PathBuf], path: &Path| withheld.iter().any(|w| path.starts_with(w));

    let mut s = src.entries.into_iter().enumerate().peekable();
    let mut d = dst.entries.into_iter().enumerate().peekable();
    loop {
        let order = match (s.peek(), d.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((_, (sp, _))), Some((_, (dp, _)))) => sp.cmp(dp),
        };
        let entry = match order {
            std::cmp::Ordering::Less => {
                let (_, (path, node)) = s.next().expect("peeked");
                if is_withheld(&withheld, &path) {
                    continue;
                }
                one_sided(path, node, Action::Create)
            }
            std::cmp::Ordering::Greater => {
                let (_, (path, node)) = d.next().expect("peeked");
                if is_withheld(&withheld, &path) {
                    continue;
                }
                one_sided(path, node, Action::Delete)
            }
            std::cmp::Ordering::Equal => {
                let (source, (path, src_node)) = s.next().expect("peeked");
                let (target, (_, dst_node)) = d.next().expect("peeked");
                if is_withheld(&withheld, &path) {
                    continue;
                }
                let mut pair = |path: &Path, size| {
                    compare(PairAt {
                        path,
                        size,
                        source,
                        target,
                    })
                };
                match both_sides(path, src_node, dst_node, &mut pair) {
                    Ok(entry) => entry,
                    Err(problem) => {
                        withheld.push(problem.path.clone());
                        plan.problems.push(problem);
                        continue;
                    }
                }
            }
        };
        plan.entries.push(entry);
    }
    plan
}

fn one_sided(path: PathBuf, node: Node, action: Action) -> PlanEntry {
    let kind = node.kind();
    let (size, link_target) = match node {
        Node::File { size } => (Some(size), None),
        Node::Dir => (None, None),
        Node::Symlink { target } => (None, Some(target)),
    };
    PlanEntry {
        path,
        action,
        kind,
        size,
        digest: None,
        link_target,
        evidence: Evidence::Presence,
    }
}

fn both_sides(
    path: PathBuf,
    src: Node,
    dst: Node,
    compare: &mut dyn FnMut(&Path, u64) -> PairResult,
) -> Result<PlanEntry, Problem> {
    let kind = src.kind();
    let mut entry = PlanEntry {
        path,
        action: Action::Unchanged,
        kind,
        size: None,
        digest: None,
        link_target: None,
        evidence: Evidence::Kind,
    };
    match (src, dst) {
        (Node::Dir, Node::Dir) => entry.evidence = Evidence::Directory,
        (Node::Symlink { target: a }, Node::Symlink { target: b }) => {
            entry.evidence = Evidence::LinkTarget;
            if a != b {
                entry.action = Action::Update;
            }
            entry.link_target = Some(a);
        }
        (Node::File { size: a }, Node::File { size: b }) => {
            entry.size = Some(a);
            if a != b {
                entry.evidence = Evidence::Size;
                entry.action = Action::Update;
            } else {
                entry.evidence = Evidence::Content;
                let (digest, same) = compare(&entry.path, a).map_err(|(side, e)| Problem {
                    side,
                    path: entry.path.clone(),
                    kind: ProblemKind::ReadFile,
                    detail: e.to_string(),
                })?;
                if !same {
                    entry.action = Action::Update;
                }
                entry.digest = Some(digest);
            }
        }
        (src, _) => {
            // Kind changed: the target's entry is replaced by the source's.
            entry.action = Action::Update;
            match src {
                Node::File { size } => entry.size = Some(size),
                Node::Symlink { target } => entry.link_target = Some(target),
                Node::Dir => {}
            }
        }
    }
    Ok(entry)
}
