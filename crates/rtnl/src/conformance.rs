//! One suite of behaviour checks, run against every [`Interfaces`].
//!
//! `cargo test` runs it against [`crate::MemoryRoute`] (`tests/memory.rs`);
//! `tests/netns.rs` (feature `netns-tests`, root) runs the very same cases
//! against [`crate::NetlinkRoute`] in a network namespace it creates.  A
//! case panics on a mismatch and removes every address it added.
//!
//! Addresses: the interface under test holds [`BASE`] (203.0.113.1/25); the
//! cases add floating addresses in 203.0.113.0/24 and 2001:db8::/64 only.
//!
//! Public for the test binaries; not part of the crate's stable API.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::*;

/// What a case may assume about the interfaces under test.
#[derive(Debug, Clone)]
pub struct Env {
    /// Index of an up interface with carrier and a MAC, holding [`BASE`].
    pub index: u32,
    /// Its name.
    pub name: String,
    /// An index no interface has.
    pub missing_index: u32,
}

/// The base address the interface under test holds: 203.0.113.1/25.
pub const BASE: (Ipv4Addr, u8) = (Ipv4Addr::new(203, 0, 113, 1), 25);

/// A case: name and function.
pub type Case = (&'static str, fn(&mut dyn Interfaces, &Env));

/// Every case, in a fixed order.
pub const CASES: &[Case] = &[
    ("lists_env", lists_env),
    ("add_v4_roundtrip", add_v4_roundtrip),
    ("add_v4_default_label", add_v4_default_label),
    ("add_v6_roundtrip", add_v6_roundtrip),
    ("duplicates", duplicates),
    ("missing", missing),
    ("no_device", no_device),
    ("invalid", invalid),
    ("delete_keeps_others", delete_keeps_others),
];

/// Run every case.
pub fn run_all(t: &mut dyn Interfaces, env: &Env) {
    for (name, case) in CASES {
        eprintln!("case {name}");
        case(t, env);
    }
}

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

fn base(env: &Env) -> Address {
    Address {
        index: env.index,
        addr: IpAddr::V4(BASE.0),
        prefix_len: BASE.1,
        label: Some(env.name.clone()),
        broadcast: broadcast(BASE.0, BASE.1),
    }
}

fn vip(env: &Env, addr: IpAddr, prefix_len: u8, label: Option<&str>) -> Address {
    let label = label.map(|suffix| format!("{}{suffix}", env.name));
    Address::floating(env.index, addr, prefix_len, label.as_deref()).expect("valid address")
}

/// The listed address with the same index, address and prefix.
fn find(t: &mut dyn Interfaces, a: &Address) -> Option<Address> {
    t.addresses()
        .expect("addresses")
        .into_iter()
        .find(|x| x.same_as(a))
}

fn assert_absent(t: &mut dyn Interfaces, a: &Address) {
    assert_eq!(find(t, a), None, "{a} should not be there");
}

fn lists_env(t: &mut dyn Interfaces, env: &Env) {
    let links = t.links().expect("links");
    let link = link_by_index(&links, env.index).expect("the interface under test is listed");
    assert_eq!(link.name, env.name);
    assert!(link.admin_up && link.lower_up, "{link}");
    assert!(link.mac.is_some(), "{link}");
    assert!(link_by_index(&links, env.missing_index).is_none());
    assert_eq!(
        index_of(&links, &format!("{}:7", env.name)),
        Some(env.index)
    );
    let got = find(t, &base(env)).expect("base address listed");
    assert_eq!(got, base(env));
    assert!(holds(
        &t.addresses().expect("addresses"),
        IpAddr::V4(BASE.0)
    ));
}

fn add_v4_roundtrip(t: &mut dyn Interfaces, env: &Env) {
    let a = vip(env, v4(10), 25, Some(":1"));
    assert_absent(t, &a);
    t.add_address(&a).expect("add");
    let got = find(t, &a).expect("listed after add");
    assert_eq!(
        got.label.as_deref(),
        Some(format!("{}:1", env.name).as_str())
    );
    assert_eq!(got.broadcast, Some(Ipv4Addr::new(203, 0, 113, 127)));
    assert_eq!(got, a);
    assert!(holds(&t.addresses().expect("addresses"), v4(10)));
    t.del_address(&a).expect("del");
    assert_absent(t, &a);
    assert!(!holds(&t.addresses().expect("addresses"), v4(10)));
    assert!(find(t, &base(env)).is_some(), "base address survives");
}

fn add_v4_default_label(t: &mut dyn Interfaces, env: &Env) {
    let a = vip(env, v4(11), 25, None);
    t.add_address(&a).expect("add");
    let got = find(t, &a).expect("listed");
    assert_eq!(
        got.label.as_deref(),
        Some(env.name.as_str()),
        "label defaults to the device"
    );
    // Deleting without a label matches whatever label it has.
    t.del_address(&a).expect("del");
    assert_absent(t, &a);
}

fn add_v6_roundtrip(t: &mut dyn Interfaces, env: &Env) {
    let a = vip(env, v6(0x10), 64, Some(":1"));
    assert_eq!(a.label, None, "floating() drops an IPv6 label");
    assert_absent(t, &a);
    t.add_address(&a).expect("add");
    let got = find(t, &a).expect("listed after add");
    assert_eq!(got, a);
    assert!(holds(&t.addresses().expect("addresses"), v6(0x10)));
    t.del_address(&a).expect("del");
    assert_absent(t, &a);
}

fn duplicates(t: &mut dyn Interfaces, env: &Env) {
    let a = vip(env, v4(12), 25, Some(":1"));
    t.add_address(&a).expect("add");
    assert!(
        matches!(t.add_address(&a), Err(RtnlError::AlreadyExists)),
        "duplicate IPv4"
    );
    let b = vip(env, v6(0x12), 64, None);
    t.add_address(&b).expect("add v6");
    assert!(matches!(t.add_address(&b), Err(RtnlError::AlreadyExists)));
    // An IPv6 address is unique per interface, whatever the prefix.
    let b2 = vip(env, v6(0x12), 80, None);
    assert!(matches!(t.add_address(&b2), Err(RtnlError::AlreadyExists)));
    // IPv4 allows the same address again with another prefix.
    let a2 = vip(env, v4(12), 26, Some(":2"));
    t.add_address(&a2).expect("same IPv4 address, other prefix");
    assert!(find(t, &a).is_some() && find(t, &a2).is_some());
    t.del_address(&a).expect("del");
    assert!(find(t, &a2).is_some(), "the other prefix stays");
    t.del_address(&a2).expect("del");
    t.del_address(&b).expect("del v6");
    assert_absent(t, &a);
    assert_absent(t, &a2);
    assert_absent(t, &b);
}

fn missing(t: &mut dyn Interfaces, env: &Env) {
    let a = vip(env, v4(13), 25, Some(":1"));
    assert!(matches!(t.del_address(&a), Err(RtnlError::NotFound)));
    let b = vip(env, v6(0x13), 64, None);
    assert!(matches!(t.del_address(&b), Err(RtnlError::NotFound)));
    t.add_address(&a).expect("add");
    t.add_address(&b).expect("add v6");
    // The prefix is part of an address's identity, and so is a label given.
    let mut wrong = a.clone();
    wrong.prefix_len = 24;
    assert!(matches!(t.del_address(&wrong), Err(RtnlError::NotFound)));
    let mut wrong = a.clone();
    wrong.label = Some(format!("{}:2", env.name));
    assert!(matches!(t.del_address(&wrong), Err(RtnlError::NotFound)));
    let mut wrong = b.clone();
    wrong.prefix_len = 80;
    assert!(matches!(t.del_address(&wrong), Err(RtnlError::NotFound)));
    assert!(find(t, &a).is_some() && find(t, &b).is_some());
    t.del_address(&a).expect("del");
    t.del_address(&b).expect("del v6");
    assert!(matches!(t.del_address(&a), Err(RtnlError::NotFound)));
    assert_absent(t, &a);
    assert_absent(t, &b);
}

fn no_device(t: &mut dyn Interfaces, env: &Env) {
    for addr in [v4(14), v6(0x14)] {
        let mut a = vip(env, addr, 25, None);
        a.index = env.missing_index;
        let want = env.missing_index;
        assert!(
            matches!(t.add_address(&a), Err(RtnlError::NoDevice { index }) if index == want),
            "add {a}"
        );
        assert!(
            matches!(t.del_address(&a), Err(RtnlError::NoDevice { index }) if index == want),
            "del {a}"
        );
    }
}

fn invalid(t: &mut dyn Interfaces, env: &Env) {
    let mut a = vip(env, v4(15), 25, None);
    for label in [
        "foo",
        "eth9:1",
        &format!("{}:", env.name),
        &format!("{}:0123456789abcdef", env.name),
    ] {
        a.label = Some(label.to_owned());
        assert!(
            matches!(t.add_address(&a), Err(RtnlError::InvalidLabel { .. })),
            "label {label:?}"
        );
    }
    let mut b = vip(env, v6(0x15), 64, None);
    b.label = Some(env.name.clone());
    assert!(matches!(
        t.add_address(&b),
        Err(RtnlError::InvalidLabel { .. })
    ));
    let mut c = vip(env, v4(15), 25, None);
    c.prefix_len = 33;
    assert!(matches!(
        t.add_address(&c),
        Err(RtnlError::InvalidPrefix { .. })
    ));
    assert!(matches!(
        t.del_address(&c),
        Err(RtnlError::InvalidPrefix { .. })
    ));
    let mut d = vip(env, v6(0x15), 64, None);
    d.prefix_len = 129;
    assert!(matches!(
        t.add_address(&d),
        Err(RtnlError::InvalidPrefix { .. })
    ));
    assert_absent(t, &vip(env, v4(15), 25, None));
    assert_absent(t, &vip(env, v6(0x15), 64, None));
}

/// Piranha's `ifconfig eth0:1 down` trap: deleting one floating address
/// must leave the interface up and every other address in place, also when
/// the deleted one is the primary address of its subnet (the kernel then
/// deletes the subnet's secondaries with it unless `promote_secondaries`).
fn delete_keeps_others(t: &mut dyn Interfaces, env: &Env) {
    // 203.0.113.128/25 is not the base's subnet: the first VIP there is the
    // subnet's primary, the second its secondary.
    let primary = vip(env, v4(130), 25, Some(":1"));
    let secondary = vip(env, v4(131), 25, Some(":2"));
    // A VIP in the base's subnet: a secondary of the base address.
    let beside_base = vip(env, v4(20), 25, Some(":3"));
    let six = vip(env, v6(0x20), 64, None);
    for a in [&primary, &secondary, &beside_base, &six] {
        t.add_address(a).expect("add");
    }
    t.del_address(&primary)
        .expect("del primary of 203.0.113.128/25");
    assert_absent(t, &primary);
    for a in [&secondary, &beside_base, &six, &base(env)] {
        assert!(find(t, a).is_some(), "{a} survives deleting {primary}");
    }
    t.del_address(&beside_base).expect("del");
    for a in [&secondary, &six, &base(env)] {
        assert!(find(t, a).is_some(), "{a} survives deleting {beside_base}");
    }
    let links = t.links().expect("links");
    let link = link_by_index(&links, env.index).expect("listed");
    assert!(link.admin_up && link.lower_up, "interface still up: {link}");
    t.del_address(&secondary).expect("del");
    t.del_address(&six).expect("del");
    for a in [&primary, &secondary, &beside_base, &six] {
        assert_absent(t, a);
    }
    assert!(find(t, &base(env)).is_some());
}
