//! lvs-web: the web configuration tool for lvs.cf, the replacement of the
//! Piranha Configuration Tool (port 3636, the CONTROL/MONITORING, GLOBAL
//! SETTINGS, REDUNDANCY and VIRTUAL SERVERS panels), and the same actions
//! as a JSON API under `/api/v1/`.
//!
//! What this crate owns: the HTTP(S) server and its limits ([`serve`],
//! [`tls`]), the response headers ([`headers`]), the decoders of what
//! clients send ([`decode`]), the pages and their templates, the routes
//! and who may use each. What it does not own: lvs.cf's syntax and edits
//! (`lvscf`), the panels' fields (`panels`), passwords, sessions, tokens
//! and roles (`access`), and anything privileged: reading and writing
//! lvs.cf, reloading and controlling lvsd, history and sync all go
//! through the lvs-admin helper's socket (`admin::client`). This process
//! runs unprivileged and never writes lvs.cf or signals a daemon.

pub mod cli;
pub mod decode;
pub mod headers;
pub mod serve;
pub mod statics;
pub mod tls;
pub mod views;
