//! Links and addresses as plain data, and the pure helpers pulse needs
//! (master detection, base device of a label, IPv4 broadcast).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::error::RtnlError;
use crate::uapi::IFNAMSIZ_MAX;

/// One network interface, as `RTM_NEWLINK` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index (`ifi_index`).
    pub index: u32,
    /// Interface name (`IFLA_IFNAME`), e.g. `eth0`.
    pub name: String,
    /// Hardware address (`IFLA_ADDRESS`) when it is 6 bytes long (Ethernet,
    /// veth, bond, loopback's all-zero one); `None` for other link types.
    pub mac: Option<[u8; 6]>,
    /// Administratively up (`IFF_UP`: `ip link set DEV up`).
    pub admin_up: bool,
    /// Carrier: `IFF_LOWER_UP`, or `IFLA_OPERSTATE` = `UP`.  A bond master
    /// reports it while at least one slave has carrier, so bond state is
    /// read like any link's.
    pub lower_up: bool,
    /// `IFLA_LINKINFO` / `IFLA_INFO_KIND`: `"veth"`, `"bond"`, `"bridge"`,
    /// …; `None` for physical NICs and loopback.
    pub kind: Option<String>,
    /// `IFLA_MASTER`: index of the bond (or bridge) this link is enslaved to.
    pub master: Option<u32>,
    /// `IFF_MASTER`: this link is a bonding master.
    pub is_bond_master: bool,
    /// `IFF_SLAVE`: this link is a bonding slave.
    pub is_bond_slave: bool,
}

impl Link {
    /// A plain up link with carrier and no master (for tests and
    /// [`crate::MemoryRoute`]).
    pub fn new(index: u32, name: &str, mac: Option<[u8; 6]>) -> Link {
        Link {
            index,
            name: name.to_owned(),
            mac,
            admin_up: true,
            lower_up: true,
            kind: None,
            master: None,
            is_bond_master: false,
            is_bond_slave: false,
        }
    }

    /// Up and with carrier: what `monitor_links` calls "link up".
    pub fn is_running(&self) -> bool {
        self.admin_up && self.lower_up
    }
}

impl fmt::Display for Link {
    /// `ip link` style: `3: eth0: <UP,LOWER_UP> link/ether 02:00:00:00:00:01 master 5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut flags = Vec::new();
        if self.is_bond_master {
            flags.push("MASTER");
        }
        if self.is_bond_slave {
            flags.push("SLAVE");
        }
        if self.admin_up {
            flags.push("UP");
        }
        if self.lower_up {
            flags.push("LOWER_UP");
        }
        write!(f, "{}: {}: <{}>", self.index, self.name, flags.join(","))?;
        if let Some(kind) = &self.kind {
            write!(f, " {kind}")?;
        }
        if let Some(mac) = &self.mac {
            write!(f, " link/ether {}", MacDisplay(mac))?;
        }
        if let Some(m) = self.master {
            write!(f, " master {m}")?;
        }
        Ok(())
    }
}

/// `aa:bb:cc:dd:ee:ff`.
struct MacDisplay<'a>(&'a [u8; 6]);

impl fmt::Display for MacDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// One interface address, as `RTM_NEWADDR` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Index of the interface holding it.
    pub index: u32,
    /// The address (`IFA_LOCAL` for IPv4, `IFA_ADDRESS` for IPv6).
    pub addr: IpAddr,
    /// Prefix length (netmask) of the address.
    pub prefix_len: u8,
    /// IPv4 only: `IFA_LABEL`, e.g. `eth0:1`.  The kernel gives every IPv4
    /// address a label (the device name when none was asked for), and none
    /// to IPv6 addresses.
    pub label: Option<String>,
    /// IPv4 only: `IFA_BROADCAST`.
    pub broadcast: Option<Ipv4Addr>,
}

impl Address {
    /// The address as a floating address (a VIP) is added: IPv4 with its
    /// label and the broadcast `addr | !mask` (what `ifconfig DEV:N ADDR
    /// netmask M broadcast B` set); IPv6 without label or broadcast (IPv6
    /// has neither).
    ///
    /// `label` is the lvs.cf device (`eth0:1` or `eth0`); for IPv6 it is
    /// ignored, since only the interface index matters there.
    pub fn floating(
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
    ) -> Result<Address, RtnlError> {
        check_prefix(addr, prefix_len)?;
        Ok(match addr {
            IpAddr::V4(v4) => Address {
                index,
                addr,
                prefix_len,
                label: label.map(str::to_owned),
                broadcast: broadcast(v4, prefix_len),
            },
            IpAddr::V6(_) => Address {
                index,
                addr,
                prefix_len,
                label: None,
                broadcast: None,
            },
        })
    }

