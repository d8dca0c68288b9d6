//! pulse's failover decisions as a pure state machine: [`Machine::on`].
//!
//! The event loop (bin/pulse) turns sockets, timers, child exits, link
//! events and signals into [`Event`]s, calls `on(now, event)` and carries
//! out the returned [`Action`]s in order. It calls `on(now, Event::Tick)`
//! when [`Machine::next_wakeup`] is reached. There is no clock in here: the
//! time is passed in, so the tests drive it with a simulated clock.
//!
//! # Rules
//!
//! The rows of piranha.md §4.4 (each has a unit test named after it):
//!
//! * **start**: `inactive_cmd`, sync daemon as backup; with `--forceactive`
//!   then activate, "Forced active on startup: activating lvs".
//! * **rx RUNNING, active, backup**: send one extra RUNNING (#134007, so
//!   the master re-ARPs), "partner active: deactivating LVS", deactivate.
//! * **rx RUNNING, active, master**: "partner active: resending arps":
//!   `active_cmd` again, addresses up again, announce again.
//! * **rx RUNNING, any**: clear CHILDFAIL. **Inactive**: nothing else.
//! * **rx STOPPED, inactive, master, no LINKFAIL/CHILDFAIL**: "backup
//!   inactive: activating lvs", at once.
//! * **rx STOPPED, inactive, backup, no flags**: "primary inactive:
//!   activating lvs", but see *cold start* below.
//! * **rx STOPPED, active**: nothing.
//! * **deadtime expired, inactive, no flags**: "partner dead: activating
//!   lvs". **Active**: nothing. The deadline is re-armed (`now + deadtime`),
//!   so a blocked node re-evaluates every deadtime (§4.3).
//! * **lvsd exits**: "Child process P exited with status S", deactivate,
//!   set CHILDFAIL (blocks activation until a RUNNING from the partner).
//! * **link down**, active: "local link failure: deactivating LVS".
//! * **SIGTERM**: "Terminating due to signal N", deactivate, exit 0.
//!
//! Timers (§4.3): a heartbeat every `keepalive` while a partner is
//! configured (RUNNING while active, STOPPED otherwise); the partner is dead
//! after `deadtime` without a valid heartbeat on *both* paths. An
//! incompatible value ("Incompatible heartbeat received -- …") does not
//! refresh the deadline; HOLD/HELD do and are otherwise ignored.
//!
//! Deliberate differences (docs/compat.md):
//!
//! * **Beats on every change.** A heartbeat is also sent at once on every
//!   activation or deactivation, not only every `keepalive`, so the
//!   partner learns a change within one network delay (an original
//!   partner's own rules do the rest). The regular schedule continues from
//!   there.
//! * **Cold start** (docs/compat.md has the four combinations):
//!   1. a backup sends its first STOPPED at once at start (the master waits
//!      `keepalive`, as the original), so an inactive primary that is up
//!      takes over on it;
//!   2. a backup that receives STOPPED from a primary whose previous
//!      heartbeat was not RUNNING (it never saw it active) does not
//!      activate at once: it activates "primary inactive" only after
//!      STOPPED beats for a whole `deadtime` (the primary is alive but
//!      unable: LINKFAIL or CHILDFAIL). A master activates on the backup's
//!      STOPPED at once, as the original;
//!   3. a backup that has heard nothing since start declares the partner
//!      dead after `deadtime + keepalive` (then every `deadtime`), so a
//!      primary started up to `deadtime` later is heard first.
//!
//!   Both ours: the primary ends active whenever both start within
//!   `deadtime` of each other, in either order. With an original pulse on
//!   either side exactly one ends active (the primary, except when an
//!   original backup starts after our primary: it activates on our first
//!   STOPPED, as it would with an original primary). A STOPPED after a
//!   RUNNING (planned stop, link failure or lvsd failure of the active
//!   primary) still activates the backup at once.
//! * **SIGTERM** removes the addresses and sends one STOPPED before the
//!   slower steps, so the partner takes over at once, not after deadtime.
//! * **lvsd failure with no live partner**: instead of leaving the site
//!   down (CHILDFAIL until a partner appears), restart it with a backoff of
//!   1, 2, 4 … 60 s ("no live partner: restarting lvs"). Also when the
//!   partner is alive but stays STOPPED for a deadtime after our failure.
//!   The backoff starts again at 1 s after lvsd ran for 60 s.
//! * **`--test-start`** removes the addresses on deactivation (the original
//!   never did under `-t`).
//! * **Readiness**: addresses go up only when lvsd reported ready (the RHEL
//!   original waited in `sem_timedwait` before the VIPs too); a readiness
//!   timeout kills lvsd and sets CHILDFAIL instead of exiting pulse.
//! * **`hot_standby`** (extension): lvsd runs on both routers from the
//!   start and stays on deactivation, so a takeover is addresses + ARP.
//!   A standby lvsd that dies sets CHILDFAIL, is restarted with the same
//!   backoff, and CHILDFAIL clears when it is ready again.
//! * **SIGHUP** ([`Event::Reload`]) applies new timers and floating
//!   addresses live and reaches lvsd only when it runs.

