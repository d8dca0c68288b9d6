//! What every child of a daemon gets between fork and exec.
//!
//! - `PR_SET_PDEATHSIG(SIGTERM)`: when the daemon dies (even by SIGKILL),
//!   its children are told to stop instead of running on unsupervised. The
//!   death signal follows the *thread* that forked: spawn from the thread
//!   that lives as long as the daemon (the runtime's main thread).
//! - a check that the parent is still the one that forked (it may have died
//!   between fork and prctl, and then nobody would send the signal);
//! - an empty signal mask and default dispositions
//!   ([`crate::signals::reset_in_child`]): a daemon blocks
//!   [`crate::signals::DAEMON_SIGNALS`] from its start, and a program
//!   inheriting that would ignore SIGTERM;
//! - optionally one descriptor at a fixed number (lvsd's report pipe at 3,
//!   named by `LVSD_REPORT_FD`; pulse's readiness pipe named by
//!   `PULSE_READY_FD`), without close-on-exec.
//!
//! Every spawn of a daemon must go through [`CommandExt::daemon_child`].
//! With tokio: `cmd.as_std_mut().daemon_child(setup)`.

use std::io;
use std::os::fd::RawFd;

use nix::libc;
use nix::sys::signal::Signal;

/// How to set up one child.
#[derive(Debug, Clone, Copy)]
pub struct ChildSetup {
    parent: u32,
    death_signal: Option<Signal>,
    pass_fd: Option<(RawFd, RawFd)>,
}

impl Default for ChildSetup {
    fn default() -> Self {
        ChildSetup::new()
    }
}

impl ChildSetup {
    /// SIGTERM when this process dies, clean signal state, no descriptor
    /// passed.
    pub fn new() -> ChildSetup {
        ChildSetup {
            parent: std::process::id(),
            death_signal: Some(Signal::SIGTERM),
            pass_fd: None,
        }
    }

    /// No death signal: for a child meant to outlive the daemon (e.g. a
    /// command run by pulse on deactivation that must finish).
    pub fn without_death_signal(mut self) -> ChildSetup {
        self.death_signal = None;
        self
    }

    /// Give the child `fd` as descriptor number `at` (open across exec).
    /// `fd` must stay open in the parent until the spawn returns; it may
    /// (and should) be close-on-exec itself.
    pub fn pass_fd(mut self, fd: RawFd, at: RawFd) -> ChildSetup {
        self.pass_fd = Some((fd, at));
        self
    }

    /// Runs in the child, between fork and exec. Async-signal-safe: only
    /// `dup2`, `fcntl`, `prctl`, `getppid`, `sigprocmask` and `sigaction`
    /// on values copied in; no allocation, no lock.
    pub fn apply(&self) -> io::Result<()> {
        if let Some((fd, at)) = self.pass_fd {
            // SAFETY: plain descriptor system calls on numbers copied into
            // this closure; async-signal-safe.
            unsafe {
                if fd == at {
                    // Already in place: dup2 would do nothing, so clear
                    // close-on-exec by hand.
                    if libc::fcntl(at, libc::F_SETFD, 0) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                } else if libc::dup2(fd, at) < 0 {
                    // dup2 leaves the new descriptor without close-on-exec.
                    return Err(io::Error::last_os_error());
                }
            }
        }
        if let Some(sig) = self.death_signal {
            // SAFETY: prctl with integer arguments; async-signal-safe.
            if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong) } < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: getppid has no arguments and cannot fail.
            let ppid = unsafe { libc::getppid() };
            if u32::try_from(ppid).ok() != Some(self.parent) {
                return Err(io::Error::other(
                    "the parent exited before the child started",
                ));
            }
        }
        crate::signals::reset_in_child()
    }
}

/// [`ChildSetup`] on a [`std::process::Command`].
pub trait CommandExt {
    /// Run `setup` in the child before exec.
    fn daemon_child(&mut self, setup: ChildSetup) -> &mut Self;
}

