//! The daemon loop: runs the checks of one or more real servers, feeds their
//! results and the signals to [`crate::state::transition`], and carries out
//! the actions (IPVS, log, report).
//!
//! One thread, no runtime: a `poll` over a signalfd and the descriptor each
//! check is waiting on, with the nearest deadline as timeout. Signals are
//! blocked and read from the signalfd, so no work happens in a handler.
//! Checks of one server run one after the other; the next starts `interval`
//! seconds after the previous one (and any weight adjustment) finished, as
//! the original's. Nothing here assumes one server per process: the loop
//! drives any number of [`Monitor`]s (shared mode), though the command line
//! currently starts one.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::check::{Checker, Step, Wait};
use crate::ipvs::{IpvsControl, IpvsOp, IpvsadmLine, RealServer, Virtual};
use crate::load::parse_load;
use crate::log::Logger;
use crate::probe::Probe;
use crate::report::{self, Line};
use crate::state::{Action, Event, Kind, Log, Mode, Params, State, transition};

/// Everything needed to monitor one real server.
#[derive(Debug, Clone)]
pub struct MonitorSpec {
    pub params: Params,
    pub server: RealServer,
    pub probe: Probe,
    /// `-t`: seconds between checks, and each check's (and load command's)
    /// time limit.
    pub interval: Duration,
    /// Load command argv (`None` for `none`).
    pub load_argv: Option<Vec<String>>,
}

/// Where IPVS operations go.
pub enum Output {
    /// Under our lvsd: `want` lines (and the rest of the protocol) on a pipe.
    Report(ReportWriter),
    /// `--test-start` without a report pipe: log the `ipvsadm` command line.
    DryRun { ipvsadm: String },
    /// On its own: change IPVS.
    Ipvs {
        control: Box<dyn IpvsControl>,
        ipvsadm: String,
    },
}

/// Writes report lines to lvsd's pipe.
#[derive(Debug)]
pub struct ReportWriter {
    file: File,
    buf: String,
}

impl ReportWriter {
    /// Takes over the pipe's write end.
    pub fn new(fd: OwnedFd) -> ReportWriter {
        ReportWriter {
            file: File::from(fd),
            buf: String::with_capacity(128),
        }
    }

