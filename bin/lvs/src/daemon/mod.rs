//! The lvsd daemon: one loop that owns the configuration, the health of
//! every real server, the monitors and the IPVS table, and decides
//! everything; signals, monitor reports and timers are events fed to it.
//!
//! Every change to the table goes through one path: health or config
//! changes → [`director::desired_table`] → [`director::plan`] against a fresh
//! kernel dump → [`director::apply`]. lvsd is the only writer of its
//! entries; monitors only report.

pub mod monitors;
pub mod status;

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use director::nanny::{MonitorOptions, monitor_argv, shared_monitor_argv};
use director::tracker::legacy_state;
use director::{AllHealthy, HealthView, ServerHealth, ServerId, desired_table, plan};
use health::report::Line;
use ipvs::{Change, IpvsTable, ServiceKey};
use lvscf::{Config, NannyMode, Severity};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use monitors::{Exit, MonitorEvent, MonitorId, MonitorSpec, Monitors};

/// How lvsd was started.
#[derive(Debug, Clone)]
pub struct Options {
    /// `-c`.
    pub configfile: PathBuf,
    /// `-v`.
    pub verbose: bool,
    /// `-n`: foreground, stdout logging.
    pub nodaemon: bool,
    /// `-t`: log writes instead of making them, start no monitor.
    pub test_start: bool,
    /// Status socket path.
    pub socket: PathBuf,
}

/// How often dead monitors are restarted and the loop wakes up.
const TICK: Duration = Duration::from_secs(1);
/// How often the kernel table is compared with the desired one even when
/// nothing happened, to repair changes made behind lvsd's back.
const DRIFT_CHECK: Duration = Duration::from_secs(30);
/// How long monitors get to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Restart backoff for monitors that die with `hard_shutdown = 0`.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Where a reload stands, for `--status` and tests.
#[derive(Debug, Clone, Default)]
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

/// Per-server facts for `--status`.
#[derive(Debug, Clone, Default)]
pub struct CheckInfo {
    /// The last check's result and reason.
    pub last: Option<(bool, String)>,
    /// When it was reported.
    pub at: Option<std::time::SystemTime>,
}

/// A monitor to restart, and the backoff it got; kept after the restart
/// (with no time) so that the next death of the same monitor backs off
/// further.
struct Restart {
    spec: MonitorSpec,
    at: Option<Instant>,
    backoff: Duration,
}

/// The daemon's whole state.
pub struct Daemon {
    opts: Options,
    config: Config,
    table: Box<dyn IpvsTable>,
    monitors: Monitors,
    health: HashMap<ServerId, ServerHealth>,
    checks: HashMap<ServerId, CheckInfo>,
    restarts: HashMap<MonitorId, Restart>,
    /// Services this lvsd installed or adopted, so that removing a virtual
    /// from lvs.cf removes its service, and nothing else is ever deleted.
    owned: HashSet<ServiceKey>,
    /// Virtuals whose service the kernel refused (e.g. unknown scheduler):
    /// left out until the next reload, logged once.
    refused: HashMap<String, String>,
    counters: Counters,
    /// Set by a monitor death under `hard_shutdown = 1`.
    fatal: bool,
    last_drift_check: Instant,
}

