//! Byte fixtures for every IPVS message kind.
//!
//! Each fixture is laid out as the kernel builds it (`ip_vs_genl_fill_service`,
//! `_fill_dest`, `_fill_daemon`, `_fill_stats`/`_stats64`, `ip_vs_genl_get_cmd`
//! in `net/netfilter/ipvs/ip_vs_ctl.c`, attribute numbers and struct layouts
//! from `include/uapi/linux/ip_vs.h`) or as ipvsadm's libipvs sends requests,
//! on a little-endian host (x86-64).  Each test goes bytes → struct → the same
//! bytes, and checks the model the struct converts to.  The guest kernel tests
//! additionally round-trip every reply the real kernel sends.
#![cfg(target_endian = "little")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::attrs::*;
use super::convert::*;
use super::msg::*;
use super::nla::RawNla;
use crate::model::*;

fn roundtrip(bytes: &[u8]) -> IpvsMessage {
    let msg = IpvsMessage::parse(bytes).expect("fixture parses");
    let mut out = Vec::new();
    msg.emit(&mut out);
    assert_eq!(out, bytes, "re-emitted bytes differ");
    msg
}

fn only_service(msg: &IpvsMessage) -> &[SvcAttr] {
    match msg.cmd_attrs() {
        [CmdAttr::Service(s)] => s,
        other => panic!("expected one SERVICE nest, got {other:?}"),
    }
}

/// NEW_SERVICE as ipvsadm sends `-A -t 192.0.2.10:80 -s wlc`.
#[rustfmt::skip]
const NEW_SERVICE_TCP: [u8; 88] = [
    0x01, 0x01, 0x00, 0x00, // genlmsghdr: cmd=1 NEW_SERVICE, version=1, reserved
    0x54, 0x00, 0x01, 0x00, // nla len=84 type=1 IPVS_CMD_ATTR_SERVICE (no NLA_F_NESTED)
    0x06, 0x00, 0x01, 0x00, //   len=6 IPVS_SVC_ATTR_AF
    0x02, 0x00, 0x00, 0x00, //   AF_INET (host u16) + pad
    0x06, 0x00, 0x02, 0x00, //   len=6 IPVS_SVC_ATTR_PROTOCOL
    0x06, 0x00, 0x00, 0x00, //   IPPROTO_TCP + pad
    0x14, 0x00, 0x03, 0x00, //   len=20 IPVS_SVC_ATTR_ADDR
    0xc0, 0x00, 0x02, 0x0a, //   192.0.2.10
    0x00, 0x00, 0x00, 0x00, //   rest of union nf_inet_addr
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x04, 0x00, //   len=6 IPVS_SVC_ATTR_PORT
    0x00, 0x50, 0x00, 0x00, //   80 big-endian + pad
    0x08, 0x00, 0x06, 0x00, //   len=8 IPVS_SVC_ATTR_SCHED_NAME
    0x77, 0x6c, 0x63, 0x00, //   "wlc\0"
    0x0c, 0x00, 0x07, 0x00, //   len=12 IPVS_SVC_ATTR_FLAGS
    0x00, 0x00, 0x00, 0x00, //   flags=0
    0xff, 0xff, 0xff, 0xff, //   mask=~0
    0x08, 0x00, 0x08, 0x00, //   len=8 IPVS_SVC_ATTR_TIMEOUT
    0x00, 0x00, 0x00, 0x00, //   0 s
    0x08, 0x00, 0x09, 0x00, //   len=8 IPVS_SVC_ATTR_NETMASK
    0xff, 0xff, 0xff, 0xff, //   255.255.255.255 (network order)
];

#[test]
fn new_service_request() {
    let msg = roundtrip(&NEW_SERVICE_TCP);
    let svc = Service::new(
        ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 80),
        Scheduler::WLC,
    );
    let req = change_request(&Change::AddService(svc.clone()));
    assert_eq!(req, msg);
    let (back, _) = service_from_attrs(only_service(&msg)).unwrap();
    assert_eq!(back, svc);
}

