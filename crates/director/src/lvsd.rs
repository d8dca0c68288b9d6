//! lvsd's decisions as one step: [`Lvsd::on`] takes an [`Event`] and returns
//! the [`Action`]s the daemon's loop carries out, in order.
//!
//! The step owns everything lvsd decides on: the configuration, the health
//! of every real server, which monitor runs for which servers (by
//! generation, so a report or an exit from a replaced monitor is void), the
//! restart backoff, the services this router owns and the virtuals the
//! kernel refused. It does no I/O and reads no clock: time comes with each
//! call. The loop in `bin/lvs` only runs monitors, reads signals and the
//! status socket, and touches the kernel through [`Lvsd::reconcile`], which
//! goes through the [`IpvsTable`] trait (the kernel, or `ipvs::MemoryIpvs`
//! in tests).
//!
//! Every table change, shutdown included, takes one path: health and
//! configuration → [`desired_table`] → [`plan`] against a fresh dump →
//! [`crate::apply`]. At shutdown the desired table is empty, so the plan
//! deletes exactly the services this lvsd owns.
//!
//! When a monitor (re)starts, its servers are unknown until its first
//! verdict. Unknown is decided: an entry already in the kernel keeps its
//! weight until then ([`ServerHealth`]), and the first verdict wins, a failed
//! first check included (`docs/protocol.md`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::time::{Duration, Instant};

use health::report::{Line, OwnedReport, ParseError};
use health::state::Mode;
use ipvs::{Change, IpvsError, IpvsTable, ServiceEntry, ServiceKey};
use lvscf::{Config, NannyMode};

use crate::desired::{DesiredTable, desired_table, service_of};
use crate::health::{AllHealthy, Draining, Health, HealthView, ServerId};
use crate::nanny::{MonitorOptions, monitor_argv, shared_monitors};
use crate::reconcile::{Ownership, ipvsadm_line, plan};
use crate::tracker::{ServerHealth, legacy_state};

/// How often the kernel table is compared with the desired one even when
/// nothing happened, to repair changes made behind lvsd's back.
pub const DRIFT_CHECK: Duration = Duration::from_secs(30);
/// How long monitors get to exit after SIGTERM at shutdown before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// First restart delay of a monitor that died (`hard_shutdown = 0`).
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// Longest restart delay; a monitor that ran this long starts over at
/// [`BACKOFF_MIN`].
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// How lvsd itself was started, as far as its decisions go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `-v`: monitors get `-v` too.
    pub verbose: bool,
    /// `-n`: monitors get `--nodaemon`.
    pub nodaemon: bool,
    /// `-t`: plan against the kernel and log the writes, make none, start no
    /// monitor.
    pub test_start: bool,
}

/// Which monitor: one real server's, or a virtual's shared one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MonitorId {
    /// A per-server monitor (the original's one nanny per real server).
    Server(ServerId),
    /// The shared monitor of every server of this virtual.
    Shared(String),
}

impl fmt::Display for MonitorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitorId::Server(id) => id.fmt(f),
            MonitorId::Shared(v) => write!(f, "{v} (shared)"),
        }
    }
}

/// How to run one monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorSpec {
    /// Which monitor.
    pub id: MonitorId,
    /// The real servers it watches; for a shared monitor, in the order of
    /// its `--server` arguments (the report stream's indexes).
    pub members: Vec<ServerId>,
    /// Program and arguments (`argv[0]` is the program).
    pub argv: Vec<OsString>,
    /// Read its stdout/stderr for `[ active ]`/`[inactive]` lines (only a
    /// virtual with a sorry server needs them).
    pub read_output: bool,
}

/// What a forced-state request asks of one server's monitor: what SIGUSR1,
/// SIGUSR2 and SIGHUP do to a per-server nanny. One type with the control
/// lines a shared nanny reads ([`health::control`]).
pub use health::control::Command;

/// A runtime request for one real server (`lvsd --control`; nothing of it
/// is saved to `lvs.cf`, and lvsd's restart forgets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    /// Passed to the server's monitor ([`Command`]); ends a drain.
    Monitor(Command),
    /// lvsd's own: keep the server at weight 0 whatever its health, until
    /// a monitor command replaces it. The monitor keeps checking and is
    /// told nothing (a per-server nanny has no signal for it).
    Drain,
}

impl Control {
    /// Every request, in the order `--control` lists them.
    pub const ALL: [Control; 4] = [
        Control::Monitor(Command::Down),
        Control::Monitor(Command::Up),
        Control::Monitor(Command::Normal),
        Control::Drain,
    ];

