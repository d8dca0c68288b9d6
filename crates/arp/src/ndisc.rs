//! The unsolicited IPv6 neighbour advertisement (RFC 4861 §4.4, §7.2.6), the
//! IPv6 counterpart of a gratuitous ARP, as a checked byte view: named
//! offsets, [`parse`] into a typed [`NeighborAdvert`] (checksum verified),
//! [`NeighborAdvert::emit`] (checksum computed). No I/O here.
//!
//! Layout of the frame we send (offsets in bytes, big-endian):
//!
//! ```text
//!  0  6  Ethernet destination 33:33:00:00:00:01 (all-nodes, RFC 2464 §7)
//!  6  6  Ethernet source
//! 12  2  EtherType 0x86dd
//! 14  4  IPv6 version 6, traffic class 0, flow label 0
//! 18  2  payload length (32)
//! 20  1  next header 58 (ICMPv6)
//! 21  1  hop limit 255 (receivers drop anything else)
//! 22 16  source address: the advertised address itself
//! 38 16  destination ff02::1
//! 54  1  ICMPv6 type 136, 55 code 0, 56..58 checksum (RFC 4443 §2.3)
//! 58  4  flags R(0x80) S(0x40) O(0x20) in byte 58, then reserved zeros
//! 62 16  target address
//! 78  8  option 2 (target link-layer address), length 1 (× 8 bytes), MAC
//! ```

use std::fmt;
use std::net::Ipv6Addr;
use std::ops::Range;

use crate::Mac;

/// Length of an advertisement with the target link-layer address option.
pub const NA_FRAME_LEN: usize = 86;
/// Length without options; the shortest frame [`parse`] accepts.
pub const MIN_LEN: usize = 78;

/// Ethernet destination.
pub const ETH_DST: Range<usize> = 0..6;
/// Ethernet source.
pub const ETH_SRC: Range<usize> = 6..12;
/// EtherType.
pub const ETHERTYPE: Range<usize> = 12..14;
/// Version, traffic class, flow label.
pub const IP_VTF: Range<usize> = 14..18;
/// IPv6 payload length.
pub const IP_PAYLOAD_LEN: Range<usize> = 18..20;
/// IPv6 next header.
pub const IP_NEXT_HEADER: usize = 20;
/// IPv6 hop limit.
pub const IP_HOP_LIMIT: usize = 21;
/// IPv6 source.
pub const IP_SRC: Range<usize> = 22..38;
/// IPv6 destination.
pub const IP_DST: Range<usize> = 38..54;
/// Start of the ICMPv6 message.
pub const ICMP: usize = 54;
/// ICMPv6 type.
pub const ICMP_TYPE: usize = 54;
/// ICMPv6 code.
pub const ICMP_CODE: usize = 55;
/// ICMPv6 checksum.
pub const ICMP_CHECKSUM: Range<usize> = 56..58;
/// Flags (byte 58) and 29 reserved bits.
pub const NA_FLAGS: Range<usize> = 58..62;
/// Target address.
pub const NA_TARGET: Range<usize> = 62..78;
/// Start of the options.
pub const NA_OPTIONS: usize = 78;

/// `ETH_P_IPV6` (linux/if_ether.h).
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// `IPPROTO_ICMPV6`.
pub const NEXT_HEADER_ICMPV6: u8 = 58;
/// `NDISC_NEIGHBOUR_ADVERTISEMENT` (RFC 4861 §4.4).
pub const ICMP_TYPE_NA: u8 = 136;
/// `ND_OPT_TARGET_LL_ADDR` (RFC 4861 §4.6.1).
pub const OPT_TARGET_LL_ADDR: u8 = 2;
/// Router flag, in byte 58.
pub const FLAG_ROUTER: u8 = 0x80;
/// Solicited flag, in byte 58.
pub const FLAG_SOLICITED: u8 = 0x40;
/// Override flag, in byte 58.
pub const FLAG_OVERRIDE: u8 = 0x20;
/// `ff02::1`, all nodes on the link.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// `33:33:00:00:00:01`, the Ethernet address of `ff02::1` (RFC 2464 §7).
pub const ALL_NODES_MAC: Mac = Mac([0x33, 0x33, 0, 0, 0, 1]);

