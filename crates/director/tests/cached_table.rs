//! The reconcile path (desired table → plan → apply) over
//! `ipvs::CachedTable`, as lvsd runs it: plans from memory, repairs a change
//! made behind its back at the next drift check (a real dump), and does not
//! trust memory after a failed write.

use std::collections::HashSet;

use director::{AllHealthy, apply, desired_table, plan};
use ipvs::{
    CachedTable, Change, Destination, DestinationKey, Forwarding, IpvsTable, MemoryIpvs,
    ServiceEntry, ServiceKey,
};

const CONFIG: &str = "\
network = nat
virtual web {
    active = 1
    address = 192.0.2.10 eth0:1
    port = 80
    scheduler = wlc
    server a {
        address = 198.51.100.2
        active = 1
        weight = 3
    }
    server b {
        address = 198.51.100.3
        active = 1
        weight = 5
    }
}
";

fn service() -> ServiceKey {
    ServiceKey::tcp("192.0.2.10".parse().expect("ip"), 80)
}

fn a() -> Destination {
    Destination::new("198.51.100.2".parse().expect("ip"), 80, Forwarding::Masq, 3)
}

fn b_key() -> DestinationKey {
    DestinationKey {
        addr: "198.51.100.3".parse().expect("ip"),
        port: 80,
    }
}

/// One reconcile as lvsd does it; the number of writes.
fn reconcile(table: &mut dyn IpvsTable) -> usize {
    let cfg = lvscf::parse_with(CONFIG, &lvscf::OfflineResolver)
        .config
        .expect("valid config");
    let desired = desired_table(&cfg, &AllHealthy);
    let current = table.list().expect("list");
    let p = plan(&desired, &current, &HashSet::from([service()]), None);
    let report = apply(table, &p);
    assert_eq!(report.failures().count(), 0);
    p.len()
}

/// Destinations as (address, weight), sorted.
fn weights(list: &[ServiceEntry]) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = list
        .iter()
        .flat_map(|e| &e.destinations)
        .map(|d| (d.destination.addr.to_string(), d.destination.weight))
        .collect();
    v.sort();
    v
}

fn wanted() -> Vec<(String, u32)> {
    vec![("198.51.100.2".into(), 3), ("198.51.100.3".into(), 5)]
}

#[test]
fn a_change_behind_its_back_is_repaired_at_the_drift_check() {
    let mut t = CachedTable::new(MemoryIpvs::new());
    assert_eq!(reconcile(&mut t), 3);
    assert_eq!(reconcile(&mut t), 0);
    assert_eq!(t.dumps(), 1, "the second reconcile planned from memory");

    // ipvsadm, behind lvsd's back: a's weight to 9, b deleted.
    let mut edited = a();
    edited.weight = 9;
    let behind = [
        Change::EditDestination {
            service: service(),
            destination: edited,
        },
        Change::DeleteDestination {
            service: service(),
            destination: b_key(),
        },
    ];
    assert!(t.inner_mut().apply(&behind).iter().all(Result::is_ok));
    // A reconcile between drift checks does not see it (that is the
    // point of the cache; the drift check bounds how long it lasts).
    assert_eq!(reconcile(&mut t), 0);
    assert_eq!(
        weights(&t.inner_mut().list().expect("list")),
        [("198.51.100.2".to_owned(), 9)]
    );

    // The drift check: a real dump, and the plan repairs both.
    t.invalidate_cache();
    assert_eq!(reconcile(&mut t), 2);
    assert_eq!(t.dumps(), 2);
    assert_eq!(weights(&t.inner_mut().list().expect("list")), wanted());
    assert_eq!(reconcile(&mut t), 0);
}

#[test]
fn after_a_failed_write_the_next_reconcile_reads_the_table() {
    let mut t = CachedTable::new(MemoryIpvs::new());
    reconcile(&mut t);
    // Behind its back b disappears; lvsd then edits b (its plan from
    // memory): the kernel says ENOENT.
    let del = Change::DeleteDestination {
        service: service(),
        destination: b_key(),
    };
    assert!(t.inner_mut().apply(&[del]).iter().all(Result::is_ok));
    let b = Destination::new(b_key().addr, 80, Forwarding::Masq, 6);
    let r = t.apply(&[Change::EditDestination {
        service: service(),
        destination: b,
    }]);
    assert!(r[0].is_err());
    // No drift check needed: memory was dropped with the failure.
    assert_eq!(reconcile(&mut t), 1, "b is added back");
    assert_eq!(t.dumps(), 2);
    assert_eq!(weights(&t.list().expect("list")), wanted());
}
