//! lvsd's decision step ([`director::Lvsd`]) against the in-memory IPVS
//! table: events in, actions out, the table checked against literal
//! `ipvsadm -S -n` lines.
//!
//! The rig: one real server `r1` (192.0.2.11) in three virtuals (a VIP
//! service on port 80, a fwmark service and a second port, at weights 3, 6
//! and 7), and `r2` (192.0.2.12) in the first two at weights 1 and 2. The
//! monitor reports are the bytes nanny writes, through the same decoder.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use director::lvsd::{
    Action, Command, Control, ControlError, Event, Log, MonitorId, MonitorSpec, Options,
};
use director::{Health, Lvsd, ServerId};
use health::report::{Decoder, OwnedReport};
use ipvs::{IpvsTable, MemoryIpvs};
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

fn virt(name: &str, port: u16, fwmark: Option<u32>, servers: Vec<RealServer>) -> VirtualServer {
    let mut vs = VirtualServer::new(name);
    vs.active = true;
    vs.address = Some(InterfaceAddress {
        addr: ip("203.0.113.10"),
        device: "eth0:1".into(),
    });
    vs.port = port;
    vs.fwmark = fwmark;
    vs.servers = servers;
    vs
}

/// The rig's configuration; `w` are r1's weights in web, mark and tls.
fn config_with(w: [u32; 3]) -> Config {
    Config {
        hard_shutdown: false,
        virtuals: vec![
            virt(
                "web",
                80,
                None,
                vec![
                    server("r1", "192.0.2.11", 80, w[0]),
                    server("r2", "192.0.2.12", 80, 1),
                ],
            ),
            virt(
                "mark",
                80,
                Some(7),
                vec![
                    server("r1", "192.0.2.11", 80, w[1]),
                    server("r2", "192.0.2.12", 80, 2),
                ],
            ),
            virt(
                "tls",
                443,
                None,
                vec![server("r1", "192.0.2.11", 443, w[2])],
            ),
        ],
        ..Config::default()
    }
}

fn config() -> Config {
    config_with([3, 6, 7])
}

/// The converged table of [`config`], as `ipvsadm -S -n` writes it.
const CONVERGED: &[&str] = &[
    "-A -t 203.0.113.10:80 -s wlc",
    "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 3",
    "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 1",
    "-A -f 7 -s wlc",
    "-a -f 7 -r 192.0.2.11:80 -m -w 6",
    "-a -f 7 -r 192.0.2.12:80 -m -w 2",
    "-A -t 203.0.113.10:443 -s wlc",
    "-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 7",
];

/// The services alone (no server checked yet).
const EMPTY_SERVICES: &[&str] = &[
    "-A -t 203.0.113.10:80 -s wlc",
    "-A -f 7 -s wlc",
    "-A -t 203.0.113.10:443 -s wlc",
];

fn lines(l: &[&str]) -> BTreeSet<String> {
    l.iter().map(|s| (*s).to_owned()).collect()
}

/// The table as `ipvsadm -S -n` lines.
fn saved(table: &mut MemoryIpvs) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in table.list().expect("list") {
        out.insert(ipvs::save::service_line(&e.service));
        for d in &e.destinations {
            out.insert(ipvs::save::destination_line(&e.service.key, &d.destination));
        }
    }
    out
}

fn sid(v: &str, s: &str) -> ServerId {
    ServerId::new(v, s)
}

/// Every (virtual, server) of the rig with its configured weight.
const SERVERS: &[(&str, &str, u32)] = &[
    ("web", "r1", 3),
    ("web", "r2", 1),
    ("mark", "r1", 6),
    ("mark", "r2", 2),
    ("tls", "r1", 7),
];

/// Decode what a monitor wrote: `header` first, as nanny does.
fn decode(header: &str, body: &str) -> Vec<OwnedReport> {
    let mut d = Decoder::new();
    d.push(format!("{header}\n{body}\n").as_bytes());
    let mut out = Vec::new();
    while let Some(r) = d.next_report() {
        out.push(r.expect("valid report line"));
    }
    out
}

/// lvsd's step with the loop's part played by the test: monitors are
/// "started" by recording them, reconciles go to the memory table.
struct Rig {
    lvsd: Lvsd,
    table: MemoryIpvs,
    t0: Instant,
    now: Instant,
    /// Running monitors as the loop would know them: id → (spec, generation).
    monitors: Vec<(MonitorSpec, u64)>,
    /// Every action seen, in order.
    actions: Vec<Action>,
    logs: Vec<Log>,
    exit: Option<u8>,
}

impl Rig {
    fn new(config: Config) -> Self {
        Rig::with_table(config, MemoryIpvs::new())
    }

    fn with_table(config: Config, table: MemoryIpvs) -> Self {
        let now = Instant::now();
        Rig {
            lvsd: Lvsd::new(Options::default(), config),
            table,
            t0: now,
            now,
            monitors: Vec::new(),
            actions: Vec::new(),
            logs: Vec::new(),
            exit: None,
        }
    }

    /// Feed one event and carry out its actions; returns them.
    fn feed(&mut self, event: Event) -> Vec<Action> {
        let actions = self.lvsd.on(self.now, event);
        let mut reconcile = false;
        for a in &actions {
            match a {
                Action::StartMonitor { spec, generation } => {
                    self.monitors.retain(|(s, _)| s.id != spec.id);
                    self.monitors.push((spec.clone(), *generation));
                }
                Action::StopMonitor { id, .. } => self.monitors.retain(|(s, _)| s.id != *id),
                Action::Reconcile => reconcile = true,
                Action::Log(l) => self.logs.push(l.clone()),
                Action::Exit(code) => {
                    if reconcile {
                        self.reconcile();
                        reconcile = false;
                    }
                    self.exit = Some(*code);
                }
                _ => {}
            }
        }
        if reconcile {
            self.reconcile();
        }
        self.actions.extend(actions.iter().cloned());
        actions
    }

