//! `lvs-admin`, the privileged helper of the configuration tool.
//!
//! The web process never runs as root. Everything it may read or change on
//! the router goes through this helper's Unix socket, as one of a fixed set
//! of verbs over the one lvs.cf path the helper was started with: no shell,
//! no path from a request, sizes and times limited, every caller checked
//! with `SO_PEERCRED` and `SO_PEERGROUPS`.
//!
//! What it owns:
//! * [`proto`]: the socket protocol (one JSON request, one JSON reply per
//!   connection), written and parsed only there;
//! * [`client`]: a typed method per verb, blocking and tokio;
//! * [`apply`]: the apply pipeline (check, base digest, atomic write,
//!   revision, reload, revert when lvsd refuses) as steps over the
//!   [`apply::Effects`] trait, so it runs in memory in the tests;
//! * [`system`]: those effects on the real system (temp file, fsync,
//!   rename; pulse's and lvsd's pid files, signals and status sockets);
//! * [`store`]: the revision history on disk, newest 50 kept;
//! * [`verdict`]: the candidate's `lvsd --check` (through lvsd's own file
//!   reader) and the command-key rule;
//! * [`login`]: web logins checked here, as root (piranha.passwd is mode
//!   0600, `pam_unix` checks other users' passwords only for root): the
//!   rate limit, the backends, an audit line per attempt; and
//!   [`login::HelperAuthenticator`], the web's `Authenticator` over the
//!   socket, so the web neither reads hashes nor links libpam;
//! * [`server`]: who may connect, and each verb carried out;
//! * [`sync`]: config sync with the other router wired in: the push after
//!   each apply and restore and on demand (`sync-push`), both digests
//!   (`sync-status`), and the other router's pushes stored through the
//!   same atomic writer, lock and history as an apply (a revision by
//!   `sync from NAME`, nothing signalled).
//!
//! `serial_no`: an apply or restore whose file's `serial_no` is not above
//! the one on disk is written with the one on disk plus one, as the
//! original tool raised it on every save (the other router refuses an
//! older `serial_no`, even forced, so a restore of an old revision would
//! otherwise never reach it). The change is lvscf's lossless edit of that
//! one line (a line added when the file has none); `Applied` reports the
//! value written (`raised_serial_no`), and the revision holds the bytes
//! written.
//!
//! What it does not own: what a file means (`lvscf`, and
//! `director::check` for `lvsd --check` and `--diff`), the daemons' status
//! snapshots (`director::status`, `failover::status`), which keys name a
//! program run as root and where such a program may live
//! (`access::policy`), who may do what in the web UI (`access`), the
//! sync protocol, its rules and TLS (`cfsync`; without `--peer` the sync
//! verbs answer "no sync peer configured").

pub mod apply;
pub mod client;
pub mod login;
pub mod proto;
pub mod server;
pub mod store;
pub mod sync;
pub mod system;
pub mod time;
pub mod verdict;
