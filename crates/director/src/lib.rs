//! Decides the IPVS table a router should have, and how to get there.
//!
//! Two pure steps, kept apart so each is testable on its own and so
//! `lvsd --dry-run`, `lvsd --diff` and the running daemon cannot disagree:
//!
//! 1. [`desired::desired_table`]: `lvs.cf` + the health of every real server
//!    → the table the router should have ([`DesiredTable`]). It is the *only*
//!    place that maps configuration onto IPVS services and destinations.
//! 2. [`reconcile::plan`]: desired table + what the kernel has now → the
//!    exact list of [`ipvs::Change`]s that turns one into the other, touching
//!    only services this router owns and nothing that is already right.
//!
//! Applying a plan goes through the [`ipvs::IpvsTable`] trait
//! ([`reconcile::apply`]), so the same code drives the kernel and the
//! in-memory table of the tests.
//!
//! On top of these, [`lvsd`] is lvsd's whole decision logic as one step,
//! `Lvsd::on(now, event) -> actions` (monitors to start, stop, signal and
//! restart, when to reconcile, when to exit), with the health map and the
//! set of services it owns; the daemon's loop only carries the actions out.
//! [`status`] is lvsd's status snapshot (written by lvsd, parsed by its
//! readers) and [`check`] is `lvsd --check` and `--diff` as functions.
//!
//! What this crate does not do: parse `lvs.cf` (that is `lvscf`), talk to
//! the kernel (that is `ipvs`, behind its `IpvsTable` trait), run health
//! checks or processes (that is `nanny` and `bin/lvs`), or read a clock:
//! time is passed in.

pub mod check;
pub mod desired;
pub mod health;
pub mod lvsd;
pub mod nanny;
pub mod reconcile;
pub mod status;
pub mod tracker;

pub use desired::{
    DesiredDestination, DesiredService, DesiredTable, SkipReason, Skipped, desired_table,
};
pub use health::{AllHealthy, Draining, Health, HealthView, ServerId};
pub use lvsd::Lvsd;
pub use reconcile::{ApplyReport, Ownership, Plan, Step, apply, plan};
pub use tracker::ServerHealth;
