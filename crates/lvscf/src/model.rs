//! The typed configuration model.
//!
//! These types describe a loaded `lvs.cf` and nothing else: they know no
//! syntax, no spans and no parser. Defaults are those of piranha 0.8.6
//! (`lvsParseConfig`, `lvsInitVirtualServer`), so a [`Config::default()`] is
//! what the original daemons saw for a file holding only comments.
//!
//! Values the original kept as free text (commands, device names, paths)
//! stay `String`; everything a daemon computes with (addresses, ports,
//! timers, enums) is typed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Serialize, Serializer};
pub use values::Seconds;

/// Default `heartbeat_port` (UDP), as in piranha.
pub const DEFAULT_HEARTBEAT_PORT: u16 = 539;
/// Default `keepalive` (heartbeat interval).
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(2);
/// Default `deadtime` (silence before the partner is declared dead).
pub const DEFAULT_DEADTIME: Duration = Duration::from_secs(5);
/// Default `arp_count` (extension): piranha's 5 gratuitous ARPs per address.
pub const DEFAULT_ARP_COUNT: u32 = 5;
/// Default `arp_interval` (extension): piranha's 1 s between them.
pub const DEFAULT_ARP_INTERVAL: Duration = Duration::from_secs(1);
/// Default `rsh_command` (load command for `load_monitor = uptime`).
pub const DEFAULT_RSH_COMMAND: &str = "rsh";
/// Default `ipvsadm` path.
pub const DEFAULT_IPVSADM: &str = "/sbin/ipvsadm";
/// Default `syncd_iface`.
pub const DEFAULT_SYNCD_IFACE: &str = "eth0";
/// Default `debug_level` (unused by the daemons, kept for round trips).
pub const DEFAULT_DEBUG_LEVEL: &str = "NONE";
/// Default virtual `port`.
pub const DEFAULT_PORT: u16 = 80;
/// Default virtual `timeout` (nanny check interval and I/O timeout).
pub const DEFAULT_TIMEOUT: Seconds = Seconds::whole(10);
/// Default virtual `reentry`. nanny also reads `reentry = 0` as this.
pub const DEFAULT_REENTRY: Seconds = Seconds::whole(180);
/// Default virtual `client_monitor`.
pub const DEFAULT_CLIENT_MONITOR: &str = "/usr/sbin/nanny";
/// Default real-server `weight`.
pub const DEFAULT_WEIGHT: u32 = 1;

