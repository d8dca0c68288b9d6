//! The lvsd daemon: one loop that carries out what lvsd's decision step
//! ([`director::lvsd::Lvsd`]) says. Signals, monitor reports, the status
//! socket and a tick are turned into [`Event`]s; the step answers with
//! [`Action`]s (start, stop or signal a monitor, reconcile, log, exit) and
//! this loop performs them. Nothing is decided here.
//!
//! Every change to the table goes through one path, shutdown included:
//! [`Lvsd::reconcile`] (desired table → plan against a dump → apply).
//! lvsd is the only writer of its entries; monitors only report.

pub mod monitors;
pub mod reload;
pub mod status;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ::daemon::inherited_fd::ReadyWriter;
use anyhow::{Context, Result};
use director::lvsd::{self, Action, Event, Level, Log, Lvsd};
use ipvs::IpvsTable;
use lvscf::Config;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use monitors::{MonitorEvent, Monitors};

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

/// How often the loop ticks (restarts due, drift check).
const TICK: Duration = Duration::from_secs(1);

/// The step, the kernel table and the monitor processes.
pub struct Daemon {
    opts: Options,
    lvsd: Lvsd,
    table: Box<dyn IpvsTable>,
    monitors: Monitors,
    /// Actions not yet carried out (after an [`Action::AwaitMonitors`]).
    queue: VecDeque<Action>,
    /// A reconcile is due once the current batch of events is handled.
    dirty: bool,
    /// Shutdown: wait this long for the stopped monitors first.
    await_monitors: Option<Duration>,
    /// The earliest restart the step scheduled.
    wake: Option<Instant>,
    exit: Option<u8>,
    /// Why the last reload was refused (the lines logged), for `--status`.
    last_reload_error: Option<String>,
    /// The digest of the file the running table came from, for `--status`.
    config_digest: Option<String>,
}

impl Daemon {
    /// A daemon for `config` (read from bytes of digest `digest`), writing
    /// through `table`.
    pub fn new(
        opts: Options,
        config: Config,
        digest: Option<String>,
        table: Box<dyn IpvsTable>,
        events: mpsc::UnboundedSender<MonitorEvent>,
    ) -> Self {
        let step = lvsd::Options {
            verbose: opts.verbose,
            nodaemon: opts.nodaemon,
            test_start: opts.test_start,
        };
        Daemon {
            lvsd: Lvsd::new(step, config),
            opts,
            table,
            monitors: Monitors::new(events),
            queue: VecDeque::new(),
            dirty: false,
            await_monitors: None,
            wake: None,
            exit: None,
            last_reload_error: None,
            config_digest: digest,
        }
    }

    /// Feed one event to the step and carry out what it says. Returns the
    /// answer to a control request, if the event was one.
    pub fn feed(&mut self, event: Event) -> Option<Result<(), String>> {
        let actions = self.lvsd.on(Instant::now(), event);
        self.queue.extend(actions);
        self.run_queue()
    }

    fn run_queue(&mut self) -> Option<Result<(), String>> {
        let mut reply = None;
        while let Some(action) = self.queue.pop_front() {
            match action {
                Action::StartMonitor { spec, generation } => {
                    // A reconcile asked for before this start runs first, so
                    // the monitor finds its service in the kernel.
                    self.flush();
                    match self.monitors.start(&spec, generation) {
                        Ok(pid) => log_started(&spec.id, pid),
                        Err(e) => {
                            // The program's path: "No such file or
                            // directory" alone does not say which.
                            let program = spec
                                .argv
                                .first()
                                .map_or_else(String::new, |p| p.to_string_lossy().into_owned());
                            let failed = Event::StartFailed {
                                id: spec.id.clone(),
                                generation,
                                error: format!("{program}: {e}"),
                            };
                            let more = self.lvsd.on(Instant::now(), failed);
                            for a in more.into_iter().rev() {
                                self.queue.push_front(a);
                            }
                        }
                    }
                }
                Action::StopMonitor { id, generation } => self.monitors.stop(&id, generation),
                Action::Signal {
                    id,
                    generation,
                    index,
                    command,
                } => reply = Some(self.monitors.control(&id, generation, index, command)),
                Action::Refuse(e) => reply = Some(Err(e.to_string())),
                Action::Accepted => reply = Some(Ok(())),
                Action::ScheduleRestart { at, .. } => {
                    self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
                }
                Action::Reconcile => self.dirty = true,
                Action::AwaitMonitors { grace } => {
                    // The loop waits (it owns the event stream), then
                    // carries out the rest.
                    self.await_monitors = Some(grace);
                    break;
                }
                Action::Log(l) => log(&l),
                Action::Exit(code) => {
                    self.flush();
                    self.exit = Some(code);
                }
            }
        }
        reply
    }

    /// Reconcile if the step asked for it since the last one.
    pub fn flush(&mut self) {
        if std::mem::take(&mut self.dirty) {
            for l in self.lvsd.reconcile(self.table.as_mut(), Instant::now()) {
                log(&l);
            }
        }
    }

    /// One event from a monitor's watcher.
    fn on_monitor_event(&mut self, event: MonitorEvent) {
        let event = match event {
            MonitorEvent::Report {
                id,
                generation,
                report,
            } => Event::Report {
                id,
                generation,
                report,
            },
            MonitorEvent::Output {
                id,
                generation,
                line,
            } => Event::Output {
                id,
                generation,
                line,
            },
            MonitorEvent::Exited {
                id,
                generation,
                status,
            } => {
                self.monitors.exited(&id, generation);
                Event::Exited {
                    id,
                    generation,
                    status: match status {
                        Ok(s) => s.to_string(),
                        Err(e) => e.to_string(),
                    },
                }
            }
        };
        self.feed(event);
    }