/// One Ethernet + IPv6 + ICMPv6 neighbour advertisement, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NeighborAdvert {
    /// Ethernet destination.
    pub eth_dst: Mac,
    /// Ethernet source.
    pub eth_src: Mac,
    /// IPv6 source.
    pub src_ip: Ipv6Addr,
    /// IPv6 destination.
    pub dst_ip: Ipv6Addr,
    /// IPv6 hop limit (RFC 4861 receivers accept only 255).
    pub hop_limit: u8,
    /// R: the sender is a router.
    pub router: bool,
    /// S: an answer to a solicitation (must be false to `ff02::1`).
    pub solicited: bool,
    /// O: replace a cached link-layer address.
    pub override_flag: bool,
    /// The address advertised.
    pub target: Ipv6Addr,
    /// The target link-layer address option, if present.
    pub target_mac: Option<Mac>,
}

/// Why bytes are not a well-formed neighbour advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NdiscError {
    /// Fewer than [`MIN_LEN`] bytes.
    TooShort {
        /// The length given.
        len: usize,
    },
    /// EtherType is not 0x86dd.
    EtherType(u16),
    /// The IP version nibble is not 6.
    Version(u8),
    /// Next header is not ICMPv6 (extension headers are not followed).
    NextHeader(u8),
    /// The IPv6 payload length is below 24 or runs past the frame.
    PayloadLen {
        /// Declared payload length.
        declared: u16,
        /// Bytes present after the IPv6 header.
        available: usize,
    },
    /// ICMPv6 type is not 136.
    IcmpType(u8),
    /// ICMPv6 code is not 0.
    IcmpCode(u8),
    /// The ICMPv6 checksum does not match.
    Checksum {
        /// The value in the frame.
        found: u16,
        /// The value the bytes call for.
        expected: u16,
    },
    /// An option of length 0, or one that runs past the message.
    OptionLen {
        /// Frame offset of the option.
        offset: usize,
    },
}

impl fmt::Display for NdiscError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NdiscError::TooShort { len } => write!(
                f,
                "neighbour advertisement too short: {len} bytes, at least {MIN_LEN} needed"
            ),
            NdiscError::EtherType(v) => write!(f, "not IPv6: EtherType {v:#06x} at offset 12"),
            NdiscError::Version(v) => write!(f, "IP version {v} at offset 14, 6 expected"),
            NdiscError::NextHeader(v) => {
                write!(f, "next header {v} at offset 20, 58 (ICMPv6) expected")
            }
            NdiscError::PayloadLen {
                declared,
                available,
            } => write!(
                f,
                "IPv6 payload length {declared} at offset 18: at least 24 needed and \
                 {available} bytes present"
            ),
            NdiscError::IcmpType(v) => {
                write!(
                    f,
                    "ICMPv6 type {v} at offset 54, 136 (neighbour advertisement) expected"
                )
            }
            NdiscError::IcmpCode(v) => write!(f, "ICMPv6 code {v} at offset 55, 0 expected"),
            NdiscError::Checksum { found, expected } => write!(
                f,
                "ICMPv6 checksum {found:#06x} at offset 56, {expected:#06x} expected"
            ),
            NdiscError::OptionLen { offset } => {
                write!(
                    f,
                    "neighbour discovery option at offset {offset} has a bad length"
                )
            }
        }
    }
}

impl std::error::Error for NdiscError {}

