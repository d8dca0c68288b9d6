//! An in-memory [`Interfaces`] with the kernel's rules, for tests and dry
//! runs.

use std::net::IpAddr;

use crate::model::{Address, Link, check_label, check_prefix};
use crate::{Interfaces, RtnlError};

/// Links and addresses kept in memory.
///
/// The rules it keeps are those the kernel applies and pulse relies on:
/// * adding an address an interface already has with the same prefix is
///   `EEXIST` (IPv4 allows the same address with another prefix, IPv6 does
///   not: an IPv6 address is unique per interface);
/// * deleting an address the interface lacks is `EADDRNOTAVAIL`, also when
///   the prefix, or the label if one is given, does not match;
/// * an unknown interface index is `ENODEV`;
/// * an IPv4 address added without label gets the device name as label;
/// * deleting one address leaves the others (what [`crate::NetlinkRoute`]
///   ensures with `promote_secondaries`);
/// * this crate's label rule ([`check_label`]) on adding.
///
/// Links are set up or down with [`MemoryRoute::set_admin_up`] and
/// [`MemoryRoute::set_lower_up`]; every change bumps [`MemoryRoute::generation`],
/// the in-memory counterpart of a [`crate::LinkWatch`] event.
#[derive(Debug, Clone, Default)]
pub struct MemoryRoute {
    links: Vec<Link>,
    addresses: Vec<Address>,
    generation: u64,
}

impl MemoryRoute {
    /// No links at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a link (replacing one with the same index).
    pub fn with_link(mut self, link: Link) -> Self {
        self.put_link(link);
        self
    }

    /// Add or replace a link (by index).
    pub fn put_link(&mut self, link: Link) {
        self.links.retain(|l| l.index != link.index);
        self.links.push(link);
        self.links.sort_by_key(|l| l.index);
        self.generation += 1;
    }

    /// Remove a link and its addresses (the kernel does the same when a
    /// device goes away).
    pub fn remove_link(&mut self, index: u32) -> Result<(), RtnlError> {
        self.link_mut(index)?;
        self.links.retain(|l| l.index != index);
        self.addresses.retain(|a| a.index != index);
        self.generation += 1;
        Ok(())
    }

    /// `ip link set DEV up|down`.  Down also drops the carrier, as the kernel
    /// reports it (no `IFF_LOWER_UP` on a down device); up restores the
    /// carrier only if [`MemoryRoute::set_lower_up`] had not taken it away.
    pub fn set_admin_up(&mut self, index: u32, up: bool) -> Result<(), RtnlError> {
        self.link_mut(index)?.admin_up = up;
        self.generation += 1;
        Ok(())
    }

    /// Carrier on or off (a cable pulled, a veth peer down).
    pub fn set_lower_up(&mut self, index: u32, up: bool) -> Result<(), RtnlError> {
        self.link_mut(index)?.lower_up = up;
        self.generation += 1;
        Ok(())
    }

    /// Counts every change of links or addresses.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn link_mut(&mut self, index: u32) -> Result<&mut Link, RtnlError> {
        self.links
            .iter_mut()
            .find(|l| l.index == index)
            .ok_or(RtnlError::NoDevice { index })
    }

    fn name_of(&self, index: u32) -> Result<String, RtnlError> {
        self.links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.name.clone())
            .ok_or(RtnlError::NoDevice { index })
    }
}

fn duplicate(a: &Address, b: &Address) -> bool {
    a.index == b.index
        && a.addr == b.addr
        && match a.addr {
            IpAddr::V4(_) => a.prefix_len == b.prefix_len,
            IpAddr::V6(_) => true,
        }
}

impl Interfaces for MemoryRoute {
    fn links(&mut self) -> Result<Vec<Link>, RtnlError> {
        Ok(self
            .links
            .iter()
            .map(|l| {
                let mut l = l.clone();
                // The kernel clears IFF_LOWER_UP on a device that is down.
                l.lower_up &= l.admin_up;
                l
            })
            .collect())
    }

    fn addresses(&mut self) -> Result<Vec<Address>, RtnlError> {
        Ok(self.addresses.clone())
    }

    fn add_address(&mut self, address: &Address) -> Result<(), RtnlError> {
        check_prefix(address.addr, address.prefix_len)?;
        let device = self.name_of(address.index)?;
        check_label(address, &device)?;
        if self.addresses.iter().any(|a| duplicate(a, address)) {
            return Err(RtnlError::AlreadyExists);
        }
        let mut stored = address.clone();
        if stored.is_ipv4() && stored.label.is_none() {
            stored.label = Some(device);
        }
        self.addresses.push(stored);
        self.generation += 1;
        Ok(())
    }

    fn del_address(&mut self, address: &Address) -> Result<(), RtnlError> {
        check_prefix(address.addr, address.prefix_len)?;
        self.name_of(address.index)?;
        let pos = self
            .addresses
            .iter()
            .position(|a| {
                a.same_as(address)
                    && (!address.is_ipv4() || address.label.is_none() || a.label == address.label)
            })
            .ok_or(RtnlError::NotFound)?;
        self.addresses.remove(pos);
        self.generation += 1;
        Ok(())
    }
}
