//! The daemon loop: runs the checks of one or more real servers, feeds their
//! results and the signals to [`crate::state::transition`], and carries out
//! the actions (IPVS, log, report).
//!
//! One thread, no runtime: a `poll` over a signalfd, lvsd's control pipe
//! (shared mode) and the descriptor each running check is waiting on, with
//! the nearest deadline as timeout. Signals are blocked and read from the
//! signalfd, so no work happens in a handler. Checks of one server run one
//! after the other; the next starts `interval` seconds after the previous one
//! (and any weight adjustment) finished, as the original's. The loop drives
//! any number of [`Monitor`]s: one for a per-server nanny, hundreds in shared
//! mode. For those, the work per wake-up does not grow with the number of
//! servers: due checks come off a heap, and only the running checks are
//! polled; the first checks are spread over the first interval so the
//! servers are not all connected to in the same millisecond.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::check::{Checker, Step, Wait};
use crate::control::{Command, ControlLine};
use crate::ipvs::{IpvsControl, IpvsOp, IpvsadmLine, RealServer, Virtual};
use crate::load::parse_load;
use crate::log::Logger;
use crate::probe::Probe;
use crate::report::{self, Indexed, Line};
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
            buf: String::with_capacity(4096),
        }
    }

    /// Writes one line (and any queued before it). Blocking: lvsd reads
    /// every pipe in its loop; a pipe that stays full means lvsd is stuck,
    /// and then nanny waits for it.
    pub fn write(&mut self, line: Line<'_>) -> io::Result<()> {
        self.queue(line)?;
        self.flush()
    }

    /// Adds one line to the batch written by the next [`ReportWriter::flush`]
    /// (at once if the batch is full): a shared nanny finishes several
    /// checks per wake-up, and one write for them all saves system calls
    /// and wake-ups of lvsd.
    pub fn queue(&mut self, line: Line<'_>) -> io::Result<()> {
        let _ = writeln!(self.buf, "{line}");
        self.flush_if_full()
    }

    /// [`ReportWriter::queue`] for a version 2 line: `line` about server
    /// `server` (`None`: about the process).
    pub fn queue_indexed(&mut self, server: Option<u32>, line: Line<'_>) -> io::Result<()> {
        let _ = writeln!(self.buf, "{}", Indexed { server, line });
        self.flush_if_full()
    }

    /// Writes the queued lines.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let written = self.file.write_all(self.buf.as_bytes());
        self.buf.clear();
        written
    }

    fn flush_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= BATCH_LIMIT {
            self.flush()
        } else {
            Ok(())
        }
    }
}

/// Queued report bytes are written at once beyond this size: it bounds the
/// buffer, and with the usual lines (well under 1 kB) keeps a batch below
/// PIPE_BUF (4096), so lvsd gets it in one piece.
const BATCH_LIMIT: usize = 3072;

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
    /// When the running (or last) check was due, and when it started: the
    /// next one is due an interval plus the check's duration after the
    /// former, so a late start (a busy round, a stall) does not move the
    /// server's phase. Taking it from the end of the check instead would
    /// make servers finishing in the same round due together from then on,
    /// and with many servers they would end up all in one burst.
    slot: Instant,
    started: Instant,
    /// Position in [`Engine::waiting`], or [`NOT_WAITING`].
    waiting_at: usize,
}

const NOT_WAITING: usize = usize::MAX;

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
            slot: Instant::now(),
            started: Instant::now(),
            waiting_at: NOT_WAITING,
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
    /// Shared mode: report protocol version 2 (lines carry the server's
    /// index), control lines from lvsd instead of per-server signals.
    shared: bool,
    control: Option<Control>,
    /// Scheduled checks, earliest first. An entry is stale (and skipped)
    /// when its time is no longer the monitor's `next_due`, so rescheduling
    /// never searches the heap.
    due: BinaryHeap<Reverse<(Instant, usize)>>,
    /// Monitors with a check or load command in progress.
    waiting: Vec<usize>,
    /// `[signalfd, control pipe, one per waiting monitor]`.
    pollfds: Vec<libc::pollfd>,
    /// Which monitor owns `pollfds[k + FIXED_FDS]`.
    owners: Vec<usize>,
    terminating: bool,
    /// Reused for each check's reason text.
    text: String,
    /// Per monitor: the monitor whose checks it takes (itself, unless a
    /// monitor before it checks the same address: see [`Engine::shared`]).
    leader: Vec<usize>,
    /// Per leader: the other monitors its checks' results also go to.
    followers: Vec<Vec<usize>>,
}

/// The slots before the checks' in `pollfds`: signalfd, control pipe.
const FIXED_FDS: usize = 2;

