//! Byte fixtures for the wire layer: kernel replies (tests/fixtures/*.hex,
//! each file says how it was captured) → parse → literal values; requests →
//! emit → the bytes `ip addr` (iproute2 6.x) sends for the same command,
//! as `strace -e sendmsg -xx` showed them.

use std::net::{IpAddr, Ipv4Addr};

use rtnl::uapi::{IFA_F_NODAD, IFA_F_PERMANENT, IFA_F_SECONDARY};
use rtnl::wire::{self, Body, Message};
use rtnl::{Address, Link};

/// Messages of a fixture file: one hex line each, `#` lines are comments.
fn fixture(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| hex(l.trim()))
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex fixture"))
        .collect()
}

fn one(bytes: &[u8]) -> Message {
    let mut msgs = wire::parse_datagram(bytes).expect("parses");
    assert_eq!(msgs.len(), 1);
    msgs.remove(0)
}

#[test]
fn newlink_of_a_veth_without_carrier() {
    let msgs = fixture(include_str!("fixtures/newlink-r0-no-carrier.hex"));
    let m = one(&msgs[0]);
    assert_eq!(m.seq, 7);
    let Body::Link(link) = m.body else {
        panic!("not a link: {:?}", m.body)
    };
    let mut want = Link::new(3, "r0", Some([0x02, 0, 0, 0, 0, 0x01]));
    want.lower_up = false; // IFF_LOWER_UP clear, IFLA_OPERSTATE = LOWERLAYERDOWN
    want.kind = Some("veth".into());
    assert_eq!(link, want);
    assert!(!link.is_running());
}

#[test]
fn getaddr_dump_with_label_broadcast_and_ipv6() {
    let msgs = fixture(include_str!("fixtures/getaddr-dump.hex"));
    let bodies: Vec<Body> = msgs.iter().map(|b| one(b).body).collect();
    let brd = Some(Ipv4Addr::new(203, 0, 113, 127));
    assert_eq!(
        bodies,
        vec![
            Body::Address(
                Address {
                    index: 3,
                    addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)),
                    prefix_len: 25,
                    label: Some("r0".into()),
                    broadcast: brd,
                },
                IFA_F_PERMANENT
            ),
            Body::Address(
                Address {
                    index: 3,
                    addr: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
                    prefix_len: 25,
                    label: Some("r0:1".into()),
                    broadcast: brd,
                },
                IFA_F_PERMANENT | IFA_F_SECONDARY
            ),
            Body::Address(
                Address {
                    index: 3,
                    addr: "2001:db8::10".parse().expect("ip"),
                    prefix_len: 64,
                    label: None,
                    broadcast: None,
                },
                IFA_F_PERMANENT | IFA_F_NODAD
            ),
            Body::Done,
        ]
    );
}

#[test]
fn error_acks_keep_the_errno_and_the_sequence() {
    let msgs = fixture(include_str!("fixtures/acks.hex"));
    let got: Vec<Message> = msgs.iter().map(|b| one(b)).collect();
    assert_eq!(
        got,
        vec![
            Message {
                seq: 9,
                dump_interrupted: false,
                body: Body::Error(17) // EEXIST
            },
            Message {
                seq: 10,
                dump_interrupted: false,
                body: Body::Error(99) // EADDRNOTAVAIL
            },
            Message {
                seq: 11,
                dump_interrupted: false,
                body: Body::Ack
            },
        ]
    );
    assert!(matches!(
        rtnl::RtnlError::from_errno(17, 3),
        rtnl::RtnlError::AlreadyExists
    ));
    assert!(matches!(
        rtnl::RtnlError::from_errno(99, 3),
        rtnl::RtnlError::NotFound
    ));
}

#[test]
fn a_datagram_of_several_messages() {
    let msgs = fixture(include_str!("fixtures/getaddr-dump.hex"));
    let all: Vec<u8> = msgs.concat();
    let parsed = wire::parse_datagram(&all).expect("parses");
    assert_eq!(parsed.len(), 4);
    assert_eq!(parsed[3].body, Body::Done);
}

#[test]
fn truncated_input_is_an_error_not_a_panic() {
    let mut msgs = fixture(include_str!("fixtures/getaddr-dump.hex"));
    msgs.extend(fixture(include_str!("fixtures/newlink-r0-no-carrier.hex")));
    msgs.extend(fixture(include_str!("fixtures/acks.hex")));
    for m in &msgs {
        for cut in 1..m.len() {
            assert!(
                wire::parse_datagram(&m[..cut]).is_err(),
                "cut at {cut} of {} bytes parsed",
                m.len()
            );
        }
    }
}

/// The sequence number `ip` used in the captures below.
const SEQ: u32 = 1_796_115_004;

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))
}

