//! Descriptors a parent hands to its child by number, named in an
//! environment variable, and the readiness contract of `PULSE_READY_FD`.
//!
//! Two contracts use this, each with both ends in one place:
//! - [`PULSE_READY_FD`]: pulse makes a pipe and starts lvsd with the write
//!   end at some number, named by this variable. lvsd writes
//!   [`ready_line`] (`ready PID\n`) and closes it once its table is
//!   installed ([`ReadyWriter::signal`]); pulse reads it with a deadline
//!   ([`wait_ready`], or its own reader and [`parse_ready_line`]).
//! - [`LVSD_REPORT_FD`]: lvsd starts each monitor with a report pipe at
//!   descriptor 3 named by this variable; nanny writes report lines there.
//!   The name's home is `health::report::FD_ENV`, next to the line format;
//!   this constant repeats it so that process plumbing can name it without
//!   depending on the health crate (nanny's tests check that they agree).
//!
//! [`take`] probes before it owns: only a number above 2 that is open, so a
//! stale variable can never make us own (and later close) a descriptor that
//! is something else. It sets close-on-exec, so our own children do not
//! inherit it, and removes the variable, so they do not inherit a stale
//! name either.

use std::fmt;
use std::fs::File;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// The readiness pipe pulse passes to lvsd.
pub const PULSE_READY_FD: &str = "PULSE_READY_FD";

/// The report pipe lvsd passes to each monitor (the same name as
/// `health::report::FD_ENV`).
pub const LVSD_REPORT_FD: &str = "LVSD_REPORT_FD";

/// Why an inherited descriptor cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InheritedFdError {
    /// The value is not a number above 2 (0–2 are stdio).
    NotADescriptor {
        /// The variable.
        var: String,
        /// Its value.
        value: String,
    },
    /// The number is not open in this process.
    NotOpen {
        /// The variable.
        var: String,
        /// The number.
        fd: RawFd,
        /// What `fcntl(F_GETFD)` said.
        errno: Errno,
    },
    /// Setting close-on-exec failed.
    Cloexec {
        /// The variable.
        var: String,
        /// The number.
        fd: RawFd,
        /// Why.
        errno: Errno,
    },
}

impl fmt::Display for InheritedFdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InheritedFdError::NotADescriptor { var, value } => {
                write!(f, "{var}={value} is not a descriptor number above 2")
            }
            InheritedFdError::NotOpen { var, fd, errno } => {
                write!(f, "{var}={fd} is not an open descriptor: {errno}")
            }
            InheritedFdError::Cloexec { var, fd, errno } => write!(f, "{var}={fd}: {errno}"),
        }
    }
}

impl std::error::Error for InheritedFdError {}

/// Takes the descriptor named by `var`: `Ok(None)` when the variable is not
/// set. The variable is removed from the environment whether or not its
/// value is usable.
///
/// # Safety
///
/// Changes the environment: call it while the process has a single thread
/// (before any runtime starts), as `std::env::remove_var` requires. The
/// descriptor must be one the parent passed for this process's exclusive
/// use; nothing else in the process may own it.
pub unsafe fn take(var: &str) -> Result<Option<OwnedFd>, InheritedFdError> {
    let Some(value) = std::env::var_os(var) else {
        return Ok(None);
    };
    // SAFETY: the caller guarantees that no other thread exists to read or
    // write the environment meanwhile.
    unsafe { std::env::remove_var(var) };
    let value = value.to_string_lossy();
    // SAFETY: forwarded from the caller: the number was passed to us alone.
    unsafe { adopt(var, &value) }.map(Some)
}

/// Takes the descriptor whose number is `value` (the contents of `var`,
/// named in errors): probe, close-on-exec, own.
///
/// # Safety
///
/// If `value` names an open descriptor, nothing else in the process may own
/// it: the returned [`OwnedFd`] closes it when dropped.
pub unsafe fn adopt(var: &str, value: &str) -> Result<OwnedFd, InheritedFdError> {
    let fd: RawFd = value
        .trim()
        .parse()
        .ok()
        .filter(|fd| *fd > 2)
        .ok_or_else(|| InheritedFdError::NotADescriptor {
            var: var.to_owned(),
            value: value.to_owned(),
        })?;
    // SAFETY: only borrowed for the fcntl calls below; F_GETFD on a number
    // that is not open fails with EBADF and touches nothing.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl(borrowed, FcntlArg::F_GETFD).map_err(|errno| InheritedFdError::NotOpen {
        var: var.to_owned(),
        fd,
        errno,
    })?;
    fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(|errno| {
        InheritedFdError::Cloexec {
            var: var.to_owned(),
            fd,
            errno,
        }
    })?;
    // SAFETY: open (probed above) and, by the caller's guarantee, owned by
    // nobody else in this process.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The readiness line for `pid`, newline included.
