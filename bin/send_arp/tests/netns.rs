//! send_arp on a real link: two network namespaces X and Y joined by a veth
//! pair, as in reference anchors/send_arp-frame.txt (where the original
//! piranha 0.8.6 send_arp produced the expected frames). send_arp runs in X
//! exactly as pulse calls it; Y reads the frame with its own AF_PACKET
//! socket and its kernel must point the VIP's neighbour entry at X.
//!
//! Root only: `cargo test -p send_arp --features netns-tests`.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use arp::Mac;
use arp::socket::{ETH_P_ALL, PacketSocket, interface};
use testrig::netns::Netns;

const X_MAC: &str = "00:00:5e:00:53:01";
const Y_MAC: &str = "00:00:5e:00:53:02";
/// A MAC nobody on the link has: Y's stale entry for the VIP before.
const OLD_MAC: &str = "00:00:5e:00:53:99";

/// Frame 1 of anchors/send_arp-frame.txt: the original 0.8.6 send_arp run
/// as `send_arp -i eth0 203.0.113.10 00005E005301 203.0.113.255
/// ffffffffffff` (pulse's argv) in X, read in Y.
const PULSE_FRAME: &str = "ffffffffffff00005e0053010806000108000604000200005e005301\
                           cb00710a00005e005301cb00710a000000000000000000000000000000000000";
/// Frame 2 of the same file: `send_arp 203.0.113.10 00:00:5e:00:53:01
/// 203.0.113.50 00:00:5e:00:53:02`.
const UNICAST_FRAME: &str = "00005e00530200005e0053010806000108000604000200005e005301\
                             cb00710a00005e005301cb00710a000000000000000000000000000000000000";
/// The unsolicited NA Linux 6.18 itself sends for 2001:db8::10 from
/// 00:00:5e:00:53:01 with ndisc_notify set (capture described in
/// crates/arp/src/ndisc.rs, `KERNEL_NA`).
const KERNEL_NA: &str = "33330000000100005e00530186dd6000000000203aff\
                         20010db8000000000000000000000010ff020000000000000000000000000001\
                         88004a0c2000000020010db8000000000000000000000010020100005e005301";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A capture socket for `ethertype` on `ns`'s eth0, opened from a thread
