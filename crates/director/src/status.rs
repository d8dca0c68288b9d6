//! lvsd's status snapshot: what `lvsd --status --json` writes on its status
//! socket and what its readers (`lvsd --status`, the configuration tool's
//! helper) parse, so both sides use these types and nothing else.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::Health;

/// Everything `--status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// lvsd's pid.
    pub pid: u32,
    /// Configuration file.
    pub configfile: String,
    /// Started with `-t` (`--test-start`): the writes are logged, none is
    /// made, and no monitor runs, so nothing below was checked or
    /// installed. Absent in the JSON of an lvsd that predates it.
    #[serde(default)]
    pub test_start: bool,
    /// Netlink writes made by the last start or reload.
    pub last_reload_writes: usize,
    /// Netlink writes since start.
    pub total_writes: u64,
    /// Reloads since start (refused ones included).
    pub reloads: u64,
    /// Whether the last reload was refused.
    pub last_reload_failed: bool,
    /// Why the last reload was refused: the lines lvsd logged (its
    /// diagnostics), one per line. `None` after a reload that loaded.
    /// Absent in the JSON of an lvsd that predates it.
    #[serde(default)]
    pub last_reload_error: Option<String>,
    /// SHA-256 (64 lower-case hex digits) of the bytes of the file the
    /// running table came from (the start's, or the last reload that
    /// loaded; a refused reload leaves it): a writer of lvs.cf knows its
    /// own file is running when this is its digest, whoever sent the
    /// SIGHUP. Absent in the JSON of an lvsd that predates it.
    #[serde(default)]
    pub config_digest: Option<String>,
    /// Active virtual servers.
    pub virtuals: Vec<VirtualStatus>,
}

/// One active virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualStatus {
    /// Block name.
    pub name: String,
    /// The service, as `ipvsadm -S -n` writes it; `None` if not mappable.
    pub service: Option<String>,
    /// Whether the kernel has it.
    pub installed: bool,
    /// Why it is not installed, if the kernel refused it.
    pub refused: Option<String>,
    /// Whether its sorry server is in the table.
    pub sorry_server_active: bool,
    /// Its active real servers.
    pub servers: Vec<ServerStatus>,
}

/// One real server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// Block name.
    pub name: String,
    /// `address:port`.
    pub address: String,
    /// `up`, `quiesced`, `down`, `drained` (passing, held at weight 0 by
    /// `lvsd --control drain`), `unknown`, `managed` (programmed by a
    /// monitor that does not report to lvsd).
    pub health: String,
    /// Weight in the kernel table, `None` when not in it.
    pub weight: Option<u32>,
    /// Monitor pid.
    pub monitor_pid: Option<i32>,
    /// Last check: passed?
    pub last_check_ok: Option<bool>,
    /// Last check: what it said.
    pub last_check: Option<String>,
    /// Last check: when (seconds since the epoch).
    pub last_check_at: Option<u64>,
    /// Kernel counters.
    pub active_conns: Option<u32>,
    /// Kernel counters.
    pub inactive_conns: Option<u32>,
    /// Kernel counters.
    pub total_conns: Option<u64>,
}

/// The word [`ServerStatus::health`] holds for `h`.
pub fn health_word(h: Health) -> &'static str {
    match h {
        Health::Unknown => "unknown",
        Health::Up { .. } => "up",
        Health::Quiesced => "quiesced",
        Health::Down => "down",
        Health::Drained => "drained",
        Health::Managed { .. } => "managed",
    }
}

/// The snapshot as lvsd's socket sends it for `status json`.
pub fn to_json(s: &Status) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default() + "\n"
}

/// A snapshot from `status json`'s answer.
pub fn from_json(text: &str) -> Result<Status, serde_json::Error> {
    serde_json::from_str(text)
}

