//! Process plumbing shared by the suite's daemons (`pulse`, `lvsd`,
//! `nanny`): what each needs between `exec` and its event loop, and at the
//! boundary to the processes it starts.
//!
//! Owns:
//! - [`signals`]: the daemon signal set, blocked from the first instruction
//!   of `main` and released once handlers exist;
//! - [`pidfile`]: the pid file as an exclusive lock (one instance per file);
//! - [`inherited_fd`]: descriptors a parent passes by number in an
//!   environment variable, and the `PULSE_READY_FD` readiness line, both ends;
//! - [`detach`]: fork into the background, new session, stdio on /dev/null;
//! - [`syslog`] and [`log`]: RFC 3164 datagrams to `/dev/log` with the
//!   daemon's ident, stdout lines for `-n`, one prefix, repeated errors
//!   rate-limited; [`trace`]: `tracing` events into that sink, with the
//!   handle that writes what it held back when the daemon exits;
//! - [`child`]: what every spawned child gets before `exec` (death signal,
//!   clean signal state, one passed descriptor at a fixed number);
//! - [`rlimit`]: the open-file limit.
//!
//! Does not own: any configuration, policy or protocol of the daemons
//! (`lvscf`, `director`, `health` and the failover code depend on this
//! crate, never the reverse), the event loop, or how each daemon formats its
//! messages. It knows no async runtime; callers of tokio use
//! [`child::CommandExt`] through `tokio::process::Command::as_std_mut`.

#![deny(missing_docs)]

pub mod child;
pub mod detach;
pub mod inherited_fd;
pub mod log;
pub mod notify;
pub mod pidfile;
pub mod rlimit;
pub mod signals;
pub mod syslog;
pub mod trace;

mod proc_status;
#[cfg(test)]
mod testutil;
