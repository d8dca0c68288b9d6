//! What the templates show, built from the helper's answers by pure
//! functions (no I/O), so that rendering can be tested and benchmarked on
//! synthetic snapshots. The templates are compiled in (askama) and escape
//! every value by construction.

use std::time::{SystemTime, UNIX_EPOCH};

/// The tab bar of the original (SG §4.2), plus the pages it lacked.
pub const TABS: &[(&str, &str, &str)] = &[
    ("status", "/status", "CONTROL/MONITORING"),
    ("global", "/panel/global", "GLOBAL SETTINGS"),
    ("redundancy", "/panel/redundancy", "REDUNDANCY"),
    ("virtual", "/panel/virtuals", "VIRTUAL SERVERS"),
    ("changes", "/changes", "CHANGES"),
    ("history", "/history", "HISTORY"),
];

/// The logged-in part of every page: who, the form token, the current
/// tab, the number of staged edits.
#[derive(Debug, Clone)]
pub struct Nav {
    pub user: String,
    pub role: &'static str,
    pub csrf: String,
    pub tab: &'static str,
    /// The user's staged edits (not the `serial_no` renumbering).
    pub pending: usize,
    /// Whether `serial_no`'s renumbering is staged with them.
    pub renumbered: bool,
    /// `service = fos`: the fourth tab is FAILOVER, as in the original.
    pub fos: bool,
}

/// One entry of the tab bar.
pub struct Tab {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

impl Nav {
    pub fn tabs(&self) -> Vec<Tab> {
        TABS.iter()
            .map(|&(id, href, label)| {
                let (href, label) = match id {
                    "virtual" if self.fos => ("/panel/failovers", "FAILOVER"),
                    _ => (href, label),
                };
                Tab {
                    href,
                    label,
                    current: id == self.tab,
                }
            })
            .collect()
    }
}

/// Whether lvs.cf's `text` runs the legacy failover services
/// (`service = fos`) instead of the virtual servers.
pub fn is_fos(text: &str) -> bool {
    lvscf::Document::open(text.to_owned())
        .get(&lvscf::Address::global("service"))
        .ok()
        .flatten()
        .is_some_and(|v| v.as_tokens() == ["fos"])
}

/// A message at the top of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `error`, `banner` (information) or `runtime`.
    pub class: &'static str,
    pub text: String,
}

impl Notice {
    pub fn error(text: impl Into<String>) -> Notice {
        Notice {
            class: "error",
            text: text.into(),
        }
    }

    pub fn info(text: impl Into<String>) -> Notice {
        Notice {
            class: "banner",
            text: text.into(),
        }
    }
}

/// One line of a unified diff with its CSS class (`add`, `del`, `ctx`).
pub struct DiffLine {
    pub class: &'static str,
    pub text: String,
}

/// A unified diff's lines, classed for colour (the `+`/`-` stay in the
/// text, so a text browser shows the same).
pub fn diff_lines(diff: &str) -> Vec<DiffLine> {
    diff.lines()
        .map(|l| DiffLine {
            class: if l.starts_with("+++") || l.starts_with("---") || l.starts_with("@@") {
                "ctx"
            } else if l.starts_with('+') {
                "add"
            } else if l.starts_with('-') {
                "del"
            } else {
                "ctx"
            },
            text: l.to_owned(),
        })
        .collect()
}

/// Revision and write times, as the helper's command line shows them too.
pub use admin::time::utc;

/// Now, seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// lvsd's snapshot for the status page.
pub mod status {
    use std::fmt::Write as _;

    use director::status::{ServerStatus, Status, VirtualStatus};

    /// A daemon's line on the status page.
    #[derive(Debug, Clone, Default)]
    pub struct DaemonView {
        pub running: bool,
        /// `running`, `not running`, `unreachable`.
        pub state: &'static str,
        pub reason: String,
        pub summary: String,
        pub reload_error: String,
    }

    /// One heartbeat path.
    #[derive(Debug, Clone, Default)]
    pub struct PathView {
        pub name: String,
        pub partner: String,
        pub age: String,
        pub said: String,
    }

