//! One suite of behaviour checks, run against every [`IpvsTable`].
//!
//! The normal `cargo test` runs it against [`crate::MemoryIpvs`]; the guest
//! kernel tests (`tests/kernel.rs`, feature `kernel-tests`) run the very same
//! cases against [`crate::NetlinkIpvs`].  A case panics on a mismatch and
//! leaves the table empty (it flushes first and last).
//!
//! Public for the two test binaries; not part of the crate's stable API.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::*;

/// What a case may assume about the table under test.
#[derive(Debug, Clone)]
pub struct Env {
    /// Schedulers the table has.
    pub schedulers: Vec<Scheduler>,
    /// In-tree schedulers it lacks (they must fail with `UnknownScheduler`).
    pub missing_schedulers: Vec<Scheduler>,
    /// An interface a sync daemon can bind to.
    pub sync_interface: String,
}

impl Env {
    /// Every in-tree scheduler present except those named in `missing`.
    pub fn without(missing: &[Scheduler], sync_interface: &str) -> Self {
        let all = Scheduler::IN_TREE;
        Env {
            schedulers: all
                .iter()
                .filter(|s| !missing.contains(s))
                .cloned()
                .collect(),
            missing_schedulers: missing.to_vec(),
            sync_interface: sync_interface.to_owned(),
        }
    }
}

/// A case: name and function.
pub type Case = (&'static str, fn(&mut dyn IpvsTable, &Env));

/// Every case, in a fixed order.
pub const CASES: &[Case] = &[
    ("info", info),
    ("flush_empties", flush_empties),
    ("add_list_roundtrip", add_list_roundtrip),
    ("persistence_netmask", persistence_netmask),
    ("service_flags", service_flags),
    ("edit_service", edit_service),
    ("edit_destination", edit_destination),
    ("delete", delete),
    ("duplicates", duplicates),
    ("missing", missing),
    ("schedulers", schedulers),
    ("invalid_arguments", invalid_arguments),
    ("out_of_range", out_of_range),
    ("mixed_family_tunnel", mixed_family_tunnel),
    ("zero", zero),
    ("timeouts", timeouts),
    ("sync_daemons", sync_daemons),
    ("batch_partial_failure", batch_partial_failure),
    ("large_batch", large_batch),
];

/// Run every case.
pub fn run_all(t: &mut dyn IpvsTable, env: &Env) {
    for (_, case) in CASES {
        case(t, env);
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last))
}

fn vip(n: u8) -> IpAddr {
    v4(192, 0, 2, n)
}

fn rip(n: u8) -> IpAddr {
    v4(198, 51, 100, n)
}

/// The table as sorted `(service, destinations)` pairs, counters dropped.
pub fn snapshot(t: &mut dyn IpvsTable) -> Vec<(Service, Vec<Destination>)> {
    let mut out: Vec<(Service, Vec<Destination>)> = t
        .list()
        .expect("list")
        .into_iter()
        .map(|e| {
            let mut d: Vec<Destination> =
                e.destinations.into_iter().map(|d| d.destination).collect();
            d.sort_by_key(Destination::key);
            (e.service, d)
        })
        .collect();
    out.sort_by_key(|(s, _)| s.key);
    out
}

fn ok(r: Result<(), IpvsError>, what: &str) {
    if let Err(e) = r {
        panic!("{what}: {e} ({e:?})");
    }
}

fn flush(t: &mut dyn IpvsTable) {
    ok(t.flush(), "flush");
}

fn assert_err(r: Result<(), IpvsError>, want: impl Fn(&IpvsError) -> bool, what: &str) {
    match r {
        Err(e) if want(&e) => {}
        other => panic!("{what}: unexpected {other:?}"),
    }
}

fn info(t: &mut dyn IpvsTable, _: &Env) {
    let i = t.info().expect("info");
    assert_eq!(i.version_triple(), (1, 2, 1));
    assert!(i.conn_tab_size >= 256, "conn_tab_size {}", i.conn_tab_size);
}

fn flush_empties(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    ok(
        t.add_service(&Service::new(ServiceKey::tcp(vip(1), 80), Scheduler::RR)),
        "add",
    );
    flush(t);
    assert!(t.list().expect("list").is_empty());
}

