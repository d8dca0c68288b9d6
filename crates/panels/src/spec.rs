//! The field inventory: every field of every panel, as static data. The
//! labels are the original tool's wording (guide chapter 4, completed from
//! its source); keys it never had are labelled in the same style.

/// Which kind of block a panel's fields live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Global,
    Virtual,
    Server,
    Failover,
}

/// Which part of a key's value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The whole value (one token).
    Whole,
    /// The address of `IP DEVICE`.
    First,
    /// The device of `IP DEVICE`.
    Second,
    /// The block's name (edited by a rename).
    Name,
    /// The items of `dirs = [ … ]`, blank-separated.
    List,
}

/// What a field's text means: how it is checked and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// IP address or host name, not the unspecified address.
    Host,
    /// IP address or host name, the unspecified address allowed.
    HostOrAny,
    /// IP address literal, not the unspecified address.
    Ip,
    /// Interface (alias label).
    Device,
    /// Netmask (dotted, or an IPv6 prefix length).
    Netmask,
    /// Port number or service name.
    Port,
    /// Integer in a range.
    Int(i64, i64),
    /// Seconds, to the millisecond, above 0.
    Timer,
    /// 0 or 1.
    Bool,
    /// One of a set of keywords.
    Choice(Opts),
    /// Free text on one line.
    Text,
    /// `send` / `expect`: text on one line, nanny's escapes as written.
    Check,
    /// A block name.
    Name,
    /// Blank-separated list.
    Dirs,
}

/// The option sets of [`Ty::Choice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opts {
    Network,
    Service,
    Protocol,
    Scheduler,
    LoadMonitor,
    NannyMode,
    ReservationConflict,
    YesNo,
}

/// One field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub name: &'static str,
    /// The lvs.cf key (`""` for [`Part::Name`]).
    pub key: &'static str,
    pub part: Part,
    pub ty: Ty,
    pub label: &'static str,
    pub help: &'static str,
    pub section: &'static str,
    /// What the key means when absent (shown for a blank field, and the
    /// value of a checkbox, radio or select without a blank choice).
    pub default: Option<&'static str>,
    pub required: bool,
    pub read_only: bool,
    /// The lvscf extension id a router running piranha 0.8.6 rejects.
    pub extension: Option<&'static str>,
    /// Show a choice as radio buttons rather than a drop-down.
    pub radio: bool,
}

const fn f(
    name: &'static str,
    key: &'static str,
    ty: Ty,
    label: &'static str,
    help: &'static str,
) -> Spec {
    Spec {
        name,
        key,
        part: Part::Whole,
        ty,
        label,
        help,
        section: "",
        default: None,
        required: false,
        read_only: false,
        extension: None,
        radio: false,
    }
}

impl Spec {
    const fn sec(mut self, s: &'static str) -> Spec {
        self.section = s;
        self
    }
    const fn def(mut self, d: &'static str) -> Spec {
        self.default = Some(d);
        self
    }
    const fn part(mut self, p: Part) -> Spec {
        self.part = p;
        self
    }
    const fn required(mut self) -> Spec {
        self.required = true;
        self
    }
    const fn read_only(mut self) -> Spec {
        self.read_only = true;
        self
    }
    const fn ext(mut self, id: &'static str) -> Spec {
        self.extension = Some(id);
        self
    }
    const fn radio(mut self) -> Spec {
        self.radio = true;
        self
    }
}

const U32: i64 = u32::MAX as i64;

const PRIMARY: &str = "Primary server";
const NETWORK: &str = "Network";
const IPVS: &str = "IPVS and monitors";
const COMMANDS: &str = "Programs run as root";
const LEGACY: &str = "Legacy (unused by the daemons, or failover mode only)";