use std::time::{Duration, Instant};

use lvscf::model::Config;

use crate::floating::{self, FloatingAddress};
use crate::heartbeat::Heartbeat;

/// Longest lvsd restart backoff, and how long lvsd must have run for the
/// backoff to start again at [`MIN_BACKOFF`].
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// First lvsd restart backoff.
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Default `arp_count` (piranha sent 5 gratuitous ARPs per address).
pub const DEFAULT_ARP_COUNT: u32 = 5;
/// Default `arp_interval` (1 s apart).
pub const DEFAULT_ARP_INTERVAL: Duration = Duration::from_secs(1);

/// Log texts the original printed, kept verbatim (piranha.md §3.7).
pub mod text {
    pub const START_MASTER: &str = "STARTING PULSE AS MASTER";
    pub const START_BACKUP: &str = "STARTING PULSE AS BACKUP";
    pub const BACKUP_MARKED_INACTIVE: &str =
        "We are backup node and backup is marked inactive -- exiting pulse";
    pub const FORCED_ACTIVE: &str = "Forced active on startup: activating lvs";
    pub const PARTNER_DEAD: &str = "partner dead: activating lvs";
    pub const BACKUP_INACTIVE: &str = "backup inactive: activating lvs";
    pub const PRIMARY_INACTIVE: &str = "primary inactive: activating lvs";
    pub const PARTNER_ACTIVE_DEACTIVATING: &str = "partner active: deactivating LVS";
    pub const PARTNER_ACTIVE_RESENDING: &str = "partner active: resending arps";
    pub const LINK_FAILURE_DEACTIVATING: &str = "local link failure: deactivating LVS";
    pub const LINK_FAILURE: &str = "Local NIC link failure: Pulse disabled";
    pub const LINKS_RESTORED: &str = "Local NIC link(s) restored: Pulse enabled";
    pub const PRIMARY_NIC_DOWN: &str = "Primary NIC: link down";
    pub const PRIVATE_NIC_DOWN: &str = "Private NIC: link down";
    pub const ARPS_FINISHED: &str = "gratuitous lvs arps finished";
    pub const INCOMPATIBLE: &str =
        "Incompatible heartbeat received -- other system not using identical services";
    /// Ours: lvsd restarted after a failure with nobody to take over.
    pub const RESTARTING: &str = "no live partner: restarting lvs";
}

/// Severity of a log line (syslog priority in the loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Info,
    /// Only with `-v` ("DEBUG -- …" lines of the original).
    Debug,
}

/// Which heartbeat path (and which of our links): `primary`/`backup`
/// addresses, or `primary_private`/`backup_private`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Path {
    Public,
    Private,
}

impl Path {
    fn index(self) -> usize {
        match self {
            Path::Public => 0,
            Path::Private => 1,
        }
    }
}

/// This router's fixed role (from the addresses on the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Backup,
}

/// Role of the IPVS connection-sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRole {
    Master,
    Backup,
}

/// How lvsd ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitHow {
    /// Exited with this status.
    Status(i32),
    /// Killed by this signal.
    Signal(i32),
}

/// What the machine knows about lvsd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LvsdState {
    /// Not running (or a stop was asked for).
    Stopped,
    /// Started, readiness not reported yet.
    Starting,
    /// Reported ready.
    Running,
}

