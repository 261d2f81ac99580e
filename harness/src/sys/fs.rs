//! File helpers: every I/O error names its path, and every write is atomic.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::model::outcome::bad_input;

/// Prefix of the temporary files [`write_atomic`] writes; the writer's process id follows
/// it (`.benchseal-<pid>.<random>.tmp`), so that a later write can tell an orphan.
const TEMP_PREFIX: &str = ".benchseal-";
const TEMP_SUFFIX: &str = ".tmp";
/// A temporary file whose writer is gone is removed once it is this old (a writer holds
/// one for well under a second; the margin covers a writer in another PID namespace).
const ORPHAN_AGE: Duration = Duration::from_secs(60);
/// A temporary file this old is removed whatever its name says.
const STALE_AGE: Duration = Duration::from_secs(10 * 60);

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync,
/// then rename. A reader never sees a half-written file, and an interrupted write leaves
/// the previous content in place (and a temporary file, which the next write to that
/// directory removes once it is stale: see [`remove_stale_temporaries`]).
///
/// A path that cannot be written (a directory, a file where a directory should be, no
/// permission, a read-only file system) is bad input (exit 2), said once; a failure while
/// writing (a full disk) is not.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    check_output_file(path)?;
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir)
        .map_err(|e| output_error(e, format!("creating directory {}", dir.display())))?;
    remove_stale_temporaries(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}.", std::process::id()))
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| output_error(e, format!("creating a temporary file in {}", dir.display())))?;
    // Temporary files are created 0600; a report or baseline is meant to be read by others,
    // so it gets the ordinary 0644 before it takes the place of the old file.
    tmp.write_all(bytes)
        .and_then(|_| std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)))
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| output_error(e.error, format!("renaming into {}", path.display())))?;
    Ok(())
}

/// The directory `path` lies in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks that `path` can be written as a file: not a directory, and its directory is or
/// can become one (see [`check_output_dir`]).
pub fn check_output_file(path: &Path) -> Result<()> {
    check_output_dir(parent_dir(path))?;
    if path.is_dir() {
        return Err(bad_input(format!(
            "cannot write {}: it is a directory",
            path.display()
        )));
    }
    Ok(())
}

/// Checks that `dir` is, or can become, a directory: the nearest of it and its ancestors
/// that exists must be a directory. Commands that write only at the end call this before
/// they start, so that a bad output path costs nothing.
pub fn check_output_dir(dir: &Path) -> Result<()> {
    let existing = dir
        .ancestors()
        .find(|a| std::fs::symlink_metadata(a).is_ok());
    match existing {
        Some(a) if !a.as_os_str().is_empty() && !a.is_dir() => Err(bad_input(format!(
            "cannot write into {}: {} is not a directory",
            dir.display(),
            a.display()
        ))),
        _ => Ok(()),
    }
}

/// An I/O error about where output goes is bad input, said once with what was being done;
/// any other is a plain failure.
fn output_error(err: std::io::Error, doing: String) -> anyhow::Error {
    use std::io::ErrorKind as K;
    match err.kind() {
        K::AlreadyExists
        | K::NotADirectory
        | K::IsADirectory
        | K::DirectoryNotEmpty
        | K::PermissionDenied
        | K::ReadOnlyFilesystem
        | K::NotFound
        | K::InvalidFilename => bad_input(format!("{doing}: {err}")),
        _ => anyhow::Error::new(err).context(doing),
    }
}

/// Removes the temporary files of [`write_atomic`] that an interrupted write (`kill -9`,
/// an abort) left in `dir`: those whose writer process is gone and that are older than a
/// minute, and any older than ten minutes. Best effort: what cannot be removed stays.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(middle) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        else {
            continue;
        };
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let age = metadata
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .unwrap_or_default();
        let writer_gone = middle
            .split_once('.')
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| {
                rustix::process::test_kill_process(pid) == Err(rustix::io::Errno::SRCH)
            });
        let stale = (writer_gone && age >= ORPHAN_AGE) || age >= STALE_AGE;
        if stale && metadata.is_file() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Serialises `value` as pretty JSON (with a trailing newline) and writes it atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)
        .with_context(|| format!("serialising {}", path.display()))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a file to a string, naming the path on failure.
pub fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// SHA-256 of a file's contents, streamed.
pub fn file_sha256(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = crate::model::digest::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish_hex())
}

/// Holds an exclusive lock on `<parent>/.<name>.lock` for one writer of `dir` at a time;
/// released when dropped, and by the kernel when the process dies (also by `kill -9`).
pub struct DirLock {
    _file: std::fs::File,
}

/// Takes the lock of `dir`, or fails at once naming it when another process holds it.
pub fn lock_dir(dir: &Path) -> Result<DirLock> {
    let (parent, name) = split_dir(dir)?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("creating directory {}", parent.display()))?;
    let path = parent.join(format!(".{name}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock {}", path.display()))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
        |e| {
            crate::model::outcome::bad_input(format!(
                "{} is being written by another process (lock {} is held: {e}); wait for it \
                 to finish",
                dir.display(),
                path.display()
            ))
        },
    )?;
    Ok(DirLock { _file: file })
}

