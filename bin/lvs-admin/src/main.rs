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
    Serve(Serve),
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
    /// Force a real server down, up, or back to normal (not saved).
    Control {
        /// down, up or normal.
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
}

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
    /// Revision history.
    #[arg(long, default_value = "/var/lib/lvs-admin")]
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
    };
    println!(
        "revision {} {} written; {reload}",
        a.revision.rev, a.revision.digest
    );
}

fn run(args: Args) -> Result<ExitCode> {
    let client = Client::new(&args.socket);
    let done = Ok(ExitCode::SUCCESS);
    match args.command {
        Command::Serve(s) => serve(s, args.socket),
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
                        r.time,
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
        lvsd_socket: s.lvsd_socket,
        lvsd_pidfile: s.lvsd_pidfile,
        pulse_socket: s.pulse_socket,
        pulse_pidfile: s.pulse_pidfile,
    };
    let mut system = admin::system::System::new(paths, store);
    system.reload_wait = std::time::Duration::from_secs(s.reload_wait);
    for stale in system.remove_stale_temps() {
        eprintln!(
            "lvs-admin: removed {} left by an interrupted apply",
            stale.display()
        );
    }
    let listener = admin::server::listen(&socket, Some(gid))
        .with_context(|| format!("cannot listen on {}", socket.display()))?;
    eprintln!(
        "lvs-admin: serving {} on {} (group {} = {gid})",
        system.paths.config.display(),
        socket.display(),
        s.group
    );
    Arc::new(admin::server::Server::new(system, Some(gid)))
        .run(listener)
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}
