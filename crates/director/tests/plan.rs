//! Table-driven tests of the desired-table function and the reconciler:
//! a configuration (and health) change → the exact list of writes.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use director::{
    AllHealthy, DesiredDestination, Health, ServerId, SkipReason, Skipped, desired_table, plan,
};
use ipvs::{
    Change, Destination, DestinationEntry, DestinationKey, Forwarding, Netmask, Persistence,
    Scheduler, Service, ServiceEntry, ServiceKey, Stats, Timeouts,
};
use lvscf::{Config, InterfaceAddress, RealServer, VirtualServer};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn server(name: &str, addr: &str, port: u16, weight: u32) -> RealServer {
    let mut rs = RealServer::new(name, ip(addr), port);
    rs.active = true;
    rs.weight = weight;
    rs
}

fn web(name: &str, vip: &str) -> VirtualServer {
    let mut vs = VirtualServer::new(name);
    vs.active = true;
    vs.address = Some(InterfaceAddress {
        addr: ip(vip),
        device: "eth0:1".into(),
    });
    vs.servers = vec![
        server("web1", "192.0.2.11", 80, 3),
        server("web2", "192.0.2.12", 80, 1),
    ];
    vs
}

fn config(virtuals: Vec<VirtualServer>) -> Config {
    Config {
        virtuals,
        ..Config::default()
    }
}

fn key(vip: &str) -> ServiceKey {
    ServiceKey::tcp(ip(vip), 80)
}

fn dest(addr: &str, weight: u32) -> Destination {
    Destination::new(ip(addr), 80, Forwarding::Masq, weight)
}

/// What the kernel would list after installing `changes` on an empty table.
fn kernel_after(changes: &[Change]) -> Vec<ServiceEntry> {
    let mut entries: Vec<ServiceEntry> = Vec::new();
    for c in changes {
        match c {
            Change::AddService(s) => entries.push(ServiceEntry {
                service: s.clone(),
                stats: Stats::default(),
                destinations: Vec::new(),
            }),
            Change::AddDestination {
                service,
                destination,
            } => {
                let e = entries
                    .iter_mut()
                    .find(|e| e.service.key == *service)
                    .expect("service added first");
                e.destinations.push(DestinationEntry {
                    destination: destination.clone(),
                    active_conns: 0,
                    inactive_conns: 0,
                    persist_conns: 0,
                    stats: Stats::default(),
                });
            }
            Change::SetTimeouts(_) => {}
            other => panic!("not an install step: {other:?}"),
        }
    }
    entries
}

#[test]
fn converged_table_of_a_fresh_config() {
    let cfg = config(vec![web("http", "203.0.113.10")]);
    let table = desired_table(&cfg, &AllHealthy);
    assert!(table.skipped.is_empty());
    let p = plan(&table, &[], &HashSet::new(), None);
    assert_eq!(
        p.changes(),
        vec![
            Change::AddService(Service::new(key("203.0.113.10"), Scheduler::WLC)),
            Change::AddDestination {
                service: key("203.0.113.10"),
                destination: dest("192.0.2.11", 3),
            },
            Change::AddDestination {
                service: key("203.0.113.10"),
                destination: dest("192.0.2.12", 1),
            },
        ]
    );
}

