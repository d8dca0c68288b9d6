//! pulse's status snapshot: what `pulse --status --json` writes on its
//! status socket and what its readers (`pulse --status`, the configuration
//! tool's helper) parse, so both sides use these types and nothing else.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Everything `--status` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// pulse's pid.
    pub pid: u32,
    /// `master` (we hold `primary`) or `backup`.
    pub role: String,
    /// Whether this router is the active one.
    pub active: bool,
    /// `LINKFAIL`, `CHILDFAIL`.
    pub flags: Vec<String>,
    /// `--test-start`.
    pub test_start: bool,
    /// One entry per heartbeat path (public first).
    pub paths: Vec<PathStatus>,
    /// Floating addresses this pulse holds (`ADDR/PREFIX LABEL`).
    pub floating: Vec<String>,
    /// lvsd's pid while it runs.
    pub lvsd_pid: Option<u32>,
    /// Configuration file.
    pub configfile: String,
}

/// One heartbeat path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStatus {
    /// `public` or `private`.
    pub name: String,
    /// Our bound address.
    pub local: String,
    /// The partner's address.
    pub partner: String,
    /// Seconds since the last valid heartbeat on this path.
    pub last_heartbeat_age: Option<f64>,
    /// What it said (`RUNNING`/`STOPPED`).
    pub last_heartbeat: Option<String>,
}

/// The text form.
pub fn render(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pulse pid {}: {} {}{}{}",
        s.pid,
        s.role,
        if s.active { "active" } else { "inactive" },
        if s.flags.is_empty() { "" } else { " " },
        s.flags.join(" ")
    );
    let _ = writeln!(out, "config {}", s.configfile);
    for p in &s.paths {
        let age = p
            .last_heartbeat_age
            .map_or("never".to_owned(), |a| format!("{a:.3}s ago"));
        let _ = writeln!(
            out,
            "heartbeat {} {} -> partner {}: last {} {}",
            p.name,
            p.local,
            p.partner,
            p.last_heartbeat.as_deref().unwrap_or("-"),
            age
        );
    }
    if s.floating.is_empty() {
        let _ = writeln!(out, "floating none");
    }
    for f in &s.floating {
        let _ = writeln!(out, "floating {f}");
    }
    let _ = writeln!(
        out,
        "lvsd {}{}",
        s.lvsd_pid
            .map_or("not running".to_owned(), |p| format!("pid {p}")),
        if s.test_start { " (--test-start)" } else { "" }
    );
    out
}

/// The snapshot as pulse's socket sends it for `status json`.
pub fn to_json(s: &Status) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default() + "\n"
}

/// A snapshot from `status json`'s answer.
pub fn from_json(text: &str) -> Result<Status, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            pid: 99,
            role: "master".into(),
            active: true,
            flags: vec!["LINKFAIL".into()],
            test_start: false,
            paths: vec![
                PathStatus {
                    name: "public".into(),
                    local: "203.0.113.2:539".into(),
                    partner: "203.0.113.3:539".into(),
                    last_heartbeat_age: Some(0.25),
                    last_heartbeat: Some("RUNNING".into()),
                },
                PathStatus {
                    name: "private".into(),
                    local: "198.51.100.2:539".into(),
                    partner: "198.51.100.3:539".into(),
                    last_heartbeat_age: None,
                    last_heartbeat: None,
                },
            ],
            floating: vec!["203.0.113.10/24 eth0:1".into()],
            lvsd_pid: Some(100),
            configfile: "/etc/sysconfig/ha/lvs.cf".into(),
        }
    }

    #[test]
    fn the_json_round_trips() {
        let s = sample();
        assert_eq!(from_json(&to_json(&s)).expect("parse"), s);
    }

    #[test]
    fn the_text_form() {
        let text = render(&sample());
        assert!(
            text.starts_with("pulse pid 99: master active LINKFAIL\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "heartbeat private 198.51.100.2:539 -> partner 198.51.100.3:539: last - never\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("lvsd pid 100\n"), "{text}");
    }
}
