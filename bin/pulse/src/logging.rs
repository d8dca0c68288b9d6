//! Where pulse's log lines go, in the original's shapes: `pulse: message`
//! on stdout with `-n` (piranha.md §1, `piranha_log`), else syslog with
//! ident `pulse`, facility daemon. The message text is all there is:
//! monitoring scripts grep it. The sink (one prefix, non-blocking syslog,
//! repeated warnings rate-limited) and the subscriber feeding it tracing
//! events are [`daemon::trace`]'s, as lvsd's; this module only names pulse.

use daemon::trace::{LogHandle, Sink};

/// The syslog ident and the stdout name, both the original's `pulse`.
const NAME: &str = "pulse";

/// Install the logger: stdout under `-n`, else syslog; debug lines with
/// `-v`. Called once, in the process that logs (after detaching, so syslog
/// lines carry the daemon's pid). Keep the handle until exit and flush it
/// there: it writes the warnings still held back.
pub fn init(nodaemon: bool, verbose: bool) -> LogHandle {
    let sink = if nodaemon { Sink::Stdout } else { Sink::Syslog };
    daemon::trace::init(NAME, NAME, sink, verbose)
}
