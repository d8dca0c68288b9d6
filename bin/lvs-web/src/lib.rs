//! lvs-web: the web configuration tool for lvs.cf, the replacement of the
//! Piranha Configuration Tool (port 3636, the CONTROL/MONITORING, GLOBAL
//! SETTINGS, REDUNDANCY and VIRTUAL SERVERS panels), and the same actions
//! as a JSON API under `/api/v1/`.
//!
//! What this crate owns: the HTTP(S) server and its limits ([`serve`],
//! [`tls`]), the response headers ([`headers`]), the decoders of what
//! clients send ([`decode`]), the routes and who may use each ([`app`],
//! [`pages`], [`panel_pages`], [`api`]), the per-session staged copies of
//! lvs.cf ([`staging`]), the command-key rule over edits and texts
//! ([`guard`]), the pages' views and templates ([`views`]). What it does
//! not own: lvs.cf's syntax and edits (`lvscf`), the panels' fields
//! (`panels`), passwords, sessions, tokens, roles and the rate limit
//! (`access`), and anything privileged: reading and writing lvs.cf,
//! reloading and controlling lvsd, history and sync all go through the
//! lvs-admin helper's socket (`admin::client`). This process runs
//! unprivileged and never writes lvs.cf or signals a daemon.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod decode;
pub mod guard;
pub mod headers;
pub mod pages;
pub mod panel_pages;
pub mod serve;
pub mod staging;
pub mod statics;
pub mod tls;
pub mod views;