/// A GET_SERVICE dump entry: TCP 192.0.2.10:80 wlc persistent 300 mask
/// 255.255.255.0, HASHED set, 1 connection and 256 bytes in.
#[rustfmt::skip]
const SERVICE_REPLY_V4: [u8; 304] = [
    0x01, 0x01, 0x00, 0x00, // genlmsghdr: cmd=1 NEW_SERVICE (dump replies use it), version=1
    0x2c, 0x01, 0x01, 0x00, // len=300 IPVS_CMD_ATTR_SERVICE
    0x06, 0x00, 0x01, 0x00, //   AF
    0x02, 0x00, 0x00, 0x00, //   AF_INET
    0x06, 0x00, 0x02, 0x00, //   PROTOCOL
    0x06, 0x00, 0x00, 0x00, //   TCP
    0x14, 0x00, 0x03, 0x00, //   ADDR (always 16 bytes in replies)
    0xc0, 0x00, 0x02, 0x0a, //   192.0.2.10
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x04, 0x00, //   PORT
    0x00, 0x50, 0x00, 0x00, //   80 BE
    0x08, 0x00, 0x06, 0x00, //   SCHED_NAME
    0x77, 0x6c, 0x63, 0x00, //   "wlc\0"
    0x0c, 0x00, 0x07, 0x00, //   FLAGS
    0x03, 0x00, 0x00, 0x00, //   PERSISTENT|HASHED
    0xff, 0xff, 0xff, 0xff, //   mask ~0
    0x08, 0x00, 0x08, 0x00, //   TIMEOUT
    0x2c, 0x01, 0x00, 0x00, //   300 s
    0x08, 0x00, 0x09, 0x00, //   NETMASK
    0xff, 0xff, 0xff, 0x00, //   255.255.255.0
    0x5c, 0x00, 0x0a, 0x00, //   len=92 STATS (legacy, mixed widths)
    0x08, 0x00, 0x01, 0x00, //     CONNS u32
    0x01, 0x00, 0x00, 0x00, //     1
    0x08, 0x00, 0x02, 0x00, //     INPKTS u32
    0x00, 0x00, 0x00, 0x00, //
    0x08, 0x00, 0x03, 0x00, //     OUTPKTS u32
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x04, 0x00, //     INBYTES u64
    0x00, 0x01, 0x00, 0x00, //     256
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x05, 0x00, //     OUTBYTES u64
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x08, 0x00, 0x06, 0x00, //     CPS u32
    0x00, 0x00, 0x00, 0x00, //
    0x08, 0x00, 0x07, 0x00, //     INPPS u32
    0x00, 0x00, 0x00, 0x00, //
    0x08, 0x00, 0x08, 0x00, //     OUTPPS u32
    0x00, 0x00, 0x00, 0x00, //
    0x08, 0x00, 0x09, 0x00, //     INBPS u32
    0x00, 0x00, 0x00, 0x00, //
    0x08, 0x00, 0x0a, 0x00, //     OUTBPS u32
    0x00, 0x00, 0x00, 0x00, //
    0x7c, 0x00, 0x0c, 0x00, //   len=124 STATS64 (all u64, no PAD on x86-64)
    0x0c, 0x00, 0x01, 0x00, //     CONNS
    0x01, 0x00, 0x00, 0x00, //     1
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x02, 0x00, //     INPKTS
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x03, 0x00, //     OUTPKTS
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x04, 0x00, //     INBYTES
    0x00, 0x01, 0x00, 0x00, //     256
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x05, 0x00, //     OUTBYTES
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x06, 0x00, //     CPS
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x07, 0x00, //     INPPS
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x08, 0x00, //     OUTPPS
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x09, 0x00, //     INBPS
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x0c, 0x00, 0x0a, 0x00, //     OUTBPS
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
];

#[test]
fn service_reply_v4_persistent() {
    let msg = roundtrip(&SERVICE_REPLY_V4);
    let (svc, stats) = service_from_attrs(only_service(&msg)).unwrap();
    assert_eq!(
        svc,
        Service {
            key: ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 80),
            scheduler: Scheduler::WLC,
            flags: ServiceFlags::EMPTY, // HASHED masked out
            persistence: Some(Persistence {
                timeout: 300,
                netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))
            }),
            pe_name: None,
        }
    );
    assert_eq!(
        stats,
        Stats {
            conns: 1,
            inbytes: 256,
            ..Stats::default()
        }
    );
}

#[test]
fn stats_fall_back_to_32_bit() {
    let msg = IpvsMessage::parse(&SERVICE_REPLY_V4).unwrap();
    let attrs: Vec<SvcAttr> = only_service(&msg)
        .iter()
        .filter(|a| !matches!(a, SvcAttr::Stats64(_)))
        .cloned()
        .collect();
    let (_, stats) = service_from_attrs(&attrs).unwrap();
    assert_eq!(
        stats,
        Stats {
            conns: 1,
            inbytes: 256,
            ..Stats::default()
        }
    );
}

