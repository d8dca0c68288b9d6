//! The desired IPVS table: a pure function of `lvs.cf` and health.
//!
//! This is the one place where configuration becomes IPVS services and
//! destinations. `lvsd --dry-run` calls it with [`crate::AllHealthy`]; the
//! daemon calls it with the health its nannies reported.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use ipvs::{
    AddressFamily, Destination, DestinationKey, Forwarding, Netmask, Persistence, Scheduler,
    Service, ServiceKey, Timeouts, Tunnel,
};
use lvscf::{Config, VirtualServer};

use crate::health::{Health, HealthView, ServerId};

/// The table a router should have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DesiredTable {
    /// One entry per active virtual server that maps onto IPVS, in file order.
    pub services: Vec<DesiredService>,
    /// Connection timeouts to set, when `lvs.cf` sets any (0 = unchanged).
    pub timeouts: Option<Timeouts>,
    /// Virtual or real servers left out, and why.
    pub skipped: Vec<Skipped>,
}

impl DesiredTable {
    /// The desired service with this key.
    pub fn service(&self, key: &ServiceKey) -> Option<&DesiredService> {
        self.services.iter().find(|s| s.service.key == *key)
    }

    /// The keys of every service this table installs.
    pub fn keys(&self) -> HashSet<ServiceKey> {
        self.services.iter().map(|s| s.service.key).collect()
    }
}

/// One virtual server as an IPVS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    /// Name of its `virtual` block.
    pub virtual_name: String,
    /// The service's settings.
    pub service: Service,
    /// What should become of each active real server (and the sorry server).
    pub destinations: Vec<DesiredDestination>,
}

impl DesiredService {
    /// Whether the sorry server is among the destinations.
    pub fn sorry_server_active(&self) -> bool {
        self.destinations
            .iter()
            .any(|d| matches!(d, DesiredDestination::Present { server: None, .. }))
    }
}

/// What should become of one destination of a desired service.
///
/// A destination of an owned service that matches none of these is removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesiredDestination {
    /// Installed exactly like this.
    Present {
        /// The real server, or `None` for the virtual's sorry server.
        server: Option<ServerId>,
        /// Its settings.
        destination: Destination,
    },
    /// Health not known yet: whatever the kernel has under this key stays
    /// untouched, and nothing is added.
    Adopt {
        /// The real server.
        server: ServerId,
        /// Its key in the service.
        key: DestinationKey,
    },
}

impl DesiredDestination {
    /// The destination's key in its service.
    pub fn key(&self) -> DestinationKey {
        match self {
            DesiredDestination::Present { destination, .. } => destination.key(),
            DesiredDestination::Adopt { key, .. } => *key,
        }
    }
}

/// A virtual or real server that does not make it into the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its `virtual` block.
    pub virtual_name: String,
    /// Its `server` block, when only one real server is left out.
    pub server: Option<String>,
    /// Why.
    pub reason: SkipReason,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.server {
            Some(s) => write!(
                f,
                "server {s} of virtual {}: {}",
                self.virtual_name, self.reason
            ),
            None => write!(f, "virtual {}: {}", self.virtual_name, self.reason),
        }
    }
}

/// Why something was left out of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// An active virtual without `address` and without `fwmark`: no IPVS key.
    NoAddress,
    /// An earlier active virtual already defines the same IPVS service.
    DuplicateService {
        /// Name of the earlier virtual.
        first: String,
    },
    /// An earlier server of the same virtual has the same address and port.
    DuplicateServer {
        /// Name of the earlier server.
        first: String,
    },
    /// Real server and virtual address of different IP versions, which IPVS
    /// only forwards through a tunnel.
    FamilyMismatch,
    /// A persistence mask that does not fit the service's address family.
    PersistenceMask,
    /// A protocol IPVS is not asked to serve through this crate.
    UnsupportedProtocol,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NoAddress => f.write_str("no address and no fwmark"),
            SkipReason::DuplicateService { first } => {
                write!(f, "same IPVS service as virtual {first}")
            }
            SkipReason::DuplicateServer { first } => {
                write!(f, "same address and port as server {first}")
            }
            SkipReason::FamilyMismatch => f.write_str(
                "real server and virtual address are of different IP versions (only tunnel forwarding can mix them)",
            ),
            SkipReason::PersistenceMask => {
                f.write_str("pmask does not fit the virtual address's IP version")
            }
            SkipReason::UnsupportedProtocol => f.write_str("unsupported protocol"),
        }
    }
}

