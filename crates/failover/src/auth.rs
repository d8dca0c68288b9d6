//! Authenticated heartbeats (extension, opt-in with `heartbeat_key_file`).
//!
//! The original heartbeat is four unauthenticated bytes accepted from the
//! partner's source address (piranha.md §4.1), so anyone who can spoof that
//! address can make a router yield or take over. With a shared key, each
//! heartbeat carries an HMAC-SHA256 and a counter against replay:
//!
//! ```text
//! offset len
//! 0      4   the original heartbeat value, native order (crate::heartbeat)
//! 4      4   tag "LVH1" (format version 1)
//! 8      8   counter, big-endian, strictly increasing per sender
//! 16     32  HMAC-SHA256(key, bytes 0..16)
//! ```
//!
//! The plain value comes first, so the first 4 bytes are still a valid
//! heartbeat and an original pulse (which reads 4 bytes of any longer
//! datagram) understands an authenticated one. The reverse is not true: a
//! router with a key drops the plain beats of a partner without one
//! ([`Reject::Unauthenticated`]), so a key needs our pulse on both routers.
//!
//! The counter is `max(last + 1, unix time in µs)` ([`Sealer::seal`]), so it
//! keeps increasing across restarts of the sender without stored state, as
//! long as its clock does not step back by more than the downtime. The
//! receiver keeps the last accepted counter per path ([`Verifier`]): the same
//! beat is sent on the public and the private path with the same counter,
//! and the two may arrive in either order.
//!
//! The MAC is checked in constant time (`hmac`'s `verify_slice`). Pure: no
//! sockets, no clock (the time is passed in).

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::heartbeat::{HEARTBEAT_LEN, Heartbeat};

type HmacSha256 = Hmac<Sha256>;

/// Format tag and version after the plain value.
pub const TAG: [u8; 4] = *b"LVH1";
/// Length of the MAC.
pub const MAC_LEN: usize = 32;
/// Length of an authenticated heartbeat.
pub const SEALED_LEN: usize = HEARTBEAT_LEN + TAG.len() + 8 + MAC_LEN;
/// Shortest key accepted, in bytes (128 bits).
pub const MIN_KEY_LEN: usize = 16;

const SIGNED_LEN: usize = SEALED_LEN - MAC_LEN;

/// The shared secret. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(Vec<u8>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({} bytes)", self.0.len())
    }
}

/// Why a key file's contents are not a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// Fewer than [`MIN_KEY_LEN`] bytes after removing the final newline.
    TooShort {
        /// Bytes found.
        len: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::TooShort { len } => write!(
                f,
                "heartbeat key is too short: {len} bytes, at least {MIN_KEY_LEN} needed"
            ),
        }
    }
}

impl std::error::Error for KeyError {}

impl Key {
    /// The key from the contents of `heartbeat_key_file`: the bytes as they
    /// are, less one trailing `\n` or `\r\n` (so `echo secret > file` and
    /// `head -c 32 /dev/urandom > file` both work). The caller reads the
    /// file and names it in the error.
    pub fn from_file_contents(contents: &[u8]) -> Result<Key, KeyError> {
        let k = contents
            .strip_suffix(b"\r\n")
            .or_else(|| contents.strip_suffix(b"\n"))
            .unwrap_or(contents);
        if k.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort { len: k.len() });
        }
        Ok(Key(k.to_vec()))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; new_from_slice cannot fail for it.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts any key length"),
        }
    }
}

/// Why an authenticated receiver dropped a datagram. pulse logs these
/// rate-limited; the `Display` is the log text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Longer than a plain heartbeat, shorter than [`SEALED_LEN`].
    Short {
        /// Length received.
        len: usize,
    },
    /// Wrong tag, or the MAC does not match (altered, or another key).
    BadMac,
    /// A valid MAC but a counter not above the last one accepted.
    Replay {
        /// Counter received.
        counter: u64,
        /// Last counter accepted on this path.
        last: u64,
    },
    /// A plain (4-byte) heartbeat while a key is configured.
    Unauthenticated,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reject::Short { len } => write!(
                f,
                "authenticated heartbeat too short ({len} bytes, {SEALED_LEN} expected)"
            ),
            Reject::BadMac => f.write_str("heartbeat with a bad MAC (altered, or another key)"),
            Reject::Replay { counter, last } => write!(
                f,
                "replayed heartbeat (counter {counter}, last accepted {last})"
            ),
            Reject::Unauthenticated => {
                f.write_str("unauthenticated heartbeat while heartbeat_key_file is set")
            }
        }
    }
}