impl Daemon {
    /// A daemon for `config`, writing through `table`.
    pub fn new(
        opts: Options,
        config: Config,
        table: Box<dyn IpvsTable>,
        events: mpsc::UnboundedSender<MonitorEvent>,
    ) -> Self {
        Daemon {
            opts,
            config,
            table,
            monitors: Monitors::new(events),
            health: HashMap::new(),
            checks: HashMap::new(),
            restarts: HashMap::new(),
            owned: HashSet::new(),
            refused: HashMap::new(),
            counters: Counters::default(),
            fatal: false,
            last_drift_check: Instant::now(),
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
        for vs in config.active_virtuals() {
            if config.nanny_mode == NannyMode::Shared {
                let servers: Vec<_> = vs.active_servers().collect();
                if servers.is_empty() {
                    continue;
                }
                specs.push(MonitorSpec {
                    id: MonitorId::Shared(vs.name.clone()),
                    members: servers
                        .iter()
                        .map(|rs| ServerId::new(&vs.name, &rs.name))
                        .collect(),
                    argv: shared_monitor_argv(config, vs, &servers, opts),
                    read_output: false,
                });
                continue;
            }
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

    fn start_monitor(&mut self, spec: MonitorSpec) {
        if self.opts.test_start {
            return;
        }
        let id = spec.id.clone();
        match self.monitors.start(spec.clone()) {
            Ok(pid) => log_started(&id, pid),
            Err(e) => {
                warn!("failed to start monitor for {id}: {e}");
                self.schedule_restart(spec, BACKOFF_MIN);
            }
        }
    }

    fn schedule_restart(&mut self, spec: MonitorSpec, backoff: Duration) {
        let id = spec.id.clone();
        self.restarts.insert(
            id,
            Restart {
                spec,
                at: Some(Instant::now() + backoff),
                backoff,
            },
        );
    }

    /// Start every monitor of the current config.
    pub fn start_monitors(&mut self) {
        for spec in self.specs(&self.config.clone()) {
            for m in &spec.members {
                self.health.entry(m.clone()).or_default();
            }
            self.start_monitor(spec);
        }
    }

    /// Bring the kernel table to the desired state; returns the number of
    /// writes.
    pub fn reconcile(&mut self) -> usize {
        self.last_drift_check = Instant::now();
        let view: &dyn HealthView = if self.opts.test_start {
            &AllHealthy
        } else {
            &self.health
        };
        let mut desired = desired_table(&self.config, view);
        desired
            .services
            .retain(|s| !self.refused.contains_key(&s.virtual_name));
        let current = match self.table.list() {
            Ok(c) => c,
            Err(e) => {
                warn!("cannot read the IPVS table: {e}");
                return 0;
            }
        };
        // Only read when lvs.cf sets any: plan() ignores them otherwise, and
        // this runs on every health change.
        let timeouts = match desired.timeouts {
            Some(_) => self.table.timeouts().ok(),
            None => None,
        };
        let p = plan(&desired, &current, &self.owned, timeouts);
        if p.is_empty() {
            return 0;
        }
        if self.opts.test_start {
            for step in &p.steps {
                info!("test-start: would run: {}", describe(&step.change));
            }
            return 0;
        }
        for step in &p.steps {
            debug!("DEBUG -- ipvs: {}", describe(&step.change));
        }
        let report = director::apply(self.table.as_mut(), &p);
        let writes = report.results.len();
        self.counters.total_writes += writes as u64;
        for (step, result) in &report.results {
            let key = match &step.change {
                Change::AddService(s) | Change::EditService(s) => Some(s.key),
                Change::DeleteService(k) => {
                    if result.is_ok() {
                        self.owned.remove(k);
                    }
                    None
                }
                _ => None,
            };
            if let (Some(k), Ok(())) = (key, result) {
                self.owned.insert(k);
            }
        }
        for (name, err) in report.failed_services() {
            if !self.refused.contains_key(name) {
                warn!("ipvsadm failed for virtual server {name}! ({err})");
                self.refused.insert(name.to_owned(), err.to_string());
            }
        }
        for (step, err) in report.failures() {
            let consequence = step
                .virtual_name
                .as_ref()
                .is_some_and(|n| self.refused.contains_key(n));
            if !consequence {
                warn!("IPVS write failed: {}: {err}", describe(&step.change));
            }
        }
        // Adopted services (present in the kernel, wanted) are ours too.
        for s in &desired.services {
            if current.iter().any(|c| c.service.key == s.service.key) {
                self.owned.insert(s.service.key);
            }
        }
        writes
    }

    /// Handle one event from a monitor watcher. Returns whether health
    /// changed.
    pub fn on_monitor_event(&mut self, event: MonitorEvent) -> bool {
        match event {
            MonitorEvent::Report {
                id,
                generation,
                report,
            } => {
                if !self.monitors.is_current(&id, generation) {
                    return false;
                }
                let report = match report {
                    Ok(r) => r,
                    Err(e) => {
                        warn!("monitor for {id}: {e}");
                        return false;
                    }
                };
                let line = report.line.line();
                let server = match (&id, report.server) {
                    (MonitorId::Server(sid), None) => Some(sid.clone()),
                    (MonitorId::Shared(_), Some(i)) => self
                        .monitors
                        .spec(&id)
                        .and_then(|s| s.members.get(usize::try_from(i).ok()?).cloned()),
                    _ => None,
                };
                match server {
                    Some(sid) => self.on_report(&sid, line),
                    None => {
                        // The header and process-wide lines of a shared
                        // stream concern every member.
                        if let Line::Header { .. } = line {
                            let members = self
                                .monitors
                                .spec(&id)
                                .map(|s| s.members.clone())
                                .unwrap_or_default();
                            for m in members {
                                self.on_report(&m, line);
                            }
                        } else {
                            debug!("DEBUG -- monitor {id}: {}", report.line.text());
                        }
                        false
                    }
                }
            }
            MonitorEvent::Output {
                id,
                generation,
                line,
            } => {
                if !self.monitors.is_current(&id, generation) {
                    return false;
                }
                let MonitorId::Server(sid) = &id else {
                    return false;
                };
                match (legacy_state(&line), self.health.get_mut(sid)) {
                    (Some(up), Some(h)) => {
                        h.on_unmanaged();
                        h.on_legacy_state(up)
                    }
                    _ => false,
                }
            }
            MonitorEvent::Exited {
                id,
                generation,
                status,
            } => self.on_exit(&id, generation, status),
        }
    }

    fn quiesce(&self, id: &ServerId) -> bool {
        self.config
            .virtuals
            .iter()
            .find(|v| v.name == id.virtual_name)
            .is_some_and(|v| v.quiesce_server)
    }

    fn on_report(&mut self, id: &ServerId, line: Line<'_>) -> bool {
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
                let info = self.checks.entry(id.clone()).or_default();
                info.last = Some((ok, reason.to_owned()));
                info.at = Some(std::time::SystemTime::now());
                false
            }
            Line::State { active } => {
                debug!(
                    "DEBUG -- {id}: {}",
                    if active { "[ active ]" } else { "[inactive]" }
                );
                false
            }
            Line::Mode(m) => {
                info!("monitor for {id} is now in mode {}", m.as_str());
                false
            }
            Line::Exit { status } => {
                debug!("DEBUG -- monitor for {id} exiting with status {status}");
                false
            }
            Line::Monitor { .. } | Line::Other(_) => false,
        }
    }

    fn on_exit(
        &mut self,
        id: &MonitorId,
        generation: u64,
        status: std::io::Result<std::process::ExitStatus>,
    ) -> bool {
        match self.monitors.exited(id, generation) {
            Exit::Expected => false,
            Exit::Died { spec, ran_for } => {
                let how = match status {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                };
                let mut changed = false;
                for m in &spec.members {
                    changed |= self.health.get_mut(m).is_some_and(|h| h.on_monitor_gone());
                }
                let who = match id {
                    MonitorId::Server(sid) => {
                        format!("nanny for child {}/{}", sid.virtual_name, sid.server)
                    }
                    MonitorId::Shared(v) => {
                        format!("shared nanny for {v} ({} servers)", spec.members.len())
                    }
                };
                if self.config.hard_shutdown {
                    info!("{who} died! shutting down lvs");
                    debug!("DEBUG -- monitor {id}: {how}");
                    self.fatal = true;
                } else {
                    // The original logged "manual action needed!" and left the
                    // server unmonitored; we restart it, backing off.
                    let backoff = match self.restarts.get(id) {
                        Some(r) if ran_for < BACKOFF_MAX => (r.backoff * 2).min(BACKOFF_MAX),
                        _ => BACKOFF_MIN,
                    };
                    info!(
                        "{who} died! ({how}) restarting it in {} s",
                        backoff.as_secs()
                    );
                    self.schedule_restart(spec, backoff);
                }
                changed
            }
        }
    }

    /// Start monitors whose restart time has come.
    pub fn restart_due(&mut self) {
        let now = Instant::now();
        let due: Vec<MonitorId> = self
            .restarts
            .iter()
            .filter(|(_, r)| r.at.is_some_and(|at| at <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            if let Some(r) = self.restarts.get(&id) {
                let spec = r.spec.clone();
                if self.monitors.spec(&id).is_none() {
                    match self.monitors.start(spec.clone()) {
                        Ok(pid) => log_started(&id, pid),
                        Err(e) => {
                            warn!("failed to restart monitor for {id}: {e}");
                            let backoff = (r.backoff * 2).min(BACKOFF_MAX);
                            self.schedule_restart(spec, backoff);
                            continue;
                        }
                    }
                }
                if let Some(r) = self.restarts.get_mut(&id) {
                    r.at = None;
                }
            }
        }
    }

    /// `down`, `up` or `normal` for one server: what SIGUSR1, SIGUSR2 and
    /// SIGHUP do to its nanny, also when the nanny is shared.
    pub fn control(&mut self, action: &str, server: &ServerId) -> Result<(), String> {
        let signal = match action {
            "down" => nix::sys::signal::Signal::SIGUSR1,
            "up" => nix::sys::signal::Signal::SIGUSR2,
            "normal" => nix::sys::signal::Signal::SIGHUP,
            other => return Err(format!("unknown action {other:?} (down, up, normal)")),
        };
        let (id, pid, index) = self
            .monitors
            .of_server(server)
            .map(|(id, pid, i)| (id.clone(), pid, i))
            .ok_or_else(|| format!("no running monitor for {server}"))?;
        match id {
            MonitorId::Server(_) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal)
                .map_err(|e| format!("signal to pid {pid}: {e}")),
            MonitorId::Shared(_) => self
                .monitors
                .control(&id, &format!("{action} {index}"))
                .map_err(|e| format!("shared monitor pid {pid}: {e}")),
        }
    }

    /// SIGHUP: re-read the file; on any error keep everything as it is.
    pub fn reload(&mut self) {
        self.counters.reloads += 1;
        let path = self.opts.configfile.clone();
        let file = match lvscf::parse_file(&path) {
            Ok(f) => f,
            Err(e) => {
                info!("lvs: failed to open {}: {}", path.display(), e.source);
                self.counters.last_reload_failed = true;
                return;
            }
        };
        let Some(new) = file.parsed.config.clone() else {
            let name = path.display().to_string();
            if let Some(first) = file.parsed.of(Severity::Error).next() {
                info!("lvs: error parsing {name} on line {}.", first.line);
            }
            for d in file.parsed.of(Severity::Error) {
                info!("{name}:{d}");
            }
            info!("keeping the running configuration and table");
            self.counters.last_reload_failed = true;
            return;
        };
        self.counters.last_reload_failed = false;
        self.apply_config(new);
        let writes = self.reconcile();
        self.counters.last_reload_writes = writes;
        info!("reload done: {writes} IPVS writes");
    }

    /// Switch to `new`: stop monitors of servers that are gone, restart
    /// those whose command line changed, start new ones.
    fn apply_config(&mut self, new: Config) {
        let old = std::mem::replace(&mut self.config, new);
        let specs: HashMap<MonitorId, MonitorSpec> = self
            .specs(&self.config.clone())
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let servers: HashSet<ServerId> = specs
            .values()
            .flat_map(|s| s.members.iter().cloned())
            .collect();
        for id in self.monitors.ids() {
            if !specs.contains_key(&id) {
                self.monitors.stop(&id);
            }
        }
        self.restarts.retain(|id, _| specs.contains_key(id));
        self.health.retain(|id, _| servers.contains(id));
        self.checks.retain(|id, _| servers.contains(id));
        for (id, spec) in specs {
            if self.monitors.spec(&id).is_some_and(|s| *s == spec) {
                continue;
            }
            if self.monitors.spec(&id).is_some() {
                self.monitors.stop(&id);
            }
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
            self.start_monitor(spec);
        }
        // The kernel may now accept what it refused (e.g. a new scheduler).
        self.refused.clear();
    }

    /// SIGTERM/SIGINT or a fatal monitor death: stop the monitors, remove
    /// exactly the services this lvsd owns.
    pub async fn shutdown(&mut self, events: &mut mpsc::UnboundedReceiver<MonitorEvent>) -> usize {
        self.monitors.stop_all();
        self.restarts.clear();
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        while !self.monitors.all_reaped() {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(ev)) => {
                    self.on_monitor_event(ev);
                }
                Ok(None) => break,
                Err(_) => {
                    self.monitors.kill_remaining();
                    // Give the kernel a moment to deliver the exits.
                    let _ = tokio::time::timeout(Duration::from_secs(1), events.recv()).await;
                    break;
                }
            }
        }
        if self.opts.test_start {
            return 0;
        }
        let present: HashSet<ServiceKey> = match self.table.list() {
            Ok(list) => list.into_iter().map(|e| e.service.key).collect(),
            Err(e) => {
                warn!("cannot read the IPVS table: {e}");
                HashSet::new()
            }
        };
        let names: HashMap<ServiceKey, String> = desired_table(&self.config, &AllHealthy)
            .services
            .into_iter()
            .map(|s| (s.service.key, s.virtual_name))
            .collect();
        let mut keys: Vec<ServiceKey> = self
            .owned
            .iter()
            .filter(|k| present.contains(k))
            .copied()
            .collect();
        keys.sort();
        let changes: Vec<Change> = keys.iter().map(|k| Change::DeleteService(*k)).collect();
        let results = self.table.apply(&changes);
        for (k, r) in keys.iter().zip(results) {
            let name = names.get(k).cloned().unwrap_or_else(|| describe_key(k));
            match r {
                Ok(()) => info!("shutting down virtual service {name}"),
                Err(e) => warn!("failed to remove virtual service {name}: {e}"),
            }
        }
        keys.len()
    }

    /// For `--status`.
    pub fn status(&mut self) -> status::Status {
        status::collect(self)
    }
}