/// that joined the namespace (a socket stays in the namespace it was
/// created in, whichever thread then reads it).
fn capture(ns: &Netns, ethertype: u16) -> PacketSocket {
    ns.run(|| {
        let eth0 = interface("eth0").expect("eth0 in the namespace");
        let socket = PacketSocket::capture(eth0.index, ethertype).expect("capture socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("SO_RCVTIMEO");
        socket
    })
}

/// X and Y as in the fixture file, names unique to this process and test.
/// Its own veth pair rather than `Netns::veth`: the MACs are set while the
/// links are still down, so all X ever sends comes from X_MAC.
fn rig(tag: &str) -> (Netns, Netns) {
    let x = Netns::new("sarp", &format!("x{tag}"));
    let y = Netns::new("sarp", &format!("y{tag}"));
    x.ip(&[
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        y.name(),
    ]);
    x.ip(&["link", "set", "eth0", "address", X_MAC]);
    y.ip(&["link", "set", "eth0", "address", Y_MAC]);
    x.ip(&["link", "set", "eth0", "up"]);
    y.ip(&["link", "set", "eth0", "up"]);
    x.ip(&["addr", "add", "203.0.113.2/24", "brd", "+", "dev", "eth0"]);
    y.ip(&["addr", "add", "203.0.113.50/24", "brd", "+", "dev", "eth0"]);
    (x, y)
}

/// The first frame from X's MAC that `wanted` accepts, within 5 s.
fn receive(socket: &PacketSocket, wanted: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let x_mac: Mac = X_MAC.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        match socket.recv(&mut buf) {
            Ok(n) if buf[6..12] == x_mac.0 && wanted(&buf[..n]) => return buf[..n].to_vec(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
    panic!("no matching frame from {X_MAC} within 5 s");
}

fn send_arp(ns: &Netns, args: &[&str]) {
    let out = ns
        .command(env!("CARGO_BIN_EXE_send_arp"))
        .args(args)
        .output()
        .expect("run send_arp");
    assert_eq!(
        out.status.code(),
        Some(0),
        "send_arp {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty() && out.stdout.is_empty());
}

/// The neighbour entry `ip` shows for `addr` on Y's eth0, polled until it
/// names `mac` (at most 2 s); returns the last line seen.
fn neighbour_becomes(y: &Netns, addr: &str, mac: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let line = y.ip(&["neigh", "show", addr, "dev", "eth0"]);
        if line.contains(&format!("lladdr {mac}")) || Instant::now() >= deadline {
            return line;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn pulse_argv_sends_the_original_frame_and_moves_the_neighbour_entry() {
    let (x, y) = rig("4");
    // Y already knows the VIP at another MAC (the old active router). A
    // long locktime shows the entry moves because the frame is a
    // gratuitous ARP (Linux overrides at once), not because time passed.
    y.exec("sysctl", &["-qw", "net.ipv4.neigh.eth0.locktime=6000"]);
    y.ip(&[
        "neigh",
        "add",
        "203.0.113.10",
        "lladdr",
        OLD_MAC,
        "dev",
        "eth0",
        "nud",
        "stale",
    ]);
    assert!(y.ip(&["neigh", "show", "203.0.113.10"]).contains(OLD_MAC));

    let socket = capture(&y, arp::frame::ETHERTYPE_ARP);
    send_arp(
        &x,
        &[
            "-i",
            "eth0",
            "203.0.113.10",
            "00005E005301",
            "203.0.113.255",
            "ffffffffffff",
        ],
    );
    let frame = receive(&socket, |_| true);
    assert_eq!(frame, hex(PULSE_FRAME), "frame as the original's");

    let line = neighbour_becomes(&y, "203.0.113.10", X_MAC);
    assert!(
        line.contains(&format!("lladdr {X_MAC}")),
        "Y's entry: {line:?}"
    );

    // The original's other argument forms: no -i (eth0), colon syntax, a
    // unicast destination.
    send_arp(
        &x,
        &[
            "203.0.113.10",
            "00:00:5e:00:53:01",
            "203.0.113.50",
            "00:00:5e:00:53:02",
        ],
    );
    let frame = receive(&socket, |_| true);
    assert_eq!(frame, hex(UNICAST_FRAME));

    // An alias label means its base device.
    send_arp(
        &x,
        &[
            "-i",
            "eth0:1",
            "203.0.113.10",
            "00005E005301",
            "203.0.113.255",
            "ffffffffffff",
        ],
    );
    assert_eq!(receive(&socket, |_| true), hex(PULSE_FRAME));
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn ipv6_address_sends_an_unsolicited_na_and_moves_the_neighbour_entry() {
    let (x, y) = rig("6");
    y.ip(&["addr", "add", "2001:db8::50/64", "dev", "eth0", "nodad"]);
    y.ip(&[
        "neigh",
        "add",
        "2001:db8::10",
        "lladdr",
        OLD_MAC,
        "dev",
        "eth0",
        "nud",
        "stale",
    ]);
    assert!(y.ip(&["neigh", "show", "2001:db8::10"]).contains(OLD_MAC));

    let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
    let socket = capture(&y, ETH_P_ALL);
    send_arp(
        &x,
        &[
            "-i",
            "eth0",
            "2001:db8::10",
            "00005E005301",
            "203.0.113.255",
            "ffffffffffff",
        ],
    );
    // X's own IPv6 start-up (router solicitations, MLD) shares the link:
    // wait for the advertisement of the VIP.
    let frame = receive(&socket, |f| {
        arp::ndisc::parse(f).is_ok_and(|na| na.target == vip)
    });
    assert_eq!(frame, hex(KERNEL_NA), "the NA Linux itself sends");

    let line = neighbour_becomes(&y, "2001:db8::10", X_MAC);
    assert!(
        line.contains(&format!("lladdr {X_MAC}")),
        "Y's entry: {line:?}"
    );
}
