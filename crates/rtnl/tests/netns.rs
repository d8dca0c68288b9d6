//! Tests against the kernel, each in a network namespace it creates
//! (`rtnl-PID-TAG`, removed by a Drop guard also when the test fails).
//!
//! They need root, so they are ignored unless the `netns-tests` feature is
//! on: `cargo test -p rtnl --features netns-tests`.  Only documentation
//! addresses (203.0.113.0/24, 2001:db8::/64) on a veth pair inside the
//! namespace; nothing leaves it.
//!
//! The kernel side runs in a dedicated thread that `setns`es into the
//! namespace, so the netlink sockets it opens belong to that namespace; the
//! setup and the independent checks use `ip -n NAME`.

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use rtnl::conformance::{BASE, CASES, Env};
use rtnl::{Address, Interfaces, LinkWatch, NetlinkRoute, index_of, link_by_index};
use testrig::netns::Netns;

/// A namespace `rtnl-PID-TAG` with a veth pair r0 (holding the base
/// address) – r1, both up.
fn with_veth(tag: &str) -> Netns {
    let ns = Netns::new("rtnl", tag);
    ns.veth("r0", &ns, "r1");
    let base = format!("{}/{}", BASE.0, BASE.1);
    ns.ip(&["addr", "add", &base, "brd", "+", "dev", "r0"]);
    ns
}

/// A file of the namespace's /proc/sys/net, trimmed.
fn sysctl(ns: &Netns, path: &str) -> String {
    ns.exec("cat", &[path]).trim().to_owned()
}

/// Re-read links until `pred` holds for link `name`, for at most 3 s.
fn wait_link(route: &mut NetlinkRoute, name: &str, pred: impl Fn(&rtnl::Link) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let links = route.links().expect("links");
        let link = links.iter().find(|l| l.name == name).expect("link listed");
        if pred(link) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {link}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn env(route: &mut NetlinkRoute) -> Env {
    let links = route.links().expect("links");
    let index = index_of(&links, "r0").expect("r0");
    Env {
        index,
        name: "r0".into(),
        missing_index: links.iter().map(|l| l.index).max().unwrap_or(0) + 1000,
    }
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn conformance_against_the_kernel() {
    for (name, case) in CASES {
        eprintln!("case {name}");
        let ns = with_veth(name);
        ns.run(|| {
            let mut route = NetlinkRoute::new().expect("open route netlink");
            wait_link(&mut route, "r0", |l| l.is_running());
            let env = env(&mut route);
            case(&mut route, &env);
        });
    }
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn links_show_veth_kind_mac_and_loopback() {
    let ns = with_veth("links");
    let shown = ns.ip(&["-o", "link", "show", "r0"]);
    ns.run(|| {
        let mut route = NetlinkRoute::new().expect("open route netlink");
        wait_link(&mut route, "r0", |l| l.is_running());
        let links = route.links().expect("links");
        let lo = links.iter().find(|l| l.name == "lo").expect("lo");
        assert_eq!(lo.index, 1);
        assert!(!lo.admin_up, "lo starts down in a new namespace");
        let r0 = link_by_index(&links, index_of(&links, "r0").expect("r0")).expect("r0");
        assert_eq!(r0.kind.as_deref(), Some("veth"));
        assert_eq!(r0.master, None);
        assert!(!r0.is_bond_master && !r0.is_bond_slave);
        let mac = r0.mac.expect("veth has a MAC");
        let text = format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
        );
        assert!(shown.contains(&text), "{text} in {shown}");
    });
}

/// Carrier loss on a veth: bring the PEER down; r0 stays admin up but loses
/// IFF_LOWER_UP, and the watch reports both changes.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn link_watch_reports_carrier_loss_and_return() {
    let ns = with_veth("watch");
    ns.run(|| {
        let mut route = NetlinkRoute::new().expect("open route netlink");
        wait_link(&mut route, "r0", |l| l.is_running());
        let mut watch = LinkWatch::new().expect("watch");
        assert!(!watch.drain().expect("drain"), "nothing happened yet");

        ns.ip(&["link", "set", "r1", "down"]);
        wait_event(&mut watch);
        wait_link(&mut route, "r0", |l| l.admin_up && !l.lower_up);
        wait_link(&mut route, "r1", |l| !l.admin_up);
        // Everything queued was read.
        while watch.drain().expect("drain") {}

        ns.ip(&["link", "set", "r1", "up"]);
        wait_event(&mut watch);
        wait_link(&mut route, "r0", |l| l.is_running());

        // Address changes come through the same watch.
        while watch.drain().expect("drain") {}
        let links = route.links().expect("links");
        let vip = Address::floating(
            index_of(&links, "r0").expect("r0"),
            "203.0.113.40".parse().expect("ip"),
            25,
            Some("r0:1"),
        )
        .expect("valid");
        route.add_address(&vip).expect("add");
        wait_event(&mut watch);
    });
}

/// Poll the watch (2 s at most) until `drain` reports a change.
fn wait_event(watch: &mut LinkWatch) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let mut fds = [PollFd::new(watch.as_fd(), PollFlags::POLLIN)];
        let n = poll(&mut fds, PollTimeout::from(200u16)).expect("poll");
        if n > 0 && watch.drain().expect("drain") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no link/address event within 2 s"
        );
    }
}

