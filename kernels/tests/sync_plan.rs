//! Directory sync planning on real temporary trees.
//!
//! Running as root, permission bits cannot make a file unreadable, so read failures are
//! produced through an injected [`ContentReader`] that fails for chosen paths, and a FIFO
//! stands in for a path that cannot be read as a file. Both must be listed with their
//! path without aborting the plan.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use benchseal_kernels::sync::plan::{
    self as planner, Action, EntryKind, Evidence, Excludes, FileOpener, FsOpener, Plan, PlanError,
    ProblemKind, Side,
};

/// The fast planner's result, checked against the oracle's: the same plan, or the same
/// error.
fn same_as_oracle(
    fast: Result<Plan, PlanError>,
    oracle: Result<Plan, PlanError>,
) -> Result<Plan, PlanError> {
    match (&fast, &oracle) {
        (Ok(f), Ok(o)) => assert_eq!(f, o, "the fast plan differs from the oracle's"),
        (Err(f), Err(o)) => assert_eq!(f.to_string(), o.to_string()),
        _ => panic!("fast {fast:?} but oracle {oracle:?}"),
    }
    fast
}

/// The thread counts every fast plan is made with: the calling thread only (what the instr
/// bench executable asks for), two threads and three, whatever the machine's cores.
const THREADS: [NonZeroUsize; 3] = [
    NonZeroUsize::MIN,
    NonZeroUsize::new(2).unwrap(),
    NonZeroUsize::new(3).unwrap(),
];

/// `fast` at each of [`THREADS`], each held to `oracle`; the one-thread plan.
fn at_every_thread_count(
    fast: impl Fn(NonZeroUsize) -> Result<Plan, PlanError>,
    oracle: impl Fn() -> Result<Plan, PlanError>,
) -> Result<Plan, PlanError> {
    for threads in &THREADS[1..] {
        let _ = same_as_oracle(fast(*threads), oracle());
    }
    same_as_oracle(fast(THREADS[0]), oracle())
}

/// [`planner::plan`] and [`planner::plan_on`] at each of [`THREADS`], held to
/// [`planner::plan_oracle`].
fn plan(src: &Path, dst: &Path, excludes: &Excludes) -> Result<Plan, PlanError> {
    let oracle = || planner::plan_oracle(src, dst, excludes);
    let _ = same_as_oracle(planner::plan(src, dst, excludes), oracle());
    at_every_thread_count(|t| planner::plan_on(src, dst, excludes, t), oracle)
}

/// [`planner::plan_with_opener`] at each of [`THREADS`], held to
/// [`planner::plan_oracle_with_opener`].
fn plan_with_opener(
    src: &Path,
    dst: &Path,
    excludes: &Excludes,
    opener: &dyn FileOpener,
) -> Result<Plan, PlanError> {
    at_every_thread_count(
        |t| planner::plan_with_opener(src, dst, excludes, opener, t),
        || planner::plan_oracle_with_opener(src, dst, excludes, opener),
    )
}

fn write(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn trees() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let dst = dir.path().join("dst");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(&dst).unwrap();
    (dir, src, dst)
}

