//! A daemon's log lines, in the original's two shapes: syslog with the
//! daemon's ident (`lvsd[PID]: message`), and `NAME: message` on stdout
//! with `-n` (NAME is the original's `piranha_log` name: `lvs`, `nanny`,
//! `pulse`). Monitoring scripts grep the message text, so there is nothing
//! else in a line: no level, no timestamp of ours.
//!
//! Two rules hold for every line:
//! - **One prefix.** The sink adds the name; a message that starts with
//!   the ident or the stdout name already (`lvs: failed to open …`, the
//!   original's own text) loses that copy, so no line reads
//!   `lvs: lvs: …` or `nanny[12]: nanny: …`.
//! - **Repeated errors are rate-limited.** A [`Level::Warn`] or
//!   [`Level::Error`] line with the same target and text more than
//!   [`RateLimit::burst`] times within [`RateLimit::window`] is held back;
//!   when that window ends, one `message repeated N times: [TEXT]` line
//!   says how many were. So a monitor that cannot start logs a few lines a
//!   minute, not one a second forever. Info lines (state changes that
//!   scripts grep) are never held back. The summary is written with the
//!   next line logged after the window, or by [`Logger::flush`]; what a
//!   window still holds when the daemon exits, by [`Logger::flush_all`].

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::syslog::{Severity, Syslog};

/// How important a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Only with `-v` (the original's `DEBUG --` lines).
    Debug,
    /// Normal operation.
    Info,
    /// Something failed; rate-limited.
    Warn,
    /// Something failed badly; rate-limited.
    Error,
}

/// How many identical error lines pass per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Lines of one kind let through per window.
    pub burst: u32,
    /// The window, counted from the first line of a kind.
    pub window: Duration,
}

impl Default for RateLimit {
    /// 5 per minute.
    fn default() -> Self {
        RateLimit {
            burst: 5,
            window: Duration::from_secs(60),
        }
    }
}

/// Most kinds of line tracked at once; beyond that a new kind passes
/// untracked (never held back).
const MAX_KINDS: usize = 512;

#[derive(Debug)]
struct Kind {
    start: Instant,
    count: u32,
    held: u32,
}

/// A line held back `repeated` times in a window that has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated {
    /// The line's target.
    pub target: String,
    /// Its text.
    pub text: String,
    /// How many times it was held back.
    pub repeated: u32,
}

impl Repeated {
    /// The line that reports it.
    pub fn line(&self) -> String {
        format!("message repeated {} times: [{}]", self.repeated, self.text)
    }
}

/// Counts identical lines per window. Pure: the caller passes the time.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    kinds: HashMap<(String, String), Kind>,
    /// The earliest end of a tracked window, to skip the sweep.
    next_end: Option<Instant>,
}