/// The table `config` means when each real server's health is what `health`
/// says.
///
/// Only active virtuals and their active servers count. A real server that
/// is [`Health::Down`] is left out, [`Health::Quiesced`] and
/// [`Health::Drained`] stay at weight 0, [`Health::Unknown`] keeps whatever
/// the kernel has. When a virtual has a
/// `sorry_server` and every active real server is known not to take traffic
/// (none unknown), the sorry server is added at the virtual's port with
/// weight 1.
pub fn desired_table(config: &Config, health: &dyn HealthView) -> DesiredTable {
    let mut table = DesiredTable {
        timeouts: timeouts(config),
        ..DesiredTable::default()
    };
    let forwarding = forwarding(config.network);
    let mut seen: HashMap<ServiceKey, String> = HashMap::new();

    for vs in config.active_virtuals() {
        let skip = |reason| Skipped {
            virtual_name: vs.name.clone(),
            server: None,
            reason,
        };
        let service = match service_of(vs) {
            Ok(service) => service,
            Err(reason) => {
                table.skipped.push(skip(reason));
                continue;
            }
        };
        if let Some(first) = seen.get(&service.key) {
            let first = first.clone();
            table
                .skipped
                .push(skip(SkipReason::DuplicateService { first }));
            continue;
        }
        seen.insert(service.key, vs.name.clone());

        let af = service.key.af();
        let mut destinations: Vec<DesiredDestination> = Vec::new();
        let mut names: HashMap<DestinationKey, &str> = HashMap::new();
        let mut all_known_down = true;
        for rs in vs.active_servers() {
            let key = DestinationKey {
                addr: rs.address,
                port: rs.port,
            };
            let skip_server = |reason| Skipped {
                virtual_name: vs.name.clone(),
                server: Some(rs.name.clone()),
                reason,
            };
            if AddressFamily::of(rs.address) != af && !matches!(forwarding, Forwarding::Tunnel(_)) {
                table.skipped.push(skip_server(SkipReason::FamilyMismatch));
                continue;
            }
            if let Some(first) = names.get(&key) {
                let first = (*first).to_owned();
                table
                    .skipped
                    .push(skip_server(SkipReason::DuplicateServer { first }));
                continue;
            }
            names.insert(key, &rs.name);

            let id = ServerId::new(&vs.name, &rs.name);
            let state = health.health(&id, rs.weight);
            all_known_down &= state.known_out_of_service();
            let weight = match state {
                Health::Up { weight } => weight,
                Health::Quiesced | Health::Drained => 0,
                Health::Down => continue,
                Health::Unknown | Health::Managed { .. } => {
                    destinations.push(DesiredDestination::Adopt { server: id, key });
                    continue;
                }
            };
            destinations.push(DesiredDestination::Present {
                server: Some(id),
                destination: Destination::new(rs.address, rs.port, forwarding, weight),
            });
        }

        if let Some(sorry) = vs.sorry_server {
            // The sorry server takes the virtual's port (the RHEL fix of the
            // original's missing-port bug) and stands in only while nothing
            // else can take traffic.
            let key = DestinationKey {
                addr: sorry,
                port: vs.port,
            };
            if all_known_down && !names.contains_key(&key) {
                destinations.push(DesiredDestination::Present {
                    server: None,
                    destination: Destination::new(sorry, vs.port, forwarding, 1),
                });
            }
        }

        table.services.push(DesiredService {
            virtual_name: vs.name.clone(),
            service,
            destinations,
        });
    }
    table
}

/// The IPVS service a virtual server stands for.
pub fn service_of(vs: &VirtualServer) -> Result<Service, SkipReason> {
    let vip = vs.address.as_ref().map(|a| a.addr);
    let key = match (vs.fwmark, vip) {
        (Some(mark), vip) => {
            // A fwmark service is per family; the VIP (which pulse still
            // raises) says which.
            let af = vip.map_or(AddressFamily::Inet, AddressFamily::of);
            ServiceKey::fwmark(af, mark)
        }
        (None, Some(addr)) => ServiceKey::Addr {
            protocol: protocol(vs.protocol)?,
            addr,
            port: vs.port,
        },
        (None, None) => return Err(SkipReason::NoAddress),
    };
    let mut service = Service::new(key, Scheduler::new(vs.scheduler.as_str()));
    if vs.persistent > 0 {
        let af = key.af();
        let netmask = match vs.pmask {
            None => Netmask::default_for(af),
            Some(mask) => persistence_mask(mask, af).ok_or(SkipReason::PersistenceMask)?,
        };
        service.persistence = Some(Persistence {
            timeout: vs.persistent,
            netmask,
        });
    }
    Ok(service)
}

fn persistence_mask(mask: lvscf::Netmask, af: AddressFamily) -> Option<Netmask> {
    match (mask, af) {
        (lvscf::Netmask::V4(m), AddressFamily::Inet) => Some(Netmask::V4(m)),
        (lvscf::Netmask::Prefix(p), AddressFamily::Inet) if p <= 32 => {
            let bits = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
            Some(Netmask::V4(Ipv4Addr::from(bits)))
        }
        (lvscf::Netmask::Prefix(p), AddressFamily::Inet6) if (1..=128).contains(&p) => {
            Some(Netmask::V6Prefix(p))
        }
        _ => None,
    }
}

fn protocol(p: lvscf::Protocol) -> Result<ipvs::Protocol, SkipReason> {
    match p {
        lvscf::Protocol::Tcp => Ok(ipvs::Protocol::Tcp),
        lvscf::Protocol::Udp => Ok(ipvs::Protocol::Udp),
        lvscf::Protocol::Sctp => Ok(ipvs::Protocol::Sctp),
        #[allow(unreachable_patterns)]
        _ => Err(SkipReason::UnsupportedProtocol),
    }
}

/// The IPVS forwarding method of `network`.
pub fn forwarding(network: lvscf::Forwarding) -> Forwarding {
    match network {
        lvscf::Forwarding::Nat => Forwarding::Masq,
        lvscf::Forwarding::Direct => Forwarding::DirectRoute,
        lvscf::Forwarding::Tunnel => Forwarding::Tunnel(Tunnel::IPIP),
    }
}

fn timeouts(config: &Config) -> Option<Timeouts> {
    let t = Timeouts {
        tcp: config.tcp_timeout,
        tcp_fin: config.tcpfin_timeout,
        udp: config.udp_timeout,
    };
    (t != Timeouts::default()).then_some(t)
}