    fn reconcile(&mut self) {
        let logs = self.lvsd.reconcile(&mut self.table, self.now);
        self.logs.extend(logs);
    }

    fn start(&mut self) -> Vec<Action> {
        self.feed(Event::Start)
    }

    fn generation(&self, id: &MonitorId) -> u64 {
        self.monitors
            .iter()
            .find(|(s, _)| s.id == *id)
            .map(|(_, g)| *g)
            .unwrap_or_else(|| panic!("no monitor {id}"))
    }

    /// Lines from the per-server monitor of `v/s` (with its header the first
    /// time: pass `header = true`).
    fn say(&mut self, v: &str, s: &str, header: bool, body: &str) {
        let id = MonitorId::Server(sid(v, s));
        let generation = self.generation(&id);
        let mut reports = decode("nanny-report 1", body);
        if !header {
            reports.remove(0);
        }
        for report in reports {
            self.feed(Event::Report {
                id: id.clone(),
                generation,
                report: Ok(report),
            });
        }
    }

    /// Every monitor's first words: the header, a passing check and the
    /// want of a server entering service (`max(1, weight / 32)`).
    fn all_enter(&mut self) {
        for (v, s, w) in SERVERS {
            let first = (w >> 5).max(1);
            self.say(
                v,
                s,
                true,
                &format!("check ok connected\nwant {first}\nstate active"),
            );
        }
    }

    /// Every monitor reports its full weight (end of the ramp).
    fn all_full(&mut self) {
        for (v, s, w) in SERVERS {
            self.say(v, s, false, &format!("check ok connected\nwant {w}"));
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    fn writes(&self) -> u64 {
        self.lvsd.counters().total_writes
    }

    fn table(&mut self) -> BTreeSet<String> {
        saved(&mut self.table)
    }
}

/// A table converged by one lvsd, handed to a second one as after kill -9.
fn converged_table() -> MemoryIpvs {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    assert_eq!(rig.table(), lines(CONVERGED));
    rig.table
}

/// A monitor that programs its own entry (a site's `client_monitor`, the
/// original nanny) finds its service: at start the reconcile that creates
/// the services is asked for before any monitor is started, as piranha
/// created the services before forking the nannies.
#[test]
fn start_asks_for_the_services_before_any_monitor() {
    let mut rig = Rig::new(config());
    let actions = rig.start();
    let reconcile = actions.iter().position(|a| matches!(a, Action::Reconcile));
    let first_monitor = actions
        .iter()
        .position(|a| matches!(a, Action::StartMonitor { .. }));
    assert!(
        matches!((reconcile, first_monitor), (Some(r), Some(m)) if r < m),
        "reconcile at {reconcile:?}, first monitor at {first_monitor:?}: {actions:?}"
    );
}

#[test]
fn start_installs_services_and_servers_enter_at_a_thirty_second_of_their_weight() {
    let mut rig = Rig::new(config());
    let actions = rig.start();
    let started: Vec<&MonitorId> = actions
        .iter()
        .filter_map(|a| match a {
            Action::StartMonitor { spec, .. } => Some(&spec.id),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 5, "one monitor per active server");
    // Nothing checked yet: services only, no server guessed up.
    assert_eq!(rig.table(), lines(EMPTY_SERVICES));
    assert_eq!(rig.lvsd.counters().last_reload_writes, 3);
    rig.all_enter();
    assert_eq!(
        rig.table(),
        lines(&[
            "-A -t 203.0.113.10:80 -s wlc",
            "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 1",
            "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 1",
            "-A -f 7 -s wlc",
            "-a -f 7 -r 192.0.2.11:80 -m -w 1",
            "-a -f 7 -r 192.0.2.12:80 -m -w 1",
            "-A -t 203.0.113.10:443 -s wlc",
            "-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 1",
        ])
    );
    // The ramp of a server entering service is the monitor's, step by step.
    rig.say("tls", "r1", false, "check ok connected\nwant 2");
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 2")
    );
    rig.all_full();
    assert_eq!(rig.table(), lines(CONVERGED));
}

// Regression: after kill -9 and a restart, every adopted entry above weight 1
// was cut to max(1, w/32) at its new nanny's first check.
#[test]
fn restart_after_kill_9_adopts_weights_above_one_without_a_write() {
    let mut rig = Rig::with_table(config(), converged_table());
    rig.start();
    assert_eq!(rig.writes(), 0);
    assert_eq!(rig.table(), lines(CONVERGED));
    // Each new nanny's first verdict is that of a server entering service
    // (weight / 32); the entries were serving and keep their weight.
    rig.all_enter();
    assert_eq!(rig.table(), lines(CONVERGED), "{:?}", rig.logs);
    // The rest of each nanny's ramp: never below the kernel's weight.
    for (v, s, w) in SERVERS {
        let mut step = (w >> 5).max(1);
        while step < *w {
            step = (step * 2).min(*w);
            rig.say(v, s, false, &format!("check ok connected\nwant {step}"));
            assert_eq!(rig.table(), lines(CONVERGED), "{v}/{s} at {step}");
        }
    }
    assert_eq!(rig.writes(), 0, "{:?}", rig.logs);
    for (v, s, w) in SERVERS {
        assert_eq!(rig.lvsd.health(&sid(v, s)), Health::Up { weight: *w });
    }
    // After the ramp the monitor's word is law again (a load monitor).
    rig.say("mark", "r1", false, "want 4");
    assert!(rig.table().contains("-a -f 7 -r 192.0.2.11:80 -m -w 4"));
}

#[test]
fn an_adopted_entry_mid_ramp_is_held_until_the_monitor_passes_it() {
    // lvsd died while web/r1 (weight 100) was ramping at 12.
    let mut table = MemoryIpvs::new();
    let mut first = Rig::with_table(config_with([100, 6, 7]), MemoryIpvs::new());
    first.start();
    first.say("web", "r1", true, "check ok c\nwant 3\nwant 6\nwant 12");
    std::mem::swap(&mut table, &mut first.table);
    let mut rig = Rig::with_table(config_with([100, 6, 7]), table);
    rig.start();
    rig.say("web", "r1", true, "check ok c\nwant 3\nwant 6\nwant 12");
    assert_eq!(rig.writes(), 0);
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 12")
    );
    rig.say("web", "r1", false, "want 24");
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 24")
    );
}

