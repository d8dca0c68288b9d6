//! Runs one [`Probe`] against one real server without blocking, so one
//! thread can drive one check (a `nanny` per real server) or many (shared
//! mode) from a single `poll`.
//!
//! A check is bounded by its timeout as a whole (connect + send + read, or
//! the program's whole run). The caller polls [`Wait::fd`] for
//! [`Wait::events`] until [`Wait::wake`] and then calls [`Checker::resume`];
//! nothing here sleeps or blocks. In the steady state a check allocates
//! nothing: the socket address, the reply buffer and the probe are reused.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::libc;
use socket2::{Domain, SockAddr, Socket, Type};

use crate::ipvs::Protocol;
use crate::probe::{Expect, Probe, REPLY_LIMIT};
use crate::program::{EXIT_TICK, Exit, ProgramRun};

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub reason: Reason,
}

/// Why a check passed or failed; shown by [`Checker::describe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Connected,
    Sent,
    Replied,
    ProgramPassed,
    Socket(Errno),
    ConnectTimeout,
    ConnectFailed(Errno),
    WriteTimeout,
    WriteError(Errno),
    ReadTimeout,
    ReadError(Errno),
    TooShort { got: usize, want: usize },
    Mismatch,
    NoMatch,
    ProgramSpawn(Errno),
    ProgramTimeout,
    ProgramExit(Exit),
    ProgramMismatch,
}

impl Reason {
    /// Failures the original logged at every check (the others it logged
    /// only with `-v`, or never).
    pub fn logged_by_default(self) -> bool {
        !matches!(
            self,
            Reason::Connected
                | Reason::Sent
                | Reason::Replied
                | Reason::ProgramPassed
                | Reason::ConnectFailed(_)
                | Reason::Mismatch
                | Reason::NoMatch
        )
    }
}

/// What the caller waits for before calling [`Checker::resume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Descriptor to poll; -1 = none (poll ignores negative descriptors).
    pub fd: RawFd,
    /// `POLLIN` / `POLLOUT`.
    pub events: i16,
    /// Resume at the latest at this time.
    pub wake: Instant,
}

/// Where a check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Wait(Wait),
    Done(Outcome),
}

#[derive(Debug)]
enum Run {
    Idle,
    Connecting(Socket),
    Sending(Socket, usize),
    Reading(Socket),
    Program(ProgramRun),
}

/// Checks one real server with one probe, again and again.
#[derive(Debug)]
pub struct Checker {
    target: SocketAddr,
    sockaddr: SockAddr,
    probe: Probe,
    timeout: Duration,
    /// Reply or program output; capacity fixed at construction.
    buf: Vec<u8>,
    filled: usize,
    run: Run,
    deadline: Instant,
}

impl Checker {
    pub fn new(target: SocketAddr, probe: Probe, timeout: Duration) -> Checker {
        let size = match &probe {
            Probe::Socket {
                expect: Expect::Prefix(p),
                ..
            } => p.len().max(1),
            Probe::Socket {
                expect: Expect::Regex(_),
                ..
            } => REPLY_LIMIT,
            Probe::Socket { .. } => 1,
            Probe::Program { .. } => 0,
        };
        let capacity = match &probe {
            Probe::Program { .. } => REPLY_LIMIT,
            _ => 0,
        };
        Checker {
            target,
            sockaddr: SockAddr::from(target),
            probe,
            timeout,
            buf: if capacity > 0 {
                Vec::with_capacity(capacity)
            } else {
                vec![0; size]
            },
            filled: 0,
            run: Run::Idle,
            deadline: Instant::now(),
        }
    }

    pub fn target(&self) -> SocketAddr {
        self.target
    }

    pub fn probe(&self) -> &Probe {
        &self.probe
    }

    /// A program probe's output (as far as kept) after its last run.
    pub fn output(&self) -> &[u8] {
        match &self.probe {
            Probe::Program { .. } => &self.buf,
            Probe::Socket { .. } => &self.buf[..self.filled],
        }
    }

    /// Whether a check is in progress.
    pub fn busy(&self) -> bool {
        !matches!(self.run, Run::Idle)
    }

