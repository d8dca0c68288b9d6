//! `send_arp`: send gratuitous ARP for a floating address
//!
//! This release does not ship the daemon yet; the binary answers `--help`
//! and `--version` and refuses to run rather than pretend to work.

use std::process::ExitCode;

use clap::Parser;

/// send gratuitous ARP for a floating address
#[derive(Parser, Debug)]
#[command(name = "send_arp", version, about)]
struct Args {}

fn main() -> ExitCode {
    let _args = Args::parse();
    eprintln!("send_arp: not implemented in this release; see README.md");
    ExitCode::from(1)
}
