//! One monitor process (`nanny`, or a site's `client_monitor`) per active
//! real server: started with the original's argv, watched through pipes,
//! stopped by signal.
//!
//! Each monitor gets a report pipe as file descriptor 3, named by
//! `LVSD_REPORT_FD`; our nanny writes its reports there (docs/protocol.md),
//! anything else simply never writes to it. For a virtual with a sorry
//! server, the monitor's stdout and stderr go to a second pipe too, because
//! a non-reporting monitor's `[ active ]`/`[inactive]` log lines are the only
//! way to know its state (as piranha's lvsd read them).
//!
//! With `nanny_mode = shared` one monitor watches every server of a virtual
//! (`nanny --shared`, report protocol version 2, each line tagged with the
//! server's index); lvsd then passes per-server commands (`down N`, `up N`,
//! `normal N`: what SIGUSR1, SIGUSR2 and SIGHUP do to a per-server nanny) on
//! the monitor's stdin.
//!
//! Children are forked from the runtime's only thread (the death signal set
//! with `PR_SET_PDEATHSIG` follows the forking *thread*), get SIGTERM when
//! lvsd dies, and start with an empty signal mask.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::process::{ExitStatus, Stdio};

use ::daemon::child::{ChildSetup, CommandExt as _};
use director::lvsd::{Command, MonitorId, MonitorSpec};
use health::control::ControlLine;
use health::report::{Decoder, OwnedReport, ParseError};
use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, pipe2};
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::process::Child;
use tokio::sync::mpsc::UnboundedSender;

/// The descriptor number the report pipe has in every monitor.
pub const REPORT_FD: RawFd = 3;

/// Longest stdout line kept from a monitor; the rest of it is dropped.
const MAX_OUTPUT_LINE: usize = 1024;

fn shared(spec: &MonitorSpec) -> bool {
    matches!(spec.id, MonitorId::Shared(_))
}

/// What a monitor's watcher task tells the daemon.
#[derive(Debug)]
pub enum MonitorEvent {
    /// A line on the report pipe (parsed, or why not).
    Report {
        /// Which monitor.
        id: MonitorId,
        /// Which start of it.
        generation: u64,
        /// The line, with its server index in a shared monitor's stream.
        report: Result<OwnedReport, ParseError>,
    },
    /// A line the monitor printed on stdout/stderr.
    Output {
        /// Which monitor.
        id: MonitorId,
        /// Which start of its monitor.
        generation: u64,
        /// The text, without the newline.
        line: String,
    },
    /// The monitor exited.
    Exited {
        /// Which monitor.
        id: MonitorId,
        /// Which start of its monitor.
        generation: u64,
        /// How.
        status: io::Result<ExitStatus>,
    },
}

struct Running {
    pid: Pid,
    generation: u64,
    /// Write end of a shared monitor's stdin (non-blocking).
    control: Option<std::fs::File>,
}

/// Every monitor process lvsd runs. Which monitor should run, and what an
/// exit means, is the decision step's (`director::lvsd`); this only keeps
/// the processes: pids, control pipes, and the stopped ones not yet reaped.
pub struct Monitors {
    running: HashMap<MonitorId, Running>,
    /// Stopped but not yet reaped: generation → pid.
    retiring: HashMap<u64, Pid>,
    events: UnboundedSender<MonitorEvent>,
}

impl Monitors {
    /// No monitors yet; watchers report on `events`.
    pub fn new(events: UnboundedSender<MonitorEvent>) -> Self {
        Monitors {
            running: HashMap::new(),
            retiring: HashMap::new(),
            events,
        }
    }

    /// The pid of the running monitor `id`.
    pub fn pid(&self, id: &MonitorId) -> Option<i32> {
        self.running.get(id).map(|r| r.pid.as_raw())
    }

    /// Pass `command` for server `index` to monitor `id`: a signal to a
    /// per-server monitor (SIGUSR1, SIGUSR2, SIGHUP), the line
    /// `COMMAND INDEX` on a shared one's stdin.
    pub fn control(
        &mut self,
        id: &MonitorId,
        generation: u64,
        index: usize,
        command: Command,
    ) -> Result<(), String> {
        use std::io::Write as _;
        let r = self
            .running
            .get_mut(id)
            .filter(|r| r.generation == generation)
            .ok_or_else(|| format!("no running monitor for {id}"))?;
        let pid = r.pid;
        match (&mut r.control, id) {
            (Some(pipe), MonitorId::Shared(_)) => {
                // The line nanny's engine parses (health::control).
                let line = ControlLine { command, index };
                pipe.write_all(format!("{line}\n").as_bytes())
                    .map_err(|e| format!("shared monitor pid {pid}: {e}"))
            }
            _ => kill(pid, command.signal()).map_err(|e| format!("signal to pid {pid}: {e}")),
        }
    }

    /// Start generation `generation` of a monitor (the server must not have
    /// one running). Returns its pid.
    pub fn start(&mut self, spec: &MonitorSpec, generation: u64) -> io::Result<i32> {
        let (pid, control) = spawn(spec, generation, self.events.clone())?;
        self.running.insert(
            spec.id.clone(),
            Running {
                pid,
                generation,
                control,
            },
        );
        Ok(pid.as_raw())
    }

    /// Send SIGTERM to generation `generation` of monitor `id`.
    pub fn stop(&mut self, id: &MonitorId, generation: u64) {
        if self
            .running
            .get(id)
            .is_some_and(|r| r.generation == generation)
            && let Some(r) = self.running.remove(id)
        {
            // ESRCH: it exited already; its exit event is still on the way.
            let _ = kill(r.pid, Signal::SIGTERM);
            self.retiring.insert(r.generation, r.pid);
        }
    }