/// A table touching every key kind and forwarding method.
pub fn sample_table() -> Vec<(Service, Vec<Destination>)> {
    let gue = Tunnel {
        tun_type: TunnelType::Gue,
        port: 6080,
        flags: TunnelFlags::CSUM,
    };
    let gre = Tunnel {
        tun_type: TunnelType::Gre,
        port: 0,
        flags: TunnelFlags::REMCSUM,
    };
    let mut t = vec![
        (
            Service::new(ServiceKey::tcp(vip(10), 80), Scheduler::WLC),
            vec![
                Destination::new(rip(2), 80, Forwarding::Masq, 3),
                Destination {
                    upper_threshold: 100,
                    lower_threshold: 10,
                    ..Destination::new(rip(3), 80, Forwarding::DirectRoute, 0)
                },
                Destination::new(rip(4), 80, Forwarding::Tunnel(Tunnel::IPIP), 1),
            ],
        ),
        (
            Service::new(ServiceKey::udp(vip(11), 53), Scheduler::RR),
            vec![Destination::new(rip(5), 5353, Forwarding::Masq, 1)],
        ),
        (
            Service::new(ServiceKey::sctp(vip(12), 9), Scheduler::NQ),
            vec![],
        ),
        (
            Service::new(ServiceKey::fwmark(AddressFamily::Inet, 7), Scheduler::RR),
            vec![
                Destination::new(rip(6), 0, Forwarding::DirectRoute, 1),
                Destination::new(rip(7), 0, Forwarding::Masq, 2),
            ],
        ),
        (
            Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 7), Scheduler::WRR),
            vec![
                Destination::new(v6(5), 0, Forwarding::Tunnel(gue), 1),
                Destination::new(v6(6), 0, Forwarding::Tunnel(gre), 4),
            ],
        ),
        (
            Service::new(ServiceKey::tcp(v6(1), 443), Scheduler::LC),
            vec![
                Destination::new(v6(2), 443, Forwarding::Masq, 5),
                // Mixed family: a v4 real server behind a v6 service, tunnel only.
                Destination::new(rip(9), 443, Forwarding::Tunnel(Tunnel::IPIP), 1),
            ],
        ),
    ];
    for (_, d) in &mut t {
        d.sort_by_key(Destination::key);
    }
    t.sort_by_key(|(s, _)| s.key);
    t
}

fn program(t: &mut dyn IpvsTable, table: &[(Service, Vec<Destination>)]) {
    for (s, ds) in table {
        ok(t.add_service(s), "add service");
        for d in ds {
            ok(t.add_destination(&s.key, d), "add destination");
        }
    }
}

fn add_list_roundtrip(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let table = sample_table();
    program(t, &table);
    assert_eq!(snapshot(t), table);
    flush(t);
}

fn persistence_netmask(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let mut a = Service::new(ServiceKey::tcp(vip(20), 0), Scheduler::WLC);
    a.persistence = Some(Persistence {
        timeout: 300,
        netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
    });
    let mut b = Service::new(ServiceKey::tcp(v6(20), 80), Scheduler::SH);
    b.persistence = Some(Persistence {
        timeout: 60,
        netmask: Netmask::V6Prefix(64),
    });
    let mut c = Service::new(ServiceKey::fwmark(AddressFamily::Inet, 3), Scheduler::RR);
    c.persistence = Some(Persistence {
        timeout: 10,
        netmask: Netmask::default_for(AddressFamily::Inet),
    });
    let mut d = Service::new(ServiceKey::udp(vip(21), 53), Scheduler::RR);
    d.persistence = Some(Persistence {
        timeout: 0,
        netmask: Netmask::V4(Ipv4Addr::new(255, 255, 0, 0)),
    });
    for s in [&a, &b, &c, &d] {
        ok(t.add_service(s), "add persistent");
    }
    let mut want = vec![(a, vec![]), (b, vec![]), (c, vec![]), (d, vec![])];
    want.sort_by_key(|(s, _)| s.key);
    assert_eq!(snapshot(t), want);
    flush(t);
}

