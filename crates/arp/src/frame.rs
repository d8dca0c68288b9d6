//! The Ethernet + ARP frame (RFC 826) for IPv4 over Ethernet, as a checked
//! byte view: named offsets, [`parse`] into a typed [`ArpFrame`], and
//! [`ArpFrame::emit`] into one 60-byte frame. No I/O here.
//!
//! Layout (offsets in bytes, all multi-byte fields big-endian):
//!
//! ```text
//!  0  6  Ethernet destination      22  6  sender hardware address (SHA)
//!  6  6  Ethernet source           28  4  sender protocol address (SPA)
//! 12  2  EtherType 0x0806          32  6  target hardware address (THA)
//! 14  2  hardware type 1           38  4  target protocol address (TPA)
//! 16  2  protocol type 0x0800      42 18  padding to the 60-byte minimum
//! 18  1  hardware length 6                (zeros; no FCS, the NIC adds it)
//! 19  1  protocol length 4
//! 20  2  opcode (1 request, 2 reply)
//! ```

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;

use crate::Mac;

/// Length of the frame we emit: the Ethernet minimum without FCS.
pub const FRAME_LEN: usize = 60;
/// Ethernet header plus the ARP body; the shortest frame [`parse`] accepts
/// (a frame captured on the sending host is not padded yet).
pub const MIN_LEN: usize = 42;

/// Ethernet destination.
pub const ETH_DST: Range<usize> = 0..6;
/// Ethernet source.
pub const ETH_SRC: Range<usize> = 6..12;
/// EtherType.
pub const ETHERTYPE: Range<usize> = 12..14;
/// ARP hardware type.
pub const HTYPE: Range<usize> = 14..16;
/// ARP protocol type.
pub const PTYPE: Range<usize> = 16..18;
/// ARP hardware address length.
pub const HLEN: usize = 18;
/// ARP protocol address length.
pub const PLEN: usize = 19;
/// ARP opcode.
pub const OPER: Range<usize> = 20..22;
/// Sender hardware address.
pub const SHA: Range<usize> = 22..28;
/// Sender protocol address.
pub const SPA: Range<usize> = 28..32;
/// Target hardware address.
pub const THA: Range<usize> = 32..38;
/// Target protocol address.
pub const TPA: Range<usize> = 38..42;
/// Zero padding up to [`FRAME_LEN`].
pub const PADDING: Range<usize> = 42..60;

/// `ETH_P_ARP` (linux/if_ether.h).
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// `ETH_P_IP` (linux/if_ether.h), the ARP protocol type for IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// `ARPHRD_ETHER` (linux/if_arp.h).
pub const HTYPE_ETHERNET: u16 = 1;

/// The ARP opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `ARPOP_REQUEST` (1).
    Request,
    /// `ARPOP_REPLY` (2).
    Reply,
    /// Any other value (RARP, InARP, ...), kept as is.
    Other(u16),
}

impl From<u16> for Operation {
    fn from(v: u16) -> Operation {
        match v {
            1 => Operation::Request,
            2 => Operation::Reply,
            other => Operation::Other(other),
        }
    }
}

impl From<Operation> for u16 {
    fn from(op: Operation) -> u16 {
        match op {
            Operation::Request => 1,
            Operation::Reply => 2,
            Operation::Other(v) => v,
        }
    }
}

/// One Ethernet + ARP (IPv4) frame, typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpFrame {
    /// Ethernet destination.
    pub eth_dst: Mac,
    /// Ethernet source.
    pub eth_src: Mac,
    /// Request, reply, or other.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_mac: Mac,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: Mac,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