impl CommandExt for std::process::Command {
    fn daemon_child(&mut self, setup: ChildSetup) -> &mut Self {
        use std::os::unix::process::CommandExt as _;
        // SAFETY: `ChildSetup::apply` only makes async-signal-safe system
        // calls on the copied-in `setup` (see its doc), which is what
        // pre_exec requires after fork in a possibly multi-threaded parent.
        unsafe { self.pre_exec(move || setup.apply()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::process::{Command, Stdio};

    fn pipe() -> (std::fs::File, std::fs::File) {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        (std::fs::File::from(r), std::fs::File::from(w))
    }

    #[test]
    fn passed_fd_is_readable_at_its_number() {
        let (r, mut w) = pipe();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo $$; exec cat <&3"])
            .stdout(Stdio::piped())
            .daemon_child(ChildSetup::new().pass_fd(r.as_raw_fd(), 3));
        let mut child = cmd.spawn().expect("sh");
        drop(r);
        w.write_all(b"hello through fd 3\n").expect("write");
        drop(w);
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .expect("read");
        assert!(child.wait().expect("wait").success());
        let mut lines = out.lines();
        let pid: u32 = lines.next().expect("pid line").parse().expect("pid");
        assert_eq!(pid, child.id());
        assert_eq!(lines.next(), Some("hello through fd 3"));
    }

    #[test]
    fn without_pass_fd_the_number_is_closed() {
        // The control case: a close-on-exec pipe is not visible at 3 unless
        // passed.
        let (r, _w) = pipe();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cat <&7"])
            .stderr(Stdio::null())
            .daemon_child(ChildSetup::new());
        let _keep = r;
        assert!(!cmd.status().expect("sh").success());
    }

    fn status_field(pid_text: &str, field: &str) -> u64 {
        let line = pid_text
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .unwrap_or_else(|| panic!("{field} missing"));
        u64::from_str_radix(line.trim(), 16).expect("hex")
    }

    #[test]
    fn death_signal_and_dispositions_are_set() {
        // SIGUSR2 ignored here (no test sends it) must not stay ignored in
        // the program; SigIgn is per process, so run both spawns from this
        // one test.
        // SAFETY: SIG_IGN installs no handler code; the disposition is
        // restored before the test returns.
        let old = unsafe {
            nix::sys::signal::signal(Signal::SIGUSR2, nix::sys::signal::SigHandler::SigIgn)
        }
        .expect("signal");
        let cat = |setup: Option<ChildSetup>| {
            let mut cmd = Command::new("cat");
            cmd.arg("/proc/self/status");
            if let Some(s) = setup {
                cmd.daemon_child(s);
            }
            String::from_utf8(cmd.output().expect("cat").stdout).expect("utf-8")
        };
        let plain = cat(None);
        let ours = cat(Some(ChildSetup::new()));
        // SAFETY: restores the disposition read above.
        unsafe { nix::sys::signal::signal(Signal::SIGUSR2, old) }.expect("signal");
        let bit = 1u64 << (Signal::SIGUSR2 as u32 - 1);
        assert_ne!(
            status_field(&plain, "SigIgn:") & bit,
            0,
            "control: inherited"
        );
        assert_eq!(status_field(&ours, "SigIgn:") & bit, 0, "reset in child");
        assert_eq!(status_field(&ours, "SigBlk:"), 0);
    }

    #[test]
    fn child_gets_sigterm_when_the_spawning_thread_ends() {
        // PDEATHSIG fires when the forking thread exits: spawn from a
        // thread, let it end, and the child (sleeping 30 s) must die of
        // SIGTERM soon after.
        let handle = std::thread::spawn(|| {
            let mut cmd = Command::new("sleep");
            cmd.arg("30").daemon_child(ChildSetup::new());
            cmd.spawn().expect("sleep")
        });
        let mut child = handle.join().expect("thread");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break st;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("child still running after its parent thread ended");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
    }
}