fn service_flags(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let mut a = Service::new(ServiceKey::udp(vip(30), 53), Scheduler::MH);
    a.flags = ServiceFlags::ONE_PACKET | ServiceFlags::SCHED1 | ServiceFlags::SCHED3;
    let mut b = Service::new(ServiceKey::tcp(vip(31), 80), Scheduler::SH);
    b.flags = ServiceFlags::SCHED1 | ServiceFlags::SCHED2;
    let mut c = Service::new(ServiceKey::fwmark(AddressFamily::Inet, 30), Scheduler::RR);
    c.flags = ServiceFlags::ONE_PACKET;
    for s in [&a, &b, &c] {
        ok(t.add_service(s), "add flagged");
    }
    let mut want = vec![(a, vec![]), (b, vec![]), (c, vec![])];
    want.sort_by_key(|(s, _)| s.key);
    assert_eq!(snapshot(t), want);
    flush(t);
}

fn edit_service(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let key = ServiceKey::tcp(vip(40), 80);
    let d = Destination::new(rip(40), 80, Forwarding::Masq, 1);
    ok(t.add_service(&Service::new(key, Scheduler::RR)), "add");
    ok(t.add_destination(&key, &d), "add dest");
    let mut edited = Service::new(key, Scheduler::WLC);
    edited.persistence = Some(Persistence {
        timeout: 120,
        netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
    });
    edited.flags = ServiceFlags::SCHED3;
    ok(t.edit_service(&edited), "edit");
    assert_eq!(snapshot(t), vec![(edited.clone(), vec![d.clone()])]);
    // And back to non-persistent: destinations stay.
    let plain = Service::new(key, Scheduler::SED);
    ok(t.edit_service(&plain), "edit back");
    assert_eq!(snapshot(t), vec![(plain, vec![d])]);
    flush(t);
}

fn edit_destination(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let key = ServiceKey::tcp(vip(41), 80);
    ok(t.add_service(&Service::new(key, Scheduler::WRR)), "add");
    let d = Destination::new(rip(41), 80, Forwarding::Masq, 1);
    ok(t.add_destination(&key, &d), "add dest");
    let gue = Tunnel {
        tun_type: TunnelType::Gue,
        port: 7000,
        flags: TunnelFlags::REMCSUM,
    };
    for e in [
        Destination {
            weight: 0,
            ..d.clone()
        },
        Destination {
            upper_threshold: 50,
            lower_threshold: 50,
            ..d.clone()
        },
        Destination {
            forwarding: Forwarding::DirectRoute,
            weight: 7,
            ..d.clone()
        },
        Destination {
            forwarding: Forwarding::Tunnel(gue),
            ..d.clone()
        },
        Destination {
            weight: i32::MAX.unsigned_abs(),
            ..d.clone()
        },
    ] {
        ok(t.edit_destination(&key, &e), "edit dest");
        assert_eq!(
            snapshot(t),
            vec![(Service::new(key, Scheduler::WRR), vec![e])]
        );
    }
    flush(t);
}

fn delete(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let table = sample_table();
    program(t, &table);
    let (s0, d0) = &table[0];
    ok(t.delete_destination(&s0.key, &d0[0].key()), "delete dest");
    ok(t.delete_service(&table[1].0.key), "delete service");
    let mut want = table.clone();
    want[0].1.remove(0);
    want.remove(1);
    assert_eq!(snapshot(t), want);
    flush(t);
}

fn duplicates(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let key = ServiceKey::tcp(vip(50), 80);
    let svc = Service::new(key, Scheduler::RR);
    ok(t.add_service(&svc), "add");
    // Different settings, same identity: still a duplicate.
    let other = Service::new(key, Scheduler::WLC);
    assert_err(
        t.add_service(&other),
        |e| matches!(e, IpvsError::AlreadyExists(Object::Service)),
        "dup service",
    );
    let d = Destination::new(rip(50), 80, Forwarding::Masq, 1);
    ok(t.add_destination(&key, &d), "add dest");
    let d2 = Destination {
        weight: 9,
        forwarding: Forwarding::DirectRoute,
        ..d.clone()
    };
    assert_err(
        t.add_destination(&key, &d2),
        |e| matches!(e, IpvsError::AlreadyExists(Object::Destination)),
        "dup dest",
    );
    // Same mark, other family: a different service.
    ok(
        t.add_service(&Service::new(
            ServiceKey::fwmark(AddressFamily::Inet, 5),
            Scheduler::RR,
        )),
        "fwm4",
    );
    ok(
        t.add_service(&Service::new(
            ServiceKey::fwmark(AddressFamily::Inet6, 5),
            Scheduler::RR,
        )),
        "fwm6",
    );
    // Same address and port, other protocol: different too.
    ok(
        t.add_service(&Service::new(ServiceKey::udp(vip(50), 80), Scheduler::RR)),
        "udp twin",
    );
    assert_eq!(snapshot(t).len(), 4);
    flush(t);
}

