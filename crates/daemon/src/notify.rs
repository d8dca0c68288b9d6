//! The systemd readiness protocol (`sd_notify(3)`), client side: one
//! datagram per state change to the socket named in `NOTIFY_SOCKET`.
//!
//! systemd starts a `Type=notify` service with `NOTIFY_SOCKET` set and
//! waits for `READY=1` before it counts the start as done (so `systemctl
//! start pulse` returns once the heartbeat sockets are bound and the role
//! decided, not when the process exists). `STATUS=` is the one-line text
//! `systemctl status` shows. With `WatchdogSec=`, systemd also sets
//! `WATCHDOG_USEC` (and `WATCHDOG_PID`) and kills a service that sends no
//! `WATCHDOG=1` within that time: a main loop that hangs is restarted.
//!
//! Without `NOTIFY_SOCKET` (started by hand, by the init script, by pulse)
//! every call is a no-op, so the daemons call it unconditionally.
//!
//! The variables are read once ([`Notifier::from_env`]) and never removed
//! from the environment (that is not thread-safe); a daemon's children must
//! not inherit them (lvsd would otherwise talk to pulse's supervisor):
//! remove [`ENV_VARS`] from each child's `Command`.
//!
//! Sending never blocks: the socket is non-blocking, and a message systemd
//! cannot take now is an error the caller may log and forget (the next
//! watchdog ping or status line comes soon).

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// The socket systemd listens on (a path, or `@name` in the abstract
/// namespace).
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The watchdog timeout, in microseconds.
pub const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
/// The process the watchdog applies to (absent: the one that has the
/// variables).
pub const WATCHDOG_PID: &str = "WATCHDOG_PID";
/// Every variable of the protocol: remove these from a child's environment.
pub const ENV_VARS: [&str; 3] = [NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID];

/// Why the protocol's variables cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyError {
    /// `NOTIFY_SOCKET` is neither an absolute path nor `@name`.
    BadSocket(OsString),
    /// `WATCHDOG_USEC` is not a positive number of microseconds.
    BadWatchdogUsec(String),
    /// `WATCHDOG_PID` is not a pid.
    BadWatchdogPid(String),
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotifyError::BadSocket(s) => write!(
                f,
                "{NOTIFY_SOCKET}={}: not an absolute path or @abstract name",
                s.to_string_lossy()
            ),
            NotifyError::BadWatchdogUsec(s) => {
                write!(
                    f,
                    "{WATCHDOG_USEC}={s}: not a positive number of microseconds"
                )
            }
            NotifyError::BadWatchdogPid(s) => write!(f, "{WATCHDOG_PID}={s}: not a process id"),
        }
    }
}

impl std::error::Error for NotifyError {}

/// The connection to systemd's notification socket, or nothing.
#[derive(Debug)]
pub struct Notifier {
    target: Option<Target>,
    watchdog: Option<Duration>,
}

