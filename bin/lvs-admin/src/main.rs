//! `lvs-admin`: the configuration tool's privileged helper
//! (`lvs-admin serve`, as root) and its command line (every other verb, a
//! client of the helper's socket). Glue only: the work is in the `admin`
//! crate.
//!
//! Exit status: 0 done, 1 refused or failed, 2 usage.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use admin::client::{Client, ClientError};
use admin::proto::{self, ControlAction, DaemonState, Digest, IpvsPreview, ReloadOutcome};
use anyhow::{Context as _, Result, anyhow};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lvs-admin",
    version,
    about = "The configuration tool's privileged helper and its command line"
)]
struct Args {
    /// The helper's socket.
    #[arg(long, global = true, value_name = "PATH", default_value = admin::client::DEFAULT_SOCKET)]
    socket: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the helper (as root).
    Serve(Box<Serve>),
    /// Print lvs.cf as on disk (its digest on stderr).
    Read,
    /// lvsd --check of FILE, as the helper sees it.
    Check {
        /// The candidate lvs.cf.
        file: PathBuf,
    },
    /// The text diff of FILE against lvs.cf, and the IPVS writes a reload
    /// would make.
    Diff {
        /// The candidate lvs.cf.
        file: PathBuf,
    },
    /// Check, write and reload FILE as lvs.cf.
    Apply {
        /// The new lvs.cf.
        file: PathBuf,
        /// Why (kept in the history).
        #[arg(long)]
        reason: String,
        /// The digest of the lvs.cf the edit started from (default: the
        /// current one, i.e. no conflict check).
        #[arg(long, value_name = "DIGEST")]
        base: Option<Digest>,
        /// Who (default: $SUDO_USER or $USER).
        #[arg(long)]
        user: Option<String>,
    },
    /// The revisions kept, newest first.
    History,
    /// Print revision N.
    Show {
        /// Revision.
        rev: u64,
    },
    /// Apply revision N again.
    Restore {
        /// Revision.
        rev: u64,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Who.
        #[arg(long)]
        user: Option<String>,
    },
    /// Force a real server down or up, drain it, or back to normal (not
    /// saved).
    Control {
        /// down, up, normal or drain.
        action: ControlAction,
        /// VIRTUAL/SERVER.
        target: String,
        /// Who.
        #[arg(long)]
        user: Option<String>,
    },
    /// lvsd's and pulse's status and the file's digest.
    Status {
        /// The helper's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send lvs.cf to the other router now.
    SyncPush {
        /// Replace the other router's file even if it was edited there.
        #[arg(long)]
        force: bool,
        /// Who.
        #[arg(long)]
        user: Option<String>,
    },
    /// Both routers' digests and serial_no.
    SyncStatus {
        /// The helper's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print this router's sync fingerprint (made on first use) and how to
    /// pair the two routers. Reads the state directory, not the socket.
    Fingerprint {
        /// The helper's state directory.
        #[arg(long, default_value = DEFAULT_STATE_DIR)]
        state_dir: PathBuf,
    },
}

const DEFAULT_STATE_DIR: &str = "/var/lib/lvs-admin";

#[derive(Debug, clap::Args)]
struct Serve {
    /// The one configuration file this helper edits.
    #[arg(
        short = 'c',
        long = "configfile",
        default_value = "/etc/sysconfig/ha/lvs.cf"
    )]
    config: PathBuf,
    /// Group allowed to connect (the web process's).
    #[arg(long, default_value = "lvs-web")]
    group: String,
    /// Revision history, and the sync identity (sync-key.pem,
    /// sync-cert.pem) and base (peer-base).
    #[arg(long, default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Revisions kept.
    #[arg(long, default_value_t = admin::store::DEFAULT_KEEP)]
    keep: usize,
    /// lvsd's status socket.
    #[arg(long, default_value = "/run/lvsd.sock")]
    lvsd_socket: PathBuf,
    /// lvsd's pid file.
    #[arg(long, default_value = "/var/run/lvs.pid")]
    lvsd_pidfile: PathBuf,
    /// pulse's status socket.
    #[arg(long, default_value = "/run/pulse.sock")]
    pulse_socket: PathBuf,
    /// pulse's pid file.
    #[arg(long, default_value = "/var/run/pulse.pid")]
    pulse_pidfile: PathBuf,
    /// Longest wait for lvsd's reload result, in seconds.
    #[arg(long, default_value_t = admin::system::RELOAD_WAIT.as_secs())]
    reload_wait: u64,
    /// The other router's sync address, ADDR or ADDR:PORT (port 3637 by
    /// default); with --peer-fingerprint, turns config sync on.
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_peer, requires = "peer_fingerprint")]
    peer: Option<std::net::SocketAddr>,
    /// The other router's fingerprint (its `lvs-admin fingerprint`).
    #[arg(long, value_name = "HEX", requires = "peer")]
    peer_fingerprint: Option<cfsync::Fingerprint>,
    /// Where this router takes the other's pushes.
    #[arg(long, value_name = "ADDR:PORT", default_value_t = std::net::SocketAddr::from(([0, 0, 0, 0], cfsync::DEFAULT_PORT)))]
    sync_listen: std::net::SocketAddr,
    /// This router still runs piranha 0.8.6: refuse pushed files with
    /// syntax it rejects.
    #[arg(long)]
    sync_piranha_compat: bool,
    /// This router's name in the other's history (default: the host name).
    #[arg(long)]
    sync_name: Option<String>,
    /// Web users' passwords for the login verb (piranha-passwd's file).
    #[arg(long, value_name = "PATH", default_value = access::passwd::PASSWD_FILE)]
    passwd_file: PathBuf,
    /// Web users' roles.
    #[arg(long, value_name = "PATH", default_value = access::roles::USERS_FILE)]
    users_file: PathBuf,
    /// Also log web users in through this PAM service (off when not
    /// given), restricted to the --pam-group groups.
    #[arg(long, value_name = "SERVICE")]
    pam_service: Option<String>,
    /// With PAM: a Unix group whose members may log in, as ROLE=GROUP
    /// (repeatable; default lvs-viewer, lvs-operator, lvs-editor,
    /// lvs-admin).
    #[arg(long = "pam-group", value_name = "ROLE=GROUP", value_parser = parse_pam_group, requires = "pam_service")]
    pam_groups: Vec<(String, access::Role)>,
}

