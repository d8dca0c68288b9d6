//! `tracing` events into a [`Logger`]: the subscriber of the daemons that
//! log through `tracing` macros (pulse and lvsd). An event becomes one
//! line: its message, then any other fields as ` name=value`; its level
//! picks the [`Level`] (so warnings and errors are rate-limited, info lines
//! never); its target (the module) groups lines for the rate limit.
//!
//! The [`LogHandle`] that [`init`] returns is the only way back to the
//! logger: the daemon keeps it and calls [`LogHandle::flush`] when it exits,
//! so that a warning held back in the last window is still reported
//! (`message repeated N times: [TEXT]`). Dropping the handle flushes too,
//! for early returns.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::Registry;

use crate::log::{Level, Logger};
use crate::syslog::Syslog;

/// Where a daemon's lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// `NAME: message` on stdout (`-n`, `--nodaemon`).
    Stdout,
    /// The local syslog socket, with the daemon's ident.
    Syslog,
}

/// The way back to the installed [`Logger`], to write what it holds back.
#[derive(Debug)]
pub struct LogHandle(Arc<Mutex<Logger>>);

impl LogHandle {
    /// Write the summaries of every window in which lines were held back
    /// ([`Logger::flush_all`]): call it when the daemon exits. Lines logged
    /// afterwards are rate-limited afresh.
    pub fn flush(&self) {
        lock(&self.0).flush_all();
    }
}

impl Drop for LogHandle {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Install the process's subscriber: a [`Logger`] for the daemon whose
/// syslog ident is `ident` (`lvsd`) and whose stdout lines start with
/// `stdout_name` (`lvs`), writing to `sink`; debug events only when
/// `verbose` (`-v`). Call it once, in the process that logs (after
/// detaching, so that syslog lines carry the daemon's pid).
pub fn init(ident: &str, stdout_name: &str, sink: Sink, verbose: bool) -> LogHandle {
    let logger = Logger::new(ident, stdout_name).with_debug(verbose);
    let logger = match sink {
        Sink::Stdout => logger.with_stdout(),
        Sink::Syslog => logger.with_syslog(Syslog::new(ident)),
    };
    install(logger)
}

/// Install [`subscriber`]`(logger)` as the process's subscriber. A process
/// that has one already keeps it; the handle then reaches a logger that
/// is never fed, so its flush writes nothing.
pub fn install(logger: Logger) -> LogHandle {
    let (subscriber, handle) = subscriber(logger);
    let _ = tracing::subscriber::set_global_default(subscriber);
    handle
}

/// A subscriber that writes every event to `logger` (debug events only
/// when the logger lets them through), and the handle to flush it.
pub fn subscriber(logger: Logger) -> (impl Subscriber + Send + Sync + 'static, LogHandle) {
    let filter = if logger.debug_enabled() {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let shared = Arc::new(Mutex::new(logger));
    let layer = LineLayer(Arc::clone(&shared)).with_filter(filter);
    (Registry::default().with(layer), LogHandle(shared))
}

/// A panic while a line was written must not silence the daemon: the
/// logger holds no invariant a half-written line could break.
fn lock(logger: &Mutex<Logger>) -> MutexGuard<'_, Logger> {
    logger.lock().unwrap_or_else(PoisonError::into_inner)
}

struct LineLayer(Arc<Mutex<Logger>>);

impl<S: Subscriber> Layer<S> for LineLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut text = Line::default();
        event.record(&mut text);
        let meta = event.metadata();
        lock(&self.0).log(level(meta.level()), meta.target(), &text.0);
    }
}

fn level(l: &tracing::Level) -> Level {
    match *l {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warn,
        tracing::Level::INFO => Level::Info,
        _ => Level::Debug,
    }
}

/// An event's text: the message as written, other fields ` name=value`.
#[derive(Default)]
struct Line(String);

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            // A format string's arguments: Debug of fmt::Arguments is the
            // formatted text itself.
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::RateLimit;
    use crate::log::tests::Buf;
    use std::time::Duration;

    fn logger(buf: &Buf) -> Logger {
        Logger::new("lvsd", "lvs")
            .with_writer(Box::new(buf.clone()))
            .with_rate_limit(RateLimit {
                burst: 2,
                window: Duration::from_secs(3600),
            })
    }

    #[test]
    fn events_become_the_loggers_lines() {
        let buf = Buf::default();
        let (sub, _log) = subscriber(logger(&buf));
        tracing::subscriber::with_default(sub, || {
            let pid = 42;
            tracing::info!("create_monitor for web/a running as pid {pid}");
            tracing::warn!(errno = 24, "cannot start");
            tracing::error!("lvs: failed to open /etc/lvs.cf");
            tracing::debug!("DEBUG -- hidden without -v");
        });
        assert_eq!(
            buf.lines(),
            [
                "lvs: create_monitor for web/a running as pid 42",
                "lvs: cannot start errno=24",
                "lvs: failed to open /etc/lvs.cf",
            ]
        );
    }

    #[test]
    fn debug_events_pass_with_verbose() {
        let buf = Buf::default();
        let (sub, _log) = subscriber(logger(&buf).with_debug(true));
        tracing::subscriber::with_default(sub, || {
            tracing::debug!("DEBUG -- shown");
            tracing::trace!("never");
        });
        assert_eq!(buf.lines(), ["lvs: DEBUG -- shown"]);
    }

    #[test]
    fn flush_writes_what_the_last_window_held_back() {
        let buf = Buf::default();
        let (sub, log) = subscriber(logger(&buf));
        tracing::subscriber::with_default(sub, || {
            for _ in 0..7 {
                tracing::warn!("open file limit 100 is below the 264 that 100 monitors need");
                tracing::info!("rereading configuration file");
            }
        });
        let lines = buf.lines();
        let warn = "lvs: open file limit 100 is below the 264 that 100 monitors need";
        assert_eq!(lines.iter().filter(|l| *l == warn).count(), 2, "{lines:#?}");
        assert_eq!(lines.len(), 2 + 7);
        log.flush();
        assert_eq!(
            buf.lines().last().map(String::as_str),
            Some(
                "lvs: message repeated 5 times: \
                 [open file limit 100 is below the 264 that 100 monitors need]"
            )
        );
        // Once only.
        log.flush();
        assert_eq!(buf.lines().len(), 2 + 7 + 1);
    }

    #[test]
    fn dropping_the_handle_flushes() {
        let buf = Buf::default();
        let (sub, log) = subscriber(logger(&buf));
        tracing::subscriber::with_default(sub, || {
            for _ in 0..3 {
                tracing::error!("recvfrom() failed: x");
            }
        });
        assert_eq!(buf.lines().len(), 2);
        drop(log);
        assert_eq!(
            buf.lines().last().map(String::as_str),
            Some("lvs: message repeated 1 times: [recvfrom() failed: x]")
        );
    }
}
