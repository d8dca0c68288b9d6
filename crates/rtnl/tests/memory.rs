//! The conformance suite, and the test-only link controls, against the
//! in-memory implementation.

use rtnl::conformance::{BASE, CASES, Env};
use rtnl::{Address, Interfaces, Link, MemoryRoute, link_by_index};

fn table() -> (MemoryRoute, Env) {
    let mut lo = Link::new(1, "lo", Some([0; 6]));
    lo.admin_up = true;
    let mut t = MemoryRoute::new().with_link(lo).with_link(Link::new(
        2,
        "veth0",
        Some([0x02, 0, 0, 0, 0, 0x01]),
    ));
    let base =
        Address::floating(2, std::net::IpAddr::V4(BASE.0), BASE.1, Some("veth0")).expect("valid");
    t.add_address(&base).expect("base address");
    let env = Env {
        index: 2,
        name: "veth0".into(),
        missing_index: 99,
    };
    (t, env)
}

#[test]
fn conformance() {
    for (name, case) in CASES {
        eprintln!("case {name}");
        let (mut t, env) = table();
        case(&mut t, &env);
    }
}

#[test]
fn conformance_in_one_table() {
    let (mut t, env) = table();
    rtnl::conformance::run_all(&mut t, &env);
}

#[test]
fn link_state_is_settable_and_counted() {
    let (mut t, _) = table();
    let g0 = t.generation();
    t.set_lower_up(2, false).expect("known link");
    assert!(t.generation() > g0);
    let links = t.links().expect("links");
    let l = link_by_index(&links, 2).expect("listed");
    assert!(l.admin_up && !l.lower_up && !l.is_running());
    t.set_lower_up(2, true).expect("known link");
    t.set_admin_up(2, false).expect("known link");
    let links = t.links().expect("links");
    let l = link_by_index(&links, 2).expect("listed");
    // A down device has no carrier, as the kernel reports it.
    assert!(!l.admin_up && !l.lower_up);
    t.set_admin_up(2, true).expect("known link");
    assert!(t.links().expect("links").iter().all(Link::is_running));
    assert!(matches!(
        t.set_lower_up(9, false),
        Err(rtnl::RtnlError::NoDevice { index: 9 })
    ));
}

#[test]
fn removing_a_link_removes_its_addresses() {
    let (mut t, _) = table();
    assert!(!t.addresses().expect("addresses").is_empty());
    t.remove_link(2).expect("known link");
    assert!(t.addresses().expect("addresses").is_empty());
    assert!(link_by_index(&t.links().expect("links"), 2).is_none());
}