/// GLOBAL SETTINGS.
pub(crate) const GLOBAL: &[Spec] = &[
    f(
        "serial_no",
        "serial_no",
        Ty::Int(i64::MIN, i64::MAX),
        "Serial number",
        "Counts the saves of this file; the daemons do not use it. Read-only here.",
    )
    .sec(PRIMARY)
    .def("0")
    .read_only(),
    f(
        "primary",
        "primary",
        Ty::Host,
        "Primary server public IP",
        "The publicly routable real IP address of the primary LVS router.",
    )
    .sec(PRIMARY),
    f(
        "primary_private",
        "primary_private",
        Ty::Host,
        "Primary server private IP",
        "The real IP address of another interface of the primary, used only as a second \
         heartbeat channel. Blank: no second channel, a single point of failure. Not needed \
         for direct routing.",
    )
    .sec(PRIMARY),
    f(
        "network",
        "network",
        Ty::Choice(Opts::Network),
        "Use network type",
        "How IPVS forwards to the real servers.",
    )
    .sec(NETWORK)
    .def("nat")
    .radio(),
    f(
        "nat_router",
        "nat_router",
        Ty::Host,
        "NAT Router IP",
        "The private floating IP the real servers use as their gateway (NAT only).",
    )
    .sec(NETWORK)
    .part(Part::First),
    f(
        "nat_nmask",
        "nat_nmask",
        Ty::Netmask,
        "NAT Router netmask",
        "The netmask of the NAT router's floating IP, if it needs a particular one.",
    )
    .sec(NETWORK),
    f(
        "nat_router_device",
        "nat_router",
        Ty::Device,
        "NAT Router device",
        "The interface alias of the floating IP on the private network, e.g. eth1:1.",
    )
    .sec(NETWORK)
    .part(Part::Second),
    f(
        "tcp_timeout",
        "tcp_timeout",
        Ty::Int(0, U32),
        "TCP timeout (seconds)",
        "IPVS timeout of established TCP connections (ipvsadm --set); 0 leaves the kernel's value.",
    )
    .sec(IPVS)
    .def("0"),
    f(
        "tcpfin_timeout",
        "tcpfin_timeout",
        Ty::Int(0, U32),
        "TCP FIN timeout (seconds)",
        "IPVS timeout of TCP connections after a FIN; 0 leaves the kernel's value.",
    )
    .sec(IPVS)
    .def("0"),
    f(
        "udp_timeout",
        "udp_timeout",
        Ty::Int(0, U32),
        "UDP timeout (seconds)",
        "IPVS timeout of UDP flows; 0 leaves the kernel's value.",
    )
    .sec(IPVS)
    .def("0"),
    f(
        "hard_shutdown",
        "hard_shutdown",
        Ty::Bool,
        "Stop LVS when a monitor dies",
        "When a nanny dies: on, lvsd stops (and the backup takes over); off, lvsd logs that \
         manual action is needed.",
    )
    .sec(IPVS)
    .def("1"),
    f(
        "nanny_mode",
        "nanny_mode",
        Ty::Choice(Opts::NannyMode),
        "Health-check processes",
        "One nanny per real server (as the original), or one shared checker.",
    )
    .sec(IPVS)
    .def("process")
    .ext("nanny-mode"),
    f(
        "active_cmd",
        "active_cmd",
        Ty::Text,
        "Command on becoming active",
        "Run by pulse when this router takes over (and on each resend of the ARPs). The \
         whole field is the command line, arguments included.",
    )
    .sec(COMMANDS),
    f(
        "inactive_cmd",
        "inactive_cmd",
        Ty::Text,
        "Command on becoming inactive",
        "Run by pulse at start and whenever this router stops being active.",
    )
    .sec(COMMANDS),
    f(
        "rsh_command",
        "rsh_command",
        Ty::Text,
        "Remote shell (rsh/ssh)",
        "The command that runs uptime on a real server for the load monitoring tool \"uptime\".",
    )
    .sec(COMMANDS)
    .def("rsh"),
    f(
        "ipvsadm",
        "ipvsadm",
        Ty::Text,
        "ipvsadm program",
        "The path of ipvsadm.",
    )
    .sec(COMMANDS)
    .def("/sbin/ipvsadm"),
    f(
        "service",
        "service",
        Ty::Choice(Opts::Service),
        "LVS type",
        "lvs runs the virtual servers through IPVS; fos runs the legacy failover services instead.",
    )
    .sec(LEGACY)
    .def("lvs")
    .radio(),
    f(
        "heartbeat",
        "heartbeat",
        Ty::Bool,
        "Heartbeat",
        "Read but not used: heartbeats follow the backup setting on REDUNDANCY.",
    )
    .sec(LEGACY)
    .def("0"),
    f(
        "debug_level",
        "debug_level",
        Ty::Text,
        "Debug level",
        "Read but not used by the daemons (the original offered NONE and MAX).",
    )
    .sec(LEGACY)
    .def("NONE"),
    f(
        "sync",
        "sync",
        Ty::Bool,
        "File sync",
        "Read but not used (an old file-copy feature).",
    )
    .sec(LEGACY)
    .def("0"),
    f(
        "primary_shared",
        "primary_shared",
        Ty::Text,
        "Primary shared device",
        "Shared SCSI device of the primary (failover mode only).",
    )
    .sec(LEGACY),
    f(
        "backup_shared",
        "backup_shared",
        Ty::Text,
        "Backup shared device",
        "Shared SCSI device of the backup (failover mode only).",
    )
    .sec(LEGACY),
    f(
        "reservation_conflict_action",
        "reservation_conflict_action",
        Ty::Choice(Opts::ReservationConflict),
        "Reservation conflict action",
        "What to do on a shared SCSI reservation conflict (failover mode only).",
    )
    .sec(LEGACY),
];