/// A whole `lvs.cf`: the global keys plus the `virtual` and `failover` blocks.
///
/// Unset host addresses are `None` (the original used `0.0.0.0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// `serial_no`: bumped by the GUI on every save, unused by the daemons.
    pub serial_no: i64,
    /// `primary`: address of the primary router (pulse picks its role by it).
    pub primary: Option<IpAddr>,
    /// `primary_private`: second heartbeat path of the primary. When
    /// `primary` is given and this is not, it is `primary` (original rule).
    pub primary_private: Option<IpAddr>,
    /// `primary_shared`: FOS shared-SCSI device on the primary (legacy).
    pub primary_shared: Option<String>,
    /// `backup`: address of the backup router.
    pub backup: Option<IpAddr>,
    /// `backup_private`: second heartbeat path of the backup. Forced to
    /// `backup` whenever `primary` is given without `primary_private`, even if
    /// the file sets it (original rule, reported as a warning).
    pub backup_private: Option<IpAddr>,
    /// `backup_shared`: FOS shared-SCSI device on the backup (legacy).
    pub backup_shared: Option<String>,
    /// `backup_active`: a backup router exists; heartbeats are sent only then.
    pub backup_active: bool,
    /// `service`: which blocks pulse runs, `virtual` (lvs) or `failover` (fos).
    pub service: ServiceKind,
    /// `heartbeat`: parsed but unused by the original (heartbeating follows
    /// `backup_active`).
    pub heartbeat: bool,
    /// `heartbeat_port`: pulse's UDP port.
    pub heartbeat_port: u16,
    /// `keepalive`: heartbeat send interval.
    #[serde(serialize_with = "ser_secs")]
    pub keepalive: Duration,
    /// `deadtime`: silence after which the partner is declared dead.
    #[serde(serialize_with = "ser_secs")]
    pub deadtime: Duration,
    /// `network`: forwarding method of every real server.
    pub network: Forwarding,
    /// `nat_router = IP DEVICE`: floating NAT gateway address (NAT only).
    pub nat_router: Option<InterfaceAddress>,
    /// `nat_nmask`: netmask of `nat_router`; `None` = ifconfig's default.
    pub nat_nmask: Option<Netmask>,
    /// `reservation_conflict_action`: `nothing` or `preempt` (FOS shared SCSI).
    pub reservation_conflict_action: Option<String>,
    /// `debug_level`: unused by the daemons.
    pub debug_level: String,
    /// `monitor_links`: pulse link monitoring (any non-zero value was "on").
    pub monitor_links: bool,
    /// `syncdaemon`: pulse manages the IPVS connection-sync daemon.
    pub syncdaemon: bool,
    /// `syncd_iface`: multicast interface of the sync daemon.
    pub syncd_iface: String,
    /// `syncd_id`: sync daemon id (the original masked it with `0xff`).
    pub syncd_id: u8,
    /// `tcp_timeout` in seconds for `ipvsadm --set`; 0 = leave unchanged.
    pub tcp_timeout: u32,
    /// `tcpfin_timeout` in seconds for `ipvsadm --set`; 0 = leave unchanged.
    pub tcpfin_timeout: u32,
    /// `udp_timeout` in seconds for `ipvsadm --set`; 0 = leave unchanged.
    pub udp_timeout: u32,
    /// `hard_shutdown`: a dead nanny stops lvsd (and so fails over).
    pub hard_shutdown: bool,
    /// `active_cmd`: command pulse runs on becoming active.
    pub active_cmd: Option<String>,
    /// `inactive_cmd`: command pulse runs at start and on deactivation.
    pub inactive_cmd: Option<String>,
    /// `rsh_command`: load command used for `load_monitor = uptime`.
    pub rsh_command: String,
    /// `ipvsadm`: path of ipvsadm.
    pub ipvsadm: String,
    /// `sync`: unused (old file-sync feature).
    pub sync: bool,
    /// `nanny_mode` (extension): one health-check process per real server
    /// (the original) or a shared checker. Reserved; semantics come later.
    pub nanny_mode: NannyMode,
    /// `heartbeat_key_file` (extension): file with the shared key that
    /// authenticates heartbeats (HMAC-SHA256). pulse reads it; the key is
    /// not in lvs.cf because lvs.cf is world-readable. `None` = plain
    /// heartbeats, as the original.
    pub heartbeat_key_file: Option<String>,
    /// `arp_count` (extension): gratuitous ARPs per floating address on
    /// each announcement (the original sent 5).
    pub arp_count: u32,
    /// `arp_interval` (extension): time between them (the original: 1 s).
    #[serde(serialize_with = "ser_secs")]
    pub arp_interval: Duration,
    /// `hot_standby` (extension): the backup runs lvsd with the table
    /// installed too, so a takeover is only addresses + ARP.
    pub hot_standby: bool,
    /// `virtual` blocks, in file order.
    pub virtuals: Vec<VirtualServer>,
    /// `failover` blocks (legacy FOS mode), in file order.
    pub failovers: Vec<FailoverService>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            serial_no: 0,
            primary: None,
            primary_private: None,
            primary_shared: None,
            backup: None,
            backup_private: None,
            backup_shared: None,
            backup_active: false,
            service: ServiceKind::Lvs,
            heartbeat: false,
            heartbeat_port: DEFAULT_HEARTBEAT_PORT,
            keepalive: DEFAULT_KEEPALIVE,
            deadtime: DEFAULT_DEADTIME,
            network: Forwarding::Nat,
            nat_router: None,
            nat_nmask: None,
            reservation_conflict_action: None,
            debug_level: DEFAULT_DEBUG_LEVEL.to_owned(),
            monitor_links: false,
            syncdaemon: false,
            syncd_iface: DEFAULT_SYNCD_IFACE.to_owned(),
            syncd_id: 0,
            tcp_timeout: 0,
            tcpfin_timeout: 0,
            udp_timeout: 0,
            hard_shutdown: true,
            active_cmd: None,
            inactive_cmd: None,
            rsh_command: DEFAULT_RSH_COMMAND.to_owned(),
            ipvsadm: DEFAULT_IPVSADM.to_owned(),
            sync: false,
            nanny_mode: NannyMode::Process,
            heartbeat_key_file: None,
            arp_count: DEFAULT_ARP_COUNT,
            arp_interval: DEFAULT_ARP_INTERVAL,
            hot_standby: false,
            virtuals: Vec::new(),
            failovers: Vec::new(),
        }
    }
}