    /// Kill whatever has not exited after SIGTERM.
    pub fn kill_remaining(&mut self) {
        for pid in self.retiring.values() {
            let _ = kill(*pid, Signal::SIGKILL);
        }
    }

    /// Whether every stopped monitor has been reaped.
    pub fn all_reaped(&self) -> bool {
        self.running.is_empty() && self.retiring.is_empty()
    }

    /// Book an exit reported by a watcher.
    pub fn exited(&mut self, id: &MonitorId, generation: u64) {
        if self.retiring.remove(&generation).is_some() {
            return;
        }
        if self
            .running
            .get(id)
            .is_some_and(|r| r.generation == generation)
        {
            self.running.remove(id);
        }
    }
}

/// Fork and exec one monitor; a watcher task reads its pipes and waits for
/// it.
fn spawn(
    spec: &MonitorSpec,
    generation: u64,
    events: UnboundedSender<MonitorEvent>,
) -> io::Result<(Pid, Option<std::fs::File>)> {
    let (program, args) = spec
        .argv
        .split_first()
        .ok_or_else(|| io::Error::other("empty monitor command"))?;
    let (report_r, report_w) = pipe2(OFlag::O_CLOEXEC)?;
    let output = if spec.read_output {
        Some(pipe2(OFlag::O_CLOEXEC)?)
    } else {
        None
    };

    // A shared monitor takes per-server commands on stdin.
    let control = if shared(spec) {
        Some(pipe2(OFlag::O_CLOEXEC)?)
    } else {
        None
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env(health::report::FD_ENV, REPORT_FD.to_string())
        .kill_on_drop(false);
    match &control {
        Some((r, _)) => cmd.stdin(Stdio::from(r.try_clone()?)),
        None => cmd.stdin(Stdio::null()),
    };
    if let Some((_, w)) = &output {
        cmd.stdout(Stdio::from(w.try_clone()?));
        cmd.stderr(Stdio::from(w.try_clone()?));
    }
    // The report pipe at REPORT_FD, SIGTERM when lvsd dies, and a clean
    // signal state (lvsd blocks its signals from the start).
    cmd.as_std_mut()
        .daemon_child(ChildSetup::new().pass_fd(report_w.as_raw_fd(), REPORT_FD));
    let child = cmd.spawn()?;
    drop(cmd);
    drop(report_w);
    let output_r = output.map(|(r, _w)| r);
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .map(Pid::from_raw)
        .ok_or_else(|| io::Error::other("monitor exited before it could be watched"))?;
    let control = match control {
        Some((_r, w)) => {
            // Never block the event loop on a monitor that stopped reading.
            nix::fcntl::fcntl(&w, nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
            Some(std::fs::File::from(w))
        }
        None => None,
    };
    let id = spec.id.clone();
    tokio::spawn(watch(child, report_r, output_r, id, generation, events));
    Ok((pid, control))
}

async fn read_some(pipe: &mut Option<pipe::Receiver>, buf: &mut [u8]) -> io::Result<usize> {
    match pipe {
        Some(p) => p.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Splits stdout text into lines, keeping at most `MAX_OUTPUT_LINE` bytes of
/// each.
#[derive(Default)]
struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    fn push(&mut self, bytes: &[u8], mut emit: impl FnMut(String)) {
        for &b in bytes {
            if b == b'\n' {
                emit(String::from_utf8_lossy(&self.buf).into_owned());
                self.buf.clear();
            } else if self.buf.len() < MAX_OUTPUT_LINE {
                self.buf.push(b);
            }
        }
    }
}

async fn watch(
    mut child: Child,
    report: OwnedFd,
    output: Option<OwnedFd>,
    id: MonitorId,
    generation: u64,
    events: UnboundedSender<MonitorEvent>,
) {
    let mut report = pipe::Receiver::from_owned_fd(report).ok();
    let mut output = output.and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok());
    let mut decoder = Decoder::new();
    let mut splitter = LineSplitter::default();
    let mut rbuf = [0u8; 2048];
    let mut obuf = [0u8; 1024];

    let send_reports = |decoder: &mut Decoder| {
        while let Some(report) = decoder.next_report() {
            let _ = events.send(MonitorEvent::Report {
                id: id.clone(),
                generation,
                report,
            });
        }
    };
    let send_output = |line: String| {
        let _ = events.send(MonitorEvent::Output {
            id: id.clone(),
            generation,
            line,
        });
    };

    let status = loop {
        tokio::select! {
            n = read_some(&mut report, &mut rbuf) => match n {
                Ok(0) | Err(_) => report = None,
                Ok(n) => {
                    decoder.push(&rbuf[..n]);
                    send_reports(&mut decoder);
                }
            },
            n = read_some(&mut output, &mut obuf) => match n {
                Ok(0) | Err(_) => output = None,
                Ok(n) => splitter.push(&obuf[..n], send_output),
            },
            status = child.wait() => break status,
        }
    };
    // What the monitor wrote just before it exited is still in the pipes.
    if let Some(p) = &report {
        while let Ok(n) = p.try_read(&mut rbuf) {
            if n == 0 {
                break;
            }
            decoder.push(&rbuf[..n]);
        }
        send_reports(&mut decoder);
    }
    if let Some(p) = &output {
        while let Ok(n) = p.try_read(&mut obuf) {
            if n == 0 {
                break;
            }
            splitter.push(&obuf[..n], send_output);
        }
    }
    let _ = events.send(MonitorEvent::Exited {
        id,
        generation,
        status,
    });
}
