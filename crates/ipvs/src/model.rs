//! The typed IPVS table: plain data, no I/O.
//!
//! A [`Service`] and a [`Destination`] hold exactly what can be programmed into
//! the kernel, so a desired table and a dumped table compare with `==`.  What the
//! kernel reports on top (counters, connection counts) lives in
//! [`ServiceEntry`] and [`DestinationEntry`].

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use crate::uapi;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AddressFamily {
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
}

impl AddressFamily {
    /// The family of `addr`.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        }
    }

    /// The kernel's `AF_*` number.
    pub fn to_raw(self) -> u16 {
        match self {
            AddressFamily::Inet => uapi::AF_INET,
            AddressFamily::Inet6 => uapi::AF_INET6,
        }
    }

    /// From the kernel's `AF_*` number; `None` for families IPVS does not serve.
    pub fn from_raw(af: u16) -> Option<Self> {
        match af {
            uapi::AF_INET => Some(AddressFamily::Inet),
            uapi::AF_INET6 => Some(AddressFamily::Inet6),
            _ => None,
        }
    }
}

/// Transport protocol of an address-keyed service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Protocol {
    /// TCP (`-t`).
    Tcp,
    /// UDP (`-u`).
    Udp,
    /// SCTP (`--sctp-service`).
    Sctp,
    /// Any other IP protocol number.  The netlink path of the kernel accepts
    /// it (the old sockopt path did not); ipvsadm cannot express it.
    Other(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn to_raw(self) -> u16 {
        match self {
            Protocol::Tcp => uapi::IPPROTO_TCP,
            Protocol::Udp => uapi::IPPROTO_UDP,
            Protocol::Sctp => uapi::IPPROTO_SCTP,
            Protocol::Other(p) => p,
        }
    }

    /// From an IP protocol number.
    pub fn from_raw(p: u16) -> Self {
        match p {
            uapi::IPPROTO_TCP => Protocol::Tcp,
            uapi::IPPROTO_UDP => Protocol::Udp,
            uapi::IPPROTO_SCTP => Protocol::Sctp,
            other => Protocol::Other(other),
        }
    }
}

/// What identifies a virtual service in the kernel.
///
/// Fwmark services are keyed by `(family, mark)`: an IPv4 and an IPv6 fwmark
/// service with the same mark are two services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ServiceKey {
    /// `-t/-u/--sctp-service addr:port`.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address; its version decides the family.
        addr: IpAddr,
        /// Virtual port; 0 is the kernel's "any port" (persistent only, by convention).
        port: u16,
    },
    /// `-f mark` (with `-6` for IPv6).
    Fwmark {
        /// Family of the packets the mark selects.
        af: AddressFamily,
        /// The netfilter mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// An address-keyed TCP service.
    pub fn tcp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
            port,
        }
    }

    /// An address-keyed UDP service.
    pub fn udp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
            port,
        }
    }

    /// An address-keyed SCTP service.
    pub fn sctp(addr: IpAddr, port: u16) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr,
            port,
        }
    }

    /// A fwmark service.
    pub fn fwmark(af: AddressFamily, mark: u32) -> Self {
        ServiceKey::Fwmark { af, mark }
    }

    /// The service's address family.
    pub fn af(&self) -> AddressFamily {
        match self {
            ServiceKey::Addr { addr, .. } => AddressFamily::of(*addr),
            ServiceKey::Fwmark { af, .. } => *af,
        }
    }
}

/// A scheduler, by its kernel module name without the `ip_vs_` prefix.
///
/// A name, not an enum, because the set is whatever modules the running
/// kernel has (`twos` is 6.5+, out-of-tree ones exist); the constants are
/// the in-tree ones.  `"none"` is the kernel's "no scheduler".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Scheduler(Cow<'static, str>);

