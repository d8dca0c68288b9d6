//! Value syntax that more than one program must read the same way.
//!
//! lvs.cf's parser (`lvscf`), lvsd's builder of nanny command lines
//! (`director`) and nanny's own command line (`health`, `bin/nanny`) each
//! read or write these values. When two copies of such a rule disagree,
//! `lvsd --check` accepts a file that nanny then refuses (a `timeout` of
//! 0.0004 s became `-t 0.` and nanny never started), so each rule lives
//! here once, with its formatter next to its parser:
//!
//! * [`Seconds`]: a timer (`timeout`, `reentry`, `keepalive`, `deadtime`;
//!   nanny's `-t`, `-a`): one formatter, one parser, one lower bound.
//!
//! What this crate does not own: anything that needs a file, a socket or
//! a configuration. It depends on no other crate of the workspace, so that
//! every one of them can depend on it.

#![deny(missing_docs)]

mod seconds;

pub use seconds::{Seconds, SecondsError};
