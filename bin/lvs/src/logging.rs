//! Where lvsd's log lines go, in the original's shapes: syslog with ident
//! `lvsd`, facility daemon, level info, when it runs as a daemon; stdout as
//! `lvs: <message>` with `--nodaemon`. Monitoring scripts grep these lines,
//! so the message text is all there is: no timestamps or levels of ours.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::Registry;
use tracing_subscriber::{Layer, filter::LevelFilter};

/// Where log lines go.
pub enum Sink {
    /// `lvs: message` on stdout (`--nodaemon`).
    Stdout,
    /// The local syslog socket.
    Syslog(Syslog),
}

/// A connection to the local syslog daemon (`/dev/log`).
pub struct Syslog {
    socket: Option<UnixDatagram>,
    pid: u32,
}

/// syslog facility daemon (3) × 8 + level info (6), as the original's
/// `openlog(ident, LOG_PID, LOG_DAEMON)` + `LOG_INFO` for every message.
const PRI_DAEMON_INFO: u8 = 3 * 8 + 6;

impl Syslog {
    /// Connect to `/dev/log`; if there is no syslog daemon, lines are
    /// dropped (as syslog(3) does) rather than failing the daemon.
    pub fn connect() -> Self {
        let socket = UnixDatagram::unbound()
            .ok()
            .filter(|s| s.connect("/dev/log").is_ok());
        Syslog {
            socket,
            pid: std::process::id(),
        }
    }

    fn send(&self, message: &str) {
        if let Some(socket) = &self.socket {
            let line = format!("<{PRI_DAEMON_INFO}>lvsd[{}]: {message}", self.pid);
            let _ = socket.send(line.as_bytes());
        }
    }
}

struct LineLayer {
    sink: Mutex<Sink>,
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

impl<S: Subscriber> Layer<S> for LineLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut msg = Message::default();
        event.record(&mut msg);
        let Ok(sink) = self.sink.lock() else {
            return;
        };
        match &*sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "lvs: {}", msg.0);
                let _ = out.flush();
            }
            Sink::Syslog(s) => s.send(&msg.0),
        }
    }
}

/// Install the process's log subscriber. `verbose` lets the original's
/// `DEBUG --` lines (our `debug!`) through.
pub fn init(sink: Sink, verbose: bool) {
    let level = if verbose {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let layer = LineLayer {
        sink: Mutex::new(sink),
    }
    .with_filter(level);
    let subscriber = Registry::default().with(layer);
    // A second init (tests) keeps the first subscriber; nothing to do.
    let _ = tracing::subscriber::set_global_default(subscriber);
}