/// Why bytes are not an Ethernet + ARP frame for IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// Fewer than [`MIN_LEN`] bytes.
    TooShort {
        /// The length given.
        len: usize,
    },
    /// EtherType is not 0x0806.
    EtherType(u16),
    /// Hardware type is not Ethernet (1).
    HardwareType(u16),
    /// Protocol type is not IPv4 (0x0800).
    ProtocolType(u16),
    /// Hardware address length is not 6.
    HardwareLen(u8),
    /// Protocol address length is not 4.
    ProtocolLen(u8),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FrameError::TooShort { len } => {
                write!(
                    f,
                    "ARP frame too short: {len} bytes, at least {MIN_LEN} needed"
                )
            }
            FrameError::EtherType(v) => {
                write!(f, "not an ARP frame: EtherType {v:#06x} at offset 12")
            }
            FrameError::HardwareType(v) => {
                write!(
                    f,
                    "ARP hardware type {v} at offset 14, 1 (Ethernet) expected"
                )
            }
            FrameError::ProtocolType(v) => {
                write!(
                    f,
                    "ARP protocol type {v:#06x} at offset 16, 0x0800 (IPv4) expected"
                )
            }
            FrameError::HardwareLen(v) => {
                write!(
                    f,
                    "ARP hardware address length {v} at offset 18, 6 expected"
                )
            }
            FrameError::ProtocolLen(v) => {
                write!(
                    f,
                    "ARP protocol address length {v} at offset 19, 4 expected"
                )
            }
        }
    }
}

impl std::error::Error for FrameError {}

fn be16(bytes: &[u8], at: Range<usize>) -> u16 {
    let mut b = [0u8; 2];
    b.copy_from_slice(&bytes[at]);
    u16::from_be_bytes(b)
}

fn mac(bytes: &[u8], at: Range<usize>) -> Mac {
    let mut b = [0u8; 6];
    b.copy_from_slice(&bytes[at]);
    Mac(b)
}

fn ipv4(bytes: &[u8], at: Range<usize>) -> Ipv4Addr {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at]);
    Ipv4Addr::from(b)
}

/// Reads an Ethernet + ARP frame for IPv4 over Ethernet. Checks the length
/// (at least [`MIN_LEN`]), EtherType, hardware and protocol type and
/// lengths; any opcode is accepted ([`Operation::Other`]); the padding and
/// anything after it are not looked at (senders pad with whatever).
pub fn parse(bytes: &[u8]) -> Result<ArpFrame, FrameError> {
    if bytes.len() < MIN_LEN {
        return Err(FrameError::TooShort { len: bytes.len() });
    }
    let ethertype = be16(bytes, ETHERTYPE);
    if ethertype != ETHERTYPE_ARP {
        return Err(FrameError::EtherType(ethertype));
    }
    let htype = be16(bytes, HTYPE);
    if htype != HTYPE_ETHERNET {
        return Err(FrameError::HardwareType(htype));
    }
    let ptype = be16(bytes, PTYPE);
    if ptype != ETHERTYPE_IPV4 {
        return Err(FrameError::ProtocolType(ptype));
    }
    if bytes[HLEN] != 6 {
        return Err(FrameError::HardwareLen(bytes[HLEN]));
    }
    if bytes[PLEN] != 4 {
        return Err(FrameError::ProtocolLen(bytes[PLEN]));
    }
    Ok(ArpFrame {
        eth_dst: mac(bytes, ETH_DST),
        eth_src: mac(bytes, ETH_SRC),
        operation: Operation::from(be16(bytes, OPER)),
        sender_mac: mac(bytes, SHA),
        sender_ip: ipv4(bytes, SPA),
        target_mac: mac(bytes, THA),
        target_ip: ipv4(bytes, TPA),
    })
}

