//! The socket module against a real kernel, inside a network namespace the
//! test creates (loopback up, a veth pair left down): a frame sent is the
//! frame captured, a send-only socket queues nothing, errors surface as
//! errno. Root only: `cargo test -p arp --features netns-tests`.

use std::io::ErrorKind;
use std::net::Ipv4Addr;
use std::time::Duration;

use arp::Mac;
use arp::frame::{ETHERTYPE_ARP, gratuitous_reply};
use arp::socket::{PacketSocket, interface};
use testrig::netns::Netns;

const DUMMY_MAC: Mac = Mac([0x00, 0x00, 0x5e, 0x00, 0x53, 0x07]);

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn send_capture_and_errors_in_a_fresh_namespace() {
    let ns = Netns::new("arp", "sock");
    ns.ip(&["link", "set", "lo", "up"]);
    // Left down (not `Netns::veth`): sending on it must fail with ENETDOWN.
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    ns.ip(&["link", "set", "d0", "address", &DUMMY_MAC.to_string()]);

    ns.run(|| {
        let lo = interface("lo").unwrap();
        assert_eq!(lo.mac, Mac::ZERO);
        let d0 = interface("d0").unwrap();
        assert_eq!(d0.mac, DUMMY_MAC, "SIOCGIFHWADDR in this namespace");
        assert!(d0.is_ethernet());
        assert_ne!(d0.index, lo.index);

        let frame = gratuitous_reply(DUMMY_MAC, Ipv4Addr::new(203, 0, 113, 10), Mac::BROADCAST);
        let capture = PacketSocket::capture(lo.index, ETHERTYPE_ARP).unwrap();
        capture
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let tx = PacketSocket::open(lo.index).unwrap();
        assert_eq!(tx.ifindex(), lo.index);
        tx.send(&frame).unwrap();
        let mut buf = [0u8; 256];
        let n = capture.recv(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            frame.as_slice(),
            "the frame as sent, no padding added"
        );

        // The send-only socket is not registered for any protocol.
        tx.set_nonblocking(true).unwrap();
        let err = tx.recv(&mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);

        // Shorter than an Ethernet header: refused before the kernel.
        let err = tx.send(&frame[..13]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);

        // A device that is down: the kernel's ENETDOWN.
        let down = PacketSocket::open(d0.index).unwrap();
        let err = down.send(&frame).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(nix::libc::ENETDOWN), "{err}");

        // An index that does not exist: bind fails with ENODEV.
        let err = PacketSocket::open(9999).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(nix::libc::ENODEV), "{err}");
    });
}
