//! `lvsd`: programs the kernel IPVS table from `lvs.cf` and supervises one
//! `nanny` per real server. Glue only: the work is in `lvscf` (the file),
//! `director` (what the table should be, and the difference to apply) and
//! `ipvs` (the kernel); the daemon's event loop is in [`daemon`].

mod check;
mod cli;
mod daemon;
mod edit;
mod fdlimit;
mod logging;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use cli::{Args, Mode};
use ipvs::IpvsTable;

/// Exit status for a file that does not load, a missing file, or a failure
/// to start (as the original: 1).
const EXIT_FAILURE: u8 = 1;

/// Longest time lvsd plans from its remembered copy of the kernel's table
/// without reading the kernel (twice the daemon's drift check).
const TABLE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

fn main() -> ExitCode {
    // First: a SIGHUP from pulse or `systemctl reload` while lvs.cf is read
    // (a DNS lookup may take seconds) must wait for the handler, not kill
    // us. The event loop unblocks once its handlers exist.
    let _ = ::daemon::signals::block_daemon_signals();
    let args = match Args::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    if args.mode() != Mode::Daemon {
        // One-shot commands keep the default actions (Ctrl-C ends them).
        let _ = ::daemon::signals::unblock_after_handlers();
    }
    let result = match args.mode() {
        Mode::Check => check::check(&args.configfile),
        Mode::DryRun => check::dry_run(&args.configfile),
        Mode::Diff => check::diff(&args.configfile),
        Mode::Status => status(&args),
        Mode::Control => control(&args),
        Mode::Edit => edit::run(&args.configfile, &args.edit_request(), args.edit_output()),
        Mode::Daemon => run_daemon(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // Broken pipe (e.g. `lvsd --dry-run | head`) is not an error.
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "lvsd: {err:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn status(args: &Args) -> Result<ExitCode> {
    let request = if args.json { "status json" } else { "status" };
    let reply = daemon::status::query(&args.socket, request)?;
    std::io::stdout().write_all(reply.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn control(args: &Args) -> Result<ExitCode> {
    let words = args.control.as_deref().unwrap_or_default();
    let [action, target] = words else {
        return Err(anyhow!("--control takes an action and VIRTUAL/SERVER"));
    };
    if !target.contains('/') {
        return Err(anyhow!("{target}: expected VIRTUAL/SERVER"));
    }
    let reply = daemon::status::query(&args.socket, &format!("control {action} {target}"))?;
    if let Some(err) = reply.strip_prefix("error: ") {
        return Err(anyhow!("{}", err.trim_end()));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_daemon(args: &Args) -> Result<ExitCode> {
    // While there is one thread: the environment is changed here.
    // SAFETY: no thread has been started yet, and PULSE_READY_FD names a
    // descriptor pulse passed to us alone.
    let ready = match unsafe { ::daemon::inherited_fd::ReadyWriter::from_env() } {
        Ok(ready) => ready,
        Err(e) => {
            // Not fatal: nobody can be waiting on a descriptor we do not have.
            let _ = writeln!(std::io::stderr(), "lvsd: {e}");
            ::daemon::inherited_fd::ReadyWriter::none()
        }
    };
    let (file, digest) = daemon::reload::read_digested(&args.configfile)
        .map_err(|e| anyhow!("failed to open {}: {}", e.path.display(), e.source))?;
    let Some(config) = file.parsed.config.clone() else {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(file.render().as_bytes());
        if let Some(first) = file.parsed.of(lvscf::Severity::Error).next() {
            let _ = writeln!(
                err,
                "lvs: error parsing {} on line {}.",
                args.configfile.display(),
                first.line
            );
        }
        return Ok(ExitCode::from(EXIT_FAILURE));
    };

    // The kernel first, so that "IPVS is not available" reaches the admin's
    // terminal before we detach from it.
    let table: Box<dyn IpvsTable> = match ipvs::NetlinkIpvs::new() {
        // Reconciles answer from the last dump plus our own writes; the
        // drift check (and `--status`) ask for a real dump, and the age
        // bound makes one even while health changes keep the drift check
        // from coming due.
        Ok(t) => Box::new(ipvs::CachedTable::new(t).with_max_age(TABLE_MAX_AGE)),
        // -t touches no kernel table: without IPVS it plans against an
        // empty one.
        Err(_) if args.test_start => Box::new(ipvs::MemoryIpvs::new()),
        Err(e) => return Err(anyhow!(e)).context("cannot program IPVS"),
    };

    let (_pidfile, log) = if args.nodaemon {
        (None, logging::init(logging::Sink::Stdout, args.verbose))
    } else {
        // The lock before detaching, so that a second lvsd says why on the
        // terminal and touches nothing (not the table, the pid file or the
        // status socket of the one running). The detached process inherits
        // the lock.
        let mut pidfile = ::daemon::pidfile::PidFile::acquire(&args.pidfile, "lvsd")?;
        ::daemon::detach::detach(::daemon::detach::Detach {
            fork: !args.nofork,
            chdir_root: true,
        })?;
        pidfile.rewrite()?;
        let log = logging::init(logging::Sink::Syslog, args.verbose);
        (Some(pidfile), log)
    };
    fdlimit::raise_for(&config);
    let opts = daemon::Options {
        configfile: args.configfile.clone(),
        verbose: args.verbose,
        nodaemon: args.nodaemon,
        test_start: args.test_start,
        socket: args.socket.clone(),
    };
    // No client_monitor set: the nanny beside this lvsd (a build tree's),
    // else /usr/sbin/nanny.
    let config = daemon::reload::with_local_nanny(config);
    let result = daemon::run(opts, config, Some(digest), table, ready);
    // The loop has ended (SIGTERM, SIGINT, a fatal monitor death or an
    // error): the warnings held back in the last window are said now or
    // never.
    log.flush();
    result
}
