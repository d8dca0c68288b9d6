//! The kernel's links and addresses through a route netlink socket.
//!
//! One blocking socket per [`NetlinkRoute`] with a receive timeout
//! ([`RECV_TIMEOUT`]), one request in flight (`&mut self`); answers are
//! matched by sequence number, so a late answer to a request that timed out
//! is skipped rather than taken for the next one.  The bytes come from
//! [`crate::wire`]; this module only moves them.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::TimeVal;

use crate::Interfaces;
use crate::error::RtnlError;
use crate::model::{Address, Link, check_label, link_by_index};
use crate::uapi::*;
use crate::wire::{self, Body};

/// How long one `recv` waits for the kernel before the operation fails
/// with [`RtnlError::Timeout`]: a lost answer must not hang pulse.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(2);

/// Upper bound of one whole request (a dump of many links takes several
/// datagrams, each within [`RECV_TIMEOUT`]).
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// How often a dump the kernel marks inconsistent is redone.
const DUMP_TRIES: usize = 3;

/// A datagram of a dump is at most one page plus a little on most kernels
/// (up to 32 KiB with large pages); 64 KiB holds any of them.
const RECV_BUF: usize = 64 * 1024;

fn borrow(sock: &NlSocket) -> BorrowedFd<'_> {
    // SAFETY: the fd belongs to `sock`, which outlives the borrow (the
    // lifetime is tied to `&sock`); neli closes it only on drop.
    unsafe { BorrowedFd::borrow_raw(sock.as_raw_fd()) }
}

/// The links and addresses of the caller's network namespace, in the
/// kernel.
///
/// The namespace is the one of the thread that called [`NetlinkRoute::new`]
/// (a netlink socket stays in the namespace it was created in).
pub struct NetlinkRoute {
    sock: NlSocket,
    seq: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for NetlinkRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetlinkRoute")
            .field("seq", &self.seq)
            .finish()
    }
}

impl NetlinkRoute {
    /// Open a blocking route netlink socket with [`RECV_TIMEOUT`].
    pub fn new() -> Result<Self, RtnlError> {
        let sock = NlSocket::connect(NlFamily::Route, None, Groups::empty())?;
        sock.block()?;
        setsockopt(
            &borrow(&sock),
            sockopt::ReceiveTimeout,
            &TimeVal::new(
                i64::try_from(RECV_TIMEOUT.as_secs()).unwrap_or(i64::MAX),
                i64::from(RECV_TIMEOUT.subsec_micros()),
            ),
        )
        .map_err(io::Error::from)?;
        Ok(NetlinkRoute {
            sock,
            seq: 0,
            buf: vec![0; RECV_BUF],
        })
    }