impl Config {
    /// The virtual servers pulse and lvsd actually run (`active = 1`).
    pub fn active_virtuals(&self) -> impl Iterator<Item = &VirtualServer> {
        self.virtuals.iter().filter(|v| v.active)
    }
}

/// One `virtual NAME { … }` block: an IPVS service and its real servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualServer {
    /// Block name (unique among virtuals).
    pub name: String,
    /// `active`: only active virtuals are installed and monitored.
    pub active: bool,
    /// `address = VIP DEVICE`: the VIP and the interface label pulse brings
    /// up. Required for an active virtual, fwmark ones included.
    pub address: Option<InterfaceAddress>,
    /// `vip_nmask`: netmask for bringing up the VIP; `None` = plain ifconfig.
    pub vip_nmask: Option<Netmask>,
    /// `sorry_server`: added with weight 1 while no real server is up.
    pub sorry_server: Option<IpAddr>,
    /// `fwmark`: firewall-mark service (IPVS keyed by mark, VIP still raised).
    pub fwmark: Option<u32>,
    /// `protocol`.
    pub protocol: Protocol,
    /// `port`: the virtual port (also the default port of later servers).
    pub port: u16,
    /// `scheduler`.
    pub scheduler: Scheduler,
    /// `persistent`: persistence timeout in seconds; 0 = not persistent.
    pub persistent: u32,
    /// `pmask`: persistence mask; `None` also for `255.255.255.255`, which
    /// the original converted to "not passed".
    pub pmask: Option<PersistenceMask>,
    /// `send`: string nanny writes after connecting.
    pub send: Option<CheckString>,
    /// `expect`: string (or regex, with `use_regex`) nanny expects back.
    pub expect: Option<CheckString>,
    /// `use_regex`: `expect` is an extended regular expression.
    pub use_regex: bool,
    /// `send_program`: external check command (`%h`, `%p` substituted by
    /// nanny); overrides `send`. Outer quotes removed.
    pub send_program: Option<String>,
    /// `load_monitor`: how nanny reads real-server load; `None` = unset
    /// (nanny's default, no load monitoring).
    pub load_monitor: Option<LoadMonitor>,
    /// `timeout`: nanny's check interval and connect/read timeout.
    pub timeout: Seconds,
    /// `reentry`: time a failed server must stay healthy before re-entry.
    pub reentry: Seconds,
    /// `quiesce_server`: on failure set weight 0 instead of removing.
    pub quiesce_server: bool,
    /// `client_monitor`: program lvsd runs per real server.
    pub client_monitor: String,
    /// `master`: parsed, unused by the original daemons.
    pub master: Option<IpAddr>,
    /// `dirs = [ … ]`: parsed, unused by the original daemons.
    pub dirs: Vec<String>,
    /// `server` blocks, in file order.
    pub servers: Vec<RealServer>,
}

impl VirtualServer {
    /// A virtual with the original defaults and no servers.
    pub fn new(name: impl Into<String>) -> Self {
        VirtualServer {
            name: name.into(),
            active: false,
            address: None,
            vip_nmask: None,
            sorry_server: None,
            fwmark: None,
            protocol: Protocol::Tcp,
            port: DEFAULT_PORT,
            scheduler: Scheduler::Wlc,
            persistent: 0,
            pmask: None,
            send: None,
            expect: None,
            use_regex: false,
            send_program: None,
            load_monitor: None,
            timeout: DEFAULT_TIMEOUT,
            reentry: DEFAULT_REENTRY,
            quiesce_server: false,
            client_monitor: DEFAULT_CLIENT_MONITOR.to_owned(),
            master: None,
            dirs: Vec::new(),
            servers: Vec::new(),
        }
    }

