//! Who may do what in the configuration tool (`lvs-web`, `lvs-admin`,
//! `piranha-passwd`): pure decisions and file formats, unit-tested, with
//! no HTTP in them.
//!
//! Owns:
//! - [`auth`]: the [`auth::Authenticator`] trait, with the piranha.passwd
//!   implementation, and [`pam`], the PAM one restricted to Unix groups
//!   (behind the `pam` cargo feature, default off: only the root helper
//!   links libpam);
//! - [`passwd`]: the piranha.passwd file and every hash format it can hold;
//! - [`policy`]: the lvs.cf keys that name a program run as root, who may
//!   set them, and where such a program may live;
//! - [`roles`]: viewer < operator < editor < admin, the users file and
//!   the Unix-group map;
//! - [`session`]: the in-memory session store (random ids, idle timeout,
//!   lifetime, per-session CSRF token, bounded size) and the cookie;
//! - [`csrf`]: the Origin / `Sec-Fetch-Site` check and the token check
//!   every POST passes;
//! - [`ratelimit`]: login failures per source and per user, lockout;
//! - [`tokens`]: API tokens (the tokens file, lookup, generation);
//! - [`audit`]: the one format of audit lines, written through the
//!   daemons' log sink (`daemon::log`);
//! - [`located`]: the `FILE:LINE:COL: message` error of every file read
//!   here.
//!
//! Does not own: HTTP (routes, headers, bodies are `lvs-web`'s), the
//! privileged verbs (`lvs-admin`'s), lvs.cf itself (`lvscf`).

#![deny(missing_docs)]

pub mod audit;
pub mod auth;
mod crypt;
pub mod csrf;
pub mod located;
pub mod pam;
pub mod passwd;
pub mod policy;
pub mod ratelimit;
pub mod roles;
pub mod secret;
pub mod session;
pub mod tokens;

pub use located::LineError;
pub use roles::{Action, Role};