    /// `true` for IPv4.
    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Same address and prefix on the same interface (the kernel's identity
    /// of an address; label and broadcast aside).
    pub fn same_as(&self, other: &Address) -> bool {
        self.index == other.index && self.addr == other.addr && self.prefix_len == other.prefix_len
    }
}

impl fmt::Display for Address {
    /// `ip addr` style: `inet 203.0.113.10/24 brd 203.0.113.255 scope
    /// global eth0:1` becomes `inet 203.0.113.10/24 brd 203.0.113.255
    /// eth0:1 (index 3)`; IPv6: `inet6 2001:db8::10/64 (index 3)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = if self.is_ipv4() { "inet" } else { "inet6" };
        write!(f, "{family} {}/{}", self.addr, self.prefix_len)?;
        if let Some(b) = self.broadcast {
            write!(f, " brd {b}")?;
        }
        if let Some(l) = &self.label {
            write!(f, " {l}")?;
        }
        write!(f, " (index {})", self.index)
    }
}

/// Prefix length within the family's width (32 or 128).
pub fn check_prefix(addr: IpAddr, prefix_len: u8) -> Result<(), RtnlError> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return Err(RtnlError::InvalidPrefix { addr, prefix_len });
    }
    Ok(())
}

/// The IPv4 broadcast of `addr/prefix_len`: `addr | !mask`, as piranha's
/// `ifconfig … broadcast` computed it.  `None` for /31 and /32, which have
/// no broadcast address (RFC 3021; the kernel sets none either), and for
/// a prefix above 32.
pub fn broadcast(addr: Ipv4Addr, prefix_len: u8) -> Option<Ipv4Addr> {
    if prefix_len >= 31 {
        return None;
    }
    let host_bits = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
    Some(Ipv4Addr::from(u32::from(addr) | host_bits))
}

/// The prefix the kernel gives an IPv4 address set without a netmask
/// (`SIOCSIFADDR`, i.e. `ifconfig DEV ADDR up`, piranha's form when
/// `vip_nmask`/`nat_nmask` is 0): the old class of the address (kernel
/// `inet_abc_len`): 0 for 0.0.0.0 and 255.255.255.255, 8 for class A, 16
/// for B, 24 for C, 32 for class E; `None` for multicast (class D), which
/// the kernel refuses.
pub fn classful_prefix(addr: Ipv4Addr) -> Option<u8> {
    if addr.is_unspecified() || addr.is_broadcast() {
        return Some(0);
    }
    match addr.octets()[0] {
        0..=127 => Some(8),
        128..=191 => Some(16),
        192..=223 => Some(24),
        224..=239 => None,
        240..=255 => Some(32),
    }
}

/// Whether any address in `addresses` (any interface, primary or
/// secondary, any label) is `ip`.
///
/// This is pulse's master detection: piranha compared `primary` with each
/// interface's *primary* IPv4 address only (`SIOCGIFADDR`), so a router
/// whose own address was an alias or a secondary address started as backup.
pub fn holds(addresses: &[Address], ip: IpAddr) -> bool {
    addresses.iter().any(|a| a.addr == ip)
}

/// The device of an IPv4 label: `eth0:1` → `eth0`, `eth0` → `eth0`.
pub fn base_device(label: &str) -> &str {
    label.split_once(':').map_or(label, |(dev, _)| dev)
}

/// Index of the link named `name` (a label such as `eth0:1` is looked up
/// by its base device).
pub fn index_of(links: &[Link], name: &str) -> Option<u32> {
    let dev = base_device(name);
    links.iter().find(|l| l.name == dev).map(|l| l.index)
}

/// The link with that index.
pub fn link_by_index(links: &[Link], index: u32) -> Option<&Link> {
    links.iter().find(|l| l.index == index)
}