#[test]
fn unchanged_config_means_zero_writes() {
    let cfg = config(vec![
        web("http", "203.0.113.10"),
        web("alt", "203.0.113.11"),
    ]);
    let table = desired_table(&cfg, &AllHealthy);
    let kernel = kernel_after(&plan(&table, &[], &HashSet::new(), None).changes());
    let again = plan(&table, &kernel, &table.keys(), None);
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn one_changed_weight_is_one_destination_edit() {
    let before = config(vec![
        web("http", "203.0.113.10"),
        web("alt", "203.0.113.11"),
    ]);
    let kernel = kernel_after(
        &plan(
            &desired_table(&before, &AllHealthy),
            &[],
            &HashSet::new(),
            None,
        )
        .changes(),
    );
    let mut after = before.clone();
    after.virtuals[1].servers[0].weight = 7;
    let table = desired_table(&after, &AllHealthy);
    let p = plan(&table, &kernel, &table.keys(), None);
    assert_eq!(
        p.changes(),
        vec![Change::EditDestination {
            service: key("203.0.113.11"),
            destination: dest("192.0.2.11", 7),
        }]
    );
}

#[test]
fn changed_scheduler_and_persistence_are_one_service_edit() {
    let before = config(vec![web("http", "203.0.113.10")]);
    let kernel = kernel_after(
        &plan(
            &desired_table(&before, &AllHealthy),
            &[],
            &HashSet::new(),
            None,
        )
        .changes(),
    );
    let mut after = before.clone();
    after.virtuals[0].scheduler = lvscf::Scheduler::Rr;
    after.virtuals[0].persistent = 300;
    after.virtuals[0].pmask = Some(lvscf::Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)));
    let table = desired_table(&after, &AllHealthy);
    let mut want = Service::new(key("203.0.113.10"), Scheduler::RR);
    want.persistence = Some(Persistence {
        timeout: 300,
        netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
    });
    assert_eq!(
        plan(&table, &kernel, &table.keys(), None).changes(),
        vec![Change::EditService(want)]
    );
}

#[test]
fn removed_real_server_deletes_only_its_destination() {
    let before = config(vec![web("http", "203.0.113.10")]);
    let kernel = kernel_after(
        &plan(
            &desired_table(&before, &AllHealthy),
            &[],
            &HashSet::new(),
            None,
        )
        .changes(),
    );
    let mut after = before.clone();
    after.virtuals[0].servers.remove(0);
    let table = desired_table(&after, &AllHealthy);
    assert_eq!(
        plan(&table, &kernel, &table.keys(), None).changes(),
        vec![Change::DeleteDestination {
            service: key("203.0.113.10"),
            destination: DestinationKey {
                addr: ip("192.0.2.11"),
                port: 80
            },
        }]
    );
}

#[test]
fn removed_virtual_is_deleted_but_foreign_services_are_not() {
    let before = config(vec![
        web("http", "203.0.113.10"),
        web("alt", "203.0.113.11"),
    ]);
    let old = desired_table(&before, &AllHealthy);
    let mut kernel = kernel_after(&plan(&old, &[], &HashSet::new(), None).changes());
    // Someone else's service, added with ipvsadm.
    kernel.push(ServiceEntry {
        service: Service::new(key("198.51.100.99"), Scheduler::RR),
        stats: Stats::default(),
        destinations: Vec::new(),
    });
    let after = config(vec![web("http", "203.0.113.10")]);
    let table = desired_table(&after, &AllHealthy);
    assert_eq!(
        plan(&table, &kernel, &old.keys(), None).changes(),
        vec![Change::DeleteService(key("203.0.113.11"))]
    );
}

#[test]
fn inactive_virtuals_and_servers_are_left_out() {
    let mut vs = web("http", "203.0.113.10");
    vs.servers[1].active = false;
    let mut off = web("off", "203.0.113.11");
    off.active = false;
    let table = desired_table(&config(vec![vs, off]), &AllHealthy);
    let names: Vec<&str> = table
        .services
        .iter()
        .map(|s| s.virtual_name.as_str())
        .collect();
    assert_eq!(names, ["http"]);
    assert_eq!(
        table.services[0].destinations,
        vec![DesiredDestination::Present {
            server: Some(ServerId::new("http", "web1")),
            destination: dest("192.0.2.11", 3),
        }]
    );
}