pub fn ready_line(pid: u32) -> String {
    format!("ready {pid}\n")
}

/// Why a readiness line is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyLineError {
    /// Not `ready PID`.
    NotReady(String),
    /// `ready` followed by something that is not a pid.
    BadPid(String),
}

impl fmt::Display for ReadyLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadyLineError::NotReady(line) => {
                write!(f, "readiness line {line:?} is not \"ready PID\"")
            }
            ReadyLineError::BadPid(line) => write!(f, "readiness line {line:?}: bad pid"),
        }
    }
}

impl std::error::Error for ReadyLineError {}

/// The pid in one readiness line (with or without its newline).
pub fn parse_ready_line(line: &str) -> Result<u32, ReadyLineError> {
    let text = line.strip_suffix('\n').unwrap_or(line);
    let pid = text
        .strip_prefix("ready ")
        .ok_or_else(|| ReadyLineError::NotReady(text.to_owned()))?;
    pid.parse::<u32>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| ReadyLineError::BadPid(text.to_owned()))
}

/// lvsd's end of [`PULSE_READY_FD`]: writes the line once, then closes.
#[derive(Debug, Default)]
pub struct ReadyWriter(Option<File>);

impl ReadyWriter {
    /// Nobody waits for readiness (not started by pulse).
    pub fn none() -> ReadyWriter {
        ReadyWriter(None)
    }

    /// Signal readiness on `fd`.
    pub fn new(fd: OwnedFd) -> ReadyWriter {
        ReadyWriter(Some(File::from(fd)))
    }

    /// The writer for [`PULSE_READY_FD`], see [`take`].
    ///
    /// # Safety
    ///
    /// As [`take`]: a single thread, and the descriptor is ours alone.
    pub unsafe fn from_env() -> Result<ReadyWriter, InheritedFdError> {
        // SAFETY: forwarded from the caller.
        Ok(match unsafe { take(PULSE_READY_FD) }? {
            Some(fd) => ReadyWriter::new(fd),
            None => ReadyWriter::none(),
        })
    }

    /// Whether someone waits for the line.
    pub fn is_armed(&self) -> bool {
        self.0.is_some()
    }

    /// Write `ready PID` and close; later calls do nothing. An error means
    /// the reader is gone (pulse died or gave up).
    pub fn signal(&mut self) -> io::Result<()> {
        match self.0.take() {
            Some(mut file) => file.write_all(ready_line(std::process::id()).as_bytes()),
            None => Ok(()),
        }
    }
}

/// Why [`wait_ready`] gave up.
#[derive(Debug)]
pub enum WaitReadyError {
    /// No line within the deadline.
    TimedOut(Duration),
    /// The write end was closed without a line (the child died or was not
    /// started with the descriptor).
    Closed,
    /// A line that is not a readiness line.
    Line(ReadyLineError),
    /// Reading the pipe failed.
    Io(io::Error),
}

impl fmt::Display for WaitReadyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReadyError::TimedOut(d) => write!(f, "not ready after {:.1} s", d.as_secs_f64()),
            WaitReadyError::Closed => f.write_str("closed the readiness pipe without a line"),
            WaitReadyError::Line(e) => e.fmt(f),
            WaitReadyError::Io(e) => write!(f, "readiness pipe: {e}"),
        }
    }
}

impl std::error::Error for WaitReadyError {}

/// Longest readiness line read (`ready ` + 10 digits + newline, and room).
const MAX_READY_LINE: usize = 64;