/// The Internet checksum (RFC 1071) of an ICMPv6 message over the IPv6
/// pseudo-header (RFC 8200 §8.1): source, destination, upper-layer length,
/// next header 58. `icmp` is the whole message with its checksum field as
/// it is: zero it to compute a checksum; over a correct message the result
/// is 0.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    // Upper-layer packet length as 32 bits; an ICMPv6 message is at most
    // 65535 bytes here (it comes from one frame), so this cannot truncate.
    let len = u32::try_from(icmp.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(icmp);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The fold above leaves sum <= 0xffff: the low two bytes are all of it.
    let [.., hi, lo] = sum.to_be_bytes();
    !u16::from_be_bytes([hi, lo])
}

fn be16(bytes: &[u8], at: Range<usize>) -> u16 {
    u16::from_be_bytes([bytes[at.start], bytes[at.start + 1]])
}

fn mac(bytes: &[u8], at: Range<usize>) -> Mac {
    let mut b = [0u8; 6];
    b.copy_from_slice(&bytes[at]);
    Mac(b)
}

fn ipv6(bytes: &[u8], at: Range<usize>) -> Ipv6Addr {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[at]);
    Ipv6Addr::from(b)
}

/// Reads an Ethernet frame carrying an ICMPv6 neighbour advertisement
/// directly after the IPv6 header. Checks EtherType, version, next header,
/// payload length, ICMPv6 type and code, the checksum and the option
/// lengths; the hop limit is reported, not checked. Bytes after the IPv6
/// payload (Ethernet padding) are ignored. Options other than the target
/// link-layer address are skipped.
pub fn parse(bytes: &[u8]) -> Result<NeighborAdvert, NdiscError> {
    if bytes.len() < MIN_LEN {
        return Err(NdiscError::TooShort { len: bytes.len() });
    }
    let ethertype = be16(bytes, ETHERTYPE);
    if ethertype != ETHERTYPE_IPV6 {
        return Err(NdiscError::EtherType(ethertype));
    }
    let version = bytes[IP_VTF.start] >> 4;
    if version != 6 {
        return Err(NdiscError::Version(version));
    }
    if bytes[IP_NEXT_HEADER] != NEXT_HEADER_ICMPV6 {
        return Err(NdiscError::NextHeader(bytes[IP_NEXT_HEADER]));
    }
    let declared = be16(bytes, IP_PAYLOAD_LEN);
    let available = bytes.len() - ICMP;
    if usize::from(declared) < MIN_LEN - ICMP || usize::from(declared) > available {
        return Err(NdiscError::PayloadLen {
            declared,
            available,
        });
    }
    let end = ICMP + usize::from(declared);
    if bytes[ICMP_TYPE] != ICMP_TYPE_NA {
        return Err(NdiscError::IcmpType(bytes[ICMP_TYPE]));
    }
    if bytes[ICMP_CODE] != 0 {
        return Err(NdiscError::IcmpCode(bytes[ICMP_CODE]));
    }
    let src_ip = ipv6(bytes, IP_SRC);
    let dst_ip = ipv6(bytes, IP_DST);
    if icmpv6_checksum(src_ip, dst_ip, &bytes[ICMP..end]) != 0 {
        let mut zeroed = bytes[ICMP..end].to_vec();
        zeroed[ICMP_CHECKSUM.start - ICMP] = 0;
        zeroed[ICMP_CHECKSUM.start - ICMP + 1] = 0;
        return Err(NdiscError::Checksum {
            found: be16(bytes, ICMP_CHECKSUM),
            expected: icmpv6_checksum(src_ip, dst_ip, &zeroed),
        });
    }
    let mut target_mac = None;
    let mut at = NA_OPTIONS;
    while at < end {
        if at + 2 > end {
            return Err(NdiscError::OptionLen { offset: at });
        }
        let len = usize::from(bytes[at + 1]) * 8;
        if len == 0 || at + len > end {
            return Err(NdiscError::OptionLen { offset: at });
        }
        // The first target link-layer address wins, as in Linux's
        // ndisc_parse_options (a duplicate is ignored there too).
        if bytes[at] == OPT_TARGET_LL_ADDR && target_mac.is_none() {
            target_mac = Some(mac(bytes, at + 2..at + 8));
        }
        at += len;
    }
    let flags = bytes[NA_FLAGS.start];
    Ok(NeighborAdvert {
        eth_dst: mac(bytes, ETH_DST),
        eth_src: mac(bytes, ETH_SRC),
        src_ip,
        dst_ip,
        hop_limit: bytes[IP_HOP_LIMIT],
        router: flags & FLAG_ROUTER != 0,
        solicited: flags & FLAG_SOLICITED != 0,
        override_flag: flags & FLAG_OVERRIDE != 0,
        target: ipv6(bytes, NA_TARGET),
        target_mac,
    })
}

