//! Where pulse's log lines go, in the original's shapes: `pulse: message`
//! on stdout with `-n` (piranha.md §1, `piranha_log`), else syslog with
//! ident `pulse`, facility daemon ([`daemon::syslog`]). The message text is
//! all there is: monitoring scripts grep it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;

use daemon::syslog::{Severity, Syslog};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::{Layer, filter::LevelFilter};

enum Sink {
    Stdout,
    Syslog(Syslog),
}

struct LineLayer(Mutex<Sink>);

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
        let Ok(mut sink) = self.0.lock() else {
            return;
        };
        match &mut *sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "pulse: {}", m.0);
                let _ = out.flush();
            }
            Sink::Syslog(s) => {
                let severity = match *event.metadata().level() {
                    Level::ERROR => Severity::Error,
                    Level::WARN => Severity::Warning,
                    Level::INFO => Severity::Info,
                    _ => Severity::Debug,
                };
                s.send(severity, &m.0);
            }
        }
    }
}

/// Install the logger: stdout under `-n`, else syslog; debug lines with
/// `-v`. Called once, in the process that logs (after detaching, so syslog
/// lines carry the daemon's pid).
pub fn init(nodaemon: bool, verbose: bool) {
    let sink = if nodaemon {
        Sink::Stdout
    } else {
        Sink::Syslog(Syslog::new("pulse"))
    };
    let level = if verbose {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let subscriber = Registry::default()
        .with(level)
        .with(LineLayer(Mutex::new(sink)));
    let _ = tracing::subscriber::set_global_default(subscriber);
}
