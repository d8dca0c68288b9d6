//! Where lvsd's log lines go, in the original's shapes: syslog with ident
//! `lvsd`, facility daemon, level info, when it runs as a daemon; stdout as
//! `lvs: <message>` with `--nodaemon`. Monitoring scripts grep these lines,
//! so the message text is all there is: no timestamps or levels of ours.
//! The sink itself (one prefix, non-blocking syslog, repeated warnings
//! rate-limited) is [`::daemon::log::Logger`]; this module only feeds it
//! tracing events.

use std::fmt::Write as _;
use std::sync::Mutex;

use ::daemon::log::{Level as LogLevel, Logger};
use ::daemon::syslog::Syslog;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::{Layer, filter::LevelFilter};

/// The syslog ident, as the original's `openlog("lvsd")`.
const IDENT: &str = "lvsd";
/// The name on stdout lines, as the original's `piranha_log` ("lvs").
const STDOUT_NAME: &str = "lvs";

/// Where log lines go.
pub enum Sink {
    /// `lvs: message` on stdout (`--nodaemon`).
    Stdout,
    /// The local syslog socket.
    Syslog,
}

struct LineLayer {
    logger: Mutex<Logger>,
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

fn level(l: &Level) -> LogLevel {
    match *l {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        _ => LogLevel::Debug,
    }
}

impl<S: Subscriber> Layer<S> for LineLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut msg = Message::default();
        event.record(&mut msg);
        let Ok(mut logger) = self.logger.lock() else {
            return;
        };
        let meta = event.metadata();
        logger.log(level(meta.level()), meta.target(), &msg.0);
    }
}

/// Install the process's log subscriber. `verbose` lets the original's
/// `DEBUG --` lines (our `debug!`) through. Call after detaching (syslog
/// lines carry the pid of the process that calls this).
pub fn init(sink: Sink, verbose: bool) {
    let level = if verbose {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let logger = Logger::new(IDENT, STDOUT_NAME).with_debug(verbose);
    let logger = match sink {
        Sink::Stdout => logger.with_stdout(),
        Sink::Syslog => logger.with_syslog(Syslog::new(IDENT)),
    };
    let layer = LineLayer {
        logger: Mutex::new(logger),
    }
    .with_filter(level);
    let subscriber = Registry::default().with(layer);
    // A second init (tests) keeps the first subscriber; nothing to do.
    let _ = tracing::subscriber::set_global_default(subscriber);
}