#[derive(Debug)]
struct Target {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier {
            target: None,
            watchdog: None,
        }
    }

    /// From this process's environment.
    pub fn from_env() -> Result<Notifier, NotifyError> {
        let var = |name| std::env::var_os(name);
        Notifier::from_vars(
            var(NOTIFY_SOCKET).as_deref(),
            var(WATCHDOG_USEC).as_deref(),
            var(WATCHDOG_PID).as_deref(),
            std::process::id(),
        )
    }

    /// From the variables' values; `own_pid` is compared with
    /// `WATCHDOG_PID` as `sd_watchdog_enabled(3)` does (another process's
    /// watchdog is not ours to ping).
    pub fn from_vars(
        socket: Option<&OsStr>,
        watchdog_usec: Option<&OsStr>,
        watchdog_pid: Option<&OsStr>,
        own_pid: u32,
    ) -> Result<Notifier, NotifyError> {
        let Some(socket) = socket.filter(|s| !s.is_empty()) else {
            return Ok(Notifier::disabled());
        };
        let addr = address(socket)?;
        let watchdog = match watchdog_usec {
            None => None,
            Some(usec) => {
                let text = usec.to_string_lossy();
                let micros = text
                    .parse::<u64>()
                    .ok()
                    .filter(|&u| u > 0)
                    .ok_or_else(|| NotifyError::BadWatchdogUsec(text.clone().into_owned()))?;
                let ours = match watchdog_pid {
                    None => true,
                    Some(pid) => {
                        let text = pid.to_string_lossy();
                        let pid = text.parse::<u32>().ok().filter(|&p| p > 0).ok_or_else(|| {
                            NotifyError::BadWatchdogPid(text.clone().into_owned())
                        })?;
                        pid == own_pid
                    }
                };
                ours.then(|| Duration::from_micros(micros))
            }
        };
        // An unbound socket cannot fail to be created short of fd
        // exhaustion; then there is nobody to tell, as without the variable.
        let Ok(socket) = UnixDatagram::unbound() else {
            return Ok(Notifier::disabled());
        };
        let _ = socket.set_nonblocking(true);
        Ok(Notifier {
            target: Some(Target { socket, addr }),
            watchdog,
        })
    }

    /// Whether systemd listens (`NOTIFY_SOCKET` was set): the daemon was
    /// started by systemd as `Type=notify` and must stay in the foreground.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// The watchdog timeout systemd enforces on us, if any.
    pub fn watchdog_timeout(&self) -> Option<Duration> {
        self.watchdog
    }

    /// How often to send [`Notifier::watchdog`]: half the timeout, as
    /// `sd_watchdog_enabled(3)` advises, so one late loop turn is not fatal.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|t| t / 2)
    }

    /// `READY=1`, with a status line.
    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)))
    }

    /// `STATUS=…`: what `systemctl status` shows.
    pub fn status(&self, status: &str) -> io::Result<()> {
        self.send(&format!("STATUS={}", one_line(status)))
    }

    /// `RELOADING=1`: a reload (SIGHUP) started; [`Notifier::ready`] ends it.
    pub fn reloading(&self) -> io::Result<()> {
        self.send("RELOADING=1")
    }

    /// `STOPPING=1`: shutting down.
    pub fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1")
    }

    /// `WATCHDOG=1`, only when systemd set a watchdog for this process.
    pub fn watchdog(&self) -> io::Result<()> {
        if self.watchdog.is_none() {
            return Ok(());
        }
        self.send("WATCHDOG=1")
    }

    /// One datagram of `KEY=VALUE` lines; nothing without `NOTIFY_SOCKET`.
    pub fn send(&self, state: &str) -> io::Result<()> {
        let Some(t) = &self.target else {
            return Ok(());
        };
        loop {
            match t.socket.send_to_addr(state.as_bytes(), &t.addr) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// A value is one line: a newline would start another assignment.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn address(socket: &OsStr) -> Result<SocketAddr, NotifyError> {
    let bytes = socket.as_bytes();
    let bad = || NotifyError::BadSocket(socket.to_owned());
    match bytes.first() {
        Some(b'/') => SocketAddr::from_pathname(socket).map_err(|_| bad()),
        Some(b'@') => SocketAddr::from_abstract_name(&bytes[1..]).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testutil::TempDir;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    fn recv(r: &UnixDatagram) -> String {
        let mut buf = vec![0u8; 4096];
        let n = r.recv(&mut buf).expect("a datagram");
        String::from_utf8(buf[..n].to_vec()).expect("utf-8")
    }

    fn listener(path: &std::path::Path) -> UnixDatagram {
        let r = UnixDatagram::bind(path).expect("bind");
        r.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        r
    }

    #[test]
    fn without_notify_socket_nothing_is_sent_and_nothing_fails() {
        let n = Notifier::from_vars(None, Some(os("1000000")), None, 1).expect("ok");
        assert!(!n.enabled());
        assert_eq!(n.watchdog_interval(), None);
        n.ready("x").expect("no-op");
        n.watchdog().expect("no-op");
        let n = Notifier::from_vars(Some(os("")), None, None, 1).expect("ok");
        assert!(!n.enabled());
    }

    #[test]
    fn ready_status_and_watchdog_reach_the_socket() {
        let dir = TempDir::new("notify", "path");
        let path = dir.0.join("notify");
        let r = listener(&path);
        let pid = std::process::id();
        let pid_text = pid.to_string();
        let n = Notifier::from_vars(
            Some(path.as_os_str()),
            Some(os("4000000")),
            Some(os(&pid_text)),
            pid,
        )
        .expect("ok");
        assert!(n.enabled());
        assert_eq!(n.watchdog_timeout(), Some(Duration::from_secs(4)));
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(2)));
        n.ready("master, active; partner 203.0.113.3 alive")
            .expect("send");
        assert_eq!(
            recv(&r),
            "READY=1\nSTATUS=master, active; partner 203.0.113.3 alive"
        );
        n.status("backup\ninactive").expect("send");
        assert_eq!(recv(&r), "STATUS=backup inactive");
        n.watchdog().expect("send");
        assert_eq!(recv(&r), "WATCHDOG=1");
        n.reloading().expect("send");
        assert_eq!(recv(&r), "RELOADING=1");
        n.stopping().expect("send");
        assert_eq!(recv(&r), "STOPPING=1");
    }

    #[test]
    fn abstract_socket_names_work() {
        let name = format!("daemon-notify-test-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let r = UnixDatagram::bind_addr(&addr).expect("bind");
        r.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let var = format!("@{name}");
        let n = Notifier::from_vars(Some(os(&var)), None, None, 1).expect("ok");
        n.ready("up").expect("send");
        assert_eq!(recv(&r), "READY=1\nSTATUS=up");
    }

    #[test]
    fn another_process_watchdog_is_not_ours() {
        let dir = TempDir::new("notify", "pid");
        let path = dir.0.join("notify");
        let r = listener(&path);
        let n = Notifier::from_vars(
            Some(path.as_os_str()),
            Some(os("1000000")),
            Some(os("4242")),
            4243,
        )
        .expect("ok");
        assert_eq!(n.watchdog_interval(), None);
        n.watchdog().expect("no-op");
        n.status("s").expect("send");
        // The first datagram is the status: no WATCHDOG=1 was sent.
        assert_eq!(recv(&r), "STATUS=s");
    }

    #[test]
    fn bad_variables_are_errors_naming_the_variable() {
        let e = Notifier::from_vars(Some(os("relative/path")), None, None, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "NOTIFY_SOCKET=relative/path: not an absolute path or @abstract name"
        );
        let e = Notifier::from_vars(Some(os("/run/x")), Some(os("0")), None, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "WATCHDOG_USEC=0: not a positive number of microseconds"
        );
        let e = Notifier::from_vars(Some(os("/run/x")), Some(os("5s")), None, 1).unwrap_err();
        assert!(matches!(e, NotifyError::BadWatchdogUsec(_)));
        let e =
            Notifier::from_vars(Some(os("/run/x")), Some(os("10")), Some(os("me")), 1).unwrap_err();
        assert_eq!(e.to_string(), "WATCHDOG_PID=me: not a process id");
    }

    #[test]
    fn a_missing_listener_is_an_error_not_a_hang() {
        let dir = TempDir::new("notify", "gone");
        let path = dir.0.join("nobody");
        let n = Notifier::from_vars(Some(path.as_os_str()), None, None, 1).expect("ok");
        assert!(n.ready("x").is_err());
    }
}
