//! Carrying out the machine's address actions: floating addresses up and
//! down through [`rtnl::Interfaces`] (never the base interface), the
//! clean-up of addresses a killed pulse left, and the gratuitous ARP /
//! unsolicited NA schedule. Which addresses, and when, is the machine's
//! decision (`failover::state`); this module only does it and logs what
//! failed.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use arp::Mac;
use arp::announce::{Announcer, Schedule, Step};
use arp::socket::PacketSocket;
use failover::floating::FloatingAddress;
use rtnl::{Address, Interfaces, RtnlError};
use tracing::{debug, error, info, warn};

fn kernel_address(links: &[rtnl::Link], fa: &FloatingAddress) -> Result<Address, String> {
    let index = rtnl::index_of(links, &fa.device).ok_or(format!("no interface {}", fa.device))?;
    Address::floating(index, fa.addr, fa.prefix_len, Some(&fa.label)).map_err(|e| e.to_string())
}

/// Bring `addrs` up; each one now up (or already up) joins `held`.
pub fn add(route: &mut dyn Interfaces, addrs: &[FloatingAddress], held: &mut Vec<FloatingAddress>) {
    let links = match route.links() {
        Ok(l) => l,
        Err(e) => {
            error!("cannot list links: {e}");
            return;
        }
    };
    for fa in addrs {
        let result = kernel_address(&links, fa).and_then(|a| match route.add_address(&a) {
            Ok(()) | Err(RtnlError::AlreadyExists) => Ok(()),
            Err(e) => Err(e.to_string()),
        });
        match result {
            Ok(()) if !held.contains(fa) => held.push(fa.clone()),
            Ok(()) => {}
            Err(e) => error!("cannot add {fa}: {e}"),
        }
    }
}

/// Take `addrs` down (only those addresses) and out of `held`.
pub fn remove(
    route: &mut dyn Interfaces,
    addrs: &[FloatingAddress],
    held: &mut Vec<FloatingAddress>,
) {
    let links = route.links().unwrap_or_default();
    for fa in addrs {
        held.retain(|h| h != fa);
        let Ok(a) = kernel_address(&links, fa) else {
            continue;
        };
        match route.del_address(&a) {
            Ok(()) | Err(RtnlError::NotFound) => {}
            Err(e) => error!("cannot remove {fa}: {e}"),
        }
    }
}

/// At start, inactive: remove every address of `wanted` that an interface
/// still has (left by a pulse killed while active). Returns those removed.
pub fn remove_stale(route: &mut dyn Interfaces, wanted: &[FloatingAddress]) -> Vec<Address> {
    let (links, addresses) = match (route.links(), route.addresses()) {
        (Ok(l), Ok(a)) => (l, a),
        (Err(e), _) | (_, Err(e)) => {
            warn!("cannot list addresses: {e}");
            return Vec::new();
        }
    };
    let mut removed = Vec::new();
    for fa in wanted {
        let Some(index) = rtnl::index_of(&links, &fa.device) else {
            continue;
        };
        for a in addresses
            .iter()
            .filter(|a| a.index == index && a.addr == fa.addr)
        {
            info!("removing floating address {fa} left by a previous pulse");
            match route.del_address(a) {
                Ok(()) => removed.push(a.clone()),
                Err(e) => warn!("cannot remove {fa}: {e}"),
            }
        }
    }
    removed
}

/// A gratuitous ARP (IPv4) / unsolicited NA (IPv6) schedule in progress:
/// one frame per address at each step.
pub struct Announce {
    announcer: Announcer,
    frames: Vec<(PacketSocket, Vec<u8>, String)>,
}

impl Announce {
    /// Build the frames for `addrs` (an address whose interface cannot be
    /// found or opened is logged and left out) and send the first ones now.
    pub fn start(addrs: &[FloatingAddress], count: u32, interval: Duration) -> Announce {
        let mut frames = Vec::new();
        for fa in addrs {
            let ifc = match arp::socket::interface(&fa.device) {
                Ok(i) => i,
                Err(e) => {
                    error!("gratuitous ARP for {fa}: {}: {e}", fa.device);
                    continue;
                }
            };
            let frame = match fa.addr {
                IpAddr::V4(v4) => {
                    arp::frame::gratuitous_reply(ifc.mac, v4, Mac::BROADCAST).to_vec()
                }
                IpAddr::V6(v6) => arp::ndisc::unsolicited_advert(ifc.mac, v6).to_vec(),
            };
            match PacketSocket::open(ifc.index) {
                Ok(s) => frames.push((s, frame, fa.to_string())),
                Err(e) => error!("gratuitous ARP for {fa}: {e}"),
            }
        }
        let now = Instant::now();
        let mut a = Announce {
            announcer: Schedule::new(count, interval).start(now),
            frames,
        };
        // The first frames at once, not at the next turn of the loop.
        a.poll(now);
        a
    }

