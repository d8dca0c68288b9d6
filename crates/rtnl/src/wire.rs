//! Route netlink requests and replies, as bytes, with no socket.
//!
//! The framing and the `ifinfomsg` / `ifaddrmsg` headers and their
//! attributes are neli's `rtnl` types; this module only says which request
//! carries which attributes, and turns replies into [`Link`] and
//! [`Address`].  Unknown attributes are skipped (neli keeps them as
//! `UnrecognizedConst`), so newer kernels decode.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::consts::nl::{NlmF, Nlmsg};
use neli::consts::rtnl::{Arphrd, Ifa, IfaF, Iff, Ifla, RtAddrFamily, RtScope, Rtm};
use neli::err::NlmsghdrAck;
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::rtnl::{Ifaddrmsg, IfaddrmsgBuilder, Ifinfomsg, IfinfomsgBuilder, Rtattr, RtattrBuilder};
use neli::types::{Buffer, RtBuffer};
use neli::{FromBytes, FromBytesWithInput, Size, ToBytes};

use crate::error::RtnlError;
use crate::model::{Address, Link};
use crate::uapi::*;

/// Size of `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;

/// One message of a reply datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `nlmsg_seq`: the request it answers (0 for multicast events).
    pub seq: u32,
    /// `NLM_F_DUMP_INTR`: the table changed while this dump was running, so
    /// the dump may be inconsistent and should be redone.
    pub dump_interrupted: bool,
    /// What it says.
    pub body: Body,
}

/// The meaning of one reply message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// `RTM_NEWLINK` (a dump entry or a change event).
    Link(Link),
    /// `RTM_DELLINK` event: the link with that index is gone.
    LinkGone(u32),
    /// `RTM_NEWADDR` (a dump entry or an event), with its `IFA_F_*` flags.
    Address(Address, u32),
    /// `RTM_DELADDR` event.
    AddressGone(Address),
    /// `NLMSG_DONE`: end of a dump.
    Done,
    /// `NLMSG_ERROR` with error 0: the request succeeded.
    Ack,
    /// `NLMSG_ERROR` with an error: the positive errno.
    Error(i32),
    /// Any other message type (skipped).
    Other(u16),
}

/// Serialize one request.
fn emit<P: Size + ToBytes + std::fmt::Debug>(
    ty: Rtm,
    flags: NlmF,
    seq: u32,
    payload: P,
) -> Result<Vec<u8>, RtnlError> {
    let msg: Nlmsghdr<Rtm, P> = NlmsghdrBuilder::default()
        .nl_type(ty)
        .nl_flags(flags)
        .nl_seq(seq)
        .nl_payload(NlPayload::Payload(payload))
        .build()
        .map_err(|e| RtnlError::Encode(format!("building request: {e}")))?;
    let mut out = Cursor::new(vec![0; msg.padded_size()]);
    msg.to_bytes(&mut out)
        .map_err(|e| RtnlError::Encode(format!("serializing request: {e}")))?;
    Ok(out.into_inner())
}

fn attr<T: neli::consts::rtnl::RtaType>(
    ty: T,
    payload: &[u8],
) -> Result<Rtattr<T, Buffer>, RtnlError> {
    RtattrBuilder::default()
        .rta_type(ty)
        .rta_payload(Buffer::from(payload))
        .build()
        .map_err(|e| RtnlError::Encode(format!("building attribute: {e}")))
}

/// `RTM_GETLINK` dump of every link (`ip link show`).
pub fn getlink_request(seq: u32) -> Result<Vec<u8>, RtnlError> {
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .build()
        .map_err(|e| RtnlError::Encode(format!("building ifinfomsg: {e}")))?;
    emit(Rtm::Getlink, NlmF::REQUEST | NlmF::DUMP, seq, msg)
}

/// `RTM_GETADDR` dump of every IPv4 and IPv6 address (`ip addr show`).
pub fn getaddr_request(seq: u32) -> Result<Vec<u8>, RtnlError> {
    let msg = IfaddrmsgBuilder::default()
        .ifa_family(RtAddrFamily::Unspecified)
        .ifa_prefixlen(0)
        .ifa_scope(RtScope::Universe)
        .ifa_index(0)
        .build()
        .map_err(|e| RtnlError::Encode(format!("building ifaddrmsg: {e}")))?;
    emit(Rtm::Getaddr, NlmF::REQUEST | NlmF::DUMP, seq, msg)
}