/// SET_SERVICE for `-f 8 -6 -s sh -b sh-fallback,sh-port -o -p 60 -M 64`
/// plus an attribute type from the future (99), which must survive.
#[rustfmt::skip]
const SET_SERVICE_FWMARK_V6: [u8; 68] = [
    0x02, 0x01, 0x00, 0x00, // genlmsghdr: cmd=2 SET_SERVICE, version=1
    0x40, 0x00, 0x01, 0x00, // len=64 IPVS_CMD_ATTR_SERVICE
    0x06, 0x00, 0x01, 0x00, //   AF
    0x0a, 0x00, 0x00, 0x00, //   AF_INET6
    0x08, 0x00, 0x05, 0x00, //   FWMARK
    0x08, 0x00, 0x00, 0x00, //   8
    0x07, 0x00, 0x06, 0x00, //   SCHED_NAME
    0x73, 0x68, 0x00, 0x00, //   "sh\0" + pad
    0x0c, 0x00, 0x07, 0x00, //   FLAGS
    0x1d, 0x00, 0x00, 0x00, //   PERSISTENT|ONEPACKET|SCHED1|SCHED2
    0xff, 0xff, 0xff, 0xff, //   mask
    0x08, 0x00, 0x08, 0x00, //   TIMEOUT
    0x3c, 0x00, 0x00, 0x00, //   60 s
    0x08, 0x00, 0x09, 0x00, //   NETMASK
    0x40, 0x00, 0x00, 0x00, //   prefix 64, host-order u32
    0x08, 0x00, 0x63, 0x00, //   unknown type 99
    0xde, 0xad, 0xbe, 0xef, //   kept as Other
];

#[test]
fn set_service_fwmark_v6_and_unknown_attr() {
    let msg = roundtrip(&SET_SERVICE_FWMARK_V6);
    let attrs = only_service(&msg);
    assert_eq!(
        attrs.last(),
        Some(&SvcAttr::Other(RawNla {
            kind: 99,
            payload: vec![0xde, 0xad, 0xbe, 0xef]
        }))
    );
    let (svc, _) = service_from_attrs(attrs).unwrap();
    let expected = Service {
        key: ServiceKey::fwmark(AddressFamily::Inet6, 8),
        scheduler: Scheduler::SH,
        flags: ServiceFlags::ONE_PACKET | ServiceFlags::SCHED1 | ServiceFlags::SCHED2,
        persistence: Some(Persistence {
            timeout: 60,
            netmask: Netmask::V6Prefix(64),
        }),
        pe_name: None,
    };
    assert_eq!(svc, expected);
    // The model emits the same message minus the unknown attribute.
    let mut want = SET_SERVICE_FWMARK_V6[..60].to_vec();
    want[4] = 0x38;
    let mut got = Vec::new();
    change_request(&Change::EditService(expected)).emit(&mut got);
    assert_eq!(got, want);
}