#[test]
fn health_decides_presence_and_weight() {
    let cfg = config(vec![web("http", "203.0.113.10")]);
    let mut health = HashMap::new();
    health.insert(ServerId::new("http", "web1"), Health::Quiesced);
    health.insert(ServerId::new("http", "web2"), Health::Down);
    let table = desired_table(&cfg, &health);
    assert_eq!(
        table.services[0].destinations,
        vec![DesiredDestination::Present {
            server: Some(ServerId::new("http", "web1")),
            destination: dest("192.0.2.11", 0),
        }]
    );
    health.insert(ServerId::new("http", "web2"), Health::Up { weight: 2 });
    let table = desired_table(&cfg, &health);
    // The weight is the monitor's, not the configured one (1).
    assert_eq!(
        table.services[0].destinations,
        vec![
            DesiredDestination::Present {
                server: Some(ServerId::new("http", "web1")),
                destination: dest("192.0.2.11", 0),
            },
            DesiredDestination::Present {
                server: Some(ServerId::new("http", "web2")),
                destination: dest("192.0.2.12", 2),
            },
        ]
    );
}

#[test]
fn unknown_health_adopts_what_the_kernel_has() {
    let cfg = config(vec![web("http", "203.0.113.10")]);
    // The kernel already has web1 at a ramped weight and no web2.
    let kernel = kernel_after(&[
        Change::AddService(Service::new(key("203.0.113.10"), Scheduler::WLC)),
        Change::AddDestination {
            service: key("203.0.113.10"),
            destination: dest("192.0.2.11", 2),
        },
    ]);
    let nothing_known: HashMap<ServerId, Health> = HashMap::new();
    let table = desired_table(&cfg, &nothing_known);
    let p = plan(&table, &kernel, &table.keys(), None);
    assert!(p.is_empty(), "adoption must not write: {p:?}");
}

#[test]
fn sorry_server_only_while_every_server_is_known_down() {
    let mut vs = web("http", "203.0.113.10");
    vs.sorry_server = Some(ip("198.51.100.250"));
    let cfg = config(vec![vs]);
    let mut health = HashMap::new();
    health.insert(ServerId::new("http", "web1"), Health::Down);
    // web2 unknown: no sorry server yet.
    assert!(!desired_table(&cfg, &health).services[0].sorry_server_active());
    health.insert(ServerId::new("http", "web2"), Health::Down);
    let down = desired_table(&cfg, &health);
    assert!(down.services[0].sorry_server_active());
    assert_eq!(
        down.services[0].destinations,
        vec![DesiredDestination::Present {
            server: None,
            destination: dest("198.51.100.250", 1),
        }]
    );
    // One comes back: the sorry server leaves in the same plan that adds it.
    let kernel = kernel_after(&plan(&down, &[], &HashSet::new(), None).changes());
    health.insert(ServerId::new("http", "web2"), Health::Up { weight: 1 });
    let up = desired_table(&cfg, &health);
    assert_eq!(
        plan(&up, &kernel, &up.keys(), None).changes(),
        vec![
            Change::DeleteDestination {
                service: key("203.0.113.10"),
                destination: DestinationKey {
                    addr: ip("198.51.100.250"),
                    port: 80
                },
            },
            Change::AddDestination {
                service: key("203.0.113.10"),
                destination: dest("192.0.2.12", 1),
            },
        ]
    );
}

#[test]
fn fwmark_persistence_and_forwarding() {
    let mut vs = web("marked", "203.0.113.10");
    vs.fwmark = Some(7);
    vs.persistent = 60;
    let mut cfg = config(vec![vs]);
    cfg.network = lvscf::Forwarding::Direct;
    let table = desired_table(&cfg, &AllHealthy);
    let svc = &table.services[0].service;
    assert_eq!(svc.key, ServiceKey::fwmark(ipvs::AddressFamily::Inet, 7));
    assert_eq!(
        svc.persistence,
        Some(Persistence {
            timeout: 60,
            netmask: Netmask::V4(Ipv4Addr::BROADCAST)
        })
    );
    let DesiredDestination::Present { destination, .. } = &table.services[0].destinations[0] else {
        panic!("present");
    };
    assert_eq!(destination.forwarding, Forwarding::DirectRoute);
}

