//! `lvsd --check`, `--dry-run` and `--diff` as functions: what a file
//! means before anything touches the kernel. `lvsd` prints these; the
//! configuration tool's helper sends them over its socket. One code path,
//! so the two cannot disagree on a single diagnostic.
//!
//! The only I/O here is [`HostSettings::read`] (two `/proc/sys` flags);
//! the file is read by the caller ([`lvscf::parse_file`]), the open-file
//! limit is passed in, and the kernel table comes through [`IpvsTable`].

use std::collections::{HashMap, HashSet};
use std::fs;

use ipvs::IpvsTable;
use lvscf::{Config, Diagnostic, NannyMode, ParsedFile, Severity};

use crate::{AllHealthy, Health, ServerId, desired_table};

/// Host settings the admin guide asks for, read from `/proc/sys`. `None`
/// when unreadable (not Linux, no IPVS module loaded, no permission).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// `net.ipv4.ip_forward`.
    pub ip_forward: Option<bool>,
    /// `net.ipv4.vs.expire_quiescent_template`.
    pub expire_quiescent_template: Option<bool>,
}

impl HostSettings {
    /// Read from this machine.
    pub fn read() -> Self {
        HostSettings {
            ip_forward: read_flag("/proc/sys/net/ipv4/ip_forward"),
            expire_quiescent_template: read_flag("/proc/sys/net/ipv4/vs/expire_quiescent_template"),
        }
    }
}

fn read_flag(path: &str) -> Option<bool> {
    fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .map(|v| v != 0)
}

/// What the check looks at besides the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Host {
    /// The kernel settings.
    pub settings: HostSettings,
    /// The hard open-file limit lvsd would run under (`None`: unknown, not
    /// checked).
    pub nofile_hard: Option<u64>,
}

/// `--check`'s verdict on a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The file's name as printed before each diagnostic.
    pub name: String,
    /// Every diagnostic with a place, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings about a valid file that need the whole configuration or
    /// the host ([`semantic_warnings`]).
    pub file_warnings: Vec<String>,
    /// An error about the whole file: the monitors do not fit under the
    /// open-file limit.
    pub file_error: Option<String>,
    /// The configuration, when the file has no diagnostic error.
    pub config: Option<Config>,
}

