//! Netlink (`struct nlmsghdr`) and generic netlink (`struct genlmsghdr`)
//! framing, and the IPVS message: a command plus its attributes.

use super::DecodeError;
use super::attrs::{CmdAttr, CtrlAttr, InfoAttr};
use super::nla::{align4, emit_all, parse_all};
use crate::uapi::*;

/// `struct nlmsghdr`, host order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlHeader {
    /// Total length including this header.
    pub len: u32,
    /// Message type: a family id, or `NLMSG_ERROR`/`NLMSG_DONE`/….
    pub kind: u16,
    /// `NLM_F_*`.
    pub flags: u16,
    /// Sequence number, echoed in replies.
    pub seq: u32,
    /// Port id of the sender (0 = kernel).
    pub pid: u32,
}

impl NlHeader {
    /// Parse the first 16 bytes.
    pub fn parse(buf: &[u8]) -> Result<Self, DecodeError> {
        let b: &[u8; NLMSG_HDRLEN] = buf
            .get(..NLMSG_HDRLEN)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| {
                DecodeError::new(format!("truncated netlink header ({} bytes)", buf.len()))
            })?;
        Ok(NlHeader {
            len: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            kind: u16::from_ne_bytes([b[4], b[5]]),
            flags: u16::from_ne_bytes([b[6], b[7]]),
            seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
            pid: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.len.to_ne_bytes());
        out.extend_from_slice(&self.kind.to_ne_bytes());
        out.extend_from_slice(&self.flags.to_ne_bytes());
        out.extend_from_slice(&self.seq.to_ne_bytes());
        out.extend_from_slice(&self.pid.to_ne_bytes());
    }
}

/// An IPVS command number (`enum ipvs_cmds`), with an escape hatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cmd(pub u8);

/// A generic netlink message of the IPVS family: `genlmsghdr` + attributes.
///
/// The attribute space depends on the command: the `GET_INFO` reply
/// (`SET_INFO`) carries `IPVS_INFO_ATTR_*` at top level, everything else
/// `IPVS_CMD_ATTR_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// `genlmsghdr.cmd`.
    pub cmd: Cmd,
    /// `genlmsghdr.version` (`IPVS_GENL_VERSION` when we send).
    pub version: u8,
    /// Attributes.
    pub attrs: IpvsAttrs,
}

/// The top-level attributes of an [`IpvsMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsAttrs {
    /// `IPVS_CMD_ATTR_*`.
    Cmd(Vec<CmdAttr>),
    /// `IPVS_INFO_ATTR_*` (only in the `SET_INFO` reply to `GET_INFO`).
    Info(Vec<InfoAttr>),
}

impl IpvsMessage {
    /// A request with `IPVS_GENL_VERSION`.
    pub fn request(cmd: u8, attrs: Vec<CmdAttr>) -> Self {
        IpvsMessage {
            cmd: Cmd(cmd),
            version: IPVS_GENL_VERSION,
            attrs: IpvsAttrs::Cmd(attrs),
        }
    }

    /// Parse a generic netlink payload (after the `nlmsghdr`).
    pub fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        let (cmd, version, rest) = genl_header(payload)?;
        let attrs = if cmd == IPVS_CMD_SET_INFO {
            IpvsAttrs::Info(parse_all(rest)?)
        } else {
            IpvsAttrs::Cmd(parse_all(rest)?)
        };
        Ok(IpvsMessage {
            cmd: Cmd(cmd),
            version,
            attrs,
        })
    }

    /// Append the generic netlink payload (`genlmsghdr` + attributes).
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.cmd.0, self.version, 0, 0]);
        match &self.attrs {
            IpvsAttrs::Cmd(a) => emit_all(a, out),
            IpvsAttrs::Info(a) => emit_all(a, out),
        }
    }

    /// The top-level command attributes (empty for an info message).
    pub fn cmd_attrs(&self) -> &[CmdAttr] {
        match &self.attrs {
            IpvsAttrs::Cmd(a) => a,
            IpvsAttrs::Info(_) => &[],
        }
    }
}

fn genl_header(payload: &[u8]) -> Result<(u8, u8, &[u8]), DecodeError> {
    match payload {
        [cmd, version, _, _, rest @ ..] => Ok((*cmd, *version, rest)),
        _ => Err(DecodeError::new("truncated genetlink header")),
    }
}

/// A `CTRL_CMD_GETFAMILY` request body for `name`.
pub fn ctrl_getfamily(name: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&[CTRL_CMD_GETFAMILY, 1, 0, 0]);
    emit_all(&[CtrlAttr::FamilyName(name.to_owned())], out);
}

/// The attributes of a controller reply.
pub fn parse_ctrl(payload: &[u8]) -> Result<Vec<CtrlAttr>, DecodeError> {
    let (_, _, rest) = genl_header(payload)?;
    parse_all(rest)
}

/// Append a complete netlink message: header (length filled in) + `body`.
pub fn emit_message(
    out: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    let start = out.len();
    NlHeader {
        len: 0,
        kind,
        flags,
        seq,
        pid: 0,
    }
    .emit(out);
    body(out);
    let len = u32::try_from(out.len() - start).unwrap_or(u32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    out.resize(align4(out.len()), 0);
}

/// One message of a received datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `NLMSG_ERROR` with error 0: the ack of a request.
    Ack,
    /// `NLMSG_ERROR` with a non-zero error: the positive errno.
    Error(i32),
    /// `NLMSG_DONE`: end of a dump (the kernel puts the dump's error, 0 for IPVS, in it).
    Done(i32),
    /// `NLMSG_NOOP` / `NLMSG_OVERRUN` / anything to skip.
    Skip,
    /// A data message of the family: its genetlink payload.
    Data(&'a [u8]),
}

/// Split a received datagram into `(header, reply)` pairs.
pub fn parse_datagram(mut buf: &[u8]) -> Result<Vec<(NlHeader, Reply<'_>)>, DecodeError> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let h = NlHeader::parse(buf)?;
        let len = usize::try_from(h.len).unwrap_or(usize::MAX);
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Err(DecodeError::new(format!(
                "netlink message length {len}, {} bytes left",
                buf.len()
            )));
        }
        let body = &buf[NLMSG_HDRLEN..len];
        let reply = match h.kind {
            NLMSG_ERROR | NLMSG_DONE => {
                let code = body
                    .get(..4)
                    .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .ok_or_else(|| DecodeError::new("truncated NLMSG_ERROR/NLMSG_DONE"))?;
                match (h.kind, code) {
                    (NLMSG_DONE, c) => Reply::Done(c.saturating_neg()),
                    (_, 0) => Reply::Ack,
                    (_, c) => Reply::Error(c.saturating_neg()),
                }
            }
            NLMSG_NOOP | NLMSG_OVERRUN => Reply::Skip,
            _ => Reply::Data(body),
        };
        out.push((h, reply));
        buf = buf.get(align4(len)..).unwrap_or(&[]);
    }
    Ok(out)
}
