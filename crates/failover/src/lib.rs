//! pulse's engine: the heartbeat wire, the failover decisions and the set
//! of floating addresses, all pure.
//!
//! What it owns:
//! * [`heartbeat`]: the 4-byte heartbeat of piranha 0.8.6 (parse/emit,
//!   byte-identical to the original);
//! * [`auth`]: the opt-in HMAC-SHA256 heartbeat with a replay counter
//!   (`heartbeat_key_file`), still read as a plain heartbeat by an
//!   original partner;
//! * [`floating`]: the addresses the active router holds, from lvs.cf, and
//!   the diff between two such sets (SIGHUP);
//! * [`state`]: the failover state machine of piranha.md §4.4 as
//!   `Machine::on(now, event) -> actions`, with the time passed in;
//! * [`status`]: pulse's status snapshot, as its socket writes it and its
//!   readers parse it;
//! * [`sim`]: a two-router simulation (simulated clock and wire, and a
//!   model of the original pulse) used by the tests and usable by others.
//!
//! What it does not own: sockets and the event loop (bin/pulse), addresses
//! and link state in the kernel (crate `rtnl`), ARP/NA frames (crate
//! `arp`), lvsd and the IPVS table (lvsd; pulse only starts, signals and
//! stops it), parsing lvs.cf (crate `lvscf`).

pub mod auth;
pub mod floating;
pub mod heartbeat;
pub mod sim;
pub mod state;
pub mod status;

pub use floating::FloatingAddress;
pub use heartbeat::Heartbeat;
pub use state::{Action, Event, Machine, Params};