#[test]
fn duplicate_services_and_servers_are_skipped_with_reasons() {
    let mut a = web("a", "203.0.113.10");
    a.servers.push(server("web1-again", "192.0.2.11", 80, 5));
    let b = web("b", "203.0.113.10");
    let table = desired_table(&config(vec![a, b]), &AllHealthy);
    assert_eq!(table.services.len(), 1);
    let reasons: Vec<_> = table.skipped.iter().map(|s| s.reason.clone()).collect();
    assert_eq!(
        reasons,
        vec![
            SkipReason::DuplicateServer {
                first: "web1".into()
            },
            SkipReason::DuplicateService { first: "a".into() },
        ]
    );
}

#[test]
fn ipv6_service_with_prefix_persistence() {
    let mut vs = web("v6", "2001:db8::10");
    vs.servers = vec![server("r1", "2001:db8:1::11", 80, 1)];
    vs.persistent = 120;
    vs.pmask = Some(lvscf::Netmask::Prefix(64));
    let table = desired_table(&config(vec![vs]), &AllHealthy);
    assert_eq!(
        table.services[0].service.persistence.map(|p| p.netmask),
        Some(Netmask::V6Prefix(64))
    );
    // A v4 real server behind a v6 VIP needs a tunnel.
    let mut mixed = web("mixed", "2001:db8::10");
    mixed.servers = vec![server("r4", "192.0.2.11", 80, 1)];
    let table = desired_table(&config(vec![mixed]), &AllHealthy);
    assert_eq!(table.skipped[0].reason, SkipReason::FamilyMismatch);
}

#[test]
fn timeouts_are_written_only_when_set_and_different() {
    let mut cfg = config(vec![]);
    cfg.tcp_timeout = 900;
    let table = desired_table(&cfg, &AllHealthy);
    let t = Timeouts {
        tcp: 900,
        tcp_fin: 0,
        udp: 0,
    };
    assert_eq!(
        plan(&table, &[], &HashSet::new(), None).changes(),
        vec![Change::SetTimeouts(t)]
    );
    let running = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    assert!(plan(&table, &[], &HashSet::new(), Some(running)).is_empty());
    let cfg = config(vec![]);
    assert!(
        plan(
            &desired_table(&cfg, &AllHealthy),
            &[],
            &HashSet::new(),
            None
        )
        .is_empty()
    );
}

#[test]
fn a_sorry_server_that_is_a_real_server_is_not_brought_back() {
    // The sorry server stands in for dead servers; it must not re-add one.
    let mut vs = web("http", "203.0.113.10");
    vs.sorry_server = Some(ip("192.0.2.12"));
    let cfg = config(vec![vs]);
    let mut health = HashMap::new();
    health.insert(ServerId::new("http", "web1"), Health::Down);
    health.insert(ServerId::new("http", "web2"), Health::Down);
    let table = desired_table(&cfg, &health);
    assert_eq!(table.services[0].destinations, vec![]);
}

#[test]
fn an_ipv4_prefix_pmask_is_a_dotted_mask() {
    let mut vs = web("http", "203.0.113.10");
    vs.persistent = 300;
    vs.pmask = Some(lvscf::Netmask::Prefix(20));
    let table = desired_table(&config(vec![vs]), &AllHealthy);
    assert_eq!(
        table.services[0].service.persistence,
        Some(Persistence {
            timeout: 300,
            netmask: Netmask::V4(Ipv4Addr::new(255, 255, 240, 0)),
        })
    );
}

#[test]
fn ipv6_real_servers_of_an_ipv4_virtual_only_through_a_tunnel() {
    let mut vs = web("http", "203.0.113.10");
    vs.servers.push(server("v6", "2001:db8::11", 80, 1));
    let mut cfg = config(vec![vs]);
    let nat = desired_table(&cfg, &AllHealthy);
    assert_eq!(nat.services[0].destinations.len(), 2);
    assert_eq!(
        nat.skipped,
        vec![Skipped {
            virtual_name: "http".into(),
            server: Some("v6".into()),
            reason: SkipReason::FamilyMismatch,
        }]
    );
    cfg.network = lvscf::Forwarding::Tunnel;
    let tun = desired_table(&cfg, &AllHealthy);
    assert!(tun.skipped.is_empty(), "{:?}", tun.skipped);
    let addrs: Vec<IpAddr> = tun.services[0]
        .destinations
        .iter()
        .map(|d| d.key().addr)
        .collect();
    assert_eq!(
        addrs,
        [ip("192.0.2.11"), ip("192.0.2.12"), ip("2001:db8::11")]
    );
}