impl Scheduler {
    /// Round robin.
    pub const RR: Scheduler = Scheduler::from_static("rr");
    /// Weighted round robin.
    pub const WRR: Scheduler = Scheduler::from_static("wrr");
    /// Least connections.
    pub const LC: Scheduler = Scheduler::from_static("lc");
    /// Weighted least connections (ipvsadm's default).
    pub const WLC: Scheduler = Scheduler::from_static("wlc");
    /// Locality-based least connections.
    pub const LBLC: Scheduler = Scheduler::from_static("lblc");
    /// Locality-based least connections with replication.
    pub const LBLCR: Scheduler = Scheduler::from_static("lblcr");
    /// Destination hashing.
    pub const DH: Scheduler = Scheduler::from_static("dh");
    /// Source hashing.
    pub const SH: Scheduler = Scheduler::from_static("sh");
    /// Shortest expected delay.
    pub const SED: Scheduler = Scheduler::from_static("sed");
    /// Never queue.
    pub const NQ: Scheduler = Scheduler::from_static("nq");
    /// Weighted failover.
    pub const FO: Scheduler = Scheduler::from_static("fo");
    /// Weighted overflow.
    pub const OVF: Scheduler = Scheduler::from_static("ovf");
    /// Maglev hashing.
    pub const MH: Scheduler = Scheduler::from_static("mh");
    /// Weighted random twos choice (Linux 6.5+).
    pub const TWOS: Scheduler = Scheduler::from_static("twos");
    /// No scheduler at all (kernel accepts `"none"`).
    pub const NONE: Scheduler = Scheduler::from_static("none");

    /// Every in-tree scheduler name, in the order the kernel's Kconfig lists them.
    pub const IN_TREE: [Scheduler; 14] = [
        Self::RR,
        Self::WRR,
        Self::LC,
        Self::WLC,
        Self::FO,
        Self::OVF,
        Self::LBLC,
        Self::LBLCR,
        Self::DH,
        Self::SH,
        Self::MH,
        Self::SED,
        Self::NQ,
        Self::TWOS,
    ];

    const fn from_static(name: &'static str) -> Self {
        Scheduler(Cow::Borrowed(name))
    }

    /// A scheduler by name.  Not validated: the kernel decides.
    pub fn new(name: impl Into<String>) -> Self {
        Scheduler(Cow::Owned(name.into()))
    }

    /// The kernel name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Scheduler {
    fn from(s: &str) -> Self {
        Scheduler::new(s)
    }
}

/// Service flags other than persistence (which is [`Service::persistence`])
/// and the kernel-internal `HASHED` bit (always masked out).
///
/// Unknown bits are kept so that what the kernel reports round-trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct ServiceFlags(u32);

impl ServiceFlags {
    /// One-packet scheduling (`-o`, `ops`).
    pub const ONE_PACKET: ServiceFlags = ServiceFlags(uapi::IP_VS_SVC_F_ONEPACKET);
    /// Scheduler flag 1 (`sh-fallback`, `mh-fallback`, `flag-1`).
    pub const SCHED1: ServiceFlags = ServiceFlags(uapi::IP_VS_SVC_F_SCHED1);
    /// Scheduler flag 2 (`sh-port`, `mh-port`, `flag-2`).
    pub const SCHED2: ServiceFlags = ServiceFlags(uapi::IP_VS_SVC_F_SCHED2);
    /// Scheduler flag 3 (`flag-3`).
    pub const SCHED3: ServiceFlags = ServiceFlags(uapi::IP_VS_SVC_F_SCHED3);
    /// No flags.
    pub const EMPTY: ServiceFlags = ServiceFlags(0);

    /// From the kernel's flag word: drops `PERSISTENT` (modelled separately)
    /// and `HASHED` (kernel-internal), keeps every other bit.
    pub fn from_kernel(bits: u32) -> Self {
        ServiceFlags(bits & !(uapi::IP_VS_SVC_F_PERSISTENT | uapi::IP_VS_SVC_F_HASHED))
    }

    /// The raw bits (never `PERSISTENT` or `HASHED`).
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether one-packet scheduling is on.
    pub fn one_packet(self) -> bool {
        self.contains(Self::ONE_PACKET)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags::from_kernel(self.0 | rhs.0)
    }
}

/// Persistence granularity: the client-address mask used to build templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Netmask {
    /// IPv4 services: a dotted mask (`-M 255.255.255.0`).
    V4(Ipv4Addr),
    /// IPv6 services: a prefix length 1..=128 (`-M 64`).
    V6Prefix(u8),
}

impl Netmask {
    /// The kernel default for a family: `/32` resp. `/128`.
    pub fn default_for(af: AddressFamily) -> Self {
        match af {
            AddressFamily::Inet => Netmask::V4(Ipv4Addr::BROADCAST),
            AddressFamily::Inet6 => Netmask::V6Prefix(128),
        }
    }
}

/// Persistence (`-p timeout [-M netmask]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Persistence {
    /// Template lifetime in seconds.
    pub timeout: u32,
    /// Client-address granularity.
    pub netmask: Netmask,
}