#[test]
fn a_quiesced_entry_re_enters_with_slow_start() {
    // Weight 0 in the kernel is not serving: the server enters service.
    let mut table = converged_table();
    let key = ipvs::ServiceKey::fwmark(ipvs::AddressFamily::Inet, 7);
    table
        .edit_destination(
            &key,
            &ipvs::Destination::new(ip("192.0.2.11"), 80, ipvs::Forwarding::Masq, 0),
        )
        .expect("edit");
    let mut rig = Rig::with_table(config(), table);
    rig.start();
    rig.say("mark", "r1", true, "check ok c\nwant 1");
    assert!(rig.table().contains("-a -f 7 -r 192.0.2.11:80 -m -w 1"));
}

// Regression: a fresh nanny reports a failing first check only as
// `check fail`, which lvsd ignored: the dead server stayed for good.
#[test]
fn a_server_that_died_while_lvsd_was_down_leaves_at_its_first_failed_check() {
    let mut rig = Rig::with_table(config(), converged_table());
    rig.start();
    // nanny starts "inactive": a failing first check says only `check fail`.
    rig.say(
        "mark",
        "r1",
        true,
        "check fail CONNECT to 192.0.2.11:80 failed: Connection refused",
    );
    let mut want = lines(CONVERGED);
    want.remove("-a -f 7 -r 192.0.2.11:80 -m -w 6");
    assert_eq!(rig.table(), want);
    assert_eq!(rig.writes(), 1);
    assert_eq!(rig.lvsd.health(&sid("mark", "r1")), Health::Down);
    let check = rig.lvsd.check(&sid("mark", "r1")).expect("check");
    assert!(!check.ok);
    // Its later passing check and want bring it back with slow start.
    rig.say("mark", "r1", false, "check ok c\nwant 1");
    assert!(rig.table().contains("-a -f 7 -r 192.0.2.11:80 -m -w 1"));
}

#[test]
fn first_failed_check_with_quiesce_keeps_the_entry_at_weight_zero() {
    let mut cfg = config();
    cfg.virtuals[2].quiesce_server = true;
    let mut rig = Rig::with_table(cfg, converged_table());
    rig.start();
    rig.say("tls", "r1", true, "check fail CONNECT timed out");
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 0")
    );
    assert_eq!(rig.lvsd.health(&sid("tls", "r1")), Health::Quiesced);
}

#[test]
fn a_server_never_seen_up_that_fails_stays_out() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.say("web", "r2", true, "check fail CONNECT refused");
    assert_eq!(rig.table(), lines(EMPTY_SERVICES));
    assert_eq!(rig.lvsd.health(&sid("web", "r2")), Health::Down);
}

#[test]
fn forced_down_before_the_first_verdict_takes_an_adopted_entry_out() {
    let mut rig = Rig::with_table(config(), converged_table());
    rig.start();
    // A fresh nanny thinks its server is out: SIGUSR1 says only the mode.
    rig.say("web", "r1", true, "mode forced-down");
    assert!(
        !rig.table()
            .contains("-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 3")
    );
}

/// Let `web/r1`'s monitor die and be restarted; returns the new generation.
fn kill_and_restart(rig: &mut Rig, v: &str, s: &str) -> u64 {
    let id = MonitorId::Server(sid(v, s));
    let generation = rig.generation(&id);
    rig.advance(Duration::from_secs(5));
    let actions = rig.feed(Event::Exited {
        id: id.clone(),
        generation,
        status: "signal: 9 (SIGKILL)".into(),
    });
    let at = actions
        .iter()
        .find_map(|a| match a {
            Action::ScheduleRestart { id: i, at } if *i == id => Some(*at),
            _ => None,
        })
        .expect("restart scheduled");
    rig.now = at;
    let actions = rig.feed(Event::Tick);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::StartMonitor { spec, .. } if spec.id == id)),
        "{actions:?}"
    );
    let new = rig.generation(&id);
    assert_ne!(new, generation);
    new
}

// Regression: a nanny restarted after a crash (hard_shutdown = 0) cut its
// server's weight like an lvsd restart did.
#[test]
fn a_restarted_nanny_keeps_the_entry_at_its_weight() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    let writes = rig.writes();
    kill_and_restart(&mut rig, "tls", "r1");
    assert_eq!(rig.table(), lines(CONVERGED), "kept while unwatched");
    rig.say("tls", "r1", true, "check ok c\nwant 1\nstate active");
    rig.say("tls", "r1", false, "check ok c\nwant 2");
    rig.say("tls", "r1", false, "check ok c\nwant 4");
    assert_eq!(rig.table(), lines(CONVERGED));
    assert_eq!(rig.writes(), writes);
}

#[test]
fn a_restarted_nanny_whose_server_died_takes_it_out() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    kill_and_restart(&mut rig, "web", "r2");
    rig.say("web", "r2", true, "check fail CONNECT refused");
    assert!(
        !rig.table()
            .contains("-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 1")
    );
}

#[test]
fn reports_of_a_replaced_monitor_are_void() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    let id = MonitorId::Server(sid("web", "r1"));
    let old = rig.generation(&id);
    kill_and_restart(&mut rig, "web", "r1");
    let report = decode("nanny-report 1", "want none").remove(1);
    let actions = rig.feed(Event::Report {
        id,
        generation: old,
        report: Ok(report),
    });
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(rig.table(), lines(CONVERGED));
}