#[rustfmt::skip]
#[test]
fn newaddr_v4_as_ip_addr_add_with_label_and_broadcast() {
    // ip addr add 203.0.113.10/25 brd + dev r0 label r0:1   (r0 = ifindex 3)
    let want: Vec<u8> = [
        &[0x3c, 0, 0, 0, 0x14, 0, 0x05, 0x06][..],  // len 60, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
        &SEQ.to_le_bytes(), &[0, 0, 0, 0],          // seq, pid
        &[0x02, 0x19, 0x00, 0x00, 3, 0, 0, 0],      // AF_INET, /25, flags 0, scope universe, index 3
        &[0x08, 0, 0x02, 0, 203, 0, 113, 10],       // IFA_LOCAL
        &[0x09, 0, 0x03, 0, b'r', b'0', b':', b'1', 0, 0, 0, 0], // IFA_LABEL "r0:1\0" + pad
        &[0x08, 0, 0x01, 0, 203, 0, 113, 10],       // IFA_ADDRESS
        &[0x08, 0, 0x04, 0, 203, 0, 113, 127],      // IFA_BROADCAST
    ].concat();
    let a = Address::floating(3, v4(10), 25, Some("r0:1")).expect("valid");
    assert_eq!(wire::newaddr_request(&a, SEQ).expect("emit"), want);
}

#[rustfmt::skip]
#[test]
fn newaddr_v6_as_ip_addr_add_nodad() {
    // ip addr add 2001:db8::10/64 dev r0 nodad   (r0 = ifindex 3)
    let six = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
    let want: Vec<u8> = [
        &[0x40, 0, 0, 0, 0x14, 0, 0x05, 0x06][..],  // len 64, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
        &SEQ.to_le_bytes(), &[0, 0, 0, 0],
        &[0x0a, 0x40, 0x02, 0x00, 3, 0, 0, 0],      // AF_INET6, /64, IFA_F_NODAD, universe, index 3
        &[0x14, 0, 0x02, 0], &six,                  // IFA_LOCAL
        &[0x14, 0, 0x01, 0], &six,                  // IFA_ADDRESS
    ].concat();
    let a = Address::floating(3, "2001:db8::10".parse().expect("ip"), 64, None).expect("valid");
    assert_eq!(wire::newaddr_request(&a, SEQ).expect("emit"), want);
}

#[rustfmt::skip]
#[test]
fn deladdr_as_ip_addr_del_with_label() {
    // ip addr del 203.0.113.10/25 dev r0 label r0:1
    let want: Vec<u8> = [
        &[0x34, 0, 0, 0, 0x15, 0, 0x05, 0x00][..],  // len 52, RTM_DELADDR, REQUEST|ACK
        &SEQ.to_le_bytes(), &[0, 0, 0, 0],
        &[0x02, 0x19, 0x00, 0x00, 3, 0, 0, 0],
        &[0x08, 0, 0x02, 0, 203, 0, 113, 10],       // IFA_LOCAL
        &[0x09, 0, 0x03, 0, b'r', b'0', b':', b'1', 0, 0, 0, 0], // IFA_LABEL
        &[0x08, 0, 0x01, 0, 203, 0, 113, 10],       // IFA_ADDRESS
    ].concat();
    let mut a = Address::floating(3, v4(10), 25, Some("r0:1")).expect("valid");
    a.broadcast = None; // not part of a delete either way
    assert_eq!(wire::deladdr_request(&a, SEQ).expect("emit"), want);
    a.broadcast = Some(Ipv4Addr::new(203, 0, 113, 127));
    assert_eq!(wire::deladdr_request(&a, SEQ).expect("emit"), want);
}

#[rustfmt::skip]
#[test]
fn promote_secondaries_request_layout() {
    // RTM_SETLINK ifindex 3: IFLA_AF_SPEC { AF_INET { IFLA_INET_CONF {
    //   IPV4_DEVCONF_PROMOTE_SECONDARIES (20) = 1 } } }
    let want: Vec<u8> = [
        &[0x34, 0, 0, 0, 0x13, 0, 0x05, 0x00][..],  // len 52, RTM_SETLINK, REQUEST|ACK
        &SEQ.to_le_bytes(), &[0, 0, 0, 0],
        &[0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // ifinfomsg: AF_UNSPEC, index 3
        &[0x14, 0, 0x1a, 0],                        // IFLA_AF_SPEC, len 20
        &[0x10, 0, 0x02, 0],                        //   AF_INET, len 16
        &[0x0c, 0, 0x01, 0],                        //     IFLA_INET_CONF, len 12
        &[0x08, 0, 0x14, 0, 1, 0, 0, 0],            //       [20] = 1
    ].concat();
    let got = wire::promote_secondaries_request(3, SEQ).expect("emit");
    assert_eq!(got, want, "{got:02x?}");
}

/// Corrupting any single byte of a reply gives a value or an error, never
/// a panic (the kernel is trusted, but a decoder bug must not abort pulse).
#[test]
fn corrupted_bytes_never_panic() {
    let mut msgs = fixture(include_str!("fixtures/getaddr-dump.hex"));
    msgs.extend(fixture(include_str!("fixtures/newlink-r0-no-carrier.hex")));
    msgs.extend(fixture(include_str!("fixtures/acks.hex")));
    for m in &msgs {
        for i in 0..m.len() {
            for v in [0x00, 0x01, 0x7f, 0xff] {
                let mut c = m.clone();
                c[i] = v;
                let _ = wire::parse_datagram(&c);
            }
        }
    }
}

#[test]
fn dump_interrupted_flag_is_reported() {
    let msgs = fixture(include_str!("fixtures/getaddr-dump.hex"));
    assert!(!one(&msgs[0]).dump_interrupted);
    let mut m = msgs[0].clone();
    m[6] |= 0x10; // nlmsg_flags |= NLM_F_DUMP_INTR (little-endian u16 at offset 6)
    assert!(one(&m).dump_interrupted);
}
