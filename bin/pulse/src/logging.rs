//! Where pulse's log lines go, in the original's shapes: `pulse: message`
//! on stdout with `-n` (piranha.md §1, `piranha_log`), else syslog with
//! ident `pulse`, facility daemon. The message text is all there is:
//! monitoring scripts grep it. The sink (one prefix, non-blocking syslog,
//! repeated warnings rate-limited) is [`daemon::log::Logger`], as lvsd's;
//! this module only feeds it tracing events.

use std::fmt::Write as _;
use std::sync::Mutex;

use daemon::log::{Level as LogLevel, Logger};
use daemon::syslog::Syslog;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::{Layer, filter::LevelFilter};

/// The syslog ident and the stdout name, both the original's `pulse`.
const NAME: &str = "pulse";

struct LineLayer(Mutex<Logger>);

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

impl<S: Subscriber> Layer<S> for LineLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut m = Message::default();
        event.record(&mut m);
        let Ok(mut logger) = self.0.lock() else {
            return;
        };
        let meta = event.metadata();
        let level = match *meta.level() {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        };
        logger.log(level, meta.target(), &m.0);
    }
}

/// Install the logger: stdout under `-n`, else syslog; debug lines with
/// `-v`. Called once, in the process that logs (after detaching, so syslog
/// lines carry the daemon's pid).
pub fn init(nodaemon: bool, verbose: bool) {
    let logger = Logger::new(NAME, NAME).with_debug(verbose);
    let logger = if nodaemon {
        logger.with_stdout()
    } else {
        logger.with_syslog(Syslog::new(NAME))
    };
    let level = if verbose {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let layer = LineLayer(Mutex::new(logger)).with_filter(level);
    // A second init keeps the first subscriber; nothing to do.
    let _ = tracing::subscriber::set_global_default(Registry::default().with(layer));
}