    /// The real servers lvsd starts a monitor for (`active = 1`).
    pub fn active_servers(&self) -> impl Iterator<Item = &RealServer> {
        self.servers.iter().filter(|s| s.active)
    }
}

/// One `server NAME { … }` block inside a `virtual`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RealServer {
    /// Block name (unique within its virtual).
    pub name: String,
    /// `address`: the real server.
    pub address: IpAddr,
    /// `active`: only active servers get a monitor.
    pub active: bool,
    /// `weight`: configured IPVS weight. Never 0: the original behaved as 1.
    pub weight: u32,
    /// `port`: real port; defaults to the virtual's port as parsed up to the
    /// `server` line (original rule).
    pub port: u16,
}

impl RealServer {
    /// A server with the original defaults (inactive, weight 1).
    pub fn new(name: impl Into<String>, address: IpAddr, port: u16) -> Self {
        RealServer {
            name: name.into(),
            address,
            active: false,
            weight: DEFAULT_WEIGHT,
            port,
        }
    }
}

/// One legacy `failover NAME { … }` block (`service = fos`).
///
/// Only the keys the original `fos` daemon used are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailoverService {
    /// Block name (unique among failovers).
    pub name: String,
    /// `active`.
    pub active: bool,
    /// `address = IP DEVICE`.
    pub address: Option<InterfaceAddress>,
    /// `vip_nmask`.
    pub vip_nmask: Option<Netmask>,
    /// `port`.
    pub port: u16,
    /// `protocol`.
    pub protocol: Protocol,
    /// `send`.
    pub send: Option<CheckString>,
    /// `expect`.
    pub expect: Option<CheckString>,
    /// `send_program`.
    pub send_program: Option<String>,
    /// `timeout`.
    pub timeout: Seconds,
    /// `start_cmd`: starts the service (split on single spaces by fos).
    pub start_cmd: Option<String>,
    /// `stop_cmd`: stops the service.
    pub stop_cmd: Option<String>,
}

impl FailoverService {
    /// A failover block with the original defaults.
    pub fn new(name: impl Into<String>) -> Self {
        FailoverService {
            name: name.into(),
            active: false,
            address: None,
            vip_nmask: None,
            port: DEFAULT_PORT,
            protocol: Protocol::Tcp,
            send: None,
            expect: None,
            send_program: None,
            timeout: DEFAULT_TIMEOUT,
            start_cmd: None,
            stop_cmd: None,
        }
    }
}

/// `address = IP DEVICE` (and `nat_router`): an address and the interface
/// label it is brought up on, e.g. `203.0.113.10 eth0:1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceAddress {
    /// The floating address.
    pub addr: IpAddr,
    /// The interface (alias label) pulse brings it up on.
    pub device: String,
}

/// A netmask: dotted IPv4 mask, or a prefix length (IPv6 services).
///
/// Contiguity is not checked, as in the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Netmask {
    /// Dotted IPv4 mask, e.g. `255.255.255.0`.
    V4(Ipv4Addr),
    /// Prefix length (0–128), written as a plain integer (extension).
    Prefix(u8),
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(m) => m.fmt(f),
            Netmask::Prefix(p) => p.fmt(f),
        }
    }
}

/// Persistence mask (`pmask`, ipvsadm `-M`): a v4 netmask or a v6 prefix
/// length.
pub type PersistenceMask = Netmask;

/// A `send` or `expect` value.
///
/// `text` is what goes on (or is expected from) the wire: outer quotes
/// removed and nanny's escapes (`\n \r \t \\ \' \"`) applied. For an
/// `expect` with `use_regex = 1`, `text` is the regular expression exactly
/// as written between the quotes (no escape processing, so `HTTP/1\.1`
/// works).
///
/// `raw` is the value exactly as written in the file, quotes included. The
/// original lvsd handed nanny this raw form with one pair of *double* quotes
/// stripped; single-quoted values reached nanny with their quotes (and were
/// sent with them). [`CheckString::nanny_arg`] reproduces that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckString {
    /// Decoded value.
    pub text: String,
    /// Value as written in the file, quotes included.
    pub raw: String,
}

