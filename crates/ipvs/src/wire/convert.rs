//! Model ↔ attribute conversions: one `*_attrs` emitter and one `*_from_attrs`
//! parser per message kind (service, destination, daemon, config, info, stats).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::DecodeError;
use super::attrs::{CmdAttr, DaemonAttr, DestAttr, InfoAttr, StatsAttr, SvcAttr};
use super::msg::IpvsMessage;
use crate::model::*;
use crate::uapi::*;

/// Address bytes as ipvsadm and keepalived send them: the whole 16-byte
/// `union nf_inet_addr`, IPv4 in the first 4 bytes.
pub fn addr_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => {
            let mut b = vec![0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// An address of family `af` from 4 or 16 bytes.
pub fn addr_from(af: AddressFamily, bytes: &[u8]) -> Result<IpAddr, DecodeError> {
    match af {
        AddressFamily::Inet => bytes
            .get(..4)
            .map(|b| IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
            .ok_or_else(|| DecodeError::new("IPv4 address shorter than 4 bytes")),
        AddressFamily::Inet6 => <[u8; 16]>::try_from(bytes)
            .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
            .map_err(|_| DecodeError::new("IPv6 address not 16 bytes")),
    }
}

fn family(af: u16) -> Result<AddressFamily, DecodeError> {
    AddressFamily::from_raw(af)
        .ok_or_else(|| DecodeError::new(format!("unknown address family {af}")))
}

/// The `NETMASK` payload: v4 mask bytes, or a v6 prefix as host u32.
pub fn netmask_bytes(netmask: Netmask) -> [u8; 4] {
    match netmask {
        Netmask::V4(m) => m.octets(),
        Netmask::V6Prefix(p) => u32::from(p).to_ne_bytes(),
    }
}

/// Read a `NETMASK` payload for a service of family `af`.  A v6 prefix that
/// does not fit a `u8` is reported as 0 (the kernel rejects it on input anyway).
pub fn netmask_from(af: AddressFamily, b: [u8; 4]) -> Netmask {
    match af {
        AddressFamily::Inet => Netmask::V4(Ipv4Addr::from(b)),
        AddressFamily::Inet6 => Netmask::V6Prefix(u8::try_from(u32::from_ne_bytes(b)).unwrap_or(0)),
    }
}

/// Identity attributes of a service (enough for DEL/ZERO/GET_DEST/dest commands).
pub fn service_key_attrs(key: &ServiceKey) -> Vec<SvcAttr> {
    match *key {
        ServiceKey::Fwmark { af, mark } => vec![SvcAttr::Af(af.to_raw()), SvcAttr::Fwmark(mark)],
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => vec![
            SvcAttr::Af(AddressFamily::of(addr).to_raw()),
            SvcAttr::Protocol(protocol.to_raw()),
            SvcAttr::Addr(addr_bytes(addr)),
            SvcAttr::Port(port),
        ],
    }
}

/// Full service attributes for `NEW_SERVICE`/`SET_SERVICE`: the kernel wants
/// scheduler, flags, timeout and netmask even for a non-persistent service.
pub fn service_attrs(svc: &Service) -> Vec<SvcAttr> {
    let mut a = service_key_attrs(&svc.key);
    a.push(SvcAttr::SchedName(svc.scheduler.name().to_owned()));
    if let Some(pe) = &svc.pe_name {
        a.push(SvcAttr::PeName(pe.clone()));
    }
    let mut flags = svc.flags.bits();
    if svc.persistence.is_some() {
        flags |= IP_VS_SVC_F_PERSISTENT;
    }
    // Mask all ones: the flags sent are the service's whole flag word.
    a.push(SvcAttr::Flags {
        flags,
        mask: u32::MAX,
    });
    let (timeout, netmask) = match svc.persistence {
        Some(p) => (p.timeout, p.netmask),
        None => (0, Netmask::default_for(svc.key.af())),
    };
    a.push(SvcAttr::Timeout(timeout));
    a.push(SvcAttr::Netmask(netmask_bytes(netmask)));
    a
}

/// Counters from a `STATS` or `STATS64` nest.
pub fn stats_from_attrs(attrs: &[StatsAttr]) -> Stats {
    let mut s = Stats::default();
    for a in attrs {
        if let StatsAttr::Counter(id, v) = a {
            let v = v.get();
            match *id {
                IPVS_STATS_ATTR_CONNS => s.conns = v,
                IPVS_STATS_ATTR_INPKTS => s.inpkts = v,
                IPVS_STATS_ATTR_OUTPKTS => s.outpkts = v,
                IPVS_STATS_ATTR_INBYTES => s.inbytes = v,
                IPVS_STATS_ATTR_OUTBYTES => s.outbytes = v,
                IPVS_STATS_ATTR_CPS => s.cps = v,
                IPVS_STATS_ATTR_INPPS => s.inpps = v,
                IPVS_STATS_ATTR_OUTPPS => s.outpps = v,
                IPVS_STATS_ATTR_INBPS => s.inbps = v,
                IPVS_STATS_ATTR_OUTBPS => s.outbps = v,
                _ => {}
            }
        }
    }
    s
}

/// A `STATS64` nest for `s` (as the kernel emits it on x86-64: no PAD).
pub fn stats64_attrs(s: &Stats) -> Vec<StatsAttr> {
    use super::attrs::Counter::U64;
    [
        (IPVS_STATS_ATTR_CONNS, s.conns),
        (IPVS_STATS_ATTR_INPKTS, s.inpkts),
        (IPVS_STATS_ATTR_OUTPKTS, s.outpkts),
        (IPVS_STATS_ATTR_INBYTES, s.inbytes),
        (IPVS_STATS_ATTR_OUTBYTES, s.outbytes),
        (IPVS_STATS_ATTR_CPS, s.cps),
        (IPVS_STATS_ATTR_INPPS, s.inpps),
        (IPVS_STATS_ATTR_OUTPPS, s.outpps),
        (IPVS_STATS_ATTR_INBPS, s.inbps),
        (IPVS_STATS_ATTR_OUTBPS, s.outbps),
    ]
    .into_iter()
    .map(|(id, v)| StatsAttr::Counter(id, U64(v)))
    .collect()
}

/// A service (and its counters) from a reply's `IPVS_CMD_ATTR_SERVICE` nest.
pub fn service_from_attrs(attrs: &[SvcAttr]) -> Result<(Service, Stats), DecodeError> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut pe, mut flags, mut timeout, mut netmask) = (None, None, None, 0, None);
    let (mut stats32, mut stats64) = (None, None);
    for a in attrs {
        match a {
            SvcAttr::Af(v) => af = Some(*v),
            SvcAttr::Protocol(v) => proto = Some(*v),
            SvcAttr::Addr(v) => addr = Some(v.as_slice()),
            SvcAttr::Port(v) => port = Some(*v),
            SvcAttr::Fwmark(v) => fwmark = Some(*v),
            SvcAttr::SchedName(s) => sched = Some(s.as_str()),
            SvcAttr::PeName(s) => pe = Some(s.clone()),
            SvcAttr::Flags { flags: f, mask } => flags = Some(f & mask),
            SvcAttr::Timeout(v) => timeout = *v,
            SvcAttr::Netmask(b) => netmask = Some(*b),
            SvcAttr::Stats(s) => stats32 = Some(s.as_slice()),
            SvcAttr::Stats64(s) => stats64 = Some(s.as_slice()),
            SvcAttr::Other(_) => {}
        }
    }
    let af = family(af.ok_or_else(|| DecodeError::new("service without AF"))?)?;
    let key = match fwmark {
        Some(mark) => ServiceKey::Fwmark { af, mark },
        None => ServiceKey::Addr {
            protocol: Protocol::from_raw(
                proto.ok_or_else(|| DecodeError::new("service without PROTOCOL"))?,
            ),
            addr: addr_from(
                af,
                addr.ok_or_else(|| DecodeError::new("service without ADDR"))?,
            )?,
            port: port.ok_or_else(|| DecodeError::new("service without PORT"))?,
        },
    };
    let flags = flags.unwrap_or(0);
    let persistence = (flags & IP_VS_SVC_F_PERSISTENT != 0).then(|| Persistence {
        timeout,
        netmask: netmask.map_or(Netmask::default_for(af), |b| netmask_from(af, b)),
    });
    let service = Service {
        key,
        scheduler: Scheduler::new(sched.unwrap_or("none")),
        flags: ServiceFlags::from_kernel(flags),
        persistence,
        pe_name: pe,
    };
    let stats = stats64
        .or(stats32)
        .map(stats_from_attrs)
        .unwrap_or_default();
    Ok((service, stats))
}

/// Identity attributes of a destination (for `DEL_DEST`).
pub fn dest_key_attrs(key: &DestinationKey) -> Vec<DestAttr> {
    vec![
        DestAttr::AddrFamily(AddressFamily::of(key.addr).to_raw()),
        DestAttr::Addr(addr_bytes(key.addr)),
        DestAttr::Port(key.port),
    ]
}

/// Full destination attributes for `NEW_DEST`/`SET_DEST`.  Tunnel
/// parameters are sent only for tunnel forwarding (kernels before 5.2 do
/// not know them; they ignore unknown attributes anyway).
pub fn dest_attrs(d: &Destination) -> Vec<DestAttr> {
    let mut a = dest_key_attrs(&d.key());
    a.push(DestAttr::FwdMethod(d.forwarding.to_raw()));
    a.push(DestAttr::Weight(d.weight));
    if let Forwarding::Tunnel(t) = d.forwarding {
        a.push(DestAttr::TunType(t.tun_type.to_raw()));
        a.push(DestAttr::TunPort(t.port));
        a.push(DestAttr::TunFlags(t.flags.0));
    }
    a.push(DestAttr::UThresh(d.upper_threshold));
    a.push(DestAttr::LThresh(d.lower_threshold));
    a
}

/// A destination from a reply's `IPVS_CMD_ATTR_DEST` nest; `service_af` is
/// used when the kernel omits `ADDR_FAMILY` (before 3.18).
pub fn dest_from_attrs(
    attrs: &[DestAttr],
    service_af: AddressFamily,
) -> Result<DestinationEntry, DecodeError> {
    let (mut addr, mut port, mut fwd, mut af) = (None, None, None, None);
    let (mut weight, mut uth, mut lth, mut act, mut inact, mut pers) = (0, 0, 0, 0, 0, 0);
    let (mut tun_type, mut tun_port, mut tun_flags) = (0, 0, 0);
    let (mut stats32, mut stats64) = (None, None);
    for a in attrs {
        match a {
            DestAttr::Addr(v) => addr = Some(v.as_slice()),
            DestAttr::Port(v) => port = Some(*v),
            DestAttr::FwdMethod(v) => fwd = Some(*v),
            DestAttr::Weight(v) => weight = *v,
            DestAttr::UThresh(v) => uth = *v,
            DestAttr::LThresh(v) => lth = *v,
            DestAttr::ActiveConns(v) => act = *v,
            DestAttr::InactConns(v) => inact = *v,
            DestAttr::PersistConns(v) => pers = *v,
            DestAttr::Stats(s) => stats32 = Some(s.as_slice()),
            DestAttr::AddrFamily(v) => af = Some(*v),
            DestAttr::Stats64(s) => stats64 = Some(s.as_slice()),
            DestAttr::TunType(v) => tun_type = *v,
            DestAttr::TunPort(v) => tun_port = *v,
            DestAttr::TunFlags(v) => tun_flags = *v,
            DestAttr::Other(_) => {}
        }
    }
    let af = match af {
        Some(0) | None => service_af,
        Some(v) => family(v)?,
    };
    let forwarding = match fwd.ok_or_else(|| DecodeError::new("destination without FWD_METHOD"))?
        & IP_VS_CONN_F_FWD_MASK
    {
        IP_VS_CONN_F_MASQ => Forwarding::Masq,
        IP_VS_CONN_F_LOCALNODE => Forwarding::Local,
        IP_VS_CONN_F_DROUTE => Forwarding::DirectRoute,
        IP_VS_CONN_F_TUNNEL => Forwarding::Tunnel(Tunnel {
            tun_type: TunnelType::from_raw(tun_type),
            port: tun_port,
            flags: TunnelFlags(tun_flags),
        }),
        other => Forwarding::Other(other),
    };
    let destination = Destination {
        addr: addr_from(
            af,
            addr.ok_or_else(|| DecodeError::new("destination without ADDR"))?,
        )?,
        port: port.ok_or_else(|| DecodeError::new("destination without PORT"))?,
        forwarding,
        weight,
        upper_threshold: uth,
        lower_threshold: lth,
    };
    Ok(DestinationEntry {
        destination,
        active_conns: act,
        inactive_conns: inact,
        persist_conns: pers,
        stats: stats64
            .or(stats32)
            .map(stats_from_attrs)
            .unwrap_or_default(),
    })
}

/// Daemon attributes for `NEW_DAEMON`.
pub fn daemon_attrs(d: &SyncDaemon) -> Vec<DaemonAttr> {
    let mut a = vec![
        DaemonAttr::State(d.state.to_raw()),
        DaemonAttr::McastIfn(d.mcast_ifn.clone()),
        DaemonAttr::SyncId(d.syncid),
    ];
    if let Some(v) = d.sync_maxlen {
        a.push(DaemonAttr::SyncMaxlen(v));
    }
    match d.mcast_group {
        Some(IpAddr::V4(g)) => a.push(DaemonAttr::McastGroup(g.octets())),
        Some(IpAddr::V6(g)) => a.push(DaemonAttr::McastGroup6(g.octets())),
        None => {}
    }
    if let Some(v) = d.mcast_port {
        a.push(DaemonAttr::McastPort(v));
    }
    if let Some(v) = d.mcast_ttl {
        a.push(DaemonAttr::McastTtl(v));
    }
    a
}

/// A daemon from a `GET_DAEMON` reply nest.
pub fn daemon_from_attrs(attrs: &[DaemonAttr]) -> Result<SyncDaemon, DecodeError> {
    let mut d = SyncDaemon::new(DaemonState::Master, "", 0);
    let mut state = None;
    for a in attrs {
        match a {
            DaemonAttr::State(v) => state = Some(*v),
            DaemonAttr::McastIfn(s) => d.mcast_ifn = s.clone(),
            DaemonAttr::SyncId(v) => d.syncid = *v,
            DaemonAttr::SyncMaxlen(v) => d.sync_maxlen = Some(*v),
            DaemonAttr::McastGroup(b) => d.mcast_group = Some(IpAddr::V4(Ipv4Addr::from(*b))),
            DaemonAttr::McastGroup6(b) => d.mcast_group = Some(IpAddr::V6(Ipv6Addr::from(*b))),
            DaemonAttr::McastPort(v) => d.mcast_port = Some(*v),
            DaemonAttr::McastTtl(v) => d.mcast_ttl = Some(*v),
            DaemonAttr::Other(_) => {}
        }
    }
    d.state = match state {
        Some(IP_VS_STATE_MASTER) => DaemonState::Master,
        Some(IP_VS_STATE_BACKUP) => DaemonState::Backup,
        other => return Err(DecodeError::new(format!("daemon state {other:?}"))),
    };
    Ok(d)
}

/// `SET_CONFIG` attributes.
pub fn timeouts_attrs(t: &Timeouts) -> Vec<CmdAttr> {
    vec![
        CmdAttr::TimeoutTcp(t.tcp),
        CmdAttr::TimeoutTcpFin(t.tcp_fin),
        CmdAttr::TimeoutUdp(t.udp),
    ]
}

/// Timeouts from a `GET_CONFIG` reply.
pub fn timeouts_from_attrs(attrs: &[CmdAttr]) -> Timeouts {
    let mut t = Timeouts::default();
    for a in attrs {
        match a {
            CmdAttr::TimeoutTcp(v) => t.tcp = *v,
            CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = *v,
            CmdAttr::TimeoutUdp(v) => t.udp = *v,
            _ => {}
        }
    }
    t
}

/// Info from a `GET_INFO` reply.
pub fn info_from_attrs(attrs: &[InfoAttr]) -> Result<Info, DecodeError> {
    let (mut version, mut size) = (None, None);
    for a in attrs {
        match a {
            InfoAttr::Version(v) => version = Some(*v),
            InfoAttr::ConnTabSize(v) => size = Some(*v),
            InfoAttr::Other(_) => {}
        }
    }
    Ok(Info {
        version: version.ok_or_else(|| DecodeError::new("info without VERSION"))?,
        conn_tab_size: size.ok_or_else(|| DecodeError::new("info without CONN_TAB_SIZE"))?,
    })
}

/// The request that performs `change`.
pub fn change_request(change: &Change) -> IpvsMessage {
    let svc = |a| CmdAttr::Service(a);
    match change {
        Change::AddService(s) => {
            IpvsMessage::request(IPVS_CMD_NEW_SERVICE, vec![svc(service_attrs(s))])
        }
        Change::EditService(s) => {
            IpvsMessage::request(IPVS_CMD_SET_SERVICE, vec![svc(service_attrs(s))])
        }
        Change::DeleteService(k) => {
            IpvsMessage::request(IPVS_CMD_DEL_SERVICE, vec![svc(service_key_attrs(k))])
        }
        Change::AddDestination {
            service,
            destination,
        } => IpvsMessage::request(
            IPVS_CMD_NEW_DEST,
            vec![
                svc(service_key_attrs(service)),
                CmdAttr::Dest(dest_attrs(destination)),
            ],
        ),
        Change::EditDestination {
            service,
            destination,
        } => IpvsMessage::request(
            IPVS_CMD_SET_DEST,
            vec![
                svc(service_key_attrs(service)),
                CmdAttr::Dest(dest_attrs(destination)),
            ],
        ),
        Change::DeleteDestination {
            service,
            destination,
        } => IpvsMessage::request(
            IPVS_CMD_DEL_DEST,
            vec![
                svc(service_key_attrs(service)),
                CmdAttr::Dest(dest_key_attrs(destination)),
            ],
        ),
        Change::Flush => IpvsMessage::request(IPVS_CMD_FLUSH, vec![]),
        Change::Zero(None) => IpvsMessage::request(IPVS_CMD_ZERO, vec![]),
        Change::Zero(Some(k)) => {
            IpvsMessage::request(IPVS_CMD_ZERO, vec![svc(service_key_attrs(k))])
        }
        Change::SetTimeouts(t) => IpvsMessage::request(IPVS_CMD_SET_CONFIG, timeouts_attrs(t)),
        Change::StartDaemon(d) => {
            IpvsMessage::request(IPVS_CMD_NEW_DAEMON, vec![CmdAttr::Daemon(daemon_attrs(d))])
        }
        Change::StopDaemon(s) => IpvsMessage::request(
            IPVS_CMD_DEL_DAEMON,
            vec![CmdAttr::Daemon(vec![DaemonAttr::State(s.to_raw())])],
        ),
    }
}