/// `RTM_NEWADDR` with `NLM_F_CREATE | NLM_F_EXCL` (so a duplicate is
/// `EEXIST`), the attributes `ip addr add` sends, in its order:
/// * IPv4: `IFA_LOCAL`, `IFA_LABEL` when given, `IFA_ADDRESS` (= local),
///   `IFA_BROADCAST` when given;
/// * IPv6: `IFA_LOCAL`, `IFA_ADDRESS`, and `IFA_F_NODAD` in the header's
///   flags (as `ip addr add … nodad`).  A floating address that must first
///   pass duplicate address detection is unusable ("tentative") for about
///   a second after the takeover, and if the old owner still answers for it
///   (a partition, or a router not yet cleaned up) DAD fails and the address
///   stays dead; piranha's IPv4 `ifconfig` had no such step either.  The
///   unsolicited neighbour advertisements then update the neighbours.
///
/// `IFA_F_NOPREFIXROUTE` is not set: the kernel adds the prefix route of
/// the address as `ifconfig` did, and a `nat_router` address on its own
/// subnet needs that route to reach the real servers.
pub fn newaddr_request(address: &Address, seq: u32) -> Result<Vec<u8>, RtnlError> {
    let (family, mut attrs, header_flags) = addr_attrs(address)?;
    if let (IpAddr::V4(_), Some(b)) = (address.addr, address.broadcast) {
        attrs.push(attr(Ifa::Broadcast, &b.octets())?);
    }
    let msg = ifaddrmsg(address, family, header_flags, attrs)?;
    emit(
        Rtm::Newaddr,
        NlmF::REQUEST | NlmF::ACK | NlmF::CREATE | NlmF::EXCL,
        seq,
        msg,
    )
}

/// `RTM_DELADDR` of exactly one address: matched by the kernel on index,
/// `IFA_LOCAL`, prefix and `IFA_ADDRESS`, and `IFA_LABEL` when given (the
/// attributes of `ip addr del`, in its order).
pub fn deladdr_request(address: &Address, seq: u32) -> Result<Vec<u8>, RtnlError> {
    let (family, attrs, _) = addr_attrs(address)?;
    let msg = ifaddrmsg(address, family, IfaF::empty(), attrs)?;
    emit(Rtm::Deladdr, NlmF::REQUEST | NlmF::ACK, seq, msg)
}

type AddrAttrs = (RtAddrFamily, Vec<Rtattr<Ifa, Buffer>>, IfaF);

fn addr_attrs(address: &Address) -> Result<AddrAttrs, RtnlError> {
    crate::model::check_prefix(address.addr, address.prefix_len)?;
    Ok(match address.addr {
        IpAddr::V4(v4) => {
            let mut attrs = vec![attr(Ifa::Local, &v4.octets())?];
            if let Some(label) = &address.label {
                let mut bytes = label.as_bytes().to_vec();
                bytes.push(0);
                attrs.push(attr(Ifa::Label, &bytes)?);
            }
            attrs.push(attr(Ifa::Address, &v4.octets())?);
            (RtAddrFamily::Inet, attrs, IfaF::empty())
        }
        IpAddr::V6(v6) => (
            RtAddrFamily::Inet6,
            vec![
                attr(Ifa::Local, &v6.octets())?,
                attr(Ifa::Address, &v6.octets())?,
            ],
            IfaF::NODAD,
        ),
    })
}

fn ifaddrmsg(
    address: &Address,
    family: RtAddrFamily,
    flags: IfaF,
    attrs: Vec<Rtattr<Ifa, Buffer>>,
) -> Result<Ifaddrmsg, RtnlError> {
    IfaddrmsgBuilder::default()
        .ifa_family(family)
        .ifa_prefixlen(address.prefix_len)
        .ifa_flags(flags)
        .ifa_scope(RtScope::Universe)
        .ifa_index(address.index)
        .rtattrs(attrs.into_iter().collect::<RtBuffer<_, _>>())
        .build()
        .map_err(|e| RtnlError::Encode(format!("building ifaddrmsg: {e}")))
}

