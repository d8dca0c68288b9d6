//! An IPVS table in memory that follows the kernel's rules.
//!
//! Every check below mirrors `net/netfilter/ipvs/ip_vs_ctl.c` (6.1) in the
//! kernel's order, and produces the kernel's errno, which is then mapped
//! to an [`IpvsError`] by the same function the netlink client uses.  The
//! conformance suite runs the same cases against this table and the kernel.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use crate::IpvsTable;
use crate::error::IpvsError;
use crate::model::*;
use crate::uapi::{EEXIST, EINVAL, ENODEV, ENOENT, ERANGE, ESRCH, IP_VS_VERSION_CODE};
use crate::wire::convert::{netmask_bytes, netmask_from};

/// Longest scheduler / engine / interface name the kernel's attribute
/// policy accepts (`IP_VS_SCHEDNAME_MAXLEN - 1` etc.).
const NAME_MAX: usize = 15;

/// Kernel `HZ` of a Debian kernel; the timeout limit is `INT_MAX / HZ`.
const DEFAULT_HZ: u32 = 250;

/// Defaults the kernel reports for a sync daemon started without them.
const DEFAULT_SYNC_MAXLEN: u16 = 1472;
const DEFAULT_MCAST_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);
const DEFAULT_MCAST_PORT: u16 = 8848;
const DEFAULT_MCAST_TTL: u8 = 1;

#[derive(Debug, Clone)]
struct Entry {
    service: Service,
    /// Newest first, like the kernel's `list_add_rcu` on `svc->destinations`.
    destinations: Vec<Destination>,
}

/// The in-memory table.  See the module docs.
#[derive(Debug, Clone)]
pub struct MemoryIpvs {
    services: Vec<Entry>,
    timeouts: Timeouts,
    daemons: Vec<SyncDaemon>,
    schedulers: BTreeSet<String>,
    engines: BTreeSet<String>,
    interfaces: BTreeSet<String>,
    conn_tab_size: u32,
    hz: u32,
}