    /// Shutdown: wait for the stopped monitors to be reaped, SIGKILL what is
    /// left after `grace`.
    async fn wait_for_monitors(
        &mut self,
        events: &mut mpsc::UnboundedReceiver<MonitorEvent>,
        grace: Duration,
    ) {
        let deadline = tokio::time::Instant::now() + grace;
        while !self.monitors.all_reaped() {
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(Some(ev)) => self.on_monitor_event(ev),
                Ok(None) => break,
                Err(_) => {
                    self.monitors.kill_remaining();
                    // Give the kernel a moment to deliver the exits.
                    let _ = tokio::time::timeout(Duration::from_secs(1), events.recv()).await;
                    break;
                }
            }
        }
    }

    /// A reload's outcome ([`reload::Outcome`], read off the loop): switch
    /// to the new configuration, or keep everything as it is.
    pub fn reloaded(&mut self, outcome: reload::Outcome) {
        match outcome {
            reload::Outcome::Loaded(config, digest) => {
                // More monitors may need more descriptors.
                crate::fdlimit::raise_for(&config);
                self.last_reload_error = None;
                self.config_digest = Some(digest);
                self.feed(Event::Reload(config));
            }
            reload::Outcome::Refused(lines) => {
                for line in &lines {
                    info!("{line}");
                }
                self.last_reload_error = Some(lines.join("\n"));
                self.feed(Event::ReloadFailed);
            }
        }
    }

    /// For `--status`.
    pub fn status(&mut self) -> status::Status {
        status::collect(self)
    }
}

fn log(l: &Log) {
    match l.level() {
        Level::Debug => debug!("{l}"),
        Level::Info => info!("{l}"),
        Level::Warn => warn!("{l}"),
    }
}

fn log_started(id: &lvsd::MonitorId, pid: i32) {
    match id {
        lvsd::MonitorId::Server(sid) => info!(
            "create_monitor for {}/{} running as pid {pid}",
            sid.virtual_name, sid.server
        ),
        lvsd::MonitorId::Shared(v) => info!("create_monitor for {v} (shared) running as pid {pid}"),
    }
}

/// Run the daemon until SIGTERM/SIGINT (or a fatal monitor death).
/// `ready` is pulse's `PULSE_READY_FD`, taken by `main` while the process
/// had one thread; it is close-on-exec, so no monitor inherits it (a
/// monitor holding it open would keep pulse from ever seeing the end of
/// the line).
pub fn run(
    opts: Options,
    config: Config,
    digest: Option<String>,
    table: Box<dyn IpvsTable>,
    ready: ReadyWriter,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the event loop")?;
    let result =
        runtime.block_on(async move { main_loop(opts, config, digest, table, ready).await });
    // A reload's blocking read may still wait on a host name lookup: exit
    // without it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Sleep until `at`, or forever.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn main_loop(
    opts: Options,
    config: Config,
    digest: Option<String>,
    table: Box<dyn IpvsTable>,
    mut ready: ReadyWriter,
) -> Result<ExitCode> {
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    // main blocked these from its first instruction; a SIGHUP that came
    // meanwhile is delivered to the handler now.
    ::daemon::signals::unblock_after_handlers().context("unblock signals")?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let socket_path = opts.socket.clone();
    // Clients are served by their own tasks; the loop only answers.
    let (query_tx, mut queries) = mpsc::channel(status::MAX_CLIENTS);
    let serving = status::listen(&socket_path).map(|l| status::serve(l, query_tx));
    let mut reloads = reload::Reloads::new(opts.configfile.clone());
    let mut d = Daemon::new(opts, config, digest, table, tx);

    d.feed(Event::Start);
    d.flush();
    if let Err(e) = ready.signal() {
        warn!("cannot write the readiness line to PULSE_READY_FD: {e}");
    }

    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let code = loop {
        tokio::select! {
            _ = hup.recv() => {
                info!("rereading configuration file");
                reloads.request();
            }
            outcome = reloads.next() => d.reloaded(outcome),
            _ = term.recv() => {
                info!("shutting down due to signal 15");
                d.feed(Event::Shutdown { code: 0 });
            }
            _ = int.recv() => {
                info!("shutting down due to signal 2");
                d.feed(Event::Shutdown { code: 0 });
            }
            Some(ev) = rx.recv() => {
                d.on_monitor_event(ev);
                // Take everything already queued before touching the kernel.
                while let Ok(ev) = rx.try_recv() {
                    d.on_monitor_event(ev);
                }
            }
            _ = tick.tick() => {
                d.feed(Event::Tick);
            }
            _ = sleep_until(d.wake) => {
                d.wake = None;
                d.feed(Event::Tick);
            }
            Some(query) = queries.recv() => {
                let text = match query.request {
                    status::Request::Status { json } => status::status_reply(&d.status(), json),
                    status::Request::Control { action, server } => {
                        let reply = match lvsd::parse_command(&action) {
                            Ok(command) => d.feed(Event::Control { command, server }),
                            Err(e) => Some(Err(e.to_string())),
                        };
                        match reply {
                            Some(Ok(())) => "ok\n".to_owned(),
                            Some(Err(e)) => format!("error: {e}\n"),
                            None => "error: no answer\n".to_owned(),
                        }
                    }
                };
                let _ = query.answer.send(text);
            }
        }
        if let Some(grace) = d.await_monitors.take() {
            d.wait_for_monitors(&mut rx, grace).await;
            d.run_queue();
        }
        d.flush();
        if let Some(code) = d.exit {
            break code;
        }
    };
    if let Some(server) = serving {
        server.abort();
        let _ = std::fs::remove_file(&socket_path);
    }
    Ok(ExitCode::from(code))
}
