//! The floating addresses the active router holds, as a pure function of
//! lvs.cf (piranha.md §3.1 "Becoming active", step 4).
//!
//! The original brought up, with `ifconfig <label> <addr> [netmask M] up`:
//! the NAT router address (only with `network = nat` and a `nat_router`),
//! then each *distinct* VIP among the active virtual servers, the first
//! active virtual with that address winning the label and the netmask.
//! Fwmark virtuals carry an `address` too (lvs.cf requires it of every
//! active virtual) and it floats like any other VIP.
//!
//! Without a netmask, `ifconfig` left the kernel's classful default
//! (`inet_abc_len`: /8, /16, /24 for classes A, B, C); we keep that for IPv4
//! so a router's routes do not change with the upgrade. An IPv6 address
//! without a prefix is a host address (/128).

use std::net::{IpAddr, Ipv4Addr};

use lvscf::model::{Config, Forwarding, InterfaceAddress, Netmask};

/// One address a router holds while active.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FloatingAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Label as written in lvs.cf, e.g. `eth0:1` (IPv4 `IFA_LABEL`).
    pub label: String,
    /// The base device the address goes on: the label less `:N`.
    pub device: String,
}

impl FloatingAddress {
    /// The address of an `address = IP LABEL` (or `nat_router`) line.
    pub fn new(a: &InterfaceAddress, mask: Option<Netmask>) -> FloatingAddress {
        FloatingAddress {
            addr: a.addr,
            prefix_len: prefix_len(a.addr, mask),
            label: a.device.clone(),
            device: base_device(&a.device).to_owned(),
        }
    }
}

impl std::fmt::Display for FloatingAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} on {}", self.addr, self.prefix_len, self.label)
    }
}

/// `eth0:1` → `eth0`; a name without an alias suffix is its own device.
pub fn base_device(label: &str) -> &str {
    label.split_once(':').map_or(label, |(dev, _)| dev)
}

/// The prefix length for `addr` with an optional lvs.cf netmask.
///
/// A dotted mask counts its leading one bits (lvs.cf does not check
/// contiguity, as the original; a hole ends the prefix). A mask of
/// `0.0.0.0` is "no mask" as in the original (`ifconfig` without netmask).
pub fn prefix_len(addr: IpAddr, mask: Option<Netmask>) -> u8 {
    let max = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    match (addr, mask) {
        (_, Some(Netmask::Prefix(p))) => p.min(max),
        (IpAddr::V4(_), Some(Netmask::V4(m))) if !m.is_unspecified() => leading_ones(m).min(max),
        (IpAddr::V4(a), _) => classful(a),
        (IpAddr::V6(_), _) => 128,
    }
}

fn leading_ones(m: Ipv4Addr) -> u8 {
    // At most 32: fits.
    u8::try_from(u32::from(m).leading_ones()).unwrap_or(32)
}

/// The kernel's `inet_abc_len`: the classful prefix `ifconfig` got.
fn classful(a: Ipv4Addr) -> u8 {
    let first = a.octets()[0];
    match first {
        0..=127 => 8,
        128..=191 => 16,
        192..=223 => 24,
        // Class D/E: the kernel refuses multicast; 32 keeps it a host.
        _ => 32,
    }
}

/// The addresses the active router must hold for `config`, in the
/// original's order (NAT router first, then VIPs in file order), distinct
/// by address.
pub fn desired(config: &Config) -> Vec<FloatingAddress> {
    let mut out: Vec<FloatingAddress> = Vec::new();
    let mut push = |f: FloatingAddress| {
        if !out.iter().any(|o| o.addr == f.addr) {
            out.push(f);
        }
    };
    if config.network == Forwarding::Nat
        && let Some(nat) = &config.nat_router
    {
        push(FloatingAddress::new(nat, config.nat_nmask));
    }
    for v in config.active_virtuals() {
        if let Some(a) = &v.address {
            push(FloatingAddress::new(a, v.vip_nmask));
        }
    }
    out
}

/// What a change of the desired set means for a router holding `old`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Held, no longer wanted (or wanted with another prefix or label).
    pub remove: Vec<FloatingAddress>,
    /// Wanted, not held in this form. Announce these after adding them.
    pub add: Vec<FloatingAddress>,
}

impl Diff {
    /// Nothing changes.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty()
    }
}