/// Fixed inputs, from lvs.cf and the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// This router is the primary (pulse found `primary` on the host).
    pub master: bool,
    /// A partner exists: `backup_active = 1` and a `backup` address.
    /// Heartbeats are sent only then.
    pub partner: bool,
    /// Heartbeat interval.
    pub keepalive: Duration,
    /// Silence after which the partner is dead.
    pub deadtime: Duration,
    /// `--forceactive`.
    pub force_active: bool,
    /// `-t`/`--test-start`/`--norun`: no lvsd, no `active_cmd`/`inactive_cmd`.
    pub test_start: bool,
    /// `hot_standby = 1` (extension).
    pub hot_standby: bool,
    /// `monitor_links` (only with a partner, as the original).
    pub monitor_links: bool,
    /// A private heartbeat path exists (`primary_private != primary`).
    pub has_private_path: bool,
    /// `syncdaemon = 1`.
    pub syncdaemon: bool,
    /// Gratuitous ARPs per address and announcement.
    pub arp_count: u32,
    /// Time between them.
    pub arp_interval: Duration,
}

/// Command-line flags that go into [`Params`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--forceactive`.
    pub force_active: bool,
    /// `-t`/`--test-start`/`--norun`.
    pub test_start: bool,
}

impl Params {
    /// The parameters for `config`; `master` is pulse's finding.
    pub fn from_config(config: &Config, master: bool, flags: Flags) -> Params {
        let partner = config.backup_active && config.backup.is_some_and(|b| !b.is_unspecified());
        Params {
            master,
            partner,
            keepalive: config.keepalive,
            deadtime: config.deadtime,
            force_active: flags.force_active,
            test_start: flags.test_start,
            hot_standby: config.hot_standby,
            monitor_links: config.monitor_links && partner,
            has_private_path: config.primary_private.is_some()
                && config.primary_private != config.primary,
            syncdaemon: config.syncdaemon,
            arp_count: config.arp_count,
            arp_interval: config.arp_interval,
        }
    }

    /// The role.
    pub fn role(&self) -> Role {
        if self.master {
            Role::Master
        } else {
            Role::Backup
        }
    }
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Once, first.
    Start,
    /// [`Machine::next_wakeup`] was reached (early or late calls are fine).
    Tick,
    /// A heartbeat from the partner's address on `path` (the loop drops
    /// other sources, bad lengths and, with a key, unauthenticated ones).
    Heartbeat { path: Path, beat: Heartbeat },
    /// lvsd reported ready (`PULSE_READY_FD`).
    LvsdReady,
    /// lvsd did not report ready in time; the machine answers `StopLvsd`.
    LvsdReadyTimeout,
    /// lvsd ended.
    LvsdExited { pid: u32, how: ExitHow },
    /// The monitored links that are down now (empty = all up). Ignored
    /// unless [`Params::monitor_links`].
    Links { failed: Vec<Path> },
    /// The gratuitous ARP schedule of the last [`Action::Announce`] ended.
    AnnounceDone,
    /// SIGHUP with a good lvs.cf: new parameters and floating set. The role
    /// and the command-line flags are kept (a role change needs a restart).
    Reload {
        params: Params,
        floating: Vec<FloatingAddress>,
    },
    /// SIGTERM or SIGINT.
    Terminate { signal: i32 },
}

/// Something to do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Log a line (the original's text where it had one, see [`text`]).
    Log { level: Level, text: String },
    /// Send this heartbeat to the partner on every path.
    SendHeartbeat(Heartbeat),
    /// Run `active_cmd` (fire and forget, as the original).
    RunActiveCmd,
    /// Run `inactive_cmd`.
    RunInactiveCmd,
    /// Start lvsd with the readiness fd; report [`Event::LvsdReady`] or
    /// [`Event::LvsdReadyTimeout`], and later [`Event::LvsdExited`].
    StartLvsd,
    /// SIGTERM lvsd (SIGKILL after a readiness timeout) and reap it.
    StopLvsd,
    /// SIGHUP to lvsd (only emitted while it runs).
    ReloadLvsd,
    /// Bring these addresses up (an address already held is fine).
    AddFloating(Vec<FloatingAddress>),
    /// Take these addresses down (never the base interface).
    RemoveFloating(Vec<FloatingAddress>),
    /// Start the gratuitous ARP / unsolicited NA schedule for these
    /// addresses: `count` frames each, the first at once, `interval` apart;
    /// report [`Event::AnnounceDone`] at the end. A new announcement
    /// replaces a running one.
    Announce {
        addrs: Vec<FloatingAddress>,
        count: u32,
        interval: Duration,
    },
    /// Restart the IPVS sync daemon in this role (only with `syncdaemon`).
    SyncDaemon(SyncRole),
    /// Exit with this status after the actions before it.
    Exit(i32),
}

