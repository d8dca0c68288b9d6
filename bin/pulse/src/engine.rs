//! pulse's event loop and the executor of the machine's actions.
//!
//! One tokio current-thread loop, as lvsd's (`bin/lvs/src/daemon/mod.rs`):
//! heartbeat sockets, the machine's timer ([`Machine::next_wakeup`]) and the
//! ARP schedule's, lvsd's readiness and exit, link changes (only with
//! `monitor_links`), signals and the status socket become
//! [`Event`]s; [`Machine::on`] decides; [`Engine::execute`] carries out the
//! [`Action`]s in order. Nothing here decides failover.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use failover::auth::{Key, Sealer, Verifier};
use failover::floating::{self, FloatingAddress};
use failover::heartbeat::Heartbeat;
use failover::state::{
    Action, Event, ExitHow, Flags, Level, LvsdState, Machine, Params, Path, SyncRole,
};
use ipvs::DaemonState;
use lvscf::Config;
use nix::sys::signal::Signal;
use rtnl::Interfaces;
use tokio::io::unix::AsyncFd;
use tokio::net::UdpSocket;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::floating::Announce;
use crate::lvsd::{Lvsd, LvsdCommand, LvsdEvent, STOP_GRACE};
use crate::startup::Setup;
use crate::status::{self, PathStatus, Status};
use crate::syncd::{Kernel, SyncDaemons};

/// How long a SIGHUP's re-read of lvs.cf may take (a host name in it may
/// need a slow DNS answer) before the running configuration is kept.
const RELOAD_DEADLINE: Duration = Duration::from_secs(15);
/// Replay window at start for authenticated heartbeats: counters are µs
/// of the sender's clock, and a beat older than this (by our clock) is
/// refused even before the first one was accepted. Allows this much clock
/// difference between the routers.
const REPLAY_SKEW: Duration = Duration::from_secs(60);
/// At most one "dropped heartbeat" line per this interval.
const DROP_LOG_EVERY: Duration = Duration::from_secs(10);

/// One heartbeat path, bound.
struct HbPath {
    which: Path,
    socket: UdpSocket,
    local: SocketAddr,
    partner: SocketAddr,
    verifier: Option<Verifier>,
    last: Option<(Instant, Heartbeat)>,
}