/// A GET_DEST dump entry as `ip_vs_genl_fill_dest` builds it: GUE tunnel to
/// [2001:db8::5]:0 port 6080 csum, weight 3, thresholds 100/10, without the
/// stats nests (tested above) to keep the fixture short.
#[rustfmt::skip]
const DEST_REPLY_V6_GUE: [u8; 124] = [
    0x05, 0x01, 0x00, 0x00, // genlmsghdr: cmd=5 NEW_DEST, version=1
    0x78, 0x00, 0x02, 0x00, // len=120 IPVS_CMD_ATTR_DEST
    0x14, 0x00, 0x01, 0x00, //   ADDR
    0x20, 0x01, 0x0d, 0xb8, //   2001:db8::5
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x05, //
    0x06, 0x00, 0x02, 0x00, //   PORT
    0x00, 0x00, 0x00, 0x00, //   0
    0x08, 0x00, 0x03, 0x00, //   FWD_METHOD
    0x02, 0x00, 0x00, 0x00, //   IP_VS_CONN_F_TUNNEL
    0x08, 0x00, 0x04, 0x00, //   WEIGHT
    0x03, 0x00, 0x00, 0x00, //   3
    0x05, 0x00, 0x0d, 0x00, //   TUN_TYPE (u8)
    0x01, 0x00, 0x00, 0x00, //   GUE + pad
    0x06, 0x00, 0x0e, 0x00, //   TUN_PORT
    0x17, 0xc0, 0x00, 0x00, //   6080 BE
    0x06, 0x00, 0x0f, 0x00, //   TUN_FLAGS
    0x01, 0x00, 0x00, 0x00, //   CSUM (host u16)
    0x08, 0x00, 0x05, 0x00, //   U_THRESH
    0x64, 0x00, 0x00, 0x00, //   100
    0x08, 0x00, 0x06, 0x00, //   L_THRESH
    0x0a, 0x00, 0x00, 0x00, //   10
    0x08, 0x00, 0x07, 0x00, //   ACTIVE_CONNS
    0x02, 0x00, 0x00, 0x00, //   2
    0x08, 0x00, 0x08, 0x00, //   INACT_CONNS
    0x01, 0x00, 0x00, 0x00, //   1
    0x08, 0x00, 0x09, 0x00, //   PERSIST_CONNS
    0x00, 0x00, 0x00, 0x00, //   0
    0x06, 0x00, 0x0b, 0x00, //   ADDR_FAMILY
    0x0a, 0x00, 0x00, 0x00, //   AF_INET6
];

#[test]
fn dest_reply_v6_gue() {
    let msg = roundtrip(&DEST_REPLY_V6_GUE);
    let [CmdAttr::Dest(attrs)] = msg.cmd_attrs() else {
        panic!("one DEST nest")
    };
    // The service family (v4 here) is only a fallback: ADDR_FAMILY wins.
    let entry = dest_from_attrs(attrs, AddressFamily::Inet).unwrap();
    assert_eq!(
        entry.destination,
        Destination {
            addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5)),
            port: 0,
            forwarding: Forwarding::Tunnel(Tunnel {
                tun_type: TunnelType::Gue,
                port: 6080,
                flags: TunnelFlags::CSUM
            }),
            weight: 3,
            upper_threshold: 100,
            lower_threshold: 10,
        }
    );
    assert_eq!(
        (
            entry.active_conns,
            entry.inactive_conns,
            entry.persist_conns
        ),
        (2, 1, 0)
    );
}

/// NEW_DEST as this crate sends `-a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 3`.
#[rustfmt::skip]
const NEW_DEST_MASQ: [u8; 124] = [
    0x05, 0x01, 0x00, 0x00, // genlmsghdr: cmd=5 NEW_DEST, version=1
    0x30, 0x00, 0x01, 0x00, // len=48 IPVS_CMD_ATTR_SERVICE (identity only)
    0x06, 0x00, 0x01, 0x00, //   AF
    0x02, 0x00, 0x00, 0x00, //   AF_INET
    0x06, 0x00, 0x02, 0x00, //   PROTOCOL
    0x06, 0x00, 0x00, 0x00, //   TCP
    0x14, 0x00, 0x03, 0x00, //   ADDR
    0xc0, 0x00, 0x02, 0x0a, //   192.0.2.10
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x04, 0x00, //   PORT
    0x00, 0x50, 0x00, 0x00, //   80
    0x48, 0x00, 0x02, 0x00, // len=72 IPVS_CMD_ATTR_DEST
    0x06, 0x00, 0x0b, 0x00, //   ADDR_FAMILY
    0x02, 0x00, 0x00, 0x00, //   AF_INET
    0x14, 0x00, 0x01, 0x00, //   ADDR
    0xc6, 0x33, 0x64, 0x02, //   198.51.100.2
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x06, 0x00, 0x02, 0x00, //   PORT
    0x00, 0x50, 0x00, 0x00, //   80
    0x08, 0x00, 0x03, 0x00, //   FWD_METHOD
    0x00, 0x00, 0x00, 0x00, //   MASQ
    0x08, 0x00, 0x04, 0x00, //   WEIGHT
    0x03, 0x00, 0x00, 0x00, //   3
    0x08, 0x00, 0x05, 0x00, //   U_THRESH
    0x00, 0x00, 0x00, 0x00, //   0
    0x08, 0x00, 0x06, 0x00, //   L_THRESH
    0x00, 0x00, 0x00, 0x00, //   0
];