/// lvsd's control lines to a shared nanny, read from its stdin pipe.
struct Control {
    file: File,
    buf: Vec<u8>,
}

/// A control line longer than this is not one of ours: it is dropped.
const MAX_CONTROL_LINE: usize = 256;

/// Longest single poll; only bounds the wait when nothing is scheduled.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// How late a check may start. With hundreds of servers a check is due
/// every few milliseconds; starting those due within this window together
/// costs one wake-up instead of one each, and shifts a 1 s or longer
/// interval by at most this much. A check's own deadline is not affected.
const SLACK: Duration = Duration::from_millis(5);

impl Engine {
    pub fn new(monitors: Vec<Monitor>, output: Output, log: Logger, signals: SignalFd) -> Engine {
        let n = monitors.len();
        Engine {
            monitors,
            output,
            log,
            signals,
            shared: false,
            control: None,
            // Room for each monitor's entry plus stale ones, so pushes in
            // the steady state do not allocate.
            due: BinaryHeap::with_capacity(2 * n + 1),
            waiting: Vec::with_capacity(n),
            pollfds: Vec::with_capacity(n + FIXED_FDS),
            owners: Vec::with_capacity(n),
            terminating: false,
            text: String::with_capacity(128),
            leader: (0..n).collect(),
            followers: vec![Vec::new(); n],
        }
    }

    /// Shared mode: reports in protocol version 2, and `control` (lvsd's
    /// pipe, if any) carries `down N` / `up N` / `normal N` lines.
    ///
    /// Servers listed more than once (the same real server of several
    /// virtual servers that lvsd gave one nanny, because they check it the
    /// same way) are checked once: the first of them runs the checks and
    /// every one gets the result, each in its own state machine (its own
    /// weight, its own `check`/`want` lines, its own forced mode). The check
    /// options are the process's, so the same address means the same check.
    pub fn shared(mut self, control: Option<OwnedFd>) -> Engine {
        self.shared = true;
        let mut first: std::collections::HashMap<std::net::SocketAddr, usize> =
            std::collections::HashMap::new();
        for i in 0..self.monitors.len() {
            let addr = self.monitors[i].spec.server.addr;
            let leader = *first.entry(addr).or_insert(i);
            if leader != i {
                self.leader[i] = leader;
                self.followers[leader].push(i);
            }
        }
        self.control = control.map(|fd| Control {
            file: File::from(fd),
            buf: Vec::with_capacity(MAX_CONTROL_LINE),
        });
        self
    }

    /// Runs until a signal or a state transition ends nanny; returns the
    /// exit status.
    pub fn run(&mut self) -> i32 {
        let code = self.run_inner();
        for i in 0..self.monitors.len() {
            self.cancel(i);
        }
        if let Output::Report(w) = &mut self.output {
            let exit = Line::Exit { status: code };
            let _ = if self.shared {
                w.queue_indexed(None, exit)
            } else {
                w.queue(exit)
            };
            let _ = w.flush();
        }
        // What the rate limit held back is said before nanny goes.
        self.log.flush();
        code
    }

