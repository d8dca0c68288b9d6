//! The pid file as the lock that keeps a second instance from starting.
//!
//! Two lvsd on one table fight over it, and the one that exits first
//! deletes every service and the survivor's files. [`PidFile::acquire`]
//! takes `flock(LOCK_EX | LOCK_NB)` on the file before writing into it: a
//! second instance gets [`PidFileError::Locked`] with the holder's pid and
//! never touches the file. The lock is the truth, not the content: a file
//! left by a crashed instance (dead pid, nobody holding the lock) is simply
//! taken over.
//!
//! **Across [`crate::detach`]:** acquire *before* detaching, so that a
//! refusal still reaches the terminal. An flock belongs to the open file
//! description, which `fork` shares: the detached process holds the lock
//! once the parents exit (detach leaves them with `_exit`, so no destructor
//! of theirs runs). The pid changes with each fork: call
//! [`PidFile::rewrite`] in the detached process.
//!
//! Dropping a [`PidFile`] removes the file only while it is still ours: the
//! path names the inode we locked, and it holds our pid. Another instance's
//! file is never removed.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::libc;

/// How often [`PidFile::acquire`] starts over when the file it locked was
/// removed or replaced by the previous holder meanwhile.
const RETRIES: usize = 8;

/// A locked pid file holding our pid.
#[derive(Debug)]
pub struct PidFile {
    file: File,
    path: PathBuf,
    /// The pid written into the file.
    pid: u32,
}

/// Why a pid file could not be taken.
#[derive(Debug)]
pub enum PidFileError {
    /// Another process holds the lock.
    Locked {
        /// The program, for the message (`lvsd`).
        program: String,
        /// The pid file.
        path: PathBuf,
        /// The pid it names, if readable.
        pid: Option<i32>,
    },
    /// A system call on the file failed.
    Io {
        /// The pid file.
        path: PathBuf,
        /// What we were doing.
        action: &'static str,
        /// Why it failed.
        source: io::Error,
    },
}

impl fmt::Display for PidFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PidFileError::Locked {
                program,
                path,
                pid: Some(pid),
            } => write!(
                f,
                "another {program} is running (pid {pid}, {})",
                path.display()
            ),
            PidFileError::Locked {
                program,
                path,
                pid: None,
            } => write!(f, "another {program} is running ({})", path.display()),
            PidFileError::Io {
                path,
                action,
                source,
            } => write!(f, "pid file {}: cannot {action}: {source}", path.display()),
        }
    }
}

impl std::error::Error for PidFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PidFileError::Locked { .. } => None,
            PidFileError::Io { source, .. } => Some(source),
        }
    }
}

impl PidFile {
    /// Open or create `path`, lock it, and write our pid into it. `program`
    /// names us in the refusal (`another lvsd is running …`).
    pub fn acquire(path: &Path, program: &str) -> Result<PidFile, PidFileError> {
        // Absolute, so that the file is still found for removal after
        // detach changed to `/`.
        let absolute = std::path::absolute(path);
        let path = absolute.as_deref().unwrap_or(path);
        let io_err = |action, source| PidFileError::Io {
            path: path.to_owned(),
            action,
            source,
        };
        for _ in 0..RETRIES {
            // No O_TRUNC: the file may be another instance's until we hold
            // the lock.
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .open(path)
                .map_err(|e| io_err("open", e))?;
            match lock(&file) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => {
                    return Err(PidFileError::Locked {
                        program: program.to_owned(),
                        path: path.to_owned(),
                        pid: read_open(&file),
                    });
                }
                Err(e) => return Err(io_err("lock", e)),
            }
            // The holder we waited for may have removed the file between
            // our open and our lock (it unlinks, then unlocks by closing):
            // then we hold a lock on an inode nobody else will open.
            if !names_our_inode(path, &file) {
                continue;
            }
            let mut pidfile = PidFile {
                file,
                path: path.to_owned(),
                pid: 0,
            };
            pidfile.rewrite()?;
            return Ok(pidfile);
        }
        Err(io_err(
            "lock",
            io::Error::other("the file kept being replaced"),
        ))
    }

    /// Write the calling process's pid into the file (after
    /// [`crate::detach`] forked).
    pub fn rewrite(&mut self) -> Result<(), PidFileError> {
        let pid = std::process::id();
        let io_err = |action, source| PidFileError::Io {
            path: self.path.clone(),
            action,
            source,
        };
        self.file.set_len(0).map_err(|e| io_err("truncate", e))?;
        self.file
            .write_all_at(format!("{pid}\n").as_bytes(), 0)
            .map_err(|e| io_err("write", e))?;
        self.pid = pid;
        Ok(())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only the process that wrote its pid, and only while the path is
        // still the file we locked holding that pid: never another
        // instance's file, never from a parent that forked us.
        if self.pid != std::process::id() || !names_our_inode(&self.path, &self.file) {
            return;
        }
        if read_open(&self.file) == i32::try_from(self.pid).ok() {
            let _ = std::fs::remove_file(&self.path);
        }
        // Closing the file (after this) releases the lock.
    }
}