const BACKUP: &str = "Backup router";
const HEARTBEAT: &str = "Heartbeat";
const SYNCD: &str = "Connection sync daemon";
const TAKEOVER: &str = "Takeover";

/// REDUNDANCY.
pub(crate) const REDUNDANCY: &[Spec] = &[
    f(
        "backup_active",
        "backup_active",
        Ty::Bool,
        "Backup",
        "Whether a backup router exists; heartbeats are sent only then. Changed with ENABLE \
         and DISABLE.",
    )
    .sec(BACKUP)
    .def("0")
    .read_only(),
    f(
        "backup",
        "backup",
        Ty::HostOrAny,
        "Redundant server public IP",
        "The public real IP address of the backup LVS router.",
    )
    .sec(BACKUP),
    f(
        "backup_private",
        "backup_private",
        Ty::Host,
        "Redundant server private IP",
        "The backup's private real IP address. Used only when Primary server private IP is \
         set on GLOBAL SETTINGS.",
    )
    .sec(BACKUP),
    f(
        "keepalive",
        "keepalive",
        Ty::Timer,
        "Heartbeat Interval (seconds)",
        "Time between two heartbeats, with which the backup checks the primary.",
    )
    .sec(HEARTBEAT)
    .def("2"),
    f(
        "deadtime",
        "deadtime",
        Ty::Timer,
        "Assume dead after (seconds)",
        "If the primary does not answer for this long, the backup takes over.",
    )
    .sec(HEARTBEAT)
    .def("5"),
    f(
        "heartbeat_port",
        "heartbeat_port",
        Ty::Port,
        "Heartbeat runs on port",
        "UDP port of the heartbeat. Blank: 539.",
    )
    .sec(HEARTBEAT)
    .def("539"),
    f(
        "monitor_links",
        "monitor_links",
        Ty::Bool,
        "Monitor NIC links for failures",
        "Take over when a link that carries a floating address goes down (needs a backup).",
    )
    .sec(HEARTBEAT)
    .def("0"),
    f(
        "heartbeat_key_file",
        "heartbeat_key_file",
        Ty::Text,
        "Heartbeat key file",
        "File holding the shared key that authenticates heartbeats (HMAC-SHA256); the same \
         key on both routers. Blank: plain heartbeats, as the original.",
    )
    .sec(HEARTBEAT)
    .ext("heartbeat-auth"),
    f(
        "syncdaemon",
        "syncdaemon",
        Ty::Bool,
        "Use sync daemon",
        "Run the IPVS connection synchronisation daemon, so established connections survive \
         a takeover.",
    )
    .sec(SYNCD)
    .def("0"),
    f(
        "syncd_iface",
        "syncd_iface",
        Ty::Device,
        "Sync daemon interface",
        "Interface of the sync daemon's multicast.",
    )
    .sec(SYNCD)
    .def("eth0"),
    f(
        "syncd_id",
        "syncd_id",
        Ty::Int(0, 255),
        "Sync daemon id",
        "Sync id (0-255), the same on both routers.",
    )
    .sec(SYNCD)
    .def("0"),
    f(
        "arp_count",
        "arp_count",
        Ty::Int(1, 100),
        "Gratuitous ARPs per address",
        "How many announcements each floating address gets on a takeover.",
    )
    .sec(TAKEOVER)
    .def("5")
    .ext("arp-schedule"),
    f(
        "arp_interval",
        "arp_interval",
        Ty::Timer,
        "Seconds between ARPs",
        "Time between two announcements of an address.",
    )
    .sec(TAKEOVER)
    .def("1")
    .ext("arp-schedule"),
    f(
        "hot_standby",
        "hot_standby",
        Ty::Bool,
        "Hot standby",
        "The backup keeps the IPVS table installed too, so a takeover is only addresses and ARP.",
    )
    .sec(TAKEOVER)
    .def("0")
    .ext("hot-standby"),
];

const VS: &str = "Virtual server";
const LATER: &str = "More settings";
const UNUSED: &str = "Legacy (unused by the daemons)";

