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
    /// the child once stdout is closed. Returns its exit when it is over.
    pub fn advance(&mut self, out: &mut Vec<u8>, limit: usize) -> io::Result<Option<Exit>> {
        if let Some(stdout) = &mut self.stdout {
            let mut scratch = [0u8; 512];
            loop {
                match stdout.read(&mut scratch) {
                    Ok(0) => {
                        self.stdout = None;
                        break;
                    }
                    Ok(n) => {
                        let keep = n.min(limit.saturating_sub(out.len()));
                        out.extend_from_slice(&scratch[..keep]);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
        }
        match self.child.try_wait()? {
            Some(status) => {
                self.done = true;
                Ok(Some(Exit::from(status)))
            }
            None => Ok(None),
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
        // The shell's child keeps stdout open; killing only the shell would
        // leave it running.
        let start = Instant::now();
        let (exit, _) = run(
            &["sh", "-c", "sleep 30 & sleep 30"],
            Duration::from_millis(200),
        );
        assert_eq!(exit, None);
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn missing_program_is_an_error() {
        assert!(ProgramRun::spawn(&["/nonexistent/check".to_string()]).is_err());
    }
}
