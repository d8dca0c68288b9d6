//! Sending whole Ethernet frames through an `AF_PACKET`/`SOCK_RAW` socket
//! bound to one interface, and the interface facts (index, MAC) it needs.
//!
//! This replaces piranha's `socket(AF_INET, SOCK_PACKET, …)`, which the
//! kernel calls obsolete: `SOCK_RAW` on `AF_PACKET` takes the frame as
//! given, Ethernet header included, exactly like `SOCK_PACKET` did, but
//! addresses the interface by index in a `sockaddr_ll` (packet(7)).

use std::io::{self, Read};
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use nix::libc;
use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type, socklen_t};

use crate::Mac;

/// Length of the Ethernet header the frames passed to
/// [`PacketSocket::send`] must begin with.
pub const ETH_HEADER_LEN: usize = 14;

/// `ETH_P_ALL` (linux/if_ether.h): every protocol, for
/// [`PacketSocket::capture`].
pub const ETH_P_ALL: u16 = 0x0003;

/// `ARPHRD_ETHER` (linux/if_arp.h).
pub const ARPHRD_ETHER: u16 = 1;

const SOCKADDR_LL_LEN: socklen_t = 20;
/// `AF_PACKET` (17) as the `sa_family_t` of a `sockaddr_ll`.
const AF_PACKET_FAMILY: libc::c_ushort = 17;
const _: () = assert!(AF_PACKET_FAMILY as libc::c_int == libc::AF_PACKET);
const _: () = assert!(size_of::<libc::sockaddr_ll>() == SOCKADDR_LL_LEN as usize);

/// One network interface as the kernel names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    /// The interface index (`if_nametoindex`).
    pub index: u32,
    /// Its hardware address (`SIOCGIFHWADDR`): the first six bytes, all
    /// zero for loopback.
    pub mac: Mac,
    /// Its `ARPHRD_*` hardware type ([`ARPHRD_ETHER`] for Ethernet, veth,
    /// bonds and bridges; 772 for loopback).
    pub hardware_type: u16,
}

impl Interface {
    /// True when the interface speaks Ethernet, so ARP frames make sense.
    pub fn is_ethernet(&self) -> bool {
        self.hardware_type == ARPHRD_ETHER
    }
}

/// The device an address label lives on: `eth0:1` → `eth0`, `eth0` →
/// `eth0`. piranha configures VIPs on alias labels and sends their ARP on
/// the base device; the kernel never allows ':' in a device name, so
/// everything from the first ':' on is the label.
pub fn base_device(label: &str) -> &str {
    label.split_once(':').map_or(label, |(base, _)| base)
}

/// Index, MAC and hardware type of the interface `name` in the calling
/// thread's network namespace (an alias label must be stripped first, see
/// [`base_device`]). A missing interface is `ENODEV` ("No such device").
pub fn interface(name: &str) -> io::Result<Interface> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a valid interface name"),
        ));
    }
    let index = nix::net::if_::if_nametoindex(name).map_err(io::Error::from)?;
    // Any socket in this namespace answers SIOCGIFHWADDR; a datagram socket
    // needs no privilege.
    let probe = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    // SAFETY: ifreq is plain old data (arrays, integers and a union of
    // them); all zeros is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.as_bytes()) {
        *dst = libc::c_char::from_ne_bytes([*src]);
    }
    // SAFETY: SIOCGIFHWADDR reads ifr_name (NUL-terminated: the name is
    // shorter than IFNAMSIZ and the rest is zero) and writes ifr_hwaddr
    // inside the ifreq we own; the fd is a valid open socket.
    let rc = unsafe { libc::ioctl(probe.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after a successful SIOCGIFHWADDR the kernel has filled the
    // ifru_hwaddr member of the union.
    let hw = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (dst, src) in mac.iter_mut().zip(hw.sa_data.iter()) {
        *dst = src.to_ne_bytes()[0];
    }
    Ok(Interface {
        index,
        mac: Mac(mac),
        hardware_type: hw.sa_family,
    })
}

/// An `AF_PACKET`/`SOCK_RAW` socket bound to one interface.
///
/// [`PacketSocket::open`] gives a send-only socket (protocol 0: the kernel
/// queues nothing to it, so a daemon can keep it open for good);
/// [`PacketSocket::capture`] one that also receives the frames of one
/// EtherType on that interface, for tests and measurements. Sending needs
/// `CAP_NET_RAW`. The descriptor is close-on-exec.
#[derive(Debug)]
pub struct PacketSocket {
    socket: Socket,
    ifindex: u32,
}

fn link_addr(ifindex: u32, protocol: u16, dst: Option<Mac>) -> io::Result<SockAddr> {
    let ifindex = libc::c_int::try_from(ifindex).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface index {ifindex} out of range"),
        )
    })?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_ll is one of this platform's sockaddr types and
    // smaller than sockaddr_storage (view_as asserts the size); the storage
    // is zeroed, a valid sockaddr_ll.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = AF_PACKET_FAMILY;
    // sll_protocol is in network byte order (packet(7)).
    ll.sll_protocol = protocol.to_be();
    ll.sll_ifindex = ifindex;
    if let Some(mac) = dst {
        ll.sll_halen = 6;
        ll.sll_addr[..6].copy_from_slice(&mac.0);
    }
    // SAFETY: the storage holds an initialised sockaddr_ll whose family is
    // AF_PACKET, and the length given is that of sockaddr_ll.
    Ok(unsafe { SockAddr::new(storage, SOCKADDR_LL_LEN) })
}