#[test]
fn restart_backoff_doubles_to_a_minute_and_resets_after_a_long_run() {
    let mut rig = Rig::new(config());
    rig.start();
    let id = MonitorId::Server(sid("web", "r1"));
    let mut delays = Vec::new();
    for _ in 0..9 {
        let generation = rig.generation(&id);
        rig.advance(Duration::from_millis(100));
        let actions = rig.feed(Event::Exited {
            id: id.clone(),
            generation,
            status: "exit status: 1".into(),
        });
        let at = actions
            .iter()
            .find_map(|a| match a {
                Action::ScheduleRestart { at, .. } => Some(*at),
                _ => None,
            })
            .expect("scheduled");
        delays.push((at - rig.now).as_secs());
        // Not before its time.
        rig.now = at - Duration::from_millis(1);
        assert!(
            !rig.feed(Event::Tick)
                .iter()
                .any(|a| matches!(a, Action::StartMonitor { .. }))
        );
        rig.now = at;
        assert!(
            rig.feed(Event::Tick)
                .iter()
                .any(|a| matches!(a, Action::StartMonitor { .. }))
        );
    }
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    // A monitor that ran a minute starts over at one second.
    let generation = rig.generation(&id);
    rig.advance(Duration::from_secs(61));
    let actions = rig.feed(Event::Exited {
        id,
        generation,
        status: "exit status: 1".into(),
    });
    assert!(actions.contains(&Action::Log(Log::Died {
        id: MonitorId::Server(sid("web", "r1")),
        members: 1,
        how: "exit status: 1".into(),
        restart_in: Some(Duration::from_secs(1)),
    })));
    assert_eq!(
        actions
            .iter()
            .find(|a| matches!(a, Action::Log(Log::Died { .. })))
            .map(|a| match a {
                Action::Log(l) => l.to_string(),
                _ => String::new(),
            }),
        Some("nanny for child web/r1 died! (exit status: 1) restarting it in 1 s".into())
    );
}

#[test]
fn a_monitor_that_fails_to_start_is_retried_with_backoff() {
    let mut rig = Rig::new(config());
    rig.start();
    let id = MonitorId::Server(sid("web", "r1"));
    let generation = rig.generation(&id);
    let actions = rig.feed(Event::StartFailed {
        id: id.clone(),
        generation,
        error: "No such file or directory (os error 2)".into(),
    });
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::ScheduleRestart { at, .. } if *at == rig.now + Duration::from_secs(1)
    )));
    // No running monitor meanwhile: control is refused.
    let actions = rig.feed(Event::Control {
        command: Control::Monitor(Command::Down),
        server: sid("web", "r1"),
    });
    assert_eq!(
        actions,
        [Action::Refuse(ControlError::NoMonitor(sid("web", "r1")))]
    );
    rig.advance(Duration::from_secs(1));
    let actions = rig.feed(Event::Tick);
    let generation = actions
        .iter()
        .find_map(|a| match a {
            Action::StartMonitor { generation, .. } => Some(*generation),
            _ => None,
        })
        .expect("restarted");
    let actions = rig.feed(Event::StartFailed {
        id,
        generation,
        error: "again".into(),
    });
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::ScheduleRestart { at, .. } if *at == rig.now + Duration::from_secs(2)
    )));
}

#[test]
fn a_server_whose_monitor_cannot_start_leaves_the_table() {
    // A missing client_monitor used to leave the adopted entry in the
    // table for good, checked by nobody.
    let mut rig = Rig::with_table(config(), converged_table());
    rig.start();
    let id = MonitorId::Server(sid("web", "r1"));
    let generation = rig.generation(&id);
    rig.feed(Event::StartFailed {
        id: id.clone(),
        generation,
        error: "/nonexistent/monitor: No such file or directory (os error 2)".into(),
    });
    let mut want = lines(CONVERGED);
    want.remove("-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 3");
    assert_eq!(rig.table(), want);
    // It comes back only through a monitor that runs and passes it.
    rig.advance(Duration::from_secs(1));
    let actions = rig.feed(Event::Tick);
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::StartMonitor { .. }))
    );
    assert_eq!(rig.table(), want);
}

