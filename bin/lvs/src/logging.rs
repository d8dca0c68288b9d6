//! Where lvsd's log lines go, in the original's shapes: syslog with ident
//! `lvsd`, facility daemon, level info, when it runs as a daemon; stdout as
//! `lvs: <message>` with `--nodaemon`. Monitoring scripts grep these lines,
//! so the message text is all there is: no timestamps or levels of ours.
//! The sink itself (one prefix, non-blocking syslog, repeated warnings
//! rate-limited) and the subscriber feeding it tracing events are
//! [`::daemon::trace`]'s; this module only names lvsd.

use ::daemon::trace::LogHandle;
pub use ::daemon::trace::Sink;

/// The syslog ident, as the original's `openlog("lvsd")`.
const IDENT: &str = "lvsd";
/// The name on stdout lines, as the original's `piranha_log` ("lvs").
const STDOUT_NAME: &str = "lvs";

/// Install the process's log subscriber. `verbose` lets the original's
/// `DEBUG --` lines (our `debug!`) through. Call after detaching (syslog
/// lines carry the pid of the process that calls this). Keep the handle
/// until exit and flush it there: it writes the warnings still held back.
pub fn init(sink: Sink, verbose: bool) -> LogHandle {
    ::daemon::trace::init(IDENT, STDOUT_NAME, sink, verbose)
}