    /// The word on the status socket's control line.
    pub fn as_str(self) -> &'static str {
        match self {
            Control::Monitor(c) => c.as_str(),
            Control::Drain => "drain",
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `down`, `up`, `normal` or `drain`.
pub fn parse_command(word: &str) -> Result<Control, ControlError> {
    Control::ALL
        .into_iter()
        .find(|c| c.as_str() == word)
        .ok_or_else(|| ControlError::UnknownAction(word.to_owned()))
}

/// Why a control request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// Not `down`, `up`, `normal` or `drain`.
    UnknownAction(String),
    /// Not an active real server of the running configuration (drain).
    UnknownServer(ServerId),
    /// No running monitor watches this server (unknown, inactive, or its
    /// monitor is waiting to be restarted).
    NoMonitor(ServerId),
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::UnknownAction(a) => {
                write!(f, "unknown action {a:?} (down, up, normal, drain)")
            }
            ControlError::UnknownServer(s) => write!(f, "no active real server {s}"),
            ControlError::NoMonitor(s) => write!(f, "no running monitor for {s}"),
        }
    }
}

impl std::error::Error for ControlError {}

/// Something that happened, fed to [`Lvsd::on`].
#[derive(Debug)]
pub enum Event {
    /// lvsd starts: start every monitor, install the table.
    Start,
    /// A line on a monitor's report pipe (parsed, or why not).
    Report {
        /// Which monitor.
        id: MonitorId,
        /// Which start of it.
        generation: u64,
        /// The line, with its server index in a shared monitor's stream.
        report: Result<OwnedReport, ParseError>,
    },
    /// A line a monitor printed on stdout/stderr.
    Output {
        /// Which monitor.
        id: MonitorId,
        /// Which start of it.
        generation: u64,
        /// The text, without the newline.
        line: String,
    },
    /// [`Action::StartMonitor`] failed (fork or exec).
    StartFailed {
        /// Which monitor.
        id: MonitorId,
        /// The generation the action gave it.
        generation: u64,
        /// Why.
        error: String,
    },
    /// A monitor exited.
    Exited {
        /// Which monitor.
        id: MonitorId,
        /// Which start of it.
        generation: u64,
        /// How, for the log.
        status: String,
    },
    /// Time passed (the loop ticks about once a second, and at every
    /// [`Action::ScheduleRestart`] time).
    Tick,
    /// A new configuration, read and parsed (SIGHUP). Boxed: a `Config` is
    /// large and every other event small.
    Reload(Box<Config>),
    /// A reload whose file could not be read or parsed: the running
    /// configuration and table stay.
    ReloadFailed,
    /// Force a server down or up, drain it, or return it to normal.
    Control {
        /// What to do.
        command: Control,
        /// To which server.
        server: ServerId,
    },
    /// SIGTERM/SIGINT: stop the monitors, remove this lvsd's services, exit.
    Shutdown {
        /// Exit status.
        code: u8,
    },
}

/// What the loop must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fork and exec a monitor; report its lines and exit with this
    /// generation. A failure comes back as [`Event::StartFailed`].
    StartMonitor {
        /// How.
        spec: MonitorSpec,
        /// Its generation.
        generation: u64,
    },
    /// SIGTERM to this monitor; its exit is expected.
    StopMonitor {
        /// Which monitor.
        id: MonitorId,
        /// Which start of it.
        generation: u64,
    },
    /// Pass a control command to a monitor: a signal to a per-server one,
    /// the line `COMMAND INDEX` on a shared one's stdin.
    Signal {
        /// Which monitor.
        id: MonitorId,
        /// Which start of it.
        generation: u64,
        /// The server's index among the monitor's members.
        index: usize,
        /// What to do.
        command: Command,
    },
    /// A control request refused (answer the client with it).
    Refuse(ControlError),
    /// A control request carried out that reaches no monitor (a drain, or
    /// a drain ended while no monitor runs): answer the client `ok`. One
    /// passed on is answered by its [`Action::Signal`]'s outcome.
    Accepted,
    /// A monitor is due for a restart at this time: tick then.
    ScheduleRestart {
        /// Which monitor.
        id: MonitorId,
        /// When.
        at: Instant,
    },
    /// Bring the kernel table to the desired state: call
    /// [`Lvsd::reconcile`] (the loop may merge several into one).
    Reconcile,
    /// Wait until every stopped monitor is reaped, at most this long, then
    /// SIGKILL the rest (shutdown).
    AwaitMonitors {
        /// How long.
        grace: Duration,
    },
    /// Log a line.
    Log(Log),
    /// Exit with this status (after the actions before it).
    Exit(u8),
}

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Only with `-v`.
    Debug,
    /// Normal operation.
    Info,
    /// Something went wrong.
    Warn,
}