    /// Starts a check (cancelling one still running).
    pub fn start(&mut self, now: Instant) -> Step {
        self.cancel();
        self.deadline = now + self.timeout;
        self.filled = 0;
        match &self.probe {
            Probe::Program { argv, .. } => {
                self.buf.clear();
                match ProgramRun::spawn(argv) {
                    Ok(p) => {
                        self.run = Run::Program(p);
                        self.resume(0, now)
                    }
                    Err(e) => self.finish(false, Reason::ProgramSpawn(io_errno(&e))),
                }
            }
            Probe::Socket { protocol, .. } => {
                let ty = match protocol {
                    Protocol::Tcp => Type::STREAM,
                    Protocol::Udp => Type::DGRAM,
                };
                let sock = match Socket::new(
                    Domain::for_address(self.target),
                    ty.nonblocking().cloexec(),
                    None,
                ) {
                    Ok(s) => s,
                    Err(e) => return self.finish(false, Reason::Socket(io_errno(&e))),
                };
                if *protocol == Protocol::Tcp {
                    // Close with a reset: no TIME_WAIT socket per check on
                    // the director (thousands with hundreds of servers).
                    let _ = sock.set_linger(Some(Duration::ZERO));
                }
                match sock.connect(&self.sockaddr) {
                    Ok(()) => self.connected(sock, now),
                    Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                        self.run = Run::Connecting(sock);
                        self.wait_on_socket(libc::POLLOUT)
                    }
                    Err(e) => self.finish(false, Reason::ConnectFailed(io_errno(&e))),
                }
            }
        }
    }

    /// Continues after the wait: `revents` from poll (0 if woken by time).
    pub fn resume(&mut self, revents: i16, now: Instant) -> Step {
        match std::mem::replace(&mut self.run, Run::Idle) {
            Run::Idle => self.finish(false, Reason::ConnectTimeout),
            Run::Connecting(sock) => {
                if revents & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0 {
                    match sock.take_error() {
                        Ok(None) => self.connected(sock, now),
                        Ok(Some(e)) | Err(e) => {
                            self.finish(false, Reason::ConnectFailed(io_errno(&e)))
                        }
                    }
                } else if now >= self.deadline {
                    self.finish(false, Reason::ConnectTimeout)
                } else {
                    self.run = Run::Connecting(sock);
                    self.wait_on_socket(libc::POLLOUT)
                }
            }
            Run::Sending(sock, sent) => self.send(sock, sent, now),
            Run::Reading(sock) => self.read(sock, now),
            Run::Program(mut p) => match p.advance(&mut self.buf, REPLY_LIMIT) {
                Ok(Some(exit)) => {
                    drop(p);
                    self.program_done(exit)
                }
                Ok(None) if now >= self.deadline => {
                    p.kill();
                    self.finish(false, Reason::ProgramTimeout)
                }
                Ok(None) => {
                    let wake = if p.needs_tick() {
                        (now + EXIT_TICK).min(self.deadline)
                    } else {
                        self.deadline
                    };
                    let wait = match p.wait_fd() {
                        Some(fd) => Wait {
                            fd,
                            events: libc::POLLIN,
                            wake,
                        },
                        None => Wait {
                            fd: -1,
                            events: 0,
                            wake: (now + EXIT_TICK).min(self.deadline),
                        },
                    };
                    self.run = Run::Program(p);
                    Step::Wait(wait)
                }
                Err(e) => {
                    p.kill();
                    self.finish(false, Reason::ReadError(io_errno(&e)))
                }
            },
        }
    }

    /// Abandons a check in progress (closing its socket, killing its
    /// program's process group).
    pub fn cancel(&mut self) {
        self.run = Run::Idle;
    }

    /// Displays a reason with this checker's server (and program).
    pub fn describe(&self, reason: Reason) -> Describe<'_> {
        Describe {
            checker: self,
            reason,
        }
    }

    fn finish(&mut self, ok: bool, reason: Reason) -> Step {
        self.run = Run::Idle;
        Step::Done(Outcome { ok, reason })
    }

    fn wait_on_socket(&self, events: i16) -> Step {
        let fd = match &self.run {
            Run::Connecting(s) | Run::Sending(s, _) | Run::Reading(s) => s.as_raw_fd(),
            _ => -1,
        };
        Step::Wait(Wait {
            fd,
            events,
            wake: self.deadline,
        })
    }

    fn connected(&mut self, sock: Socket, now: Instant) -> Step {
        match &self.probe {
            Probe::Socket { send: Some(_), .. } => self.send(sock, 0, now),
            Probe::Socket {
                protocol: Protocol::Tcp,
                expect: Expect::Nothing,
                ..
            } => self.finish(true, Reason::Connected),
            _ => self.read(sock, now),
        }
    }

    fn send(&mut self, sock: Socket, mut sent: usize, now: Instant) -> Step {
        let Probe::Socket {
            protocol,
            send: Some(data),
            expect,
        } = &self.probe
        else {
            return self.read(sock, now);
        };
        while sent < data.len() {
            match (&sock).write(&data[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if now >= self.deadline {
                        return self.finish(false, Reason::WriteTimeout);
                    }
                    self.run = Run::Sending(sock, sent);
                    return self.wait_on_socket(libc::POLLOUT);
                }
                Err(e) => return self.finish(false, Reason::WriteError(io_errno(&e))),
            }
        }
        if *protocol == Protocol::Tcp && matches!(expect, Expect::Nothing) {
            return self.finish(true, Reason::Sent);
        }
        self.read(sock, now)
    }

    fn read(&mut self, sock: Socket, now: Instant) -> Step {
        let Probe::Socket {
            protocol, expect, ..
        } = &self.probe
        else {
            return self.finish(false, Reason::Mismatch);
        };
        let stream = *protocol == Protocol::Tcp;
        loop {
            let room = &mut self.buf[self.filled..];
            let (n, eof) = match (&sock).read(room) {
                Ok(0) if stream => (0, true),
                Ok(n) => (n, false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if now >= self.deadline {
                        return if self.filled == 0 {
                            self.finish(false, Reason::ReadTimeout)
                        } else {
                            let want = self.wanted();
                            self.finish(
                                false,
                                Reason::TooShort {
                                    got: self.filled,
                                    want,
                                },
                            )
                        };
                    }
                    self.run = Run::Reading(sock);
                    return self.wait_on_socket(libc::POLLIN);
                }
                Err(e) => return self.finish(false, Reason::ReadError(io_errno(&e))),
            };
            self.filled += n;
            let full = self.filled == self.buf.len();
            let verdict = match expect {
                Expect::Nothing => Some(true),
                Expect::AnyByte => (self.filled >= 1).then_some(true),
                Expect::Prefix(p) => (self.filled >= p.len()).then(|| self.buf[..p.len()] == p[..]),
                Expect::Regex(re) => {
                    if re.is_match(&self.buf[..self.filled]) {
                        Some(true)
                    } else if eof || full {
                        Some(false)
                    } else {
                        None
                    }
                }
            };
            match verdict {
                Some(true) => return self.finish(true, Reason::Replied),
                Some(false) if matches!(expect, Expect::Regex(_)) => {
                    return self.finish(false, Reason::NoMatch);
                }
                Some(false) => return self.finish(false, Reason::Mismatch),
                None if eof => {
                    let want = self.wanted();
                    return self.finish(
                        false,
                        Reason::TooShort {
                            got: self.filled,
                            want,
                        },
                    );
                }
                None => {}
            }
        }
    }

    fn wanted(&self) -> usize {
        match &self.probe {
            Probe::Socket {
                expect: Expect::Prefix(p),
                ..
            } => p.len(),
            _ => 1,
        }
    }

    fn program_done(&mut self, exit: Exit) -> Step {
        let Probe::Program { expect, .. } = &self.probe else {
            return self.finish(false, Reason::ProgramMismatch);
        };
        if exit != Exit::Code(0) {
            return self.finish(false, Reason::ProgramExit(exit));
        }
        let Some(expect) = expect else {
            return self.finish(true, Reason::ProgramPassed);
        };
        let out = &self.buf[..];
        let out = out.strip_suffix(b"\n").unwrap_or(out);
        if out == &expect[..] {
            self.finish(true, Reason::ProgramPassed)
        } else {
            self.finish(false, Reason::ProgramMismatch)
        }
    }
}

