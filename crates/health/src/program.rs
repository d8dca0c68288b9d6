//! Running a check or load program: no shell, its own process group, stdout
//! collected without blocking, and the whole group killed at the deadline.
//!
//! The original waited for the child with a SIGALRM that never fired (the
//! handler was installed with SA_RESTART, so `waitpid` just resumed), so a
//! hung program hung nanny; it read the output once, after exit, and chopped
//! its last byte. Here the caller polls [`ProgramRun::wait_fd`] with its
//! deadline and calls [`ProgramRun::advance`]; on timeout [`ProgramRun::kill`]
//! kills the process group, so children the program started die with it.

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl From<ExitStatus> for Exit {
    fn from(status: ExitStatus) -> Exit {
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            // Neither: cannot happen for a reaped child; count as failure.
            (None, None) => Exit::Code(-1),
        }
    }
}

/// A running program whose stdout is being collected.
#[derive(Debug)]
pub struct ProgramRun {
    child: Child,
    /// `None` once stdout reached EOF.
    stdout: Option<ChildStdout>,
    /// A pidfd (Linux >= 5.3) becomes readable when the child exits; without
    /// one the caller has to poll on a short tick.
    pidfd: Option<OwnedFd>,
    done: bool,
}

/// How often to look for the exit of a child when no pidfd is available.
pub const EXIT_TICK: std::time::Duration = std::time::Duration::from_millis(20);