impl RateLimiter {
    /// A limiter for `limit`.
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            limit,
            kinds: HashMap::new(),
            next_end: None,
        }
    }

    /// Whether the line (`target`, `text`) at `now` may pass. Call
    /// [`RateLimiter::ended`] first so that ended windows start over.
    pub fn admit(&mut self, now: Instant, target: &str, text: &str) -> bool {
        let key = (target.to_owned(), text.to_owned());
        if !self.kinds.contains_key(&key) && self.kinds.len() >= MAX_KINDS {
            return true;
        }
        let kind = self.kinds.entry(key).or_insert(Kind {
            start: now,
            count: 0,
            held: 0,
        });
        let end = kind.start + self.limit.window;
        self.next_end = Some(self.next_end.map_or(end, |e| e.min(end)));
        kind.count = kind.count.saturating_add(1);
        if kind.count > self.limit.burst {
            kind.held = kind.held.saturating_add(1);
            false
        } else {
            true
        }
    }

    /// Forgets every window, ended or not, and returns those in which lines
    /// were held back (at exit: nothing held back goes unsaid).
    pub fn drain(&mut self) -> Vec<Repeated> {
        let mut out: Vec<Repeated> = self
            .kinds
            .drain()
            .filter(|(_, kind)| kind.held > 0)
            .map(|((target, text), kind)| Repeated {
                target,
                text,
                repeated: kind.held,
            })
            .collect();
        self.next_end = None;
        out.sort_by(|a, b| (&a.target, &a.text).cmp(&(&b.target, &b.text)));
        out
    }

    /// Forgets every window that has ended by `now`, and returns those in
    /// which lines were held back.
    pub fn ended(&mut self, now: Instant) -> Vec<Repeated> {
        if self.next_end.is_none_or(|end| now < end) {
            return Vec::new();
        }
        let window = self.limit.window;
        let mut out = Vec::new();
        let mut next_end: Option<Instant> = None;
        self.kinds.retain(|(target, text), kind| {
            let end = kind.start + window;
            if now < end {
                next_end = Some(next_end.map_or(end, |e| e.min(end)));
                return true;
            }
            if kind.held > 0 {
                out.push(Repeated {
                    target: target.clone(),
                    text: text.clone(),
                    repeated: kind.held,
                });
            }
            false
        });
        self.next_end = next_end;
        // Oldest first, for a stable order.
        out.sort_by(|a, b| (&a.target, &a.text).cmp(&(&b.target, &b.text)));
        out
    }
}

/// Where a daemon's lines go.
pub struct Logger {
    ident: String,
    stdout_name: String,
    stdout: Option<Box<dyn Write + Send>>,
    syslog: Option<Syslog>,
    limiter: RateLimiter,
    debug: bool,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("ident", &self.ident)
            .field("stdout", &self.stdout.is_some())
            .field("syslog", &self.syslog)
            .field("debug", &self.debug)
            .finish()
    }
}

impl Logger {
    /// A logger for the daemon whose syslog ident is `ident` (`lvsd`) and
    /// whose stdout lines start with `stdout_name` (`lvs`); no sink yet.
    pub fn new(ident: &str, stdout_name: &str) -> Logger {
        Logger {
            ident: ident.to_owned(),
            stdout_name: stdout_name.to_owned(),
            stdout: None,
            syslog: None,
            limiter: RateLimiter::new(RateLimit::default()),
            debug: false,
        }
    }

    /// Also write `NAME: message` lines to stdout.
    pub fn with_stdout(self) -> Logger {
        self.with_writer(Box::new(std::io::stdout()))
    }

    /// Also write `NAME: message` lines to `out` (stdout, or a test's
    /// buffer); flushed after each line.
    pub fn with_writer(mut self, out: Box<dyn Write + Send>) -> Logger {
        self.stdout = Some(out);
        self
    }

    /// Also send lines to syslog.
    pub fn with_syslog(mut self, syslog: Syslog) -> Logger {
        self.syslog = Some(syslog);
        self
    }

    /// Let [`Level::Debug`] lines through (`-v`).
    pub fn with_debug(mut self, debug: bool) -> Logger {
        self.debug = debug;
        self
    }