impl std::error::Error for Reject {}

/// The sending side: seals each beat with the next counter.
#[derive(Debug, Clone)]
pub struct Sealer {
    key: Key,
    last: u64,
}

impl Sealer {
    /// A sealer that has sent nothing yet.
    pub fn new(key: Key) -> Sealer {
        Sealer { key, last: 0 }
    }

    /// The authenticated datagram for `beat`. `unix_micros` is the wall
    /// clock in µs since the epoch; the counter is `max(last + 1, it)`.
    /// Send the same bytes on both paths.
    pub fn seal(&mut self, beat: Heartbeat, unix_micros: u64) -> [u8; SEALED_LEN] {
        let counter = unix_micros.max(self.last.saturating_add(1));
        self.last = counter;
        let mut out = [0u8; SEALED_LEN];
        out[..HEARTBEAT_LEN].copy_from_slice(&beat.emit());
        out[HEARTBEAT_LEN..HEARTBEAT_LEN + TAG.len()].copy_from_slice(&TAG);
        out[HEARTBEAT_LEN + TAG.len()..SIGNED_LEN].copy_from_slice(&counter.to_be_bytes());
        let mut mac = self.key.mac();
        mac.update(&out[..SIGNED_LEN]);
        out[SIGNED_LEN..].copy_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// The last counter used (0 before the first beat).
    pub fn last_counter(&self) -> u64 {
        self.last
    }
}

/// The receiving side for one path of one partner.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: Key,
    last: u64,
}

impl Verifier {
    /// A verifier accepting any counter above `floor` first. 0 accepts the
    /// first valid beat whatever its counter. A receiver that just started
    /// cannot tell a replayed old beat from a new one below the floor it is
    /// given; pulse may pass e.g. its own clock minus a margin for skew.
    pub fn new(key: Key, floor: u64) -> Verifier {
        Verifier { key, last: floor }
    }

    /// Checks a received datagram; on success the plain heartbeat and its
    /// counter, and the counter becomes the new floor. Longer datagrams are
    /// read up to [`SEALED_LEN`] (as the original reads 4 of a longer one).
    pub fn open(&mut self, datagram: &[u8]) -> Result<(Heartbeat, u64), Reject> {
        if datagram.len() <= HEARTBEAT_LEN {
            // A plain beat (or a bad one, which is unauthenticated too).
            return Err(Reject::Unauthenticated);
        }
        let Some(d) = datagram.first_chunk::<SEALED_LEN>() else {
            return Err(Reject::Short {
                len: datagram.len(),
            });
        };
        let mut mac = self.key.mac();
        mac.update(&d[..SIGNED_LEN]);
        if mac.verify_slice(&d[SIGNED_LEN..]).is_err() || d[4..8] != TAG {
            return Err(Reject::BadMac);
        }
        let mut c = [0u8; 8];
        c.copy_from_slice(&d[HEARTBEAT_LEN + TAG.len()..SIGNED_LEN]);
        let counter = u64::from_be_bytes(c);
        if counter <= self.last {
            return Err(Reject::Replay {
                counter,
                last: self.last,
            });
        }
        self.last = counter;
        let beat = match Heartbeat::parse(&d[..HEARTBEAT_LEN]) {
            Ok(b) => b,
            Err(_) => unreachable!("4 bytes are a heartbeat"),
        };
        Ok((beat, counter))
    }

    /// The last counter accepted (or the floor).
    pub fn last_counter(&self) -> u64 {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Key::from_file_contents(s.as_bytes()).expect("key")
    }

    const T0: u64 = 1_796_000_000_000_000;

    #[test]
    fn good_beat_accepted_and_first_bytes_plain() {
        let mut s = Sealer::new(key("0123456789abcdef\n"));
        let mut v = Verifier::new(key("0123456789abcdef"), 0);
        let d = s.seal(Heartbeat::Running, T0);
        assert_eq!(d.len(), 48);
        // An original pulse reads the first 4 bytes: a plain RUNNING.
        assert_eq!(Heartbeat::parse(&d), Ok(Heartbeat::Running));
        assert_eq!(&d[4..8], b"LVH1");
        assert_eq!(v.open(&d), Ok((Heartbeat::Running, T0)));
        let d2 = s.seal(Heartbeat::Stopped, T0 + 5);
        assert_eq!(v.open(&d2), Ok((Heartbeat::Stopped, T0 + 5)));
    }