/// A log line lvsd writes; its text is its `Display`, verbatim from
/// piranha's lvsd where it had one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Log {
    /// At start, per active virtual.
    StartingVirtual {
        /// Its name.
        name: String,
        /// Its port.
        port: u16,
    },
    /// A monitor could not be started.
    StartFailed {
        /// Which monitor.
        id: MonitorId,
        /// Why.
        error: String,
        /// Whether this was a restart.
        restart: bool,
    },
    /// A monitor died on its own.
    Died {
        /// Which monitor.
        id: MonitorId,
        /// Its member count, for shared monitors.
        members: usize,
        /// Its exit status.
        how: String,
        /// The restart delay, or `None` for `hard_shutdown = 1`.
        restart_in: Option<Duration>,
    },
    /// A report line that did not parse.
    BadReport {
        /// Which monitor.
        id: MonitorId,
        /// Why.
        error: String,
    },
    /// A monitor line lvsd only logs with `-v`.
    MonitorLine {
        /// About which server or monitor.
        who: String,
        /// The line.
        text: String,
    },
    /// A monitor switched between normal and forced modes.
    Mode {
        /// The server.
        server: ServerId,
        /// Its new mode.
        mode: Mode,
    },
    /// A reload's file could not be used.
    ReloadRefused,
    /// A start or reload is done.
    ReloadDone {
        /// Writes it made.
        writes: usize,
    },
    /// A control request was passed on (or, for a drain, carried out).
    Control {
        /// What.
        command: Control,
        /// For which server.
        server: ServerId,
    },
    /// The kernel table could not be read; nothing was written.
    CannotList(String),
    /// `-t`: a write lvsd would make.
    WouldRun(String),
    /// A write, with `-v`.
    Write(String),
    /// The kernel refused a virtual's service; it is left out until the
    /// next reload.
    ServiceRefused {
        /// The virtual.
        name: String,
        /// The kernel's error.
        error: String,
    },
    /// Another write failed.
    WriteFailed {
        /// The write.
        change: String,
        /// The kernel's error.
        error: String,
    },
    /// Shutdown removed a virtual's service.
    ServiceRemoved {
        /// The virtual (or the service, when no longer configured).
        name: String,
    },
    /// Shutdown could not remove a virtual's service.
    RemoveFailed {
        /// The virtual (or the service).
        name: String,
        /// The kernel's error.
        error: String,
    },
}

impl Log {
    /// How important the line is.
    pub fn level(&self) -> Level {
        match self {
            Log::MonitorLine { .. } | Log::Write(_) => Level::Debug,
            Log::StartFailed { .. }
            | Log::CannotList(_)
            | Log::ServiceRefused { .. }
            | Log::WriteFailed { .. }
            | Log::RemoveFailed { .. }
            | Log::BadReport { .. } => Level::Warn,
            _ => Level::Info,
        }
    }
}

impl fmt::Display for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Log::StartingVirtual { name, port } => {
                write!(f, "starting virtual service {name} active: {port}")
            }
            Log::StartFailed { id, error, restart } => write!(
                f,
                "failed to {} monitor for {id}: {error}",
                if *restart { "restart" } else { "start" }
            ),
            Log::Died {
                id,
                members,
                how,
                restart_in,
            } => {
                match id {
                    MonitorId::Server(s) => {
                        write!(f, "nanny for child {}/{} died!", s.virtual_name, s.server)?
                    }
                    MonitorId::Shared(v) => {
                        write!(f, "shared nanny for {v} ({members} servers) died!")?
                    }
                }
                match restart_in {
                    None => write!(f, " shutting down lvs"),
                    Some(d) => write!(f, " ({how}) restarting it in {} s", d.as_secs()),
                }
            }
            Log::BadReport { id, error } => write!(f, "monitor for {id}: {error}"),
            Log::MonitorLine { who, text } => write!(f, "DEBUG -- {who}: {text}"),
            Log::Mode { server, mode } => {
                write!(f, "monitor for {server} is now in mode {}", mode.as_str())
            }
            Log::ReloadRefused => f.write_str("keeping the running configuration and table"),
            Log::ReloadDone { writes } => write!(f, "reload done: {writes} IPVS writes"),
            Log::Control { command, server } => {
                write!(f, "{} requested for {server}", command.as_str())
            }
            Log::CannotList(e) => write!(f, "cannot read the IPVS table: {e}"),
            Log::WouldRun(line) => write!(f, "test-start: would run: {line}"),
            Log::Write(line) => write!(f, "DEBUG -- ipvs: {line}"),
            Log::ServiceRefused { name, error } => {
                write!(f, "ipvsadm failed for virtual server {name}! ({error})")
            }
            Log::WriteFailed { change, error } => write!(f, "IPVS write failed: {change}: {error}"),
            Log::ServiceRemoved { name } => write!(f, "shutting down virtual service {name}"),
            Log::RemoveFailed { name, error } => {
                write!(f, "failed to remove virtual service {name}: {error}")
            }
        }
    }
}

/// Where a reload stands, for `--status` and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Netlink writes made by the last start or reload.
    pub last_reload_writes: usize,
    /// Netlink writes since start.
    pub total_writes: u64,
    /// Reloads done (successful or not).
    pub reloads: u64,
    /// Whether the last reload was refused (bad file).
    pub last_reload_failed: bool,
}

/// The last check a monitor reported for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInfo {
    /// Whether it passed.
    pub ok: bool,
    /// What it said.
    pub reason: String,
    /// When it was reported.
    pub at: Instant,
}