    fn next_seq(&mut self) -> u32 {
        // 0 is what multicast events carry; never use it for a request.
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Send one request and collect the messages answering it, up to the
    /// end of the dump or the ack.  `Err` on an error ack.  A dump the
    /// kernel marks inconsistent (`NLM_F_DUMP_INTR`: links or addresses
    /// changed meanwhile) is redone, [`DUMP_TRIES`] times at most.
    fn request(
        &mut self,
        build: impl Fn(u32) -> Result<Vec<u8>, RtnlError>,
        index: u32,
    ) -> Result<Vec<Body>, RtnlError> {
        for _ in 0..DUMP_TRIES {
            let (bodies, interrupted) = self.request_once(&build, index)?;
            if !interrupted {
                return Ok(bodies);
            }
        }
        Err(RtnlError::Kernel {
            errno: nix::libc::EINTR,
        })
    }

    fn request_once(
        &mut self,
        build: &impl Fn(u32) -> Result<Vec<u8>, RtnlError>,
        index: u32,
    ) -> Result<(Vec<Body>, bool), RtnlError> {
        let seq = self.next_seq();
        let bytes = build(seq)?;
        self.sock.send(&bytes, Msg::empty())?;
        let deadline = Instant::now() + REQUEST_DEADLINE;
        let mut out = Vec::new();
        let mut interrupted = false;
        loop {
            if Instant::now() > deadline {
                return Err(RtnlError::Timeout);
            }
            let (n, _) = self.sock.recv(&mut self.buf[..], Msg::empty())?;
            if n == 0 {
                return Err(RtnlError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "route netlink socket closed",
                )));
            }
            let n = n.min(self.buf.len());
            for m in wire::parse_datagram(&self.buf[..n])? {
                if m.seq != seq {
                    continue; // a stale answer to an earlier, timed-out request
                }
                interrupted |= m.dump_interrupted;
                match m.body {
                    Body::Done | Body::Ack => return Ok((out, interrupted)),
                    Body::Error(errno) => return Err(RtnlError::from_errno(errno, index)),
                    other => out.push(other),
                }
            }
        }
    }

    fn dump_addresses(&mut self) -> Result<Vec<(Address, u32)>, RtnlError> {
        let bodies = self.request(wire::getaddr_request, 0)?;
        Ok(bodies
            .into_iter()
            .filter_map(|b| match b {
                Body::Address(a, flags) => Some((a, flags)),
                _ => None,
            })
            .collect())
    }

    /// `net.ipv4.conf.DEV.promote_secondaries = 1` for interface `index`.
    pub fn promote_secondaries(&mut self, index: u32) -> Result<(), RtnlError> {
        self.request(|seq| wire::promote_secondaries_request(index, seq), index)
            .map(drop)
    }
}

impl Interfaces for NetlinkRoute {
    fn links(&mut self) -> Result<Vec<Link>, RtnlError> {
        let bodies = self.request(wire::getlink_request, 0)?;
        let mut links: Vec<Link> = bodies
            .into_iter()
            .filter_map(|b| match b {
                Body::Link(l) => Some(l),
                _ => None,
            })
            .collect();
        links.sort_by_key(|l| l.index);
        Ok(links)
    }

    fn addresses(&mut self) -> Result<Vec<Address>, RtnlError> {
        Ok(self.dump_addresses()?.into_iter().map(|(a, _)| a).collect())
    }

    fn add_address(&mut self, address: &Address) -> Result<(), RtnlError> {
        crate::model::check_prefix(address.addr, address.prefix_len)?;
        if address.label.is_some() {
            // The label rule needs the device's name; the kernel would take
            // any label.
            let links = self.links()?;
            let link = link_by_index(&links, address.index).ok_or(RtnlError::NoDevice {
                index: address.index,
            })?;
            check_label(address, &link.name)?;
        }
        self.request(|seq| wire::newaddr_request(address, seq), address.index)
            .map(drop)
    }

    fn del_address(&mut self, address: &Address) -> Result<(), RtnlError> {
        crate::model::check_prefix(address.addr, address.prefix_len)?;
        if address.is_ipv4() {
            // Deleting the primary IPv4 address of a subnet deletes every
            // secondary address of that subnet on the device too, unless
            // promote_secondaries is on (piranha's `ifconfig eth0:1 down`
            // trap).  Turn it on first when that would happen; it stays on,
            // since the next primary deletion needs it just the same.
            let all = self.dump_addresses()?;
            let target = all.iter().find(|(a, _)| {
                a.same_as(address) && (address.label.is_none() || a.label == address.label)
            });
            if let Some((t, flags)) = target {
                let primary = flags & IFA_F_SECONDARY == 0;
                let has_secondaries = all.iter().any(|(a, f)| {
                    f & IFA_F_SECONDARY != 0
                        && a.index == t.index
                        && a.is_ipv4()
                        && a.prefix_len == t.prefix_len
                        && same_subnet(a, t)
                });
                if primary && has_secondaries {
                    self.promote_secondaries(t.index)?;
                }
            }
        }
        self.request(|seq| wire::deladdr_request(address, seq), address.index)
            .map(drop)
    }
}

fn same_subnet(a: &Address, b: &Address) -> bool {
    match (a.addr, b.addr) {
        (std::net::IpAddr::V4(x), std::net::IpAddr::V4(y)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(a.prefix_len.min(32)))
                .unwrap_or(0);
            u32::from(x) & mask == u32::from(y) & mask
        }
        _ => false,
    }
}