/// The rule this crate keeps for an IPv4 label: it is the device name, or
/// the device name, a colon and a suffix (`eth0:1`), at most 15 bytes.
///
/// The kernel only enforces the length (`IFNAMSIZ - 1`): it accepts any
/// label, but `ifconfig` and `ip addr` show an alias only under a label
/// that starts with its device, and [`base_device`] relies on that.
/// IPv6 addresses have no label (the kernel ignores one).
pub fn check_label(address: &Address, device: &str) -> Result<(), RtnlError> {
    let Some(label) = &address.label else {
        return Ok(());
    };
    let bad = |reason: &'static str| RtnlError::InvalidLabel {
        label: label.clone(),
        device: device.to_owned(),
        reason,
    };
    if !address.is_ipv4() {
        return Err(bad("IPv6 addresses carry no label"));
    }
    if label.len() > IFNAMSIZ_MAX {
        return Err(bad("longer than 15 bytes"));
    }
    let ok = label == device
        || label
            .strip_prefix(device)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|suffix| !suffix.is_empty());
    if !ok {
        return Err(bad("must be the device name or DEVICE:SUFFIX"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn broadcast_is_addr_or_not_mask() {
        assert_eq!(broadcast(v4("203.0.113.10"), 24), Some(v4("203.0.113.255")));
        assert_eq!(broadcast(v4("203.0.113.10"), 25), Some(v4("203.0.113.127")));
        assert_eq!(
            broadcast(v4("203.0.113.200"), 25),
            Some(v4("203.0.113.255"))
        );
        assert_eq!(
            broadcast(v4("203.0.113.10"), 0),
            Some(v4("255.255.255.255"))
        );
        assert_eq!(broadcast(v4("203.0.113.10"), 30), Some(v4("203.0.113.11")));
        assert_eq!(broadcast(v4("203.0.113.10"), 31), None);
        assert_eq!(broadcast(v4("203.0.113.10"), 32), None);
    }

    #[test]
    fn classful_prefix_as_the_kernel() {
        assert_eq!(classful_prefix(v4("10.1.2.3")), Some(8));
        assert_eq!(classful_prefix(v4("127.0.0.1")), Some(8));
        assert_eq!(classful_prefix(v4("172.16.0.1")), Some(16));
        assert_eq!(classful_prefix(v4("198.51.100.7")), Some(24));
        assert_eq!(classful_prefix(v4("203.0.113.10")), Some(24));
        assert_eq!(classful_prefix(v4("224.0.0.1")), None);
        assert_eq!(classful_prefix(v4("240.0.0.1")), Some(32));
        assert_eq!(classful_prefix(v4("0.0.0.0")), Some(0));
        assert_eq!(classful_prefix(v4("255.255.255.255")), Some(0));
    }

    #[test]
    fn floating_v4_sets_label_and_broadcast_v6_neither() {
        let a = Address::floating(3, "203.0.113.10".parse().unwrap(), 24, Some("eth0:1")).unwrap();
        assert_eq!(a.label.as_deref(), Some("eth0:1"));
        assert_eq!(a.broadcast, Some(v4("203.0.113.255")));
        let b = Address::floating(3, "2001:db8::10".parse().unwrap(), 64, Some("eth0:1")).unwrap();
        assert_eq!((b.label, b.broadcast), (None, None));
        assert!(matches!(
            Address::floating(3, "203.0.113.10".parse().unwrap(), 33, None),
            Err(RtnlError::InvalidPrefix { prefix_len: 33, .. })
        ));
        assert!(Address::floating(3, "2001:db8::1".parse().unwrap(), 129, None).is_err());
    }

    #[test]
    fn holds_sees_secondaries_and_labels_on_any_interface() {
        let list = [
            Address::floating(1, "127.0.0.1".parse().unwrap(), 8, Some("lo")).unwrap(),
            Address::floating(2, "192.0.2.1".parse().unwrap(), 24, Some("eth0")).unwrap(),
            Address::floating(2, "192.0.2.7".parse().unwrap(), 24, Some("eth0:1")).unwrap(),
            Address::floating(3, "2001:db8::7".parse().unwrap(), 64, None).unwrap(),
        ];
        assert!(holds(&list, "192.0.2.7".parse().unwrap()));
        assert!(holds(&list, "192.0.2.1".parse().unwrap()));
        assert!(holds(
            &list,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7))
        ));
        assert!(!holds(&list, "192.0.2.8".parse().unwrap()));
        assert!(!holds(&[], "192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn base_device_and_index_of() {
        assert_eq!(base_device("eth0:1"), "eth0");
        assert_eq!(base_device("eth0"), "eth0");
        assert_eq!(base_device("bond0:12"), "bond0");
        let links = [Link::new(1, "lo", None), Link::new(4, "eth0", None)];
        assert_eq!(index_of(&links, "eth0:1"), Some(4));
        assert_eq!(index_of(&links, "eth0"), Some(4));
        assert_eq!(index_of(&links, "eth1"), None);
        assert_eq!(
            link_by_index(&links, 1).map(|l| l.name.as_str()),
            Some("lo")
        );
    }

    #[test]
    fn label_rule() {
        let mut a = Address::floating(2, "192.0.2.7".parse().unwrap(), 24, Some("eth0:1")).unwrap();
        assert!(check_label(&a, "eth0").is_ok());
        a.label = Some("eth0".into());
        assert!(check_label(&a, "eth0").is_ok());
        a.label = None;
        assert!(check_label(&a, "eth0").is_ok());
        for bad in ["eth1:1", "eth0:", "eth01", "foo", "eth0:0123456789a"] {
            a.label = Some(bad.into());
            assert!(
                matches!(check_label(&a, "eth0"), Err(RtnlError::InvalidLabel { .. })),
                "{bad}"
            );
        }
        let mut b = Address::floating(2, "2001:db8::1".parse().unwrap(), 64, None).unwrap();
        b.label = Some("eth0".into());
        assert!(check_label(&b, "eth0").is_err());
    }

    #[test]
    fn display_like_ip() {
        let a = Address::floating(3, "203.0.113.10".parse().unwrap(), 24, Some("eth0:1")).unwrap();
        assert_eq!(
            a.to_string(),
            "inet 203.0.113.10/24 brd 203.0.113.255 eth0:1 (index 3)"
        );
        let b = Address::floating(3, "2001:db8::10".parse().unwrap(), 64, None).unwrap();
        assert_eq!(b.to_string(), "inet6 2001:db8::10/64 (index 3)");
        let mut l = Link::new(5, "eth0", Some([2, 0, 0, 0, 0, 0x1a]));
        l.master = Some(7);
        l.is_bond_slave = true;
        l.lower_up = false;
        assert_eq!(
            l.to_string(),
            "5: eth0: <SLAVE,UP> link/ether 02:00:00:00:00:1a master 7"
        );
    }
}
