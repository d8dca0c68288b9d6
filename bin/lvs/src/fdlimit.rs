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

use lvscf::{Config, NannyMode};

/// Descriptors lvsd holds whatever the configuration: stdio, netlink, the
/// status socket and its clients, the runtime, a reload's file.
const OVERHEAD: u64 = 64;

/// What a configuration needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// Monitors lvsd runs (per server, or per virtual when shared).
    pub monitors: u64,
    /// Open files for them and lvsd itself.
    pub files: u64,
    /// `nanny_mode = shared`.
    pub shared: bool,
}

/// The monitors `config` starts (as the daemon's monitor specs: one per
/// active real server of each active virtual, or one per active virtual
/// with any active server in shared mode) and the files they need.
pub fn need(config: &Config) -> Need {
    let shared = config.nanny_mode == NannyMode::Shared;
    let mut monitors = 0u64;
    let mut files = OVERHEAD;
    for vs in config.active_virtuals() {
        let servers = vs.active_servers().count() as u64;
        if shared {
            if servers > 0 {
                monitors += 1;
                files += 3;
            }
        } else {
            let per = if vs.sorry_server.is_some() { 3 } else { 2 };
            monitors += servers;
            files += per * servers;
        }
    }
    Need {
        monitors,
        files,
        shared,
    }
}

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

/// `--check`'s verdict: `Some(message)` when the hard limit `hard` cannot
/// hold what `config` needs.
pub fn check(config: &Config, hard: u64) -> Option<String> {
    let need = need(config);
    if need.files <= hard {
        return None;
    }
    let what = if need.shared {
        format!("{} shared monitors", need.monitors)
    } else {
        format!("{} real servers", need.monitors)
    };
    let advice = if need.shared {
        ""
    } else {
        " or use nanny_mode = shared"
    };
    Some(format!(
        "{what} need about {} open files, but the hard limit (RLIMIT_NOFILE) is {hard}; \
         raise it (LimitNOFILE= in the unit, ulimit -Hn){advice}",
        need.files
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(virtuals: usize, servers: usize, extra: &str) -> Config {
        let mut text = format!("serial_no = 1\nprimary = 192.0.2.1\nservice = lvs\n{extra}");
        for v in 0..virtuals {
            text.push_str(&format!(
                "virtual v{v} {{\n address = 198.51.100.{} eth0:1\n port = {}\n active = 1\n",
                v % 250 + 1,
                1000 + v
            ));
            for s in 0..servers {
                text.push_str(&format!(
                    " server s{s} {{\n  address = 203.0.113.{}\n  active = 1\n }}\n",
                    s % 250 + 1
                ));
            }
            text.push_str("}\n");
        }
        lvscf::parse(&text)
            .config
            .unwrap_or_else(|| panic!("config does not load:\n{text}"))
    }

    #[test]
    fn per_process_needs_two_per_server() {
        let c = config(10, 100, "");
        assert_eq!(
            need(&c),
            Need {
                monitors: 1000,
                files: 2064,
                shared: false
            }
        );
        assert_eq!(
            check(&c, 1024).as_deref(),
            Some(
                "1000 real servers need about 2064 open files, but the hard limit \
                 (RLIMIT_NOFILE) is 1024; raise it (LimitNOFILE= in the unit, ulimit -Hn) \
                 or use nanny_mode = shared"
            )
        );
        assert_eq!(check(&c, 2064), None);
    }

    #[test]
    fn shared_needs_three_per_virtual() {
        let c = config(200, 5, "nanny_mode = shared\n");
        let n = need(&c);
        assert_eq!((n.monitors, n.files, n.shared), (200, 664, true));
        let msg = check(&c, 512).expect("too low");
        assert!(
            msg.starts_with("200 shared monitors need about 664"),
            "{msg}"
        );
        assert!(!msg.contains("nanny_mode"), "{msg}");
    }
}