fn same_target(old: &Config, new: &Config, id: &ServerId) -> bool {
    let find = |c: &Config| {
        c.virtuals
            .iter()
            .find(|v| v.name == id.virtual_name)
            .and_then(|v| {
                let rs = v.servers.iter().find(|s| s.name == id.server)?;
                let service = director::desired::service_of(v).ok()?.key;
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

fn log_started(id: &MonitorId, pid: i32) {
    match id {
        MonitorId::Server(sid) => info!(
            "create_monitor for {}/{} running as pid {pid}",
            sid.virtual_name, sid.server
        ),
        MonitorId::Shared(v) => info!("create_monitor for {v} (shared) running as pid {pid}"),
    }
}

/// One change as the ipvsadm command line that would make it.
pub fn describe(change: &Change) -> String {
    director::reconcile::ipvsadm_line(change)
}

fn describe_key(key: &ServiceKey) -> String {
    director::reconcile::ipvsadm_line(&Change::DeleteService(*key))
}

/// The descriptor pulse passed in `PULSE_READY_FD`, taken at start so that
/// no monitor inherits it (a monitor holding it open would keep pulse from
/// ever seeing the end of the line).
struct ReadyFd(Option<std::fs::File>);

impl ReadyFd {
    fn take() -> Self {
        let Some(fd) = std::env::var("PULSE_READY_FD")
            .ok()
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|fd| *fd > 2)
        else {
            return ReadyFd(None);
        };
        // SAFETY: only used for fcntl here; not owned, not closed.
        let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        // Only take a descriptor that is open, so that a stale variable
        // cannot make us close something else.
        if nix::fcntl::fcntl(borrowed, nix::fcntl::FcntlArg::F_GETFD).is_err() {
            return ReadyFd(None);
        }
        let _ = nix::fcntl::fcntl(
            borrowed,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        // SAFETY: the descriptor is open and was handed to us by our parent
        // for this one purpose; we own it from here and close it after the
        // readiness line.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        ReadyFd(Some(std::fs::File::from(owned)))
    }

    /// Write `ready PID` and close.
    fn signal(&mut self) {
        if let Some(mut file) = self.0.take() {
            let _ = writeln!(file, "ready {}", std::process::id());
        }
    }
}

/// Run the daemon until SIGTERM/SIGINT (or a fatal monitor death).
pub fn run(opts: Options, config: Config, table: Box<dyn IpvsTable>) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the event loop")?;
    runtime.block_on(async move { main_loop(opts, config, table).await })
}

async fn main_loop(opts: Options, config: Config, table: Box<dyn IpvsTable>) -> Result<ExitCode> {
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let socket_path = opts.socket.clone();
    let listener = status::listen(&socket_path);
    let mut ready = ReadyFd::take();
    let mut d = Daemon::new(opts, config, table, tx);

    for vs in d.config.active_virtuals() {
        info!("starting virtual service {} active: {}", vs.name, vs.port);
    }
    d.start_monitors();
    let writes = d.reconcile();
    d.counters.last_reload_writes = writes;
    ready.signal();

    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let exit = loop {
        let mut dirty = false;
        tokio::select! {
            _ = hup.recv() => {
                info!("rereading configuration file");
                d.reload();
            }
            _ = term.recv() => {
                info!("shutting down due to signal 15");
                break ExitCode::SUCCESS;
            }
            _ = int.recv() => {
                info!("shutting down due to signal 2");
                break ExitCode::SUCCESS;
            }
            Some(ev) = rx.recv() => {
                dirty |= d.on_monitor_event(ev);
                // Take everything already queued before touching the kernel.
                while let Ok(ev) = rx.try_recv() {
                    dirty |= d.on_monitor_event(ev);
                }
            }
            _ = tick.tick() => {
                d.restart_due();
                dirty |= d.last_drift_check.elapsed() >= DRIFT_CHECK;
            }
            conn = status::accept(listener.as_ref()) => {
                if let Ok(stream) = conn
                    && let Some((request, write)) = status::read_request(stream).await
                {
                    let text = match request {
                        status::Request::Status { json } => {
                            status::status_reply(&d.status(), json)
                        }
                        status::Request::Control { action, server } => {
                            match d.control(&action, &server) {
                                Ok(()) => {
                                    info!("{action} requested for {server}");
                                    "ok\n".to_owned()
                                }
                                Err(e) => format!("error: {e}\n"),
                            }
                        }
                    };
                    status::reply(write, text).await;
                }
            }
        }
        if d.fatal {
            break ExitCode::from(1);
        }
        if dirty {
            d.reconcile();
        }
    };
    d.shutdown(&mut rx).await;
    if listener.is_some() {
        let _ = std::fs::remove_file(&socket_path);
    }
    Ok(exit)
}

/// The pid file, as the original: written when running as a daemon.
pub struct PidFile(PathBuf);

impl PidFile {
    /// Write our pid to `path`.
    pub fn create(path: &Path) -> Result<Self> {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", path.display()))?;
        Ok(PidFile(path.to_owned()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