/// `new` against `old`: remove first, then add (an address that moved to
/// another label or prefix is in both lists).
pub fn diff(old: &[FloatingAddress], new: &[FloatingAddress]) -> Diff {
    Diff {
        remove: old.iter().filter(|o| !new.contains(o)).cloned().collect(),
        add: new.iter().filter(|n| !old.contains(n)).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvscf::{OfflineResolver, parse_with};

    fn cfg(src: &str) -> Config {
        let p = parse_with(src, &OfflineResolver);
        assert!(!p.has_errors(), "{}", p.render("t.cf", src));
        p.config.expect("config")
    }

    fn fa(addr: &str, prefix_len: u8, label: &str) -> FloatingAddress {
        FloatingAddress {
            addr: addr.parse().expect("ip"),
            prefix_len,
            label: label.into(),
            device: base_device(label).into(),
        }
    }

    #[test]
    fn distinct_vips_of_active_virtuals_first_wins() {
        let c = cfg("network = direct\n\
             virtual a {\n active = 1\n address = 203.0.113.10 eth0:1\n vip_nmask = 255.255.255.0\n port = 80\n}\n\
             virtual b {\n active = 1\n address = 203.0.113.10 eth1:7\n vip_nmask = 255.255.0.0\n port = 443\n}\n\
             virtual off {\n active = 0\n address = 203.0.113.99 eth0:9\n}\n\
             virtual c {\n active = 1\n address = 203.0.113.11 eth0:2\n}\n");
        assert_eq!(
            desired(&c),
            [
                fa("203.0.113.10", 24, "eth0:1"),
                fa("203.0.113.11", 24, "eth0:2")
            ]
        );
    }

    #[test]
    fn nat_router_only_under_nat() {
        let src = "nat_router = 192.0.2.254 eth1:1\nnat_nmask = 255.255.255.128\n\
                   virtual a {\n active = 1\n address = 203.0.113.10 eth0:1\n}\n";
        let nat = cfg(&format!("network = nat\n{src}"));
        assert_eq!(
            desired(&nat),
            [
                fa("192.0.2.254", 25, "eth1:1"),
                fa("203.0.113.10", 24, "eth0:1")
            ]
        );
        let direct = cfg(&format!("network = direct\n{src}"));
        assert_eq!(desired(&direct), [fa("203.0.113.10", 24, "eth0:1")]);
    }

    #[test]
    fn fwmark_virtual_floats_its_address() {
        let c = cfg("network = direct\n\
             virtual fw {\n active = 1\n address = 198.51.100.5 eth0:3\n fwmark = 7\n}\n");
        assert_eq!(desired(&c), [fa("198.51.100.5", 24, "eth0:3")]);
    }

    #[test]
    fn ipv6_vip() {
        let c = cfg("network = direct\n\
             virtual v6 {\n active = 1\n address = 2001:db8::10 eth0\n vip_nmask = 64\n}\n\
             virtual h {\n active = 1\n address = 2001:db8::11 eth0\n}\n");
        assert_eq!(
            desired(&c),
            [
                fa("2001:db8::10", 64, "eth0"),
                fa("2001:db8::11", 128, "eth0")
            ]
        );
        assert_eq!(desired(&c)[0].device, "eth0");
    }

    #[test]
    fn prefix_rules() {
        let v4 = |s: &str| IpAddr::V4(s.parse().expect("ip"));
        // ifconfig's classful default without a netmask.
        assert_eq!(prefix_len(v4("10.0.0.1"), None), 8);
        assert_eq!(prefix_len(v4("172.16.0.1"), None), 16);
        assert_eq!(prefix_len(v4("203.0.113.1"), None), 24);
        assert_eq!(
            prefix_len(v4("203.0.113.1"), Some(Netmask::V4(Ipv4Addr::UNSPECIFIED))),
            24
        );
        assert_eq!(
            prefix_len(
                v4("203.0.113.1"),
                Some(Netmask::V4("255.255.255.255".parse().expect("m")))
            ),
            32
        );
        assert_eq!(
            prefix_len(
                v4("203.0.113.1"),
                Some(Netmask::V4("255.0.255.0".parse().expect("m")))
            ),
            8
        );
        assert_eq!(prefix_len(v4("203.0.113.1"), Some(Netmask::Prefix(40))), 32);
    }

    #[test]
    fn base_device_strips_alias() {
        assert_eq!(base_device("eth0:1"), "eth0");
        assert_eq!(base_device("bond0"), "bond0");
    }

    #[test]
    fn diff_adds_new_removes_old() {
        let old = [
            fa("203.0.113.10", 24, "eth0:1"),
            fa("203.0.113.11", 24, "eth0:2"),
        ];
        let new = [
            fa("203.0.113.11", 24, "eth0:2"),
            fa("203.0.113.12", 24, "eth0:3"),
            fa("203.0.113.10", 25, "eth0:1"),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.remove, [fa("203.0.113.10", 24, "eth0:1")]);
        assert_eq!(
            d.add,
            [
                fa("203.0.113.12", 24, "eth0:3"),
                fa("203.0.113.10", 25, "eth0:1")
            ]
        );
        assert!(diff(&new, &new).is_empty());
    }
}