/// The loop's state: the machine plus everything the actions touch.
struct Engine {
    machine: Machine,
    config: Config,
    setup_master: bool,
    flags: Flags,
    args: crate::cli::Args,
    paths: Vec<HbPath>,
    partner_ips: Vec<IpAddr>,
    sealer: Option<Sealer>,
    route: Box<dyn Interfaces>,
    held: Vec<FloatingAddress>,
    lvsd_cmd: LvsdCommand,
    lvsd: Option<Lvsd>,
    stopping: Vec<JoinHandle<()>>,
    announce: Option<Announce>,
    sync: Kernel,
    link_watch: Option<AsyncFd<rtnl::LinkWatch>>,
    failed_links: Vec<Path>,
    /// Links are back but the machine is not told yet (see `check_links`):
    /// until a heartbeat arrives or this deadline passes.
    restore_at: Option<Instant>,
    last_drop_log: Option<Instant>,
    dropped: u64,
    exit: Option<i32>,
    /// Events caused by carrying out actions, fed after them.
    pending: Vec<Event>,
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Read `heartbeat_key_file` (at start and on reload).
pub fn read_key(config: &Config) -> Result<Option<Key>, String> {
    let Some(path) = &config.heartbeat_key_file else {
        return Ok(None);
    };
    let bytes = std::fs::read(path).map_err(|e| format!("heartbeat_key_file {path}: {e}"))?;
    Key::from_file_contents(&bytes)
        .map(Some)
        .map_err(|e| format!("heartbeat_key_file {path}: {e}"))
}

/// At start, before the machine runs: an inactive pulse removes the
/// floating addresses of its lvs.cf that this host still holds (a pulse
/// killed while active left them, and the original kept them: both routers
/// then held the VIP), and ends an lvsd left running by such a pulse.
pub fn clean_after_crash(config: &Config, route: &mut dyn Interfaces, args: &crate::cli::Args) {
    let (test_start, force_active) = (args.test_start, args.forceactive);
    if !force_active {
        crate::floating::remove_stale(route, &floating::desired(config));
    }
    if !test_start
        && let Ok(Some(pid)) = daemon::pidfile::read_pid(
            args.lvsd_pidfile
                .as_deref()
                .unwrap_or(std::path::Path::new(crate::startup::LVSD_PIDFILE)),
        )
        && crate::lvsd::is_lvsd(pid)
    {
        info!("stopping lvsd (pid {pid}) left running by a previous pulse");
        crate::lvsd::end_stale(pid, STOP_GRACE);
    }
}

/// The configuration a reload runs with: `new`, except the keys whose
/// change needs a restart (sockets, role, key, link watch), which keep
/// their running value; and the names of those that changed.
pub fn merge_reload(old: &Config, mut new: Config) -> (Config, Vec<&'static str>) {
    // As at start: a backup marked active without an address is no backup.
    if new.backup_active && new.backup.is_none_or(|b| b.is_unspecified()) {
        new.backup_active = false;
    }
    let mut changed = Vec::new();
    macro_rules! keep {
        ($($key:ident),*) => {$(
            if old.$key != new.$key {
                changed.push(stringify!($key));
                new.$key = old.$key.clone();
            }
        )*};
    }
    keep!(
        primary,
        primary_private,
        backup,
        backup_private,
        heartbeat_port,
        backup_active,
        heartbeat_key_file,
        monitor_links
    );
    (new, changed)
}

/// Run the loop until the machine exits; pulse's exit status.
pub fn run(setup: Setup, route: Box<dyn Interfaces>) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the event loop: {e}"))?;
    let result = runtime.block_on(main_loop(setup, route));
    // A re-read of lvs.cf stuck in a DNS lookup must not hold up the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn main_loop(setup: Setup, route: Box<dyn Interfaces>) -> Result<ExitCode, String> {
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("SIGHUP: {e}"))?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
    // Handlers exist: signals that came during start-up arrive now.
    let _ = daemon::signals::unblock_after_handlers();
    let listener = status::listen(&setup.args.socket);
    let mut e = Engine::new(setup, route)?;

    let now = Instant::now();
    let actions = e.machine.on(now, Event::Start);
    e.execute(actions);
    e.check_links();
    // systemd (Type=notify): ready now that the heartbeat sockets are bound
    // and the role decided; STATUS= follows the role and the partner; the
    // watchdog is pinged from this loop (crate::sdnotify).
    let notify = crate::sdnotify::from_env();
    let deadtime = e.config.deadtime;
    let mut shown = crate::sdnotify::status_line(&e.status(), deadtime);
    let _ = notify.ready(&shown);
    let mut watchdog = notify.watchdog_interval().map(tokio::time::interval);

    let mut buf0 = [0u8; 64];
    let mut buf1 = [0u8; 64];
    let mut reload: Option<(
        JoinHandle<Result<Config, crate::Fatal>>,
        tokio::time::Instant,
    )> = None;
    while e.exit.is_none() {
        let wake = e.next_wakeup();
        let p1 = e.paths.get(1).map(|p| &p.socket);
        tokio::select! {
            biased;
            _ = term.recv() => e.feed(Event::Terminate { signal: 15 }),
            _ = int.recv() => e.feed(Event::Terminate { signal: 2 }),
            _ = hup.recv() => {
                if reload.is_some() {
                    info!("SIGHUP: still re-reading lvs.cf");
                } else {
                    info!("rereading configuration file");
                    let path = e.args.configfile.clone();
                    let handle = tokio::task::spawn_blocking(move || crate::startup::load(&path));
                    reload = Some((handle, tokio::time::Instant::now() + RELOAD_DEADLINE));
                }
            }
            r = async {
                let (h, deadline) = reload.as_mut().expect("guarded");
                tokio::time::timeout_at(*deadline, h).await
            }, if reload.is_some() => {
                reload = None;
                match r {
                    Ok(Ok(Ok(config))) => e.reload(config),
                    Ok(Ok(Err(f))) => {
                        warn!("{}; keeping the running configuration", f.message.trim_start_matches("pulse: "));
                    }
                    Ok(Err(err)) => warn!("re-reading lvs.cf failed: {err}; keeping the running configuration"),
                    Err(_) => warn!("re-reading lvs.cf took over {RELOAD_DEADLINE:?}; keeping the running configuration"),
                }
            }
            r = e.paths[0].socket.recv_from(&mut buf0) => match r {
                Ok((n, src)) => e.datagram(0, &buf0[..n], src),
                Err(err) => e.recv_failed(&err),
            },
            r = async { p1.expect("guarded").recv_from(&mut buf1).await }, if p1.is_some() => match r {
                Ok((n, src)) => e.datagram(1, &buf1[..n], src),
                Err(err) => e.recv_failed(&err),
            },
            ev = async { e.lvsd.as_mut().expect("guarded").event().await }, if e.lvsd.is_some() => {
                e.lvsd_event(ev);
            }
            g = async { e.link_watch.as_ref().expect("guarded").readable().await }, if e.link_watch.is_some() => {
                if let Ok(mut guard) = g {
                    guard.clear_ready();
                    drop(guard);
                    let changed = e
                        .link_watch
                        .as_mut()
                        .map(|w| w.get_mut().drain().unwrap_or(true))
                        .unwrap_or(false);
                    if changed {
                        e.check_links();
                    }
                }
            }
            conn = status::accept(listener.as_ref()) => {
                if let Ok(stream) = conn {
                    status::serve(stream, e.status());
                }
            }
            _ = async { watchdog.as_mut().expect("guarded").tick().await }, if watchdog.is_some() => {
                let _ = notify.watchdog();
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {
                e.on_timer();
            }
        }
        if notify.enabled() {
            let line = crate::sdnotify::status_line(&e.status(), deadtime);
            if line != shown {
                let _ = notify.status(&line);
                shown = line;
            }
        }
    }
    let _ = notify.stopping();
    let code = e.exit.unwrap_or(0);
    e.finish().await;
    if listener.is_some() {
        let _ = std::fs::remove_file(&e.args.socket);
    }
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(255)))
}

