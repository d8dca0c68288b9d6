//! `nanny`: health check of one real server, reporting to lvsd or programming IPVS itself
//!
//! This release does not ship the daemon yet; the binary answers `--help`
//! and `--version` and refuses to run rather than pretend to work.

use std::process::ExitCode;

use clap::Parser;

/// health check of one real server, reporting to lvsd or programming IPVS itself
#[derive(Parser, Debug)]
#[command(name = "nanny", version, about)]
struct Args {}

fn main() -> ExitCode {
    let _args = Args::parse();
    eprintln!("nanny: not implemented in this release; see README.md");
    ExitCode::from(1)
}