/// [`Reason`] with its server, printed as the original's log lines where it
/// had one.
pub struct Describe<'a> {
    checker: &'a Checker,
    reason: Reason,
}

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.checker.target;
        let (ip, port) = (t.ip(), t.port());
        let program = match &self.checker.probe {
            Probe::Program { argv, .. } => argv.first().map(String::as_str).unwrap_or(""),
            Probe::Socket { .. } => "",
        };
        match self.reason {
            Reason::Connected => write!(f, "connected to {ip}:{port}"),
            Reason::Sent => write!(f, "sent to {ip}:{port}"),
            Reason::Replied => write!(f, "expected reply from {ip}:{port}"),
            Reason::ProgramPassed => write!(f, "{program} passed for {ip}:{port}"),
            Reason::Socket(e) => write!(f, "cannot create socket: {}", e.desc()),
            Reason::ConnectTimeout => write!(f, "CONNECT to {ip}:{port} timed out"),
            Reason::ConnectFailed(e) => {
                write!(f, "CONNECT to {ip}:{port} failed: {}", e.desc())
            }
            Reason::WriteTimeout => write!(f, "WRITE to {ip}:{port} timed out"),
            Reason::WriteError(e) => write!(
                f,
                "WRITE operation for {ip}:{port} returned error: {}",
                e.desc()
            ),
            Reason::ReadTimeout => write!(f, "READ to {ip}:{port} timed out"),
            Reason::ReadError(e) => write!(f, "READ returned error {}:{}", e as i32, e.desc()),
            Reason::TooShort { got, want } => {
                write!(f, "READ from {ip}:{port} was too short[{got}>={want}]")
            }
            Reason::Mismatch | Reason::NoMatch => {
                write!(f, "reply from {ip}:{port} does not match the expect string")
            }
            Reason::ProgramSpawn(e) => write!(f, "cannot run {program}: {}", e.desc()),
            Reason::ProgramTimeout => {
                write!(f, "timeout running the following: {program}")
            }
            Reason::ProgramExit(Exit::Code(c)) => write!(
                f,
                "The following exited abnormally: {program} (exit status {c})"
            ),
            Reason::ProgramExit(Exit::Signal(s)) => {
                write!(f, "The following exited abnormally: {program} (signal {s})")
            }
            Reason::ProgramMismatch => write!(
                f,
                "Trouble. Received results are not what we expected from ({ip}:{port})"
            ),
        }
    }
}

fn io_errno(e: &io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}