fn missing(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let key = ServiceKey::tcp(vip(60), 80);
    let d = Destination::new(rip(60), 80, Forwarding::Masq, 1);
    let no_service = |e: &IpvsError| {
        matches!(
            e,
            IpvsError::NotFound {
                object: Object::Service,
                errno: 3
            }
        )
    };
    let no_dest = |e: &IpvsError| {
        matches!(
            e,
            IpvsError::NotFound {
                object: Object::Destination,
                errno: 2
            }
        )
    };
    assert_err(
        t.edit_service(&Service::new(key, Scheduler::RR)),
        no_service,
        "edit missing service",
    );
    assert_err(t.delete_service(&key), no_service, "delete missing service");
    assert_err(
        t.add_destination(&key, &d),
        no_service,
        "dest of missing service",
    );
    assert_err(
        t.edit_destination(&key, &d),
        no_service,
        "edit dest of missing service",
    );
    assert_err(
        t.delete_destination(&key, &d.key()),
        no_service,
        "del dest of missing service",
    );
    assert_err(t.zero(Some(&key)), no_service, "zero missing service");
    ok(t.add_service(&Service::new(key, Scheduler::RR)), "add");
    assert_err(t.edit_destination(&key, &d), no_dest, "edit missing dest");
    assert_err(
        t.delete_destination(&key, &d.key()),
        no_dest,
        "delete missing dest",
    );
    // Port is part of the destination's identity.
    ok(t.add_destination(&key, &d), "add dest");
    assert_err(
        t.delete_destination(
            &key,
            &DestinationKey {
                addr: d.addr,
                port: 81,
            },
        ),
        no_dest,
        "other port",
    );
    flush(t);
}

fn schedulers(t: &mut dyn IpvsTable, env: &Env) {
    flush(t);
    for (i, s) in env.schedulers.iter().enumerate() {
        let port = 1000 + u16::try_from(i).unwrap_or(0);
        let svc = Service::new(ServiceKey::tcp(vip(70), port), s.clone());
        ok(t.add_service(&svc), s.name());
        ok(
            t.add_destination(
                &svc.key,
                &Destination::new(rip(70), port, Forwarding::Masq, 2),
            ),
            s.name(),
        );
    }
    for s in &env.missing_schedulers {
        let svc = Service::new(ServiceKey::tcp(vip(71), 80), s.clone());
        assert_err(
            t.add_service(&svc),
            |e| matches!(e, IpvsError::UnknownScheduler(n) if n == s.name()),
            s.name(),
        );
    }
    let bogus = Service::new(ServiceKey::tcp(vip(71), 80), Scheduler::new("nosuch"));
    assert_err(
        t.add_service(&bogus),
        |e| matches!(e, IpvsError::UnknownScheduler(n) if n == "nosuch"),
        "nosuch",
    );
    // Editing to an unknown scheduler is the same error and leaves the service alone.
    let key = ServiceKey::tcp(vip(70), 1000);
    assert_err(
        t.edit_service(&Service::new(key, Scheduler::new("nosuch"))),
        |e| matches!(e, IpvsError::UnknownScheduler(_)),
        "edit nosuch",
    );
    let snap = snapshot(t);
    assert_eq!(snap.len(), env.schedulers.len());
    let first = snap
        .iter()
        .find(|(s, _)| s.key == key)
        .expect("first service");
    assert_eq!(Some(&first.0.scheduler), env.schedulers.first());
    // "none" is the kernel's explicit no-scheduler.
    ok(
        t.add_service(&Service::new(ServiceKey::tcp(vip(72), 80), Scheduler::NONE)),
        "none",
    );
    flush(t);
}