#[test]
fn hard_shutdown_exits_1_through_the_plan_and_keeps_foreign_services() {
    let mut table = MemoryIpvs::new();
    let foreign = ipvs::ServiceKey::tcp(ip("198.51.100.99"), 443);
    table
        .add_service(&ipvs::Service::new(foreign, ipvs::Scheduler::RR))
        .expect("foreign");
    let mut cfg = config();
    cfg.hard_shutdown = true;
    let mut rig = Rig::with_table(cfg, table);
    rig.start();
    rig.all_enter();
    let id = MonitorId::Server(sid("tls", "r1"));
    let generation = rig.generation(&id);
    let actions = rig.feed(Event::Exited {
        id,
        generation,
        status: "signal: 9 (SIGKILL)".into(),
    });
    let stops = actions
        .iter()
        .filter(|a| matches!(a, Action::StopMonitor { .. }))
        .count();
    assert_eq!(stops, 4, "the other monitors are stopped");
    assert_eq!(
        actions
            .iter()
            .filter(|a| !matches!(a, Action::StopMonitor { .. } | Action::Log(_)))
            .cloned()
            .collect::<Vec<_>>(),
        [
            Action::AwaitMonitors {
                grace: director::lvsd::STOP_GRACE
            },
            Action::Reconcile,
            Action::Exit(1)
        ]
    );
    assert!(
        rig.logs
            .iter()
            .any(|l| l.to_string() == "nanny for child tls/r1 died! shutting down lvs")
    );
    assert_eq!(rig.exit, Some(1));
    assert_eq!(rig.table(), lines(&["-A -t 198.51.100.99:443 -s rr"]));
    let removed: BTreeSet<String> = rig
        .logs
        .iter()
        .filter(|l| matches!(l, Log::ServiceRemoved { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        removed,
        lines(&[
            "shutting down virtual service web",
            "shutting down virtual service mark",
            "shutting down virtual service tls",
        ])
    );
    // Nothing more happens after shutdown began.
    assert!(rig.feed(Event::Tick).is_empty());
}

#[test]
fn sigterm_removes_adopted_services_too() {
    let mut rig = Rig::with_table(config(), converged_table());
    rig.start();
    let actions = rig.feed(Event::Shutdown { code: 0 });
    assert_eq!(actions.last(), Some(&Action::Exit(0)));
    assert_eq!(rig.table(), BTreeSet::new());
}

#[test]
fn reload_removes_a_dropped_virtual_and_never_a_foreign_service() {
    let mut table = converged_table();
    let foreign = ipvs::ServiceKey::tcp(ip("198.51.100.99"), 443);
    table
        .add_service(&ipvs::Service::new(foreign, ipvs::Scheduler::RR))
        .expect("foreign");
    let mut rig = Rig::with_table(config(), table);
    rig.start();
    assert!(
        rig.lvsd
            .owned()
            .contains(&ipvs::ServiceKey::fwmark(ipvs::AddressFamily::Inet, 7))
    );
    assert!(!rig.lvsd.owned().contains(&foreign));
    let mut cfg = config();
    cfg.virtuals.retain(|v| v.name != "mark");
    let actions = rig.feed(Event::Reload(Box::new(cfg)));
    let stopped: Vec<&MonitorId> = actions
        .iter()
        .filter_map(|a| match a {
            Action::StopMonitor { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(
        stopped,
        [
            &MonitorId::Server(sid("mark", "r1")),
            &MonitorId::Server(sid("mark", "r2"))
        ]
    );
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::StartMonitor { .. })),
        "unchanged monitors are not restarted: {actions:?}"
    );
    assert_eq!(
        rig.table(),
        lines(&[
            "-A -t 203.0.113.10:80 -s wlc",
            "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 3",
            "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 1",
            "-A -t 203.0.113.10:443 -s wlc",
            "-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 7",
            "-A -t 198.51.100.99:443 -s rr",
        ])
    );
    assert_eq!(rig.lvsd.counters().last_reload_writes, 1);
    rig.feed(Event::Shutdown { code: 0 });
    assert_eq!(rig.table(), lines(&["-A -t 198.51.100.99:443 -s rr"]));
}

#[test]
fn reload_lowering_a_weight_applies_at_once_and_the_ramp_does_not_cut_it() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    let writes = rig.writes();
    let actions = rig.feed(Event::Reload(Box::new(config_with([3, 4, 7]))));
    let restarted: Vec<&MonitorId> = actions
        .iter()
        .filter_map(|a| match a {
            Action::StartMonitor { spec, .. } => Some(&spec.id),
            _ => None,
        })
        .collect();
    assert_eq!(restarted, [&MonitorId::Server(sid("mark", "r1"))]);
    assert_eq!(rig.lvsd.counters().last_reload_writes, 1);
    assert_eq!(rig.writes(), writes + 1);
    assert!(rig.table().contains("-a -f 7 -r 192.0.2.11:80 -m -w 4"));
    rig.say("mark", "r1", true, "check ok c\nwant 1\nwant 2");
    assert!(rig.table().contains("-a -f 7 -r 192.0.2.11:80 -m -w 4"));
    assert_eq!(rig.writes(), writes + 1);
}

// Regression: a weight raised by reload was installed on a server that had
// just died, and stayed.
#[test]
fn reload_raising_a_weight_waits_for_the_new_monitors_first_verdict() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    let writes = rig.writes();
    // web/r2 1 → 5 just as it died: the raise must never reach the kernel.
    let mut cfg = config();
    cfg.virtuals[0].servers[1].weight = 5;
    rig.feed(Event::Reload(Box::new(cfg.clone())));
    assert_eq!(rig.lvsd.counters().last_reload_writes, 0);
    assert_eq!(rig.table(), lines(CONVERGED));
    assert_eq!(rig.lvsd.health(&sid("web", "r2")), Health::Up { weight: 1 });
    rig.say("web", "r2", true, "check fail CONNECT refused");
    assert!(
        !rig.table()
            .iter()
            .any(|l| l.contains("192.0.2.12:80 -m -w 5"))
    );
    assert!(
        !rig.table()
            .contains("-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 1")
    );
    assert_eq!(rig.writes(), writes + 1);

    // The same raise on a healthy server: one write at the first verdict,
    // and the new nanny's ramp does not pull it back.
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    let writes = rig.writes();
    rig.feed(Event::Reload(Box::new(cfg)));
    rig.say("web", "r2", true, "check ok c\nwant 1\nstate active");
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 5")
    );
    rig.say("web", "r2", false, "check ok c\nwant 2\nwant 4");
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 5")
    );
    assert_eq!(rig.writes(), writes + 1);
}

#[test]
fn unchanged_reload_writes_nothing_and_restarts_nothing() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    let actions = rig.feed(Event::Reload(Box::new(config())));
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::StartMonitor { .. } | Action::StopMonitor { .. }))
    );
    assert_eq!(rig.lvsd.counters().last_reload_writes, 0);
    assert_eq!(rig.lvsd.counters().reloads, 1);
    rig.feed(Event::ReloadFailed);
    assert_eq!(rig.lvsd.counters().reloads, 2);
    assert!(rig.lvsd.counters().last_reload_failed);
    assert_eq!(rig.table(), lines(CONVERGED));
}

