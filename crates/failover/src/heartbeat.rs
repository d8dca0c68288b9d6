//! The heartbeat datagram of piranha 0.8.6 pulse (piranha.md §4.2).
//!
//! The whole UDP payload is one C `unsigned int` in the sender's host byte
//! order: no length, version, sequence or checksum. We emit and read it in
//! *native* byte order (`to_ne_bytes`/`from_ne_bytes`), exactly as the
//! original's `send(&magic, sizeof(magic))` did. That is the only choice that
//! is byte-identical to an original pulse on the same machine kind, which is
//! the case that has to work (both routers of a pair run the same
//! architecture; a mixed-endian pair never worked with the original either).
//! On x86 and every other little-endian host the bytes are the little-endian
//! ones of the reference frames (`anchors/heartbeat-frames.txt`).
//!
//! Parsing follows the original's `recvfrom(sock, &magic, sizeof(magic))`:
//! a datagram longer than 4 bytes is truncated to its first 4 and accepted
//! (so the authenticated frames of [`crate::auth`] still read as a plain
//! value to an original partner), a shorter one is "bad heartbeat packet".
//!
//! Pure: no sockets here.

use std::fmt;

/// Length of the original payload.
pub const HEARTBEAT_LEN: usize = 4;

/// `HEARTBEAT_RUNNING_MAGIC`: LVS mode, the sender is active.
pub const RUNNING_MAGIC: u32 = 0xBDAD_DBDA;
/// `HEARTBEAT_STOPPED_MAGIC`: LVS mode, the sender is inactive.
pub const STOPPED_MAGIC: u32 = 0xADBD_DABD;
/// `FOS_HEARTBEAT_RUNNING_MAGIC`: legacy FOS mode, the sender is active.
pub const FOS_RUNNING_MAGIC: u32 = 0xBEEF_BABE;
/// `FOS_HEARTBEAT_STOPPED_MAGIC`: legacy FOS mode, the sender is inactive.
pub const FOS_STOPPED_MAGIC: u32 = 0xDEAD_BEEF;
/// `FOS_HEARTBEAT_STOPME_MAGIC`: legacy FOS "I take control, you go inactive".
pub const FOS_STOPME_MAGIC: u32 = 0xDEAD_DADA;
/// `HEARTBEAT_HOLD_MAGIC`: accepted by the original, its handling is `if (0)`.
pub const HOLD_MAGIC: u32 = 0xDEAF_BABE;
/// `HEARTBEAT_HELD_MAGIC`: accepted by the original, its handling is `if (0)`.
pub const HELD_MAGIC: u32 = 0xDEAF_DADA;

/// One heartbeat value. Unknown values are kept ([`Heartbeat::Other`]) so
/// the state machine can log them as the original did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Heartbeat {
    /// LVS mode, sender active.
    Running,
    /// LVS mode, sender inactive.
    Stopped,
    /// FOS mode, sender active.
    FosRunning,
    /// FOS mode, sender inactive.
    FosStopped,
    /// FOS mode, "you go inactive".
    FosStopMe,
    /// Any other value (including HOLD/HELD, see [`Heartbeat::is_hold`]).
    Other(u32),
}

impl Heartbeat {
    /// The 32-bit value.
    pub fn value(self) -> u32 {
        match self {
            Heartbeat::Running => RUNNING_MAGIC,
            Heartbeat::Stopped => STOPPED_MAGIC,
            Heartbeat::FosRunning => FOS_RUNNING_MAGIC,
            Heartbeat::FosStopped => FOS_STOPPED_MAGIC,
            Heartbeat::FosStopMe => FOS_STOPME_MAGIC,
            Heartbeat::Other(v) => v,
        }
    }

    /// The heartbeat with this value.
    pub fn from_value(v: u32) -> Heartbeat {
        match v {
            RUNNING_MAGIC => Heartbeat::Running,
            STOPPED_MAGIC => Heartbeat::Stopped,
            FOS_RUNNING_MAGIC => Heartbeat::FosRunning,
            FOS_STOPPED_MAGIC => Heartbeat::FosStopped,
            FOS_STOPME_MAGIC => Heartbeat::FosStopMe,
            v => Heartbeat::Other(v),
        }
    }

    /// HOLD/HELD: the original accepted these (the dead timer is refreshed)
    /// but never acted on them.
    pub fn is_hold(self) -> bool {
        matches!(self, Heartbeat::Other(HOLD_MAGIC | HELD_MAGIC))
    }

    /// Reads a received datagram: its first 4 bytes in native order.
    ///
    /// Longer datagrams are accepted (the original read only 4 bytes).
    pub fn parse(datagram: &[u8]) -> Result<Heartbeat, BadHeartbeat> {
        match datagram.first_chunk::<HEARTBEAT_LEN>() {
            Some(b) => Ok(Heartbeat::from_value(u32::from_ne_bytes(*b))),
            None => Err(BadHeartbeat {
                len: datagram.len(),
            }),
        }
    }

    /// The 4-byte payload the original sends for this value.
    pub fn emit(self) -> [u8; HEARTBEAT_LEN] {
        self.value().to_ne_bytes()
    }

    /// Name for logs and `pulse --status`.
    pub fn name(self) -> &'static str {
        match self {
            Heartbeat::Running => "RUNNING",
            Heartbeat::Stopped => "STOPPED",
            Heartbeat::FosRunning => "FOS_RUNNING",
            Heartbeat::FosStopped => "FOS_STOPPED",
            Heartbeat::FosStopMe => "FOS_STOPME",
            Heartbeat::Other(HOLD_MAGIC) => "HOLD",
            Heartbeat::Other(HELD_MAGIC) => "HELD",
            Heartbeat::Other(_) => "unknown",
        }
    }
}