    /// Writes one line. Blocking: lvsd reads every pipe in its loop; a pipe
    /// that stays full means lvsd is stuck, and then nanny waits for it.
    pub fn write(&mut self, line: Line<'_>) -> io::Result<()> {
        self.buf.clear();
        let _ = writeln!(self.buf, "{line}");
        self.file.write_all(self.buf.as_bytes())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Idle,
    Check,
    Load,
}

/// One monitored real server.
pub struct Monitor {
    spec: MonitorSpec,
    state: State,
    check: Checker,
    load: Option<Checker>,
    job: Job,
    wait: Option<Wait>,
    next_due: Instant,
}

impl Monitor {
    pub fn new(spec: MonitorSpec) -> Monitor {
        let check = Checker::new(spec.server.addr, spec.probe.clone(), spec.interval);
        let load = spec.load_argv.clone().map(|argv| {
            Checker::new(
                spec.server.addr,
                Probe::Program { argv, expect: None },
                spec.interval,
            )
        });
        Monitor {
            state: State::new(&spec.params),
            spec,
            check,
            load,
            job: Job::Idle,
            wait: None,
            next_due: Instant::now(),
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    fn cancel(&mut self) {
        self.check.cancel();
        if let Some(l) = &mut self.load {
            l.cancel();
        }
        self.job = Job::Idle;
        self.wait = None;
    }
}

/// The signals nanny acts on.
const SIGNALS: [Signal; 5] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Blocks nanny's signals and returns a descriptor that reads them. Call
/// before starting any thread or child.
pub fn signal_fd() -> io::Result<SignalFd> {
    let mut mask = SigSet::empty();
    for s in SIGNALS {
        mask.add(s);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None).map_err(io::Error::from)?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(io::Error::from)
}

/// The loop over a set of monitors.
pub struct Engine {
    monitors: Vec<Monitor>,
    output: Output,
    log: Logger,
    signals: SignalFd,
    pollfds: Vec<libc::pollfd>,
    /// Which monitor owns `pollfds[i + 1]`.
    owners: Vec<usize>,
    terminating: bool,
    /// Reused for each check's reason text.
    text: String,
}

/// Longest single poll; only bounds the wait when nothing is scheduled.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

impl Engine {
    pub fn new(monitors: Vec<Monitor>, output: Output, log: Logger, signals: SignalFd) -> Engine {
        let n = monitors.len();
        Engine {
            monitors,
            output,
            log,
            signals,
            pollfds: Vec::with_capacity(n + 1),
            owners: Vec::with_capacity(n),
            terminating: false,
            text: String::with_capacity(128),
        }
    }

    /// Runs until a signal or a state transition ends nanny; returns the
    /// exit status.
    pub fn run(&mut self) -> i32 {
        let code = self.run_inner();
        for m in &mut self.monitors {
            m.cancel();
        }
        if let Output::Report(w) = &mut self.output {
            let _ = w.write(Line::Exit { status: code });
        }
        code
    }

    fn run_inner(&mut self) -> i32 {
        if let Err(code) = self.start() {
            return code;
        }
        loop {
            let now = Instant::now();
            for i in 0..self.monitors.len() {
                let m = &mut self.monitors[i];
                if m.job == Job::Idle && m.state.mode == Mode::Normal && now >= m.next_due {
                    m.job = Job::Check;
                    let step = m.check.start(now);
                    if let Err(code) = self.after_step(i, step, now) {
                        return code;
                    }
                }
            }

            let timeout = self.build_pollfds(now);
            // SAFETY: `pollfds` is a live, initialised slice of pollfd and its
            // length is passed with it; poll only writes `revents`.
            let rc = unsafe {
                libc::poll(
                    self.pollfds.as_mut_ptr(),
                    self.pollfds.len() as libc::nfds_t,
                    timeout,
                )
            };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    self.log.info(format_args!("poll() failed: {e}"));
                    return 255;
                }
                continue;
            }
            let now = Instant::now();

            if self.pollfds[0].revents != 0 {
                while let Ok(Some(info)) = self.signals.read_signal() {
                    let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
                    if let Err(code) = self.on_signal(signo, now) {
                        return code;
                    }
                }
            }

            for k in 0..self.owners.len() {
                let i = self.owners[k];
                let revents = self.pollfds[k + 1].revents;
                let Some(wait) = self.monitors[i].wait else {
                    continue;
                };
                if revents == 0 && now < wait.wake {
                    continue;
                }
                let m = &mut self.monitors[i];
                let step = match m.job {
                    Job::Check => m.check.resume(revents, now),
                    Job::Load => match &mut m.load {
                        Some(l) => l.resume(revents, now),
                        None => continue,
                    },
                    Job::Idle => continue,
                };
                if let Err(code) = self.after_step(i, step, now) {
                    return code;
                }
            }
        }
    }

    fn start(&mut self) -> Result<(), i32> {
        if let Output::Report(w) = &mut self.output {
            let header = w.write(Line::Header {
                version: report::VERSION,
            });
            if let Err(e) = header {
                self.log
                    .info(format_args!("cannot write to lvsd report pipe: {e}"));
                return Err(1);
            }
        }
        let pid = std::process::id();
        for i in 0..self.monitors.len() {
            let server = self.monitors[i].spec.server;
            let virt = match server.virt {
                Virtual::Fwmark(m) => format!("fwmark/{m}"),
                Virtual::Addr {
                    protocol,
                    vip,
                    port,
                } => match vip {
                    Some(ip) => format!(
                        "{}/{}",
                        protocol.as_str(),
                        std::net::SocketAddr::new(ip, port)
                    ),
                    None => format!("{}/-:{port}", protocol.as_str()),
                },
            };
            let real = server.addr.to_string();
            self.report(Line::Monitor {
                real: &real,
                virt: &virt,
                pid,
            })?;
            self.monitors[i].next_due = Instant::now();
        }
        Ok(())
    }