#[test]
fn a_refused_scheduler_is_logged_once_and_retried_at_reload() {
    let table = MemoryIpvs::new().with_schedulers(["wlc", "rr"]);
    let mut cfg = config();
    cfg.virtuals[2].scheduler = lvscf::Scheduler::Twos;
    let mut rig = Rig::with_table(cfg.clone(), table);
    rig.start();
    rig.all_enter();
    let refusals = rig
        .logs
        .iter()
        .filter(|l| matches!(l, Log::ServiceRefused { .. }))
        .count();
    assert_eq!(refusals, 1, "{:?}", rig.logs);
    assert!(rig.lvsd.refused("tls").is_some());
    assert!(!rig.table().iter().any(|l| l.contains(":443")));
    // A reload tries again (and is refused again, once).
    rig.feed(Event::Reload(Box::new(cfg)));
    let refusals = rig
        .logs
        .iter()
        .filter(|l| matches!(l, Log::ServiceRefused { .. }))
        .count();
    assert_eq!(refusals, 2);
}

#[test]
fn drift_is_repaired_on_the_tick_after_thirty_seconds() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    let key = ipvs::ServiceKey::tcp(ip("203.0.113.10"), 443);
    rig.table.delete_service(&key).expect("behind lvsd's back");
    rig.advance(Duration::from_secs(29));
    assert!(!rig.feed(Event::Tick).contains(&Action::Reconcile));
    rig.advance(Duration::from_secs(1));
    assert!(rig.feed(Event::Tick).contains(&Action::Reconcile));
    assert_eq!(rig.table(), lines(CONVERGED));
}

#[test]
fn control_reaches_the_servers_monitor() {
    let mut rig = Rig::new(config());
    rig.start();
    let generation = rig.generation(&MonitorId::Server(sid("mark", "r2")));
    let actions = rig.feed(Event::Control {
        command: Control::Monitor(Command::Up),
        server: sid("mark", "r2"),
    });
    assert_eq!(
        actions[0],
        Action::Signal {
            id: MonitorId::Server(sid("mark", "r2")),
            generation,
            index: 0,
            command: Command::Up,
        }
    );
    assert_eq!(
        rig.feed(Event::Control {
            command: Control::Monitor(Command::Down),
            server: sid("mark", "nosuch"),
        }),
        [Action::Refuse(ControlError::NoMonitor(sid(
            "mark", "nosuch"
        )))]
    );
    assert_eq!(
        director::lvsd::parse_command("sideways"),
        Err(ControlError::UnknownAction("sideways".into()))
    );
    for c in Control::ALL {
        assert_eq!(director::lvsd::parse_command(c.as_str()), Ok(c));
    }
    assert_eq!(director::lvsd::parse_command("drain"), Ok(Control::Drain));
}

#[test]
fn shared_monitor_indexes_name_its_servers() {
    let mut cfg = config();
    cfg.nanny_mode = lvscf::NannyMode::Shared;
    let mut rig = Rig::with_table(cfg, converged_table());
    let actions = rig.start();
    let shared: Vec<(&MonitorSpec, u64)> = actions
        .iter()
        .filter_map(|a| match a {
            Action::StartMonitor { spec, generation } => Some((spec, *generation)),
            _ => None,
        })
        .collect();
    // web and mark check alike (port 80, same options): one nanny for both,
    // web's servers first; tls (port 443) has its own.
    assert_eq!(shared.len(), 2, "one per set of virtuals that check alike");
    let id = MonitorId::Shared("web+mark".into());
    assert_eq!(
        shared[0].0.members,
        [
            sid("web", "r1"),
            sid("web", "r2"),
            sid("mark", "r1"),
            sid("mark", "r2")
        ]
    );
    let generation = rig.generation(&id);
    // mark's r2 (server 3) died while lvsd was down; mark's r1 (server 2)
    // enters service.
    for report in decode(
        "nanny-report 2",
        "2 check ok c\n2 want 1\n3 check fail CONNECT refused",
    ) {
        rig.feed(Event::Report {
            id: id.clone(),
            generation,
            report: Ok(report),
        });
    }
    let mut want = lines(CONVERGED);
    want.remove("-a -f 7 -r 192.0.2.12:80 -m -w 2");
    assert_eq!(rig.table(), want);
    let actions = rig.feed(Event::Control {
        command: Control::Monitor(Command::Normal),
        server: sid("mark", "r2"),
    });
    assert_eq!(
        actions[0],
        Action::Signal {
            id,
            generation,
            index: 3,
            command: Command::Normal,
        }
    );
}

#[test]
fn test_start_starts_no_monitor_and_writes_nothing() {
    let mut rig = Rig::with_table(config(), MemoryIpvs::new());
    rig.lvsd = Lvsd::new(
        Options {
            test_start: true,
            ..Options::default()
        },
        config(),
    );
    let actions = rig.start();
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::StartMonitor { .. }))
    );
    assert_eq!(rig.table(), BTreeSet::new());
    let would: BTreeSet<String> = rig
        .logs
        .iter()
        .filter(|l| matches!(l, Log::WouldRun(_)))
        .map(ToString::to_string)
        .collect();
    let expected: BTreeSet<String> = CONVERGED
        .iter()
        .map(|l| format!("test-start: would run: {l}"))
        .collect();
    assert_eq!(would, expected);
}

#[test]
fn status_never_says_up_after_a_failed_check() {
    // Whatever path a server took, a failed last check is not "up".
    let mut rig = Rig::with_table(config(), converged_table());
    rig.start();
    for (v, s, _) in SERVERS {
        rig.say(v, s, true, "check fail CONNECT timed out");
    }
    for (v, s, _) in SERVERS {
        let h = rig.lvsd.health(&sid(v, s));
        assert!(!matches!(h, Health::Up { .. }), "{v}/{s}: {h:?}");
        assert_eq!(rig.lvsd.check(&sid(v, s)).map(|c| c.ok), Some(false));
    }
    assert_eq!(rig.table(), lines(EMPTY_SERVICES));
    let _ = rig.t0;
}

