//! SHA-256 values: the digest of an lvs.cf and the fingerprint of a
//! router's certificate, with the hex forms an admin reads and types.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// SHA-256 of a file's bytes (what both status pages show, and what the
/// base check compares).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }
}

/// Lower-case hex, 64 digits (as `sha256sum` prints it, so an admin can
/// compare with the file on disk).
impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = HexError;
    /// 64 hex digits, either case (colons allowed, as for fingerprints).
    fn from_str(s: &str) -> Result<Digest, HexError> {
        parse_hex32(s).map(Digest)
    }
}

/// SHA-256 of a certificate's DER bytes: what a router pins of its peer.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(der).into())
    }
}

/// Upper-case hex pairs joined by colons, as
/// `openssl x509 -noout -fingerprint -sha256` prints it, so the value can
/// be checked against the certificate file with a standard tool.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = HexError;
    /// 64 hex digits, either case, with or without colons between pairs;
    /// an `sha256 Fingerprint=` prefix (openssl's output) is accepted too,
    /// so the admin can paste the whole line.
    fn from_str(s: &str) -> Result<Fingerprint, HexError> {
        let s = s.trim();
        let s = s
            .split_once('=')
            .filter(|(k, _)| k.to_ascii_lowercase().contains("fingerprint"))
            .map_or(s, |(_, v)| v);
        parse_hex32(s).map(Fingerprint)
    }
}

/// A digest or fingerprint that is not 32 bytes of hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    /// A character that is neither a hex digit nor a colon, at this
    /// (0-based, in characters) position.
    BadChar {
        /// Where.
        at: usize,
        /// What.
        found: char,
    },
    /// Not 64 hex digits.
    Length(usize),
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::BadChar { at, found } => {
                write!(f, "character {} ({found:?}) is not a hex digit", at + 1)
            }
            HexError::Length(n) => write!(f, "{n} hex digits, a SHA-256 has 64"),
        }
    }
}

impl std::error::Error for HexError {}

fn parse_hex32(s: &str) -> Result<[u8; 32], HexError> {
    let mut nibbles = Vec::with_capacity(64);
    for (at, c) in s.trim().chars().enumerate() {
        match c {
            ':' => {}
            _ => match nibble(c) {
                Some(d) => nibbles.push(d),
                None => return Err(HexError::BadChar { at, found: c }),
            },
        }
    }
    if nibbles.len() != 64 {
        return Err(HexError::Length(nibbles.len()));
    }
    let mut out = [0u8; 32];
    for (i, pair) in nibbles.chunks_exact(2).enumerate() {
        out[i] = (pair[0] << 4) | pair[1];
    }
    Ok(out)
}

fn nibble(c: char) -> Option<u8> {
    let b = u8::try_from(c).ok()?;
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256sum_hex() {
        // printf abc | sha256sum
        let d = Digest::of(b"abc");
        assert_eq!(
            d.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.to_string().parse::<Digest>(), Ok(d));
    }

    #[test]
    fn fingerprint_round_trips_in_every_spelling() {
        let f = Fingerprint::of_der(b"not really a certificate");
        let colons = f.to_string();
        assert_eq!(colons.len(), 95);
        assert_eq!(colons.parse::<Fingerprint>(), Ok(f));
        let plain: String = colons.chars().filter(|&c| c != ':').collect();
        assert_eq!(plain.to_lowercase().parse::<Fingerprint>(), Ok(f));
        let openssl = format!("sha256 Fingerprint={colons}\n");
        assert_eq!(openssl.parse::<Fingerprint>(), Ok(f));
    }

    #[test]
    fn bad_hex_names_the_place() {
        assert_eq!(
            "ab:zz".parse::<Fingerprint>(),
            Err(HexError::BadChar { at: 3, found: 'z' })
        );
        assert_eq!("abcd".parse::<Digest>(), Err(HexError::Length(4)));
        let long = "a".repeat(66);
        assert_eq!(long.parse::<Digest>(), Err(HexError::Length(66)));
    }
}