fn actions(plan: &Plan) -> Vec<(String, &'static str, &'static str)> {
    plan.entries
        .iter()
        .map(|e| {
            (
                e.path.to_string_lossy().into_owned(),
                e.action.name(),
                e.evidence.name(),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, &'static str, &'static str)]) -> Vec<(String, &'static str, &'static str)> {
    rows.iter()
        .map(|(p, a, e)| (p.to_string(), *a, *e))
        .collect()
}

#[test]
fn decides_by_presence_then_size_then_digest_in_path_order() {
    let (_dir, src, dst) = trees();
    write(&src, "a/same.txt", "hello");
    write(&dst, "a/same.txt", "hello");
    write(&src, "a/edited.txt", "hello");
    write(&dst, "a/edited.txt", "HELLO");
    write(&src, "a/grown.txt", "hello world");
    write(&dst, "a/grown.txt", "hello");
    write(&src, "new/file.txt", "x");
    write(&dst, "old.txt", "y");
    write(&src, "a.b", "dot sorts after the directory a");
    let plan = plan(&src, &dst, &Excludes::none()).unwrap();
    assert_eq!(
        actions(&plan),
        owned(&[
            ("a", "unchanged", "directory"),
            ("a/edited.txt", "update", "content"),
            ("a/grown.txt", "update", "size"),
            ("a/same.txt", "unchanged", "content"),
            ("a.b", "create", "presence"),
            ("new", "create", "presence"),
            ("new/file.txt", "create", "presence"),
            ("old.txt", "delete", "presence"),
        ])
    );
    assert!(plan.problems.is_empty());
    let same = &plan.entries[3];
    assert_eq!(same.size, Some(5));
    // SHA-256("hello").
    assert_eq!(
        same.digest.map(hex),
        Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".to_string())
    );
    let s = plan.summary();
    assert_eq!((s.create, s.update, s.delete, s.unchanged), (3, 2, 1, 2));
}

fn hex(d: [u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn symlinks_are_entries_by_target_text_and_never_followed() {
    let (dir, src, dst) = trees();
    write(dir.path(), "outside/secret.txt", "not part of the tree");
    write(&src, "d/f.txt", "f");
    symlink("../..", src.join("d/up")).unwrap(); // a loop back to the root's parent
    symlink("self", src.join("self")).unwrap(); // a link to itself
    symlink(dir.path().join("outside"), src.join("out")).unwrap(); // out of the tree
    symlink("d/f.txt", dst.join("out")).unwrap(); // same name, different target
    let plan = plan(&src, &dst, &Excludes::none()).unwrap();
    assert_eq!(
        actions(&plan),
        owned(&[
            ("d", "create", "presence"),
            ("d/f.txt", "create", "presence"),
            ("d/up", "create", "presence"),
            ("out", "update", "link-target"),
            ("self", "create", "presence"),
        ])
    );
    assert!(
        plan.entries
            .iter()
            .all(|e| e.path == Path::new("out") || !e.path.starts_with("out"))
    );
    let up = &plan.entries[2];
    assert_eq!(up.kind, EntryKind::Symlink);
    assert_eq!(up.link_target.as_deref(), Some(OsStr::new("../..")));
}

#[test]
fn non_utf8_names_are_kept_byte_for_byte() {
    let (_dir, src, dst) = trees();
    let name = OsStr::from_bytes(b"caf\xe9-\xff.txt");
    fs::write(src.join(name), "latin-1 name").unwrap();
    fs::write(dst.join(name), "latin-1 name").unwrap();
    let plan = plan(&src, &dst, &Excludes::none()).unwrap();
    assert_eq!(plan.entries.len(), 1);
    assert_eq!(plan.entries[0].path.as_os_str().as_bytes(), name.as_bytes());
    assert_eq!(plan.entries[0].action, Action::Unchanged);
    let mut canonical = Vec::new();
    plan.write_canonical(&mut canonical);
    assert!(canonical.windows(name.len()).any(|w| w == name.as_bytes()));
}

/// Refuses to open one file name in the target tree, opens everything else from disk.
struct FailingOpener {
    fail_name: &'static str,
}

impl FileOpener for FailingOpener {
    fn open(&self, path: &Path) -> io::Result<fs::File> {
        if path.file_name() == Some(OsStr::new(self.fail_name))
            && path.to_string_lossy().contains("/dst/")
        {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "Permission denied (injected)",
            ));
        }
        FsOpener.open(path)
    }
}

#[test]
fn unreadable_file_is_listed_with_its_path_and_the_rest_is_planned() {
    let (_dir, src, dst) = trees();
    for root in [&src, &dst] {
        write(root, "ok.txt", "fine");
        write(root, "locked/secret.txt", "same size");
    }
    let opener = FailingOpener {
        fail_name: "secret.txt",
    };
    let plan = plan_with_opener(&src, &dst, &Excludes::none(), &opener).unwrap();
    assert_eq!(
        actions(&plan),
        owned(&[
            ("locked", "unchanged", "directory"),
            ("ok.txt", "unchanged", "content")
        ])
    );
    assert_eq!(plan.problems.len(), 1);
    let p = &plan.problems[0];
    assert_eq!((p.side, p.kind), (Side::Target, ProblemKind::ReadFile));
    assert_eq!(p.path, Path::new("locked/secret.txt"));
    assert!(p.detail.contains("Permission denied"), "{}", p.detail);
}

#[test]
fn special_file_is_listed_and_its_path_withheld_on_both_sides() {
    let (_dir, src, dst) = trees();
    let status = Command::new("mkfifo")
        .arg(src.join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    write(
        &dst,
        "pipe",
        "a regular file in the target must not be deleted or replaced",
    );
    write(&src, "z.txt", "z");
    let plan = plan(&src, &dst, &Excludes::none()).unwrap();
    assert_eq!(actions(&plan), owned(&[("z.txt", "create", "presence")]));
    assert_eq!(plan.problems.len(), 1);
    assert_eq!(plan.problems[0].kind, ProblemKind::SpecialFile);
    assert_eq!(plan.problems[0].path, Path::new("pipe"));
    assert!(plan.problems[0].detail.starts_with("fifo"));
}

#[test]
fn excluded_paths_are_not_planned_and_excluded_directories_not_walked() {
    let (_dir, src, dst) = trees();
    write(&src, "keep.rs", "k");
    write(&src, "deep/x.tmp", "t");
    write(&dst, "y.tmp", "t");
    write(&src, "build/out.o", "o");
    write(&dst, "build/stale.o", "o");
    let excludes = Excludes::new(&["*.tmp", "build"]).unwrap();
    let plan = plan(&src, &dst, &excludes).unwrap();
    assert_eq!(
        actions(&plan),
        owned(&[
            ("deep", "create", "presence"),
            ("keep.rs", "create", "presence")
        ])
    );
    // deep/x.tmp, y.tmp and the two build directories.
    assert_eq!(plan.excluded, 4);
}

#[test]
fn kind_change_updates_the_entry_and_plans_the_old_children() {
    let (_dir, src, dst) = trees();
    write(&src, "thing", "now a file");
    write(&dst, "thing/child.txt", "was a directory");
    let plan = plan(&src, &dst, &Excludes::none()).unwrap();
    assert_eq!(
        actions(&plan),
        owned(&[
            ("thing", "update", "kind"),
            ("thing/child.txt", "delete", "presence")
        ])
    );
    assert_eq!(plan.entries[0].kind, EntryKind::File);
    assert_eq!(plan.entries[0].evidence, Evidence::Kind);
}

#[test]
fn missing_target_plans_everything_as_created_and_bad_roots_are_errors() {
    let (dir, src, _dst) = trees();
    write(&src, "f", "1");
    let planned = plan(&src, &dir.path().join("nope"), &Excludes::none()).unwrap();
    assert_eq!(actions(&planned), owned(&[("f", "create", "presence")]));

    let missing = dir.path().join("missing-source");
    let err = plan(&missing, &src, &Excludes::none()).unwrap_err();
    assert!(matches!(err, PlanError::SourceRoot { .. }));
    assert!(err.to_string().contains("missing-source"), "{err}");

    let err = plan(&src.join("f"), &src, &Excludes::none()).unwrap_err();
    assert!(
        matches!(
            err,
            PlanError::NotADirectory {
                side: Side::Source,
                ..
            }
        ),
        "{err}"
    );

    let err = Excludes::new(&["a[b"]).unwrap_err();
    assert!(err.to_string().contains("a[b"), "{err}");
}

#[test]
fn bad_exclusion_glob_error_names_only_the_offending_pattern() {
    let err = Excludes::new(&["*.tmp", "a[b", "build"]).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, PlanError::BadGlob { pattern, .. } if pattern == "a[b"),
        "{message}"
    );
    assert!(!message.contains("*.tmp"), "{message}");
    assert!(!message.contains("build"), "{message}");

    // A pattern that parses but whose matcher exceeds the regex size limit is also
    // pinned on itself rather than on the whole list.
    let huge = "[a-z0-9]".repeat(200_000);
    let err = Excludes::new(&["*.tmp", huge.as_str()]).unwrap_err();
    assert!(
        matches!(&err, PlanError::BadGlob { pattern, .. } if *pattern == huge),
        "{err}"
    );
    assert!(!err.to_string().contains("*.tmp"), "{err}");
}