#[test]
fn a_weight_lowered_while_lvsd_was_down_is_installed_at_the_first_verdict() {
    // The kernel has tls/r1 at 7; lvs.cf now says 5.
    let mut rig = Rig::with_table(config_with([3, 6, 5]), converged_table());
    rig.start();
    assert_eq!(rig.writes(), 0, "nothing before the verdict");
    rig.say("tls", "r1", true, "check ok c\nwant 1");
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 5")
    );
    assert_eq!(rig.writes(), 1);
    // The ramp (2, 4) stays under the floor of 5, which its end (5) lifts.
    rig.say("tls", "r1", false, "want 2\nwant 4\nwant 5");
    assert_eq!(rig.writes(), 1);
    rig.say("tls", "r1", false, "want 3");
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 3")
    );
}

#[test]
fn a_legacy_monitor_s_entry_is_left_alone() {
    // A client_monitor that does not report: its lines only say up/down.
    let mut rig = Rig::with_table(config(), converged_table());
    rig.start();
    let id = MonitorId::Server(sid("web", "r1"));
    let generation = rig.generation(&id);
    rig.feed(Event::Output {
        id,
        generation,
        line: "nanny: [inactive] shutting down 192.0.2.11:80 due to connection failure".into(),
    });
    assert_eq!(
        rig.lvsd.health(&sid("web", "r1")),
        Health::Managed { up: Some(false) }
    );
    assert_eq!(rig.table(), lines(CONVERGED));
    // Its monitor re-weights it behind lvsd's back, and someone edits
    // web/r2, whose nanny reports: the drift check repairs web/r2 and
    // leaves web/r1 as its monitor set it.
    rig.say("web", "r2", true, "check ok c\nwant 1");
    let key = ipvs::ServiceKey::tcp(ip("203.0.113.10"), 80);
    rig.table
        .edit_destination(
            &key,
            &ipvs::Destination::new(ip("192.0.2.11"), 80, ipvs::Forwarding::Masq, 9),
        )
        .expect("edit");
    rig.table
        .edit_destination(
            &key,
            &ipvs::Destination::new(ip("192.0.2.12"), 80, ipvs::Forwarding::Masq, 9),
        )
        .expect("edit");
    rig.advance(director::lvsd::DRIFT_CHECK);
    assert!(rig.feed(Event::Tick).contains(&Action::Reconcile));
    assert_eq!(rig.writes(), 1);
    let mut want = lines(CONVERGED);
    want.remove("-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 3");
    want.insert("-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 9".into());
    assert_eq!(rig.table(), want);
}

/// Shared mode: a reload that raises one server's weight restarts the
/// shared nanny of its check set; every member serving at the reload is
/// carried over, and the raised one gets its new weight at the new nanny's
/// first verdict for it (the nanny's ramp starts it at weight / 32).
#[test]
fn shared_reload_raising_a_weight_applies_at_the_first_verdict() {
    let mut cfg = config();
    cfg.nanny_mode = lvscf::NannyMode::Shared;
    let mut rig = Rig::new(cfg.clone());
    rig.start();
    let web_mark = MonitorId::Shared("web+mark".into());
    let tls = MonitorId::Shared("tls".into());
    let feed = |rig: &mut Rig, id: &MonitorId, body: &str| {
        let generation = rig.generation(id);
        for report in decode("nanny-report 2", body) {
            rig.feed(Event::Report {
                id: id.clone(),
                generation,
                report: Ok(report),
            });
        }
    };
    feed(
        &mut rig,
        &web_mark,
        "0 check ok c\n0 want 3\n1 check ok c\n1 want 1\n2 check ok c\n2 want 6\n3 check ok c\n3 want 2",
    );
    feed(&mut rig, &tls, "0 check ok c\n0 want 7");
    assert_eq!(rig.table(), lines(CONVERGED));
    let writes = rig.writes();
    // web/r2 1 -> 5.
    cfg.virtuals[0].servers[1].weight = 5;
    rig.feed(Event::Reload(Box::new(cfg)));
    assert_eq!(rig.table(), lines(CONVERGED), "a raise waits for a verdict");
    // The new shared nanny: every member enters at weight / 32 (1).
    feed(
        &mut rig,
        &web_mark,
        "0 check ok c\n0 want 1\n1 check ok c\n1 want 1\n2 check ok c\n2 want 1\n3 check ok c\n3 want 1",
    );
    let mut want = lines(CONVERGED);
    want.remove("-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 1");
    want.insert("-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 5".into());
    assert_eq!(
        rig.table(),
        want,
        "carried over at their weights, the raise applied"
    );
    assert_eq!(rig.writes(), writes + 1);
}

fn control(rig: &mut Rig, command: Control, v: &str, s: &str) -> Vec<Action> {
    rig.feed(Event::Control {
        command,
        server: sid(v, s),
    })
}

const WEB_R1: &str = "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 3";

/// CONVERGED with web/r1 at `weight`, or without it.
fn web_r1_at(weight: Option<u32>) -> BTreeSet<String> {
    let mut want = lines(CONVERGED);
    want.remove(WEB_R1);
    if let Some(w) = weight {
        want.insert(format!("-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w {w}"));
    }
    want
}

