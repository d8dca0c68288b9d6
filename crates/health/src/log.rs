//! nanny's log: `nanny: <message>` lines on stdout (`-n`) and/or syslog
//! (ident `nanny`, `LOG_PID`, facility daemon, every message at `LOG_INFO`),
//! as the original.

use std::ffi::CStr;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use nix::libc;

/// Where log lines go.
#[derive(Debug)]
pub struct Logger {
    stdout: bool,
    syslog: bool,
    verbose: bool,
    /// Reused for every line, so logging does not allocate once warm.
    buf: String,
}

impl Logger {
    /// `stdout`: `-n`; `syslog`: the original logged to syslog in both modes
    /// (since #815887); `verbose`: `-v` ("DEBUG" lines).
    pub fn new(stdout: bool, syslog: bool, verbose: bool) -> Logger {
        if syslog {
            // SAFETY: the ident is a 'static C string (openlog keeps the
            // pointer); the options and facility are plain integers.
            unsafe { libc::openlog(c"nanny".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
        }
        Logger {
            stdout,
            syslog,
            verbose,
            buf: String::with_capacity(256),
        }
    }

    /// A logger that drops everything (tests).
    pub fn silent() -> Logger {
        Logger::new(false, false, false)
    }

    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Logs one line.
    pub fn info(&mut self, args: fmt::Arguments<'_>) {
        if !self.stdout && !self.syslog {
            return;
        }
        self.buf.clear();
        let _ = self.buf.write_fmt(args);
        if self.stdout {
            let mut out = std::io::stdout().lock();
            // A closed stdout must not stop the daemon.
            let _ = writeln!(out, "nanny: {}", self.buf);
            let _ = out.flush();
        }
        if self.syslog {
            // A NUL inside the message would end the C string early; cut
            // there rather than fail.
            if let Some(nul) = self.buf.find('\0') {
                self.buf.truncate(nul);
            }
            self.buf.push('\0');
            if let Ok(msg) = CStr::from_bytes_with_nul(self.buf.as_bytes()) {
                // SAFETY: both pointers are valid NUL-terminated strings for
                // the duration of the call; "%s" makes syslog treat the
                // message as data (the original passed it as the format).
                unsafe { libc::syslog(libc::LOG_INFO, c"%s".as_ptr(), msg.as_ptr()) };
            }
        }
    }

    /// Logs one line only with `-v`.
    pub fn debug(&mut self, args: fmt::Arguments<'_>) {
        if self.verbose {
            self.info(args);
        }
    }
}
