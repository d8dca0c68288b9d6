//! `lvsd --check` and `lvsd --dry-run`: what a file means, before anything
//! touches the kernel.

use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use director::{AllHealthy, desired_table};
use lvscf::{Config, Diagnostic, Severity};

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

/// A loaded file: its text, what the parser said, and the config if valid.
struct Loaded {
    name: String,
    src: String,
    diagnostics: Vec<Diagnostic>,
    config: Option<Config>,
}

fn load(path: &Path) -> Result<Loaded> {
    let file = lvscf::parse_file(path)
        .map_err(|e| anyhow::anyhow!("failed to open {}: {}", e.path.display(), e.source))?;
    Ok(Loaded {
        name: path.display().to_string(),
        diagnostics: file.parsed.diagnostics,
        config: file.parsed.config,
        src: file.source,
    })
}

fn print_diagnostics(out: &mut impl Write, loaded: &Loaded) -> io::Result<()> {
    // The lines once, not a scan of the file per diagnostic.
    let lines: Vec<&str> = loaded.src.split('\n').collect();
    for d in &loaded.diagnostics {
        let text = lines.get(d.line.saturating_sub(1)).copied().unwrap_or("");
        write!(out, "{}", d.render_line(&loaded.name, text))?;
    }
    Ok(())
}

fn count(loaded: &Loaded, severity: Severity) -> usize {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `--check`: every diagnostic, the host warnings, then one summary line.
/// Exit 1 on any error, 0 with warnings only.
pub fn check(path: &Path) -> Result<ExitCode> {
    let loaded = load(path)?;
    let stderr = io::stderr();
    let mut err = stderr.lock();
    print_diagnostics(&mut err, &loaded)?;

    let Some(config) = &loaded.config else {
        let errors = count(&loaded, Severity::Error);
        writeln!(
            err,
            "error: {} not loaded: {}, {}",
            loaded.name,
            plural(errors, "error"),
            plural(count(&loaded, Severity::Warning), "warning")
        )?;
        return Ok(ExitCode::from(1));
    };

    let mut extra_warnings = 0;
    for w in semantic_warnings(config, &HostSettings::read()) {
        writeln!(err, "{}: warning: {w}", loaded.name)?;
        extra_warnings += 1;
    }
    // The monitors lvsd would run must fit under the hard open-file limit
    // (it raises only the soft one).
    if let Ok(hard) = ::daemon::rlimit::nofile_hard_limit()
        && let Some(e) = crate::fdlimit::check(config, hard)
    {
        writeln!(err, "{}: error: {e}", loaded.name)?;
        return Ok(ExitCode::from(1));
    }
    let notes = count(&loaded, Severity::Note);
    if notes > 0 {
        writeln!(
            err,
            "note: {} an original piranha 0.8.6 router would reject; \
             keep them out while the other router still runs it",
            plural(notes, "line")
        )?;
    }
    drop(err);

    let virtuals = config.virtuals.len();
    let active = config.active_virtuals().count();
    let servers: usize = config.virtuals.iter().map(|v| v.servers.len()).sum();
    let warnings = count(&loaded, Severity::Warning) + extra_warnings;
    let mut line = format!(
        "ok: {} ({active} active), {}",
        plural(virtuals, "virtual server"),
        plural(servers, "real server")
    );
    if warnings > 0 {
        line.push_str(&format!(", {}", plural(warnings, "warning")));
    }
    writeln!(io::stdout(), "{line}")?;
    Ok(ExitCode::SUCCESS)
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
    if config.nanny_mode == lvscf::NannyMode::Shared {
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

/// For the modes whose output is a table, not a lint report: only the
/// errors, and exit 1.
fn print_errors(loaded: &Loaded) -> Result<ExitCode> {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for d in loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
    {
        write!(err, "{}", d.render(&loaded.name, &loaded.src))?;
    }
    Ok(ExitCode::from(1))
}

/// `--dry-run`: the converged table in `ipvsadm -S -n` format.
pub fn dry_run(path: &Path) -> Result<ExitCode> {
    let loaded = load(path)?;
    let Some(config) = &loaded.config else {
        return print_errors(&loaded);
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    write!(out, "{}", table_text(config))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The converged table as `ipvsadm -S -n` lines.
pub fn table_text(config: &Config) -> String {
    let table = desired_table(config, &AllHealthy);
    let mut text = String::new();
    for ds in &table.services {
        text.push_str(&ipvs::save::service_line(&ds.service));
        text.push('\n');
        for d in &ds.destinations {
            if let director::DesiredDestination::Present { destination, .. } = d {
                text.push_str(&ipvs::save::destination_line(&ds.service.key, destination));
                text.push('\n');
            }
        }
    }
    text
}

/// `--diff`: the writes a reload of this file would make against the
/// running kernel table, as ipvsadm command lines, without making them.
///
/// A reload keeps serving servers serving (at their new configured weight)
/// and adds new servers only once their first check passes, so a server
/// the kernel has is taken as healthy, one it lacks as not checked yet.
pub fn diff(path: &Path) -> Result<ExitCode> {
    use std::collections::{HashMap, HashSet};

    use director::{Health, ServerId};
    use ipvs::IpvsTable;

    let loaded = load(path)?;
    let Some(config) = &loaded.config else {
        return print_errors(&loaded);
    };
    let mut table = ipvs::NetlinkIpvs::new()
        .map_err(|e| anyhow::anyhow!(e))
        .map_err(|e| e.context("cannot read the IPVS table"))?;
    let current = table
        .list()
        .map_err(|e| anyhow::anyhow!(e).context("cannot read the IPVS table"))?;
    let timeouts = table.timeouts().ok();

    let mut health: HashMap<ServerId, Health> = HashMap::new();
    for vs in config.active_virtuals() {
        let Ok(service) = director::desired::service_of(vs) else {
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
    // Services of virtuals that were removed from the file are known only
    // to the running daemon; they are not listed here.
    let plan = director::plan(&desired, &current, &HashSet::new(), timeouts);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for step in &plan.steps {
        writeln!(out, "{}", director::reconcile::ipvsadm_line(&step.change))?;
    }
    out.flush()?;
    writeln!(
        io::stderr(),
        "{}",
        if plan.is_empty() {
            "no changes".to_owned()
        } else {
            plural(plan.len(), "write")
        }
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let parsed = lvscf::parse_with(&src, &lvscf::OfflineResolver);
        let loaded = Loaded {
            name: "lvs.cf".into(),
            diagnostics: parsed.diagnostics,
            config: parsed.config,
            src,
        };
        assert_eq!(count(&loaded, Severity::Error), 8000);
        let started = std::time::Instant::now();
        let mut out = Vec::new();
        print_diagnostics(&mut out, &loaded).expect("print");
        let took = started.elapsed();
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("lvs.cf:39999:9: error: port: unknown service name \"nosuch7999\""));
        assert!(took < std::time::Duration::from_secs(1), "{took:?}");
    }

    fn parse(src: &str) -> Config {
        let parsed = lvscf::parse(src);
        parsed.config.expect("valid test config")
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
}
