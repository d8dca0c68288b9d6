//! Interface addresses and link state over route netlink.
//!
//! What this crate owns:
//! * plain data for links and addresses ([`Link`], [`Address`]) and the pure
//!   helpers over them that pulse needs: master detection over every address
//!   of every interface ([`holds`]), the base device of a label
//!   ([`base_device`]), [`index_of`], the IPv4 broadcast of a floating address
//!   ([`broadcast`], [`Address::floating`]);
//! * one trait, [`Interfaces`], to list links and addresses and to add and
//!   delete an address, with two implementations: [`NetlinkRoute`] (the
//!   kernel of the caller's network namespace, through a blocking route
//!   netlink socket with a receive timeout) and [`MemoryRoute`] (in memory,
//!   with the kernel's rules and errnos, for tests and dry runs);
//! * [`LinkWatch`], a non-blocking socket on the link and address multicast
//!   groups that says *that* something changed (the caller re-reads
//!   [`Interfaces::links`]), with a raw fd for an event loop;
//! * the request and reply messages ([`wire`]), built on neli's `rtnl`
//!   types, apart from any socket;
//! * a conformance suite ([`conformance`]) that both implementations pass.
//!
//! What it does not own: which addresses should be up (the VIPs of lvs.cf
//! are pulse's policy), ARP or neighbour advertisements (crate `arp`), link
//! configuration (it never sets a link up or down), routes other than the
//! kernel's prefix route of an address, and any runtime (no tokio here).
//!
//! Floating addresses are deleted one by one, never by taking a device
//! down: piranha's `ifconfig eth0:1 down` removed the alias but, when the
//! alias was the primary address of its subnet, the kernel removed every
//! secondary address of that subnet with it.  [`NetlinkRoute::del_address`]
//! turns on the device's `promote_secondaries` first in that case, so only
//! the one address goes.

#[doc(hidden)]
pub mod conformance;
pub mod error;
mod memory;
pub mod model;
mod netlink;
pub mod uapi;
pub mod wire;

pub use error::RtnlError;
pub use memory::MemoryRoute;
pub use model::{
    Address, Link, base_device, broadcast, check_label, check_prefix, classful_prefix, holds,
    index_of, link_by_index,
};
pub use netlink::{LinkWatch, NetlinkRoute, RECV_TIMEOUT};

/// The interfaces of one network namespace: their link state and their
/// addresses.
///
/// Implemented by the kernel client ([`NetlinkRoute`]) and by the in-memory
/// stand-in ([`MemoryRoute`]); both give the same [`RtnlError`] variant for
/// the same mistake:
///
/// | mistake | error (errno) |
/// |---|---|
/// | adding an address the interface already has (same address and prefix) | [`RtnlError::AlreadyExists`] (`EEXIST`) |
/// | deleting an address the interface does not have (address, prefix, and label if given) | [`RtnlError::NotFound`] (`EADDRNOTAVAIL`) |
/// | an unknown interface index | [`RtnlError::NoDevice`] (`ENODEV`) |
/// | prefix longer than 32 / 128 | [`RtnlError::InvalidPrefix`] |
/// | IPv4 label not `DEV` or `DEV:SUFFIX`, or longer than 15; any IPv6 label | [`RtnlError::InvalidLabel`] |
pub trait Interfaces {
    /// Every link, in index order.
    fn links(&mut self) -> Result<Vec<Link>, RtnlError>;

    /// Every IPv4 and IPv6 address of every interface (primary and
    /// secondary ones, any label, link-local ones too); no order promised.
    fn addresses(&mut self) -> Result<Vec<Address>, RtnlError>;

    /// Add an address.  IPv4: with its label (the device name if `None`)
    /// and broadcast as given.  IPv6: with `IFA_F_NODAD` (a floating
    /// address must be usable at once; see [`NetlinkRoute`]).  The kernel
    /// adds the prefix route, as `ifconfig` did.
    fn add_address(&mut self, address: &Address) -> Result<(), RtnlError>;

    /// Delete one address (matched by interface, address and prefix, and
    /// label when given), leaving the interface and its other addresses as
    /// they are.
    fn del_address(&mut self, address: &Address) -> Result<(), RtnlError>;
}
