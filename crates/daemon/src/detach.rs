//! Becoming a daemon: into the background, a new session, stdio on
//! /dev/null, as piranha's `daemonize` (and `daemon(3)`).
//!
//! With [`Detach::fork`]: fork; the parent waits for the first child and
//! exits 0, so that when the starting shell gets its prompt back the daemon
//! exists; the child starts a new session (no controlling terminal) and
//! forks again, so that the daemon is not a session leader and cannot
//! acquire a terminal; the grandchild goes on. Without it (`--nofork`, how
//! pulse starts lvsd and lvsd starts nanny): the same process, a new
//! session if it is not already a group leader.
//!
//! **Call before any thread exists**: before a tokio runtime is built, and
//! before anything that might start a thread. Only the forking thread
//! survives a fork; the detached process would be missing the others
//! while holding their locks. Debug builds assert it from
//! `/proc/self/status`.
//!
//! The processes that exit do so with `_exit`: no destructor of the caller
//! runs there, so a [`crate::pidfile::PidFile`] taken before detaching is
//! neither removed nor unlocked by a parent going away (the detached
//! process inherits the lock; it calls `PidFile::rewrite`).

use std::fmt;
use std::io::{self, Write as _};

use nix::libc;
use nix::unistd::{ForkResult, chdir, dup2_stderr, dup2_stdin, dup2_stdout, fork, setsid};

/// How to detach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detach {
    /// Fork into the background (double fork). `false` for `--nofork`.
    pub fork: bool,
    /// `chdir("/")`, so that the daemon keeps no file system busy. nanny
    /// keeps its directory, as the original (check programs may be given
    /// relative to it).
    pub chdir_root: bool,
}

/// Which step of detaching failed.
#[derive(Debug)]
pub struct DetachError {
    step: &'static str,
    source: io::Error,
}

impl fmt::Display for DetachError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot detach: {}: {}", self.step, self.source)
    }
}

impl std::error::Error for DetachError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn step(step: &'static str) -> impl FnOnce(nix::errno::Errno) -> DetachError {
    move |e| DetachError {
        step,
        source: e.into(),
    }
}

/// Detach as `how` says. Returns in the daemon process only; every other
/// process leaves with `_exit`.
pub fn detach(how: Detach) -> Result<(), DetachError> {
    debug_assert!(
        crate::proc_status::thread_count().is_none_or(|n| n <= 1),
        "detach called with more than one thread"
    );
    if how.fork {
        // Whatever is buffered would otherwise be written twice, or lost by
        // _exit.
        let _ = io::stdout().flush();
        let _ = io::stderr().flush();
        // SAFETY: single-threaded (asserted above, documented for the
        // caller), so the child may run any code.
        match unsafe { fork() }.map_err(step("fork"))? {
            ForkResult::Parent { child } => {
                let code = match nix::sys::wait::waitpid(child, None) {
                    Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => 0,
                    _ => 1,
                };
                exit_now(code)
            }
            ForkResult::Child => {}
        }
        // A new session: no controlling terminal. Cannot fail here (the
        // child of a fork is never a group leader).
        if let Err(e) = setsid() {
            let _ = writeln!(io::stderr(), "cannot detach: setsid: {e}");
            exit_now(1);
        }
        // SAFETY: still single-threaded: fork copies only the calling
        // thread.
        match unsafe { fork() } {
            Ok(ForkResult::Parent { .. }) => exit_now(0),
            Ok(ForkResult::Child) => {}
            Err(e) => {
                let _ = writeln!(io::stderr(), "cannot detach: fork: {e}");
                exit_now(1);
            }
        }
    } else {
        // EPERM when already a group leader (started by a shell with job
        // control, or by pulse as one): the daemon works either way.
        let _ = setsid();
    }
    if how.chdir_root {
        chdir("/").map_err(step("chdir /"))?;
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|source| DetachError {
            step: "/dev/null",
            source,
        })?;
    dup2_stdin(&null).map_err(step("stdin"))?;
    dup2_stdout(&null).map_err(step("stdout"))?;
    dup2_stderr(&null).map_err(step("stderr"))?;
    Ok(())
}

/// Leave a process that must not run the caller's destructors.
fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends the process at once; it is always safe to call.
    unsafe { libc::_exit(code) }
}