impl ArpFrame {
    /// piranha's gratuitous ARP (reference piranha.md §5): an ARP **reply**
    /// from `own_mac` whose sender and target are both `ip` at `own_mac`,
    /// to `eth_dst` (pulse uses [`Mac::BROADCAST`]).
    // HACK: opcode 2 (reply), and the target MAC set to our own MAC rather
    // than zero, as piranha 0.8.6 send_arp does ("per RFC2002, when sending
    // ARP reply-type gratuitous arps, both the ARP sender hardware address
    // *AND* ARP target hardware address are set to the MAC address we wish
    // to update arp entries for"; RFC 2002 §4.6, the source names its
    // constant OP_ARP_REQUEST). We keep it, not RFC 5227's request form,
    // because it is the original's exact frame and because Linux treats a
    // reply with SPA == TPA and THA == SHA as gratuitous (net/ipv4/arp.c,
    // arp_is_garp(): "Gratuitous ARP _replies_ also require target hwaddr
    // to be the same as source"), and arp_process() then overrides an
    // existing neighbour entry at once, without waiting for locktime, which
    // is what a failover needs (bin/send_arp/tests/netns.rs pins this with
    // a 60 s locktime). Like the original it creates no entry where none
    // exists (arp_accept = 0).
    pub const fn gratuitous(own_mac: Mac, ip: Ipv4Addr, eth_dst: Mac) -> ArpFrame {
        ArpFrame {
            eth_dst,
            eth_src: own_mac,
            operation: Operation::Reply,
            sender_mac: own_mac,
            sender_ip: ip,
            target_mac: own_mac,
            target_ip: ip,
        }
    }

    /// True when the frame announces its sender (sender IP == target IP),
    /// whatever the opcode.
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }

    /// Writes the whole 60-byte frame: header, ARP body and 18 zero bytes of
    /// padding (every byte of `buf` is written).
    pub fn emit(&self, buf: &mut [u8; FRAME_LEN]) {
        buf[ETH_DST].copy_from_slice(&self.eth_dst.0);
        buf[ETH_SRC].copy_from_slice(&self.eth_src.0);
        buf[ETHERTYPE].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        buf[HTYPE].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        buf[PTYPE].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        buf[HLEN] = 6;
        buf[PLEN] = 4;
        buf[OPER].copy_from_slice(&u16::from(self.operation).to_be_bytes());
        buf[SHA].copy_from_slice(&self.sender_mac.0);
        buf[SPA].copy_from_slice(&self.sender_ip.octets());
        buf[THA].copy_from_slice(&self.target_mac.0);
        buf[TPA].copy_from_slice(&self.target_ip.octets());
        buf[PADDING].fill(0);
    }

    /// The frame as 60 bytes.
    pub fn to_bytes(&self) -> [u8; FRAME_LEN] {
        let mut buf = [0u8; FRAME_LEN];
        self.emit(&mut buf);
        buf
    }
}

