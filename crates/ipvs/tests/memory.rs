//! The conformance suite against the in-memory table.

use ipvs::conformance::{CASES, Env};
use ipvs::{MemoryIpvs, Scheduler};

#[test]
fn conformance_recent_kernel() {
    for (name, case) in CASES {
        let mut t = MemoryIpvs::new();
        eprintln!("case {name}");
        case(&mut t, &Env::without(&[], "lo"));
    }
}

#[test]
fn conformance_kernel_6_1_without_twos() {
    let env = Env::without(&[Scheduler::TWOS], "lo");
    let mut t =
        MemoryIpvs::new().with_schedulers(env.schedulers.iter().map(|s| s.name().to_owned()));
    ipvs::conformance::run_all(&mut t, &env);
}
