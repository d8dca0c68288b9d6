//! `pulse`: heartbeat between the two LVS routers; the active one runs lvsd and holds the floating addresses
//!
//! This release does not ship the daemon yet; the binary answers `--help`
//! and `--version` and refuses to run rather than pretend to work.

use std::process::ExitCode;

use clap::Parser;

/// heartbeat between the two LVS routers; the active one runs lvsd and holds the floating addresses
#[derive(Parser, Debug)]
#[command(name = "pulse", version, about)]
struct Args {}

fn main() -> ExitCode {
    let _args = Args::parse();
    eprintln!("pulse: not implemented in this release; see README.md");
    ExitCode::from(1)
}