fn invalid_arguments(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let inval = |e: &IpvsError| matches!(e, IpvsError::InvalidArgument);
    for p in [0u8, 129] {
        let mut s = Service::new(ServiceKey::tcp(v6(80), 80), Scheduler::RR);
        s.persistence = Some(Persistence {
            timeout: 10,
            netmask: Netmask::V6Prefix(p),
        });
        assert_err(t.add_service(&s), inval, "v6 prefix");
    }
    let long = Service::new(
        ServiceKey::tcp(vip(80), 80),
        Scheduler::new("a-very-long-scheduler-name"),
    );
    assert_err(t.add_service(&long), inval, "long scheduler name");
    let key = ServiceKey::tcp(vip(80), 80);
    ok(t.add_service(&Service::new(key, Scheduler::RR)), "add");
    let gue0 = Tunnel {
        tun_type: TunnelType::Gue,
        port: 0,
        flags: TunnelFlags::NOCSUM,
    };
    assert_err(
        t.add_destination(
            &key,
            &Destination::new(rip(80), 80, Forwarding::Tunnel(gue0), 1),
        ),
        inval,
        "gue port 0",
    );
    for bad in [v4(0, 0, 0, 0), v4(224, 0, 0, 1), v4(255, 255, 255, 255)] {
        assert_err(
            t.add_destination(&key, &Destination::new(bad, 80, Forwarding::Masq, 1)),
            inval,
            "non-unicast",
        );
    }
    // A v6 real server behind a v4 service needs a tunnel.
    assert_err(
        t.add_destination(&key, &Destination::new(v6(80), 80, Forwarding::Masq, 1)),
        inval,
        "mixed masq",
    );
    assert_err(
        t.add_destination(
            &key,
            &Destination::new(v6(80), 80, Forwarding::DirectRoute, 1),
        ),
        inval,
        "mixed dr",
    );
    assert_eq!(
        snapshot(t),
        vec![(Service::new(key, Scheduler::RR), vec![])]
    );
    flush(t);
}

fn out_of_range(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let range = |e: &IpvsError| matches!(e, IpvsError::OutOfRange);
    let key = ServiceKey::tcp(vip(90), 80);
    ok(t.add_service(&Service::new(key, Scheduler::WRR)), "add");
    let d = Destination::new(rip(90), 80, Forwarding::Masq, 1);
    let too_heavy = Destination {
        weight: 1 << 31,
        ..d.clone()
    };
    assert_err(t.add_destination(&key, &too_heavy), range, "weight 2^31");
    let inverted = Destination {
        upper_threshold: 5,
        lower_threshold: 10,
        ..d.clone()
    };
    assert_err(t.add_destination(&key, &inverted), range, "l > u");
    let no_upper = Destination {
        upper_threshold: 0,
        lower_threshold: 10,
        ..d.clone()
    };
    assert_err(t.add_destination(&key, &no_upper), range, "l > u = 0");
    ok(
        t.add_destination(
            &key,
            &Destination {
                weight: i32::MAX.unsigned_abs(),
                ..d.clone()
            },
        ),
        "max weight",
    );
    assert_err(
        t.edit_destination(&key, &too_heavy),
        range,
        "edit weight 2^31",
    );
    assert_err(t.edit_destination(&key, &inverted), range, "edit l > u");
    flush(t);
}