/// A monitor the step started and has not seen exit.
#[derive(Debug, Clone)]
struct Running {
    spec: MonitorSpec,
    generation: u64,
    started: Instant,
}

/// A monitor to restart, and the backoff it got; kept after the restart
/// (with no time) so that the next death of the same monitor backs off
/// further.
#[derive(Debug, Clone)]
struct Restart {
    spec: MonitorSpec,
    at: Option<Instant>,
    backoff: Duration,
}

/// Whether lvsd serves, or is on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Monitors run, the table follows health and configuration.
    Running,
    /// Shutdown began (SIGTERM, or a monitor death under
    /// `hard_shutdown = 1`): nothing starts any more and the desired table
    /// is empty.
    ShuttingDown,
}

/// lvsd's whole decision state. See the module docs.
#[derive(Debug)]
pub struct Lvsd {
    opts: Options,
    config: Config,
    health: HashMap<ServerId, ServerHealth>,
    /// Servers drained by `--control drain` (runtime only).
    drained: HashSet<ServerId>,
    checks: HashMap<ServerId, CheckInfo>,
    running: BTreeMap<MonitorId, Running>,
    restarts: BTreeMap<MonitorId, Restart>,
    next_generation: u64,
    owned: Ownership,
    /// Virtuals whose service the kernel refused (e.g. unknown scheduler):
    /// left out until the next reload, logged once.
    refused: HashMap<String, String>,
    counters: Counters,
    /// The next reconcile's writes are the last reload's.
    count_reload: bool,
    phase: Phase,
    /// When the last reconcile planned against a fresh kernel dump.
    last_fresh: Option<Instant>,
    /// The next reconcile must read the kernel itself (drift check).
    fresh_due: bool,
}

impl Lvsd {
    /// The step for `config`; nothing runs until [`Event::Start`].
    pub fn new(opts: Options, config: Config) -> Self {
        Lvsd {
            opts,
            config,
            health: HashMap::new(),
            drained: HashSet::new(),
            checks: HashMap::new(),
            running: BTreeMap::new(),
            restarts: BTreeMap::new(),
            next_generation: 1,
            owned: Ownership::default(),
            refused: HashMap::new(),
            counters: Counters::default(),
            count_reload: false,
            phase: Phase::Running,
            last_fresh: None,
            fresh_due: false,
        }
    }

    /// The running configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What lvsd knows of one server's health, a drain included
    /// ([`Health::Unknown`] for a server it does not monitor).
    pub fn health(&self, id: &ServerId) -> Health {
        self.view(&self.health).health(id, 0)
    }

    /// Whether `--control drain` holds this server.
    pub fn is_drained(&self, id: &ServerId) -> bool {
        self.drained.contains(id)
    }

    /// `health` with the drains applied: what the table and `--status`
    /// are built from.
    fn view<'a>(&'a self, health: &'a dyn HealthView) -> Draining<'a> {
        Draining {
            health,
            drained: &self.drained,
        }
    }

    /// The last check reported for one server.
    pub fn check(&self, id: &ServerId) -> Option<&CheckInfo> {
        self.checks.get(id)
    }

    /// Why the kernel refused this virtual's service, if it did.
    pub fn refused(&self, virtual_name: &str) -> Option<&str> {
        self.refused.get(virtual_name).map(String::as_str)
    }

    /// Write and reload counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Services this lvsd installed or adopted.
    pub fn owned(&self) -> &Ownership {
        &self.owned
    }

    /// The running monitor of `server`, with the server's index in it.
    pub fn monitor_of(&self, server: &ServerId) -> Option<(&MonitorId, usize)> {
        self.running.iter().find_map(|(id, r)| {
            let i = r.spec.members.iter().position(|m| m == server)?;
            Some((id, i))
        })
    }

    /// Whether shutdown has begun.
    pub fn shutting_down(&self) -> bool {
        self.phase == Phase::ShuttingDown
    }

