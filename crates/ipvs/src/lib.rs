//! The kernel's IPVS (IP Virtual Server) table, typed.
//!
//! What this crate owns:
//! * a typed model of the table ([`Service`], [`ServiceKey`], [`Destination`],
//!   [`Forwarding`], [`Scheduler`], [`Stats`], [`Timeouts`], [`SyncDaemon`],
//!   [`Info`]) — plain data, `serde::Serialize`;
//! * the `ipvsadm -S -n` line format for that model, both ways ([`save`]);
//! * the wire format of the generic netlink family `IPVS` ([`wire`], constants
//!   in [`uapi`]), with no socket in it;
//! * one trait for every table operation, [`IpvsTable`], with two
//!   implementations: [`NetlinkIpvs`] (the running kernel, through a netlink
//!   socket) and [`MemoryIpvs`] (in memory, with the kernel's rules and errnos,
//!   for tests and dry runs);
//! * [`CachedTable`], a wrapper that answers `list()` from the last dump plus
//!   the writes made since, and dumps again only when told to
//!   ([`IpvsTable::invalidate_cache`]) or after a failed write;
//! * a conformance suite generic over the trait ([`conformance`]) that both
//!   implementations must pass.
//!
//! What it does not do: decide what the table *should* be (that is the
//! director's reconcile step, built on this trait), read `lvs.cf`, load
//! kernel modules, manage addresses or ARP, or talk the legacy sockopt API.

mod cached;
#[doc(hidden)]
pub mod conformance;
pub mod error;
mod memory;
pub mod model;
mod netlink;
pub mod save;
pub mod uapi;
pub mod wire;

pub use cached::CachedTable;
pub use error::{IpvsError, Object};
pub use memory::MemoryIpvs;
pub use model::{
    AddressFamily, Change, DaemonState, Destination, DestinationEntry, DestinationKey, Forwarding,
    Info, Netmask, Persistence, Protocol, Scheduler, Service, ServiceEntry, ServiceFlags,
    ServiceKey, Stats, SyncDaemon, Timeouts, Tunnel, TunnelFlags, TunnelType,
};
pub use netlink::NetlinkIpvs;

/// Every operation on an IPVS table.
///
/// Implemented by the kernel client ([`NetlinkIpvs`]) and by the in-memory
/// table ([`MemoryIpvs`]); both produce the same [`IpvsError`] variants for
/// the same mistakes.
pub trait IpvsTable {
    /// IPVS version and connection table size.
    fn info(&mut self) -> Result<Info, IpvsError>;

    /// Every service with its destinations and counters.
    fn list(&mut self) -> Result<Vec<ServiceEntry>, IpvsError>;

    /// Add a service (`EEXIST` → [`IpvsError::AlreadyExists`]).
    fn add_service(&mut self, service: &Service) -> Result<(), IpvsError> {
        single(self.apply(&[Change::AddService(service.clone())]))
    }

    /// Change a service's scheduler, flags, persistence and engine in place.
    fn edit_service(&mut self, service: &Service) -> Result<(), IpvsError> {
        single(self.apply(&[Change::EditService(service.clone())]))
    }

    /// Delete a service and its destinations.
    fn delete_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        single(self.apply(&[Change::DeleteService(*key)]))
    }

    /// Add a destination to a service.
    fn add_destination(
        &mut self,
        service: &ServiceKey,
        destination: &Destination,
    ) -> Result<(), IpvsError> {
        single(self.apply(&[Change::AddDestination {
            service: *service,
            destination: destination.clone(),
        }]))
    }

    /// Change a destination's forwarding, weight and thresholds.
    fn edit_destination(
        &mut self,
        service: &ServiceKey,
        destination: &Destination,
    ) -> Result<(), IpvsError> {
        single(self.apply(&[Change::EditDestination {
            service: *service,
            destination: destination.clone(),
        }]))
    }

    /// Remove a destination from a service.
    fn delete_destination(
        &mut self,
        service: &ServiceKey,
        destination: &DestinationKey,
    ) -> Result<(), IpvsError> {
        single(self.apply(&[Change::DeleteDestination {
            service: *service,
            destination: *destination,
        }]))
    }

    /// Delete every service.
    fn flush(&mut self) -> Result<(), IpvsError> {
        single(self.apply(&[Change::Flush]))
    }

    /// Zero the counters of one service, or of everything.
    fn zero(&mut self, service: Option<&ServiceKey>) -> Result<(), IpvsError> {
        single(self.apply(&[Change::Zero(service.copied())]))
    }

    /// Current connection timeouts.
    fn timeouts(&mut self) -> Result<Timeouts, IpvsError>;

    /// Set connection timeouts; 0 leaves a value unchanged.
    fn set_timeouts(&mut self, timeouts: &Timeouts) -> Result<(), IpvsError> {
        single(self.apply(&[Change::SetTimeouts(*timeouts)]))
    }

    /// Running sync daemons (at most one master and one backup).
    fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError>;

    /// Start a sync daemon.
    fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), IpvsError> {
        single(self.apply(&[Change::StartDaemon(daemon.clone())]))
    }

    /// Stop the sync daemon of that state.
    fn stop_daemon(&mut self, state: DaemonState) -> Result<(), IpvsError> {
        single(self.apply(&[Change::StopDaemon(state)]))
    }

    /// Apply changes in order, each on its own: one failing does not stop the
    /// rest (as the kernel does with a batch).  One result per change, same order.
    fn apply(&mut self, batch: &[Change]) -> Vec<Result<(), IpvsError>>;

    /// Make the next [`list`](IpvsTable::list) read the table itself, not a
    /// remembered copy ([`CachedTable`]); for a periodic check that nothing
    /// changed behind the owner's back. Nothing to do for a table that
    /// remembers nothing.
    fn invalidate_cache(&mut self) {}
}

/// The one result of a one-change batch.
fn single(mut results: Vec<Result<(), IpvsError>>) -> Result<(), IpvsError> {
    results.pop().unwrap_or(Ok(()))
}