impl Engine {
    fn new(setup: Setup, route: Box<dyn Interfaces>) -> Result<Engine, String> {
        let flags = Flags {
            force_active: setup.args.forceactive,
            test_start: setup.args.test_start,
        };
        let key = setup.key;
        let floor =
            unix_micros().saturating_sub(u64::try_from(REPLAY_SKEW.as_micros()).unwrap_or(0));
        let mut paths = Vec::new();
        for (i, p) in setup.paths.into_iter().enumerate() {
            let local = p.socket.local_addr().map_err(|e| e.to_string())?;
            let socket = UdpSocket::from_std(p.socket).map_err(|e| e.to_string())?;
            paths.push(HbPath {
                which: if i == 0 { Path::Public } else { Path::Private },
                socket,
                local,
                partner: p.partner,
                verifier: key.clone().map(|k| Verifier::new(k, floor)),
                last: None,
            });
        }
        let partner_ips = paths.iter().map(|p| p.partner.ip()).collect();
        let link_watch = if Params::from_config(&setup.config, setup.master, flags).monitor_links {
            match rtnl::LinkWatch::new()
                .map_err(|e| e.to_string())
                .and_then(|w| {
                    // SAFETY: the LinkWatch owns its netlink socket, which stays
                    // open (and its `as_raw_fd` the same) until the AsyncFd that
                    // owns the LinkWatch is dropped.
                    unsafe { AsyncFd::register_with_interest(w, tokio::io::Interest::READABLE) }
                        .map_err(|e| e.to_string())
                }) {
                Ok(w) => Some(w),
                Err(e) => {
                    warn!(
                        "cannot watch links ({e}): monitor_links checks only at start and reload"
                    );
                    None
                }
            }
        } else {
            None
        };
        let sync = if setup.config.syncdaemon {
            match ipvs::NetlinkIpvs::new() {
                Ok(t) => Kernel(Some(Box::new(t))),
                Err(err) => {
                    if !flags.test_start {
                        warn!("IPVS is not available ({err}): no sync daemon");
                    }
                    Kernel(None)
                }
            }
        } else {
            Kernel(None)
        };
        let machine = Machine::for_config(&setup.config, setup.master, flags, Instant::now());
        Ok(Engine {
            machine,
            lvsd_cmd: LvsdCommand {
                path: setup.lvsd,
                configfile: setup.args.configfile.clone(),
                verbose: setup.args.verbose,
                nodaemon: setup.args.nodaemon,
                pidfile: setup.args.lvsd_pidfile.clone(),
            },
            config: setup.config,
            setup_master: setup.master,
            flags,
            args: setup.args,
            paths,
            partner_ips,
            sealer: key.map(Sealer::new),
            route,
            held: Vec::new(),
            lvsd: None,
            stopping: Vec::new(),
            announce: None,
            sync,
            link_watch,
            failed_links: Vec::new(),
            restore_at: None,
            last_drop_log: None,
            dropped: 0,
            exit: None,
            pending: Vec::new(),
        })
    }

