//! Gratuitous ARP and unsolicited IPv6 neighbour advertisements for floating
//! addresses, as piranha's `send_arp` sends them and `pulse` needs them.
//!
//! What this crate owns:
//! * [`mac`]: the Ethernet address type and `send_arp`'s argument syntax for it;
//! * [`frame`]: the 60-byte Ethernet + ARP frame as a checked byte view
//!   (parse and emit, no I/O), including piranha's gratuitous ARP reply;
//! * [`ndisc`]: the unsolicited IPv6 neighbour advertisement (RFC 4861
//!   §7.2.6), parse and emit with its ICMPv6 checksum, no I/O;
//! * [`socket`]: an `AF_PACKET`/`SOCK_RAW` socket bound to one interface that
//!   sends (or, for tests and captures, receives) whole frames, and the
//!   interface lookup (index and MAC) it needs;
//! * [`announce`]: the pure schedule of repeated announcements (5 × 1 s, the
//!   first at once, as the original pulse).
//!
//! What it does not do: add or remove addresses, watch links or read
//! `lvs.cf` (that is rtnetlink and pulse's business), decide *when* to
//! announce (pulse's state machine does; it drives [`announce::Announcer`]
//! from its own loop), or run any async runtime. The interface index and
//! MAC are looked up with one ioctl here, so `send_arp` needs no netlink.

pub mod announce;
pub mod frame;
pub mod mac;
pub mod ndisc;
pub mod socket;

pub use mac::{Mac, MacError};