/// Everything `lstat` reports that a write could change, plus file contents, per path.
/// Contents are read with `O_NOATIME` so the snapshot itself leaves file access times
/// alone; directory access times are left out because listing a directory (which both
/// the snapshot and the planner must do) lets the kernel's relatime policy touch them.
type Snapshot = BTreeMap<
    PathBuf,
    (
        u64,
        u32,
        (i64, i64),
        (i64, i64),
        Option<(i64, i64)>,
        u64,
        Vec<u8>,
    ),
>;

fn snapshot(root: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let m = fs::symlink_metadata(&path).unwrap();
        let mut contents = Vec::new();
        let mut atime = None;
        if m.file_type().is_file() {
            atime = Some((m.atime(), m.atime_nsec()));
            let mut file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOATIME)
                .open(&path)
                .unwrap();
            file.read_to_end(&mut contents).unwrap();
        } else if m.file_type().is_dir() {
            for e in fs::read_dir(&path).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
        let times = |(s, ns)| (s, ns);
        out.insert(
            path,
            (
                m.ino(),
                m.mode(),
                times((m.mtime(), m.mtime_nsec())),
                times((m.ctime(), m.ctime_nsec())),
                atime,
                m.size(),
                contents,
            ),
        );
    }
    out
}

#[test]
fn planning_writes_nothing_to_either_tree_not_even_file_access_times() {
    let (_dir, src, dst) = trees();
    for i in 0..20 {
        write(&src, &format!("d{}/f{i}.txt", i % 3), &format!("file {i}"));
        write(
            &dst,
            &format!("d{}/f{i}.txt", i % 4),
            &format!("file {}", i + i % 2),
        );
    }
    symlink("..", src.join("d0/up")).unwrap();
    // Let the clock move so that any write, or any atime update, shows.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let before = (snapshot(&src), snapshot(&dst));
    let plan = plan(&src, &dst, &Excludes::none()).unwrap();
    assert!(
        plan.entries.iter().any(|e| e.digest.is_some()),
        "some files were read"
    );
    let after = (snapshot(&src), snapshot(&dst));
    assert_eq!(before, after);
}

