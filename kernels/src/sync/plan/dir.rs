//! A directory held open by its file descriptor, and the C library calls the fast planner
//! makes relative to it (`openat`, `fstatat`, `readlinkat`, `getdents64`), each behind a
//! safe method. Names are resolved from the held directory, so the kernel walks one path
//! component per call instead of the whole path from the root, and a listing is read in
//! large batches.

use std::ffi::{CStr, CString, OsString};
use std::fs::{File, OpenOptions};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// What `fstatat` says about a name, without following a symlink.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stat {
    pub mode: u32,
    pub size: u64,
    pub dev: u64,
    pub ino: u64,
}

impl Stat {
    /// The `d_type` value (`DT_*`) for this entry's file type.
    pub fn d_type(self) -> u8 {
        ((self.mode & libc::S_IFMT) >> 12) as u8
    }
}

/// A child of a listed directory: its name and its `d_type` (`DT_UNKNOWN` on file systems
/// that do not fill it in).
pub(super) struct RawEntry {
    pub name: CString,
    pub d_type: u8,
}

/// An open directory.
#[derive(Debug)]
pub(super) struct Dir {
    file: File,
}

/// Bytes read per `getdents64` call.
const LISTING_BUFFER: usize = 32 * 1024;

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl Dir {
    /// Opens the directory at `path` (following symlinks: a root is taken as given).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)?;
        Ok(Dir { file })
    }

    fn at(&self, name: &CStr, flags: libc::c_int) -> io::Result<File> {
        // SAFETY: `name` is NUL-terminated and outlives the call; the descriptor is ours and
        // open for as long as `self` lives.
        let fd = check(unsafe { libc::openat(self.file.as_raw_fd(), name.as_ptr(), flags) })?;
        // SAFETY: `openat` just returned `fd`, a new descriptor nothing else owns.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Opens the child directory `name`, not following a symlink.
    pub fn open_dir(&self, name: &CStr) -> io::Result<Dir> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        Ok(Dir {
            file: self.at(name, flags)?,
        })
    }

    /// Opens the regular file `name` for reading: never following a final symlink, never
    /// blocking on a FIFO that raced into place, with `O_NOATIME` where permitted (retried
    /// without it on EPERM), as [`super::FsOpener`] does by path.
    pub fn open_file(&self, name: &CStr) -> io::Result<File> {
        let base = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        match self.at(name, base | libc::O_NOATIME) {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => self.at(name, base),
            other => other,
        }
    }

    /// `lstat` of the child `name`.
    pub fn stat(&self, name: &CStr) -> io::Result<Stat> {
        let mut st = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `name` is NUL-terminated, `st` is writable space for one `stat`, and the
        // descriptor is open.
        check(unsafe {
            libc::fstatat(
                self.file.as_raw_fd(),
                name.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })?;
        // SAFETY: `fstatat` succeeded, so it filled in `st`.
        let st = unsafe { st.assume_init() };
        Ok(Stat {
            mode: st.st_mode,
            size: st.st_size as u64,
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }

    /// The target text of the symlink `name`.
    pub fn read_link(&self, name: &CStr) -> io::Result<OsString> {
        let mut buf = vec![0u8; 256];
        loop {
            // SAFETY: `name` is NUL-terminated and `buf` is writable for `buf.len()` bytes.
            let n = unsafe {
                libc::readlinkat(
                    self.file.as_raw_fd(),
                    name.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = n as usize;
            if n < buf.len() {
                buf.truncate(n);
                return Ok(OsString::from_vec(buf));
            }
            // The text may have been cut: try again with more room.
            buf.resize(buf.len() * 2, 0);
        }
    }

    /// The children of this directory (without `.` and `..`), in the order the file system
    /// gives them.
    pub fn entries(&self) -> io::Result<Vec<RawEntry>> {
        let mut buf = vec![0u8; LISTING_BUFFER];
        let mut out = Vec::new();
        loop {
            // SAFETY: `buf` is writable for `buf.len()` bytes and the descriptor is an open
            // directory; the kernel writes whole `linux_dirent64` records into it.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    self.file.as_raw_fd(),
                    buf.as_mut_ptr(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            if n == 0 {
                return Ok(out);
            }
            parse_dirents(&buf[..n as usize], &mut out)?;
        }
    }
}

/// Reads `linux_dirent64` records: inode (8 bytes), offset (8), record length (2), type
/// (1), then the NUL-terminated name, padded to the record length.
fn parse_dirents(mut bytes: &[u8], out: &mut Vec<RawEntry>) -> io::Result<()> {
    const NAME_AT: usize = 19;
    let malformed = || io::Error::new(io::ErrorKind::InvalidData, "malformed directory record");
    while !bytes.is_empty() {
        let reclen = bytes
            .get(16..18)
            .map(|b| usize::from(u16::from_ne_bytes([b[0], b[1]])))
            .ok_or_else(malformed)?;
        let record = bytes
            .get(..reclen)
            .filter(|r| r.len() > NAME_AT)
            .ok_or_else(malformed)?;
        let name = CStr::from_bytes_until_nul(&record[NAME_AT..]).map_err(|_| malformed())?;
        if name != c"." && name != c".." {
            out.push(RawEntry {
                name: name.to_owned(),
                d_type: record[18],
            });
        }
        bytes = &bytes[reclen..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_stats_and_reads_links_relative_to_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"12345").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::os::unix::fs::symlink("x".repeat(600), dir.path().join("l")).unwrap();
        let d = Dir::open(dir.path()).unwrap();
        let mut names: Vec<(String, u8)> = d
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| (e.name.to_string_lossy().into_owned(), e.d_type))
            .collect();
        names.sort();
        assert_eq!(names.len(), 3);
        assert_eq!(d.stat(c"f").unwrap().size, 5);
        assert_eq!(d.stat(c"d").unwrap().d_type(), libc::DT_DIR);
        assert_eq!(d.stat(c"l").unwrap().d_type(), libc::DT_LNK);
        assert_eq!(d.read_link(c"l").unwrap().len(), 600);
        assert!(d.open_file(c"l").is_err(), "a symlink is never followed");
        assert!(d.open_dir(c"d").unwrap().entries().unwrap().is_empty());
        let err = d.stat(c"missing").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_truncated_record_is_an_error_not_a_panic() {
        let mut out = Vec::new();
        assert!(parse_dirents(&[0; 10], &mut out).is_err());
        let mut record = [0u8; 24];
        record[16] = 200;
        assert!(parse_dirents(&record, &mut out).is_err());
    }
}
