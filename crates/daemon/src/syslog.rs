//! RFC 3164 datagrams to the local syslog socket, as glibc's `syslog(3)`
//! sends them (`<PRI>Mmm dd hh:mm:ss ident[pid]: message`), but never
//! blocking the daemon.
//!
//! - The socket is non-blocking: when the syslog daemon falls behind and
//!   its queue is full, the line is dropped and counted ([`Syslog::dropped`]);
//!   the next line that gets through is preceded by one line saying how
//!   many were lost. A daemon that waits on its log stops checking servers.
//! - No syslog daemon yet (early boot) or one that restarted: every line
//!   tries to connect again, so lines flow as soon as `/dev/log` exists.
//! - Facility daemon, as the original's `openlog(ident, LOG_PID,
//!   LOG_DAEMON)`; the severity is the caller's (the original sent every
//!   line at `LOG_INFO`, and [`crate::log::Logger`] keeps that).
//!
//! The socket path is a parameter ([`Syslog::with_path`]) so that tests use
//! their own socket.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use nix::libc;

/// The local syslog socket.
pub const DEV_LOG: &str = "/dev/log";

/// syslog facility `LOG_DAEMON` (3), as the facility field of PRI.
const FACILITY_DAEMON: u8 = 3;

/// Longest message text sent; the rest is cut (at a character boundary).
/// Well under the smallest datagram limit of a Unix socket.
const MAX_TEXT: usize = 8 * 1024;

/// A syslog severity (RFC 3164 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Severity {
    /// `LOG_ERR`.
    Error = 3,
    /// `LOG_WARNING`.
    Warning = 4,
    /// `LOG_INFO`: every line of the original daemons.
    Info = 6,
    /// `LOG_DEBUG`.
    Debug = 7,
}

/// Local time of a line, as RFC 3164's `TIMESTAMP` needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// 0 = January.
    pub month: u8,
    /// 1–31.
    pub day: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–60.
    pub second: u8,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Stamp {
    /// Now, in local time (as syslog(3) stamps).
    pub fn now() -> Stamp {
        // SAFETY: time(NULL) only returns; localtime_r writes only into
        // `tm`, a local zeroed struct, and reads `t`.
        let tm = unsafe {
            let t = libc::time(std::ptr::null_mut());
            let mut tm: libc::tm = std::mem::zeroed();
            libc::localtime_r(&t, &mut tm);
            tm
        };
        let field = |v: libc::c_int| u8::try_from(v).unwrap_or(0);
        Stamp {
            month: field(tm.tm_mon),
            day: field(tm.tm_mday),
            hour: field(tm.tm_hour),
            minute: field(tm.tm_min),
            second: field(tm.tm_sec),
        }
    }
}

/// One datagram: `<PRI>Mmm dd hh:mm:ss ident[pid]: text` into `out`
/// (cleared first). The day is space-padded to two columns (`Dec  1`).
pub fn format_datagram(
    out: &mut Vec<u8>,
    severity: Severity,
    stamp: Stamp,
    ident: &str,
    pid: u32,
    text: &str,
) {
    use std::io::Write as _;
    out.clear();
    let pri = FACILITY_DAEMON * 8 + severity as u8;
    let month = MONTHS.get(usize::from(stamp.month)).unwrap_or(&"Jan");
    let text = cut(text, MAX_TEXT);
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "<{pri}>{month} {:>2} {:02}:{:02}:{:02} {ident}[{pid}]: {text}",
        stamp.day, stamp.hour, stamp.minute, stamp.second
    );
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A daemon's connection to the syslog socket.
#[derive(Debug)]
pub struct Syslog {
    path: PathBuf,
    ident: String,
    pid: u32,
    socket: Option<UnixDatagram>,
    dropped: u64,
    /// Dropped since the last line that got through.
    unreported: u64,
    buf: Vec<u8>,
}

impl Syslog {
    /// `ident` on [`DEV_LOG`].
    pub fn new(ident: &str) -> Syslog {
        Syslog::with_path(ident, Path::new(DEV_LOG))
    }

