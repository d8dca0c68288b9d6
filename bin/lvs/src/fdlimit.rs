//! How many open files lvsd needs for a configuration, and the limit that
//! allows it. Each monitor costs lvsd descriptors for as long as it runs
//! (measured: 2011 for 1,000 per-server nannies, 611 for 200 shared ones):
//! - a per-server monitor: its report pipe and the handle the runtime
//!   waits on, plus the output pipe for a virtual with a sorry server
//!   (lvsd reads its `[ active ]` lines);
//! - a shared monitor: report pipe, control pipe and wait handle.
//!
//! The usual soft limit of 1024 stops per-process mode at about 500 real
//! servers: lvsd raises its soft limit at start and after each reload, and
//! `lvsd --check` fails when the hard limit cannot hold the file.

use lvscf::Config;

/// What a configuration needs: [`director::check::open_files`], shared
/// with `--check` and the configuration tool's helper.
use director::check::open_files as need;

/// Raise the soft open-file limit for `config`; a line when even the hard
/// limit is too low (the monitors beyond it will fail to start and be
/// retried).
pub fn raise_for(config: &Config) {
    let need = need(config);
    match ::daemon::rlimit::raise_nofile(need.files) {
        Ok(have) if have < need.files => tracing::warn!(
            "open file limit {have} is below the {} that {} monitors need",
            need.files,
            need.monitors
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot raise the open file limit: {e}"),
    }
}