#[test]
fn a_drain_holds_the_server_at_weight_zero_until_normal() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    let writes = rig.writes();
    let actions = control(&mut rig, Control::Drain, "web", "r1");
    assert!(
        !actions.iter().any(|a| matches!(a, Action::Signal { .. })),
        "a drain is lvsd's alone: {actions:?}"
    );
    assert!(actions.contains(&Action::Accepted), "{actions:?}");
    assert_eq!(rig.table(), web_r1_at(Some(0)), "the other r1s keep theirs");
    assert_eq!(rig.writes(), writes + 1, "one edit of the weight");
    assert_eq!(rig.lvsd.health(&sid("web", "r1")), Health::Drained);
    assert!(rig.lvsd.is_drained(&sid("web", "r1")));
    // A second drain and a health change while drained write nothing.
    control(&mut rig, Control::Drain, "web", "r1");
    rig.say("web", "r1", false, "check ok connected\nwant 2");
    assert_eq!(rig.table(), web_r1_at(Some(0)));
    assert_eq!(rig.writes(), writes + 1);
    // normal: the monitor hears it, and the weight it wants now is back.
    let generation = rig.generation(&MonitorId::Server(sid("web", "r1")));
    let actions = control(&mut rig, Control::Monitor(Command::Normal), "web", "r1");
    assert_eq!(
        actions[0],
        Action::Signal {
            id: MonitorId::Server(sid("web", "r1")),
            generation,
            index: 0,
            command: Command::Normal,
        }
    );
    assert_eq!(rig.table(), web_r1_at(Some(2)));
    assert_eq!(rig.writes(), writes + 2);
    assert_eq!(rig.lvsd.health(&sid("web", "r1")), Health::Up { weight: 2 });
    assert!(!rig.lvsd.is_drained(&sid("web", "r1")));
    assert_eq!(
        Log::Control {
            command: Control::Drain,
            server: sid("web", "r1")
        }
        .to_string(),
        "drain requested for web/r1"
    );
}

#[test]
fn a_drained_server_that_fails_leaves_and_comes_back_at_weight_zero() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    control(&mut rig, Control::Drain, "web", "r1");
    rig.say("web", "r1", false, "check fail CONNECT refused\nwant none");
    assert_eq!(rig.table(), web_r1_at(None), "down as usual");
    assert_eq!(rig.lvsd.health(&sid("web", "r1")), Health::Down);
    rig.say("web", "r1", false, "check ok connected\nwant 1");
    assert_eq!(rig.table(), web_r1_at(Some(0)), "back, still drained");
    assert_eq!(rig.lvsd.health(&sid("web", "r1")), Health::Drained);
    // down ends the drain; the entry stays at 0 until the monitor's
    // `want none`, never back at full weight in between.
    let actions = control(&mut rig, Control::Monitor(Command::Down), "web", "r1");
    assert!(!actions.contains(&Action::Reconcile), "{actions:?}");
    assert!(!rig.lvsd.is_drained(&sid("web", "r1")));
    rig.say("web", "r1", false, "mode forced-down\nwant none");
    assert_eq!(rig.table(), web_r1_at(None));
}

#[test]
fn a_drained_server_under_quiesce_stays_at_zero_through_a_failure() {
    let mut cfg = config();
    cfg.virtuals[2].quiesce_server = true;
    let mut rig = Rig::new(cfg);
    rig.start();
    rig.all_enter();
    rig.all_full();
    control(&mut rig, Control::Drain, "tls", "r1");
    let writes = rig.writes();
    rig.say("tls", "r1", false, "check fail CONNECT refused\nwant 0");
    assert_eq!(rig.lvsd.health(&sid("tls", "r1")), Health::Quiesced);
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 0")
    );
    assert_eq!(rig.writes(), writes, "already at 0");
}

#[test]
fn a_reload_keeps_the_drain_of_a_server_still_configured() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    control(&mut rig, Control::Drain, "web", "r1");
    control(&mut rig, Control::Drain, "tls", "r1");
    // web/r1's weight changes (its monitor restarts): still drained.
    rig.feed(Event::Reload(Box::new(config_with([5, 6, 7]))));
    rig.say("web", "r1", true, "check ok c\nwant 1\nstate active");
    assert_eq!(rig.table(), {
        let mut want = web_r1_at(Some(0));
        want.remove("-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 7");
        want.insert("-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 0".into());
        want
    });
    // tls goes away and comes back: a new server, not drained.
    let mut without_tls = config_with([5, 6, 7]);
    without_tls.virtuals.pop();
    rig.feed(Event::Reload(Box::new(without_tls)));
    assert!(!rig.lvsd.is_drained(&sid("tls", "r1")));
    assert!(rig.lvsd.is_drained(&sid("web", "r1")));
    rig.feed(Event::Reload(Box::new(config_with([5, 6, 7]))));
    rig.say("tls", "r1", true, "check ok c\nwant 7\nstate active");
    assert!(
        rig.table()
            .contains("-a -t 203.0.113.10:443 -r 192.0.2.11:443 -m -w 7")
    );
}

#[test]
fn a_drain_needs_a_configured_server_not_a_running_monitor() {
    let mut rig = Rig::new(config());
    rig.start();
    rig.all_enter();
    rig.all_full();
    assert_eq!(
        control(&mut rig, Control::Drain, "web", "nosuch"),
        [Action::Refuse(ControlError::UnknownServer(sid(
            "web", "nosuch"
        )))]
    );
    assert_eq!(
        ControlError::UnknownServer(sid("web", "nosuch")).to_string(),
        "no active real server web/nosuch"
    );
    // Its monitor is waiting to be restarted: the drain still holds, and
    // normal still ends it.
    let id = MonitorId::Server(sid("web", "r1"));
    let generation = rig.generation(&id);
    rig.feed(Event::Exited {
        id,
        generation,
        status: "exit status: 1".into(),
    });
    control(&mut rig, Control::Drain, "web", "r1");
    assert_eq!(rig.table(), web_r1_at(Some(0)));
    let actions = control(&mut rig, Control::Monitor(Command::Normal), "web", "r1");
    assert!(actions.contains(&Action::Accepted), "{actions:?}");
    assert!(!rig.lvsd.is_drained(&sid("web", "r1")));
    // Unwatched, the entry keeps what the kernel has until the restarted
    // monitor's first verdict.
    assert_eq!(rig.table(), web_r1_at(Some(0)));
}