    /// `ident` on the socket at `path`. Connects now if it can, else at
    /// the next line.
    pub fn with_path(ident: &str, path: &Path) -> Syslog {
        let mut s = Syslog {
            path: path.to_owned(),
            ident: ident.to_owned(),
            pid: std::process::id(),
            socket: None,
            dropped: 0,
            unreported: 0,
            buf: Vec::with_capacity(256),
        };
        s.connect();
        s
    }

    /// The pid in every line is taken at creation; a process that forked
    /// since (detach) sets its own.
    pub fn set_pid(&mut self, pid: u32) {
        self.pid = pid;
    }

    /// Lines dropped since start (syslog absent or not keeping up).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether a socket is connected now.
    pub fn connected(&self) -> bool {
        self.socket.is_some()
    }

    fn connect(&mut self) -> bool {
        let socket = UnixDatagram::unbound().and_then(|s| {
            s.set_nonblocking(true)?;
            s.connect(&self.path)?;
            Ok(s)
        });
        self.socket = socket.ok();
        self.socket.is_some()
    }

    /// Send one line. Never blocks; a line that cannot be sent now is
    /// dropped and counted.
    pub fn send(&mut self, severity: Severity, text: &str) {
        if self.socket.is_none() && !self.connect() {
            self.drop_line();
            return;
        }
        if self.unreported > 0 {
            let n = self.unreported;
            let note = format!(
                "{n} log line{} dropped: syslog was not accepting them",
                if n == 1 { "" } else { "s" }
            );
            self.unreported = 0;
            if !self.try_send(Severity::Info, &note) {
                // Still not accepting: keep the count for the next line.
                self.unreported = n;
                self.drop_line();
                return;
            }
        }
        if !self.try_send(severity, text) {
            self.drop_line();
        }
    }

    fn drop_line(&mut self) {
        self.dropped += 1;
        self.unreported += 1;
    }

