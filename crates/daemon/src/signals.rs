//! The daemon signal set, blocked from the first instruction of `main`.
//!
//! Until a handler exists, a signal whose default action is to terminate
//! kills the process. lvsd reads lvs.cf (a host name in it may take a 10 s
//! DNS lookup) before its event loop installs handlers, and pulse or
//! `systemctl reload` may send SIGHUP in that window. Blocked, the signal
//! stays pending instead; once the handlers exist, [`unblock_after_handlers`]
//! lets the kernel deliver it to them (standard signals do not queue: any
//! number of SIGHUPs sent while blocked arrive as one).
//!
//! The set, [`DAEMON_SIGNALS`]:
//! - SIGHUP: reload (pulse, lvsd) or back to normal checking (nanny);
//! - SIGTERM, SIGINT: orderly shutdown;
//! - SIGUSR1, SIGUSR2: nanny's forced down/up (lvsd and pulse have no
//!   handler: after [`unblock_after_handlers`] they take their default
//!   action, as before);
//! - SIGCHLD: child exits, reaped by the runtime once its handler exists.
//!
//! The mask is per thread and inherited by threads and children. Call
//! [`block_daemon_signals`] before any thread exists, so that every thread
//! of the process starts with the set blocked. Children must not inherit
//! it: [`reset_in_child`] (used by [`crate::child`]) restores an empty mask
//! and default dispositions between fork and exec. The standard library's
//! `Command` also empties the mask; the reset is for every other way of
//! starting a program and so that the rule is stated in one place.

use std::io;

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};

/// The signals every daemon of the suite blocks until its handlers exist.
pub const DAEMON_SIGNALS: [Signal; 6] = [
    Signal::SIGHUP,
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGCHLD,
];

/// [`DAEMON_SIGNALS`] as a set.
pub fn daemon_set() -> SigSet {
    set_of(&DAEMON_SIGNALS)
}

fn set_of(signals: &[Signal]) -> SigSet {
    let mut set = SigSet::empty();
    for s in signals {
        set.add(*s);
    }
    set
}

/// Blocks [`DAEMON_SIGNALS`] in the calling thread. Call it as the first
/// statement of `main`, before any thread exists, so that the whole
/// process inherits the mask.
pub fn block_daemon_signals() -> Result<(), Errno> {
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&daemon_set()), None)
}

/// Unblocks [`DAEMON_SIGNALS`] in the calling thread: call it once the
/// handlers exist (for tokio: right after the `signal(...)` streams are
/// created, on the thread that created them). Pending signals are delivered
/// to the handlers at once. Threads started before this call keep the set
/// blocked, so signals go to the thread that unblocked them.
pub fn unblock_after_handlers() -> Result<(), Errno> {
    unblock(&DAEMON_SIGNALS)
}

/// Unblocks `signals` in the calling thread; for a daemon that reads some
/// of the set through a `signalfd` (which needs them blocked) and has
/// handlers or default actions for the rest.
pub fn unblock(signals: &[Signal]) -> Result<(), Errno> {
    pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set_of(signals)), None)
}

/// The calling thread's signal mask.
pub fn current_mask() -> Result<SigSet, Errno> {
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, None, Some(&mut old))?;
    Ok(old)
}

/// In a child between fork and exec: an empty signal mask, and the default
/// disposition for every standard signal that can have one (an ignored
/// signal stays ignored across exec; handlers are reset by exec anyway).
///
/// Async-signal-safe: only `sigemptyset`, `sigprocmask` and `sigaction` on
/// stack values; no allocation, no lock.
pub fn reset_in_child() -> io::Result<()> {
    // SAFETY: `empty` and `dfl` are local, fully initialised by
    // sigemptyset/zeroing before use; sigprocmask and sigaction only read
    // them. All three are async-signal-safe (POSIX), as required between
    // fork and exec.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        if libc::sigemptyset(&mut empty) < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        dfl.sa_mask = empty;
        // 1..=31: the standard signals; real-time ones belong to libc
        // (glibc uses 32 and 33 for threads).
        for sig in 1..=31 {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            // EINVAL for the few that cannot be changed; nothing to reset.
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_the_documented_one() {
        let set = daemon_set();
        for s in [
            Signal::SIGHUP,
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGUSR1,
            Signal::SIGUSR2,
            Signal::SIGCHLD,
        ] {
            assert!(set.contains(s), "{s} missing");
        }
        assert!(!set.contains(Signal::SIGPIPE));
        assert!(!set.contains(Signal::SIGKILL));
    }

    // The mask is per thread: run each case in a thread of its own so the
    // test harness's threads are untouched.
    #[test]
    fn block_then_unblock_in_one_thread() {
        std::thread::spawn(|| {
            let before = current_mask().expect("mask");
            assert!(!before.contains(Signal::SIGHUP));
            block_daemon_signals().expect("block");
            let blocked = current_mask().expect("mask");
            for s in DAEMON_SIGNALS {
                assert!(blocked.contains(s), "{s} not blocked");
            }
            unblock_after_handlers().expect("unblock");
            let after = current_mask().expect("mask");
            for s in DAEMON_SIGNALS {
                assert!(!after.contains(s), "{s} still blocked");
            }
        })
        .join()
        .expect("thread");
    }

    #[test]
    fn unblock_leaves_the_rest_blocked() {
        std::thread::spawn(|| {
            block_daemon_signals().expect("block");
            unblock(&[Signal::SIGCHLD]).expect("unblock");
            let mask = current_mask().expect("mask");
            assert!(!mask.contains(Signal::SIGCHLD));
            assert!(mask.contains(Signal::SIGHUP));
            assert!(mask.contains(Signal::SIGUSR2));
        })
        .join()
        .expect("thread");
    }
}