/// `RTM_SETLINK` setting `net.ipv4.conf.DEV.promote_secondaries = 1`
/// (`IFLA_AF_SPEC` → `AF_INET` → `IFLA_INET_CONF` →
/// `IPV4_DEVCONF_PROMOTE_SECONDARIES`): with it, deleting the primary
/// address of a subnet promotes a secondary instead of deleting them all.
pub fn promote_secondaries_request(index: u32, seq: u32) -> Result<Vec<u8>, RtnlError> {
    let conf = attr(IFLA_INET_CONF, &[])?
        .nest(&attr(
            IPV4_DEVCONF_PROMOTE_SECONDARIES,
            &1u32.to_ne_bytes(),
        )?)
        .map_err(|e| RtnlError::Encode(format!("nesting attribute: {e}")))?;
    let inet = attr(AF_INET, &[])?
        .nest(&conf)
        .map_err(|e| RtnlError::Encode(format!("nesting attribute: {e}")))?;
    let spec = attr(Ifla::AfSpec, &[])?
        .nest(&inet)
        .map_err(|e| RtnlError::Encode(format!("nesting attribute: {e}")))?;
    let index = i32::try_from(index).map_err(|_| RtnlError::NoDevice { index })?;
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .ifi_type(Arphrd::from(0))
        .ifi_index(index)
        .rtattrs(std::iter::once(spec).collect::<RtBuffer<_, _>>())
        .build()
        .map_err(|e| RtnlError::Encode(format!("building ifinfomsg: {e}")))?;
    emit(Rtm::Setlink, NlmF::REQUEST | NlmF::ACK, seq, msg)
}

/// Every message of one datagram.
///
/// Each message's header is neli's `NlmsghdrAck` (the bare 16-byte
/// `nlmsghdr`); its payload is then decoded by type: `NLMSG_ERROR`'s errno,
/// or neli's `Ifinfomsg` / `Ifaddrmsg`.
///
/// HACK: neli 0.7.5's own `Nlmsghdr<_, NlPayload>` decoder subtracts
/// lengths unchecked when a length field is too small (a panic in debug
/// builds, garbage in release) and accepts an `NLMSG_DONE` shorter than its
/// `nlmsg_len`; decoding header and payload apart, with the lengths checked
/// here first, avoids both (the `corrupted_bytes_never_panic` test).
pub fn parse_datagram(buf: &[u8]) -> Result<Vec<Message>, RtnlError> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < buf.len() {
        let rest = &buf[start..];
        let len = rest
            .first_chunk::<4>()
            .map(|b| u32::from_ne_bytes(*b))
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(0);
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(RtnlError::Decode(format!(
                "nlmsg_len {len} with {} bytes left",
                rest.len()
            )));
        }
        let header = NlmsghdrAck::<u16>::from_bytes(&mut Cursor::new(&rest[..NLMSG_HDRLEN]))
            .map_err(|e| RtnlError::Decode(format!("netlink header: {e}")))?;
        out.push(Message {
            seq: *header.nl_seq(),
            dump_interrupted: header.nl_flags().contains(NlmF::DUMP_INTR),
            body: parse_body(*header.nl_type(), &rest[NLMSG_HDRLEN..len])?,
        });
        // Messages are 4-byte aligned within a datagram.
        start += len.div_ceil(4) * 4;
    }
    Ok(out)
}

fn parse_body(ty: u16, payload: &[u8]) -> Result<Body, RtnlError> {
    if ty == u16::from(Nlmsg::Error) {
        let code = payload
            .first_chunk::<4>()
            .map(|b| i32::from_ne_bytes(*b))
            .ok_or_else(|| RtnlError::Decode("NLMSG_ERROR without error code".into()))?;
        return Ok(if code == 0 {
            Body::Ack
        } else {
            Body::Error(code.saturating_neg())
        });
    }
    if ty == u16::from(Nlmsg::Done) {
        return Ok(Body::Done);
    }
    Ok(match Rtm::from(ty) {
        rtm @ (Rtm::Newlink | Rtm::Dellink) => {
            let info = Ifinfomsg::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
                .map_err(|e| RtnlError::Decode(format!("ifinfomsg: {e}")))?;
            let link = parse_link(&info)?;
            if rtm == Rtm::Newlink {
                Body::Link(link)
            } else {
                Body::LinkGone(link.index)
            }
        }
        rtm @ (Rtm::Newaddr | Rtm::Deladdr) => {
            let ifa = Ifaddrmsg::from_bytes_with_input(&mut Cursor::new(payload), payload.len())
                .map_err(|e| RtnlError::Decode(format!("ifaddrmsg: {e}")))?;
            let (address, flags) = parse_address(&ifa)?;
            if rtm == Rtm::Newaddr {
                Body::Address(address, flags)
            } else {
                Body::AddressGone(address)
            }
        }
        _ => Body::Other(ty),
    })
}

/// A NUL-terminated (or not) string attribute.
fn string(bytes: &[u8], what: &str) -> Result<String, RtnlError> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8(bytes[..end].to_vec())
        .map_err(|_| RtnlError::Decode(format!("{what} is not UTF-8")))
}