    /// pulse's part.
    #[derive(Debug, Clone, Default)]
    pub struct PulseView {
        pub running: bool,
        pub state: &'static str,
        pub reason: String,
        pub role: String,
        pub paths: Vec<PathView>,
        pub floating: Vec<String>,
        /// The file pulse runs from, when it is not the one this page
        /// edits (else empty): its role and partner come from there.
        pub other_file: String,
    }

    /// One real server's row.
    #[derive(Debug, Clone)]
    pub struct ServerView {
        pub name: String,
        pub address: String,
        pub health: String,
        pub weight: String,
        pub last_check: String,
        pub pid: String,
        pub active: String,
        pub inactive: String,
        pub total: String,
    }

    /// One virtual server's table.
    #[derive(Debug, Clone)]
    pub struct VirtualView {
        pub name: String,
        pub service: String,
        pub installed: bool,
        pub sorry: bool,
        pub refused: String,
        pub servers: Vec<ServerView>,
    }

    /// The backup router's file as `sync-status` reports it.
    #[derive(Debug, Clone, Default)]
    pub struct BackupView {
        /// `sync-status`'s one line (or why there is none).
        pub summary: String,
        /// The peer's sync address; empty without a peer.
        pub peer: String,
        /// The helper says no sync peer is configured (as opposed to
        /// not answering).
        pub no_peer: bool,
        /// Its lvs.cf's digest, when known.
        pub digest: String,
        pub serial_no: String,
        /// `in sync`, `differs`, `unreachable`, or empty.
        pub state: &'static str,
        /// The last push's write there, when known.
        pub last_write: String,
    }