/// `ROLE=GROUP` of --pam-group.
fn parse_pam_group(s: &str) -> Result<(String, access::Role), String> {
    let (role, group) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ROLE=GROUP"))?;
    let role: access::Role = role
        .parse()
        .map_err(|_| format!("{s:?}: ROLE is one of viewer, operator, editor, admin"))?;
    if group.is_empty() {
        return Err(format!("{s:?}: GROUP is empty"));
    }
    Ok((group.to_owned(), role))
}

/// The login verb's backends (piranha.passwd, then PAM if asked), its
/// rate limit, and its audit lines on stderr (the journal).
fn login(s: &Serve) -> admin::login::Login {
    use access::auth::{Authenticator, PasswdAuthenticator};
    let mut backends: Vec<Box<dyn Authenticator>> = vec![Box::new(PasswdAuthenticator::new(
        &s.passwd_file,
        &s.users_file,
    ))];
    if let Some(service) = &s.pam_service {
        let groups = if s.pam_groups.is_empty() {
            access::roles::GroupMap::default()
        } else {
            access::roles::GroupMap::new(s.pam_groups.iter().cloned())
        };
        backends.push(Box::new(access::pam::PamAuthenticator::new(
            service, groups,
        )));
    }
    let audit = access::audit::AuditLog::new(
        daemon::log::Logger::new("lvs-admin", "lvs-admin").with_writer(Box::new(std::io::stderr())),
    );
    admin::login::Login::new(backends, access::ratelimit::LoginLimits::default(), audit)
}