    fn next_wakeup(&self) -> Instant {
        let mut t = self.machine.next_wakeup();
        if let Some(a) = self.announce.as_ref().and_then(|a| a.next_due()) {
            t = t.min(a);
        }
        if let Some(r) = self.restore_at {
            t = t.min(r);
        }
        t
    }

    /// Give `event` to the machine and carry out its actions; events the
    /// actions themselves cause (an lvsd that cannot start) follow once the
    /// whole list is done, so the actions keep the machine's order.
    fn feed(&mut self, event: Event) {
        let mut queue = std::collections::VecDeque::from([event]);
        while let Some(ev) = queue.pop_front() {
            let actions = self.machine.on(Instant::now(), ev);
            self.execute(actions);
            queue.extend(self.pending.drain(..));
        }
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        if self.announce.as_mut().is_some_and(|a| a.poll(now)) {
            self.announce = None;
            self.feed(Event::AnnounceDone);
        }
        if self.restore_at.is_some_and(|r| now >= r) {
            self.links_restored();
        }
        if now >= self.machine.next_wakeup() {
            self.feed(Event::Tick);
        }
    }

    /// Tell the machine the links are back (held back by `check_links`).
    fn links_restored(&mut self) {
        if self.restore_at.take().is_some() {
            self.failed_links.clear();
            self.feed(Event::Links { failed: Vec::new() });
        }
    }

    /// One datagram on path `i`.
    fn datagram(&mut self, i: usize, bytes: &[u8], src: SocketAddr) {
        if !self.partner_ips.contains(&src.ip()) {
            debug!("Unexpected heartbeat from {}", src.ip());
            return;
        }
        let path = &mut self.paths[i];
        let beat = match path.verifier.as_mut() {
            Some(v) => v.open(bytes).map(|(b, _)| b).map_err(|r| r.to_string()),
            None => Heartbeat::parse(bytes).map_err(|_| "bad heartbeat packet".to_owned()),
        };
        let beat = match beat {
            Ok(b) => b,
            Err(why) => {
                self.dropped_beat(&why, src);
                return;
            }
        };
        path.last = Some((Instant::now(), beat));
        let which = path.which;
        self.feed(Event::Heartbeat { path: which, beat });
        // The partner is heard again: the dead timer is fresh, links may
        // count as restored now.
        self.links_restored();
    }

    /// The original's "recvfrom() failed: …", rate-limited like drops.
    fn recv_failed(&mut self, err: &std::io::Error) {
        let now = Instant::now();
        if self
            .last_drop_log
            .is_none_or(|t| now.duration_since(t) >= DROP_LOG_EVERY)
        {
            warn!("recvfrom() failed: {err}");
            self.last_drop_log = Some(now);
        }
    }

    /// Log a dropped heartbeat, at most once per [`DROP_LOG_EVERY`].
    fn dropped_beat(&mut self, why: &str, src: SocketAddr) {
        self.dropped += 1;
        let now = Instant::now();
        if self
            .last_drop_log
            .is_none_or(|t| now.duration_since(t) >= DROP_LOG_EVERY)
        {
            warn!(
                "{why} from {} (dropped; {} dropped so far)",
                src.ip(),
                self.dropped
            );
            self.last_drop_log = Some(now);
        }
    }

    fn lvsd_event(&mut self, ev: LvsdEvent) {
        let event = match ev {
            LvsdEvent::Ready => Event::LvsdReady,
            LvsdEvent::ReadyTimeout => Event::LvsdReadyTimeout,
            LvsdEvent::Exited(status) => {
                let pid = self.lvsd.take().map_or(0, |l| l.pid());
                use std::os::unix::process::ExitStatusExt;
                let how = match (status.code(), status.signal()) {
                    (Some(c), _) => ExitHow::Status(c),
                    (None, Some(s)) => ExitHow::Signal(s),
                    (None, None) => ExitHow::Status(-1),
                };
                Event::LvsdExited { pid, how }
            }
        };
        self.feed(event);
    }

