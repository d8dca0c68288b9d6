//! Parser, typed model, validator and writer for `/etc/sysconfig/ha/lvs.cf`,
//! the configuration file shared by `pulse`, `lvsd` and `nanny`.
//!
//! This crate only turns text into a [`Config`] (and back). It does no
//! network configuration, runs no program and talks to no kernel.

#![deny(missing_docs)]

pub mod model;

pub use model::{
    CheckString, Config, FailoverService, Forwarding, InterfaceAddress, LoadMonitor, NannyMode,
    Netmask, PersistenceMask, Protocol, RealServer, Scheduler, ServiceKind, VirtualServer,
};
