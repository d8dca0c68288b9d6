//! nanny's log: `nanny: <message>` lines on stdout (`-n`) and/or syslog
//! (ident `nanny`, pid, facility daemon, every message at `LOG_INFO`), as
//! the original. The sink is the suite's shared one
//! ([`daemon::log::Logger`]): non-blocking syslog, and one prefix only (the
//! original's own `nanny: no monitor configured …` text is not printed as
//! `nanny: nanny: …`).

use std::fmt::{self, Write as _};

use daemon::log::Level;
use daemon::syslog::Syslog;

/// The syslog ident and the stdout name, as the original's.
const NAME: &str = "nanny";
/// Rate-limit key of nanny's lines.
const TARGET: &str = "nanny";

/// Where log lines go.
#[derive(Debug)]
pub struct Logger {
    inner: daemon::log::Logger,
    verbose: bool,
    /// Reused for every line, so logging does not allocate once warm.
    buf: String,
}

impl Logger {
    /// `stdout`: `-n`; `syslog`: the original logged to syslog in both modes
    /// (since #815887); `verbose`: `-v` ("DEBUG" lines). Create it after
    /// detaching: syslog lines carry the pid of the process that does.
    pub fn new(stdout: bool, syslog: bool, verbose: bool) -> Logger {
        let mut inner = daemon::log::Logger::new(NAME, NAME).with_debug(verbose);
        if stdout {
            inner = inner.with_stdout();
        }
        if syslog {
            inner = inner.with_syslog(Syslog::new(NAME));
        }
        Logger {
            inner,
            verbose,
            buf: String::with_capacity(256),
        }
    }

    /// A logger that drops everything (tests).
    pub fn silent() -> Logger {
        Logger::new(false, false, false)
    }

    /// Whether `-v` was given.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    fn line(&mut self, level: Level, args: fmt::Arguments<'_>) {
        if !self.inner.enabled() {
            return;
        }
        self.buf.clear();
        let _ = self.buf.write_fmt(args);
        self.inner.log(level, TARGET, &self.buf);
    }

    /// Logs one line.
    pub fn info(&mut self, args: fmt::Arguments<'_>) {
        self.line(Level::Info, args);
    }

    /// Logs one line that can repeat at every check (a failing check, a
    /// load monitor that cannot run): as [`Logger::info`], except that the
    /// same text more than a few times a minute is held back and counted
    /// (`message repeated N times: [TEXT]`), so a server down for a day, or
    /// a check program that is missing, does not write a line per interval.
    pub fn repeating(&mut self, args: fmt::Arguments<'_>) {
        self.line(Level::Warn, args);
    }

    /// Writes the count of lines held back, if any (at exit).
    pub fn flush(&mut self) {
        self.inner.flush_all();
    }

    /// Logs one line only with `-v`.
    pub fn debug(&mut self, args: fmt::Arguments<'_>) {
        if self.verbose {
            self.line(Level::Debug, args);
        }
    }
}