    fn run_inner(&mut self) -> i32 {
        if let Err(code) = self.start() {
            return code;
        }
        loop {
            let now = Instant::now();
            while let Some(&Reverse((due, i))) = self.due.peek() {
                if due > now {
                    break;
                }
                self.due.pop();
                let wanted = self.checks_wanted(i);
                let m = &mut self.monitors[i];
                if m.job != Job::Idle || !wanted || m.next_due != due {
                    continue; // stale: rescheduled, running, or forced
                }
                m.job = Job::Check;
                m.slot = due;
                m.started = now;
                let step = m.check.start(now);
                if let Err(code) = self.after_step(i, step, now) {
                    return code;
                }
            }

            // Everything this round reported goes out before nanny sleeps.
            if let Output::Report(w) = &mut self.output
                && let Err(e) = w.flush()
            {
                return self.report_failed(&e);
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
            if self.pollfds[1].revents != 0
                && let Err(code) = self.read_control(now)
            {
                return code;
            }

            for k in 0..self.owners.len() {
                let i = self.owners[k];
                let revents = self.pollfds[k + FIXED_FDS].revents;
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
                version: if self.shared {
                    report::SHARED_VERSION
                } else {
                    report::VERSION
                },
            });
            if let Err(e) = header {
                self.log
                    .info(format_args!("cannot write to lvsd report pipe: {e}"));
                return Err(1);
            }
        }
        let pid = std::process::id();
        let n = self.monitors.len();
        let start = Instant::now();
        for i in 0..n {
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
            self.report(
                i,
                Line::Monitor {
                    real: &real,
                    virt: &virt,
                    pid,
                },
            )?;
            // Server i of n starts i/n of an interval late: many servers'
            // checks are spread evenly instead of all at once.
            let interval = self.monitors[i].spec.interval.as_nanos();
            let offset = interval * i as u128 / n as u128;
            let offset = Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX));
            if self.leader[i] == i {
                self.schedule(i, start + offset);
            }
        }
        Ok(())
    }

    /// Whether leader `i`'s checks are wanted: it or one of its followers
    /// is checking normally (not forced up or down).
    fn checks_wanted(&self, i: usize) -> bool {
        std::iter::once(i)
            .chain(self.followers[i].iter().copied())
            .any(|m| self.monitors[m].state.mode == Mode::Normal)
    }

    /// Sets monitor `i`'s next check.
    fn schedule(&mut self, i: usize, at: Instant) {
        self.monitors[i].next_due = at;
        self.due.push(Reverse((at, i)));
    }

    /// Stops whatever monitor `i` is running.
    fn cancel(&mut self, i: usize) {
        self.monitors[i].cancel();
        self.set_waiting(i, false);
    }

    /// Keeps [`Engine::waiting`] in step with the monitors' `wait`.
    fn set_waiting(&mut self, i: usize, on: bool) {
        let at = self.monitors[i].waiting_at;
        if on && at == NOT_WAITING {
            self.monitors[i].waiting_at = self.waiting.len();
            self.waiting.push(i);
        } else if !on && at != NOT_WAITING {
            self.waiting.swap_remove(at);
            if let Some(&moved) = self.waiting.get(at) {
                self.monitors[moved].waiting_at = at;
            }
            self.monitors[i].waiting_at = NOT_WAITING;
        }
    }

    fn build_pollfds(&mut self, now: Instant) -> libc::c_int {
        self.pollfds.clear();
        self.owners.clear();
        self.pollfds.push(libc::pollfd {
            fd: self.signals.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        self.pollfds.push(libc::pollfd {
            // poll skips a negative descriptor.
            fd: self.control.as_ref().map_or(-1, |c| c.file.as_raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        });
        let mut wake = now + MAX_SLEEP;
        // A stale entry only makes the loop wake early, once. Checks start
        // up to SLACK late, so that one wake-up starts all due by then.
        if let Some(&Reverse((due, _))) = self.due.peek() {
            wake = wake.min(due + SLACK);
        }
        for &i in &self.waiting {
            if let Some(w) = self.monitors[i].wait {
                self.pollfds.push(libc::pollfd {
                    fd: w.fd,
                    events: w.events,
                    revents: 0,
                });
                self.owners.push(i);
                wake = wake.min(w.wake);
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
                self.cancel(i);
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

    /// Reads lvsd's control pipe and acts on its complete lines.
    fn read_control(&mut self, now: Instant) -> Result<(), i32> {
        let Some(control) = &mut self.control else {
            return Ok(());
        };
        let mut chunk = [0u8; 1024];
        // poll said readable (or hung up): one read does not block.
        let n = match control.file.read(&mut chunk) {
            Ok(0) => {
                // lvsd closed it: not an error, signals still work.
                self.control = None;
                return Ok(());
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => {
                self.log
                    .info(format_args!("cannot read control lines from lvsd: {e}"));
                self.control = None;
                return Ok(());
            }
        };
        control.buf.extend_from_slice(&chunk[..n]);
        let mut buf = std::mem::take(&mut control.buf);
        let mut start = 0;
        while let Some(len) = buf[start..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&buf[start..start + len]).into_owned();
            start += len + 1;
            self.on_control(line.trim_end_matches('\r'), now)?;
        }
        buf.drain(..start);
        if buf.len() > MAX_CONTROL_LINE {
            let text = String::from_utf8_lossy(&buf[..MAX_CONTROL_LINE]).into_owned();
            self.log.info(format_args!(
                "ignoring overlong control line from lvsd: {text:?}"
            ));
            buf.clear();
        }
        if let Some(control) = &mut self.control {
            control.buf = buf;
        }
        Ok(())
    }

    /// One control line: `down N`, `up N` or `normal N`, as SIGUSR1, SIGUSR2
    /// or SIGHUP for server N alone.
    fn on_control(&mut self, line: &str, now: Instant) -> Result<(), i32> {
        match ControlLine::parse(line, self.monitors.len()) {
            Some(c) => {
                let event = match c.command {
                    Command::Down => Event::ForceDown,
                    Command::Up => Event::ForceUp,
                    Command::Normal => Event::Resume,
                };
                self.apply(c.index, event, now)
            }
            None => {
                self.log
                    .info(format_args!("ignoring control line from lvsd: {line:?}"));
                Ok(())
            }
        }
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
                Action::ReportActive(active) => self.report(i, Line::State { active })?,
                Action::ReportMode(mode) => {
                    if mode != Mode::Normal {
                        // Checking is suspended while forced, unless a
                        // follower still takes this monitor's checks.
                        if self.leader[i] == i && self.checks_wanted(i) {
                            if self.monitors[i].job == Job::Load {
                                self.cancel(i);
                                self.schedule(i, now);
                            }
                        } else {
                            self.cancel(i);
                        }
                    }
                    self.report(i, Line::Mode(mode))?;
                }
                Action::QueryLoad => query_load = true,
                Action::CheckNow => {
                    // A follower's checks are its leader's.
                    let l = self.leader[i];
                    if self.monitors[l].job == Job::Idle {
                        self.schedule(l, now);
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
        let outcome = match step {
            Step::Wait(w) => {
                self.monitors[i].wait = Some(w);
                self.set_waiting(i, true);
                return Ok(());
            }
            Step::Done(o) => o,
        };
        self.set_waiting(i, false);
        let m = &mut self.monitors[i];
        m.wait = None;
        let job = std::mem::replace(&mut m.job, Job::Idle);
        let next = next_slot(m.slot, now - m.started, m.spec.interval, now);
        if self.leader[i] == i {
            self.schedule(i, next);
        }
        match job {
            Job::Idle => Ok(()),
            Job::Check => {
                // The reason text goes into a buffer kept across checks.
                let mut text = std::mem::take(&mut self.text);
                text.clear();
                let _ = write!(text, "{}", self.monitors[i].check.describe(outcome.reason));
                // This monitor and those taking its checks, unless forced.
                let members: Vec<usize> = std::iter::once(i)
                    .chain(self.followers[i].iter().copied())
                    .filter(|&m| self.monitors[m].state.mode == Mode::Normal)
                    .collect();
                let mut reported = Ok(());
                for &m in &members {
                    reported = reported.and(self.report(
                        m,
                        Line::Check {
                            ok: outcome.ok,
                            reason: &text,
                        },
                    ));
                }
                if !outcome.ok && outcome.reason.logged_by_default() {
                    self.log.repeating(format_args!("{text}"));
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
                for m in members {
                    let mon = &self.monitors[m];
                    let (params, state) = (&mon.spec.params, &mon.state);
                    self.log.debug(format_args!(
                        "avail: {} active: {}: count: {}",
                        u8::from(outcome.ok),
                        u8::from(state.active),
                        state.count + u32::from(outcome.ok && params.kind == Kind::Lvs)
                    ));
                    self.apply(m, event, now)?;
                }
                Ok(())
            }
            Job::Load => {
                let m = &self.monitors[i];
                let output = m.load.as_ref().map(Checker::output).unwrap_or_default();
                let load = if !outcome.ok {
                    self.log
                        .repeating(format_args!("failed to read remote load"));
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
                            self.log.repeating(format_args!(
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
            Output::Report(_) => self.report(i, Line::Want(op.wanted_weight()))?,
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

    /// Reports a line about monitor `i` (with its index in shared mode).
    fn report(&mut self, i: usize, line: Line<'_>) -> Result<(), i32> {
        let Output::Report(w) = &mut self.output else {
            return Ok(());
        };
        let written = if self.shared {
            w.queue_indexed(Some(u32::try_from(i).unwrap_or(u32::MAX)), line)
        } else {
            w.queue(line)
        };
        written.map_err(|e| self.report_failed(&e))
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

/// When the check after one due at `slot` that took `took` is due: an
/// interval after it would have ended had it started on time (the
/// original's "check, then sleep the interval"); if that has passed (a stall
/// longer than an interval), the first time after `now` in the same phase.
fn next_slot(slot: Instant, took: Duration, interval: Duration, now: Instant) -> Instant {
    let next = slot + took + interval;
    if next > now {
        return next;
    }
    let behind = (now - next).as_nanos();
    let periods = behind / interval.as_nanos().max(1) + 1;
    u32::try_from(periods)
        .ok()
        .and_then(|k| interval.checked_mul(k))
        .and_then(|d| next.checked_add(d))
        .unwrap_or(now + interval)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_slot_keeps_the_phase() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let ms = Duration::from_millis;
        // On time: interval after the end.
        assert_eq!(next_slot(t0, ms(20), s, t0 + ms(20)), t0 + ms(1020));
        // Started 5 ms late: the lateness is not carried over.
        assert_eq!(next_slot(t0, ms(20), s, t0 + ms(25)), t0 + ms(1020));
        // A 2.5 s stall: same phase, next period after now.
        assert_eq!(next_slot(t0, ms(20), s, t0 + ms(2500)), t0 + ms(3020));
        assert_eq!(next_slot(t0, ms(20), s, t0 + ms(1020)), t0 + ms(2020));
    }
}