    /// Replace the rate limit.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Logger {
        self.limiter = RateLimiter::new(limit);
        self
    }

    /// Whether debug lines are written.
    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    /// Whether any sink is set.
    pub fn enabled(&self) -> bool {
        self.stdout.is_some() || self.syslog.is_some()
    }

    /// The syslog sink, if any (e.g. to read its drop count).
    pub fn syslog(&self) -> Option<&Syslog> {
        self.syslog.as_ref()
    }

    /// The syslog sink, if any (e.g. to set the pid after a fork).
    pub fn syslog_mut(&mut self) -> Option<&mut Syslog> {
        self.syslog.as_mut()
    }

    /// Log one line now. `target` groups lines for the rate limit (the
    /// module, for tracing events).
    pub fn log(&mut self, level: Level, target: &str, text: &str) {
        self.log_at(Instant::now(), level, target, text);
    }

    /// Log one line at `now`.
    pub fn log_at(&mut self, now: Instant, level: Level, target: &str, text: &str) {
        if level == Level::Debug && !self.debug {
            return;
        }
        if !self.enabled() {
            return;
        }
        self.flush(now);
        let text = self.strip_prefix(text);
        if level >= Level::Warn && !self.limiter.admit(now, target, text) {
            return;
        }
        let text = text.to_owned();
        self.write(&text);
    }

    /// Write the summaries of windows that ended by `now`.
    pub fn flush(&mut self, now: Instant) {
        for r in self.limiter.ended(now) {
            self.write(&r.line());
        }
    }

    /// Write the summaries of every window in which lines were held back,
    /// ended or not: call it when the daemon exits.
    pub fn flush_all(&mut self) {
        for r in self.limiter.drain() {
            self.write(&r.line());
        }
    }

    fn strip_prefix<'a>(&self, text: &'a str) -> &'a str {
        for name in [&self.ident, &self.stdout_name] {
            if let Some(rest) = text
                .strip_prefix(name.as_str())
                .and_then(|r| r.strip_prefix(": "))
            {
                return rest;
            }
        }
        text
    }

    fn write(&mut self, text: &str) {
        if let Some(out) = &mut self.stdout {
            // A closed stdout must not stop the daemon.
            let _ = writeln!(out, "{}: {text}", self.stdout_name);
            let _ = out.flush();
        }
        if let Some(s) = &mut self.syslog {
            // Every line at LOG_INFO, as the original.
            s.send(Severity::Info, text);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the tests read back as lines (trace.rs's tests too).
    #[derive(Clone, Default)]
    pub(crate) struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buf {
        pub(crate) fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().expect("lock").clone())
                .expect("utf-8")
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    fn logger(buf: &Buf) -> Logger {
        Logger::new("lvsd", "lvs").with_writer(Box::new(buf.clone()))
    }

    #[test]
    fn one_prefix_only() {
        let buf = Buf::default();
        let mut log = logger(&buf);
        log.log(Level::Info, "t", "lvs: failed to open /etc/lvs.cf: nope");
        log.log(Level::Info, "t", "lvsd: error parsing x on line 3.");
        log.log(Level::Info, "t", "rereading configuration file");
        // Only a leading "NAME: " is a prefix.
        log.log(Level::Info, "t", "lvs:x stays");
        assert_eq!(
            buf.lines(),
            [
                "lvs: failed to open /etc/lvs.cf: nope",
                "lvs: error parsing x on line 3.",
                "lvs: rereading configuration file",
                "lvs: lvs:x stays",
            ]
        );
    }

    #[test]
    fn debug_only_when_verbose() {
        let buf = Buf::default();
        let mut log = logger(&buf);
        log.log(Level::Debug, "t", "DEBUG -- hidden");
        let mut log = log.with_debug(true);
        log.log(Level::Debug, "t", "DEBUG -- shown");
        assert_eq!(buf.lines(), ["lvs: DEBUG -- shown"]);
    }

    #[test]
    fn repeated_errors_are_held_back_and_counted() {
        let buf = Buf::default();
        let limit = RateLimit {
            burst: 3,
            window: Duration::from_secs(60),
        };
        let mut log = logger(&buf).with_rate_limit(limit);
        let t0 = Instant::now();
        let msg = "failed to restart monitor for web/s1: Too many open files (os error 24)";
        // One a second for two minutes.
        for s in 0..120 {
            log.log_at(
                t0 + Duration::from_secs(s),
                Level::Warn,
                "lvsd::daemon",
                msg,
            );
        }
        let lines = buf.lines();
        let full = format!("lvs: {msg}");
        let summary = format!("lvs: message repeated 57 times: [{msg}]");
        // Window 1 (0..60 s): 3 lines; at 60 s the summary, then window 2
        // starts with 3 more lines.
        assert_eq!(lines.len(), 3 + 1 + 3, "{lines:#?}");
        assert!(lines[..3].iter().all(|l| *l == full));
        assert_eq!(lines[3], summary);
        assert!(lines[4..].iter().all(|l| *l == full));
        // The end of the second window is reported by flush.
        log.flush(t0 + Duration::from_secs(200));
        assert_eq!(
            buf.lines().last().map(String::as_str),
            Some(format!("lvs: message repeated 57 times: [{msg}]").as_str())
        );
    }

    #[test]
    fn flush_all_reports_what_an_unfinished_window_held_back() {
        let buf = Buf::default();
        let limit = RateLimit {
            burst: 2,
            window: Duration::from_secs(60),
        };
        let mut log = logger(&buf).with_rate_limit(limit);
        let t0 = Instant::now();
        for s in 0..10 {
            log.log_at(t0 + Duration::from_secs(s), Level::Warn, "t", "same");
        }
        // The window is 10 s old: a flush at that time says nothing yet.
        log.flush(t0 + Duration::from_secs(10));
        assert_eq!(buf.lines().len(), 2);
        log.flush_all();
        assert_eq!(
            buf.lines().last().map(String::as_str),
            Some("lvs: message repeated 8 times: [same]")
        );
        // Nothing is reported twice.
        log.flush_all();
        log.flush(t0 + Duration::from_secs(500));
        assert_eq!(buf.lines().len(), 3);
    }

    #[test]
    fn info_lines_and_other_errors_are_never_held_back() {
        let buf = Buf::default();
        let limit = RateLimit {
            burst: 1,
            window: Duration::from_secs(60),
        };
        let mut log = logger(&buf).with_rate_limit(limit);
        let t0 = Instant::now();
        for s in 0..10 {
            let at = t0 + Duration::from_millis(s);
            log.log_at(
                at,
                Level::Info,
                "t",
                "[ active ] making 192.0.2.1:80 available",
            );
            log.log_at(at, Level::Warn, "t", &format!("error {s}"));
        }
        // Ten info lines and ten distinct errors: all through.
        assert_eq!(buf.lines().len(), 20);
        // The same text under another target is another kind.
        log.log_at(t0, Level::Warn, "a", "same");
        log.log_at(t0, Level::Warn, "b", "same");
        log.log_at(t0, Level::Warn, "b", "same");
        assert_eq!(buf.lines().len(), 22);
    }

    #[test]
    fn limiter_forgets_quiet_kinds() {
        let mut lim = RateLimiter::new(RateLimit {
            burst: 1,
            window: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        assert!(lim.admit(t0, "t", "x"));
        assert!(!lim.admit(t0, "t", "x"));
        assert_eq!(lim.ended(t0 + Duration::from_secs(9)), []);
        let ended = lim.ended(t0 + Duration::from_secs(10));
        assert_eq!(
            ended,
            [Repeated {
                target: "t".into(),
                text: "x".into(),
                repeated: 1
            }]
        );
        // Starts over.
        assert!(lim.admit(t0 + Duration::from_secs(10), "t", "x"));
        // A window with nothing held back ends silently.
        assert_eq!(lim.ended(t0 + Duration::from_secs(30)), []);
    }

    #[test]
    fn syslog_and_stdout_get_the_same_text() {
        let dir = std::env::temp_dir().join(format!("daemon-log-both-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("log");
        let r = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
        r.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let buf = Buf::default();
        let mut log = Logger::new("nanny", "nanny")
            .with_writer(Box::new(buf.clone()))
            .with_syslog(Syslog::with_path("nanny", &path));
        log.log(
            Level::Info,
            "t",
            "nanny: no monitor configured, assuming web service on port 80",
        );
        let mut dgram = vec![0u8; 4096];
        let n = r.recv(&mut dgram).expect("datagram");
        let line = String::from_utf8_lossy(&dgram[..n]).into_owned();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            line.ends_with(&format!(
                " nanny[{}]: no monitor configured, assuming web service on port 80",
                std::process::id()
            )),
            "{line}"
        );
        assert_eq!(
            buf.lines(),
            ["nanny: no monitor configured, assuming web service on port 80"]
        );
    }
}