/// VIRTUAL SERVER.
pub(crate) const VIRTUAL: &[Spec] = &[
    f(
        "name",
        "",
        Ty::Name,
        "Name",
        "A descriptive name for the virtual server (not a host name).",
    )
    .sec(VS)
    .part(Part::Name)
    .required(),
    f(
        "port",
        "port",
        Ty::Port,
        "Application port",
        "The port the service listens on (a number, or a name from /etc/services). Also the \
         port of the real servers declared after it.",
    )
    .sec(VS)
    .def("80"),
    f(
        "protocol",
        "protocol",
        Ty::Choice(Opts::Protocol),
        "Protocol",
        "TCP or UDP (web servers use TCP).",
    )
    .sec(VS)
    .def("tcp"),
    f(
        "address",
        "address",
        Ty::Host,
        "Virtual IP Address",
        "The virtual server's floating IP address.",
    )
    .sec(VS)
    .part(Part::First),
    f(
        "vip_nmask",
        "vip_nmask",
        Ty::Netmask,
        "Virtual IP Network Mask",
        "The netmask of the virtual IP address.",
    )
    .sec(VS),
    f(
        "fwmark",
        "fwmark",
        Ty::Int(0, U32),
        "Firewall Mark",
        "Only to bundle several ports into one service: the iptables MARK value. The MARK rules \
         themselves are made outside this tool. Set a persistence too.",
    )
    .sec(VS),
    f(
        "device",
        "address",
        Ty::Device,
        "Device",
        "The interface alias the virtual IP is brought up on, e.g. eth0:1 on the public interface.",
    )
    .sec(VS)
    .part(Part::Second),
    f(
        "reentry",
        "reentry",
        Ty::Timer,
        "Re-entry Time",
        "Seconds a failed real server must answer again before it returns to the pool.",
    )
    .sec(VS)
    .def("180"),
    f(
        "timeout",
        "timeout",
        Ty::Timer,
        "Service Timeout",
        "Seconds between two checks of a real server, and how long a check may take before \
         the server is taken out of the pool.",
    )
    .sec(VS)
    .def("10"),
    f(
        "quiesce_server",
        "quiesce_server",
        Ty::Bool,
        "Quiesce server",
        "Yes: a failed server gets weight 0 (its connections drain) instead of being removed, \
         and a returning one does not flood the others.",
    )
    .sec(VS)
    .def("0")
    .radio(),
    f(
        "load_monitor",
        "load_monitor",
        Ty::Choice(Opts::LoadMonitor),
        "Load monitoring tool",
        "Read the real servers' load: rup needs rstatd on them, ruptime needs rwhod, uptime \
         uses the remote shell of GLOBAL SETTINGS. Not load balancing: weights become hard to \
         predict.",
    )
    .sec(VS),
    f(
        "scheduler",
        "scheduler",
        Ty::Choice(Opts::Scheduler),
        "Scheduling",
        "The IPVS scheduling algorithm.",
    )
    .sec(VS)
    .def("wlc"),
    f(
        "persistent",
        "persistent",
        Ty::Int(0, U32),
        "Persistence",
        "Seconds a client stays with the same real server after its last connection; 0: no \
         persistence.",
    )
    .sec(VS)
    .def("0"),
    f(
        "pmask",
        "pmask",
        Ty::Netmask,
        "Persistence Network Mask",
        "Limit persistence to clients of the same subnet of this mask.",
    )
    .sec(VS),
    f(
        "active",
        "active",
        Ty::Bool,
        "Active",
        "Only active virtual servers are installed and monitored (the list's (DE)ACTIVATE).",
    )
    .sec(LATER)
    .def("0"),
    f(
        "sorry_server",
        "sorry_server",
        Ty::Ip,
        "Sorry server",
        "An IP address that gets the traffic (weight 1) while no real server is up.",
    )
    .sec(LATER),
    f(
        "client_monitor",
        "client_monitor",
        Ty::Text,
        "Monitor program",
        "The program lvsd runs for each real server.",
    )
    .sec(LATER)
    .def("/usr/sbin/nanny"),
    f(
        "master",
        "master",
        Ty::HostOrAny,
        "Master",
        "Read but not used.",
    )
    .sec(UNUSED),
    f(
        "dirs",
        "dirs",
        Ty::Dirs,
        "Directories",
        "Read but not used; blank-separated.",
    )
    .sec(UNUSED)
    .part(Part::List),
];

const SCRIPTS: &str = "Monitoring scripts";

