//! pulse under systemd's `Type=notify` (`systemd/pulse.service`): the
//! notifier from the environment, and the one-line `STATUS=` that
//! `systemctl status pulse` shows. The protocol itself is
//! [`daemon::notify`]'s.
//!
//! The line changes only with the role, the active state, the flags and
//! the partner's state (never with a heartbeat's age), so the engine sends
//! it when it differs from the last one sent.

use std::time::Duration;

use daemon::notify::Notifier;
use tracing::warn;

use crate::status::Status;

/// From `NOTIFY_SOCKET` / `WATCHDOG_USEC`; a malformed variable is logged
/// and treated as absent (pulse still runs).
pub fn from_env() -> Notifier {
    Notifier::from_env().unwrap_or_else(|e| {
        warn!("ignoring systemd's notification variables: {e}");
        Notifier::disabled()
    })
}

/// Whether systemd started us as `Type=notify`: then pulse stays in the
/// foreground (and still logs to syslog).
pub fn under_systemd() -> bool {
    Notifier::from_env().is_ok_and(|n| n.enabled())
}

/// `master, active; partner 203.0.113.3 alive`, with the flags after the
/// state and ` (test-start)` at the end under `-t`. The partner is alive
/// when its latest heartbeat on any path is a RUNNING one younger than
/// `deadtime`, stopped when it is a STOPPED one, silent otherwise.
pub fn status_line(s: &Status, deadtime: Duration) -> String {
    let mut line = format!(
        "{}, {}",
        s.role,
        if s.active { "active" } else { "inactive" }
    );
    for f in &s.flags {
        line.push_str(", ");
        line.push_str(f);
    }
    let partner = s
        .paths
        .first()
        .map(|p| p.partner.rsplit_once(':').map_or(&*p.partner, |(a, _)| a))
        .map(|a| a.trim_start_matches('[').trim_end_matches(']'))
        .filter(|a| *a != "0.0.0.0" && *a != "::");
    match partner {
        None => line.push_str("; no partner"),
        Some(addr) => {
            let latest = s
                .paths
                .iter()
                .filter_map(|p| Some((p.last_heartbeat_age?, p.last_heartbeat.as_deref()?)))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            let state = match latest {
                Some((age, "STOPPED")) if age <= deadtime.as_secs_f64() => "stopped",
                Some((age, _)) if age <= deadtime.as_secs_f64() => "alive",
                _ => "silent",
            };
            line.push_str(&format!("; partner {addr} {state}"));
        }
    }
    if s.test_start {
        line.push_str(" (test-start)");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::PathStatus;

    fn status(active: bool, paths: Vec<PathStatus>) -> Status {
        Status {
            pid: 1,
            role: "master".into(),
            active,
            flags: Vec::new(),
            test_start: false,
            paths,
            floating: Vec::new(),
            lvsd_pid: None,
            configfile: "/etc/sysconfig/ha/lvs.cf".into(),
        }
    }

    fn path(partner: &str, last: Option<(f64, &str)>) -> PathStatus {
        PathStatus {
            name: "public".into(),
            local: "203.0.113.2:539".into(),
            partner: partner.into(),
            last_heartbeat_age: last.map(|l| l.0),
            last_heartbeat: last.map(|l| l.1.to_owned()),
        }
    }

    const DEAD: Duration = Duration::from_secs(5);

    #[test]
    fn role_state_and_partner() {
        let s = status(false, vec![path("203.0.113.3:539", Some((0.5, "RUNNING")))]);
        assert_eq!(
            status_line(&s, DEAD),
            "master, inactive; partner 203.0.113.3 alive"
        );
        let s = status(true, vec![path("203.0.113.3:539", Some((7.0, "RUNNING")))]);
        assert_eq!(
            status_line(&s, DEAD),
            "master, active; partner 203.0.113.3 silent"
        );
        let s = status(true, vec![path("203.0.113.3:539", None)]);
        assert_eq!(
            status_line(&s, DEAD),
            "master, active; partner 203.0.113.3 silent"
        );
        let s = status(true, vec![path("203.0.113.3:539", Some((0.1, "STOPPED")))]);
        assert_eq!(
            status_line(&s, DEAD),
            "master, active; partner 203.0.113.3 stopped"
        );
    }

    #[test]
    fn the_freshest_path_counts() {
        let s = status(
            false,
            vec![
                path("203.0.113.3:539", Some((9.0, "RUNNING"))),
                path("198.51.100.3:539", Some((0.2, "RUNNING"))),
            ],
        );
        assert_eq!(
            status_line(&s, DEAD),
            "master, inactive; partner 203.0.113.3 alive"
        );
    }

    #[test]
    fn flags_ipv6_no_partner_and_test_start() {
        let mut s = status(
            false,
            vec![path("[2001:db8::3]:539", Some((0.1, "RUNNING")))],
        );
        s.flags = vec!["LINKFAIL".into(), "CHILDFAIL".into()];
        s.test_start = true;
        s.role = "backup".into();
        assert_eq!(
            status_line(&s, DEAD),
            "backup, inactive, LINKFAIL, CHILDFAIL; partner 2001:db8::3 alive (test-start)"
        );
        let s = status(true, vec![path("0.0.0.0:539", None)]);
        assert_eq!(status_line(&s, DEAD), "master, active; no partner");
    }
}