impl Report {
    /// Whether lvsd --check passes (exit 0).
    pub fn ok(&self) -> bool {
        self.config.is_some() && self.file_error.is_none()
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// What `lvsd --check` prints on stderr: each diagnostic with its line
    /// and caret, the file's warnings, and the closing notes. `src` is the
    /// text the diagnostics point into.
    pub fn stderr(&self, src: &str) -> String {
        let name = &self.name;
        // The lines once, not a scan of the file per diagnostic.
        let lines: Vec<&str> = src.split('\n').collect();
        let mut out = String::new();
        for d in &self.diagnostics {
            let text = lines.get(d.line.saturating_sub(1)).copied().unwrap_or("");
            out.push_str(&d.render_line(name, text));
        }
        if self.config.is_none() {
            out.push_str(&format!(
                "error: {name} not loaded: {}, {}\n",
                plural(self.count(Severity::Error), "error"),
                plural(self.count(Severity::Warning), "warning")
            ));
            return out;
        }
        for w in &self.file_warnings {
            out.push_str(&format!("{name}: warning: {w}\n"));
        }
        if let Some(e) = &self.file_error {
            out.push_str(&format!("{name}: error: {e}\n"));
            return out;
        }
        let notes = self.count(Severity::Note);
        if notes > 0 {
            out.push_str(&format!(
                "note: {} an original piranha 0.8.6 router would reject; \
                 keep them out while the other router still runs it\n",
                plural(notes, "line")
            ));
        }
        out
    }

    /// What `lvsd --check` prints on stdout: the summary of a file that
    /// passes, nothing otherwise.
    pub fn stdout(&self) -> String {
        let Some(config) = self.config.as_ref().filter(|_| self.file_error.is_none()) else {
            return String::new();
        };
        let virtuals = config.virtuals.len();
        let active = config.active_virtuals().count();
        let servers: usize = config.virtuals.iter().map(|v| v.servers.len()).sum();
        let warnings = self.count(Severity::Warning) + self.file_warnings.len();
        let mut line = format!(
            "ok: {} ({active} active), {}",
            plural(virtuals, "virtual server"),
            plural(servers, "real server")
        );
        if warnings > 0 {
            line.push_str(&format!(", {}", plural(warnings, "warning")));
        }
        line.push('\n');
        line
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `--check` of a file [`lvscf::parse_file`] read, named `name` in the
/// output.
pub fn check(file: &ParsedFile, name: &str, host: &Host) -> Report {
    let config = file.parsed.config.clone();
    let mut report = Report {
        name: name.to_owned(),
        diagnostics: file.parsed.diagnostics.clone(),
        file_warnings: Vec::new(),
        file_error: None,
        config: None,
    };
    if let Some(config) = config {
        report.file_warnings = semantic_warnings(&config, &host.settings);
        // The monitors lvsd would run must fit under the hard open-file
        // limit (it raises only the soft one).
        report.file_error = host
            .nofile_hard
            .and_then(|hard| open_files_check(&config, hard));
        report.config = Some(config);
    }
    report
}

/// Findings about a valid file that need the whole configuration or the
/// host: virtuals or servers the table cannot hold, and the kernel settings
/// the admin guide asks for.
pub fn semantic_warnings(config: &Config, host: &HostSettings) -> Vec<String> {
    let mut out = Vec::new();
    if config.service == lvscf::ServiceKind::Lvs && config.active_virtuals().count() == 0 {
        out.push(
            "no active virtual server: pulse will refuse to start \
             (\"no active lvs services defined\")"
                .to_owned(),
        );
    }
    if config.nanny_mode == NannyMode::Shared {
        for vs in config
            .active_virtuals()
            .filter(|v| v.client_monitor != lvscf::model::DEFAULT_CLIENT_MONITOR)
        {
            out.push(format!(
                "virtual {}: nanny_mode = shared starts client_monitor {} with --shared; \
                 only this project's nanny understands it",
                vs.name, vs.client_monitor
            ));
        }
    }
    for skipped in desired_table(config, &AllHealthy).skipped {
        out.push(format!("{skipped}: left out of the IPVS table"));
    }
    let runs_nat = config.network == lvscf::Forwarding::Nat && config.active_virtuals().count() > 0;
    if runs_nat && host.ip_forward == Some(false) {
        out.push(
            "network = nat but net.ipv4.ip_forward = 0: replies from the real servers \
             will not be forwarded (set net.ipv4.ip_forward = 1 in /etc/sysctl.conf)"
                .to_owned(),
        );
    }
    if host.expire_quiescent_template == Some(false) {
        for vs in config
            .active_virtuals()
            .filter(|v| v.quiesce_server && v.persistent > 0)
        {
            out.push(format!(
                "virtual {}: quiesce_server = 1 with persistence, but \
                 net.ipv4.vs.expire_quiescent_template = 0: persistent clients keep \
                 going to a quiesced server (set it to 1)",
                vs.name
            ));
        }
    }
    out
}

/// Descriptors lvsd holds whatever the configuration: stdio, netlink, the
/// status socket and its clients, the runtime, a reload's file.
const OVERHEAD: u64 = 64;

/// The open files a configuration needs lvsd to hold. Each monitor costs
/// lvsd descriptors for as long as it runs (measured: 2011 for 1,000
/// per-server nannies, 611 for 200 shared ones):
/// - a per-server monitor: its report pipe and the handle the runtime
///   waits on, plus the output pipe for a virtual with a sorry server
///   (lvsd reads its `[ active ]` lines);
/// - a shared monitor: report pipe, control pipe and wait handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
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
pub fn open_files(config: &Config) -> OpenFiles {
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
    OpenFiles {
        monitors,
        files,
        shared,
    }
}

/// `--check`'s verdict on the open-file limit: `Some(message)` when the
/// hard limit `hard` cannot hold what `config` needs.
pub fn open_files_check(config: &Config, hard: u64) -> Option<String> {
    let need = open_files(config);
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

/// The converged table as `ipvsadm -S -n` lines (`--dry-run`).
pub fn table_text(config: &Config) -> String {
    let table = desired_table(config, &AllHealthy);
    let mut text = String::new();
    for ds in &table.services {
        text.push_str(&ipvs::save::service_line(&ds.service));
        text.push('\n');
        for d in &ds.destinations {
            if let crate::DesiredDestination::Present { destination, .. } = d {
                text.push_str(&ipvs::save::destination_line(&ds.service.key, destination));
                text.push('\n');
            }
        }
    }
    text
}

/// `--diff`: the writes a reload of `config` would make against the table
/// `table` holds now, as ipvsadm command lines, without making them.
///
/// A reload keeps serving servers serving (at their new configured weight)
/// and adds new servers only once their first check passes, so a server
/// the kernel has is taken as healthy, one it lacks as not checked yet.
/// Services of virtuals removed from the file are known only to the
/// running daemon; they are not listed.
pub fn diff(config: &Config, table: &mut dyn IpvsTable) -> Result<Vec<String>, String> {
    let current = table
        .list()
        .map_err(|e| format!("cannot read the IPVS table: {e}"))?;
    let timeouts = table.timeouts().ok();

    let mut health: HashMap<ServerId, Health> = HashMap::new();
    for vs in config.active_virtuals() {
        let Ok(service) = crate::desired::service_of(vs) else {
            continue;
        };
        let entry = current.iter().find(|e| e.service.key == service.key);
        for rs in vs.active_servers() {
            let kernel = entry.and_then(|e| {
                e.destinations
                    .iter()
                    .find(|d| d.destination.addr == rs.address && d.destination.port == rs.port)
            });
            let h = match kernel {
                Some(d) if d.destination.weight == 0 && vs.quiesce_server => Health::Quiesced,
                Some(_) => Health::Up { weight: rs.weight },
                None => Health::Unknown,
            };
            health.insert(ServerId::new(&vs.name, &rs.name), h);
        }
    }
    let desired = desired_table(config, &health);
    let plan = crate::plan(&desired, &current, &HashSet::new(), timeouts);
    Ok(plan
        .steps
        .iter()
        .map(|step| crate::reconcile::ipvsadm_line(&step.change))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(src: &str) -> ParsedFile {
        ParsedFile {
            path: "lvs.cf".into(),
            source: src.to_owned(),
            parsed: lvscf::parse_with(src, &lvscf::OfflineResolver),
        }
    }

    fn parse(src: &str) -> Config {
        lvscf::parse(src).config.expect("valid test config")
    }

    #[test]
    fn eight_thousand_errors_print_in_linear_time() {
        // Each diagnostic used to scan the file for its line: 8,000 errors
        // took 2.15 s in a release build, far longer in a test build.
        let mut src = String::new();
        for i in 0..8000 {
            src.push_str(&format!(
                "virtual v{i} {{\n active = 1\n address = 192.0.2.1 eth0:1\n port = nosuch{i}\n}}\n"
            ));
        }
        let report = check(&parsed(&src), "lvs.cf", &Host::default());
        assert_eq!(report.count(Severity::Error), 8000);
        assert!(!report.ok());
        let started = std::time::Instant::now();
        let text = report.stderr(&src);
        let took = started.elapsed();
        assert!(text.contains("lvs.cf:39999:9: error: port: unknown service name \"nosuch7999\""));
        assert!(text.ends_with("error: lvs.cf not loaded: 8000 errors, 0 warnings\n"));
        assert_eq!(report.stdout(), "");
        assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    }

    const NAT_PERSISTENT: &str = "\
network = nat
virtual web {
    active = 1
    address = 203.0.113.10 eth0:1
    persistent = 300
    pmask = 255.255.255.0
    quiesce_server = 1
    server a {
        address = 192.0.2.11
        active = 1
        weight = 3
    }
}
";

    #[test]
    fn host_settings_the_guide_asks_for() {
        let config = parse(NAT_PERSISTENT);
        let bad = HostSettings {
            ip_forward: Some(false),
            expire_quiescent_template: Some(false),
        };
        let w = semantic_warnings(&config, &bad);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("net.ipv4.ip_forward"));
        assert!(w[1].contains("expire_quiescent_template"));
        let good = HostSettings {
            ip_forward: Some(true),
            expire_quiescent_template: Some(true),
        };
        assert!(semantic_warnings(&config, &good).is_empty());
        // Unreadable settings are not guessed at.
        assert!(semantic_warnings(&config, &HostSettings::default()).is_empty());
        // In the report: printed after the diagnostics, counted in the
        // summary.
        let host = Host {
            settings: bad,
            nofile_hard: None,
        };
        let report = check(&parsed(NAT_PERSISTENT), "lvs.cf", &host);
        assert!(report.ok());
        assert!(
            report
                .stderr(NAT_PERSISTENT)
                .starts_with("lvs.cf: warning: network = nat")
        );
        assert_eq!(
            report.stdout(),
            "ok: 1 virtual server (1 active), 1 real server, 2 warnings\n"
        );
    }

    #[test]
    fn no_active_virtual_and_foreign_shared_monitor() {
        let config = parse("virtual web {\n    address = 203.0.113.10 eth0:1\n}\n");
        let w = semantic_warnings(&config, &HostSettings::default());
        assert!(w[0].contains("pulse will refuse to start"), "{w:?}");
        let text = format!(
            "nanny_mode = shared\n{}",
            NAT_PERSISTENT.replace(
                "    quiesce_server = 1\n",
                "    client_monitor = /usr/local/bin/mycheck\n"
            )
        );
        let w = semantic_warnings(&parse(&text), &HostSettings::default());
        assert!(
            w.iter().any(|w| w.contains("only this project's nanny")),
            "{w:?}"
        );
    }

    #[test]
    fn dry_run_prints_ipvsadm_save_lines() {
        let config = parse(NAT_PERSISTENT);
        assert_eq!(
            table_text(&config),
            "-A -t 203.0.113.10:80 -s wlc -p 300 -M 255.255.255.0\n\
             -a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 3\n"
        );
    }

    fn many(virtuals: usize, servers: usize, extra: &str) -> Config {
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
        let c = many(10, 100, "");
        assert_eq!(
            open_files(&c),
            OpenFiles {
                monitors: 1000,
                files: 2064,
                shared: false
            }
        );
        assert_eq!(
            open_files_check(&c, 1024).as_deref(),
            Some(
                "1000 real servers need about 2064 open files, but the hard limit \
                 (RLIMIT_NOFILE) is 1024; raise it (LimitNOFILE= in the unit, ulimit -Hn) \
                 or use nanny_mode = shared"
            )
        );
        assert_eq!(open_files_check(&c, 2064), None);
    }

    #[test]
    fn shared_needs_three_per_virtual() {
        let c = many(200, 5, "nanny_mode = shared\n");
        let n = open_files(&c);
        assert_eq!((n.monitors, n.files, n.shared), (200, 664, true));
        let msg = open_files_check(&c, 512).expect("too low");
        assert!(
            msg.starts_with("200 shared monitors need about 664"),
            "{msg}"
        );
        assert!(!msg.contains("nanny_mode"), "{msg}");
    }

    #[test]
    fn the_open_file_limit_fails_the_check() {
        let src = NAT_PERSISTENT;
        let host = Host {
            settings: HostSettings::default(),
            nofile_hard: Some(10),
        };
        let report = check(&parsed(src), "lvs.cf", &host);
        assert!(!report.ok());
        assert!(report.stderr(src).ends_with(
            "lvs.cf: error: 1 real servers need about 66 open files, but the hard limit \
             (RLIMIT_NOFILE) is 10; raise it (LimitNOFILE= in the unit, ulimit -Hn) \
             or use nanny_mode = shared\n"
        ));
        assert_eq!(report.stdout(), "");
    }

    #[test]
    fn diff_against_an_in_memory_table() {
        let config = parse(NAT_PERSISTENT);
        let mut table = ipvs::MemoryIpvs::default();
        let lines = diff(&config, &mut table).expect("diff");
        // Nothing there yet: the service is added; the server waits for its
        // first check.
        assert_eq!(
            lines,
            ["-A -t 203.0.113.10:80 -s wlc -p 300 -M 255.255.255.0"]
        );
    }
}