fn split_dir(dir: &Path) -> Result<(&Path, String)> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: not a directory name", dir.display()))?
        .to_string();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok((parent, name))
}

/// Replaces the directory `dir` with one holding exactly `files` (name, bytes), as one
/// unit: the files are written and fsynced into a temporary directory beside it, which
/// then takes `dir`'s place in one `renameat2(RENAME_EXCHANGE)` (or one rename when `dir`
/// does not exist yet). A reader, or a crash at any point, sees the old set or the new set,
/// never a mix. The caller holds [`lock_dir`]; temporary directories left by a killed
/// writer are removed here.
pub fn replace_dir_atomic(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let (parent, name) = split_dir(dir)?;
    let prefix = format!(".{name}.tmp-");
    for entry in std::fs::read_dir(parent)
        .with_context(|| format!("reading {}", parent.display()))?
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .tempdir_in(parent)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("setting the mode of {}", tmp.path().display()))?;
    for (file_name, bytes) in files {
        let path = tmp.path().join(file_name);
        // A name may hold one directory level (`<class>/signoff.json` of a fleet report).
        if let Some(sub) = path.parent().filter(|p| *p != tmp.path()) {
            std::fs::create_dir_all(sub).with_context(|| format!("creating {}", sub.display()))?;
        }
        let mut file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        file.write_all(bytes)
            .and_then(|_| file.sync_all())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let subdirs: std::collections::BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|(name, _)| tmp.path().join(name).parent().map(Path::to_path_buf))
        .collect();
    for sub in subdirs.iter().map(PathBuf::as_path).chain([tmp.path()]) {
        std::fs::File::open(sub)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", sub.display()))?;
    }
    let tmp = tmp.keep();
    let renamed = if dir.exists() {
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            &tmp,
            rustix::fs::CWD,
            dir,
            rustix::fs::RenameFlags::EXCHANGE,
        )
    } else {
        rustix::fs::renameat(rustix::fs::CWD, &tmp, rustix::fs::CWD, dir)
    };
    if let Err(e) = renamed {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(anyhow::anyhow!(
            "moving the new files into {}: {e}",
            dir.display()
        ));
    }
    // `tmp` now holds the previous set (or nothing).
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", parent.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_content_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/x.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "written files are readable by others");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_directory_is_replaced_as_one_unit_under_its_lock() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("v1");
        let set = |text: &str| -> Vec<(String, Vec<u8>)> {
            ["a.json", "a.md"]
                .iter()
                .map(|n| (n.to_string(), text.as_bytes().to_vec()))
                .collect()
        };
        let lock = lock_dir(&dir).unwrap();
        // A second writer is refused while the first holds the lock.
        assert!(lock_dir(&dir).is_err());
        // A killed writer's temporary directory is cleaned up by the next write.
        std::fs::create_dir(root.path().join(".v1.tmp-stale")).unwrap();
        replace_dir_atomic(&dir, &set("one")).unwrap();
        std::fs::write(dir.join("old-only.txt"), "x").unwrap();
        replace_dir_atomic(&dir, &set("two")).unwrap();
        drop(lock);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.json", "a.md"], "exactly the new set");
        assert_eq!(std::fs::read_to_string(dir.join("a.md")).unwrap(), "two");
        let mut left: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".v1.lock", "v1"]);
        assert!(lock_dir(&dir).is_ok(), "the lock is released on drop");
    }

    /// A temporary file as an interrupted write leaves it, `age` old.
    fn leftover(dir: &Path, name: &str, age: Duration) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, b"half").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
        path
    }

    #[test]
    fn stale_temporary_files_are_removed_on_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let minute = Duration::from_secs(61);
        // PID 2^22 + 1 lies above Linux's largest PID, so no process has it.
        let orphan = leftover(dir.path(), ".benchseal-4194305.abc123.tmp", minute);
        let fresh_orphan = leftover(dir.path(), ".benchseal-4194305.def456.tmp", Duration::ZERO);
        let mine = format!(".benchseal-{}.ghi789.tmp", std::process::id());
        let live_writer = leftover(dir.path(), &mine, minute);
        let old_unnamed = leftover(dir.path(), ".benchseal-Xy12zz.tmp", STALE_AGE);
        let other = leftover(dir.path(), "notes.tmp", STALE_AGE);
        write_atomic(&dir.path().join("x.json"), b"{}").unwrap();
        assert!(!orphan.exists(), "its writer is gone");
        assert!(!old_unnamed.exists(), "older than ten minutes");
        assert!(fresh_orphan.exists(), "younger than a minute");
        assert!(live_writer.exists(), "its writer still runs");
        assert!(other.exists(), "not benchseal's");
    }

    #[test]
    fn bad_output_paths_are_bad_input_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        for (path, expected) in [
            (file.join("x.json"), "is not a directory"),
            (dir.path().to_path_buf(), "it is a directory"),
        ] {
            let err = write_atomic(&path, b"{}").unwrap_err();
            let message = format!("{err:#}");
            assert!(message.contains(expected), "{message}");
            assert!(
                err.downcast_ref::<crate::model::outcome::BadInput>()
                    .is_some(),
                "{message}"
            );
            assert_eq!(message.matches("directory").count(), 1, "{message}");
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "nothing written"
        );
    }
}