    /// When the next frames are due; `None` when done.
    pub fn next_due(&self) -> Option<Instant> {
        self.announcer.next_due()
    }

    /// Send what is due at `now`; `true` once the schedule is over.
    pub fn poll(&mut self, now: Instant) -> bool {
        loop {
            match self.announcer.poll(now) {
                Step::Send => {
                    for (sock, frame, what) in &self.frames {
                        if let Err(e) = sock.send(frame) {
                            debug!("gratuitous ARP for {what}: {e}");
                        }
                    }
                }
                Step::WaitUntil(_) => return false,
                Step::Done => return true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnl::{Link, MemoryRoute};

    fn route() -> MemoryRoute {
        MemoryRoute::new()
            .with_link(Link::new(1, "lo", None))
            .with_link(Link::new(2, "eth0", Some([2, 0, 0, 0, 0, 1])))
    }

    fn vip(addr: &str, label: &str) -> FloatingAddress {
        FloatingAddress {
            addr: addr.parse().expect("ip"),
            prefix_len: 24,
            label: label.to_owned(),
            device: rtnl::base_device(label).to_owned(),
        }
    }

    fn base() -> Address {
        Address::floating(2, "203.0.113.2".parse().expect("ip"), 24, None).expect("base")
    }

    #[test]
    fn add_and_remove_touch_only_the_floating_address() {
        let mut r = route();
        r.add_address(&base()).expect("base address");
        let mut held = Vec::new();
        let v = vip("203.0.113.10", "eth0:1");
        add(&mut r, std::slice::from_ref(&v), &mut held);
        // Twice is fine (the master re-announces with the address up).
        add(&mut r, std::slice::from_ref(&v), &mut held);
        assert_eq!(held, std::slice::from_ref(&v));
        let a = r.addresses().expect("list");
        let up = a.iter().find(|a| a.addr == v.addr).expect("vip up");
        assert_eq!(up.label.as_deref(), Some("eth0:1"));
        assert_eq!(up.broadcast, Some("203.0.113.255".parse().expect("ip")));
        remove(&mut r, std::slice::from_ref(&v), &mut held);
        assert!(held.is_empty());
        let a: Vec<_> = r
            .addresses()
            .expect("list")
            .into_iter()
            .map(|a| a.addr)
            .collect();
        assert_eq!(a, [base().addr], "the base address stays");
        assert!(
            r.links()
                .expect("links")
                .iter()
                .all(|l| l.name != "eth0" || l.admin_up)
        );
        // Removing what is not there is not an error.
        remove(&mut r, std::slice::from_ref(&v), &mut held);
    }

    #[test]
    fn an_unknown_device_is_logged_not_held() {
        let mut r = route();
        let mut held = Vec::new();
        add(&mut r, &[vip("203.0.113.10", "eth9:1")], &mut held);
        assert!(held.is_empty());
        assert!(r.addresses().expect("list").is_empty());
    }

    #[test]
    fn stale_addresses_of_the_file_are_removed_and_nothing_else() {
        let mut r = route();
        r.add_address(&base()).expect("base");
        let stale = vip("203.0.113.10", "eth0:1");
        let other = vip("203.0.113.99", "eth0:9");
        let mut held = Vec::new();
        add(&mut r, &[stale.clone(), other.clone()], &mut held);
        let removed = remove_stale(&mut r, std::slice::from_ref(&stale));
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].addr, stale.addr);
        let left: Vec<_> = r
            .addresses()
            .expect("list")
            .into_iter()
            .map(|a| a.addr)
            .collect();
        assert!(left.contains(&other.addr) && left.contains(&base().addr));
        assert!(!left.contains(&stale.addr));
    }
}