/// Refuses to open files whose name ends with `fail_suffix`, in the tree whose path holds
/// `fail_in`; opens everything else from disk.
struct FailingSuffix {
    fail_suffix: &'static str,
    fail_in: &'static str,
}

impl FileOpener for FailingSuffix {
    fn open(&self, path: &Path) -> io::Result<fs::File> {
        let text = path.to_string_lossy();
        if text.ends_with(self.fail_suffix) && text.contains(self.fail_in) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("Permission denied (injected) {}", path.display()),
            ));
        }
        FsOpener.open(path)
    }
}

/// A seeded mix of everything the planner distinguishes, large enough that the fast path
/// compares contents on several threads: same and edited same-size files, grown files,
/// one-sided files, kind changes, symlinks, FIFOs, excluded files, nested directories.
fn generated_trees(seed: u64, files: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (dir, src, dst) = trees();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    for i in 0..files {
        let rel = format!("d{}/e{}/f{i:04}.txt", next(7), next(3));
        let body = "x".repeat(next(9000) as usize + 1);
        write(&src, &rel, &body);
        match next(20) {
            0 => {}
            1 => write(&dst, &rel, &format!("{body}grown")),
            2 => write(&dst, &format!("{rel}.stale"), "stale"),
            3 => write(&dst, &format!("{rel}/now-a-dir"), "kind"),
            4 => {
                fs::create_dir_all(dst.join(&rel).parent().unwrap()).unwrap();
                symlink(&body[..8.min(body.len())], dst.join(&rel)).unwrap();
            }
            5 => write(&src, &format!("{rel}.tmp"), "excluded"),
            6 => {
                let edited = format!("{}y", &body[..body.len() - 1]);
                write(&dst, &rel, &edited);
            }
            _ => write(&dst, &rel, &body),
        }
        if next(50) == 0 {
            symlink("../elsewhere", src.join(format!("{rel}.link"))).unwrap();
        }
    }
    fs::create_dir_all(dst.join("d0")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(dst.join("d0/pipe"))
            .status()
            .unwrap()
            .success()
    );
    (dir, src, dst)
}