impl CheckString {
    /// A value from its decoded text, written double-quoted with escapes.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let mut raw = String::with_capacity(text.len() + 2);
        raw.push('"');
        for c in text.chars() {
            match c {
                '\n' => raw.push_str("\\n"),
                '\r' => raw.push_str("\\r"),
                '\t' => raw.push_str("\\t"),
                '\\' => raw.push_str("\\\\"),
                '"' => raw.push_str("\\\""),
                c => raw.push(c),
            }
        }
        raw.push('"');
        CheckString { text, raw }
    }

    /// A regular-expression `expect`, written double-quoted as is.
    ///
    /// The caller must not put a bare `"` or a trailing backslash in it.
    pub fn regex(text: impl Into<String>) -> Self {
        let text = text.into();
        let raw = format!("\"{text}\"");
        CheckString { text, raw }
    }

    /// The argument the original lvsd passed to nanny (`-s`/`-x`): the raw
    /// value with one pair of enclosing double quotes removed; single quotes
    /// and backslashes untouched.
    pub fn nanny_arg(&self) -> &str {
        self.raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(&self.raw)
    }
}

/// `network`: how IPVS forwards to real servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Forwarding {
    /// `nat`: masquerading (ipvsadm `-m`).
    Nat,
    /// `direct`: direct routing / gatewaying (ipvsadm `-g`).
    Direct,
    /// `tunnel`: IP-in-IP tunnelling (ipvsadm `-i`).
    Tunnel,
}

impl Forwarding {
    /// Keyword in lvs.cf.
    pub fn as_str(self) -> &'static str {
        match self {
            Forwarding::Nat => "nat",
            Forwarding::Direct => "direct",
            Forwarding::Tunnel => "tunnel",
        }
    }

    /// Letter of nanny's `-M` option (and ipvsadm's `-m`/`-g`/`-i`).
    pub fn method_letter(self) -> char {
        match self {
            Forwarding::Nat => 'm',
            Forwarding::Direct => 'g',
            Forwarding::Tunnel => 'i',
        }
    }

    /// Parses the lvs.cf keyword.
    pub fn from_keyword(s: &str) -> Option<Self> {
        Some(match s {
            "nat" => Forwarding::Nat,
            "direct" => Forwarding::Direct,
            "tunnel" => Forwarding::Tunnel,
            _ => return None,
        })
    }
}

/// `protocol` of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Protocol {
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `sctp` (extension; IPVS supports it since Linux 2.6.34).
    Sctp,
}

impl Protocol {
    /// Keyword in lvs.cf.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    /// Parses the lvs.cf keyword.
    pub fn from_keyword(s: &str) -> Option<Self> {
        Some(match s {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => return None,
        })
    }
}

/// IPVS scheduler of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Scheduler {
    /// Round robin.
    Rr,
    /// Weighted round robin.
    Wrr,
    /// Least connections.
    Lc,
    /// Weighted least connections (default).
    Wlc,
    /// Locality-based least connections.
    Lblc,
    /// Locality-based least connections with replication.
    Lblcr,
    /// Destination hashing.
    Dh,
    /// Source hashing.
    Sh,
    /// Shortest expected delay (extension).
    Sed,
    /// Never queue (extension).
    Nq,
    /// Weighted failover (extension).
    Fo,
    /// Weighted overflow (extension).
    Ovf,
    /// Maglev hashing (extension).
    Mh,
    /// Weighted random twos choice (extension).
    Twos,
}