/// Piranha's `ifconfig eth0:1 down` trap, with `ip addr` as the witness:
/// first shown on r1 with `ip addr del` (the kernel really deletes the
/// secondaries with a primary), then on r0 through `del_address`, which
/// must keep them and leave the link up.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn deleting_a_vip_keeps_base_and_other_vips() {
    let ns = with_veth("trap");
    // The trap exists: on r1 (promote_secondaries off), deleting the
    // subnet's primary takes its secondary along.
    assert_eq!(
        sysctl(&ns, "/proc/sys/net/ipv4/conf/r1/promote_secondaries"),
        "0"
    );
    ns.ip(&["addr", "add", "203.0.113.200/25", "dev", "r1"]);
    ns.ip(&["addr", "add", "203.0.113.201/25", "dev", "r1"]);
    ns.ip(&["addr", "del", "203.0.113.200/25", "dev", "r1"]);
    let r1 = ns.ip(&["-o", "addr", "show", "dev", "r1"]);
    assert!(
        !r1.contains("203.0.113.201/25"),
        "kernel keeps secondaries?\n{r1}"
    );

    let primary = "203.0.113.130";
    let secondary = "203.0.113.131";
    ns.run(|| {
        let mut route = NetlinkRoute::new().expect("open route netlink");
        wait_link(&mut route, "r0", |l| l.is_running());
        let index = index_of(&route.links().expect("links"), "r0").expect("r0");
        let vip = |ip: &str, label: &str| {
            Address::floating(index, ip.parse().expect("ip"), 25, Some(label)).expect("valid")
        };
        let a = vip(primary, "r0:1");
        let b = vip(secondary, "r0:2");
        route.add_address(&a).expect("add");
        route.add_address(&b).expect("add");
        route.del_address(&a).expect("del");
    });
    let shown = ns.ip(&["-o", "addr", "show", "dev", "r0"]);
    assert!(!shown.contains(&format!("{primary}/25")), "{shown}");
    assert!(
        shown.contains(&format!("{secondary}/25")),
        "second VIP kept:\n{shown}"
    );
    assert!(
        shown.contains(&format!("{}/{}", BASE.0, BASE.1)),
        "base kept:\n{shown}"
    );
    assert!(shown.contains("r0:2"), "label kept:\n{shown}");
    let link = ns.ip(&["-o", "link", "show", "r0"]);
    assert!(link.contains(",UP,") || link.contains("<UP"), "{link}");
    assert!(link.contains("LOWER_UP"), "{link}");
    assert_eq!(
        sysctl(&ns, "/proc/sys/net/ipv4/conf/r0/promote_secondaries"),
        "1"
    );
}

/// An IPv6 VIP is usable at once (IFA_F_NODAD: never "tentative"), and an
/// IPv4 VIP gets the broadcast and label `ifconfig` gave it.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn vips_as_ip_shows_them() {
    let ns = with_veth("show");
    ns.run(|| {
        let mut route = NetlinkRoute::new().expect("open route netlink");
        wait_link(&mut route, "r0", |l| l.is_running());
        let index = index_of(&route.links().expect("links"), "r0").expect("r0");
        let six: IpAddr = "2001:db8::50".parse().expect("ip");
        route
            .add_address(&Address::floating(index, six, 64, None).expect("valid"))
            .expect("add v6");
        let four: IpAddr = "203.0.113.50".parse().expect("ip");
        route
            .add_address(&Address::floating(index, four, 24, Some("r0:5")).expect("valid"))
            .expect("add v4");
    });
    let v6 = ns.ip(&["-o", "-6", "addr", "show", "dev", "r0"]);
    let line = v6
        .lines()
        .find(|l| l.contains("2001:db8::50/64"))
        .unwrap_or_else(|| panic!("v6 VIP listed:\n{v6}"));
    assert!(!line.contains("tentative"), "{line}");
    assert!(line.contains("nodad"), "{line}");
    let v4 = ns.ip(&["-o", "-4", "addr", "show", "dev", "r0"]);
    let line = v4
        .lines()
        .find(|l| l.contains("203.0.113.50/24"))
        .unwrap_or_else(|| panic!("v4 VIP listed:\n{v4}"));
    assert!(line.contains("brd 203.0.113.255"), "{line}");
    assert!(line.contains("r0:5"), "{line}");
    // The kernel added the prefix route (no IFA_F_NOPREFIXROUTE).
    let routes = ns.ip(&["-6", "route", "show", "dev", "r0"]);
    assert!(routes.contains("2001:db8::/64"), "{routes}");
}

/// An aggregate link (here a bridge; the host has no `bonding` module) is
/// read like any link: the port names its master (`IFLA_MASTER`), and the
/// master has carrier only while a port has, which is what `monitor_links`
/// reads from a bond master.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn master_link_carrier_follows_its_port() {
    let ns = with_veth("master");
    ns.ip(&["link", "add", "br0", "type", "bridge"]);
    ns.ip(&["link", "set", "r1", "master", "br0"]);
    ns.ip(&["link", "set", "br0", "up"]);
    ns.run(|| {
        let mut route = NetlinkRoute::new().expect("open route netlink");
        wait_link(&mut route, "br0", |l| l.is_running());
        let links = route.links().expect("links");
        let br0 = index_of(&links, "br0").expect("br0");
        let r1 = link_by_index(&links, index_of(&links, "r1").expect("r1")).expect("r1");
        assert_eq!(r1.master, Some(br0), "{r1}");
        assert!(
            !r1.is_bond_slave,
            "IFF_SLAVE is bonding's, not a bridge port's"
        );
        let br = link_by_index(&links, br0).expect("br0");
        assert_eq!(br.kind.as_deref(), Some("bridge"));
        assert_eq!(br.master, None);
        // The port loses carrier (its veth peer goes down): so does the master.
        ns.ip(&["link", "set", "r0", "down"]);
        wait_link(&mut route, "br0", |l| l.admin_up && !l.lower_up);
        ns.ip(&["link", "set", "r0", "up"]);
        wait_link(&mut route, "br0", |l| l.is_running());
    });
}