impl fmt::Display for Heartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Heartbeat::Other(v) if !self.is_hold() => write!(f, "unknown 0x{v:08X}"),
            _ => f.write_str(self.name()),
        }
    }
}

/// A datagram shorter than 4 bytes. Its `Display` is the original's log
/// line, "bad heartbeat packet".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHeartbeat {
    /// Length received.
    pub len: usize,
}

impl fmt::Display for BadHeartbeat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bad heartbeat packet")
    }
}

impl std::error::Error for BadHeartbeat {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The four frames of `anchors/heartbeat-frames.txt` (original 0.8.6
    /// pulse, x86-64, captured on the bridge of a namespace rig), in hex.
    const FRAMES: [(&str, Heartbeat); 4] = [
        // 1. backup, inactive -> STOPPED (r2 -> r1)
        (
            "162c1867769c42febe55fdea080045000020e3b340004011df12cb007103cb007102021b021b000c7824bddabdad",
            Heartbeat::Stopped,
        ),
        // 2. primary, active -> RUNNING (r1 -> r2)
        (
            "42febe55fdea162c1867769c080045000020cd7440004011f551cb007102cb007103021b021b000c7824dadbadbd",
            Heartbeat::Running,
        ),
        // 3. backup after taking over -> RUNNING (r2 -> r1)
        (
            "162c1867769c42febe55fdea080045000020e91740004011d9aecb007103cb007102021b021b000c7824dadbadbd",
            Heartbeat::Running,
        ),
        // 4. primary restarted, passive -> STOPPED (r1 -> r2)
        (
            "42febe55fdea162c1867769c080045000020d19540004011f130cb007102cb007103021b021b000c7824bddabdad",
            Heartbeat::Stopped,
        ),
    ];

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// Ethernet (14) + IPv4 without options (20) + UDP (8).
    const UDP_PAYLOAD_OFFSET: usize = 14 + 20 + 8;

    #[test]
    fn reference_frames_layout() {
        for (hex, _) in FRAMES {
            let f = unhex(hex);
            assert_eq!(f.len(), 46, "veth frame without padding");
            assert_eq!(&f[12..14], &[0x08, 0x00], "IPv4");
            assert_eq!(f[14], 0x45, "IHL 5: the UDP header is at 34");
            assert_eq!(f[23], 17, "UDP");
            assert_eq!(&f[34..36], &539u16.to_be_bytes(), "source port");
            assert_eq!(&f[36..38], &539u16.to_be_bytes(), "destination port");
            assert_eq!(&f[38..40], &12u16.to_be_bytes(), "UDP length 8 + 4");
            assert_eq!(f.len() - UDP_PAYLOAD_OFFSET, HEARTBEAT_LEN);
        }
    }

    // The fixtures were captured on little-endian x86-64; on such a host
    // our native-order bytes must be exactly these.
    #[cfg(target_endian = "little")]
    #[test]
    fn reference_frames_payload() {
        for (hex, beat) in FRAMES {
            let f = unhex(hex);
            let payload = &f[UDP_PAYLOAD_OFFSET..];
            assert_eq!(Heartbeat::parse(payload), Ok(beat));
            assert_eq!(&beat.emit()[..], payload);
        }
        assert_eq!(Heartbeat::Stopped.emit(), [0xbd, 0xda, 0xbd, 0xad]);
        assert_eq!(Heartbeat::Running.emit(), [0xda, 0xdb, 0xad, 0xbd]);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn fos_values_little_endian() {
        // piranha.md §4.2 table, "LE bytes on the wire".
        assert_eq!(Heartbeat::FosRunning.emit(), [0xbe, 0xba, 0xef, 0xbe]);
        assert_eq!(Heartbeat::FosStopped.emit(), [0xef, 0xbe, 0xad, 0xde]);
        assert_eq!(Heartbeat::FosStopMe.emit(), [0xda, 0xda, 0xad, 0xde]);
    }

    #[test]
    fn values_round_trip() {
        for b in [
            Heartbeat::Running,
            Heartbeat::Stopped,
            Heartbeat::FosRunning,
            Heartbeat::FosStopped,
            Heartbeat::FosStopMe,
            Heartbeat::Other(7),
            Heartbeat::Other(HOLD_MAGIC),
        ] {
            assert_eq!(Heartbeat::parse(&b.emit()), Ok(b));
            assert_eq!(Heartbeat::from_value(b.value()), b);
        }
        assert_eq!(Heartbeat::Running.value(), 0xBDADDBDA);
        assert_eq!(Heartbeat::Stopped.value(), 0xADBDDABD);
        assert!(Heartbeat::Other(HELD_MAGIC).is_hold());
        assert!(!Heartbeat::Other(1).is_hold());
    }

    #[test]
    fn longer_datagram_truncated_and_accepted() {
        let mut d = Heartbeat::Running.emit().to_vec();
        d.extend_from_slice(&[1, 2, 3, 4, 5]);
        assert_eq!(Heartbeat::parse(&d), Ok(Heartbeat::Running));
    }

    #[test]
    fn short_datagram_is_bad() {
        for len in 0..HEARTBEAT_LEN {
            let e = Heartbeat::parse(&[0xda; 3][..len]).unwrap_err();
            assert_eq!(e.len, len);
            assert_eq!(e.to_string(), "bad heartbeat packet");
        }
    }

    #[test]
    fn display() {
        assert_eq!(Heartbeat::Running.to_string(), "RUNNING");
        assert_eq!(Heartbeat::Other(0x12).to_string(), "unknown 0x00000012");
        assert_eq!(Heartbeat::Other(HOLD_MAGIC).to_string(), "HOLD");
    }
}