/// EDIT MONITORING SCRIPTS.
pub(crate) const MONITORING: &[Spec] = &[
    f(
        "send_program",
        "send_program",
        Ty::Text,
        "Sending Program",
        "A check program to run instead of Send; %h is replaced by the real server's IP \
         address, %p by its port. Its output is compared with Expect.",
    )
    .sec(SCRIPTS),
    f(
        "send",
        "send",
        Ty::Check,
        "Send",
        "The string sent to each real server (printable ASCII, and \\n \\r \\t \\\\). Blank: \
         connecting is the check.",
    )
    .sec(SCRIPTS),
    f(
        "expect",
        "expect",
        Ty::Check,
        "Expect",
        "The reply of a working server, or the sending program's output on success.",
    )
    .sec(SCRIPTS),
    f(
        "use_regex",
        "use_regex",
        Ty::Bool,
        "Expect is a regular expression",
        "Match Expect as an extended regular expression.",
    )
    .sec(SCRIPTS)
    .def("0"),
];

const RS: &str = "Real server";

/// EDIT REAL SERVER.
pub(crate) const REAL: &[Spec] = &[
    f(
        "name",
        "",
        Ty::Name,
        "Name",
        "A descriptive name for the real server (not a host name).",
    )
    .sec(RS)
    .part(Part::Name)
    .required(),
    f(
        "address",
        "address",
        Ty::Host,
        "Address",
        "The real server's IP address, without a port.",
    )
    .sec(RS)
    .required(),
    f(
        "weight",
        "weight",
        Ty::Int(1, 65535),
        "Weight",
        "This server's capacity relative to the others in the pool.",
    )
    .sec(RS)
    .def("1"),
    f(
        "port",
        "port",
        Ty::Port,
        "Port",
        "The real server's port. Blank: the virtual server's port.",
    )
    .sec(RS),
    f(
        "active",
        "active",
        Ty::Bool,
        "Active",
        "Only active real servers are monitored and enter the table (the list's (DE)ACTIVATE).",
    )
    .sec(RS)
    .def("0"),
];

const FOS: &str = "Failover service";

/// One `failover` block.
pub(crate) const FAILOVER: &[Spec] = &[
    f(
        "name",
        "",
        Ty::Name,
        "Name",
        "A descriptive name for the service.",
    )
    .sec(FOS)
    .part(Part::Name)
    .required(),
    f(
        "active",
        "active",
        Ty::Bool,
        "Active",
        "Only active services are run.",
    )
    .sec(FOS)
    .def("0"),
    f(
        "address",
        "address",
        Ty::Host,
        "IP Address",
        "The service's floating IP address.",
    )
    .sec(FOS)
    .part(Part::First),
    f(
        "device",
        "address",
        Ty::Device,
        "Device",
        "The interface alias the address is brought up on.",
    )
    .sec(FOS)
    .part(Part::Second),
    f(
        "vip_nmask",
        "vip_nmask",
        Ty::Netmask,
        "Network Mask",
        "The netmask of the floating address.",
    )
    .sec(FOS),
    f(
        "port",
        "port",
        Ty::Port,
        "Application port",
        "The port checked.",
    )
    .sec(FOS)
    .def("80"),
    f(
        "protocol",
        "protocol",
        Ty::Choice(Opts::Protocol),
        "Protocol",
        "TCP or UDP.",
    )
    .sec(FOS)
    .def("tcp"),
    f(
        "timeout",
        "timeout",
        Ty::Timer,
        "Service Timeout",
        "Seconds between checks, and how long one may take.",
    )
    .sec(FOS)
    .def("10"),
    f(
        "send_program",
        "send_program",
        Ty::Text,
        "Sending Program",
        "A check program to run instead of Send.",
    )
    .sec(FOS),
    f("send", "send", Ty::Check, "Send", "The string sent.").sec(FOS),
    f(
        "expect",
        "expect",
        Ty::Check,
        "Expect",
        "The expected reply.",
    )
    .sec(FOS),
    f(
        "start_cmd",
        "start_cmd",
        Ty::Text,
        "Start command",
        "Starts the service on the router that takes over.",
    )
    .sec(FOS),
    f(
        "stop_cmd",
        "stop_cmd",
        Ty::Text,
        "Stop command",
        "Stops the service.",
    )
    .sec(FOS),
];

/// The specs of the panels that hold the keys of a scope, with the
/// panel each belongs to (`false` = the first of the two panels).
pub(crate) fn specs_of(scope: Scope) -> impl Iterator<Item = (bool, &'static Spec)> {
    let (a, b): (&[Spec], &[Spec]) = match scope {
        Scope::Global => (GLOBAL, REDUNDANCY),
        Scope::Virtual => (VIRTUAL, MONITORING),
        Scope::Server => (REAL, &[]),
        Scope::Failover => (FAILOVER, &[]),
    };
    a.iter()
        .map(|s| (false, s))
        .chain(b.iter().map(|s| (true, s)))
}