/// The 60 bytes of piranha's gratuitous ARP reply for `ip` at `own_mac`,
/// sent to `eth_dst`: [`ArpFrame::gratuitous`] emitted.
pub fn gratuitous_reply(own_mac: Mac, ip: Ipv4Addr, eth_dst: Mac) -> [u8; FRAME_LEN] {
    ArpFrame::gratuitous(own_mac, ip, eth_dst).to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        assert_eq!(s.len() % 2, 0);
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const X_MAC: Mac = Mac([0x00, 0x00, 0x5e, 0x00, 0x53, 0x01]);
    const Y_MAC: Mac = Mac([0x00, 0x00, 0x5e, 0x00, 0x53, 0x02]);
    const VIP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

    /// Frame 1 of reference anchors/send_arp-frame.txt: the original
    /// piranha 0.8.6 `send_arp`, built unmodified, run exactly as pulse
    /// calls it, `send_arp -i eth0 203.0.113.10 00005E005301 203.0.113.255
    /// ffffffffffff`, captured in the peer namespace with tcpdump -xx and
    /// an AF_PACKET socket (identical bytes).
    const PULSE_FRAME: &str = "ffffffffffff00005e0053010806000108000604000200005e005301\
                               cb00710a00005e005301cb00710a000000000000000000000000000000000000";

    /// Frame 2 of the same file: `send_arp 203.0.113.10 00:00:5e:00:53:01
    /// 203.0.113.50 00:00:5e:00:53:02` (no -i, colon syntax, unicast
    /// destination): only bytes 0..6 differ.
    const UNICAST_FRAME: &str = "00005e00530200005e0053010806000108000604000200005e005301\
                                 cb00710a00005e005301cb00710a000000000000000000000000000000000000";

    #[test]
    fn original_pulse_frame_round_trips() {
        let bytes = hex(PULSE_FRAME);
        assert_eq!(bytes.len(), FRAME_LEN);
        let frame = parse(&bytes).unwrap();
        assert_eq!(
            frame,
            ArpFrame {
                eth_dst: Mac::BROADCAST,
                eth_src: X_MAC,
                operation: Operation::Reply,
                sender_mac: X_MAC,
                sender_ip: VIP,
                target_mac: X_MAC,
                target_ip: VIP,
            }
        );
        assert!(frame.is_gratuitous());
        assert_eq!(frame.to_bytes().as_slice(), bytes.as_slice());
        assert_eq!(
            gratuitous_reply(X_MAC, VIP, Mac::BROADCAST).as_slice(),
            bytes.as_slice()
        );
    }

    #[test]
    fn original_unicast_frame_round_trips() {
        let bytes = hex(UNICAST_FRAME);
        let frame = parse(&bytes).unwrap();
        assert_eq!(
            frame,
            ArpFrame {
                eth_dst: Y_MAC,
                eth_src: X_MAC,
                operation: Operation::Reply,
                sender_mac: X_MAC,
                sender_ip: VIP,
                target_mac: X_MAC,
                target_ip: VIP,
            }
        );
        assert_eq!(frame.to_bytes().as_slice(), bytes.as_slice());
        assert_eq!(
            gratuitous_reply(X_MAC, VIP, Y_MAC).as_slice(),
            bytes.as_slice()
        );
    }

    #[test]
    fn emit_overwrites_every_byte() {
        let mut buf = [0xaa; FRAME_LEN];
        ArpFrame::gratuitous(X_MAC, VIP, Mac::BROADCAST).emit(&mut buf);
        assert_eq!(buf.as_slice(), hex(PULSE_FRAME).as_slice());
    }

    #[test]
    fn parse_accepts_unpadded_and_other_opcodes() {
        let mut bytes = hex(PULSE_FRAME);
        bytes.truncate(MIN_LEN);
        bytes[21] = 1;
        let frame = parse(&bytes).unwrap();
        assert_eq!(frame.operation, Operation::Request);
        bytes[20] = 0x01;
        bytes[21] = 0x03;
        let frame = parse(&bytes).unwrap();
        assert_eq!(frame.operation, Operation::Other(0x0103));
        let mut buf = [0u8; FRAME_LEN];
        frame.emit(&mut buf);
        assert_eq!(&buf[OPER], &[0x01, 0x03]);
    }

    #[test]
    fn parse_rejects_each_bad_field() {
        let good = hex(PULSE_FRAME);
        assert_eq!(parse(&good[..41]), Err(FrameError::TooShort { len: 41 }));
        assert_eq!(parse(&[]), Err(FrameError::TooShort { len: 0 }));
        let cases: [(usize, u8, FrameError); 5] = [
            (13, 0x35, FrameError::EtherType(0x0835)),
            (15, 6, FrameError::HardwareType(6)),
            (17, 0xdd, FrameError::ProtocolType(0x08dd)),
            (18, 8, FrameError::HardwareLen(8)),
            (19, 16, FrameError::ProtocolLen(16)),
        ];
        for (at, value, expected) in cases {
            let mut bad = good.clone();
            bad[at] = value;
            assert_eq!(parse(&bad), Err(expected), "byte {at}");
        }
        let msg = FrameError::HardwareType(6).to_string();
        assert!(msg.contains("offset 14"), "{msg}");
    }
}