#[test]
fn writes_come_in_the_documented_order() {
    // Kernel: "old" (ours, no longer wanted) and "kept" with web1 at 3.
    let before = config(vec![
        web("old", "203.0.113.20"),
        web("kept", "203.0.113.10"),
    ]);
    let kernel = kernel_after(
        &plan(
            &desired_table(&before, &AllHealthy),
            &[],
            &HashSet::new(),
            None,
        )
        .changes(),
    );
    let mut kept = web("kept", "203.0.113.10");
    kept.servers[0].weight = 4;
    let after = config(vec![web("new", "203.0.113.30"), kept]);
    let desired = desired_table(&after, &AllHealthy);
    let owned: HashSet<ServiceKey> = [key("203.0.113.20"), key("203.0.113.10")].into();
    let changes = plan(&desired, &kernel, &owned, None).changes();
    // Gone services first, then the kept service's edits, then new services
    // with their destinations.
    assert_eq!(
        changes,
        vec![
            Change::DeleteService(key("203.0.113.20")),
            Change::EditDestination {
                service: key("203.0.113.10"),
                destination: dest("192.0.2.11", 4),
            },
            Change::AddService(Service::new(key("203.0.113.30"), Scheduler::WLC)),
            Change::AddDestination {
                service: key("203.0.113.30"),
                destination: dest("192.0.2.11", 3),
            },
            Change::AddDestination {
                service: key("203.0.113.30"),
                destination: dest("192.0.2.12", 1),
            },
        ]
    );
}

/// A table that answers fewer results than it was given changes.
struct ShortReplies(ipvs::MemoryIpvs);

impl ipvs::IpvsTable for ShortReplies {
    fn info(&mut self) -> Result<ipvs::Info, ipvs::IpvsError> {
        self.0.info()
    }
    fn list(&mut self) -> Result<Vec<ServiceEntry>, ipvs::IpvsError> {
        self.0.list()
    }
    fn timeouts(&mut self) -> Result<Timeouts, ipvs::IpvsError> {
        self.0.timeouts()
    }
    fn daemons(&mut self) -> Result<Vec<ipvs::SyncDaemon>, ipvs::IpvsError> {
        self.0.daemons()
    }
    fn apply(&mut self, batch: &[Change]) -> Vec<Result<(), ipvs::IpvsError>> {
        let mut r = self.0.apply(batch);
        r.truncate(1);
        r
    }
}

#[test]
fn a_change_without_a_reply_counts_as_failed() {
    let desired = desired_table(&config(vec![web("http", "203.0.113.10")]), &AllHealthy);
    let p = plan(&desired, &[], &HashSet::new(), None);
    assert_eq!(p.len(), 3);
    let mut table = ShortReplies(ipvs::MemoryIpvs::new());
    let report = director::apply(&mut table, &p);
    assert_eq!(report.results.len(), 3);
    assert_eq!(report.succeeded(), 1);
    assert_eq!(report.failures().count(), 2);
}

#[test]
fn sorry_server_of_a_virtual_without_active_servers() {
    let mut vs = web("http", "203.0.113.10");
    vs.sorry_server = Some(ip("198.51.100.250"));
    for rs in &mut vs.servers {
        rs.active = false;
    }
    let table = desired_table(&config(vec![vs]), &AllHealthy);
    assert_eq!(
        table.services[0].destinations,
        vec![DesiredDestination::Present {
            server: None,
            destination: dest("198.51.100.250", 1),
        }]
    );
}