/// `ADDR` (port [`cfsync::DEFAULT_PORT`]) or `ADDR:PORT`, addresses as
/// numbers (no name lookup at start).
fn parse_peer(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .map(|ip| std::net::SocketAddr::new(ip, cfsync::DEFAULT_PORT))
        .map_err(|_| format!("{s:?}: expected ADDR or ADDR:PORT (an IP address)"))
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "lvs-admin: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn user(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("SUDO_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| format!("uid {}", nix::unistd::getuid()))
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// A refusal printed, exit 1.
fn refused(e: ClientError) -> Result<ExitCode> {
    let mut err = std::io::stderr().lock();
    match &e {
        ClientError::Refused(proto::Error::CheckFailed { report }) => {
            let _ = err.write_all(report.rendered.as_bytes());
        }
        ClientError::Refused(proto::Error::ReloadRefused { diagnostics, .. }) => {
            for d in diagnostics {
                let _ = writeln!(err, "{d}");
            }
        }
        _ => {}
    }
    let _ = writeln!(err, "lvs-admin: {e}");
    Ok(ExitCode::from(1))
}

/// The outcome on a router where pulse runs and lvsd does not.
fn pulse_only(pulse: Option<&proto::PulseRole>) -> String {
    let standing = match pulse {
        Some(p) => format!(
            " ({}, {})",
            p.role,
            if p.active { "active" } else { "inactive" }
        ),
        None => String::new(),
    };
    format!(
        "SIGHUP to pulse{standing}, which re-reads lvs.cf; no lvsd runs on this router: \
         the new file is used when pulse starts lvsd"
    )
}

fn print_applied(a: &proto::Applied) {
    let _ = std::io::stderr().write_all(a.check.rendered.as_bytes());
    let reload = match &a.reload {
        ReloadOutcome::NotRunning => "no daemon runs: nothing reloaded".to_owned(),
        ReloadOutcome::Reloaded { signalled, writes } => {
            format!("reloaded (SIGHUP to {signalled:?}), {writes} IPVS writes")
        }
        ReloadOutcome::Unconfirmed { signalled, reason } => {
            format!("SIGHUP to {signalled:?}, reload unconfirmed: {reason}")
        }
        ReloadOutcome::PulseOnly { pulse } => pulse_only(pulse.as_ref()),
    };
    println!(
        "revision {} {} written; {reload}",
        a.revision.rev, a.revision.digest
    );
    if let Some(n) = a.raised_serial_no {
        println!("serial_no raised to {n} (it was not above the file's on disk)");
    }
    if let Some(s) = &a.sync {
        println!("sync: {}", s.summary());
        if let proto::SyncOutcome::Refused { rendered, .. } = s {
            let _ = std::io::stderr().write_all(rendered.as_bytes());
        }
    }
}