/// A read-only view for `pulse --status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub role: Role,
    pub active: bool,
    /// A partner is configured.
    pub partner: bool,
    /// A valid heartbeat arrived within `deadtime`.
    pub partner_alive: bool,
    /// The partner's last valid heartbeat.
    pub partner_last: Option<Heartbeat>,
    /// When the last valid heartbeat arrived on the public path.
    pub last_heartbeat_public: Option<Instant>,
    /// … and on the private path.
    pub last_heartbeat_private: Option<Instant>,
    /// LINKFAIL: the links that are down (empty = flag clear).
    pub failed_links: Vec<Path>,
    /// CHILDFAIL.
    pub childfail: bool,
    pub lvsd: LvsdState,
    /// Floating addresses held (empty when not active).
    pub floating: Vec<FloatingAddress>,
    /// When lvsd is restarted next, if a restart is pending.
    pub restart_at: Option<Instant>,
}

/// The failover state of one router.
#[derive(Debug, Clone)]
pub struct Machine {
    p: Params,
    floating: Vec<FloatingAddress>,
    started: bool,
    exited: bool,
    active: bool,
    lvsd: LvsdState,
    lvsd_since: Option<Instant>,
    /// The floating addresses are up (added and not removed since).
    held: bool,
    failed_links: Vec<Path>,
    childfail: bool,
    childfail_at: Option<Instant>,
    restart_at: Option<Instant>,
    backoff: Duration,
    last_rx: [Option<Instant>; 2],
    last_beat: Option<Heartbeat>,
    /// Start of the current run of STOPPED beats from the partner.
    stopped_since: Option<Instant>,
    send_at: Instant,
    /// Last valid heartbeat, or start, or last dead-timer expiry.
    need_base: Instant,
    /// A backup that has heard nothing since start: its first dead timer
    /// is one keepalive longer (cold start rule).
    cold: bool,
}

fn log(out: &mut Vec<Action>, level: Level, text: impl Into<String>) {
    out.push(Action::Log {
        level,
        text: text.into(),
    });
}

impl Machine {
    /// A router that has not started; `floating` is [`floating::desired`]
    /// of its lvs.cf.
    pub fn new(params: Params, floating: Vec<FloatingAddress>, now: Instant) -> Machine {
        Machine {
            send_at: now + params.keepalive,
            need_base: now,
            p: params,
            floating,
            started: false,
            exited: false,
            active: false,
            lvsd: LvsdState::Stopped,
            lvsd_since: None,
            held: false,
            failed_links: Vec::new(),
            childfail: false,
            childfail_at: None,
            restart_at: None,
            backoff: MIN_BACKOFF,
            last_rx: [None; 2],
            last_beat: None,
            stopped_since: None,
            cold: false,
        }
    }

    /// A machine for `config` (convenience over [`Machine::new`]).
    pub fn for_config(config: &Config, master: bool, flags: Flags, now: Instant) -> Machine {
        Machine::new(
            Params::from_config(config, master, flags),
            floating::desired(config),
            now,
        )
    }

    /// The parameters in force.
    pub fn params(&self) -> &Params {
        &self.p
    }

    /// Whether this router is active (it may still wait for lvsd's
    /// readiness before its addresses are up).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Whether an [`Action::Exit`] was returned; later events do nothing.
    pub fn has_exited(&self) -> bool {
        self.exited
    }

    fn need(&self) -> Instant {
        if self.cold {
            self.need_base + self.p.deadtime + self.p.keepalive
        } else {
            self.need_base + self.p.deadtime
        }
    }

    fn partner_alive(&self, now: Instant) -> bool {
        self.last_rx
            .iter()
            .flatten()
            .any(|t| now.saturating_duration_since(*t) < self.p.deadtime)
    }

    /// When to call `on(Tick)` next.
    pub fn next_wakeup(&self) -> Instant {
        let mut t = self.need();
        if self.p.partner {
            t = t.min(self.send_at);
        }
        if let Some(r) = self.restart_at {
            t = t.min(r);
        }
        t
    }

    /// The view for `pulse --status`.
    pub fn status(&self, now: Instant) -> Status {
        Status {
            role: self.p.role(),
            active: self.active,
            partner: self.p.partner,
            partner_alive: self.partner_alive(now),
            partner_last: self.last_beat,
            last_heartbeat_public: self.last_rx[0],
            last_heartbeat_private: self.last_rx[1],
            failed_links: self.failed_links.clone(),
            childfail: self.childfail,
            lvsd: self.lvsd,
            floating: if self.held {
                self.floating.clone()
            } else {
                Vec::new()
            },
            restart_at: self.restart_at,
        }
    }