    /// One attempt, and one reconnect when the socket went away (the
    /// syslog daemon restarted and bound a new one).
    fn try_send(&mut self, severity: Severity, text: &str) -> bool {
        format_datagram(
            &mut self.buf,
            severity,
            Stamp::now(),
            &self.ident,
            self.pid,
            text,
        );
        for attempt in 0..2 {
            let Some(socket) = &self.socket else {
                return false;
            };
            match socket.send(&self.buf) {
                Ok(_) => return true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if attempt == 0 => {
                    // ECONNREFUSED, ENOTCONN, ENOENT...: a stale socket.
                    if !self.connect() {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    use crate::testutil::TempDir;

    fn receiver(path: &Path) -> UnixDatagram {
        let r = UnixDatagram::bind(path).expect("bind");
        r.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        r
    }

    fn recv(r: &UnixDatagram) -> String {
        let mut buf = vec![0u8; 65536];
        let n = r.recv(&mut buf).expect("a datagram");
        String::from_utf8(buf[..n].to_vec()).expect("utf-8")
    }

    /// The part after the timestamp: `ident[pid]: text`.
    fn body(line: &str) -> &str {
        // "<30>Dec  1 08:40:06 " is 4 + 16 characters.
        let pri_end = line.find('>').expect("pri") + 1;
        &line[pri_end + 16..]
    }

    #[test]
    fn datagram_is_rfc3164_as_glibc_writes_it() {
        let mut out = Vec::new();
        let stamp = Stamp {
            month: 11,
            day: 1,
            hour: 8,
            minute: 5,
            second: 9,
        };
        format_datagram(&mut out, Severity::Info, stamp, "lvsd", 123, "hello");
        assert_eq!(
            String::from_utf8(out.clone()).expect("utf-8"),
            "<30>Dec  1 08:05:09 lvsd[123]: hello"
        );
        let stamp = Stamp { day: 24, ..stamp };
        format_datagram(&mut out, Severity::Error, stamp, "nanny", 9, "x");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "<27>Dec 24 08:05:09 nanny[9]: x"
        );
    }

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        let text = "é".repeat(MAX_TEXT);
        let mut out = Vec::new();
        let stamp = Stamp::now();
        format_datagram(&mut out, Severity::Info, stamp, "x", 1, &text);
        let s = String::from_utf8(out).expect("still utf-8");
        assert!(s.len() < MAX_TEXT + 64);
    }

    #[test]
    fn sends_to_the_socket_with_ident_and_pid() {
        let dir = TempDir::new("syslog", "send");
        let path = dir.0.join("log");
        let r = receiver(&path);
        let mut s = Syslog::with_path("lvsd", &path);
        assert!(s.connected());
        s.send(Severity::Info, "starting virtual service web active: 80");
        let line = recv(&r);
        assert!(line.starts_with("<30>"), "{line}");
        assert_eq!(
            body(&line),
            format!(
                "lvsd[{}]: starting virtual service web active: 80",
                std::process::id()
            )
        );
        assert_eq!(s.dropped(), 0);
    }

    #[test]
    fn connects_when_the_socket_appears_later() {
        let dir = TempDir::new("syslog", "later");
        let path = dir.0.join("log");
        let mut s = Syslog::with_path("nanny", &path);
        assert!(!s.connected());
        s.send(Severity::Info, "lost: nobody listens");
        assert_eq!(s.dropped(), 1);
        let r = receiver(&path);
        s.send(Severity::Info, "after syslog started");
        assert!(s.connected());
        let pid = std::process::id();
        assert_eq!(
            body(&recv(&r)),
            format!("nanny[{pid}]: 1 log line dropped: syslog was not accepting them")
        );
        assert_eq!(
            body(&recv(&r)),
            format!("nanny[{pid}]: after syslog started")
        );
    }

    #[test]
    fn reconnects_after_a_syslog_restart() {
        let dir = TempDir::new("syslog", "restart");
        let path = dir.0.join("log");
        let r = receiver(&path);
        let mut s = Syslog::with_path("pulse", &path);
        s.send(Severity::Info, "one");
        assert!(body(&recv(&r)).ends_with(": one"));
        // The daemon restarts: a new socket at the same path.
        drop(r);
        std::fs::remove_file(&path).expect("rm");
        let r = receiver(&path);
        s.send(Severity::Info, "two");
        assert!(body(&recv(&r)).ends_with(": two"));
        assert_eq!(s.dropped(), 0);
    }

    #[test]
    fn a_full_queue_drops_and_never_blocks() {
        let dir = TempDir::new("syslog", "full");
        let path = dir.0.join("log");
        let r = receiver(&path);
        let mut s = Syslog::with_path("lvsd", &path);
        let start = Instant::now();
        // More than any receive queue holds (net.unix.max_dgram_qlen is 512
        // by default, and the buffer is bounded); nobody reads meanwhile.
        let mut sent = 0;
        while s.dropped() == 0 && sent < 100_000 {
            s.send(Severity::Info, &format!("line {sent} {}", "x".repeat(200)));
            sent += 1;
        }
        assert!(s.dropped() > 0, "no drop after {sent} lines");
        assert!(start.elapsed() < Duration::from_secs(5), "blocked");
        let dropped = s.dropped();
        for i in 0..5 {
            s.send(Severity::Info, &format!("more {i}"));
        }
        assert_eq!(s.dropped(), dropped + 5);
        // Drain; the next line is preceded by the count.
        r.set_nonblocking(true).expect("nonblocking");
        let mut buf = vec![0u8; 65536];
        while r.recv(&mut buf).is_ok() {}
        r.set_nonblocking(false).expect("blocking");
        s.send(Severity::Info, "back");
        let note = recv(&r);
        assert!(
            body(&note).ends_with(&format!(
                "{} log lines dropped: syslog was not accepting them",
                dropped + 5
            )),
            "{note}"
        );
        assert!(body(&recv(&r)).ends_with(": back"));
    }
}