    /// Feed [`Event::Links`] when the monitored links changed.
    fn check_links(&mut self) {
        if !self.machine.params().monitor_links {
            return;
        }
        let (links, addresses) = match (self.route.links(), self.route.addresses()) {
            (Ok(l), Ok(a)) => (l, a),
            (Err(e), _) | (_, Err(e)) => {
                warn!("cannot read link state: {e}");
                return;
            }
        };
        let mut failed = Vec::new();
        for p in &self.paths {
            // The interface carrying our own address on that path; an
            // address not found counts as up (as the original).
            let down = addresses
                .iter()
                .find(|a| a.addr == p.local.ip())
                .and_then(|a| rtnl::link_by_index(&links, a.index))
                .is_some_and(|l| !l.is_running());
            if down {
                failed.push(p.which);
            }
        }
        if failed.is_empty() && !self.failed_links.is_empty() {
            // Back up. While the link was down no heartbeat came, so the
            // dead timer may expire any moment: told now, the machine would
            // activate ("partner dead") before the active partner's next
            // heartbeat arrives, and as master stay active (a failback).
            // Hold the news until the partner is heard or a deadtime passed.
            if self.restore_at.is_none() {
                self.restore_at = Some(Instant::now() + self.machine.params().deadtime);
            }
            return;
        }
        self.restore_at = None;
        if failed != self.failed_links {
            self.failed_links = failed.clone();
            self.feed(Event::Links { failed });
        }
    }

    /// SIGHUP with a file that loaded.
    fn reload(&mut self, new: Config) {
        let (cfg, restart) = merge_reload(&self.config, new);
        if !restart.is_empty() {
            warn!(
                "lvs.cf: {} changed; restart pulse to apply (the rest applies now)",
                restart.join(", ")
            );
        }
        let params = Params::from_config(&cfg, self.setup_master, self.flags);
        let floating = floating::desired(&cfg);
        self.config = cfg;
        self.feed(Event::Reload { params, floating });
    }

