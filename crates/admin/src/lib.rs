//! `lvs-admin`, the privileged helper of the configuration tool.
//!
//! The web process never runs as root. Everything it may read or change on
//! the router goes through this helper's Unix socket, as one of a fixed set
//! of verbs over the one lvs.cf path the helper was started with: no shell,
//! no path from a request, sizes limited.
//!
//! What it owns:
//! * [`proto`]: the socket protocol (one JSON request, one JSON reply per
//!   connection), written and parsed only there;
//! * [`client`]: a typed method per verb, blocking and tokio.
//!
//! What it does not own: what a file means (`lvscf`, and
//! `director::check` for `lvsd --check` and `--diff`), the daemons' status
//! snapshots (`director::status`, `failover::status`), who may do what in
//! the web UI (`access`).

pub mod apply;
pub mod client;
pub mod proto;
pub mod server;
pub mod store;
pub mod system;
pub mod verdict;