impl PacketSocket {
    /// A send-only packet socket bound to interface `ifindex`.
    pub fn open(ifindex: u32) -> io::Result<PacketSocket> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
        socket.bind(&link_addr(ifindex, 0, None)?)?;
        Ok(PacketSocket { socket, ifindex })
    }

    /// A packet socket on interface `ifindex` that also receives every
    /// frame of `ethertype` there ([`ETH_P_ALL`] for all), incoming and
    /// outgoing, from the moment it returns.
    pub fn capture(ifindex: u32, ethertype: u16) -> io::Result<PacketSocket> {
        // Protocol 0 at creation, the real one at bind: otherwise frames of
        // every interface could be queued between socket() and bind().
        let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
        socket.bind(&link_addr(ifindex, ethertype, None)?)?;
        Ok(PacketSocket { socket, ifindex })
    }

    /// The interface this socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Sends one whole frame, Ethernet header included, as given: no
    /// padding or FCS is added (emit 60-byte frames, as [`crate::frame`]
    /// and [`crate::ndisc`] do). The `sockaddr_ll` names the bound
    /// interface, the frame's EtherType and its Ethernet destination.
    /// A frame shorter than an Ethernet header is `InvalidInput`; a
    /// would-block on a non-blocking socket is `WouldBlock`.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let (Some(dst), Some(ethertype)) = (frame.get(0..6), frame.get(12..14)) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame of {} bytes: at least an Ethernet header ({ETH_HEADER_LEN}) needed",
                    frame.len()
                ),
            ));
        };
        let mut mac = [0u8; 6];
        mac.copy_from_slice(dst);
        let ethertype = u16::from_be_bytes([ethertype[0], ethertype[1]]);
        let addr = link_addr(self.ifindex, ethertype, Some(Mac(mac)))?;
        let sent = self.socket.send_to(frame, &addr)?;
        if sent != frame.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("sent {sent} of {} bytes", frame.len()),
            ));
        }
        Ok(())
    }

    /// Receives one frame into `buf` (truncated to its length); returns the
    /// bytes written. Only a [`capture`](Self::capture) socket receives
    /// anything.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.socket).read(buf)
    }

    /// Switches `O_NONBLOCK` on or off (for a poll/epoll or tokio `AsyncFd`
    /// loop).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking)
    }

    /// Bounds how long [`recv`](Self::recv) blocks (`SO_RCVTIMEO`); then it
    /// fails with `WouldBlock`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_device_strips_the_label() {
        assert_eq!(base_device("eth0:1"), "eth0");
        assert_eq!(base_device("eth0"), "eth0");
        assert_eq!(base_device("bond0:vip:2"), "bond0");
        assert_eq!(base_device(""), "");
    }

    /// Needs no privilege: loopback exists in every namespace.
    #[test]
    fn loopback_interface() {
        let lo = interface("lo").unwrap();
        assert!(lo.index >= 1);
        assert_eq!(lo.mac, Mac::ZERO);
        assert_eq!(lo.hardware_type, 772);
        assert!(!lo.is_ethernet());
    }

    #[test]
    fn missing_and_invalid_interfaces() {
        let err = interface("nosuch0").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENODEV), "{err}");
        let err = interface("a-name-far-too-long").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(interface("").is_err());
    }

    #[test]
    fn link_addr_layout() {
        let addr = link_addr(7, 0x0806, Some(Mac::BROADCAST)).unwrap();
        assert_eq!(addr.len(), SOCKADDR_LL_LEN);
        assert_eq!(i32::from(addr.family()), libc::AF_PACKET);
        // SAFETY: the storage was written as a sockaddr_ll by link_addr.
        let ll = unsafe { &*(addr.as_ptr() as *const libc::sockaddr_ll) };
        assert_eq!(ll.sll_ifindex, 7);
        assert_eq!(ll.sll_protocol, 0x0806u16.to_be());
        assert_eq!(ll.sll_halen, 6);
        assert_eq!(&ll.sll_addr[..6], &[0xff; 6]);
        assert!(link_addr(u32::MAX, 0, None).is_err());
    }
}