#[test]
fn new_dest_request() {
    let msg = roundtrip(&NEW_DEST_MASQ);
    let key = ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 80);
    let dest = Destination::new(
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
        80,
        Forwarding::Masq,
        3,
    );
    assert_eq!(
        change_request(&Change::AddDestination {
            service: key,
            destination: dest.clone()
        }),
        msg
    );
    let [_, CmdAttr::Dest(attrs)] = msg.cmd_attrs() else {
        panic!("service + dest")
    };
    assert_eq!(
        dest_from_attrs(attrs, AddressFamily::Inet)
            .unwrap()
            .destination,
        dest
    );
}

/// A GET_DAEMON dump entry (`ip_vs_genl_fill_daemon`, 4.3+): master on "lo",
/// syncid 5, maxlen 1472, group 224.0.0.81, port 8848, ttl 1.
#[rustfmt::skip]
const DAEMON_REPLY: [u8; 64] = [
    0x09, 0x01, 0x00, 0x00, // genlmsghdr: cmd=9 NEW_DAEMON, version=1
    0x3c, 0x00, 0x03, 0x00, // len=60 IPVS_CMD_ATTR_DAEMON
    0x08, 0x00, 0x01, 0x00, //   STATE
    0x01, 0x00, 0x00, 0x00, //   MASTER
    0x07, 0x00, 0x02, 0x00, //   MCAST_IFN
    0x6c, 0x6f, 0x00, 0x00, //   "lo\0" + pad
    0x08, 0x00, 0x03, 0x00, //   SYNC_ID
    0x05, 0x00, 0x00, 0x00, //   5
    0x06, 0x00, 0x04, 0x00, //   SYNC_MAXLEN
    0xc0, 0x05, 0x00, 0x00, //   1472 host u16
    0x06, 0x00, 0x07, 0x00, //   MCAST_PORT
    0x90, 0x22, 0x00, 0x00, //   8848 host u16
    0x05, 0x00, 0x08, 0x00, //   MCAST_TTL
    0x01, 0x00, 0x00, 0x00, //   1
    0x08, 0x00, 0x05, 0x00, //   MCAST_GROUP
    0xe0, 0x00, 0x00, 0x51, //   224.0.0.81
];

#[test]
fn daemon_reply() {
    let msg = roundtrip(&DAEMON_REPLY);
    let [CmdAttr::Daemon(attrs)] = msg.cmd_attrs() else {
        panic!("one DAEMON nest")
    };
    let d = daemon_from_attrs(attrs).unwrap();
    assert_eq!(
        d,
        SyncDaemon {
            state: DaemonState::Master,
            mcast_ifn: "lo".into(),
            syncid: 5,
            sync_maxlen: Some(1472),
            mcast_group: Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81))),
            mcast_port: Some(8848),
            mcast_ttl: Some(1),
        }
    );
    // A start request carries the same nest (attribute order aside).
    let req = change_request(&Change::StartDaemon(d.clone()));
    let [CmdAttr::Daemon(sent)] = req.cmd_attrs() else {
        panic!()
    };
    assert_eq!(daemon_from_attrs(sent).unwrap(), d);
}

/// The GET_CONFIG reply (cmd SET_CONFIG) with the default timeouts.
#[rustfmt::skip]
const CONFIG_REPLY: [u8; 28] = [
    0x0c, 0x01, 0x00, 0x00, // genlmsghdr: cmd=12 SET_CONFIG, version=1
    0x08, 0x00, 0x04, 0x00, // TIMEOUT_TCP
    0x84, 0x03, 0x00, 0x00, //   900
    0x08, 0x00, 0x05, 0x00, // TIMEOUT_TCP_FIN
    0x78, 0x00, 0x00, 0x00, //   120
    0x08, 0x00, 0x06, 0x00, // TIMEOUT_UDP
    0x2c, 0x01, 0x00, 0x00, //   300
];