    /// Apply one event. Does no I/O: the loop carries out the actions.
    pub fn on(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase == Phase::ShuttingDown {
            // Only the exits of the stopped monitors still come; nothing
            // is started or changed any more.
            return out;
        }
        match event {
            Event::Start => {
                for vs in self.config.active_virtuals() {
                    out.push(Action::Log(Log::StartingVirtual {
                        name: vs.name.clone(),
                        port: vs.port,
                    }));
                }
                // The services first, then the monitors (as piranha did): a
                // monitor that programs its own entry (a site's
                // client_monitor, the original nanny) needs its service.
                self.count_reload = true;
                out.push(Action::Reconcile);
                for spec in self.specs(&self.config) {
                    self.start(now, spec, &mut out);
                }
            }
            Event::Report {
                id,
                generation,
                report,
            } => {
                if self.is_current(&id, generation) && self.on_report(now, &id, report, &mut out) {
                    out.push(Action::Reconcile);
                }
            }
            Event::Output {
                id,
                generation,
                line,
            } => {
                if !self.is_current(&id, generation) {
                    return out;
                }
                let MonitorId::Server(sid) = &id else {
                    return out;
                };
                if let (Some(up), Some(h)) = (legacy_state(&line), self.health.get_mut(sid)) {
                    let changed = h.on_unmanaged() | h.on_legacy_state(up);
                    if changed {
                        out.push(Action::Reconcile);
                    }
                }
            }
            Event::StartFailed {
                id,
                generation,
                error,
            } => {
                if !self.is_current(&id, generation) {
                    return out;
                }
                let Some(r) = self.running.remove(&id) else {
                    return out;
                };
                let (restart, backoff) = match self.restarts.get(&id) {
                    Some(prev) => (true, (prev.backoff * 2).min(BACKOFF_MAX)),
                    None => (false, BACKOFF_MIN),
                };
                out.push(Action::Log(Log::StartFailed {
                    id: id.clone(),
                    error,
                    restart,
                }));
                // Unmonitored servers are out until a monitor runs: an entry
                // nobody checks must not keep taking connections.
                let mut changed = false;
                for m in &r.spec.members {
                    changed |= self
                        .health
                        .get_mut(m)
                        .is_some_and(|h| h.on_monitor_failed());
                }
                if changed {
                    out.push(Action::Reconcile);
                }
                self.schedule_restart(now, r.spec, backoff, &mut out);
            }
            Event::Exited {
                id,
                generation,
                status,
            } => self.on_exit(now, &id, generation, status, &mut out),
            Event::Tick => {
                self.restart_due(now, &mut out);
                let drift = self
                    .last_fresh
                    .is_some_and(|at| now.saturating_duration_since(at) >= DRIFT_CHECK);
                if drift {
                    self.fresh_due = true;
                    out.push(Action::Reconcile);
                }
            }
            Event::Reload(config) => {
                self.counters.reloads += 1;
                self.counters.last_reload_failed = false;
                self.apply_config(now, *config, &mut out);
                self.count_reload = true;
                out.push(Action::Reconcile);
            }
            Event::ReloadFailed => {
                self.counters.reloads += 1;
                self.counters.last_reload_failed = true;
                out.push(Action::Log(Log::ReloadRefused));
            }
            Event::Control { command, server } => self.on_control(command, server, &mut out),
            Event::Shutdown { code } => self.shutdown(code, &mut out),
        }
        out
    }

    /// A control request. A drain is lvsd's alone: it needs a configured
    /// server, not a running monitor, and changes the table (once: a
    /// second drain writes nothing). `down`, `up` and `normal` go to the
    /// monitor and end a drain: `normal` and `up` reconcile at once (the
    /// health already known is the weight to restore), `down` sent to a
    /// monitor leaves it to the monitor's `want none`, which follows, so
    /// that a drained server is not raised to full weight for the moment
    /// in between.
    fn on_control(&mut self, command: Control, server: ServerId, out: &mut Vec<Action>) {
        let Control::Monitor(signal) = command else {
            if !self.health.contains_key(&server) {
                out.push(Action::Refuse(ControlError::UnknownServer(server)));
                return;
            }
            let changed = self.drained.insert(server.clone());
            out.push(Action::Log(Log::Control { command, server }));
            out.push(Action::Accepted);
            if changed {
                out.push(Action::Reconcile);
            }
            return;
        };
        let was_drained = self.drained.remove(&server);
        let told = match self.monitor_of(&server) {
            Some((id, index)) => {
                let generation = self.running.get(id).map_or(0, |r| r.generation);
                out.push(Action::Signal {
                    id: id.clone(),
                    generation,
                    index,
                    command: signal,
                });
                out.push(Action::Log(Log::Control { command, server }));
                true
            }
            // The drain ends even though no monitor can be told.
            None if was_drained => {
                out.push(Action::Log(Log::Control { command, server }));
                out.push(Action::Accepted);
                false
            }
            None => {
                out.push(Action::Refuse(ControlError::NoMonitor(server)));
                return;
            }
        };
        if was_drained && (signal != Command::Down || !told) {
            out.push(Action::Reconcile);
        }
    }

    fn monitor_options(&self) -> MonitorOptions {
        MonitorOptions {
            verbose: self.opts.verbose,
            nodaemon: self.opts.nodaemon,
        }
    }

    /// Monitor specs: one per active server of every active virtual, or
    /// with `nanny_mode = shared` one per active virtual.
    fn specs(&self, config: &Config) -> Vec<MonitorSpec> {
        let opts = self.monitor_options();
        let mut specs = Vec::new();
        if config.nanny_mode == NannyMode::Shared {
            // One nanny per set of virtuals that check alike: a server they
            // share is checked once (director::nanny::shared_monitors).
            for m in shared_monitors(config, opts) {
                specs.push(MonitorSpec {
                    id: MonitorId::Shared(m.name()),
                    members: m
                        .members
                        .iter()
                        .map(|(vs, rs)| ServerId::new(&vs.name, &rs.name))
                        .collect(),
                    argv: m.argv,
                    read_output: false,
                });
            }
            return specs;
        }
        for vs in config.active_virtuals() {
            for rs in vs.active_servers() {
                let id = ServerId::new(&vs.name, &rs.name);
                specs.push(MonitorSpec {
                    id: MonitorId::Server(id.clone()),
                    members: vec![id],
                    argv: monitor_argv(config, vs, rs, opts),
                    read_output: vs.sorry_server.is_some(),
                });
            }
        }
        specs
    }