/// A non-blocking route netlink socket on the link and the IPv4/IPv6
/// address multicast groups: it tells *that* links or addresses changed.
///
/// Register [`AsRawFd`]/[`AsFd`] with an event loop (tokio's `AsyncFd`);
/// when readable, call [`LinkWatch::drain`], and if it says `true`, re-read
/// [`Interfaces::links`] (and addresses).  The events themselves are not
/// interpreted: a re-read is always right, also after the kernel dropped
/// events because the socket's buffer was full (`ENOBUFS`).
pub struct LinkWatch {
    sock: NlSocket,
    buf: Vec<u8>,
}

impl std::fmt::Debug for LinkWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkWatch")
            .field("fd", &self.sock.as_raw_fd())
            .finish()
    }
}

/// At most this many datagrams per [`LinkWatch::drain`], so a flood of
/// events cannot keep the caller in it; the rest waits for the next call.
const DRAIN_MAX: usize = 256;

impl LinkWatch {
    /// Subscribe to `RTMGRP_LINK`, `RTMGRP_IPV4_IFADDR` and
    /// `RTMGRP_IPV6_IFADDR` in the caller's network namespace.
    pub fn new() -> Result<Self, RtnlError> {
        let groups = Groups::new_bitmask(RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
        let sock = NlSocket::connect(NlFamily::Route, None, groups)?;
        sock.nonblock()?;
        Ok(LinkWatch {
            sock,
            buf: vec![0; RECV_BUF],
        })
    }

    /// Read every queued event without blocking; `true` if there was any
    /// link or address event (or lost events: `ENOBUFS`, or an event that
    /// did not decode), so the caller should re-read the state.  `Err` only
    /// when the socket itself fails.
    pub fn drain(&mut self) -> Result<bool, RtnlError> {
        let mut changed = false;
        for _ in 0..DRAIN_MAX {
            match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((0, _)) => break,
                Ok((n, _)) => {
                    let n = n.min(self.buf.len());
                    match wire::parse_datagram(&self.buf[..n]) {
                        Ok(msgs) => {
                            changed |= msgs.iter().any(|m| {
                                matches!(
                                    m.body,
                                    Body::Link(_)
                                        | Body::LinkGone(_)
                                        | Body::Address(..)
                                        | Body::AddressGone(_)
                                )
                            });
                        }
                        // An event we cannot read still means something
                        // changed; the re-read dump tells what.
                        Err(_) => changed = true,
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The kernel dropped events: the state must be re-read.
                Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => changed = true,
                Err(e) => return Err(RtnlError::Io(e)),
            }
        }
        Ok(changed)
    }
}

impl AsRawFd for LinkWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for LinkWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        borrow(&self.sock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request the kernel never answers ends in `Timeout` after
    /// `RECV_TIMEOUT`, not in a hang.  (Opening a route netlink socket and
    /// waiting on it needs no privilege and sends nothing.)
    #[test]
    fn an_unanswered_wait_times_out() {
        let mut route = NetlinkRoute::new().expect("route netlink socket");
        let start = Instant::now();
        let got = route.sock.recv(&mut route.buf[..], Msg::empty());
        let waited = start.elapsed();
        let Err(e) = got else {
            panic!("nothing was asked, yet something arrived")
        };
        let err = RtnlError::from(e);
        assert!(matches!(err, RtnlError::Timeout), "{err}");
        assert!(
            waited >= RECV_TIMEOUT - Duration::from_millis(50)
                && waited < RECV_TIMEOUT + Duration::from_secs(1),
            "waited {waited:?}"
        );
    }

    #[test]
    fn sequence_numbers_skip_zero() {
        let mut route = NetlinkRoute::new().expect("route netlink socket");
        route.seq = u32::MAX;
        assert_eq!(route.next_seq(), 1);
        assert_eq!(route.next_seq(), 2);
    }
}
