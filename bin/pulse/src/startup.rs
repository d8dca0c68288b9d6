//! pulse's start-up, in the original's order (piranha.md §3.1): read
//! lvs.cf, refuse what cannot run, pick the role, bind the heartbeat
//! sockets while errors still reach the terminal, detach, take the pid
//! file, clean up after a crash, then hand over to the [`engine`].
//!
//! [`engine`]: crate::engine

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lvscf::{Config, ServiceKind, Severity};
use rtnl::Interfaces;
use tracing::{info, warn};

use crate::cli::Args;
use crate::{EXIT_BACKUP_INACTIVE, Fatal};

/// Where lvsd writes its pid (`bin/lvs/src/cli.rs`), to find one left
/// behind by a pulse that died.
pub const LVSD_PIDFILE: &str = "/var/run/lvs.pid";

/// One heartbeat path: our socket and the partner's address on it.
pub struct HeartbeatPath {
    /// Bound to our own address and `heartbeat_port`.
    pub socket: UdpSocket,
    /// Where heartbeats go, and the only source accepted.
    pub partner: SocketAddr,
}

/// Everything the engine starts from.
pub struct Setup {
    /// The command line.
    pub args: Args,
    /// The file as read.
    pub config: Config,
    /// We hold `primary`.
    pub master: bool,
    /// Public path first, private second (if configured).
    pub paths: Vec<HeartbeatPath>,
    /// lvsd's executable.
    pub lvsd: PathBuf,
    /// `heartbeat_key_file`'s key.
    pub key: Option<failover::auth::Key>,
}

/// Read and check lvs.cf (exit 1 on any error, each printed with its place).
pub fn load(path: &Path) -> Result<Config, Fatal> {
    let file = lvscf::parse_file(path).map_err(|e| Fatal::new(format!("pulse: {e}")))?;
    let Some(config) = file.parsed.config.clone() else {
        let mut text = file.render();
        if let Some(first) = file.parsed.of(Severity::Error).next() {
            text.push_str(&format!(
                "pulse: error parsing {} on line {}.",
                path.display(),
                first.line
            ));
        }
        return Err(Fatal::new(text.trim_end().to_owned()));
    };
    check(&config, path)?;
    Ok(config)
}

/// What the original refuses, and what we refuse on top: FOS.
pub fn check(config: &Config, path: &Path) -> Result<(), Fatal> {
    if config.service == ServiceKind::Fos {
        return Err(Fatal::new(format!(
            "pulse: {}: service = fos is not supported (only service = lvs)",
            path.display()
        )));
    }
    if !config.failovers.is_empty() {
        return Err(Fatal::new(format!(
            "pulse: {}: failover blocks are not supported (service = fos is not implemented); \
             remove them",
            path.display()
        )));
    }
    if config.active_virtuals().next().is_none() {
        return Err(Fatal::new(format!(
            "pulse: no active lvs services defined in {}",
            path.display()
        )));
    }
    Ok(())
}

