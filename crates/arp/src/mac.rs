//! Ethernet (EUI-48) addresses, and the syntax `send_arp` accepts for them.

use std::fmt;
use std::str::FromStr;

/// An Ethernet MAC address.
///
/// `Display` prints the usual lower-case colon form (`00:00:5e:00:53:01`),
/// which `FromStr` reads back. The syntax of `send_arp`'s arguments is
/// [`Mac::parse_send_arp_hw`] / [`Mac::to_send_arp_hw`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

/// Why a MAC address did not parse: the input and the byte offset where the
/// parser stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacError {
    /// The text given.
    pub input: String,
    /// Byte offset into `input` of the offending character (or its end).
    pub position: usize,
    /// What was wrong there.
    pub reason: MacErrorReason,
}

/// The kind of [`MacError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacErrorReason {
    /// The text ended before six bytes were read.
    TooShort,
    /// A character that is not a hexadecimal digit where one was expected.
    NotHexDigit,
    /// A character other than `:` between two bytes (colon form only).
    BadSeparator,
    /// Characters after the sixth byte (colon form only).
    Trailing,
}

impl fmt::Display for MacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.reason {
            MacErrorReason::TooShort => "too short: six bytes of two hex digits each expected",
            MacErrorReason::NotHexDigit => "hexadecimal digit expected",
            MacErrorReason::BadSeparator => "':' expected between bytes",
            MacErrorReason::Trailing => "unexpected characters after the sixth byte",
        };
        write!(
            f,
            "invalid hardware address {:?} at offset {}: {}",
            self.input, self.position, what
        )
    }
}

impl std::error::Error for MacError {}

impl Mac {
    /// `ff:ff:ff:ff:ff:ff`, the Ethernet broadcast address.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// `00:00:00:00:00:00`.
    pub const ZERO: Mac = Mac([0; 6]);

    /// The six bytes.
    pub const fn octets(self) -> [u8; 6] {
        self.0
    }

    /// True for a group (multicast or broadcast) address: the I/G bit of
    /// the first byte is set.
    pub const fn is_multicast(self) -> bool {
        self.0[0] & 1 == 1
    }

    /// Parses a MAC the way piranha's `send_arp` (`get_hw_addr`) does:
    /// six bytes of exactly two hex digits each, case-insensitive, each
    /// optionally followed by one `:`; whatever follows the twelfth digit is
    /// ignored (so `00005E005301`, `00:00:5e:00:53:01` and
    /// `00005e005301xyz` are all the same address). pulse passes the
    /// 12-digit form ([`Mac::to_send_arp_hw`]).
    pub fn parse_send_arp_hw(s: &str) -> Result<Mac, MacError> {
        let bytes = s.as_bytes();
        let mut pos = 0;
        let mut out = [0u8; 6];
        let err = |position, reason| MacError {
            input: s.to_owned(),
            position,
            reason,
        };
        for byte in &mut out {
            let mut value = 0u8;
            for _ in 0..2 {
                let Some(&c) = bytes.get(pos) else {
                    return Err(err(pos, MacErrorReason::TooShort));
                };
                let digit = hex_digit(c).ok_or_else(|| err(pos, MacErrorReason::NotHexDigit))?;
                value = (value << 4) | digit;
                pos += 1;
            }
            *byte = value;
            if bytes.get(pos) == Some(&b':') {
                pos += 1;
            }
        }
        Ok(Mac(out))
    }