    fn is_current(&self, id: &MonitorId, generation: u64) -> bool {
        self.running
            .get(id)
            .is_some_and(|r| r.generation == generation)
    }

    /// Start a monitor (none may be running for `spec.id`).
    fn start(&mut self, now: Instant, spec: MonitorSpec, out: &mut Vec<Action>) {
        for m in &spec.members {
            self.health.entry(m.clone()).or_default().on_monitor_start();
        }
        if self.opts.test_start {
            return;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.running.insert(
            spec.id.clone(),
            Running {
                spec: spec.clone(),
                generation,
                started: now,
            },
        );
        out.push(Action::StartMonitor { spec, generation });
    }

    fn stop(&mut self, id: &MonitorId, out: &mut Vec<Action>) {
        if let Some(r) = self.running.remove(id) {
            out.push(Action::StopMonitor {
                id: id.clone(),
                generation: r.generation,
            });
        }
    }

    fn schedule_restart(
        &mut self,
        now: Instant,
        spec: MonitorSpec,
        backoff: Duration,
        out: &mut Vec<Action>,
    ) {
        let id = spec.id.clone();
        let at = now + backoff;
        self.restarts.insert(
            id.clone(),
            Restart {
                spec,
                at: Some(at),
                backoff,
            },
        );
        out.push(Action::ScheduleRestart { id, at });
    }

    fn restart_due(&mut self, now: Instant, out: &mut Vec<Action>) {
        let due: Vec<MonitorId> = self
            .restarts
            .iter()
            .filter(|(_, r)| r.at.is_some_and(|at| at <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let Some(r) = self.restarts.get_mut(&id) else {
                continue;
            };
            r.at = None;
            let spec = r.spec.clone();
            if !self.running.contains_key(&id) {
                self.start(now, spec, out);
            }
        }
    }

    fn quiesce(&self, id: &ServerId) -> bool {
        self.config
            .virtuals
            .iter()
            .find(|v| v.name == id.virtual_name)
            .is_some_and(|v| v.quiesce_server)
    }

    /// One report line; returns whether health changed.
    fn on_report(
        &mut self,
        now: Instant,
        id: &MonitorId,
        report: Result<OwnedReport, ParseError>,
        out: &mut Vec<Action>,
    ) -> bool {
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                out.push(Action::Log(Log::BadReport {
                    id: id.clone(),
                    error: e.to_string(),
                }));
                return false;
            }
        };
        let line = report.line.line();
        // One member by its index, not a copy of the member list: a shared
        // nanny of thousands of servers sends a line per server per round.
        let members = || {
            self.running
                .get(id)
                .map(|r| r.spec.members.as_slice())
                .unwrap_or_default()
        };
        let server = match (id, report.server) {
            (MonitorId::Server(sid), None) => Some(sid.clone()),
            (MonitorId::Shared(_), Some(i)) => usize::try_from(i)
                .ok()
                .and_then(|i| members().get(i).cloned()),
            _ => None,
        };
        match server {
            Some(sid) => self.on_server_line(now, &sid, line, out),
            None => {
                // The header and process-wide lines of a shared stream
                // concern every member.
                if let Line::Header { .. } = line {
                    let all = members().to_vec();
                    for m in &all {
                        self.on_server_line(now, m, line, out);
                    }
                } else {
                    out.push(Action::Log(Log::MonitorLine {
                        who: format!("monitor {id}"),
                        text: report.line.text().to_owned(),
                    }));
                }
                false
            }
        }
    }

    fn on_server_line(
        &mut self,
        now: Instant,
        id: &ServerId,
        line: Line<'_>,
        out: &mut Vec<Action>,
    ) -> bool {
        let quiesce = self.quiesce(id);
        let Some(h) = self.health.get_mut(id) else {
            return false;
        };
        match line {
            Line::Header { .. } => {
                h.on_header();
                false
            }
            Line::Want(w) => h.on_want(w, quiesce),
            Line::Check { ok, reason } => {
                self.checks.insert(
                    id.clone(),
                    CheckInfo {
                        ok,
                        reason: reason.to_owned(),
                        at: now,
                    },
                );
                h.on_check(ok, quiesce)
            }
            Line::Mode(m) => {
                out.push(Action::Log(Log::Mode {
                    server: id.clone(),
                    mode: m,
                }));
                h.on_mode(m, quiesce)
            }
            Line::State { active } => {
                out.push(Action::Log(Log::MonitorLine {
                    who: id.to_string(),
                    text: if active { "[ active ]" } else { "[inactive]" }.to_owned(),
                }));
                false
            }
            Line::Exit { status } => {
                out.push(Action::Log(Log::MonitorLine {
                    who: format!("monitor for {id}"),
                    text: format!("exiting with status {status}"),
                }));
                false
            }
            Line::Monitor { .. } | Line::Other(_) => false,
        }
    }