    /// The whole status page.
    #[derive(Debug, Clone, Default)]
    pub struct StatusView {
        pub file_path: String,
        pub digest: String,
        pub serial_no: String,
        pub file_size: u64,
        pub backup: BackupView,
        pub lvsd: DaemonView,
        pub pulse: PulseView,
        pub virtuals: Vec<VirtualView>,
        pub ipvs_block: String,
    }

    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "-".to_owned(), |v| v.to_string())
    }

    /// lvsd's part: the daemon line and the virtual/real server tables.
    pub fn lvsd(s: &Status, now: u64) -> (DaemonView, Vec<VirtualView>, String) {
        let d = DaemonView {
            running: true,
            // Under -t nothing in the table below was checked or
            // installed: the page says why every virtual is missing.
            state: if s.test_start {
                "running --test-start: no IPVS writes, no checks"
            } else {
                "running"
            },
            reason: String::new(),
            summary: format!(
                "pid {}, {} reloads, last reload {} writes{}, {} writes in all",
                s.pid,
                s.reloads,
                s.last_reload_writes,
                if s.last_reload_failed {
                    " (last reload refused)"
                } else {
                    ""
                },
                s.total_writes
            ),
            reload_error: s.last_reload_error.clone().unwrap_or_default(),
        };
        let virtuals = s.virtuals.iter().map(|v| virtual_view(v, now)).collect();
        (d, virtuals, ipvs_block(s))
    }

    fn virtual_view(v: &VirtualStatus, now: u64) -> VirtualView {
        VirtualView {
            name: v.name.clone(),
            service: v
                .service
                .as_deref()
                .map_or_else(|| "(no IPVS service)".to_owned(), service_words),
            installed: v.installed,
            sorry: v.sorry_server_active,
            refused: v.refused.clone().unwrap_or_default(),
            servers: v.servers.iter().map(|r| server_view(r, now)).collect(),
        }
    }

    fn server_view(r: &ServerStatus, now: u64) -> ServerView {
        let last_check = match (r.last_check_ok, &r.last_check, r.last_check_at) {
            (Some(ok), text, Some(at)) => {
                let mut s = format!(
                    "{} {}s ago",
                    if ok { "ok" } else { "failed" },
                    now.saturating_sub(at)
                );
                if let Some(t) = text
                    && !t.is_empty()
                {
                    let _ = write!(s, ": {t}");
                }
                s
            }
            _ => "no check yet".to_owned(),
        };
        ServerView {
            name: r.name.clone(),
            address: r.address.clone(),
            health: r.health.clone(),
            weight: opt(r.weight),
            last_check,
            pid: opt(r.monitor_pid),
            active: opt(r.active_conns),
            inactive: opt(r.inactive_conns),
            total: opt(r.total_conns),
        }
    }

    /// `-A -t 203.0.113.10:80 -s wlc -p 300` as `TCP 203.0.113.10:80 wlc
    /// persistent 300` (ipvsadm -Ln's words).
    pub fn service_words(spec: &str) -> String {
        let mut proto = "";
        let mut addr = "";
        let mut sched = "";
        let mut extra = Vec::new();
        let mut it = spec.split_whitespace();
        while let Some(w) = it.next() {
            match w {
                "-t" | "-u" | "-f" => {
                    proto = match w {
                        "-t" => "TCP",
                        "-u" => "UDP",
                        _ => "FWM",
                    };
                    addr = it.next().unwrap_or("");
                }
                "-s" => sched = it.next().unwrap_or(""),
                "-p" => extra.push(format!("persistent {}", it.next().unwrap_or(""))),
                "-M" => extra.push(format!("mask {}", it.next().unwrap_or(""))),
                "-A" | "-E" => {}
                other => extra.push(other.to_owned()),
            }
        }
        let mut out = format!("{proto}  {addr} {sched}");
        for e in extra {
            out.push(' ');
            out.push_str(&e);
        }
        out.trim().to_owned()
    }

    /// The table as `ipvsadm -Ln` lays it out (from lvsd's snapshot: the
    /// kernel's own counters, no ipvsadm run).
    pub fn ipvs_block(s: &Status) -> String {
        let mut out = String::from(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Weight ActiveConn InActConn\n",
        );
        for v in s.virtuals.iter().filter(|v| v.installed) {
            let Some(spec) = v.service.as_deref() else {
                continue;
            };
            let _ = writeln!(out, "{}", service_words(spec));
            for r in v.servers.iter().filter(|r| r.weight.is_some()) {
                let _ = writeln!(
                    out,
                    "  -> {:<28} {:<6} {:<10} {}",
                    r.address,
                    opt(r.weight),
                    r.active_conns.unwrap_or(0),
                    r.inactive_conns.unwrap_or(0)
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_classes() {
        let l = diff_lines("--- a/lvs.cf\n+++ b/lvs.cf\n@@ -1 +1 @@\n-a\n+b\n c");
        let c: Vec<_> = l.iter().map(|l| l.class).collect();
        assert_eq!(c, ["ctx", "ctx", "ctx", "del", "add", "ctx"]);
    }

    #[test]
    fn service_words_like_ipvsadm() {
        assert_eq!(
            status::service_words("-A -t 203.0.113.10:80 -s wlc -p 300"),
            "TCP  203.0.113.10:80 wlc persistent 300"
        );
        assert_eq!(status::service_words("-A -f 7 -s rr"), "FWM  7 rr");
    }

    #[test]
    fn tabs_mark_the_current_one() {
        let n = Nav {
            user: "u".into(),
            role: "viewer",
            csrf: "t".into(),
            tab: "history",
            pending: 0,
            renumbered: false,
            fos: false,
        };
        let cur: Vec<_> = n
            .tabs()
            .into_iter()
            .filter(|t| t.current)
            .map(|t| t.label)
            .collect();
        assert_eq!(cur, ["HISTORY"]);
    }

    #[test]
    fn the_fourth_tab_is_failover_under_service_fos() {
        let mut n = Nav {
            user: "u".into(),
            role: "viewer",
            csrf: "t".into(),
            tab: "virtual",
            pending: 0,
            renumbered: false,
            fos: false,
        };
        let fourth = |n: &Nav| {
            let t = n.tabs().into_iter().nth(3).expect("four tabs");
            (t.label, t.href, t.current)
        };
        assert_eq!(fourth(&n), ("VIRTUAL SERVERS", "/panel/virtuals", true));
        n.fos = true;
        assert_eq!(fourth(&n), ("FAILOVER", "/panel/failovers", true));
        assert!(is_fos(
            "serial_no = 1\nprimary = 203.0.113.2\nservice = fos\n"
        ));
        assert!(!is_fos(
            "serial_no = 1\nprimary = 203.0.113.2\nservice = lvs\n"
        ));
        assert!(!is_fos("serial_no = 1\nprimary = 203.0.113.2\n"));
    }
}
