//! `lvsd`: programs the kernel IPVS table from `lvs.cf` and supervises one
//! `nanny` per real server. Glue only: the work is in `lvscf` (the file),
//! `director` (what the table should be, and the difference to apply) and
//! `ipvs` (the kernel); the daemon's event loop is in [`daemon`].

mod check;
mod cli;
mod daemon;
mod logging;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use cli::{Args, Mode};
use ipvs::IpvsTable;

/// Exit status for a file that does not load, a missing file, or a failure
/// to start (as the original: 1).
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let args = match Args::parse_args() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result = match args.mode() {
        Mode::Check => check::check(&args.configfile),
        Mode::DryRun => check::dry_run(&args.configfile),
        Mode::Diff => check::diff(&args.configfile),
        Mode::Status => status(&args),
        Mode::Control => control(&args),
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
    let file = lvscf::parse_file(&args.configfile)
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
        Ok(t) => Box::new(t),
        // -t touches no kernel table: without IPVS it plans against an
        // empty one.
        Err(_) if args.test_start => Box::new(ipvs::MemoryIpvs::new()),
        Err(e) => return Err(anyhow!(e)).context("cannot program IPVS"),
    };

    let _pidfile = if args.nodaemon {
        logging::init(logging::Sink::Stdout, args.verbose);
        None
    } else {
        detach(!args.nofork)?;
        logging::init(
            logging::Sink::Syslog(logging::Syslog::connect()),
            args.verbose,
        );
        Some(daemon::PidFile::create(&args.pidfile)?)
    };
    let opts = daemon::Options {
        configfile: args.configfile.clone(),
        verbose: args.verbose,
        nodaemon: args.nodaemon,
        test_start: args.test_start,
        socket: args.socket.clone(),
    };
    daemon::run(opts, config, table)
}

/// Become a daemon: fork (unless `--nofork`, how pulse starts us), new
/// session, cwd `/`, stdio on /dev/null. Runs before any thread exists.
fn detach(fork: bool) -> Result<()> {
    use nix::unistd::{ForkResult, chdir, dup2_stderr, dup2_stdin, dup2_stdout, setsid};
    if fork {
        // SAFETY: no other thread exists yet (the event loop starts after
        // this), so the child may run anything.
        match unsafe { nix::unistd::fork() }.context("fork")? {
            ForkResult::Parent { .. } => std::process::exit(0),
            ForkResult::Child => {}
        }
    }
    // Fails only if we already lead a process group (e.g. --nofork run by
    // hand from a shell script); the daemon works either way.
    let _ = setsid();
    chdir("/").context("chdir /")?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .context("/dev/null")?;
    dup2_stdin(&null).context("stdin")?;
    dup2_stdout(&null).context("stdout")?;
    dup2_stderr(&null).context("stderr")?;
    Ok(())
}