    #[test]
    fn counter_strictly_increases_even_if_clock_steps_back() {
        let mut s = Sealer::new(key("0123456789abcdef"));
        s.seal(Heartbeat::Running, T0);
        let d = s.seal(Heartbeat::Running, T0 - 1_000_000);
        assert_eq!(s.last_counter(), T0 + 1);
        let mut v = Verifier::new(key("0123456789abcdef"), T0);
        assert_eq!(v.open(&d), Ok((Heartbeat::Running, T0 + 1)));
    }

    #[test]
    fn altered_byte_rejected() {
        let mut s = Sealer::new(key("0123456789abcdef"));
        let d = s.seal(Heartbeat::Stopped, T0);
        for i in 0..SEALED_LEN {
            let mut bad = d;
            bad[i] ^= 0x01;
            let mut v = Verifier::new(key("0123456789abcdef"), 0);
            assert_eq!(v.open(&bad), Err(Reject::BadMac), "byte {i}");
        }
    }

    #[test]
    fn wrong_key_rejected() {
        let mut s = Sealer::new(key("0123456789abcdef"));
        let mut v = Verifier::new(key("0123456789abcdeF"), 0);
        assert_eq!(v.open(&s.seal(Heartbeat::Running, T0)), Err(Reject::BadMac));
    }

    #[test]
    fn replayed_counter_rejected() {
        let mut s = Sealer::new(key("0123456789abcdef"));
        let mut v = Verifier::new(key("0123456789abcdef"), 0);
        let d1 = s.seal(Heartbeat::Running, T0);
        let d2 = s.seal(Heartbeat::Running, T0 + 10);
        assert!(v.open(&d2).is_ok());
        assert_eq!(
            v.open(&d2),
            Err(Reject::Replay {
                counter: T0 + 10,
                last: T0 + 10
            })
        );
        assert_eq!(
            v.open(&d1),
            Err(Reject::Replay {
                counter: T0,
                last: T0 + 10
            })
        );
        // A floor rejects beats recorded before the receiver started.
        let mut fresh = Verifier::new(key("0123456789abcdef"), T0 + 5);
        assert!(matches!(fresh.open(&d1), Err(Reject::Replay { .. })));
    }

    #[test]
    fn plain_beat_unauthenticated_when_key_set() {
        let mut v = Verifier::new(key("0123456789abcdef"), 0);
        assert_eq!(
            v.open(&Heartbeat::Running.emit()),
            Err(Reject::Unauthenticated)
        );
        assert_eq!(v.open(&[1, 2]), Err(Reject::Unauthenticated));
        assert_eq!(v.open(&[0; 20]), Err(Reject::Short { len: 20 }));
    }

    #[test]
    fn longer_datagram_read_up_to_sealed_len() {
        let mut s = Sealer::new(key("0123456789abcdef"));
        let mut d = s.seal(Heartbeat::Running, T0).to_vec();
        d.push(0);
        let mut v = Verifier::new(key("0123456789abcdef"), 0);
        assert_eq!(v.open(&d), Ok((Heartbeat::Running, T0)));
    }

    #[test]
    fn key_file_contents() {
        assert_eq!(
            Key::from_file_contents(b"short\n"),
            Err(KeyError::TooShort { len: 5 })
        );
        assert_eq!(
            key("0123456789abcdef\r\n"),
            key("0123456789abcdef"),
            "one CRLF removed"
        );
        assert_ne!(key("0123456789abcdef \n"), key("0123456789abcdef"));
        assert_eq!(format!("{:?}", key("0123456789abcdef")), "Key(16 bytes)");
        assert!(
            KeyError::TooShort { len: 5 }
                .to_string()
                .contains("at least 16")
        );
    }

    /// A fixed vector computed outside this code (Python's `hmac` module:
    /// `hmac.new(b"0123456789abcdef", bytes.fromhex(
    /// "bddabdad4c5648310102030405060708"), hashlib.sha256).hexdigest()`),
    /// so neither a change of the layout nor of the MAC goes unnoticed.
    #[cfg(target_endian = "little")]
    #[test]
    fn fixed_vector() {
        let mut s = Sealer::new(key("0123456789abcdef"));
        let d = s.seal(Heartbeat::Stopped, 0x0102_0304_0506_0708);
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "bddabdad4c5648310102030405060708\
             5a8019bd700785c39e56801b973aa0e9a5bfab2e498ffabe97e107a8570ef893"
        );
    }
}