impl NeighborAdvert {
    /// The unsolicited advertisement of RFC 4861 §7.2.6 that announces
    /// `address` at `own_mac` to all nodes: from `address` itself to
    /// `ff02::1` (Ethernet `33:33:00:00:00:01`), hop limit 255, Override set,
    /// Solicited and Router clear, with the target link-layer address option.
    /// This is what Linux itself sends with `ndisc_notify` set; with O=1 it
    /// replaces an existing neighbour entry at once, like piranha's
    /// gratuitous ARP reply does for IPv4.
    pub const fn unsolicited(own_mac: Mac, address: Ipv6Addr) -> NeighborAdvert {
        NeighborAdvert {
            eth_dst: ALL_NODES_MAC,
            eth_src: own_mac,
            src_ip: address,
            dst_ip: ALL_NODES,
            hop_limit: 255,
            router: false,
            solicited: false,
            override_flag: true,
            target: address,
            target_mac: Some(own_mac),
        }
    }

    /// Bytes [`emit`](Self::emit) writes: [`NA_FRAME_LEN`] with the target
    /// link-layer option, [`MIN_LEN`] without.
    pub const fn buffer_len(&self) -> usize {
        if self.target_mac.is_some() {
            NA_FRAME_LEN
        } else {
            MIN_LEN
        }
    }

    /// Writes the frame into `buf[..self.buffer_len()]`, checksum included.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len); the caller
    /// sizes the buffer (as rust-netlink's `Emitable`).
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        assert!(
            buf.len() >= len,
            "NeighborAdvert::emit: buffer of {} bytes, {len} needed",
            buf.len()
        );
        let buf = &mut buf[..len];
        buf[ETH_DST].copy_from_slice(&self.eth_dst.0);
        buf[ETH_SRC].copy_from_slice(&self.eth_src.0);
        buf[ETHERTYPE].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        buf[IP_VTF].copy_from_slice(&[0x60, 0, 0, 0]);
        // len - ICMP is 24 or 32.
        let payload = u16::try_from(len - ICMP).unwrap_or(u16::MAX);
        buf[IP_PAYLOAD_LEN].copy_from_slice(&payload.to_be_bytes());
        buf[IP_NEXT_HEADER] = NEXT_HEADER_ICMPV6;
        buf[IP_HOP_LIMIT] = self.hop_limit;
        buf[IP_SRC].copy_from_slice(&self.src_ip.octets());
        buf[IP_DST].copy_from_slice(&self.dst_ip.octets());
        buf[ICMP_TYPE] = ICMP_TYPE_NA;
        buf[ICMP_CODE] = 0;
        buf[ICMP_CHECKSUM].fill(0);
        let mut flags = 0;
        if self.router {
            flags |= FLAG_ROUTER;
        }
        if self.solicited {
            flags |= FLAG_SOLICITED;
        }
        if self.override_flag {
            flags |= FLAG_OVERRIDE;
        }
        buf[NA_FLAGS].copy_from_slice(&[flags, 0, 0, 0]);
        buf[NA_TARGET].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.target_mac {
            buf[NA_OPTIONS] = OPT_TARGET_LL_ADDR;
            buf[NA_OPTIONS + 1] = 1;
            buf[NA_OPTIONS + 2..NA_OPTIONS + 8].copy_from_slice(&mac.0);
        }
        let sum = icmpv6_checksum(self.src_ip, self.dst_ip, &buf[ICMP..]);
        buf[ICMP_CHECKSUM].copy_from_slice(&sum.to_be_bytes());
    }
}

