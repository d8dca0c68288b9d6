//! `pulse`: the heartbeat between the two LVS routers; the active one runs
//! lvsd and holds the floating addresses. Glue only: the decisions are
//! `failover::state::Machine`'s, the heartbeat codec `failover`'s, addresses
//! and links `rtnl`'s, ARP frames `arp`'s, process plumbing `daemon`'s; this
//! binary parses the command line, does the original's start-up checks,
//! and carries out the machine's actions ([`engine`]).

mod cli;
mod engine;
mod floating;
mod logging;
mod lvsd;
mod sdnotify;
mod startup;
mod status;
mod syncd;

use std::io::Write;
use std::process::ExitCode;

use cli::{ArgError, Parsed};

/// Exit status for bad options, a bad file, a socket that cannot be bound
/// (the original's 1).
const EXIT_FAILURE: u8 = 1;
/// The original's `return -1` ("backup is marked inactive").
const EXIT_BACKUP_INACTIVE: u8 = 255;

/// How `main` ends early: a message for stderr and an exit status.
#[derive(Debug)]
pub struct Fatal {
    /// The whole stderr text (without the final newline).
    pub message: String,
    /// Exit status.
    pub code: u8,
}

impl Fatal {
    /// Exit 1 with `message`.
    pub fn new(message: impl Into<String>) -> Fatal {
        Fatal {
            message: message.into(),
            code: EXIT_FAILURE,
        }
    }
}

fn main() -> ExitCode {
    // Before anything else (lvs.cf may take a slow DNS lookup): a SIGHUP or
    // SIGTERM now waits for the loop's handlers instead of killing us.
    let _ = daemon::signals::block_daemon_signals();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match cli::parse(&argv) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => return print(cli::HELP),
        Ok(Parsed::Usage) => return print(cli::USAGE),
        Ok(Parsed::Version) => {
            return print(&format!("pulse {}\n", env!("CARGO_PKG_VERSION")));
        }
        Err(e @ (ArgError::Bad { .. } | ArgError::Unexpected | ArgError::JsonWithoutStatus)) => {
            let _ = writeln!(std::io::stderr(), "{e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let result = if args.status {
        status::query(&args.socket, args.json).map(|text| {
            let _ = std::io::stdout().write_all(text.as_bytes());
            ExitCode::SUCCESS
        })
    } else {
        startup::run(&args)
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            if !f.message.is_empty() {
                let _ = writeln!(std::io::stderr(), "{}", f.message);
            }
            ExitCode::from(f.code)
        }
    }
}

fn print(text: &str) -> ExitCode {
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}