    /// The form pulse passes to `send_arp`: 12 upper-case hex digits, no
    /// separators (`00005E005301`).
    pub fn to_send_arp_hw(self) -> String {
        self.0.iter().map(|b| format!("{b:02X}")).collect()
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c.to_ascii_lowercase() {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

impl FromStr for Mac {
    type Err = MacError;

    /// The colon form: six `:`-separated bytes of two hex digits each,
    /// either case, nothing else (`00:00:5e:00:53:01`).
    fn from_str(s: &str) -> Result<Mac, MacError> {
        let bytes = s.as_bytes();
        let err = |position, reason| MacError {
            input: s.to_owned(),
            position,
            reason,
        };
        let mut out = [0u8; 6];
        let mut pos = 0;
        for (i, byte) in out.iter_mut().enumerate() {
            if i > 0 {
                match bytes.get(pos) {
                    None => return Err(err(pos, MacErrorReason::TooShort)),
                    Some(b':') => pos += 1,
                    Some(_) => return Err(err(pos, MacErrorReason::BadSeparator)),
                }
            }
            let mut value = 0u8;
            for _ in 0..2 {
                let Some(&c) = bytes.get(pos) else {
                    return Err(err(pos, MacErrorReason::TooShort));
                };
                let digit = hex_digit(c).ok_or_else(|| err(pos, MacErrorReason::NotHexDigit))?;
                value = (value << 4) | digit;
                pos += 1;
            }
            *byte = value;
        }
        if pos != bytes.len() {
            return Err(err(pos, MacErrorReason::Trailing));
        }
        Ok(Mac(out))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

impl From<[u8; 6]> for Mac {
    fn from(bytes: [u8; 6]) -> Mac {
        Mac(bytes)
    }
}

impl From<Mac> for [u8; 6] {
    fn from(mac: Mac) -> [u8; 6] {
        mac.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: Mac = Mac([0x00, 0x00, 0x5e, 0x00, 0x53, 0x01]);

    #[test]
    fn display_and_from_str_round_trip() {
        assert_eq!(DOC.to_string(), "00:00:5e:00:53:01");
        assert_eq!("00:00:5e:00:53:01".parse::<Mac>(), Ok(DOC));
        assert_eq!("00:00:5E:00:53:01".parse::<Mac>(), Ok(DOC));
        assert_eq!(Mac::BROADCAST.to_string(), "ff:ff:ff:ff:ff:ff");
    }

    #[test]
    fn from_str_rejects_other_forms() {
        let e = "00005e005301".parse::<Mac>().unwrap_err();
        assert_eq!((e.position, e.reason), (2, MacErrorReason::BadSeparator));
        let e = "00:00:5e:00:53".parse::<Mac>().unwrap_err();
        assert_eq!((e.position, e.reason), (14, MacErrorReason::TooShort));
        let e = "00:00:5e:00:53:01:".parse::<Mac>().unwrap_err();
        assert_eq!((e.position, e.reason), (17, MacErrorReason::Trailing));
        let e = "00:00:5g:00:53:01".parse::<Mac>().unwrap_err();
        assert_eq!((e.position, e.reason), (7, MacErrorReason::NotHexDigit));
        assert!(
            e.to_string().contains("\"00:00:5g:00:53:01\" at offset 7"),
            "{e}"
        );
        assert!("0:00:5e:00:53:01".parse::<Mac>().is_err());
    }

    /// The accepted and rejected arguments of anchors/send_arp-frame.txt
    /// (original 0.8.6 `send_arp`: `00005E005301` and the colon form work,
    /// `00005E00530` and `00005E00530G` give "Invalid hardware address").
    #[test]
    fn send_arp_syntax_as_the_original() {
        for ok in [
            "00005E005301",
            "00005e005301",
            "00:00:5e:00:53:01",
            "00:00:5E:0053:01",
            "00005E005301trailing junk",
            "00:00:5e:00:53:01:",
        ] {
            assert_eq!(Mac::parse_send_arp_hw(ok), Ok(DOC), "{ok}");
        }
        let e = Mac::parse_send_arp_hw("00005E00530").unwrap_err();
        assert_eq!((e.position, e.reason), (11, MacErrorReason::TooShort));
        let e = Mac::parse_send_arp_hw("00005E00530G").unwrap_err();
        assert_eq!((e.position, e.reason), (11, MacErrorReason::NotHexDigit));
        // Only one ':' is skipped after a byte, and none inside a byte.
        assert!(Mac::parse_send_arp_hw("00::00:5e:00:53:01").is_err());
        assert!(Mac::parse_send_arp_hw("0:000:5e:00:53:01").is_err());
        assert!(Mac::parse_send_arp_hw("").is_err());
        assert_eq!(Mac::parse_send_arp_hw("ffffffffffff"), Ok(Mac::BROADCAST));
    }

    #[test]
    fn send_arp_form_is_twelve_upper_case_digits() {
        assert_eq!(DOC.to_send_arp_hw(), "00005E005301");
        let mac = Mac([0x42, 0xfe, 0xbe, 0x55, 0xfd, 0xea]);
        assert_eq!(mac.to_send_arp_hw(), "42FEBE55FDEA");
        assert_eq!(Mac::parse_send_arp_hw(&mac.to_send_arp_hw()), Ok(mac));
    }

    #[test]
    fn multicast_bit() {
        assert!(Mac::BROADCAST.is_multicast());
        assert!(Mac([0x33, 0x33, 0, 0, 0, 1]).is_multicast());
        assert!(!DOC.is_multicast());
    }
}