impl ProgramRun {
    /// Starts `argv[0]` (searched in `PATH`, as `execvp`) with stdin and
    /// stderr on /dev/null, stdout on a pipe, in a new process group. The
    /// standard library resets the signal mask and SIGPIPE in the child, so
    /// the program does not inherit nanny's blocked signals.
    pub fn spawn(argv: &[String]) -> io::Result<ProgramRun> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let stdout = child.stdout.take();
        if let Some(out) = &stdout {
            let flags = fcntl(out.as_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?;
            let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
            fcntl(out.as_fd(), FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        }
        let pidfd = pidfd_open(child.id());
        Ok(ProgramRun {
            child,
            stdout,
            pidfd,
            done: false,
        })
    }

    /// The descriptor to poll for input (`POLLIN`), or `None` when only a
    /// timer tick ([`EXIT_TICK`]) can tell that the child exited.
    pub fn wait_fd(&self) -> Option<RawFd> {
        match (&self.stdout, &self.pidfd) {
            (Some(out), _) => Some(out.as_raw_fd()),
            (None, Some(pidfd)) => Some(pidfd.as_raw_fd()),
            (None, None) => None,
        }
    }

    /// Reads what stdout has (keeping at most `limit` bytes in `out`, the
    /// rest discarded so the program never blocks on a full pipe) and reaps
    /// the child. Returns its exit when it is over.
    ///
    /// The program's own exit ends the run, as the original's `waitpid`:
    /// what it wrote before exiting is read, and a background child of its
    /// that keeps stdout open (`helper & echo OK`) neither delays nor fails
    /// the check; it is left running, as the original left it.
    pub fn advance(&mut self, out: &mut Vec<u8>, limit: usize) -> io::Result<Option<Exit>> {
        self.drain(out, limit)?;
        match self.child.try_wait()? {
            Some(status) => {
                // Written just before the exit, after the read above.
                self.drain(out, limit)?;
                self.stdout = None;
                self.done = true;
                Ok(Some(Exit::from(status)))
            }
            None => Ok(None),
        }
    }

    /// Whether the caller must also wake on a short tick
    /// ([`EXIT_TICK`]): while stdout is open, [`ProgramRun::wait_fd`] is
    /// stdout, and a program whose stdout stays open after it exited (a
    /// background child holds it) would otherwise be noticed only at the
    /// deadline.
    pub fn needs_tick(&self) -> bool {
        self.stdout.is_some() || self.pidfd.is_none()
    }

    /// Reads stdout until it would block or ends.
    fn drain(&mut self, out: &mut Vec<u8>, limit: usize) -> io::Result<()> {
        let Some(stdout) = &mut self.stdout else {
            return Ok(());
        };
        let mut scratch = [0u8; 512];
        loop {
            match stdout.read(&mut scratch) {
                Ok(0) => {
                    self.stdout = None;
                    return Ok(());
                }
                Ok(n) => {
                    let keep = n.min(limit.saturating_sub(out.len()));
                    out.extend_from_slice(&scratch[..keep]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Kills the program's whole process group and reaps it.
    pub fn kill(&mut self) {
        if self.done {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // The group exists while the unreaped child does; an error means
            // it is already empty, and the wait below still reaps.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.child.wait();
        self.done = true;
    }
}

impl Drop for ProgramRun {
    fn drop(&mut self) {
        self.kill();
    }
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    let pid = nix::libc::pid_t::try_from(pid).ok()?;
    // SAFETY: pidfd_open takes a pid and a flags word and returns a new file
    // descriptor or -1; no memory is passed. The child is not yet reaped, so
    // the pid cannot have been reused.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    let fd = RawFd::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the kernel just returned this descriptor and nothing else
    // owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn run(argv: &[&str], timeout: Duration) -> (Option<Exit>, Vec<u8>) {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let mut p = ProgramRun::spawn(&argv).unwrap();
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            if let Some(exit) = p.advance(&mut out, 4096).unwrap() {
                return (Some(exit), out);
            }
            if Instant::now() >= deadline {
                p.kill();
                return (None, out);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn collects_output_and_status() {
        let (exit, out) = run(&["printf", "OK"], Duration::from_secs(5));
        assert_eq!(exit, Some(Exit::Code(0)));
        assert_eq!(out, b"OK");
        let (exit, _) = run(&["sh", "-c", "exit 3"], Duration::from_secs(5));
        assert_eq!(exit, Some(Exit::Code(3)));
        let (exit, _) = run(&["sh", "-c", "kill -9 $$"], Duration::from_secs(5));
        assert_eq!(exit, Some(Exit::Signal(9)));
    }

    #[test]
    fn kill_takes_the_whole_group() {
        // The shell's child keeps running; killing only the shell would
        // leave it. Its pid comes first on stdout.
        let argv: Vec<String> = ["sh", "-c", "sleep 30 & echo $!; sleep 30"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut p = ProgramRun::spawn(&argv).unwrap();
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !out.ends_with(b"\n") && Instant::now() < deadline {
            assert_eq!(p.advance(&mut out, 4096).unwrap(), None);
            std::thread::sleep(Duration::from_millis(5));
        }
        let child: i32 = String::from_utf8_lossy(&out).trim().parse().expect("pid");
        p.kill();
        // Gone, or a zombie waiting for init: killed either way.
        let deadline = Instant::now() + Duration::from_secs(2);
        let alive = || {
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
        };
        while alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive(), "the program's child {child} survived kill()");
    }

    #[test]
    fn the_programs_exit_counts_not_a_background_child_holding_stdout() {
        // piranha waited for the program only; a helper started in the
        // background without redirecting stdout used to make every check
        // a timeout.
        let start = Instant::now();
        let (exit, out) = run(&["sh", "-c", "sleep 30 & echo OK"], Duration::from_secs(5));
        assert_eq!(exit, Some(Exit::Code(0)));
        assert_eq!(out, b"OK\n");
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        // Output written right before the exit is not lost.
        let (exit, out) = run(
            &["sh", "-c", "sleep 30 & printf 'a'; printf 'b'; exit 4"],
            Duration::from_secs(5),
        );
        assert_eq!((exit, out), (Some(Exit::Code(4)), b"ab".to_vec()));
    }

    #[test]
    fn missing_program_is_an_error() {
        assert!(ProgramRun::spawn(&["/nonexistent/check".to_string()]).is_err());
    }
}