#[test]
fn config_reply_and_request() {
    let msg = roundtrip(&CONFIG_REPLY);
    let t = timeouts_from_attrs(msg.cmd_attrs());
    assert_eq!(
        t,
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    assert_eq!(
        change_request(&Change::SetTimeouts(t)).cmd_attrs(),
        msg.cmd_attrs()
    );
}

/// The GET_INFO reply (cmd SET_INFO): version 1.2.1, table size 4096.  Its
/// attribute numbers overlap the command attributes, hence the separate space.
#[rustfmt::skip]
const INFO_REPLY: [u8; 20] = [
    0x0e, 0x01, 0x00, 0x00, // genlmsghdr: cmd=14 SET_INFO, version=1
    0x08, 0x00, 0x01, 0x00, // IPVS_INFO_ATTR_VERSION
    0x01, 0x02, 0x01, 0x00, //   0x010201
    0x08, 0x00, 0x02, 0x00, // IPVS_INFO_ATTR_CONN_TAB_SIZE
    0x00, 0x10, 0x00, 0x00, //   4096
];

#[test]
fn info_reply() {
    let msg = roundtrip(&INFO_REPLY);
    let IpvsAttrs::Info(attrs) = &msg.attrs else {
        panic!("info attrs")
    };
    let info = info_from_attrs(attrs).unwrap();
    assert_eq!(
        info,
        Info {
            version: 0x010201,
            conn_tab_size: 4096
        }
    );
    assert_eq!(
        info.to_string(),
        "IP Virtual Server version 1.2.1 (size=4096)"
    );
}

/// Two acks and an error in one datagram, as `netlink_ack` sends them.
#[rustfmt::skip]
const ACKS: [u8; 92] = [
    0x24, 0x00, 0x00, 0x00, // nlmsghdr len=36
    0x02, 0x00, 0x00, 0x01, //   type=NLMSG_ERROR, flags=NLM_F_CAPPED
    0x01, 0x00, 0x00, 0x00, //   seq=1
    0x00, 0x00, 0x00, 0x00, //   pid=0 (kernel)
    0x00, 0x00, 0x00, 0x00, //   error=0: ack
    0x14, 0x00, 0x00, 0x00, //   echoed request header (len=20)
    0x1c, 0x00, 0x05, 0x00, //   type=family 28, flags=REQUEST|ACK
    0x01, 0x00, 0x00, 0x00, //   seq=1
    0x00, 0x00, 0x00, 0x00, //   pid
    0x24, 0x00, 0x00, 0x00, // nlmsghdr len=36
    0x02, 0x00, 0x00, 0x01, //   NLMSG_ERROR
    0x02, 0x00, 0x00, 0x00, //   seq=2
    0x00, 0x00, 0x00, 0x00, //   pid
    0xef, 0xff, 0xff, 0xff, //   error=-17 EEXIST
    0x14, 0x00, 0x00, 0x00, //   echoed header
    0x1c, 0x00, 0x05, 0x00, //
    0x02, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, //
    0x14, 0x00, 0x00, 0x00, // nlmsghdr len=20
    0x03, 0x00, 0x02, 0x00, //   NLMSG_DONE, NLM_F_MULTI
    0x03, 0x00, 0x00, 0x00, //   seq=3
    0x00, 0x00, 0x00, 0x00, //   pid
    0x00, 0x00, 0x00, 0x00, //   status 0
];

#[test]
fn acks_errors_done() {
    let replies = parse_datagram(&ACKS).unwrap();
    let summary: Vec<(u32, Reply<'_>)> = replies.into_iter().map(|(h, r)| (h.seq, r)).collect();
    assert_eq!(
        summary,
        vec![(1, Reply::Ack), (2, Reply::Error(17)), (3, Reply::Done(0))]
    );
}

#[test]
fn emit_message_frames_and_pads() {
    let mut out = Vec::new();
    emit_message(&mut out, 0x1c, 0x5, 7, |b| {
        IpvsMessage::request(17, vec![]).emit(b)
    });
    #[rustfmt::skip]
    assert_eq!(out, [
        0x14, 0x00, 0x00, 0x00, // len=20
        0x1c, 0x00, 0x05, 0x00, // family 28, REQUEST|ACK
        0x07, 0x00, 0x00, 0x00, // seq=7
        0x00, 0x00, 0x00, 0x00, // pid 0: kernel assigns
        0x11, 0x01, 0x00, 0x00, // FLUSH, version 1
    ]);
}

#[test]
fn truncated_inputs_are_errors_not_panics() {
    for fixture in [
        &NEW_SERVICE_TCP[..],
        &SERVICE_REPLY_V4[..],
        &DEST_REPLY_V6_GUE[..],
        &DAEMON_REPLY[..],
    ] {
        for cut in 0..fixture.len() {
            // Must not panic; may or may not parse (a cut on an attribute boundary is valid).
            let _ = IpvsMessage::parse(&fixture[..cut]);
        }
    }
    assert!(parse_datagram(&ACKS[..30]).is_err());
}