/// The 86 bytes of the unsolicited advertisement of `address` at `own_mac`:
/// [`NeighborAdvert::unsolicited`] emitted.
pub fn unsolicited_advert(own_mac: Mac, address: Ipv6Addr) -> [u8; NA_FRAME_LEN] {
    let mut buf = [0u8; NA_FRAME_LEN];
    NeighborAdvert::unsolicited(own_mac, address).emit(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const X_MAC: Mac = Mac([0x00, 0x00, 0x5e, 0x00, 0x53, 0x01]);
    const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);

    /// The unsolicited NA Linux 6.18 itself sends after DAD when
    /// `ndisc_notify` is set, captured 2026-12-01 in a veth pair of two
    /// fresh namespaces X and Y (eth0 = 00:00:5e:00:53:01 in X,
    /// 00:00:5e:00:53:02 in Y):
    ///
    /// ```text
    /// ip netns exec X sysctl -w net.ipv6.conf.eth0.ndisc_notify=1
    /// ip -n X link set eth0 up; ip -n Y link set eth0 up
    /// ip -n X addr add 2001:db8::10/64 dev eth0
    /// ```
    ///
    /// read in Y with a Python `AF_PACKET`/`SOCK_RAW` socket (ETH_P_IPV6),
    /// first ICMPv6 type 136 with target 2001:db8::10. Its checksum 0x4a0c
    /// is the kernel's, so it checks ours independently.
    const KERNEL_NA: &str = "33330000000100005e00530186dd6000000000203aff\
                             20010db8000000000000000000000010\
                             ff020000000000000000000000000001\
                             88004a0c20000000\
                             20010db8000000000000000000000010\
                             020100005e005301";

    #[test]
    fn kernel_unsolicited_na_round_trips() {
        let bytes = hex(KERNEL_NA);
        assert_eq!(bytes.len(), NA_FRAME_LEN);
        let na = parse(&bytes).unwrap();
        assert_eq!(
            na,
            NeighborAdvert {
                eth_dst: ALL_NODES_MAC,
                eth_src: X_MAC,
                src_ip: VIP6,
                dst_ip: ALL_NODES,
                hop_limit: 255,
                router: false,
                solicited: false,
                override_flag: true,
                target: VIP6,
                target_mac: Some(X_MAC),
            }
        );
        let mut buf = [0u8; NA_FRAME_LEN];
        na.emit(&mut buf);
        assert_eq!(buf.as_slice(), bytes.as_slice());
        assert_eq!(unsolicited_advert(X_MAC, VIP6).as_slice(), bytes.as_slice());
    }

    #[test]
    fn checksum_matches_the_kernel() {
        let bytes = hex(KERNEL_NA);
        let mut icmp = bytes[ICMP..].to_vec();
        assert_eq!(icmpv6_checksum(VIP6, ALL_NODES, &icmp), 0);
        icmp[2] = 0;
        icmp[3] = 0;
        assert_eq!(icmpv6_checksum(VIP6, ALL_NODES, &icmp), 0x4a0c);
    }

    /// RFC 1071 §3's worked example: 00 01 f2 03 f4 f5 f6 f7 sums to
    /// ddf2 (before complement), independent of the pseudo-header.
    #[test]
    fn checksum_arithmetic_rfc1071_example() {
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        // The pseudo-header of :: -> :: with next header 58 and length 8
        // adds 8 + 58 = 0x42 to the sum.
        let expected = !(0xddf2u16 + 0x42);
        assert_eq!(
            icmpv6_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &data),
            expected
        );
        // Odd length: the last byte is padded with a zero.
        assert_eq!(
            icmpv6_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &[0xff]),
            !(0xff00u16 + 1 + 58)
        );
    }

    #[test]
    fn without_option_and_with_flags() {
        let na = NeighborAdvert {
            router: true,
            solicited: true,
            target_mac: None,
            ..NeighborAdvert::unsolicited(X_MAC, VIP6)
        };
        assert_eq!(na.buffer_len(), MIN_LEN);
        let mut buf = [0u8; MIN_LEN];
        na.emit(&mut buf);
        assert_eq!(buf[NA_FLAGS.start], 0xe0);
        assert_eq!(&buf[IP_PAYLOAD_LEN], &[0, 24]);
        assert_eq!(parse(&buf), Ok(na));
    }

    #[test]
    fn parse_ignores_padding_and_unknown_options() {
        let mut bytes = hex(KERNEL_NA);
        bytes.extend_from_slice(&[0xee; 10]);
        assert_eq!(parse(&bytes).unwrap().target_mac, Some(X_MAC));
        // A nonce option (14) ahead of the TLLA, length 1.
        let na = NeighborAdvert::unsolicited(X_MAC, VIP6);
        let mut buf = vec![0u8; NA_FRAME_LEN + 8];
        na.emit(&mut buf);
        buf.copy_within(NA_OPTIONS..NA_FRAME_LEN, NA_OPTIONS + 8);
        buf[NA_OPTIONS..NA_OPTIONS + 8].copy_from_slice(&[14, 1, 1, 2, 3, 4, 5, 6]);
        buf[IP_PAYLOAD_LEN].copy_from_slice(&40u16.to_be_bytes());
        buf[ICMP_CHECKSUM].fill(0);
        let sum = icmpv6_checksum(VIP6, ALL_NODES, &buf[ICMP..]);
        buf[ICMP_CHECKSUM].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse(&buf), Ok(na));
    }

    #[test]
    fn parse_rejects_each_bad_field() {
        let good = hex(KERNEL_NA);
        assert_eq!(parse(&good[..77]), Err(NdiscError::TooShort { len: 77 }));
        let cases: [(usize, u8, NdiscError); 5] = [
            (13, 0x00, NdiscError::EtherType(0x8600)),
            (14, 0x40, NdiscError::Version(4)),
            (20, 0, NdiscError::NextHeader(0)),
            (54, 135, NdiscError::IcmpType(135)),
            (55, 1, NdiscError::IcmpCode(1)),
        ];
        for (at, value, expected) in cases {
            let mut bad = good.clone();
            bad[at] = value;
            assert_eq!(parse(&bad), Err(expected), "byte {at}");
        }
        let mut bad = good.clone();
        bad[19] = 40;
        assert_eq!(
            parse(&bad),
            Err(NdiscError::PayloadLen {
                declared: 40,
                available: 32
            })
        );
        let mut bad = good.clone();
        bad[85] ^= 1;
        assert_eq!(
            parse(&bad),
            Err(NdiscError::Checksum {
                found: 0x4a0c,
                expected: 0x4a0d
            })
        );
        // Option length 0: fix the checksum so only the option is wrong.
        let mut bad = good.clone();
        bad[79] = 0;
        bad[56] = 0;
        bad[57] = 0;
        let sum = icmpv6_checksum(VIP6, ALL_NODES, &bad[ICMP..]);
        bad[56..58].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse(&bad), Err(NdiscError::OptionLen { offset: 78 }));
    }

    #[test]
    #[should_panic(expected = "buffer of 60 bytes, 86 needed")]
    fn emit_panics_on_a_short_buffer() {
        NeighborAdvert::unsolicited(X_MAC, VIP6).emit(&mut [0u8; 60]);
    }
}
