//! `nanny`: health check of one real server, reporting to lvsd or
//! programming IPVS itself. A drop-in for piranha's nanny: same command line,
//! signals, exit codes and log lines; the checks and decisions live in the
//! `health` crate.
//!
//! `--shared` (started only by lvsd): one process checks many real servers
//! of one virtual server and reports them all on one pipe (protocol version
//! 2), controlled by lines on its stdin instead of per-server signals.
//!
//! Exit status: 0 after SIGTERM/SIGINT; 1 for a bad command line or set-up,
//! or when removing the server at termination failed; 255 when an IPVS
//! change failed while monitoring (lvsd then applies `hard_shutdown`).

mod args;
mod setup;

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::ExitCode;

use health::ipvs::Netlink;
use health::log::Logger;
use health::monitor::{self, Engine, Monitor, Output, ReportWriter};
use health::report::FD_ENV;
use nix::fcntl::{FcntlArg, fcntl};
use nix::sys::signal::Signal;

use crate::args::{HELP, Parsed, USAGE};

fn main() -> ExitCode {
    // First: a signal from lvsd before the signalfd exists must wait for
    // it, not kill us with its default action.
    let _ = daemon::signals::block_daemon_signals();
    let argv: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let args = match args::parse(&argv) {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Usage) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    if args.version {
        print!(
            "Program Version:\tnanny {v}\nBuilt:\t\t\t-\nA component of:\t\tlvs-director-{v}\n",
            v = env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(code) => ExitCode::from(u8::try_from(code & 0xff).unwrap_or(255)),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Starts the daemon; `Err` is a start-up failure (exit 1).
fn run(args: &args::Args) -> Result<i32, String> {
    let setup = setup::build(args)?;
    // SAFETY: still single-threaded (nothing has started a thread), and
    // lvsd passed this descriptor for our exclusive use.
    let report_fd =
        unsafe { daemon::inherited_fd::take(FD_ENV) }.map_err(|e| format!("nanny: {e}"))?;
    if args.shared && report_fd.is_none() {
        return Err(format!("nanny: --shared needs a report pipe ({FD_ENV})"));
    }
    // lvsd's control pipe is stdin; keep it past daemonizing, and away from
    // check programs.
    let control = if args.shared {
        take_stdin().map_err(|e| format!("nanny: {e}"))?
    } else {
        None
    };

    if !args.nodaemon {
        // Without -c: fork twice, the parents exit 0 here. Check programs
        // may be named relative to the directory nanny was started in, as
        // the original never changed it.
        daemon::detach::detach(daemon::detach::Detach {
            fork: !args.nofork,
            chdir_root: false,
        })
        .map_err(|e| format!("nanny: {e}"))?;
    }
    let signals = monitor::signal_fd().map_err(|e| format!("nanny: signalfd: {e}"))?;
    // The signalfd reads the rest of the set, which must stay blocked; no
    // SIGCHLD is read, so it need not wait.
    let _ = daemon::signals::unblock(&[Signal::SIGCHLD]);
    // Daemon: syslog only; -n: stdout and syslog (#815887).
    let mut log = Logger::new(args.nodaemon, true, args.verbose);
    for note in &setup.notes {
        log.info(format_args!("{note}"));
    }
    for banner in &setup.banners {
        log.info(format_args!("{banner}"));
    }
    if args.shared
        && let Some((have, want)) = raise_fd_limit(setup.specs.len())
    {
        log.info(format_args!(
            "open file limit {have} is below the {want} that {} servers may need",
            setup.specs.len()
        ));
    }

    let output = match report_fd {
        Some(fd) => Output::Report(ReportWriter::new(fd)),
        None if args.test_start => Output::DryRun {
            ipvsadm: args.ipvsadm_path().to_owned(),
        },
        None => Output::Ipvs {
            // -I only names the program in log lines now.
            control: Box::new(Netlink),
            ipvsadm: args.ipvsadm_path().to_owned(),
        },
    };
    let monitors = setup.specs.into_iter().map(Monitor::new).collect();
    let mut engine = Engine::new(monitors, output, log, signals);
    if args.shared {
        engine = engine.shared(control);
    }
    Ok(engine.run())
}

/// Raises the soft limit on open files for `servers` concurrent checks:
/// when many servers time out together each holds a socket (a program or
/// load command, a few pipes), and the usual soft limit of 1024 would make
/// checks fail with EMFILE and take healthy servers out. Returns (limit,
/// wanted) when the hard limit does not allow enough.
fn raise_fd_limit(servers: usize) -> Option<(u64, u64)> {
    let want = u64::try_from(servers)
        .unwrap_or(u64::MAX)
        .saturating_mul(3)
        .saturating_add(64);
    let have = daemon::rlimit::raise_nofile(want).ok()?;
    (have < want).then_some((have, want))
}

/// Moves stdin to a close-on-exec descriptor and puts /dev/null in its
/// place (so a check program cannot read lvsd's control lines). `None` when
/// there is no stdin.
fn take_stdin() -> io::Result<Option<OwnedFd>> {
    let stdin = io::stdin();
    let copy = match fcntl(&stdin, FcntlArg::F_DUPFD_CLOEXEC(3)) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::EBADF) => return Ok(None),
        Err(e) => return Err(io::Error::from(e)),
    };
    // SAFETY: F_DUPFD_CLOEXEC just returned this new descriptor, owned by
    // nobody else.
    let copy = unsafe { OwnedFd::from_raw_fd(copy) };
    let null = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null).map_err(io::Error::from)?;
    Ok(Some(copy))
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_fd_names_agree() {
        // The report pipe's name has its home next to the line format; the
        // process plumbing repeats it.
        assert_eq!(health::report::FD_ENV, daemon::inherited_fd::LVSD_REPORT_FD);
    }
}