impl Scheduler {
    /// Every scheduler, those of piranha 0.8.6 first.
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    /// The kernel's (and ipvsadm's `-s`) name, also the lvs.cf keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
        }
    }

    /// Parses the lvs.cf keyword.
    pub fn from_keyword(s: &str) -> Option<Self> {
        Scheduler::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether piranha 0.8.6 accepted this scheduler.
    pub fn known_to_original(self) -> bool {
        matches!(
            self,
            Scheduler::Rr
                | Scheduler::Wrr
                | Scheduler::Lc
                | Scheduler::Wlc
                | Scheduler::Lblc
                | Scheduler::Lblcr
                | Scheduler::Dh
                | Scheduler::Sh
        )
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `load_monitor`: how nanny learns a real server's load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadMonitor {
    /// `none`: no load monitoring.
    None,
    /// `uptime`: run `rsh_command RIP uptime`.
    Uptime,
    /// `rup` (needs rstatd on the real servers).
    Rup,
    /// `ruptime` (needs rwhod on the real servers).
    Ruptime,
    /// Any other program, run as `PROGRAM RIP`.
    Program(String),
}

impl LoadMonitor {
    /// Keyword (or program) as written in lvs.cf.
    pub fn as_str(&self) -> &str {
        match self {
            LoadMonitor::None => "none",
            LoadMonitor::Uptime => "uptime",
            LoadMonitor::Rup => "rup",
            LoadMonitor::Ruptime => "ruptime",
            LoadMonitor::Program(p) => p,
        }
    }

    /// Parses the lvs.cf value; anything unknown is a program.
    pub fn from_keyword(s: &str) -> Self {
        match s {
            "none" => LoadMonitor::None,
            "uptime" => LoadMonitor::Uptime,
            "rup" => LoadMonitor::Rup,
            "ruptime" => LoadMonitor::Ruptime,
            p => LoadMonitor::Program(p.to_owned()),
        }
    }
}

/// `service`: which kind of blocks pulse runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// `lvs`: the `virtual` blocks through IPVS (default).
    Lvs,
    /// `fos`: the legacy `failover` blocks.
    Fos,
}

impl ServiceKind {
    /// Keyword in lvs.cf.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Lvs => "lvs",
            ServiceKind::Fos => "fos",
        }
    }
}

/// `nanny_mode` (extension): how real servers are health-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NannyMode {
    /// One nanny process per real server, as the original (default).
    Process,
    /// One shared checker for all real servers (reserved).
    Shared,
}

impl NannyMode {
    /// Keyword in lvs.cf.
    pub fn as_str(self) -> &'static str {
        match self {
            NannyMode::Process => "process",
            NannyMode::Shared => "shared",
        }
    }
}

/// Serializes a timer as (fractional) seconds, the unit of the file.
fn ser_secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_piranha() {
        let c = Config::default();
        assert_eq!(c.service, ServiceKind::Lvs);
        assert_eq!(c.heartbeat_port, 539);
        assert_eq!(c.keepalive, Duration::from_secs(2));
        assert_eq!(c.deadtime, Duration::from_secs(5));
        assert!(c.hard_shutdown);
        assert_eq!(c.network, Forwarding::Nat);
        assert_eq!(c.rsh_command, "rsh");
        assert_eq!(c.ipvsadm, "/sbin/ipvsadm");
        assert_eq!(c.syncd_iface, "eth0");
        let v = VirtualServer::new("v");
        assert_eq!(v.port, 80);
        assert_eq!(v.protocol, Protocol::Tcp);
        assert_eq!(v.scheduler, Scheduler::Wlc);
        assert_eq!(v.timeout, Duration::from_secs(10));
        assert_eq!(v.reentry, Duration::from_secs(180));
        assert!(!v.active && !v.quiesce_server && !v.use_regex);
        assert_eq!(v.fwmark, None);
        assert_eq!(v.client_monitor, "/usr/sbin/nanny");
        let r = RealServer::new("r", IpAddr::V4(Ipv4Addr::LOCALHOST), 80);
        assert!(!r.active);
        assert_eq!(r.weight, 1);
    }

    #[test]
    fn scheduler_names_round_trip() {
        for s in Scheduler::ALL {
            assert_eq!(Scheduler::from_keyword(s.as_str()), Some(s));
        }
        assert_eq!(Scheduler::from_keyword("WLC"), None);
    }

    #[test]
    fn check_string_nanny_arg() {
        let s = CheckString::new("GET / HTTP/1.0\r\n\r\n");
        assert_eq!(s.raw, r#""GET / HTTP/1.0\r\n\r\n""#);
        assert_eq!(s.nanny_arg(), r"GET / HTTP/1.0\r\n\r\n");
        let single = CheckString {
            text: "GET".into(),
            raw: "'GET'".into(),
        };
        assert_eq!(single.nanny_arg(), "'GET'");
    }
}