    /// Applies one event; the actions to carry out, in order.
    pub fn on(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if self.exited {
            return out;
        }
        if !self.started && event != Event::Start {
            // Only Terminate makes sense before Start; treat the rest as
            // not yet happened.
            if let Event::Terminate { signal } = event {
                log(
                    &mut out,
                    Level::Info,
                    format!("Terminating due to signal {signal}"),
                );
                self.exited = true;
                out.push(Action::Exit(0));
            }
            return out;
        }
        match event {
            Event::Start => self.start(now, &mut out),
            Event::Tick => self.tick(now, &mut out),
            Event::Heartbeat { path, beat } => self.heartbeat(now, path, beat, &mut out),
            Event::LvsdReady => self.lvsd_ready(&mut out),
            Event::LvsdReadyTimeout => {
                if self.lvsd == LvsdState::Starting {
                    log(
                        &mut out,
                        Level::Error,
                        "lvsd did not report ready in time: killing it",
                    );
                    out.push(Action::StopLvsd);
                    self.lvsd_failed(now, &mut out);
                }
            }
            Event::LvsdExited { pid, how } => {
                let line = match how {
                    ExitHow::Status(s) => format!("Child process {pid} exited with status {s}"),
                    ExitHow::Signal(s) => format!("Child process {pid} terminated with signal {s}"),
                };
                if self.lvsd == LvsdState::Stopped {
                    // We asked for it (StopLvsd).
                    log(&mut out, Level::Debug, line);
                } else {
                    log(&mut out, Level::Warning, line);
                    self.lvsd_failed(now, &mut out);
                }
            }
            Event::Links { failed } => self.links(now, failed, &mut out),
            Event::AnnounceDone => log(&mut out, Level::Info, text::ARPS_FINISHED),
            Event::Reload { params, floating } => self.reload(now, params, floating, &mut out),
            Event::Terminate { signal } => {
                log(
                    &mut out,
                    Level::Info,
                    format!("Terminating due to signal {signal}"),
                );
                self.deactivate(now, true, &mut out);
                self.exited = true;
                out.push(Action::Exit(0));
            }
        }
        out
    }

    fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.started {
            return;
        }
        self.started = true;
        self.need_base = now;
        self.send_at = now + self.p.keepalive;
        self.cold = !self.p.master;
        log(
            out,
            Level::Info,
            if self.p.master {
                text::START_MASTER
            } else {
                text::START_BACKUP
            },
        );
        if !self.p.master && !self.p.partner {
            log(out, Level::Error, text::BACKUP_MARKED_INACTIVE);
            self.exited = true;
            out.push(Action::Exit(255));
            return;
        }
        if !self.p.test_start {
            out.push(Action::RunInactiveCmd);
        }
        if self.p.syncdaemon {
            out.push(Action::SyncDaemon(SyncRole::Backup));
        }
        if self.p.hot_standby && !self.p.test_start {
            self.start_lvsd(now, out);
        }
        if self.p.force_active {
            self.activate(now, text::FORCED_ACTIVE, out);
        } else if !self.p.master {
            // The backup announces itself at once: a primary (ours or the
            // original) that is up and inactive takes over on it.
            self.send(now, out);
        }
    }

    /// Sends the heartbeat of the current state now and restarts the
    /// regular schedule from here.
    fn send(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.p.partner {
            out.push(Action::SendHeartbeat(if self.active {
                Heartbeat::Running
            } else {
                Heartbeat::Stopped
            }));
            self.send_at = now + self.p.keepalive;
        }
    }

    fn tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.p.partner && now >= self.send_at {
            // Keep the cadence of the schedule unless we are far behind.
            let next = self.send_at + self.p.keepalive;
            self.send(now, out);
            if next > now {
                self.send_at = next;
            }
        }
        if now >= self.need() {
            self.need_base = now;
            self.cold = false;
            self.stopped_since = None;
            self.last_beat = None;
            if !self.active && self.failed_links.is_empty() && !self.childfail {
                self.activate(now, text::PARTNER_DEAD, out);
            }
        }
        if let Some(at) = self.restart_at
            && now >= at
        {
            self.restart(now, out);
        }
    }

    fn heartbeat(&mut self, now: Instant, path: Path, beat: Heartbeat, out: &mut Vec<Action>) {
        let valid = matches!(beat, Heartbeat::Running | Heartbeat::Stopped) || beat.is_hold();
        if !valid {
            // FOS values too: service = fos is not supported.
            log(out, Level::Warning, text::INCOMPATIBLE);
            return;
        }
        self.last_rx[path.index()] = Some(now);
        self.need_base = now;
        self.cold = false;
        match beat {
            Heartbeat::Running => {
                self.last_beat = Some(Heartbeat::Running);
                self.stopped_since = None;
                self.childfail = false;
                self.childfail_at = None;
                if !self.p.hot_standby || self.p.test_start {
                    // The partner serves: no restart to bring the site
                    // back. (A hot standby still restarts its standby lvsd.)
                    self.restart_at = None;
                }
                if self.active {
                    if self.p.master {
                        log(out, Level::Info, text::PARTNER_ACTIVE_RESENDING);
                        if !self.p.test_start {
                            out.push(Action::RunActiveCmd);
                        }
                        if self.held {
                            self.bring_up(out);
                        }
                    } else {
                        out.push(Action::SendHeartbeat(Heartbeat::Running));
                        log(out, Level::Info, text::PARTNER_ACTIVE_DEACTIVATING);
                        self.deactivate(now, false, out);
                    }
                }
            }
            Heartbeat::Stopped => {
                let was_running = self.last_beat == Some(Heartbeat::Running);
                self.last_beat = Some(Heartbeat::Stopped);
                let since = *self.stopped_since.get_or_insert(now);
                if self.active || !self.failed_links.is_empty() || self.childfail {
                    return;
                }
                if self.p.master {
                    self.activate(now, text::BACKUP_INACTIVE, out);
                } else if was_running || now.saturating_duration_since(since) >= self.p.deadtime {
                    self.activate(now, text::PRIMARY_INACTIVE, out);
                }
            }
            _ => {}
        }
    }

    fn start_lvsd(&mut self, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::StartLvsd);
        self.lvsd = LvsdState::Starting;
        self.lvsd_since = Some(now);
    }

    fn activate(&mut self, now: Instant, why: &str, out: &mut Vec<Action>) {
        log(out, Level::Info, why);
        self.active = true;
        self.restart_at = None;
        if !self.p.test_start {
            out.push(Action::RunActiveCmd);
            match self.lvsd {
                LvsdState::Stopped => self.start_lvsd(now, out),
                LvsdState::Starting => {}
                LvsdState::Running => self.bring_up(out),
            }
        } else {
            self.bring_up(out);
        }
        self.send(now, out);
    }

    /// Sync daemon as master, addresses up, announce them.
    fn bring_up(&mut self, out: &mut Vec<Action>) {
        if self.p.syncdaemon && !self.held {
            out.push(Action::SyncDaemon(SyncRole::Master));
        }
        self.held = true;
        out.push(Action::AddFloating(self.floating.clone()));
        out.push(Action::Announce {
            addrs: self.floating.clone(),
            count: self.p.arp_count,
            interval: self.p.arp_interval,
        });
    }

    /// The reverse of [`Machine::activate`]; with `last` (SIGTERM) also
    /// when inactive, and lvsd is stopped even in hot standby.
    fn deactivate(&mut self, now: Instant, last: bool, out: &mut Vec<Action>) {
        let was_active = self.active;
        self.active = false;
        if self.held {
            out.push(Action::RemoveFloating(self.floating.clone()));
            self.held = false;
        }
        if was_active || last {
            // At once, so the partner takes over now (and once on SIGTERM).
            self.send(now, out);
        }
        if !self.p.test_start {
            out.push(Action::RunInactiveCmd);
        }
        if self.p.syncdaemon {
            out.push(Action::SyncDaemon(SyncRole::Backup));
        }
        if self.lvsd != LvsdState::Stopped && (last || !self.p.hot_standby) {
            out.push(Action::StopLvsd);
            self.lvsd = LvsdState::Stopped;
        }
        if last {
            self.restart_at = None;
        }
    }

    fn lvsd_ready(&mut self, out: &mut Vec<Action>) {
        if self.lvsd != LvsdState::Starting {
            return;
        }
        self.lvsd = LvsdState::Running;
        if self.active {
            if !self.held {
                self.bring_up(out);
            }
        } else if self.p.hot_standby {
            // A restarted standby lvsd: able to take over again.
            self.childfail = false;
            self.childfail_at = None;
        } else {
            // Not wanted any more (deactivated while it started).
            out.push(Action::StopLvsd);
            self.lvsd = LvsdState::Stopped;
        }
    }

    /// lvsd died or never became ready.
    fn lvsd_failed(&mut self, now: Instant, out: &mut Vec<Action>) {
        let ran_long = self
            .lvsd_since
            .is_some_and(|t| now.saturating_duration_since(t) >= MAX_BACKOFF);
        if ran_long {
            self.backoff = MIN_BACKOFF;
        }
        self.lvsd = LvsdState::Stopped;
        if self.active {
            self.deactivate(now, false, out);
        }
        self.childfail = true;
        self.childfail_at = Some(now);
        self.restart_at = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn restart(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.restart_at = None;
        if self.active || self.lvsd != LvsdState::Stopped {
            return;
        }
        if !self.active && self.p.hot_standby && !self.p.test_start {
            // Standby lvsd back; activation stays blocked until it is ready.
            log(out, Level::Info, "restarting standby lvsd");
            self.start_lvsd(now, out);
            return;
        }
        if !self.childfail {
            return;
        }
        let stuck = self.last_beat == Some(Heartbeat::Stopped)
            && self
                .childfail_at
                .is_some_and(|t| now.saturating_duration_since(t) >= self.p.deadtime);
        if !self.failed_links.is_empty() || (self.partner_alive(now) && !stuck) {
            // Someone can (or may yet) take over; look again later.
            self.restart_at = Some(now + self.p.keepalive.min(self.p.deadtime));
            return;
        }
        self.childfail = false;
        self.childfail_at = None;
        self.activate(now, text::RESTARTING, out);
    }

    fn links(&mut self, now: Instant, mut failed: Vec<Path>, out: &mut Vec<Action>) {
        if !self.p.monitor_links {
            return;
        }
        failed.sort();
        failed.dedup();
        for p in &failed {
            if !self.failed_links.contains(p) {
                log(
                    out,
                    Level::Warning,
                    match p {
                        Path::Public => text::PRIMARY_NIC_DOWN,
                        Path::Private => text::PRIVATE_NIC_DOWN,
                    },
                );
            }
        }
        let was = !self.failed_links.is_empty();
        let is = !failed.is_empty();
        self.failed_links = failed;
        if is && !was {
            log(out, Level::Warning, text::LINK_FAILURE);
            if self.active {
                log(out, Level::Info, text::LINK_FAILURE_DEACTIVATING);
                self.deactivate(now, false, out);
            }
        } else if was && !is {
            log(out, Level::Info, text::LINKS_RESTORED);
        }
    }

    fn reload(
        &mut self,
        now: Instant,
        mut params: Params,
        floating: Vec<FloatingAddress>,
        out: &mut Vec<Action>,
    ) {
        params.master = self.p.master;
        params.force_active = self.p.force_active;
        params.test_start = self.p.test_start;
        if self.held {
            let d = floating::diff(&self.floating, &floating);
            if !d.remove.is_empty() {
                out.push(Action::RemoveFloating(d.remove));
            }
            if !d.add.is_empty() {
                out.push(Action::AddFloating(d.add.clone()));
                out.push(Action::Announce {
                    addrs: d.add,
                    count: params.arp_count,
                    interval: params.arp_interval,
                });
            }
        }
        self.floating = floating;
        if self.lvsd != LvsdState::Stopped {
            out.push(Action::ReloadLvsd);
        }
        if !params.monitor_links && !self.failed_links.is_empty() {
            self.failed_links.clear();
            log(out, Level::Info, text::LINKS_RESTORED);
        }
        let hot_on = params.hot_standby && !self.p.hot_standby;
        let hot_off = !params.hot_standby && self.p.hot_standby;
        if self.send_at > now + params.keepalive {
            self.send_at = now + params.keepalive;
        }
        self.p = params;
        if !self.active && !self.p.test_start {
            if hot_on && self.lvsd == LvsdState::Stopped {
                self.start_lvsd(now, out);
            } else if hot_off && self.lvsd != LvsdState::Stopped {
                out.push(Action::StopLvsd);
                self.lvsd = LvsdState::Stopped;
            }
        }
    }
}

#[cfg(test)]
mod tests;
