//! `nanny`: health check of one real server, reporting to lvsd or programming IPVS itself

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("nanny: not implemented in this release");
    ExitCode::from(1)
}