fn run(args: Args) -> Result<ExitCode> {
    let client = Client::new(&args.socket);
    let done = Ok(ExitCode::SUCCESS);
    match args.command {
        Command::Serve(s) => serve(*s, args.socket),
        Command::Read => match client.read() {
            Ok((text, digest)) => {
                std::io::stdout().write_all(&text)?;
                eprintln!("{digest}");
                done
            }
            Err(e) => refused(e),
        },
        Command::Check { file } => match client.check(&read(&file)?) {
            Ok(r) => {
                let (out, err): (Vec<&str>, Vec<&str>) = r
                    .rendered
                    .split_inclusive('\n')
                    .partition(|l| l.starts_with("ok: "));
                eprint!("{}", err.concat());
                print!("{}", out.concat());
                Ok(if r.ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
            Err(e) => refused(e),
        },
        Command::Diff { file } => match client.diff(&read(&file)?) {
            Ok(d) => {
                print!("{}", d.text_diff);
                match d.ipvs {
                    IpvsPreview::Writes { lines } => {
                        for l in &lines {
                            println!("{l}");
                        }
                        eprintln!("{} IPVS writes", lines.len());
                        done
                    }
                    IpvsPreview::Unavailable { reason } => {
                        eprintln!("no IPVS preview: {reason}");
                        done
                    }
                    IpvsPreview::Invalid { .. } => {
                        eprint!("{}", d.check.rendered);
                        Ok(ExitCode::from(1))
                    }
                }
            }
            Err(e) => refused(e),
        },
        Command::Apply {
            file,
            reason,
            base,
            user: who,
        } => {
            let text = read(&file)?;
            let base = match base {
                Some(b) => b,
                None => match client.read() {
                    Ok((_, d)) => d,
                    Err(e) => return refused(e),
                },
            };
            match client.apply(base, &text, &reason, &user(who)) {
                Ok(a) => {
                    print_applied(&a);
                    done
                }
                Err(e) => refused(e),
            }
        }
        Command::History => match client.history() {
            Ok(revs) => {
                for r in revs {
                    println!(
                        "{:>4}  {}  {}  {:>8} B  {}  {}{}",
                        r.rev,
                        admin::time::utc(r.time),
                        &r.digest.to_hex()[..12],
                        r.size,
                        r.user,
                        r.reason,
                        r.restored_from
                            .map_or(String::new(), |f| format!(" (from {f})"))
                    );
                }
                done
            }
            Err(e) => refused(e),
        },
        Command::Show { rev } => match client.show(rev) {
            Ok((_, text)) => {
                std::io::stdout().write_all(&text)?;
                done
            }
            Err(e) => refused(e),
        },
        Command::Restore {
            rev,
            reason,
            user: who,
        } => match client.restore(rev, &reason, &user(who)) {
            Ok(a) => {
                print_applied(&a);
                done
            }
            Err(e) => refused(e),
        },
        Command::Control {
            action,
            target,
            user: who,
        } => {
            let Some((v, s)) = target.split_once('/') else {
                eprintln!("lvs-admin: {target}: expected VIRTUAL/SERVER");
                return Ok(ExitCode::from(2));
            };
            match client.control(action, v, s, &user(who)) {
                Ok(()) => {
                    println!("ok (runtime only, not saved to lvs.cf)");
                    done
                }
                Err(e) => refused(e),
            }
        }
        Command::Fingerprint { state_dir } => {
            let identity = cfsync::Identity::load_or_generate(&state_dir)
                .with_context(|| format!("sync identity in {}", state_dir.display()))?;
            print!("{}", identity.pairing_text(&state_dir));
            done
        }
        Command::SyncPush { force, user: who } => match client.sync_push(force, &user(who)) {
            Ok(message) => {
                println!("{message}");
                done
            }
            Err(ClientError::Sync(proto::SyncOutcome::Refused { rendered, .. })) => {
                eprint!("{rendered}");
                Ok(ExitCode::from(1))
            }
            Err(e) => refused(e),
        },
        Command::SyncStatus { json } => match client.sync_state() {
            Ok(s) if json => {
                println!("{}", serde_json::to_string_pretty(&s)?);
                done
            }
            Ok(s) => {
                println!("{}", s.summary());
                Ok(if s.in_sync() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
            Err(e) => refused(e),
        },
        Command::Status { json } => match client.status() {
            Ok(s) if json => {
                println!("{}", serde_json::to_string_pretty(&s)?);
                done
            }
            Ok(s) => {
                println!(
                    "{}: digest {} serial_no {}",
                    s.file.path,
                    s.file.digest,
                    s.file.serial_no.map_or("-".into(), |n| n.to_string())
                );
                match s.pulse {
                    DaemonState::Running { status } => {
                        print!("{}", failover::status::render(&status))
                    }
                    DaemonState::NotRunning => println!("pulse not running"),
                    DaemonState::Unreachable { reason } => println!("pulse unreachable: {reason}"),
                }
                match s.lvsd {
                    DaemonState::Running { status } => {
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                        print!("{}", director::status::render_at(&status, now));
                    }
                    DaemonState::NotRunning => println!("lvsd not running"),
                    DaemonState::Unreachable { reason } => println!("lvsd unreachable: {reason}"),
                }
                done
            }
            Err(e) => refused(e),
        },
    }
}

fn serve(s: Serve, socket: PathBuf) -> Result<ExitCode> {
    let group = nix::unistd::Group::from_name(&s.group)
        .with_context(|| format!("group {}", s.group))?
        .ok_or_else(|| {
            anyhow!(
                "group {} does not exist (create it, or pass --group)",
                s.group
            )
        })?;
    let gid = group.gid.as_raw();
    // The one file, fixed now: a symbolic link is resolved once, so the
    // rename replaces the file it names, not the link.
    let config = std::fs::canonicalize(&s.config).unwrap_or(s.config.clone());
    let store = admin::store::Store::open(&s.state_dir, s.keep).map_err(|e| anyhow!(e))?;
    let paths = admin::system::Paths {
        config,
        lvsd_socket: s.lvsd_socket.clone(),
        lvsd_pidfile: s.lvsd_pidfile.clone(),
        pulse_socket: s.pulse_socket.clone(),
        pulse_pidfile: s.pulse_pidfile.clone(),
    };
    let mut system = admin::system::System::new(paths, store);
    system.reload_wait = std::time::Duration::from_secs(s.reload_wait);
    for stale in system.remove_stale_temps() {
        eprintln!(
            "lvs-admin: removed {} left by an interrupted apply",
            stale.display()
        );
    }
    let config = system.paths.config.clone();
    let mut server = admin::server::Server::new(system, Some(gid)).with_login(login(&s));
    // Kept for the process's life: the sync server and pushes run on it.
    let mut _runtime = None;
    if let (Some(addr), Some(fingerprint)) = (s.peer, s.peer_fingerprint) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("lvs-admin-sync")
            .enable_all()
            .build()
            .context("sync runtime")?;
        let peer = start_sync(&s, addr, fingerprint, &server, runtime.handle())?;
        server = server.with_sync(peer);
        _runtime = Some(runtime);
    }
    let listener = admin::server::listen(&socket, Some(gid))
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    eprintln!(
        "lvs-admin: serving {} on {} (group {} = {gid})",
        config.display(),
        socket.display(),
        s.group
    );
    Arc::new(server).run(listener).context("serving")?;
    Ok(ExitCode::SUCCESS)
}

/// Config sync at start, failing fast: this router's identity, the sync
/// server bound and running (taking the peer's pushes through the
/// helper's writer), and the peer to push to.
fn start_sync(
    s: &Serve,
    addr: std::net::SocketAddr,
    fingerprint: cfsync::Fingerprint,
    server: &admin::server::Server,
    runtime: &tokio::runtime::Handle,
) -> Result<admin::sync::Peer> {
    // cfsync logs through tracing; the journal takes stderr.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
    let identity = cfsync::Identity::load_or_generate(&s.state_dir)
        .with_context(|| format!("sync identity in {}", s.state_dir.display()))?;
    let options = cfsync::ServeOptions {
        refuse_extensions: s.sync_piranha_compat,
        ..cfsync::ServeOptions::default()
    };
    let store: Arc<dyn cfsync::Store> = Arc::new(server.sync_store());
    let sync_server = cfsync::Server::new(&identity, fingerprint, store, options)
        .context("sync TLS setup")?
        .with_peer_base(cfsync::BaseFile::in_dir(&s.state_dir));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(s.sync_listen))
        .with_context(|| format!("cannot listen for config sync on {}", s.sync_listen))?;
    runtime.spawn(Arc::new(sync_server).run(listener));
    let name = s.sync_name.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "lvs-admin".into())
    });
    eprintln!(
        "lvs-admin: config sync with {addr} (fingerprint {fingerprint}), taking pushes on {}; this router is {} ({})",
        s.sync_listen,
        name,
        identity.fingerprint()
    );
    Ok(admin::sync::Peer::new(
        identity,
        cfsync::PeerConfig::new(addr, fingerprint),
        cfsync::BaseFile::in_dir(&s.state_dir),
        name,
        runtime.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulse_only_names_pulses_role_when_it_answered() {
        let backup = proto::PulseRole {
            role: "backup".into(),
            active: false,
        };
        assert_eq!(
            pulse_only(Some(&backup)),
            "SIGHUP to pulse (backup, inactive), which re-reads lvs.cf; no lvsd runs on this \
             router: the new file is used when pulse starts lvsd"
        );
        assert!(pulse_only(None).starts_with("SIGHUP to pulse, which re-reads lvs.cf;"));
    }
}