/// The start-up sequence; returns the daemon's exit status.
pub fn run(args: &Args) -> Result<ExitCode, Fatal> {
    let mut config = load(&args.configfile)?;
    let key = crate::engine::read_key(&config).map_err(|e| Fatal::new(format!("pulse: {e}")))?;
    let mut route = rtnl::NetlinkRoute::new()
        .map_err(|e| Fatal::new(format!("pulse: cannot open route netlink: {e}")))?;
    let addresses = route
        .addresses()
        .map_err(|e| Fatal::new(format!("pulse: cannot list addresses: {e}")))?;
    // Every address of every interface, not only primary ones (the
    // original's SIOCGIFADDR saw only those).
    let master = config.primary.is_some_and(|p| rtnl::holds(&addresses, p));
    let undefined_backup = config.backup_active && config.backup.is_none_or(|b| b.is_unspecified());
    if undefined_backup {
        config.backup_active = false;
    }
    if !master && !config.backup_active {
        // The original logged this after detaching, so its exit status was
        // lost; here the init script sees 255.
        let log = crate::logging::init(args.nodaemon, args.verbose);
        if undefined_backup {
            info!("Undefined backup node marked as active? -- clearing that!");
        }
        info!("{}", failover::state::text::START_BACKUP);
        info!("{}", failover::state::text::BACKUP_MARKED_INACTIVE);
        log.flush();
        return Err(Fatal {
            message: String::new(),
            code: EXIT_BACKUP_INACTIVE,
        });
    }
    let paths = bind(&config, master)
        .map_err(|_| Fatal::new("pulse: cannot create heartbeat socket. running as root?"))?;
    let lvsd = lvsd_path(args);
    // The lock before detaching, so "another pulse is running" reaches the
    // terminal; the detached process inherits it.
    let mut pidfile = daemon::pidfile::PidFile::acquire(&args.pidfile, "pulse")
        .map_err(|e| Fatal::new(format!("pulse: {e}")))?;
    // Under systemd (Type=notify) pulse stays in the foreground: systemd
    // tracks this process, and READY=1 tells it the start is done.
    if !args.nodaemon && !crate::sdnotify::under_systemd() {
        daemon::detach::detach(daemon::detach::Detach {
            fork: true,
            chdir_root: true,
        })
        .map_err(|e| Fatal::new(format!("pulse: {e}")))?;
        pidfile
            .rewrite()
            .map_err(|e| Fatal::new(format!("pulse: {e}")))?;
    }
    let log = crate::logging::init(args.nodaemon, args.verbose);
    if undefined_backup {
        info!("Undefined backup node marked as active? -- clearing that!");
    }
    // Only now, holding the lock, may we touch what a previous pulse left.
    crate::engine::clean_after_crash(&config, &mut route, args);

    let setup = Setup {
        args: args.clone(),
        config,
        master,
        paths,
        lvsd,
        key,
    };
    let code = crate::engine::run(setup, Box::new(route));
    drop(pidfile);
    let code = code.map_err(|e| {
        warn!("{e}");
        Fatal::new(format!("pulse: {e}"))
    });
    // The loop has ended (SIGTERM, SIGINT or a fatal error): the warnings
    // held back in the last window are said now or never.
    log.flush();
    let _ = std::io::stdout().flush();
    code
}

/// Bind our public (and private) address at `heartbeat_port`, without
/// `SO_REUSEADDR` as the original, so a second pulse cannot start.
fn bind(config: &Config, master: bool) -> std::io::Result<Vec<HeartbeatPath>> {
    let port = config.heartbeat_port;
    let (own, own_private, partner, partner_private) = if master {
        (
            config.primary,
            config.primary_private,
            config.backup,
            config.backup_private,
        )
    } else {
        (
            config.backup,
            config.backup_private,
            config.primary,
            config.primary_private,
        )
    };
    let unspecified = || IpAddr::from([0, 0, 0, 0]);
    let own = own.ok_or_else(|| std::io::Error::other("no own address"))?;
    let mut paths = vec![HeartbeatPath {
        socket: UdpSocket::bind((own, port))?,
        partner: SocketAddr::new(partner.unwrap_or_else(unspecified), port),
    }];
    // A private path needs both ends (the original, with only
    // primary_private set, bound 0.0.0.0 on the backup and failed).
    if let (Some(mine), Some(theirs)) = (own_private, partner_private)
        && mine != own
    {
        paths.push(HeartbeatPath {
            socket: UdpSocket::bind((mine, port))?,
            partner: SocketAddr::new(theirs, port),
        });
    }
    for p in &paths {
        p.socket.set_nonblocking(true)?;
    }
    Ok(paths)
}

/// `--lvsd`, else `lvsd` beside this executable, else /usr/sbin/lvsd.
fn lvsd_path(args: &Args) -> PathBuf {
    if let Some(p) = &args.lvsd {
        return p.clone();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("lvsd")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/lvsd"))
}