fn lock(file: &File) -> io::Result<()> {
    loop {
        // SAFETY: flock on a descriptor this File owns for the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Whether `path` still names the inode `file` has open.
fn names_our_inode(path: &Path, file: &File) -> bool {
    match (std::fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Longest pid file we read; a pid is at most 10 digits.
const MAX_PID_TEXT: usize = 64;

fn parse_pid(text: &str) -> Option<i32> {
    text.lines()
        .next()?
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|p| *p > 0)
}

fn read_open(file: &File) -> Option<i32> {
    let mut buf = [0u8; MAX_PID_TEXT];
    let n = file.read_at(&mut buf, 0).ok()?;
    parse_pid(std::str::from_utf8(&buf[..n]).ok()?)
}

/// The pid a pid file names (first line, a positive number), without
/// taking its lock; `Ok(None)` when the file holds no pid. Whether that
/// process still runs is the caller's question (pulse looks for a stale
/// lvsd this way).
pub fn read_pid(path: &Path) -> io::Result<Option<i32>> {
    let mut text = String::new();
    File::open(path)?
        .take(MAX_PID_TEXT as u64)
        .read_to_string(&mut text)?;
    Ok(parse_pid(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::TempDir;

    fn own_pid() -> i32 {
        i32::try_from(std::process::id()).expect("pid")
    }

    #[test]
    fn second_acquire_is_refused_with_the_holders_pid() {
        let dir = TempDir::new("pidfile", "second");
        let path = dir.0.join("lvs.pid");
        let first = PidFile::acquire(&path, "lvsd").expect("first");
        assert_eq!(read_pid(&path).expect("read"), Some(own_pid()));
        // A separate open file description: flock conflicts even within one
        // process.
        let err = PidFile::acquire(&path, "lvsd").expect_err("second must fail");
        match &err {
            PidFileError::Locked { pid, .. } => assert_eq!(*pid, Some(own_pid())),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "another lvsd is running (pid {}, {})",
                own_pid(),
                path.display()
            )
        );
        // The refusal left the holder's file alone.
        assert_eq!(read_pid(&path).expect("read"), Some(own_pid()));
        drop(first);
        assert!(!path.exists(), "drop removes our own file");
        let again = PidFile::acquire(&path, "lvsd").expect("after drop");
        drop(again);
    }

    #[test]
    fn stale_file_of_a_dead_process_is_taken_over() {
        let dir = TempDir::new("pidfile", "stale");
        let path = dir.0.join("lvs.pid");
        let mut dead = std::process::Command::new("true").spawn().expect("true");
        let dead_pid = dead.id();
        dead.wait().expect("wait");
        std::fs::write(&path, format!("{dead_pid}\n")).expect("write");
        let pf = PidFile::acquire(&path, "lvsd").expect("stale file is free");
        assert_eq!(read_pid(&path).expect("read"), Some(own_pid()));
        // A longer stale content is fully replaced, not overwritten in part.
        drop(pf);
        std::fs::write(&path, "1234567890123\ngarbage\n").expect("write");
        let _pf = PidFile::acquire(&path, "lvsd").expect("free");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            format!("{}\n", own_pid())
        );
    }

    #[test]
    fn drop_never_removes_a_file_that_is_not_ours() {
        let dir = TempDir::new("pidfile", "replaced");
        let path = dir.0.join("lvs.pid");
        let pf = PidFile::acquire(&path, "lvsd").expect("acquire");
        // Someone replaced the file (a new inode at the path).
        std::fs::remove_file(&path).expect("rm");
        std::fs::write(&path, "4242\n").expect("write");
        drop(pf);
        assert_eq!(read_pid(&path).expect("still there"), Some(4242));

        // Same inode, but another pid written into it.
        std::fs::remove_file(&path).expect("rm");
        let pf = PidFile::acquire(&path, "lvsd").expect("acquire");
        std::fs::write(&path, "4343\n").expect("write");
        drop(pf);
        assert_eq!(read_pid(&path).expect("still there"), Some(4343));
    }

    #[test]
    fn read_pid_reads_the_first_line() {
        let dir = TempDir::new("pidfile", "read");
        let path = dir.0.join("x.pid");
        std::fs::write(&path, " 77 \nmore\n").expect("write");
        assert_eq!(read_pid(&path).expect("read"), Some(77));
        std::fs::write(&path, "").expect("write");
        assert_eq!(read_pid(&path).expect("read"), None);
        std::fs::write(&path, "-3\n").expect("write");
        assert_eq!(read_pid(&path).expect("read"), None);
        assert!(read_pid(&dir.0.join("missing")).is_err());
    }

    #[test]
    fn unwritable_place_is_an_io_error_naming_the_path() {
        let err = PidFile::acquire(Path::new("/nonexistent-dir/x.pid"), "pulse")
            .expect_err("no such directory");
        let text = err.to_string();
        assert!(
            text.starts_with("pid file /nonexistent-dir/x.pid: cannot open:"),
            "{text}"
        );
    }
}