/// A virtual service's programmable settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Service {
    /// Identity.
    pub key: ServiceKey,
    /// Scheduler name.
    pub scheduler: Scheduler,
    /// One-packet and scheduler flags.
    pub flags: ServiceFlags,
    /// `Some` for a persistent service.
    pub persistence: Option<Persistence>,
    /// Persistence engine (`--pe sip`), if any.
    pub pe_name: Option<String>,
}

impl Service {
    /// A non-persistent service with no flags.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Self {
        Service {
            key,
            scheduler,
            flags: ServiceFlags::EMPTY,
            persistence: None,
            pe_name: None,
        }
    }
}

/// Tunnel encapsulation (`--tun-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TunnelType {
    /// IP-in-IP (the default).
    Ipip,
    /// Generic UDP encapsulation; needs a port.
    Gue,
    /// GRE.
    Gre,
    /// A type this crate does not know.
    Other(u8),
}

impl TunnelType {
    /// The `IP_VS_CONN_F_TUNNEL_TYPE_*` value.
    pub fn to_raw(self) -> u8 {
        match self {
            TunnelType::Ipip => uapi::IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelType::Gue => uapi::IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelType::Gre => uapi::IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelType::Other(t) => t,
        }
    }

    /// From the `IP_VS_CONN_F_TUNNEL_TYPE_*` value.
    pub fn from_raw(t: u8) -> Self {
        match t {
            uapi::IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelType::Ipip,
            uapi::IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelType::Gue,
            uapi::IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelType::Gre,
            other => TunnelType::Other(other),
        }
    }
}

/// Tunnel encapsulation checksum flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`); 0 is
/// "no checksum".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    /// `--tun-nocsum`.
    pub const NOCSUM: TunnelFlags = TunnelFlags(uapi::IP_VS_TUNNEL_ENCAP_FLAG_NOCSUM);
    /// `--tun-csum`.
    pub const CSUM: TunnelFlags = TunnelFlags(uapi::IP_VS_TUNNEL_ENCAP_FLAG_CSUM);
    /// `--tun-remcsum`.
    pub const REMCSUM: TunnelFlags = TunnelFlags(uapi::IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM);
}

/// Tunnel parameters of a [`Forwarding::Tunnel`] destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Tunnel {
    /// Encapsulation.
    pub tun_type: TunnelType,
    /// Destination UDP port for GUE (must be non-zero then); 0 otherwise.
    pub port: u16,
    /// Checksum flags (GUE/GRE).
    pub flags: TunnelFlags,
}

impl Tunnel {
    /// Plain IP-in-IP.
    pub const IPIP: Tunnel = Tunnel {
        tun_type: TunnelType::Ipip,
        port: 0,
        flags: TunnelFlags::NOCSUM,
    };
}

/// How packets reach a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Forwarding {
    /// NAT (`-m`).
    Masq,
    /// Direct routing / gatewaying (`-g`, ipvsadm's default).
    DirectRoute,
    /// IP tunnelling (`-i`).
    Tunnel(Tunnel),
    /// Local node (`IP_VS_CONN_F_LOCALNODE`); the kernel reports it, ipvsadm cannot set it.
    Local,
    /// Any other `IP_VS_CONN_F_FWD_MASK` value.
    Other(u32),
}

impl Forwarding {
    /// The `IP_VS_CONN_F_*` forwarding value.
    pub fn to_raw(self) -> u32 {
        match self {
            Forwarding::Masq => uapi::IP_VS_CONN_F_MASQ,
            Forwarding::Local => uapi::IP_VS_CONN_F_LOCALNODE,
            Forwarding::Tunnel(_) => uapi::IP_VS_CONN_F_TUNNEL,
            Forwarding::DirectRoute => uapi::IP_VS_CONN_F_DROUTE,
            Forwarding::Other(v) => v,
        }
    }
}

/// What identifies a destination within its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DestinationKey {
    /// Real server address; its version is the destination's family.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

/// A real server's programmable settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Destination {
    /// Real server address.  A family different from the service's is only
    /// accepted with tunnel forwarding.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
    /// Forwarding method.
    pub forwarding: Forwarding,
    /// Weight, `0..=i32::MAX`; 0 quiesces.
    pub weight: u32,
    /// Upper connection threshold; 0 = none.
    pub upper_threshold: u32,
    /// Lower connection threshold; must not exceed the upper one.
    pub lower_threshold: u32,
}