    fn on_exit(
        &mut self,
        now: Instant,
        id: &MonitorId,
        generation: u64,
        how: String,
        out: &mut Vec<Action>,
    ) {
        if !self.is_current(id, generation) {
            // A monitor we stopped (reload), or one already replaced.
            return;
        }
        let Some(r) = self.running.remove(id) else {
            return;
        };
        let ran_for = now.saturating_duration_since(r.started);
        let mut changed = false;
        for m in &r.spec.members {
            changed |= self.health.get_mut(m).is_some_and(|h| h.on_monitor_gone());
        }
        if self.config.hard_shutdown {
            out.push(Action::Log(Log::Died {
                id: id.clone(),
                members: r.spec.members.len(),
                how: how.clone(),
                restart_in: None,
            }));
            out.push(Action::Log(Log::MonitorLine {
                who: format!("monitor {id}"),
                text: how,
            }));
            self.shutdown(1, out);
            return;
        }
        // The original logged "manual action needed!" and left the server
        // unmonitored; we restart it, backing off.
        let backoff = match self.restarts.get(id) {
            Some(prev) if ran_for < BACKOFF_MAX => (prev.backoff * 2).min(BACKOFF_MAX),
            _ => BACKOFF_MIN,
        };
        out.push(Action::Log(Log::Died {
            id: id.clone(),
            members: r.spec.members.len(),
            how,
            restart_in: Some(backoff),
        }));
        self.schedule_restart(now, r.spec, backoff, out);
        if changed {
            out.push(Action::Reconcile);
        }
    }

    /// Switch to `new`: stop monitors of servers that are gone, restart
    /// those whose command line changed, start new ones.
    fn apply_config(&mut self, now: Instant, new: Config, out: &mut Vec<Action>) {
        let old = std::mem::replace(&mut self.config, new);
        let specs: BTreeMap<MonitorId, MonitorSpec> = self
            .specs(&self.config)
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let servers: std::collections::HashSet<ServerId> = specs
            .values()
            .flat_map(|s| s.members.iter().cloned())
            .collect();
        let gone: Vec<MonitorId> = self
            .running
            .keys()
            .filter(|id| !specs.contains_key(*id))
            .cloned()
            .collect();
        for id in gone {
            self.stop(&id, out);
        }
        self.restarts.retain(|id, _| specs.contains_key(id));
        self.health.retain(|id, _| servers.contains(id));
        // A drain outlives a reload while its server is still configured.
        self.drained.retain(|id| servers.contains(id));
        self.checks.retain(|id, _| servers.contains(id));
        for (id, spec) in specs {
            let current = self.running.get(&id).map(|r| &r.spec);
            if current == Some(&spec) {
                continue;
            }
            self.stop(&id, out);
            for m in &spec.members {
                let weight = configured_weight(&self.config, m).unwrap_or(1);
                let next = match self.health.get(m) {
                    Some(prev) if same_target(&old, &self.config, m) => {
                        ServerHealth::carried_over(prev, weight)
                    }
                    _ => ServerHealth::new(),
                };
                self.health.insert(m.clone(), next);
            }
            self.restarts.remove(&id);
            self.start(now, spec, out);
        }
        // The kernel may now accept what it refused (e.g. a new scheduler).
        self.refused.clear();
    }

    fn shutdown(&mut self, code: u8, out: &mut Vec<Action>) {
        let ids: Vec<MonitorId> = self.running.keys().cloned().collect();
        for id in &ids {
            self.stop(id, out);
        }
        self.restarts.clear();
        self.phase = Phase::ShuttingDown;
        out.push(Action::AwaitMonitors { grace: STOP_GRACE });
        out.push(Action::Reconcile);
        out.push(Action::Exit(code));
    }

    /// The table lvsd wants now: empty while shutting down; with `-t`
    /// every server up.
    pub fn desired(&self) -> DesiredTable {
        if self.phase == Phase::ShuttingDown {
            return DesiredTable::default();
        }
        let view: &dyn HealthView = if self.opts.test_start {
            &AllHealthy
        } else {
            &self.health
        };
        let mut desired = desired_table(&self.config, &self.view(view));
        desired
            .services
            .retain(|s| !self.refused.contains_key(&s.virtual_name));
        desired
    }

