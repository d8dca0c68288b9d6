//! The children pulse runs: lvsd (started with the readiness pipe, watched,
//! stopped with a bounded wait) and `active_cmd`/`inactive_cmd` (started
//! and left to run; tokio reaps them).

use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use daemon::child::{ChildSetup, CommandExt as _};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::time::Instant;
use tracing::{debug, warn};

/// How long lvsd gets to say it is ready (the RHEL semaphore's 10 s).
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long lvsd gets to exit after SIGTERM before SIGKILL (it removes its
/// services and stops its nannies, which get 5 s themselves).
pub const STOP_GRACE: Duration = Duration::from_secs(8);
/// The descriptor number lvsd finds the readiness pipe at.
const READY_FD_AT: i32 = 3;

/// How lvsd is started.
#[derive(Debug, Clone)]
pub struct LvsdCommand {
    /// The executable.
    pub path: PathBuf,
    /// `-c`.
    pub configfile: PathBuf,
    /// `-v`.
    pub verbose: bool,
    /// pulse runs with `-n`: lvsd gets `--nodaemon` instead of `--nofork`.
    pub nodaemon: bool,
    /// `--pidfile PATH` for lvsd (only when pulse was given one).
    pub pidfile: Option<PathBuf>,
}

/// What a running lvsd did.
#[derive(Debug)]
pub enum LvsdEvent {
    /// It wrote its `ready PID` line.
    Ready,
    /// It did not within [`READY_TIMEOUT`] (it has been SIGKILLed).
    ReadyTimeout,
    /// It exited.
    Exited(ExitStatus),
}

/// A running lvsd.
pub struct Lvsd {
    child: tokio::process::Child,
    pid: u32,
    /// Until lvsd is ready: the pipe (`None` after EOF), the line so far,
    /// the deadline.
    ready: Option<(Option<pipe::Receiver>, Vec<u8>, Instant)>,
    exited: bool,
}

impl Lvsd {
    /// `LVSD --nofork -c CFG [-v]` (`--nodaemon` under `-n`), with the
    /// readiness pipe as `PULSE_READY_FD`.
    pub fn start(cmd: &LvsdCommand) -> std::io::Result<Lvsd> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let mut c = tokio::process::Command::new(&cmd.path);
        // systemd's notification socket is pulse's, not its children's.
        for var in daemon::notify::ENV_VARS {
            c.env_remove(var);
        }
        c.arg(if cmd.nodaemon {
            "--nodaemon"
        } else {
            "--nofork"
        })
        .arg("-c")
        .arg(&cmd.configfile);
        if cmd.verbose {
            c.arg("-v");
        }
        if let Some(p) = &cmd.pidfile {
            c.arg("--pidfile").arg(p);
        }
        c.env(
            daemon::inherited_fd::PULSE_READY_FD,
            READY_FD_AT.to_string(),
        )
        .stdin(Stdio::null())
        .kill_on_drop(false);
        c.as_std_mut()
            .daemon_child(ChildSetup::new().pass_fd(write.as_raw_fd(), READY_FD_AT));
        let child = c.spawn()?;
        drop(write);
        let pid = child.id().unwrap_or_default();
        let receiver = pipe::Receiver::from_owned_fd(read)?;
        Ok(Lvsd {
            child,
            pid,
            ready: Some((Some(receiver), Vec::new(), Instant::now() + READY_TIMEOUT)),
            exited: false,
        })
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The next thing lvsd does. Cancel-safe (the loop's `select!` drops it
    /// whenever another event comes first).
    pub async fn event(&mut self) -> LvsdEvent {
        if self.exited {
            return std::future::pending().await;
        }
        loop {
            let Some((rx, line, deadline)) = self.ready.as_mut() else {
                return self.wait().await;
            };
            let deadline = *deadline;
            let mut buf = [0u8; 64];
            tokio::select! {
                status = self.child.wait() => {
                    self.exited = true;
                    self.ready = None;
                    return LvsdEvent::Exited(status.unwrap_or_else(|_| exit_status(1)));
                }
                n = async { rx.as_mut().expect("guarded").read(&mut buf).await }, if rx.is_some() => match n {
                    Ok(n) if n > 0 => {
                        line.extend_from_slice(&buf[..n]);
                        if line.contains(&b'\n') {
                            let text = String::from_utf8_lossy(line).into_owned();
                            self.ready = None;
                            match daemon::inherited_fd::parse_ready_line(text.trim_end()) {
                                Ok(pid) => debug!("lvsd ready (pid {pid})"),
                                Err(e) => warn!("lvsd: {e}"),
                            }
                            return LvsdEvent::Ready;
                        }
                    }
                    // EOF without a line: lvsd closed the pipe without
                    // saying it is ready. If it exits, that comes through
                    // wait; if it runs on, the deadline still applies.
                    _ => *rx = None,
                },
                _ = tokio::time::sleep_until(deadline) => {
                    self.ready = None;
                    self.signal(Signal::SIGKILL);
                    return LvsdEvent::ReadyTimeout;
                }
            }
        }
    }

    async fn wait(&mut self) -> LvsdEvent {
        let status = self.child.wait().await;
        self.exited = true;
        LvsdEvent::Exited(status.unwrap_or_else(|_| exit_status(1)))
    }

    /// Send `sig` (only while it has not been reaped, so the pid is ours).
    pub fn signal(&self, sig: Signal) {
        if !self.exited
            && let Ok(pid) = i32::try_from(self.pid)
        {
            let _ = kill(Pid::from_raw(pid), sig);
        }
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL and wait (bounded too).
    /// Returns how it ended, `None` if it could not be reaped at all.
    pub async fn stop(mut self, grace: Duration) -> Option<ExitStatus> {
        if self.exited {
            return None;
        }
        self.signal(Signal::SIGTERM);
        if let Ok(Ok(st)) = tokio::time::timeout(grace, self.child.wait()).await {
            return Some(st);
        }
        warn!(
            "lvsd (pid {}) did not stop in {grace:?}: killing it",
            self.pid
        );
        self.signal(Signal::SIGKILL);
        match tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await {
            Ok(Ok(st)) => Some(st),
            _ => None,
        }
    }
}

fn exit_status(code: i32) -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    ExitStatus::from_raw(code << 8)
}

/// Run `active_cmd`/`inactive_cmd`: split on spaces as the original, no
/// shell; not waited for (tokio reaps it). A command that cannot start is
/// logged.
pub fn run_command(line: &str) {
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let Some(program) = words.next() else {
        return;
    };
    let mut c = tokio::process::Command::new(program);
    c.args(words).stdin(Stdio::null());
    for var in daemon::notify::ENV_VARS {
        c.env_remove(var);
    }
    // It may outlive pulse (an inactive_cmd run at shutdown must finish).
    c.as_std_mut()
        .daemon_child(ChildSetup::new().without_death_signal());
    match c.spawn() {
        Ok(child) => debug!("running {line:?} (pid {})", child.id().unwrap_or_default()),
        Err(e) => warn!("cannot run {line:?}: {e}"),
    }
}

/// Whether `pid` runs lvsd (a pid from lvsd's pid file may be reused).
pub fn is_lvsd(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "lvsd")
}

/// End a stale lvsd: SIGTERM, up to `grace` for it to go, then SIGKILL.
/// Not our child, so it is polled rather than waited for.
pub fn end_stale(pid: i32, grace: Duration) {
    let pid = Pid::from_raw(pid);
    let _ = kill(pid, Signal::SIGTERM);
    let start = std::time::Instant::now();
    while start.elapsed() < grace {
        if kill(pid, None).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    warn!("stale lvsd (pid {pid}) ignored SIGTERM: killing it");
    let _ = kill(pid, Signal::SIGKILL);
}
