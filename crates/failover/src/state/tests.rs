//! One test per row of piranha.md §4.4 (named `row_…`), then the timers,
//! our deliberate differences, and two-router simulations.

use super::*;
use crate::sim::{Original, Router, Sim};

const K: Duration = Duration::from_secs(1);
const D: Duration = Duration::from_secs(3);

fn vips() -> Vec<FloatingAddress> {
    vec![FloatingAddress {
        addr: "203.0.113.10".parse().expect("ip"),
        prefix_len: 24,
        label: "eth0:1".into(),
        device: "eth0".into(),
    }]
}

fn params(master: bool) -> Params {
    Params {
        master,
        partner: true,
        keepalive: K,
        deadtime: D,
        force_active: false,
        test_start: false,
        hot_standby: false,
        monitor_links: true,
        has_private_path: true,
        syncdaemon: false,
        arp_count: 5,
        arp_interval: Duration::from_secs(1),
    }
}

/// A machine with a clock in milliseconds from its start.
struct H {
    m: Machine,
    t0: Instant,
}

impl H {
    fn new(p: Params) -> H {
        let t0 = Instant::now();
        H {
            m: Machine::new(p, vips(), t0),
            t0,
        }
    }

    /// Started at 0 ms.
    fn started(p: Params) -> H {
        let mut h = H::new(p);
        h.on(0, Event::Start);
        h
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn on(&mut self, ms: u64, e: Event) -> Vec<Action> {
        let now = self.at(ms);
        self.m.on(now, e)
    }

    fn beat(&mut self, ms: u64, beat: Heartbeat) -> Vec<Action> {
        self.on(
            ms,
            Event::Heartbeat {
                path: Path::Public,
                beat,
            },
        )
    }

    /// Active with its addresses up: started, partner silent for deadtime,
    /// lvsd ready. Returns the time (ms) reached.
    fn made_active(p: Params) -> (H, u64) {
        let mut h = H::started(p);
        // deadtime (master) or deadtime + keepalive (backup, cold start).
        let t = if h.m.params().master { 3000 } else { 4000 };
        let a = h.on(t, Event::Tick);
        assert!(logs(&a).contains(&text::PARTNER_DEAD), "{a:?}");
        h.on(t + 10, Event::LvsdReady);
        assert!(h.m.status(h.at(t + 10)).floating == vips());
        (h, t + 10)
    }
}

fn logs(a: &[Action]) -> Vec<&str> {
    a.iter()
        .filter_map(|x| match x {
            Action::Log { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn no_logs(a: &[Action]) -> Vec<Action> {
    a.iter()
        .filter(|x| !matches!(x, Action::Log { .. }))
        .cloned()
        .collect()
}

fn log_action(text: &str) -> Action {
    Action::Log {
        level: Level::Info,
        text: text.into(),
    }
}

fn announce() -> Action {
    Action::Announce {
        addrs: vips(),
        count: 5,
        interval: Duration::from_secs(1),
    }
}

fn activates(a: &[Action]) -> bool {
    a.iter().any(|x| {
        matches!(
            x,
            Action::RunActiveCmd | Action::StartLvsd | Action::AddFloating(_)
        )
    })
}

// ---- rows of §4.4 ------------------------------------------------------

#[test]
fn row_start_always_inactive_cmd_and_sync_backup() {
    let mut p = params(true);
    p.syncdaemon = true;
    let mut h = H::new(p);
    let a = h.on(0, Event::Start);
    assert_eq!(
        a,
        [
            log_action(text::START_MASTER),
            Action::RunInactiveCmd,
            Action::SyncDaemon(SyncRole::Backup),
        ]
    );
    assert!(!h.m.is_active());
    // The backup also announces itself at once (cold start rule).
    let mut b = H::new(params(false));
    assert_eq!(
        b.on(0, Event::Start),
        [
            log_action(text::START_BACKUP),
            Action::RunInactiveCmd,
            Action::SendHeartbeat(Heartbeat::Stopped),
        ]
    );
}

#[test]
fn row_start_forceactive_activates() {
    let mut p = params(false);
    p.force_active = true;
    let mut h = H::new(p);
    let a = h.on(0, Event::Start);
    assert_eq!(
        a,
        [
            log_action(text::START_BACKUP),
            Action::RunInactiveCmd,
            log_action(text::FORCED_ACTIVE),
            Action::RunActiveCmd,
            Action::StartLvsd,
            Action::SendHeartbeat(Heartbeat::Running),
        ]
    );
    assert!(h.m.is_active());
    assert_eq!(
        h.on(20, Event::LvsdReady),
        [Action::AddFloating(vips()), announce()]
    );
}

#[test]
fn row_rx_running_active_backup_sends_extra_running_and_yields() {
    let (mut h, t) = H::made_active(params(false));
    let a = h.beat(t + 100, Heartbeat::Running);
    assert_eq!(
        a,
        [
            Action::SendHeartbeat(Heartbeat::Running),
            log_action(text::PARTNER_ACTIVE_DEACTIVATING),
            Action::RemoveFloating(vips()),
            Action::SendHeartbeat(Heartbeat::Stopped),
            Action::RunInactiveCmd,
            Action::StopLvsd,
        ]
    );
    assert!(!h.m.is_active());
    assert!(h.m.status(h.at(t + 100)).floating.is_empty());
}

#[test]
fn row_rx_running_active_master_resends_arps() {
    let (mut h, t) = H::made_active(params(true));
    let a = h.beat(t + 100, Heartbeat::Running);
    assert_eq!(
        a,
        [
            log_action(text::PARTNER_ACTIVE_RESENDING),
            Action::RunActiveCmd,
            Action::AddFloating(vips()),
            announce(),
        ]
    );
    assert!(h.m.is_active());
}

#[test]
fn row_rx_running_any_clears_childfail() {
    let (mut h, t) = H::made_active(params(true));
    h.beat(t, Heartbeat::Stopped);
    h.on(
        t + 10,
        Event::LvsdExited {
            pid: 42,
            how: ExitHow::Status(1),
        },
    );
    assert!(h.m.status(h.at(t + 10)).childfail);
    // Blocked while CHILDFAIL.
    assert!(!activates(&h.beat(t + 20, Heartbeat::Stopped)));
    h.beat(t + 30, Heartbeat::Running);
    assert!(!h.m.status(h.at(t + 30)).childfail);
    // Unblocked: the partner's next STOPPED activates the master again.
    let a = h.beat(t + 40, Heartbeat::Stopped);
    assert_eq!(logs(&a), [text::BACKUP_INACTIVE]);
}

#[test]
fn row_rx_running_inactive_nothing() {
    let mut h = H::started(params(true));
    assert_eq!(h.beat(500, Heartbeat::Running), []);
    let mut b = H::started(params(false));
    assert_eq!(b.beat(500, Heartbeat::Running), []);
    assert!(!h.m.is_active() && !b.m.is_active());
}

#[test]
fn row_rx_stopped_inactive_master_activates_at_once() {
    let mut h = H::started(params(true));
    let a = h.beat(500, Heartbeat::Stopped);
    assert_eq!(
        a,
        [
            log_action(text::BACKUP_INACTIVE),
            Action::RunActiveCmd,
            Action::StartLvsd,
            Action::SendHeartbeat(Heartbeat::Running),
        ]
    );
    // Addresses once lvsd is ready.
    assert_eq!(
        h.on(560, Event::LvsdReady),
        [Action::AddFloating(vips()), announce()]
    );
}

#[test]
fn row_rx_stopped_inactive_master_blocked_by_linkfail_or_childfail() {
    let mut h = H::started(params(true));
    h.on(
        100,
        Event::Links {
            failed: vec![Path::Public],
        },
    );
    assert!(!activates(&h.beat(500, Heartbeat::Stopped)));

    let (mut c, t) = H::made_active(params(true));
    c.on(
        t + 1,
        Event::LvsdExited {
            pid: 7,
            how: ExitHow::Signal(9),
        },
    );
    assert!(!activates(&c.beat(t + 2, Heartbeat::Stopped)));
}

#[test]
fn row_rx_stopped_inactive_backup_activates_primary_inactive() {
    // The primary was active (RUNNING), then stops: at once.
    let mut h = H::started(params(false));
    h.beat(500, Heartbeat::Running);
    let a = h.beat(1500, Heartbeat::Stopped);
    assert_eq!(logs(&a), [text::PRIMARY_INACTIVE]);
    assert!(h.m.is_active());
}

#[test]
fn row_rx_stopped_inactive_backup_blocked_by_linkfail() {
    let mut h = H::started(params(false));
    h.on(
        10,
        Event::Links {
            failed: vec![Path::Private],
        },
    );
    h.beat(500, Heartbeat::Running);
    assert!(!activates(&h.beat(1500, Heartbeat::Stopped)));
}

#[test]
fn row_rx_stopped_active_nothing() {
    for master in [true, false] {
        let (mut h, t) = H::made_active(params(master));
        assert_eq!(h.beat(t + 100, Heartbeat::Stopped), []);
        assert!(h.m.is_active());
    }
}

#[test]
fn row_deadtime_expired_inactive_activates() {
    let mut h = H::started(params(true));
    // Not before deadtime...
    assert!(!activates(&h.on(2999, Event::Tick)));
    assert_eq!(h.m.next_wakeup(), h.at(3000));
    // ...at deadtime.
    let a = h.on(3000, Event::Tick);
    assert!(logs(&a).contains(&text::PARTNER_DEAD));
    assert!(h.m.is_active());
}

#[test]
fn row_deadtime_expired_blocked_and_reevaluated_every_deadtime() {
    let mut h = H::started(params(true));
    h.on(
        10,
        Event::Links {
            failed: vec![Path::Public],
        },
    );
    assert!(!activates(&h.on(3000, Event::Tick)));
    // Re-armed: next evaluation one deadtime later.
    assert!(h.m.next_wakeup() <= h.at(6000));
    let a = h.on(4000, Event::Links { failed: vec![] });
    assert_eq!(logs(&a), [text::LINKS_RESTORED]);
    assert!(!activates(&h.on(5999, Event::Tick)));
    assert!(logs(&h.on(6000, Event::Tick)).contains(&text::PARTNER_DEAD));
}

#[test]
fn row_deadtime_expired_active_nothing() {
    let (mut h, _) = H::made_active(params(true));
    let a = h.on(6000, Event::Tick);
    assert!(!activates(&a), "{a:?}");
    assert!(logs(&a).is_empty());
    assert!(h.m.is_active());
}

#[test]
fn row_lvsd_exits_deactivates_and_sets_childfail() {
    let (mut h, t) = H::made_active(params(true));
    h.beat(t, Heartbeat::Stopped); // partner alive
    let a = h.on(
        t + 10,
        Event::LvsdExited {
            pid: 42,
            how: ExitHow::Status(1),
        },
    );
    assert_eq!(
        a,
        [
            Action::Log {
                level: Level::Warning,
                text: "Child process 42 exited with status 1".into()
            },
            Action::RemoveFloating(vips()),
            Action::SendHeartbeat(Heartbeat::Stopped),
            Action::RunInactiveCmd,
        ]
    );
    assert!(!h.m.is_active());
    let s = h.m.status(h.at(t + 10));
    assert!(s.childfail);
    assert_eq!(s.lvsd, LvsdState::Stopped);
    let a = h.on(
        t + 20,
        Event::LvsdExited {
            pid: 43,
            how: ExitHow::Signal(9),
        },
    );
    assert_eq!(logs(&a), ["Child process 43 terminated with signal 9"]);
}

#[test]
fn row_link_down_active_deactivates() {
    let (mut h, t) = H::made_active(params(true));
    let a = h.on(
        t + 10,
        Event::Links {
            failed: vec![Path::Public],
        },
    );
    assert_eq!(
        logs(&a),
        [
            text::PRIMARY_NIC_DOWN,
            text::LINK_FAILURE,
            text::LINK_FAILURE_DEACTIVATING
        ]
    );
    assert_eq!(
        no_logs(&a),
        [
            Action::RemoveFloating(vips()),
            Action::SendHeartbeat(Heartbeat::Stopped),
            Action::RunInactiveCmd,
            Action::StopLvsd,
        ]
    );
    // LINKFAIL: keeps sending STOPPED, never activates.
    let mut now = t + 10;
    for _ in 0..10 {
        now = u64::try_from((h.m.next_wakeup() - h.t0).as_millis()).expect("ms");
        let a = h.on(now, Event::Tick);
        assert!(!activates(&a));
        for x in &a {
            if let Action::SendHeartbeat(b) = x {
                assert_eq!(*b, Heartbeat::Stopped);
            }
        }
    }
    assert!(now > t + 6000);
    assert!(!activates(&h.beat(now + 1, Heartbeat::Stopped)));
    assert_eq!(h.m.status(h.at(now)).failed_links, [Path::Public]);
}

#[test]
fn row_sigterm_deactivates_sends_one_stopped_and_exits() {
    let (mut h, t) = H::made_active(params(true));
    let a = h.on(t + 10, Event::Terminate { signal: 15 });
    assert_eq!(
        a,
        [
            log_action("Terminating due to signal 15"),
            Action::RemoveFloating(vips()),
            Action::SendHeartbeat(Heartbeat::Stopped),
            Action::RunInactiveCmd,
            Action::StopLvsd,
            Action::Exit(0),
        ]
    );
    assert!(h.m.has_exited());
    assert_eq!(h.on(t + 5000, Event::Tick), []);
    // Inactive: the inactive_cmd part, and still one STOPPED.
    let mut i = H::started(params(false));
    assert_eq!(
        i.on(10, Event::Terminate { signal: 2 }),
        [
            log_action("Terminating due to signal 2"),
            Action::SendHeartbeat(Heartbeat::Stopped),
            Action::RunInactiveCmd,
            Action::Exit(0),
        ]
    );
}

// ---- timers (§4.3) -----------------------------------------------------

#[test]
fn heartbeats_every_keepalive_state_dependent() {
    let mut h = H::started(params(true));
    assert_eq!(h.m.next_wakeup(), h.at(1000));
    assert_eq!(
        h.on(1000, Event::Tick),
        [Action::SendHeartbeat(Heartbeat::Stopped)]
    );
    assert_eq!(h.on(1500, Event::Tick), []);
    // A late tick keeps the cadence.
    assert_eq!(
        h.on(2003, Event::Tick),
        [Action::SendHeartbeat(Heartbeat::Stopped)]
    );
    assert_eq!(h.m.next_wakeup(), h.at(3000));
    let a = h.on(3000, Event::Tick);
    assert!(a.contains(&Action::SendHeartbeat(Heartbeat::Running)));
}

#[test]
fn cold_backup_that_heard_nothing_waits_deadtime_plus_keepalive() {
    let mut h = H::started(params(false));
    assert!(!activates(&h.on(3000, Event::Tick)));
    assert_eq!(h.m.next_wakeup(), h.at(4000));
    assert!(logs(&h.on(4000, Event::Tick)).contains(&text::PARTNER_DEAD));
    // Once it heard the partner, deadtime as usual.
    let mut g = H::started(params(false));
    g.beat(100, Heartbeat::Running);
    assert!(!activates(&g.on(3099, Event::Tick)));
    assert!(logs(&g.on(3100, Event::Tick)).contains(&text::PARTNER_DEAD));
}

#[test]
fn no_heartbeats_without_partner_master_activates_after_deadtime() {
    let mut p = params(true);
    p.partner = false;
    let mut h = H::new(p);
    let a = h.on(0, Event::Start);
    assert!(!a.iter().any(|x| matches!(x, Action::SendHeartbeat(_))));
    assert_eq!(h.m.next_wakeup(), h.at(3000));
    let a = h.on(3000, Event::Tick);
    assert!(logs(&a).contains(&text::PARTNER_DEAD));
    assert!(!a.iter().any(|x| matches!(x, Action::SendHeartbeat(_))));
}

#[test]
fn backup_without_partner_exits_255() {
    let mut p = params(false);
    p.partner = false;
    let mut h = H::new(p);
    let a = h.on(0, Event::Start);
    assert_eq!(logs(&a), [text::START_BACKUP, text::BACKUP_MARKED_INACTIVE]);
    assert_eq!(a.last(), Some(&Action::Exit(255)));
}

#[test]
fn partner_dead_only_after_silence_on_both_paths() {
    let mut h = H::started(params(true));
    for ms in [900, 1900, 2900, 3900, 4900] {
        h.on(
            ms,
            Event::Heartbeat {
                path: Path::Private,
                beat: Heartbeat::Running,
            },
        );
        assert!(!activates(&h.on(ms + 50, Event::Tick)));
    }
    let s = h.m.status(h.at(5000));
    assert!(s.partner_alive);
    assert_eq!(s.last_heartbeat_private, Some(h.at(4900)));
    assert_eq!(s.last_heartbeat_public, None);
    assert!(!activates(&h.on(7899, Event::Tick)));
    assert!(logs(&h.on(7900, Event::Tick)).contains(&text::PARTNER_DEAD));
}

#[test]
fn incompatible_heartbeat_logged_and_does_not_refresh() {
    let mut h = H::started(params(true));
    for (ms, b) in [(1000, Heartbeat::Other(5)), (2000, Heartbeat::FosRunning)] {
        let a = h.beat(ms, b);
        assert_eq!(
            a,
            [Action::Log {
                level: Level::Warning,
                text: text::INCOMPATIBLE.into()
            }]
        );
    }
    assert!(logs(&h.on(3000, Event::Tick)).contains(&text::PARTNER_DEAD));
}

#[test]
fn hold_refreshes_and_does_nothing_else() {
    let mut h = H::started(params(true));
    assert_eq!(
        h.beat(2000, Heartbeat::Other(crate::heartbeat::HOLD_MAGIC)),
        []
    );
    assert!(!activates(&h.on(3000, Event::Tick)));
    assert!(activates(&h.on(5000, Event::Tick)));
}

// ---- our rules ---------------------------------------------------------

#[test]
fn cold_start_backup_waits_a_deadtime_of_stopped_from_never_running_primary() {
    let mut h = H::started(params(false));
    for ms in [500, 1500, 2500, 3400] {
        assert!(!activates(&h.beat(ms, Heartbeat::Stopped)), "at {ms}");
    }
    let a = h.beat(3500, Heartbeat::Stopped);
    assert_eq!(logs(&a), [text::PRIMARY_INACTIVE]);
}

#[test]
fn cold_start_streak_restarts_after_running() {
    let mut h = H::started(params(false));
    h.beat(500, Heartbeat::Stopped);
    h.beat(1500, Heartbeat::Running);
    // was RUNNING: a STOPPED now means a stop: at once.
    assert!(activates(&h.beat(2500, Heartbeat::Stopped)));
}

#[test]
fn beat_sent_at_once_on_activation_and_deactivation() {
    let mut h = H::started(params(true));
    let a = h.beat(300, Heartbeat::Stopped);
    assert!(a.contains(&Action::SendHeartbeat(Heartbeat::Running)));
    assert_eq!(h.m.next_wakeup(), h.at(1300));
}

#[test]
fn lvsd_failure_without_live_partner_restarts_with_backoff() {
    let (mut h, t) = H::made_active(params(true));
    let mut now = t;
    let mut delays = Vec::new();
    for pid in 0..9 {
        h.on(
            now,
            Event::LvsdExited {
                pid,
                how: ExitHow::Status(1),
            },
        );
        let at = h.m.status(h.at(now)).restart_at.expect("restart pending");
        let delay = at - h.at(now);
        delays.push(delay.as_secs());
        let ms = u64::try_from((at - h.t0).as_millis()).expect("ms");
        assert!(!activates(&h.on(ms - 1, Event::Tick)));
        let a = h.on(ms, Event::Tick);
        assert!(logs(&a).contains(&text::RESTARTING), "{a:?}");
        assert!(a.contains(&Action::StartLvsd));
        h.on(ms + 5, Event::LvsdReady);
        now = ms + 10;
    }
    assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    // After lvsd ran for 60 s the backoff starts again at 1 s.
    now += 61_000;
    h.on(
        now,
        Event::LvsdExited {
            pid: 99,
            how: ExitHow::Status(1),
        },
    );
    assert_eq!(h.m.status(h.at(now)).restart_at, Some(h.at(now + 1000)));
}

#[test]
fn lvsd_failure_with_active_partner_does_not_restart() {
    let (mut h, t) = H::made_active(params(false));
    h.beat(t, Heartbeat::Stopped);
    h.on(
        t + 1,
        Event::LvsdExited {
            pid: 1,
            how: ExitHow::Status(1),
        },
    );
    // The partner takes over on our STOPPED and says so.
    h.beat(t + 2, Heartbeat::Running);
    let s = h.m.status(h.at(t + 2));
    assert!(!s.childfail);
    assert_eq!(s.restart_at, None);
    for ms in (t + 100..t + 5000).step_by(100) {
        h.beat(ms, Heartbeat::Running);
        assert!(!activates(&h.on(ms, Event::Tick)));
    }
}

#[test]
fn lvsd_failure_partner_alive_but_stopped_for_deadtime_restarts() {
    let (mut h, t) = H::made_active(params(true));
    h.beat(t, Heartbeat::Stopped);
    h.on(
        t + 1,
        Event::LvsdExited {
            pid: 1,
            how: ExitHow::Status(1),
        },
    );
    let mut restarted_at = None;
    for ms in (t + 100..t + 6000).step_by(100) {
        if ms % 1000 == t % 1000 {
            h.beat(ms, Heartbeat::Stopped);
        }
        if logs(&h.on(ms, Event::Tick)).contains(&text::RESTARTING) {
            restarted_at = Some(ms);
            break;
        }
    }
    let r = restarted_at.expect("restarted");
    assert!(r >= t + 1 + 3000 && r <= t + 1 + 3000 + 1100, "{r}");
}

#[test]
fn readiness_timeout_kills_lvsd_and_sets_childfail() {
    let mut h = H::started(params(true));
    h.beat(100, Heartbeat::Stopped);
    let a = h.on(10_100, Event::LvsdReadyTimeout);
    assert_eq!(
        no_logs(&a),
        [
            Action::StopLvsd,
            Action::SendHeartbeat(Heartbeat::Stopped),
            Action::RunInactiveCmd,
        ]
    );
    assert!(h.m.status(h.at(10_100)).childfail);
    // The kill's exit is expected: logged at debug level only.
    let a = h.on(
        10_101,
        Event::LvsdExited {
            pid: 5,
            how: ExitHow::Signal(9),
        },
    );
    assert!(matches!(
        &a[..],
        [Action::Log {
            level: Level::Debug,
            ..
        }]
    ));
}

#[test]
fn test_start_no_lvsd_no_commands_but_addresses_and_removal() {
    let mut p = params(false);
    p.test_start = true;
    let mut h = H::new(p);
    assert_eq!(
        no_logs(&h.on(0, Event::Start)),
        [Action::SendHeartbeat(Heartbeat::Stopped)]
    );
    let a = h.on(4000, Event::Tick);
    assert_eq!(
        no_logs(&a),
        [
            Action::SendHeartbeat(Heartbeat::Stopped),
            Action::AddFloating(vips()),
            announce(),
            Action::SendHeartbeat(Heartbeat::Running),
        ]
    );
    // Yield: addresses removed (the original never did under -t).
    let a = h.beat(4100, Heartbeat::Running);
    assert_eq!(
        no_logs(&a),
        [
            Action::SendHeartbeat(Heartbeat::Running),
            Action::RemoveFloating(vips()),
            Action::SendHeartbeat(Heartbeat::Stopped),
        ]
    );
}

#[test]
fn hot_standby_lvsd_from_start_takeover_is_addresses_only() {
    let mut p = params(false);
    p.hot_standby = true;
    let mut h = H::new(p);
    assert!(h.on(0, Event::Start).contains(&Action::StartLvsd));
    assert_eq!(h.on(50, Event::LvsdReady), []);
    h.beat(500, Heartbeat::Running);
    let a = h.beat(1500, Heartbeat::Stopped);
    assert_eq!(
        no_logs(&a),
        [
            Action::RunActiveCmd,
            Action::AddFloating(vips()),
            announce(),
            Action::SendHeartbeat(Heartbeat::Running),
        ]
    );
    // Yield keeps lvsd running.
    let a = h.beat(2000, Heartbeat::Running);
    assert!(!a.contains(&Action::StopLvsd));
    assert_eq!(h.m.status(h.at(2000)).lvsd, LvsdState::Running);
    // SIGTERM stops it.
    assert!(
        h.on(2100, Event::Terminate { signal: 15 })
            .contains(&Action::StopLvsd)
    );
}

#[test]
fn hot_standby_lvsd_death_restarts_standby_and_ready_clears_childfail() {
    let mut p = params(false);
    p.hot_standby = true;
    let mut h = H::started(p);
    h.on(50, Event::LvsdReady);
    h.beat(500, Heartbeat::Running);
    h.on(
        600,
        Event::LvsdExited {
            pid: 3,
            how: ExitHow::Status(1),
        },
    );
    assert!(h.m.status(h.at(600)).childfail);
    h.beat(700, Heartbeat::Running);
    assert_eq!(h.m.status(h.at(700)).restart_at, Some(h.at(1600)));
    assert!(h.on(1600, Event::Tick).contains(&Action::StartLvsd));
    h.on(1650, Event::LvsdReady);
    assert!(!h.m.status(h.at(1650)).childfail);
    assert_eq!(h.m.status(h.at(1650)).lvsd, LvsdState::Running);
}

#[test]
fn reload_applies_floating_diff_and_reaches_lvsd_only_when_running() {
    let (mut h, t) = H::made_active(params(true));
    let mut new = vips();
    new[0].addr = "203.0.113.11".parse().expect("ip");
    let a = h.on(
        t + 10,
        Event::Reload {
            params: params(true),
            floating: new.clone(),
        },
    );
    assert_eq!(
        a,
        [
            Action::RemoveFloating(vips()),
            Action::AddFloating(new.clone()),
            Action::Announce {
                addrs: new.clone(),
                count: 5,
                interval: Duration::from_secs(1)
            },
            Action::ReloadLvsd,
        ]
    );
    assert_eq!(h.m.status(h.at(t + 10)).floating, new);
    // Inactive, lvsd not running: nothing to signal (no kill(0, SIGHUP)).
    let mut i = H::started(params(false));
    let mut p = params(false);
    p.keepalive = Duration::from_millis(100);
    assert_eq!(
        i.on(
            10,
            Event::Reload {
                params: p,
                floating: vips()
            }
        ),
        []
    );
    // The shorter keepalive applies at once.
    assert_eq!(i.m.next_wakeup(), i.at(110));
}

#[test]
fn links_ignored_without_monitor_links() {
    let mut p = params(true);
    p.monitor_links = false;
    let mut h = H::started(p);
    assert_eq!(
        h.on(
            5,
            Event::Links {
                failed: vec![Path::Public]
            }
        ),
        []
    );
    assert!(activates(&h.beat(10, Heartbeat::Stopped)));
}

#[test]
fn announce_done_logs_original_line() {
    let mut h = H::started(params(true));
    assert_eq!(logs(&h.on(5, Event::AnnounceDone)), [text::ARPS_FINISHED]);
}

#[test]
fn params_from_config() {
    let src = "primary = 192.0.2.1\nbackup = 192.0.2.2\nbackup_active = 1\n\
               keepalive = 0.01\ndeadtime = 0.03\nmonitor_links = 1\n\
               virtual v {\n active = 1\n address = 203.0.113.10 eth0:1\n}\n";
    let p = lvscf::parse_with(src, &lvscf::OfflineResolver);
    let c = p.config.expect("config");
    let pa = Params::from_config(&c, true, Flags::default());
    assert!(pa.partner && pa.monitor_links && pa.master);
    assert!(!pa.has_private_path, "primary_private defaults to primary");
    assert_eq!(pa.keepalive, Duration::from_millis(10));
    assert_eq!(pa.deadtime, Duration::from_millis(30));
    assert_eq!(pa.arp_count, 5);
    let mut c2 = c.clone();
    c2.backup_active = false;
    let pa2 = Params::from_config(&c2, true, Flags::default());
    assert!(!pa2.partner && !pa2.monitor_links);
}

// ---- two routers ---------------------------------------------------------

fn ours(master: bool, t0: Instant) -> Box<dyn Router> {
    let mut p = params(master);
    p.test_start = true;
    Box::new(Machine::new(p, vips(), t0))
}

fn original(master: bool, t0: Instant) -> Box<dyn Router> {
    Box::new(Original::new(master, K, D, t0))
}

fn ms(t: u64) -> Duration {
    Duration::from_millis(t)
}

/// Starts `a` (node 0, primary) at `a_ms` and `b` (node 1, backup) at
/// `b_ms`, runs 20 s, returns the sim.
fn cold(a: Box<dyn Router>, a_ms: u64, b: Box<dyn Router>, b_ms: u64, t0: Instant) -> Sim {
    let mut sim = Sim::new(a, b, t0);
    let (first, second, gap) = if a_ms <= b_ms {
        (0, 1, b_ms - a_ms)
    } else {
        (1, 0, a_ms - b_ms)
    };
    sim.run_until(t0 + ms(a_ms.min(b_ms)));
    sim.start(first);
    sim.run_until(t0 + ms(a_ms.min(b_ms) + gap));
    sim.start(second);
    sim.run_until(t0 + ms(20_000));
    sim
}

#[test]
fn model_of_original_later_starter_wins() {
    // The anchor: with two originals the backup started 0.5 s after the
    // primary stays active for good. The model must reproduce it.
    let t0 = Instant::now();
    let sim = cold(original(true, t0), 0, original(false, t0), 500, t0);
    assert!(!sim.nodes[0].holds && sim.nodes[1].holds);
    let sim = cold(original(true, t0), 500, original(false, t0), 0, t0);
    assert!(sim.nodes[0].holds && !sim.nodes[1].holds);
}

#[test]
fn cold_start_both_ours_primary_wins_any_order_within_deadtime() {
    let t0 = Instant::now();
    for (a, b) in [
        (0, 0),
        (0, 500),
        (500, 0),
        (0, 2900),
        (2900, 0),
        (0, 2999),
        (2999, 0),
        (1234, 1700),
    ] {
        let sim = cold(ours(true, t0), a, ours(false, t0), b, t0);
        assert!(sim.nodes[0].holds, "primary at {a}, backup at {b}");
        assert!(!sim.nodes[1].holds, "primary at {a}, backup at {b}");
        assert_eq!(sim.active_count(), 1);
        // Not even briefly two: the backup never took over.
        assert_eq!(
            sim.nodes[1].took_over_at, None,
            "primary at {a}, backup at {b}"
        );
    }
}

#[test]
fn cold_start_both_ours_sweep_of_gaps_at_default_and_fast_timers() {
    for (k, d) in [(2000, 5000), (1000, 3000), (10, 30), (700, 1900)] {
        let (k, d) = (ms(k), ms(d));
        let t0 = Instant::now();
        let mk = |master| {
            let mut p = params(master);
            p.test_start = true;
            p.keepalive = k;
            p.deadtime = d;
            Box::new(Machine::new(p, vips(), t0)) as Box<dyn Router>
        };
        let step = d / 37;
        let mut gap = Duration::ZERO;
        while gap + step < d {
            for primary_first in [true, false] {
                let mut sim = Sim::new(mk(true), mk(false), t0);
                let (first, second) = if primary_first { (0, 1) } else { (1, 0) };
                sim.start(first);
                sim.run_until(t0 + gap);
                sim.start(second);
                sim.run_until(t0 + gap + d * 4);
                let what = format!("k {k:?} d {d:?} gap {gap:?} primary first {primary_first}");
                assert!(sim.nodes[0].holds, "{what}");
                assert!(!sim.nodes[1].holds, "{what}");
                assert_eq!(sim.nodes[1].took_over_at, None, "{what}");
            }
            gap += step;
        }
    }
}

#[test]
fn cold_start_ours_primary_original_backup_exactly_one() {
    let t0 = Instant::now();
    // (primary start, backup start, primary ends active)
    for (a, b, primary_wins) in [
        (0, 0, true),
        (500, 0, true),
        (2900, 0, true),
        (1500, 1000, true),
        // An original backup started after our primary activates on the
        // primary's first STOPPED, as it would with an original primary;
        // our primary then sees RUNNING and stays passive (no preemption).
        (0, 500, false),
        (0, 1900, false),
        // Started after the primary's deadtime: the primary is active.
        (0, 3100, true),
    ] {
        let sim = cold(ours(true, t0), a, original(false, t0), b, t0);
        assert_eq!(sim.active_count(), 1, "primary at {a}, backup at {b}");
        assert_eq!(
            sim.nodes[0].holds, primary_wins,
            "primary at {a}, backup at {b}"
        );
    }
}

#[test]
fn cold_start_both_ours_at_once_one_active_within_deadtime_plus_two_keepalives() {
    let t0 = Instant::now();
    let mut sim = Sim::new(ours(true, t0), ours(false, t0), t0);
    sim.start(0);
    sim.start(1);
    sim.run_until(t0 + D + K * 2);
    assert_eq!(sim.active_count(), 1);
    assert!(sim.nodes[0].holds);
    // And it was never two at any time: the backup never held addresses.
    assert!(sim.nodes[1].took_over_at.is_none());
}

#[test]
fn cold_start_original_primary_ours_backup_primary_wins() {
    let t0 = Instant::now();
    for (a, b) in [(0, 0), (0, 500), (500, 0), (0, 2900), (1000, 1500)] {
        let sim = cold(original(true, t0), a, ours(false, t0), b, t0);
        assert!(sim.nodes[0].holds, "primary at {a}, backup at {b}");
        assert_eq!(sim.active_count(), 1, "primary at {a}, backup at {b}");
    }
    // Primary far later than deadtime: the backup took over, no failback.
    let sim = cold(original(true, t0), 8000, ours(false, t0), 0, t0);
    assert!(sim.nodes[1].holds && !sim.nodes[0].holds);
}

/// Both ours, primary active: kill -9 it at `kill_ms` (+ a phase inside the
/// keepalive), and return the takeover delay of the backup.
fn takeover_after_kill(k: Duration, d: Duration, phase: Duration) -> Duration {
    let t0 = Instant::now();
    let mk = |master| {
        let mut p = params(master);
        p.test_start = true;
        p.keepalive = k;
        p.deadtime = d;
        Box::new(Machine::new(p, vips(), t0)) as Box<dyn Router>
    };
    let mut sim = Sim::new(mk(true), mk(false), t0);
    sim.start(0);
    sim.start(1);
    let settle = t0 + d * 4 + phase;
    sim.run_until(settle);
    assert!(sim.nodes[0].holds && !sim.nodes[1].holds);
    sim.kill(0);
    sim.run_until(settle + d * 4);
    assert!(sim.nodes[1].holds);
    sim.nodes[1].took_over_at.expect("took over") - settle
}

#[test]
fn kill_active_backup_takes_over_within_deadtime_plus_keepalive() {
    for (k, d) in [(1000, 3000), (2000, 5000), (10, 30), (20, 60), (100, 300)] {
        let (k, d) = (ms(k), ms(d));
        for phase in [Duration::ZERO, k / 3, k * 9 / 10] {
            let t = takeover_after_kill(k, d, phase);
            assert!(t <= d + k, "k {k:?} d {d:?} phase {phase:?}: {t:?}");
            assert!(t + k >= d, "not before deadtime - keepalive: {t:?}");
        }
    }
}

#[test]
fn no_failback_when_primary_returns() {
    let t0 = Instant::now();
    let mut sim = Sim::new(ours(true, t0), ours(false, t0), t0);
    sim.start(0);
    sim.start(1);
    sim.run_until(t0 + ms(5000));
    sim.kill(0);
    sim.run_until(t0 + ms(10_000));
    assert!(sim.nodes[1].holds);
    // The primary restarts (a new process; the kernel still has its stale
    // address from before the kill, which the loop removes at start).
    sim.nodes[0].router = ours(true, t0 + ms(10_000));
    sim.nodes[0].holds = false;
    sim.start(0);
    sim.run_until(t0 + ms(30_000));
    assert!(!sim.nodes[0].holds && sim.nodes[1].holds);
    assert_eq!(sim.active_count(), 1);
}

#[test]
fn partition_then_heal_one_active_backup_yields() {
    let t0 = Instant::now();
    for backup_original in [false, true] {
        let b = if backup_original {
            original(false, t0)
        } else {
            ours(false, t0)
        };
        let mut sim = Sim::new(ours(true, t0), b, t0);
        sim.start(0);
        sim.start(1);
        sim.run_until(t0 + ms(5000));
        assert!(sim.nodes[0].holds && !sim.nodes[1].holds);
        sim.deliver = [false, false];
        sim.run_until(t0 + ms(12_000));
        assert_eq!(sim.active_count(), 2, "split brain while partitioned");
        sim.deliver = [true, true];
        sim.run_until(t0 + ms(15_000));
        assert_eq!(sim.active_count(), 1);
        assert!(sim.nodes[0].holds, "the backup yields");
        if !backup_original {
            assert!(
                sim.nodes[1]
                    .logs()
                    .contains(&text::PARTNER_ACTIVE_DEACTIVATING)
            );
            assert!(
                sim.nodes[0]
                    .logs()
                    .contains(&text::PARTNER_ACTIVE_RESENDING)
            );
        }
    }
}

#[test]
fn one_way_loss_backup_stays_passive_when_it_still_hears_primary() {
    let t0 = Instant::now();
    let mut sim = Sim::new(ours(true, t0), ours(false, t0), t0);
    sim.start(0);
    sim.start(1);
    sim.run_until(t0 + ms(5000));
    sim.deliver[1] = false; // the backup's beats are lost
    sim.run_until(t0 + ms(20_000));
    assert!(sim.nodes[0].holds && !sim.nodes[1].holds);
}

#[test]
fn sigterm_of_active_partner_takes_over_at_once() {
    let t0 = Instant::now();
    for backup_original in [false, true] {
        let b = if backup_original {
            original(false, t0)
        } else {
            ours(false, t0)
        };
        let mut sim = Sim::new(ours(true, t0), b, t0);
        sim.start(0);
        sim.start(1);
        sim.run_until(t0 + ms(5000));
        let stop = t0 + ms(5000);
        sim.signal(0, Event::Terminate { signal: 15 });
        sim.run_until(t0 + ms(5010));
        assert!(!sim.nodes[0].holds);
        assert!(sim.nodes[1].holds);
        let took = sim.nodes[1].took_over_at.expect("took over") - stop;
        assert!(took <= ms(1), "{took:?}");
        let stopped = sim.nodes[0].sent.iter().filter(|(t, _)| *t >= stop).count();
        assert_eq!(stopped, 1, "one STOPPED on SIGTERM");
    }
    // And the other way round: our backup active, SIGTERM, our primary takes over.
    let mut sim = Sim::new(ours(true, t0), ours(false, t0), t0);
    sim.start(1);
    sim.run_until(t0 + ms(5000));
    sim.start(0);
    sim.run_until(t0 + ms(8000));
    assert!(sim.nodes[1].holds && !sim.nodes[0].holds);
    sim.signal(1, Event::Terminate { signal: 15 });
    sim.run_until(t0 + ms(8001));
    assert!(sim.nodes[0].holds);
}

#[test]
fn original_partner_sigterm_takes_deadtime() {
    // The original sends nothing on SIGTERM: our backup waits deadtime.
    let t0 = Instant::now();
    let mut sim = Sim::new(original(true, t0), ours(false, t0), t0);
    sim.start(0);
    sim.start(1);
    sim.run_until(t0 + ms(5000));
    assert!(sim.nodes[0].holds);
    sim.signal(0, Event::Terminate { signal: 15 });
    sim.run_until(t0 + ms(5000) + D + K);
    assert!(sim.nodes[1].holds);
    let took = sim.nodes[1].took_over_at.expect("took over") - (t0 + ms(5000));
    assert!(took >= D - K && took <= D + K, "{took:?}");
}

#[test]
fn log_texts_verbatim_from_the_original() {
    // piranha.md §3.7: monitoring scripts grep these.
    for (ours, original) in [
        (text::START_MASTER, "STARTING PULSE AS MASTER"),
        (text::START_BACKUP, "STARTING PULSE AS BACKUP"),
        (text::PARTNER_DEAD, "partner dead: activating lvs"),
        (text::BACKUP_INACTIVE, "backup inactive: activating lvs"),
        (text::PRIMARY_INACTIVE, "primary inactive: activating lvs"),
        (
            text::PARTNER_ACTIVE_DEACTIVATING,
            "partner active: deactivating LVS",
        ),
        (
            text::PARTNER_ACTIVE_RESENDING,
            "partner active: resending arps",
        ),
        (
            text::LINK_FAILURE_DEACTIVATING,
            "local link failure: deactivating LVS",
        ),
        (text::LINK_FAILURE, "Local NIC link failure: Pulse disabled"),
        (
            text::LINKS_RESTORED,
            "Local NIC link(s) restored: Pulse enabled",
        ),
        (text::PRIMARY_NIC_DOWN, "Primary NIC: link down"),
        (text::PRIVATE_NIC_DOWN, "Private NIC: link down"),
        (text::ARPS_FINISHED, "gratuitous lvs arps finished"),
        (
            text::FORCED_ACTIVE,
            "Forced active on startup: activating lvs",
        ),
        (
            text::INCOMPATIBLE,
            "Incompatible heartbeat received -- other system not using identical services",
        ),
        (
            text::BACKUP_MARKED_INACTIVE,
            "We are backup node and backup is marked inactive -- exiting pulse",
        ),
    ] {
        assert_eq!(ours, original);
    }
}

/// Both ours (with lvsd, not `-t`), primary active and settled.
fn settled_pair(t0: Instant) -> Sim {
    let mk = |master| Box::new(Machine::new(params(master), vips(), t0)) as Box<dyn Router>;
    let mut sim = Sim::new(mk(true), mk(false), t0);
    sim.start(0);
    sim.start(1);
    sim.run_until(t0 + ms(6000));
    assert!(sim.nodes[0].holds && !sim.nodes[1].holds);
    sim
}

#[test]
fn link_failure_of_active_primary_fails_over_at_once() {
    let t0 = Instant::now();
    let mut sim = settled_pair(t0);
    // The private path still carries the beats in a real pair.
    sim.signal(
        0,
        Event::Links {
            failed: vec![Path::Public],
        },
    );
    sim.run_until(t0 + ms(6200));
    assert!(!sim.nodes[0].holds);
    assert!(sim.nodes[1].holds);
    let took = sim.nodes[1].took_over_at.expect("took over") - (t0 + ms(6000));
    // At once, plus the backup's lvsd start (the sim's 50 ms).
    assert!(took <= sim.lvsd_ready_after + ms(1), "{took:?}");
    // The primary, link still down, never takes back.
    sim.run_until(t0 + ms(20_000));
    assert!(!sim.nodes[0].holds && sim.nodes[1].holds);
}

#[test]
fn lvsd_death_on_active_primary_fails_over_at_once_and_no_restart() {
    let t0 = Instant::now();
    let mut sim = settled_pair(t0);
    sim.signal(
        0,
        Event::LvsdExited {
            pid: 77,
            how: ExitHow::Signal(9),
        },
    );
    sim.run_until(t0 + ms(20_000));
    assert!(!sim.nodes[0].holds && sim.nodes[1].holds);
    let took = sim.nodes[1].took_over_at.expect("took over") - (t0 + ms(6000));
    assert!(took <= sim.lvsd_ready_after + ms(1), "{took:?}");
    // The backup's RUNNING cleared the primary's CHILDFAIL; it never
    // restarted lvsd to compete.
    assert!(!sim.nodes[0].logs().contains(&text::RESTARTING));
}