    /// Bring `table` to the desired state: dump, plan, apply (with `-t`:
    /// log instead), and book what happened. Returns the lines to log.
    ///
    /// Every [`DRIFT_CHECK`] the dump is the kernel's own, not a table's
    /// remembered copy ([`IpvsTable::invalidate_cache`]), so that changes
    /// made behind lvsd's back are repaired.
    pub fn reconcile(&mut self, table: &mut dyn IpvsTable, now: Instant) -> Vec<Log> {
        if std::mem::take(&mut self.fresh_due) || self.last_fresh.is_none() {
            table.invalidate_cache();
            self.last_fresh = Some(now);
        }
        let mut logs = Vec::new();
        let count_reload = std::mem::take(&mut self.count_reload);
        let current = match table.list() {
            Ok(c) => c,
            Err(e) => {
                logs.push(Log::CannotList(e.to_string()));
                return logs;
            }
        };
        self.adopt(&current);
        let desired = self.desired();
        // Only read when lvs.cf sets any: plan() ignores them otherwise, and
        // this runs on every health change.
        let timeouts = match desired.timeouts {
            Some(_) => table.timeouts().ok(),
            None => None,
        };
        let p = plan(&desired, &current, self.owned.keys(), timeouts);
        let mut writes = 0;
        if self.opts.test_start {
            logs.extend(
                p.steps
                    .iter()
                    .map(|s| Log::WouldRun(ipvsadm_line(&s.change))),
            );
        } else if !p.is_empty() {
            logs.extend(p.steps.iter().map(|s| Log::Write(ipvsadm_line(&s.change))));
            let report = crate::apply(table, &p);
            writes = report.results.len();
            self.counters.total_writes += writes as u64;
            self.owned.record(&report);
            self.book_failures(&report, &mut logs);
        }
        if self.phase == Phase::Running {
            self.owned.adopt(&desired, &current);
        }
        if count_reload {
            self.counters.last_reload_writes = writes;
            logs.push(Log::ReloadDone { writes });
        }
        logs
    }

    /// Servers whose monitor has not spoken yet keep the weight their entry
    /// has in the kernel.
    fn adopt(&mut self, current: &[ServiceEntry]) {
        // Runs at every reconcile: one lookup per virtual, not a scan of the
        // dump (2,300 virtuals made that 5 million comparisons a reconcile).
        let by_key: HashMap<ServiceKey, &ServiceEntry> =
            current.iter().map(|e| (e.service.key, e)).collect();
        for vs in self.config.active_virtuals() {
            let Ok(service) = service_of(vs) else {
                continue;
            };
            let entry = by_key.get(&service.key).copied();
            for rs in vs.active_servers() {
                let id = ServerId::new(&vs.name, &rs.name);
                let Some(h) = self.health.get_mut(&id) else {
                    continue;
                };
                let weight = entry.and_then(|e| {
                    e.destinations
                        .iter()
                        .find(|d| d.destination.addr == rs.address && d.destination.port == rs.port)
                        .map(|d| d.destination.weight)
                });
                h.adopt(weight, rs.weight);
            }
        }
    }

    fn book_failures(&mut self, report: &crate::ApplyReport, logs: &mut Vec<Log>) {
        if self.phase == Phase::ShuttingDown {
            let names = self.service_names();
            for (step, result) in &report.results {
                let Change::DeleteService(k) = &step.change else {
                    continue;
                };
                let name = names
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| ipvsadm_line(&step.change));
                logs.push(match result {
                    Ok(()) => Log::ServiceRemoved { name },
                    Err(e) => Log::RemoveFailed {
                        name,
                        error: e.to_string(),
                    },
                });
            }
            return;
        }
        for (name, err) in report.failed_services() {
            if !self.refused.contains_key(name) {
                logs.push(Log::ServiceRefused {
                    name: name.to_owned(),
                    error: err.to_string(),
                });
                self.refused.insert(name.to_owned(), err.to_string());
            }
        }
        for (step, err) in report.failures() {
            let consequence = step
                .virtual_name
                .as_ref()
                .is_some_and(|n| self.refused.contains_key(n));
            if !consequence {
                logs.push(Log::WriteFailed {
                    change: ipvsadm_line(&step.change),
                    error: describe_error(err),
                });
            }
        }
    }

    /// The virtual each configured service belongs to.
    fn service_names(&self) -> HashMap<ServiceKey, String> {
        desired_table(&self.config, &AllHealthy)
            .services
            .into_iter()
            .map(|s| (s.service.key, s.virtual_name))
            .collect()
    }
}

fn describe_error(e: &IpvsError) -> String {
    e.to_string()
}

/// Whether server `id` is the same IPVS destination in both configurations.
fn same_target(old: &Config, new: &Config, id: &ServerId) -> bool {
    let find = |c: &Config| {
        c.virtuals
            .iter()
            .find(|v| v.name == id.virtual_name)
            .and_then(|v| {
                let rs = v.servers.iter().find(|s| s.name == id.server)?;
                let service = service_of(v).ok()?.key;
                Some((service, rs.address, rs.port))
            })
    };
    let before = find(old);
    before.is_some() && before == find(new)
}

fn configured_weight(config: &Config, id: &ServerId) -> Option<u32> {
    config
        .virtuals
        .iter()
        .find(|v| v.name == id.virtual_name)?
        .servers
        .iter()
        .find(|s| s.name == id.server)
        .map(|s| s.weight)
}
