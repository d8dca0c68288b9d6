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
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::process::ExitCode;

use health::ipvs::Netlink;
use health::log::Logger;
use health::monitor::{self, Engine, Monitor, Output, ReportWriter};
use health::report::FD_ENV;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::unistd::{ForkResult, fork, setsid};

use crate::args::{HELP, Parsed, USAGE};

fn main() -> ExitCode {
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
    let report_fd = report_fd()?;
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

    if !args.nodaemon && daemonize(args.nofork).map_err(|e| format!("nanny: {e}"))? {
        return Ok(0);
    }
    let signals = monitor::signal_fd().map_err(|e| format!("nanny: signalfd: {e}"))?;
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

/// The report pipe lvsd handed over in `LVSD_REPORT_FD`, if any.
fn report_fd() -> Result<Option<OwnedFd>, String> {
    let Ok(text) = std::env::var(FD_ENV) else {
        return Ok(None);
    };
    let fd: RawFd = text
        .parse()
        .ok()
        .filter(|fd| *fd > 2)
        .ok_or_else(|| format!("nanny: {FD_ENV}={text} is not a descriptor number above 2"))?;
    // SAFETY: only borrowed for the F_GETFD probe below; fcntl on a closed
    // number fails with EBADF and touches nothing.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    fcntl(borrowed, FcntlArg::F_GETFD)
        .map_err(|e| format!("nanny: {FD_ENV}={fd} is not an open descriptor: {e}"))?;
    // Check programs must not inherit lvsd's pipe.
    fcntl(borrowed, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
        .map_err(|e| format!("nanny: {FD_ENV}={fd}: {e}"))?;
    // SAFETY: lvsd passed this open descriptor for nanny's exclusive use,
    // and nothing else in this process refers to it.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Raises the soft limit on open files for `servers` concurrent checks:
/// when many servers time out together each holds a socket (a program or
/// load command, a few pipes), and the usual soft limit of 1024 would make
/// checks fail with EMFILE and take healthy servers out. Returns (limit,
/// wanted) when the hard limit does not allow enough.
fn raise_fd_limit(servers: usize) -> Option<(nix::libc::rlim_t, nix::libc::rlim_t)> {
    let want = nix::libc::rlim_t::try_from(servers.saturating_mul(3).saturating_add(64))
        .unwrap_or(nix::libc::rlim_t::MAX);
    let mut lim = nix::libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the rlimit struct passed by pointer,
    // which lives for the call.
    if unsafe { nix::libc::getrlimit(nix::libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur >= want {
        return None;
    }
    let raised = nix::libc::rlimit {
        rlim_cur: want.min(lim.rlim_max),
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct passed by pointer.
    let ok = unsafe { nix::libc::setrlimit(nix::libc::RLIMIT_NOFILE, &raised) } == 0;
    let have = if ok { raised.rlim_cur } else { lim.rlim_cur };
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

/// Detaches like the original's `daemonize(NOPIDFILE)`: without `-c` fork
/// twice (returns `true` in the processes that must exit now); then stdio on
/// /dev/null and a new session.
fn daemonize(nofork: bool) -> io::Result<bool> {
    if !nofork {
        // SAFETY: single-threaded here (no thread was started), so the child
        // may run any code.
        match unsafe { fork() }.map_err(io::Error::from)? {
            ForkResult::Parent { child } => {
                let _ = nix::sys::wait::waitpid(child, None);
                return Ok(true);
            }
            ForkResult::Child => {
                // SAFETY: as above, still single-threaded.
                if let ForkResult::Parent { .. } = unsafe { fork() }.map_err(io::Error::from)? {
                    return Ok(true);
                }
            }
        }
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    nix::unistd::dup2_stdin(&null).map_err(io::Error::from)?;
    nix::unistd::dup2_stdout(&null).map_err(io::Error::from)?;
    nix::unistd::dup2_stderr(&null).map_err(io::Error::from)?;
    // Already a group leader (started by a shell with job control): keep it.
    let _ = setsid();
    Ok(false)
}