impl Default for MemoryIpvs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryIpvs {
    /// An empty table of a kernel with every in-tree scheduler, the `sip`
    /// persistence engine, one interface `lo`, default timeouts (900/120/300)
    /// and a 4096-entry connection table.
    pub fn new() -> Self {
        MemoryIpvs {
            services: Vec::new(),
            timeouts: Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            },
            daemons: Vec::new(),
            schedulers: Scheduler::IN_TREE
                .iter()
                .map(|s| s.name().to_owned())
                .collect(),
            engines: ["sip".to_owned()].into(),
            interfaces: ["lo".to_owned()].into(),
            conn_tab_size: 4096,
            hz: DEFAULT_HZ,
        }
    }

    /// Replace the set of available schedulers (e.g. without `twos` to act
    /// like a 6.1 kernel).  `none` is always accepted.
    pub fn with_schedulers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.schedulers = names.into_iter().map(Into::into).collect();
        self
    }

    /// Replace the set of available persistence engines.
    pub fn with_engines<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.engines = names.into_iter().map(Into::into).collect();
        self
    }

    /// Replace the set of network interfaces a sync daemon may use.
    pub fn with_interfaces<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.interfaces = names.into_iter().map(Into::into).collect();
        self
    }

    /// The schedulers this table accepts.
    pub fn schedulers(&self) -> impl Iterator<Item = &str> {
        self.schedulers.iter().map(String::as_str)
    }

    fn find(&self, key: &ServiceKey) -> Option<usize> {
        self.services.iter().position(|e| e.service.key == *key)
    }

    fn mixed_af_dests(&self) -> bool {
        self.services.iter().any(|e| {
            let af = e.service.key.af();
            e.destinations
                .iter()
                .any(|d| AddressFamily::of(d.addr) != af)
        })
    }

    /// Scheduler, engine and v6 prefix checks shared by add and edit
    /// (`ip_vs_add_service` / `ip_vs_edit_service`), and the stored form.
    fn checked_service(&self, svc: &Service) -> Result<Service, i32> {
        let sched = svc.scheduler.name();
        if sched.len() > NAME_MAX || svc.pe_name.as_ref().is_some_and(|p| p.len() > NAME_MAX) {
            return Err(EINVAL); // attribute policy
        }
        if sched != "none" && !self.schedulers.contains(sched) {
            return Err(ENOENT);
        }
        if let Some(pe) = &svc.pe_name
            && !self.engines.contains(pe)
        {
            return Err(ENOENT);
        }
        let af = svc.key.af();
        // The kernel keeps the raw NETMASK word and reinterprets it by family.
        let netmask = svc.persistence.map_or(Netmask::default_for(af), |p| {
            netmask_from(af, netmask_bytes(p.netmask))
        });
        if let (AddressFamily::Inet6, Netmask::V6Prefix(p)) = (af, netmask)
            && !(1..=128).contains(&p)
        {
            return Err(EINVAL);
        }
        // A raw v6 word above 255 reads back as prefix 0 and was rejected above.
        let mut stored = svc.clone();
        if let Some(p) = &mut stored.persistence {
            p.netmask = netmask;
        }
        Ok(stored)
    }

    /// Checks of `ip_vs_genl_set_cmd` for destination commands, then of
    /// `ip_vs_add_dest` / `ip_vs_edit_dest` up to the lookup.
    fn check_destination(&self, svc: &Service, d: &Destination) -> Result<(), i32> {
        if AddressFamily::of(d.addr) != svc.key.af() {
            if !self.daemons.is_empty() {
                return Err(EINVAL);
            }
            if !matches!(d.forwarding, Forwarding::Tunnel(_)) {
                return Err(EINVAL);
            }
        }
        if i32::try_from(d.weight).is_err() || d.lower_threshold > d.upper_threshold {
            return Err(ERANGE);
        }
        if let Forwarding::Tunnel(t) = d.forwarding
            && t.tun_type == TunnelType::Gue
            && t.port == 0
        {
            return Err(EINVAL);
        }
        Ok(())
    }

    fn apply_one(&mut self, change: &Change) -> Result<(), i32> {
        match change {
            Change::AddService(svc) => {
                if self.find(&svc.key).is_some() {
                    return Err(EEXIST);
                }
                let service = self.checked_service(svc)?;
                self.services.push(Entry {
                    service,
                    destinations: Vec::new(),
                });
            }
            Change::EditService(svc) => {
                let i = self.find(&svc.key).ok_or(ESRCH)?;
                let service = self.checked_service(svc)?;
                self.services[i].service = service;
            }
            Change::DeleteService(key) => {
                let i = self.find(key).ok_or(ESRCH)?;
                self.services.remove(i);
            }
            Change::AddDestination {
                service,
                destination,
            } => {
                let i = self.find(service).ok_or(ESRCH)?;
                self.check_destination(&self.services[i].service, destination)?;
                let entry = &mut self.services[i];
                if entry
                    .destinations
                    .iter()
                    .any(|d| d.key() == destination.key())
                {
                    return Err(EEXIST);
                }
                if !is_unicast(destination.addr) {
                    return Err(EINVAL); // ip_vs_new_dest: address type
                }
                entry.destinations.insert(0, destination.clone());
            }
            Change::EditDestination {
                service,
                destination,
            } => {
                let i = self.find(service).ok_or(ESRCH)?;
                self.check_destination(&self.services[i].service, destination)?;
                let slot = self.services[i]
                    .destinations
                    .iter_mut()
                    .find(|d| d.key() == destination.key())
                    .ok_or(ENOENT)?;
                *slot = destination.clone();
            }
            Change::DeleteDestination {
                service,
                destination,
            } => {
                let i = self.find(service).ok_or(ESRCH)?;
                let dests = &mut self.services[i].destinations;
                let j = dests
                    .iter()
                    .position(|d| d.key() == *destination)
                    .ok_or(ENOENT)?;
                dests.remove(j);
            }
            Change::Flush => self.services.clear(),
            Change::Zero(Some(key)) => {
                self.find(key).ok_or(ESRCH)?;
            }
            Change::Zero(None) => {}
            Change::SetTimeouts(t) => {
                let limit = i32::MAX.unsigned_abs() / self.hz;
                if [t.tcp, t.tcp_fin, t.udp].iter().any(|v| *v > limit) {
                    return Err(EINVAL);
                }
                for (cur, new) in [
                    (&mut self.timeouts.tcp, t.tcp),
                    (&mut self.timeouts.tcp_fin, t.tcp_fin),
                    (&mut self.timeouts.udp, t.udp),
                ] {
                    if new != 0 {
                        *cur = new;
                    }
                }
            }
            Change::StartDaemon(d) => {
                if d.mcast_ifn.len() > NAME_MAX {
                    return Err(EINVAL);
                }
                if self.mixed_af_dests() {
                    return Err(EINVAL);
                }
                if let Some(g) = d.mcast_group
                    && !g.is_multicast()
                {
                    return Err(EINVAL);
                }
                if self.daemons.iter().any(|x| x.state == d.state) {
                    return Err(EEXIST);
                }
                if !self.interfaces.contains(&d.mcast_ifn) {
                    return Err(ENODEV);
                }
                let mut d = d.clone();
                d.sync_maxlen.get_or_insert(DEFAULT_SYNC_MAXLEN);
                d.mcast_group.get_or_insert(IpAddr::V4(DEFAULT_MCAST_GROUP));
                d.mcast_port.get_or_insert(DEFAULT_MCAST_PORT);
                d.mcast_ttl.get_or_insert(DEFAULT_MCAST_TTL);
                // syncid is a u8 in the kernel's sync config.
                d.syncid &= 0xff;
                self.daemons.push(d);
                self.daemons.sort_by_key(|x| x.state);
            }
            Change::StopDaemon(state) => {
                let i = self
                    .daemons
                    .iter()
                    .position(|x| x.state == *state)
                    .ok_or(ESRCH)?;
                self.daemons.remove(i);
            }
        }
        Ok(())
    }
}

