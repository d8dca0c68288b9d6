//! Health checking of LVS real servers: the engine behind `nanny`.
//!
//! What it owns:
//! * [`probe`] / [`check`] / [`program`]: the checks (TCP connect, TCP/UDP
//!   send + expect, regex, external program), non-blocking and each bounded
//!   by its timeout as a whole, so one thread can run one or many;
//! * [`state`]: nanny's decisions (reentry, quiesce, weight ramp-up, load
//!   re-weighting, signals) as a pure `transition(state, event)`;
//! * [`report`]: the line protocol nanny uses to report to lvsd
//!   (`docs/protocol.md`), emitter and parser, shared with lvsd;
//! * [`argv`]: nanny's command line as one typed value, which lvsd writes
//!   and nanny reads; [`control`]: the control lines lvsd writes to a
//!   shared nanny and nanny reads;
//! * [`ipvs`]: the real server's IPVS entry and the operations on it, with a
//!   seam ([`ipvs::IpvsControl`]) for whoever applies them;
//! * [`monitor`]: the single-threaded poll loop tying these together.
//!
//! What it does not own: parsing lvs.cf (crate `lvscf`), talking netlink to
//! the kernel (crate `ipvs`), supervising nannies (lvsd).

pub mod argv;
pub mod check;
pub mod control;
pub mod escape;
pub mod ipvs;
pub mod load;
pub mod log;
pub mod monitor;
pub mod probe;
pub mod program;
pub mod report;
pub mod state;
