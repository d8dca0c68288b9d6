//! Netlink attributes (`struct nlattr`, `<linux/netlink.h>`): a 4-byte header
//! (u16 length including the header, u16 type, both host order), the payload,
//! and zero padding to a multiple of 4.

use super::DecodeError;
use crate::uapi::{NLA_HDRLEN, NLA_TYPE_MASK};

/// Round up to the netlink alignment (4).
pub const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// An attribute as found on the wire, payload not interpreted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawNla {
    /// The full `nla_type`, including the `NLA_F_NESTED`/`NLA_F_NET_BYTEORDER`
    /// bits, so that an unknown attribute is emitted exactly as received.
    pub kind: u16,
    /// Payload without padding.
    pub payload: Vec<u8>,
}

impl RawNla {
    /// The attribute type without flag bits.
    pub fn id(&self) -> u16 {
        self.kind & NLA_TYPE_MASK
    }
}

/// Split a buffer into attributes.  The last attribute may lack its padding
/// (the kernel never omits it, but the netlink rules allow it).
pub fn parse_raw(mut buf: &[u8]) -> Result<Vec<RawNla>, DecodeError> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (Some(len), Some(kind)) = (read_u16(buf, 0), read_u16(buf, 2)) else {
            return Err(DecodeError::new(format!(
                "truncated attribute header ({} bytes)",
                buf.len()
            )));
        };
        let len = usize::from(len);
        if len < NLA_HDRLEN || len > buf.len() {
            return Err(DecodeError::new(format!(
                "attribute type {kind} claims length {len}, {} bytes left",
                buf.len()
            )));
        }
        out.push(RawNla {
            kind,
            payload: buf[NLA_HDRLEN..len].to_vec(),
        });
        buf = buf.get(align4(len)..).unwrap_or(&[]);
    }
    Ok(out)
}

fn read_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at + 2)?;
    Some(u16::from_ne_bytes([b[0], b[1]]))
}

/// Append one attribute with its padding.
///
/// # Panics
/// If the payload exceeds the 16-bit attribute length (65531 bytes); no IPVS
/// attribute comes near that.
pub fn emit(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = u16::try_from(NLA_HDRLEN + payload.len()).expect("netlink attribute over 64 KiB");
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    pad(out);
}

/// Append a nested attribute whose payload `body` writes.  The type is
/// written as given: the kernel's replies carry no `NLA_F_NESTED` bit and its
/// IPVS policy is liberal, so requests do not set it either.
///
/// # Panics
/// If the nest exceeds 64 KiB.
pub fn emit_nested(out: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&kind.to_ne_bytes());
    body(out);
    let len = u16::try_from(out.len() - start).expect("netlink nest over 64 KiB");
    out[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    pad(out);
}

fn pad(out: &mut Vec<u8>) {
    out.resize(align4(out.len()), 0);
}

/// Payload as a fixed-size array, or an error naming the attribute.
pub fn fixed<const N: usize>(raw: &RawNla, what: &str) -> Result<[u8; N], DecodeError> {
    raw.payload.as_slice().try_into().map_err(|_| {
        DecodeError::new(format!(
            "{what}: expected {N} bytes, got {}",
            raw.payload.len()
        ))
    })
}

/// A host-order u8/u16/u32/u64 payload.
pub fn u8_of(raw: &RawNla, what: &str) -> Result<u8, DecodeError> {
    Ok(fixed::<1>(raw, what)?[0])
}

/// A host-order u16 payload.
pub fn u16_of(raw: &RawNla, what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(fixed(raw, what)?))
}

/// A big-endian u16 payload (ports).
pub fn be16_of(raw: &RawNla, what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(fixed(raw, what)?))
}

/// A host-order u32 payload.
pub fn u32_of(raw: &RawNla, what: &str) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(fixed(raw, what)?))
}

/// A host-order u64 payload.
pub fn u64_of(raw: &RawNla, what: &str) -> Result<u64, DecodeError> {
    Ok(u64::from_ne_bytes(fixed(raw, what)?))
}

/// A NUL-terminated string payload (the NUL and anything after it dropped).
pub fn string_of(raw: &RawNla, what: &str) -> Result<String, DecodeError> {
    let bytes = raw.payload.split(|b| *b == 0).next().unwrap_or(&[]);
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::new(format!("{what}: not UTF-8")))
}

/// A string as the kernel expects it: bytes plus one NUL.
pub fn cstring(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

/// Behaviour shared by the typed attribute enums of each nest.
pub trait Attribute: Sized {
    /// Interpret one raw attribute.  Unknown types become `Other`, never an error.
    fn parse(raw: RawNla) -> Result<Self, DecodeError>;
    /// Append this attribute (header, payload, padding).
    fn emit(&self, out: &mut Vec<u8>);
}

/// Parse a whole attribute list into typed attributes.
pub fn parse_all<A: Attribute>(buf: &[u8]) -> Result<Vec<A>, DecodeError> {
    parse_raw(buf)?.into_iter().map(A::parse).collect()
}

/// Emit a whole attribute list.
pub fn emit_all<A: Attribute>(attrs: &[A], out: &mut Vec<u8>) {
    for a in attrs {
        a.emit(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_roundtrip_with_padding() {
        #[rustfmt::skip]
        let bytes = [
            0x05, 0x00, 0x01, 0x00, // len=5 type=1
            0xab, 0x00, 0x00, 0x00, // u8 0xab + 3 pad
            0x08, 0x00, 0x02, 0x80, // len=8 type=2|NLA_F_NESTED
            0x01, 0x02, 0x03, 0x04, // payload
        ];
        let attrs = parse_raw(&bytes).unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(
            attrs[0],
            RawNla {
                kind: 1,
                payload: vec![0xab]
            }
        );
        assert_eq!(attrs[1].id(), 2);
        let mut out = Vec::new();
        for a in &attrs {
            emit(&mut out, a.kind, &a.payload);
        }
        assert_eq!(out, bytes);
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(parse_raw(&[0x03, 0x00, 0x01, 0x00]).is_err());
        assert!(parse_raw(&[0x09, 0x00, 0x01, 0x00, 0, 0, 0, 0]).is_err());
        assert!(parse_raw(&[0x04, 0x00]).is_err());
        // Missing tail padding on the last attribute is tolerated.
        assert_eq!(
            parse_raw(&[0x05, 0x00, 0x01, 0x00, 0x07]).unwrap()[0].payload,
            vec![7]
        );
    }

    #[test]
    fn strings() {
        let raw = RawNla {
            kind: 6,
            payload: b"wlc\0".to_vec(),
        };
        assert_eq!(string_of(&raw, "s").unwrap(), "wlc");
        assert_eq!(cstring("wlc"), b"wlc\0");
    }
}