    fn build_pollfds(&mut self, now: Instant) -> libc::c_int {
        self.pollfds.clear();
        self.owners.clear();
        self.pollfds.push(libc::pollfd {
            fd: self.signals.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        let mut wake = now + MAX_SLEEP;
        for (i, m) in self.monitors.iter().enumerate() {
            if let Some(w) = m.wait {
                self.pollfds.push(libc::pollfd {
                    fd: w.fd,
                    events: w.events,
                    revents: 0,
                });
                self.owners.push(i);
                wake = wake.min(w.wake);
            } else if m.job == Job::Idle && m.state.mode == Mode::Normal {
                wake = wake.min(m.next_due);
            }
        }
        let ms = wake
            .saturating_duration_since(now)
            .as_nanos()
            .div_ceil(1_000_000);
        libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
    }

    fn on_signal(&mut self, signo: i32, now: Instant) -> Result<(), i32> {
        let event = match Signal::try_from(signo) {
            Ok(Signal::SIGTERM | Signal::SIGINT) => Event::Terminate(signo),
            Ok(Signal::SIGUSR1) => Event::ForceDown,
            Ok(Signal::SIGUSR2) => Event::ForceUp,
            Ok(Signal::SIGHUP) => Event::Resume,
            _ => return Ok(()),
        };
        if let Event::Terminate(_) = event {
            self.terminating = true;
            let mut code = 0;
            for i in 0..self.monitors.len() {
                // Kill a running check or load program first.
                self.monitors[i].cancel();
                if let Err(c) = self.apply(i, event, now) {
                    code = code.max(c);
                }
            }
            return Err(code);
        }
        for i in 0..self.monitors.len() {
            self.apply(i, event, now)?;
        }
        Ok(())
    }

    /// Runs one event through the state machine and carries out the actions.
    fn apply(&mut self, i: usize, event: Event, now: Instant) -> Result<(), i32> {
        let m = &self.monitors[i];
        let (state, actions) = transition(&m.spec.params, &m.state, event);
        self.monitors[i].state = state;
        let mut query_load = false;
        for action in actions {
            match action {
                Action::Ipvs(op) => self.ipvs(i, op)?,
                Action::Log(l) => self.log_line(i, l),
                Action::ReportActive(active) => self.report(Line::State { active })?,
                Action::ReportMode(mode) => {
                    if mode != Mode::Normal {
                        // Checking is suspended while forced.
                        self.monitors[i].cancel();
                    }
                    self.report(Line::Mode(mode))?;
                }
                Action::QueryLoad => query_load = true,
                Action::CheckNow => {
                    let m = &mut self.monitors[i];
                    if m.job == Job::Idle {
                        m.next_due = now;
                    }
                }
                Action::Exit(code) => return Err(code),
            }
        }
        if query_load {
            let m = &mut self.monitors[i];
            if let Some(load) = &mut m.load {
                m.job = Job::Load;
                let step = load.start(now);
                return self.after_step(i, step, now);
            }
        }
        Ok(())
    }

    fn after_step(&mut self, i: usize, step: Step, now: Instant) -> Result<(), i32> {
        let m = &mut self.monitors[i];
        let outcome = match step {
            Step::Wait(w) => {
                m.wait = Some(w);
                return Ok(());
            }
            Step::Done(o) => o,
        };
        m.wait = None;
        let job = std::mem::replace(&mut m.job, Job::Idle);
        m.next_due = now + m.spec.interval;
        match job {
            Job::Idle => Ok(()),
            Job::Check => {
                // The reason text goes into a buffer kept across checks.
                let mut text = std::mem::take(&mut self.text);
                text.clear();
                let _ = write!(text, "{}", self.monitors[i].check.describe(outcome.reason));
                let reported = self.report(Line::Check {
                    ok: outcome.ok,
                    reason: &text,
                });
                if !outcome.ok && outcome.reason.logged_by_default() {
                    self.log.info(format_args!("{text}"));
                } else {
                    self.log.debug(format_args!("DEBUG -- {text}"));
                }
                self.text = text;
                reported?;
                let event = if outcome.ok {
                    Event::CheckPassed
                } else {
                    Event::CheckFailed
                };
                let m = &self.monitors[i];
                let (params, state) = (&m.spec.params, &m.state);
                self.log.debug(format_args!(
                    "avail: {} active: {}: count: {}",
                    u8::from(outcome.ok),
                    u8::from(state.active),
                    state.count + u32::from(outcome.ok && params.kind == Kind::Lvs)
                ));
                self.apply(i, event, now)
            }
            Job::Load => {
                let m = &self.monitors[i];
                let output = m.load.as_ref().map(Checker::output).unwrap_or_default();
                let load = if !outcome.ok {
                    self.log.info(format_args!("failed to read remote load"));
                    None
                } else {
                    match parse_load(output) {
                        Some(v) => {
                            let ip = m.spec.server.addr.ip();
                            self.log.debug(format_args!("Loadavg of {ip} is {v:.6}"));
                            Some(v)
                        }
                        None => {
                            let text = String::from_utf8_lossy(output).into_owned();
                            self.log.info(format_args!(
                                "bad load average returned: {}",
                                text.trim_end()
                            ));
                            None
                        }
                    }
                };
                self.apply(i, Event::Load(load), now)
            }
        }
    }

    fn ipvs(&mut self, i: usize, op: IpvsOp) -> Result<(), i32> {
        let server = self.monitors[i].spec.server;
        match &mut self.output {
            Output::Report(w) => {
                if let Err(e) = w.write(Line::Want(op.wanted_weight())) {
                    return Err(self.report_failed(&e));
                }
            }
            Output::DryRun { ipvsadm } => {
                let line = IpvsadmLine {
                    ipvsadm,
                    server: &server,
                    op,
                }
                .to_string();
                self.log.info(format_args!("running command {line}"));
            }
            Output::Ipvs { control, ipvsadm } => {
                let line = IpvsadmLine {
                    ipvsadm,
                    server: &server,
                    op,
                }
                .to_string();
                self.log.debug(format_args!("running command {line}"));
                if let Err(e) = control.apply(&server, op) {
                    // The original's line, with the reason.
                    self.log
                        .info(format_args!("{ipvsadm} command failed! ({e})"));
                    // The original: 1 when the removal at termination
                    // failed, -1 (255) during monitoring.
                    return Err(if self.terminating { 1 } else { 255 });
                }
            }
        }
        Ok(())
    }

    fn report(&mut self, line: Line<'_>) -> Result<(), i32> {
        if let Output::Report(w) = &mut self.output
            && let Err(e) = w.write(line)
        {
            return Err(self.report_failed(&e));
        }
        Ok(())
    }

    fn report_failed(&mut self, e: &io::Error) -> i32 {
        self.log
            .info(format_args!("lost the report pipe to lvsd ({e}); exiting"));
        1
    }

    fn log_line(&mut self, i: usize, l: Log) {
        let text = LogText {
            log: l,
            server: self.monitors[i].spec.server.addr,
        };
        // FOS logged "No service active & available..." always.
        let always = !l.is_debug()
            || (l == Log::NoServiceAvailable && self.monitors[i].spec.params.kind == Kind::Fos);
        if always {
            self.log.info(format_args!("{text}"));
        } else {
            self.log.debug(format_args!("{text}"));
        }
    }
}

/// A [`Log`] line's text; verbatim from the original (piranha.md §3.7).
struct LogText {
    log: Log,
    server: std::net::SocketAddr,
}

impl std::fmt::Display for LogText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ip, port) = (self.server.ip(), self.server.port());
        match self.log {
            Log::MakingAvailable => write!(f, "[ active ] making {ip}:{port} available"),
            Log::ShuttingDown => write!(
                f,
                "[inactive] shutting down {ip}:{port} due to connection failure"
            ),
            Log::NoServiceAvailable => f.write_str("No service active & available..."),
            Log::OpaqueGlasses => f.write_str("opaque glasses on"),
            Log::RoseGlasses => f.write_str("rose-colored glasses on"),
            Log::RemovingGlasses => f.write_str("DEBUG -- removing glasses"),
            Log::Terminating(sig) => write!(f, "Terminating due to signal {sig}"),
            Log::AdjustingWeight(w) => write!(f, "Adjusting weight of {ip}:{port} to {w}"),
            Log::ComputedWeight { new, last, load } => write!(
                f,
                "Computing new weight {new} based on last weight {last} and load {load:.6}"
            ),
            Log::FosAvailable => write!(f, "Remote service {ip}:{port} is available"),
            Log::FosExiting => write!(f, "Exiting due to connection failure of {ip}:{port}"),
            Log::FosTimeout => {
                f.write_str("Timeout waiting for remote service -- triggering failover!")
            }
        }
    }
}