/// A [`Link`] from an `RTM_NEWLINK`.
pub fn parse_link(info: &Ifinfomsg) -> Result<Link, RtnlError> {
    let index = u32::try_from(*info.ifi_index())
        .map_err(|_| RtnlError::Decode(format!("negative ifindex {}", info.ifi_index())))?;
    let flags = *info.ifi_flags();
    let mut link = Link {
        index,
        name: String::new(),
        mac: None,
        admin_up: flags.contains(Iff::UP),
        lower_up: flags.contains(Iff::LOWERUP),
        kind: None,
        master: None,
        is_bond_master: flags.contains(Iff::MASTER),
        is_bond_slave: flags.contains(Iff::SLAVE),
    };
    let mut have_name = false;
    for a in info.rtattrs().iter() {
        let p: &[u8] = a.rta_payload().as_ref();
        match a.rta_type() {
            Ifla::Ifname => {
                link.name = string(p, "IFLA_IFNAME")?;
                have_name = true;
            }
            Ifla::Address => link.mac = <[u8; 6]>::try_from(p).ok(),
            Ifla::Master => link.master = u32_attr(p).filter(|&m| m != 0),
            Ifla::Operstate if p.first() == Some(&IF_OPER_UP) => link.lower_up = true,
            Ifla::Linkinfo => link.kind = link_kind(p)?,
            _ => {}
        }
    }
    if !have_name {
        return Err(RtnlError::Decode(format!(
            "link {index} without IFLA_IFNAME"
        )));
    }
    Ok(link)
}

fn u32_attr(p: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(p).ok().map(u32::from_ne_bytes)
}

/// `IFLA_INFO_KIND` inside `IFLA_LINKINFO`.
fn link_kind(nested: &[u8]) -> Result<Option<String>, RtnlError> {
    let attrs =
        RtBuffer::<u16, Buffer>::from_bytes_with_input(&mut Cursor::new(nested), nested.len())
            .map_err(|e| RtnlError::Decode(format!("IFLA_LINKINFO: {e}")))?;
    for a in attrs.iter() {
        if *a.rta_type() & NLA_TYPE_MASK == IFLA_INFO_KIND {
            return string(a.rta_payload().as_ref(), "IFLA_INFO_KIND").map(Some);
        }
    }
    Ok(None)
}

/// An [`Address`] and its `IFA_F_*` flags from an `RTM_NEWADDR`.
pub fn parse_address(ifa: &Ifaddrmsg) -> Result<(Address, u32), RtnlError> {
    let family = *ifa.ifa_family();
    let mut local = None;
    let mut peer = None;
    let mut label = None;
    let mut broadcast = None;
    let mut flags = u32::from(u8::from(*ifa.ifa_flags()));
    for a in ifa.rtattrs().iter() {
        let p: &[u8] = a.rta_payload().as_ref();
        match a.rta_type() {
            Ifa::Local => local = Some(ip(family, p)?),
            Ifa::Address => peer = Some(ip(family, p)?),
            Ifa::Label => label = Some(string(p, "IFA_LABEL")?),
            Ifa::Broadcast => {
                if let IpAddr::V4(b) = ip(RtAddrFamily::Inet, p)? {
                    broadcast = Some(b);
                }
            }
            // IFA_FLAGS supersedes the 8-bit header field.
            Ifa::Flags => flags = u32_attr(p).unwrap_or(flags),
            _ => {}
        }
    }
    // IPv4 names the interface's own address IFA_LOCAL (IFA_ADDRESS is the
    // peer on point-to-point links); IPv6 sends IFA_LOCAL only with a peer.
    let addr = local
        .or(peer)
        .ok_or_else(|| RtnlError::Decode("address message without address".into()))?;
    let address = Address {
        index: *ifa.ifa_index(),
        addr,
        prefix_len: *ifa.ifa_prefixlen(),
        label: if addr.is_ipv4() { label } else { None },
        broadcast,
    };
    Ok((address, flags))
}

fn ip(family: RtAddrFamily, p: &[u8]) -> Result<IpAddr, RtnlError> {
    match family {
        RtAddrFamily::Inet => <[u8; 4]>::try_from(p)
            .map(|o| IpAddr::V4(Ipv4Addr::from(o)))
            .map_err(|_| RtnlError::Decode(format!("IPv4 address of {} bytes", p.len()))),
        RtAddrFamily::Inet6 => <[u8; 16]>::try_from(p)
            .map(|o| IpAddr::V6(Ipv6Addr::from(o)))
            .map_err(|_| RtnlError::Decode(format!("IPv6 address of {} bytes", p.len()))),
        other => Err(RtnlError::Decode(format!("address family {other:?}"))),
    }
}