fn mixed_family_tunnel(t: &mut dyn IpvsTable, env: &Env) {
    flush(t);
    let key = ServiceKey::tcp(vip(95), 80);
    ok(t.add_service(&Service::new(key, Scheduler::RR)), "add");
    let d6 = Destination::new(v6(95), 80, Forwarding::Tunnel(Tunnel::IPIP), 1);
    ok(
        t.add_destination(&key, &d6),
        "v6 tunnel dest behind v4 service",
    );
    // A sync daemon refuses to start while mixed-family destinations exist.
    let daemon = SyncDaemon::new(DaemonState::Master, env.sync_interface.clone(), 1);
    assert_err(
        t.start_daemon(&daemon),
        |e| matches!(e, IpvsError::InvalidArgument),
        "daemon with mixed dests",
    );
    ok(t.delete_destination(&key, &d6.key()), "delete mixed");
    ok(t.start_daemon(&daemon), "daemon");
    // …and while it runs, mixed-family destinations are refused.
    assert_err(
        t.add_destination(&key, &d6),
        |e| matches!(e, IpvsError::InvalidArgument),
        "mixed with daemon",
    );
    ok(t.stop_daemon(DaemonState::Master), "stop");
    flush(t);
}

fn zero(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let key = ServiceKey::tcp(vip(96), 80);
    ok(t.add_service(&Service::new(key, Scheduler::RR)), "add");
    ok(t.zero(Some(&key)), "zero one");
    ok(t.zero(None), "zero all");
    let listed = t.list().expect("list");
    assert_eq!(listed[0].stats, Stats::default());
    flush(t);
}

fn timeouts(t: &mut dyn IpvsTable, _: &Env) {
    let before = t.timeouts().expect("timeouts");
    ok(
        t.set_timeouts(&Timeouts {
            tcp: 100,
            tcp_fin: 20,
            udp: 30,
        }),
        "set",
    );
    assert_eq!(
        t.timeouts().expect("get"),
        Timeouts {
            tcp: 100,
            tcp_fin: 20,
            udp: 30
        }
    );
    // Zero leaves a value alone.
    ok(
        t.set_timeouts(&Timeouts {
            tcp: 0,
            tcp_fin: 21,
            udp: 0,
        }),
        "partial",
    );
    assert_eq!(
        t.timeouts().expect("get"),
        Timeouts {
            tcp: 100,
            tcp_fin: 21,
            udp: 30
        }
    );
    assert_err(
        t.set_timeouts(&Timeouts {
            tcp: u32::MAX,
            tcp_fin: 0,
            udp: 0,
        }),
        |e| matches!(e, IpvsError::InvalidArgument),
        "huge timeout",
    );
    ok(t.set_timeouts(&before), "restore");
    assert_eq!(t.timeouts().expect("get"), before);
}

fn sync_daemons(t: &mut dyn IpvsTable, env: &Env) {
    flush(t);
    for d in t.daemons().expect("daemons") {
        ok(t.stop_daemon(d.state), "stop leftover daemon");
    }
    let master = SyncDaemon::new(DaemonState::Master, env.sync_interface.clone(), 5);
    ok(t.start_daemon(&master), "start master");
    assert_err(
        t.start_daemon(&master),
        |e| matches!(e, IpvsError::AlreadyExists(Object::Daemon)),
        "master twice",
    );
    let backup = SyncDaemon {
        mcast_port: Some(8849),
        mcast_ttl: Some(2),
        ..SyncDaemon::new(DaemonState::Backup, env.sync_interface.clone(), 6)
    };
    ok(t.start_daemon(&backup), "start backup");
    let listed = t.daemons().expect("daemons");
    let find = |s| {
        listed
            .iter()
            .find(|d| d.state == s)
            .cloned()
            .expect("daemon listed")
    };
    let (m, b) = (find(DaemonState::Master), find(DaemonState::Backup));
    assert_eq!(
        (m.mcast_ifn.as_str(), m.syncid),
        (env.sync_interface.as_str(), 5)
    );
    assert_eq!(
        (b.syncid, b.mcast_port, b.mcast_ttl),
        (6, Some(8849), Some(2))
    );
    assert_eq!(
        m.mcast_group,
        Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81)))
    );
    ok(t.stop_daemon(DaemonState::Master), "stop master");
    let gone = |e: &IpvsError| {
        matches!(
            e,
            IpvsError::NotFound {
                object: Object::Daemon,
                ..
            }
        )
    };
    assert_err(
        t.stop_daemon(DaemonState::Master),
        gone,
        "stop master twice",
    );
    ok(t.stop_daemon(DaemonState::Backup), "stop backup");
    assert!(t.daemons().expect("daemons").is_empty());
    let nodev = SyncDaemon::new(DaemonState::Master, "nosuchif0", 1);
    assert_err(
        t.start_daemon(&nodev),
        |e| matches!(e, IpvsError::NoSuchDevice(_)),
        "no such interface",
    );
    flush(t);
}