/// What `ip_vs_new_dest` accepts as a real server address: IPv4 local or
/// unicast (`inet_addr_type`), IPv6 unicast and not link-local.
fn is_unicast(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => {
            let link_local = a.segments()[0] & 0xffc0 == 0xfe80;
            !(a.is_unspecified() || a.is_multicast() || link_local)
        }
    }
}

impl IpvsTable for MemoryIpvs {
    fn info(&mut self) -> Result<Info, IpvsError> {
        Ok(Info {
            version: IP_VS_VERSION_CODE,
            conn_tab_size: self.conn_tab_size,
        })
    }

    fn list(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
        Ok(self
            .services
            .iter()
            .map(|e| ServiceEntry {
                service: e.service.clone(),
                stats: Stats::default(),
                destinations: e
                    .destinations
                    .iter()
                    .map(|d| DestinationEntry {
                        destination: d.clone(),
                        active_conns: 0,
                        inactive_conns: 0,
                        persist_conns: 0,
                        stats: Stats::default(),
                    })
                    .collect(),
            })
            .collect())
    }

    fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        Ok(self.timeouts)
    }

    fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        Ok(self.daemons.clone())
    }

    fn apply(&mut self, batch: &[Change]) -> Vec<Result<(), IpvsError>> {
        batch
            .iter()
            .map(|c| {
                self.apply_one(c)
                    .map_err(|errno| IpvsError::from_errno(c, errno))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Object;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn add_edit_delete_and_errors() {
        let mut t = MemoryIpvs::new();
        let key = ServiceKey::tcp(v4(192, 0, 2, 10), 80);
        let svc = Service::new(key, Scheduler::WLC);
        t.add_service(&svc).unwrap();
        assert!(matches!(
            t.add_service(&svc),
            Err(IpvsError::AlreadyExists(Object::Service))
        ));
        let d = Destination::new(v4(198, 51, 100, 2), 80, Forwarding::Masq, 3);
        t.add_destination(&key, &d).unwrap();
        let listed = t.list().unwrap();
        assert_eq!(listed[0].destinations[0].destination, d);
        assert!(matches!(
            t.delete_destination(
                &key,
                &DestinationKey {
                    addr: v4(198, 51, 100, 9),
                    port: 80
                }
            ),
            Err(IpvsError::NotFound {
                object: Object::Destination,
                errno: ENOENT
            })
        ));
        t.delete_service(&key).unwrap();
        assert!(matches!(
            t.delete_service(&key),
            Err(IpvsError::NotFound {
                object: Object::Service,
                errno: ESRCH
            })
        ));
    }

    #[test]
    fn kernel_without_twos() {
        let all = Scheduler::IN_TREE;
        let names = all
            .iter()
            .filter(|s| **s != Scheduler::TWOS)
            .map(|s| s.name().to_owned());
        let mut t = MemoryIpvs::new().with_schedulers(names);
        let svc = Service::new(ServiceKey::tcp(v4(192, 0, 2, 1), 80), Scheduler::TWOS);
        match t.add_service(&svc) {
            Err(IpvsError::UnknownScheduler(n)) => assert_eq!(n, "twos"),
            other => panic!("{other:?}"),
        }
    }
}