/// The human-readable form, with check ages as of `now` (seconds since
/// the epoch).
pub fn render_at(s: &Status, now: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lvsd pid {} config {}{}: {} reloads, last reload {} writes{}, {} writes in all",
        s.pid,
        s.configfile,
        if s.test_start { " (--test-start)" } else { "" },
        s.reloads,
        s.last_reload_writes,
        if s.last_reload_failed {
            " (last reload refused: bad file)"
        } else {
            ""
        },
        s.total_writes
    );
    if let Some(why) = &s.last_reload_error {
        for line in why.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(d) = &s.config_digest {
        let _ = writeln!(out, "  running lvs.cf {d}");
    }
    for v in &s.virtuals {
        let _ = writeln!(
            out,
            "virtual {}: {}{}{}",
            v.name,
            v.service.as_deref().unwrap_or("(no IPVS service)"),
            if v.installed { "" } else { " [not installed]" },
            if v.sorry_server_active {
                " [sorry server active]"
            } else {
                ""
            }
        );
        if let Some(r) = &v.refused {
            let _ = writeln!(out, "  refused by the kernel: {r}");
        }
        for rs in &v.servers {
            let weight = rs.weight.map_or("-".to_owned(), |w| w.to_string());
            let check = match (&rs.last_check_ok, &rs.last_check, rs.last_check_at) {
                (Some(ok), Some(text), Some(at)) => format!(
                    "{} {}s ago{}",
                    if *ok { "ok" } else { "fail" },
                    now.saturating_sub(at),
                    if text.is_empty() {
                        String::new()
                    } else {
                        format!(": {text}")
                    }
                ),
                _ => "no check yet".to_owned(),
            };
            let _ = writeln!(
                out,
                "  server {} {} {} weight {} conns {}/{} ({} total) pid {} last check {}",
                rs.name,
                rs.address,
                rs.health,
                weight,
                rs.active_conns.unwrap_or(0),
                rs.inactive_conns.unwrap_or(0),
                rs.total_conns.unwrap_or(0),
                rs.monitor_pid.map_or("-".to_owned(), |p| p.to_string()),
                check
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            pid: 4242,
            configfile: "/etc/sysconfig/ha/lvs.cf".into(),
            test_start: false,
            last_reload_writes: 1,
            total_writes: 9,
            reloads: 3,
            last_reload_failed: true,
            last_reload_error: Some("error parsing lvs.cf on line 3.\nlvs.cf:3:9: error: x".into()),
            config_digest: Some(
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            ),
            virtuals: vec![VirtualStatus {
                name: "web".into(),
                service: Some("-A -t 203.0.113.10:80 -s wlc".into()),
                installed: true,
                refused: None,
                sorry_server_active: false,
                servers: vec![
                    ServerStatus {
                        name: "web1".into(),
                        address: "192.0.2.11:80".into(),
                        health: health_word(Health::Up { weight: 3 }).into(),
                        weight: Some(3),
                        monitor_pid: Some(77),
                        last_check_ok: Some(true),
                        last_check: Some(String::new()),
                        last_check_at: Some(1_700_000_000),
                        active_conns: Some(1),
                        inactive_conns: Some(2),
                        total_conns: Some(3),
                    },
                    ServerStatus {
                        name: "web2".into(),
                        address: "192.0.2.12:80".into(),
                        health: "unknown".into(),
                        weight: None,
                        monitor_pid: None,
                        last_check_ok: None,
                        last_check: None,
                        last_check_at: None,
                        active_conns: None,
                        inactive_conns: None,
                        total_conns: None,
                    },
                    ServerStatus {
                        name: "web3".into(),
                        address: "192.0.2.13:80".into(),
                        health: health_word(Health::Drained).into(),
                        weight: Some(0),
                        monitor_pid: Some(78),
                        last_check_ok: Some(true),
                        last_check: Some(String::new()),
                        last_check_at: Some(1_700_000_004),
                        active_conns: Some(4),
                        inactive_conns: Some(0),
                        total_conns: Some(9),
                    },
                ],
            }],
        }
    }

    #[test]
    fn the_json_round_trips() {
        let s = sample();
        assert_eq!(from_json(&to_json(&s)).expect("parse"), s);
    }

    #[test]
    fn an_older_lvsd_without_the_reload_error_still_parses() {
        let mut s = sample();
        s.last_reload_error = None;
        s.config_digest = None;
        s.test_start = false;
        let mut v = serde_json::to_value(&s).expect("value");
        let o = v.as_object_mut().expect("object");
        o.remove("last_reload_error");
        o.remove("config_digest");
        o.remove("test_start");
        assert_eq!(from_json(&v.to_string()).expect("parse"), s);
    }

    #[test]
    fn the_digest_is_in_the_json_and_the_text() {
        let s = sample();
        let json = to_json(&s);
        assert!(json.contains(r#""config_digest": "ba7816bf"#), "{json}");
        let text = render_at(&s, 1_700_000_005);
        assert!(
            text.contains("\n  running lvs.cf ba7816bf8f01cfea"),
            "{text}"
        );
    }

    #[test]
    fn test_start_is_in_the_json_and_the_text() {
        let mut s = sample();
        assert!(!render_at(&s, 1_700_000_005).contains("--test-start"));
        s.test_start = true;
        assert!(to_json(&s).contains(r#""test_start": true"#));
        let text = render_at(&s, 1_700_000_005);
        assert!(
            text.starts_with("lvsd pid 4242 config /etc/sysconfig/ha/lvs.cf (--test-start): "),
            "{text}"
        );
    }

    #[test]
    fn the_text_names_the_refusal() {
        let text = render_at(&sample(), 1_700_000_005);
        assert!(text.contains("(last reload refused: bad file)"), "{text}");
        assert!(text.contains("\n  lvs.cf:3:9: error: x\n"), "{text}");
        assert!(
            text.contains("server web2 192.0.2.12:80 unknown weight - "),
            "{text}"
        );
        assert!(text.contains("last check ok 5s ago\n"), "{text}");
        assert!(
            text.contains("server web3 192.0.2.13:80 drained weight 0 conns 4/0 "),
            "{text}"
        );
    }
}