fn batch_partial_failure(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let a = Service::new(ServiceKey::tcp(vip(100), 80), Scheduler::RR);
    let ghost = ServiceKey::tcp(vip(101), 80);
    let d = Destination::new(rip(100), 80, Forwarding::Masq, 1);
    let batch = vec![
        Change::AddService(a.clone()),
        Change::AddService(a.clone()),
        Change::AddDestination {
            service: ghost,
            destination: d.clone(),
        },
        Change::AddDestination {
            service: a.key,
            destination: d.clone(),
        },
        Change::EditDestination {
            service: a.key,
            destination: Destination {
                weight: 1 << 31,
                ..d.clone()
            },
        },
        Change::AddService(Service::new(ghost, Scheduler::new("nosuch"))),
        Change::EditDestination {
            service: a.key,
            destination: Destination {
                weight: 4,
                ..d.clone()
            },
        },
        Change::DeleteDestination {
            service: a.key,
            destination: DestinationKey {
                addr: rip(200),
                port: 80,
            },
        },
    ];
    let r = t.apply(&batch);
    assert_eq!(r.len(), batch.len());
    assert!(r[0].is_ok(), "{:?}", r[0]);
    assert!(
        matches!(r[1], Err(IpvsError::AlreadyExists(Object::Service))),
        "{:?}",
        r[1]
    );
    assert!(
        matches!(
            r[2],
            Err(IpvsError::NotFound {
                object: Object::Service,
                ..
            })
        ),
        "{:?}",
        r[2]
    );
    assert!(r[3].is_ok(), "{:?}", r[3]);
    assert!(matches!(r[4], Err(IpvsError::OutOfRange)), "{:?}", r[4]);
    assert!(
        matches!(&r[5], Err(IpvsError::UnknownScheduler(n)) if n == "nosuch"),
        "{:?}",
        r[5]
    );
    assert!(r[6].is_ok(), "{:?}", r[6]);
    assert!(
        matches!(
            r[7],
            Err(IpvsError::NotFound {
                object: Object::Destination,
                ..
            })
        ),
        "{:?}",
        r[7]
    );
    assert_eq!(snapshot(t), vec![(a, vec![Destination { weight: 4, ..d }])]);
    flush(t);
}

/// `n` TCP services on 203.0.113.x / 192.0.2.x with `per` destinations each.
pub fn generated_table(n: usize, per: usize) -> Vec<(Service, Vec<Destination>)> {
    (0..n)
        .map(|i| {
            let hi = u8::try_from(i / 250).unwrap_or(u8::MAX);
            let lo = u8::try_from(i % 250).unwrap_or(0) + 1;
            let port = 80 + u16::from(hi);
            let key = ServiceKey::tcp(v4(203, 0, 113, lo), port);
            let dests = (0..per)
                .map(|j| {
                    let j = u8::try_from(j).unwrap_or(0);
                    Destination::new(
                        v4(198, 51, 100, lo),
                        port + u16::from(j) * 1000,
                        Forwarding::Masq,
                        1,
                    )
                })
                .collect();
            (Service::new(key, Scheduler::WLC), dests)
        })
        .collect()
}

/// The changes that program `table` from empty.
pub fn program_changes(table: &[(Service, Vec<Destination>)]) -> Vec<Change> {
    let mut out = Vec::new();
    for (s, ds) in table {
        out.push(Change::AddService(s.clone()));
        for d in ds {
            out.push(Change::AddDestination {
                service: s.key,
                destination: d.clone(),
            });
        }
    }
    out
}

fn large_batch(t: &mut dyn IpvsTable, _: &Env) {
    flush(t);
    let mut table = generated_table(600, 3);
    let results = t.apply(&program_changes(&table));
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    for (_, d) in &mut table {
        d.sort_by_key(Destination::key);
    }
    table.sort_by_key(|(s, _)| s.key);
    assert_eq!(snapshot(t), table);
    flush(t);
}