#[test]
fn fast_plan_equals_the_oracle_on_generated_trees() {
    let excludes = Excludes::new(&["**/*.tmp"]).unwrap();
    for seed in 1..4 {
        let (_dir, src, dst) = generated_trees(seed, 400);
        let plan = plan(&src, &dst, &excludes).unwrap();
        let pairs: Vec<u64> = plan
            .entries
            .iter()
            .filter(|e| e.evidence == Evidence::Content)
            .map(|e| e.size.unwrap())
            .collect();
        // Above the fast path's thresholds for threads (32 pairs, 256 KiB), so the plans
        // made on two and three threads compare pairs on several.
        assert!(pairs.len() > 100, "{} pairs", pairs.len());
        assert!(pairs.iter().sum::<u64>() > 512 * 1024, "{pairs:?}");
        for (suffix, side) in [("0.txt", "/src/"), ("7.txt", "/dst/")] {
            let opener = FailingSuffix {
                fail_suffix: suffix,
                fail_in: side,
            };
            let failed = plan_with_opener(&src, &dst, &excludes, &opener).unwrap();
            let read_failures: Vec<_> = failed
                .problems
                .iter()
                .filter(|p| p.kind == ProblemKind::ReadFile)
                .collect();
            assert!(!read_failures.is_empty());
            for p in read_failures {
                assert!(p.path.to_string_lossy().ends_with(suffix), "{p:?}");
                assert!(p.detail.contains(&*p.path.to_string_lossy()), "{p:?}");
            }
        }
    }
}

#[test]
fn files_beyond_the_held_directory_descriptors_are_opened_by_path() {
    // More directories than the fast path keeps open (256 per tree).
    let (_dir, src, dst) = trees();
    for i in 0..420 {
        let rel = format!("{:02}/{i}/f", i % 5);
        write(&src, &rel, "same");
        write(&dst, &rel, if i % 7 == 0 { "diff" } else { "same" });
    }
    let plan = plan(&src, &dst, &Excludes::none()).unwrap();
    assert_eq!(plan.summary().update, 60);
    assert!(plan.problems.is_empty());
}

#[test]
fn missing_roots_are_errors_naming_the_path_on_both_paths() {
    let (dir, src, _dst) = trees();
    let missing = dir.path().join("no-such-source");
    let err = plan(&missing, &src, &Excludes::none()).unwrap_err();
    assert!(err.to_string().contains("no-such-source"), "{err}");
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let err = plan(&src, &file, &Excludes::none()).unwrap_err();
    assert!(err.to_string().contains("a-file"), "{err}");
    assert!(err.to_string().contains("not a directory"), "{err}");
}