impl Destination {
    /// A destination with no thresholds.
    pub fn new(addr: IpAddr, port: u16, forwarding: Forwarding, weight: u32) -> Self {
        Destination {
            addr,
            port,
            forwarding,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    /// Its identity within the service.
    pub fn key(&self) -> DestinationKey {
        DestinationKey {
            addr: self.addr,
            port: self.port,
        }
    }
}

/// Traffic counters and rate estimates, 64-bit.
///
/// Filled from `STATS64` when the kernel sends it (4.1+), else from the
/// 32-bit `STATS` nest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Connections per second (estimate).
    pub cps: u64,
    /// Incoming packets per second (estimate).
    pub inpps: u64,
    /// Outgoing packets per second (estimate).
    pub outpps: u64,
    /// Incoming bytes per second (estimate).
    pub inbps: u64,
    /// Outgoing bytes per second (estimate).
    pub outbps: u64,
}

/// A destination as listed by the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestinationEntry {
    /// Settings.
    pub destination: Destination,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistence templates pointing here.
    pub persist_conns: u32,
    /// Counters.
    pub stats: Stats,
}

/// A service as listed by the kernel, with its destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceEntry {
    /// Settings.
    pub service: Service,
    /// Counters.
    pub stats: Stats,
    /// Destinations in the kernel's order.
    pub destinations: Vec<DestinationEntry>,
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`).
/// On set, 0 means "leave unchanged".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// Sync daemon role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum DaemonState {
    /// Sends connection state.
    Master,
    /// Receives connection state.
    Backup,
}

impl DaemonState {
    /// `IP_VS_STATE_*`.
    pub fn to_raw(self) -> u32 {
        match self {
            DaemonState::Master => uapi::IP_VS_STATE_MASTER,
            DaemonState::Backup => uapi::IP_VS_STATE_BACKUP,
        }
    }
}

/// A connection-sync daemon.  The optional fields are left to the kernel
/// defaults when `None` on start; a listing reports them all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: DaemonState,
    /// Multicast interface (`--mcast-interface`).
    pub mcast_ifn: String,
    /// Sync id (`--syncid`).
    pub syncid: u32,
    /// Maximum sync message payload (`--sync-maxlen`).
    pub sync_maxlen: Option<u16>,
    /// Multicast group (`--mcast-group`), v4 or v6.
    pub mcast_group: Option<IpAddr>,
    /// Multicast port (`--mcast-port`).
    pub mcast_port: Option<u16>,
    /// Multicast TTL (`--mcast-ttl`).
    pub mcast_ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with kernel defaults for the optional settings.
    pub fn new(state: DaemonState, mcast_ifn: impl Into<String>, syncid: u32) -> Self {
        SyncDaemon {
            state,
            mcast_ifn: mcast_ifn.into(),
            syncid,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        }
    }
}

/// IPVS version and connection table size (`GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`, e.g. `0x010201`.
    pub version: u32,
    /// Connection hash table size.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as `(major, minor, patch)`.
    pub fn version_triple(&self) -> (u8, u8, u8) {
        let [_, a, b, c] = self.version.to_be_bytes();
        (a, b, c)
    }
}

impl fmt::Display for Info {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b, c) = self.version_triple();
        write!(
            f,
            "IP Virtual Server version {a}.{b}.{c} (size={})",
            self.conn_tab_size
        )
    }
}

/// One table modification, for [`crate::IpvsTable::apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Change {
    /// `NEW_SERVICE`.
    AddService(Service),
    /// `SET_SERVICE` (identity from `service.key`).
    EditService(Service),
    /// `DEL_SERVICE`.
    DeleteService(ServiceKey),
    /// `NEW_DEST`.
    AddDestination {
        /// Owning service.
        service: ServiceKey,
        /// The new destination.
        destination: Destination,
    },
    /// `SET_DEST`.
    EditDestination {
        /// Owning service.
        service: ServiceKey,
        /// The destination's new settings.
        destination: Destination,
    },
    /// `DEL_DEST`.
    DeleteDestination {
        /// Owning service.
        service: ServiceKey,
        /// The destination to remove.
        destination: DestinationKey,
    },
    /// `FLUSH`: every service of the namespace.
    Flush,
    /// `ZERO`: one service's counters, or all (`None`).
    Zero(Option<ServiceKey>),
    /// `SET_CONFIG`.
    SetTimeouts(Timeouts),
    /// `NEW_DAEMON`.
    StartDaemon(SyncDaemon),
    /// `DEL_DAEMON`.
    StopDaemon(DaemonState),
}