/// pulse's end of [`PULSE_READY_FD`]: waits up to `timeout` for one line on
/// the read end and returns the pid in it. Blocks the calling thread (run
/// it on a blocking task under a runtime). Bounded: at most
/// [`MAX_READY_LINE`] bytes are read.
pub fn wait_ready(read: impl AsFd, timeout: Duration) -> Result<u32, WaitReadyError> {
    let deadline = Instant::now() + timeout;
    let mut buf = Vec::with_capacity(MAX_READY_LINE);
    loop {
        if let Some(end) = buf.iter().position(|b| *b == b'\n') {
            let line = String::from_utf8_lossy(&buf[..end]);
            return parse_ready_line(&line).map_err(WaitReadyError::Line);
        }
        if buf.len() >= MAX_READY_LINE {
            let line = String::from_utf8_lossy(&buf).into_owned();
            return Err(WaitReadyError::Line(ReadyLineError::NotReady(line)));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(WaitReadyError::TimedOut(timeout));
        }
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(read.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(WaitReadyError::Io(e.into())),
        }
        let mut chunk = [0u8; MAX_READY_LINE];
        let want = MAX_READY_LINE - buf.len();
        match nix::unistd::read(read.as_fd(), &mut chunk[..want]) {
            Ok(0) if buf.is_empty() => return Err(WaitReadyError::Closed),
            Ok(0) => {
                // A last line without its newline still counts.
                let line = String::from_utf8_lossy(&buf).into_owned();
                return parse_ready_line(&line).map_err(WaitReadyError::Line);
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(WaitReadyError::Io(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::IntoRawFd;

    fn pipe() -> (OwnedFd, OwnedFd) {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe")
    }

    #[test]
    fn ready_line_round_trip() {
        for pid in [1, 42, 4_194_304, u32::MAX] {
            assert_eq!(parse_ready_line(&ready_line(pid)), Ok(pid));
        }
        assert_eq!(parse_ready_line("ready 7"), Ok(7));
        assert!(matches!(
            parse_ready_line("READY 7\n"),
            Err(ReadyLineError::NotReady(_))
        ));
        assert!(matches!(
            parse_ready_line("ready 0\n"),
            Err(ReadyLineError::BadPid(_))
        ));
        assert!(matches!(
            parse_ready_line("ready x\n"),
            Err(ReadyLineError::BadPid(_))
        ));
        assert!(matches!(
            parse_ready_line(""),
            Err(ReadyLineError::NotReady(_))
        ));
    }

    #[test]
    fn writer_and_reader_agree_through_a_pipe() {
        let (r, w) = pipe();
        let mut writer = ReadyWriter::new(w);
        assert!(writer.is_armed());
        writer.signal().expect("signal");
        assert!(!writer.is_armed());
        // A second signal writes nothing (and the pipe is closed: EOF).
        writer.signal().expect("no-op");
        let pid = wait_ready(&r, Duration::from_secs(5)).expect("ready");
        assert_eq!(pid, std::process::id());
    }

    #[test]
    fn reader_times_out_and_sees_a_close() {
        let (r, w) = pipe();
        let start = Instant::now();
        let err = wait_ready(&r, Duration::from_millis(50)).expect_err("no line");
        assert!(matches!(err, WaitReadyError::TimedOut(_)), "{err}");
        assert!(start.elapsed() >= Duration::from_millis(50));
        drop(w);
        let err = wait_ready(&r, Duration::from_secs(5)).expect_err("closed");
        assert!(matches!(err, WaitReadyError::Closed), "{err}");
    }

    #[test]
    fn reader_refuses_garbage_and_endless_lines() {
        let (r, w) = pipe();
        nix::unistd::write(&w, b"hello\n").expect("write");
        let err = wait_ready(&r, Duration::from_secs(5)).expect_err("garbage");
        assert!(matches!(err, WaitReadyError::Line(_)), "{err}");
        let (r, w) = pipe();
        nix::unistd::write(&w, &[b'x'; 200]).expect("write");
        let err = wait_ready(&r, Duration::from_secs(5)).expect_err("too long");
        assert!(matches!(err, WaitReadyError::Line(_)), "{err}");
    }

    #[test]
    fn adopt_probes_before_owning() {
        assert_eq!(
            // SAFETY: refused before anything is owned.
            unsafe { adopt("X_FD", "2") }.expect_err("stdio"),
            InheritedFdError::NotADescriptor {
                var: "X_FD".into(),
                value: "2".into()
            }
        );
        // SAFETY: refused before anything is owned.
        let err = unsafe { adopt("X_FD", "abc") }.expect_err("text");
        assert_eq!(
            err.to_string(),
            "X_FD=abc is not a descriptor number above 2"
        );

        // A number far above any open one (not one just closed: another
        // test thread could reuse it, and we would own and close theirs).
        // SAFETY: the number is not open; adopt must refuse it.
        let err = unsafe { adopt("X_FD", "999999") }.expect_err("closed");
        assert!(
            matches!(
                err,
                InheritedFdError::NotOpen {
                    errno: Errno::EBADF,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn adopt_sets_close_on_exec() {
        // An inheritable pipe end, as a parent would pass it.
        let (r, w) = nix::unistd::pipe().expect("pipe");
        let raw = w.into_raw_fd();
        // SAFETY: `raw` was released by into_raw_fd just above: nothing
        // else owns it.
        let owned = unsafe { adopt("X_FD", &raw.to_string()) }.expect("adopt");
        let flags = fcntl(&owned, FcntlArg::F_GETFD).expect("getfd");
        assert!(FdFlag::from_bits_truncate(flags).contains(FdFlag::FD_CLOEXEC));
        drop(owned);
        drop(r);
    }
}