    /// Carry out `actions` in order.
    fn execute(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Log { level, text } => match level {
                    Level::Error => error!("{text}"),
                    Level::Warning => warn!("{text}"),
                    Level::Info => info!("{text}"),
                    Level::Debug => debug!("{text}"),
                },
                Action::SendHeartbeat(beat) => self.send(beat),
                Action::RunActiveCmd => {
                    if let Some(c) = &self.config.active_cmd {
                        crate::lvsd::run_command(c);
                    }
                }
                Action::RunInactiveCmd => {
                    if let Some(c) = &self.config.inactive_cmd {
                        crate::lvsd::run_command(c);
                    }
                }
                Action::StartLvsd => self.start_lvsd(),
                Action::StopLvsd => self.stop_lvsd(),
                Action::ReloadLvsd => {
                    if let Some(l) = &self.lvsd {
                        l.signal(Signal::SIGHUP);
                    }
                }
                Action::AddFloating(addrs) => {
                    crate::floating::add(self.route.as_mut(), &addrs, &mut self.held)
                }
                Action::RemoveFloating(addrs) => {
                    crate::floating::remove(self.route.as_mut(), &addrs, &mut self.held)
                }
                Action::Announce {
                    addrs,
                    count,
                    interval,
                } => self.announce = Some(Announce::start(&addrs, count, interval)),
                Action::SyncDaemon(role) => self.sync_daemon(role),
                Action::Exit(code) => self.exit = Some(code),
            }
        }
    }

    fn send(&mut self, beat: Heartbeat) {
        let bytes: Vec<u8> = match self.sealer.as_mut() {
            Some(s) => s.seal(beat, unix_micros()).to_vec(),
            None => beat.emit().to_vec(),
        };
        for p in &self.paths {
            if p.partner.ip().is_unspecified() {
                continue;
            }
            if let Err(e) = p.socket.try_send_to(&bytes, p.partner) {
                // Only in -v mode, as the original.
                debug!("sendto {}: {e}", p.partner);
            }
        }
    }

    fn start_lvsd(&mut self) {
        if self.lvsd.is_some() {
            return;
        }
        match Lvsd::start(&self.lvsd_cmd) {
            Ok(l) => {
                debug!("started {} (pid {})", self.lvsd_cmd.path.display(), l.pid());
                self.lvsd = Some(l);
            }
            Err(err) => {
                error!("cannot start {}: {err}", self.lvsd_cmd.path.display());
                self.pending.push(Event::LvsdExited {
                    pid: 0,
                    how: ExitHow::Status(127),
                });
            }
        }
    }

    fn stop_lvsd(&mut self) {
        if let Some(l) = self.lvsd.take() {
            // Not waited for here: the loop keeps heartbeating while lvsd
            // removes its services; `finish` waits for it at exit.
            self.stopping.push(tokio::spawn(async move {
                let pid = l.pid();
                match l.stop(STOP_GRACE).await {
                    Some(st) => debug!("lvsd (pid {pid}) stopped: {st}"),
                    None => warn!("lvsd (pid {pid}) could not be reaped"),
                }
            }));
        }
    }

    fn sync_daemon(&mut self, role: SyncRole) {
        if self.sync.0.is_none() && self.flags.test_start {
            debug!("no IPVS under --test-start: sync daemon skipped");
            return;
        }
        let state = match role {
            SyncRole::Master => DaemonState::Master,
            SyncRole::Backup => DaemonState::Backup,
        };
        if let Err(e) = self
            .sync
            .restart(state, &self.config.syncd_iface, self.config.syncd_id)
        {
            error!("cannot start the sync daemon: {e}");
        }
    }

    fn status(&self) -> Status {
        let now = Instant::now();
        let s = self.machine.status(now);
        let mut flags = Vec::new();
        if !s.failed_links.is_empty() {
            flags.push("LINKFAIL".to_owned());
        }
        if s.childfail {
            flags.push("CHILDFAIL".to_owned());
        }
        Status {
            pid: std::process::id(),
            role: if self.setup_master {
                "master"
            } else {
                "backup"
            }
            .to_owned(),
            active: s.active,
            flags,
            test_start: self.flags.test_start,
            paths: self
                .paths
                .iter()
                .map(|p| PathStatus {
                    name: match p.which {
                        Path::Public => "public",
                        Path::Private => "private",
                    }
                    .to_owned(),
                    local: p.local.to_string(),
                    partner: p.partner.to_string(),
                    last_heartbeat_age: p.last.map(|(t, _)| now.duration_since(t).as_secs_f64()),
                    last_heartbeat: p.last.map(|(_, b)| b.name().to_owned()),
                })
                .collect(),
            floating: self.held.iter().map(ToString::to_string).collect(),
            lvsd_pid: self
                .lvsd
                .as_ref()
                .filter(|_| s.lvsd != LvsdState::Stopped)
                .map(Lvsd::pid),
            configfile: self.args.configfile.display().to_string(),
        }
    }

    /// At exit: lvsd stopped (bounded), nothing left behind.
    async fn finish(&mut self) {
        self.stop_lvsd();
        for h in self.stopping.drain(..) {
            let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(3), h).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cf(text: &str) -> Config {
        let p = lvscf::parse_with(text, &lvscf::OfflineResolver);
        p.config.unwrap_or_else(|| panic!("{:?}", p.diagnostics))
    }

    const BASE: &str = "primary = 203.0.113.2\nbackup = 203.0.113.3\nbackup_active = 1\n\
                        keepalive = 2\nvirtual web {\n active = 1\n address = 203.0.113.10 eth0:1\n}\n";

    #[test]
    fn a_reload_keeps_what_needs_a_restart_and_names_it() {
        let old = cf(BASE);
        let new = cf(&BASE
            .replace("203.0.113.3", "203.0.113.4")
            .replace("keepalive = 2", "keepalive = 1\nheartbeat_port = 600")
            .replace("203.0.113.10 eth0:1", "203.0.113.11 eth0:2"));
        let (merged, changed) = merge_reload(&old, new);
        // backup_private follows backup (lvs.cf rule without primary_private).
        assert_eq!(changed, ["backup", "backup_private", "heartbeat_port"]);
        assert_eq!(merged.backup, old.backup);
        assert_eq!(merged.heartbeat_port, 539);
        // The rest applies: timers and floating addresses.
        assert_eq!(merged.keepalive, Duration::from_secs(1));
        assert_eq!(
            floating::desired(&merged)[0].addr,
            "203.0.113.11".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn an_unchanged_file_needs_nothing() {
        let old = cf(BASE);
        let (merged, changed) = merge_reload(&old, cf(BASE));
        assert!(changed.is_empty());
        assert_eq!(merged, old);
    }

    #[test]
    fn an_undefined_backup_is_cleared_on_reload_too() {
        let text = "primary = 203.0.113.2\nbackup_active = 1\n\
                    virtual web {\n active = 1\n address = 203.0.113.10 eth0:1\n}\n";
        let mut old = cf(text);
        old.backup_active = false; // as start-up left it
        let (merged, changed) = merge_reload(&old, cf(text));
        assert!(changed.is_empty(), "{changed:?}");
        assert!(!merged.backup_active);
    }
}
