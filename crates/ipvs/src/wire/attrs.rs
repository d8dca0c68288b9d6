//! Typed attributes of each IPVS nest (`enum ipvs_*_attr` in `linux/ip_vs.h`).
//!
//! Byte orders follow the kernel (ipvs-netlink §1.10): ports and the tunnel
//! port are big-endian, the IPv4 netmask and multicast group are raw
//! network-order bytes, everything else is host order.  Unknown attribute
//! types are kept as `Other` and emitted back unchanged.

use super::DecodeError;
use super::nla::{
    Attribute, RawNla, be16_of, cstring, emit, emit_all, emit_nested, fixed, parse_all, string_of,
    u8_of, u16_of, u32_of, u64_of,
};
use crate::uapi::*;

/// Top-level attributes of IPVS requests and replies (`IPVS_CMD_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdAttr {
    /// `IPVS_CMD_ATTR_SERVICE`.
    Service(Vec<SvcAttr>),
    /// `IPVS_CMD_ATTR_DEST`.
    Dest(Vec<DestAttr>),
    /// `IPVS_CMD_ATTR_DAEMON`.
    Daemon(Vec<DaemonAttr>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`, seconds.
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`, seconds.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`, seconds.
    TimeoutUdp(u32),
    /// Anything else.
    Other(RawNla),
}

impl Attribute for CmdAttr {
    fn parse(raw: RawNla) -> Result<Self, DecodeError> {
        Ok(match raw.id() {
            IPVS_CMD_ATTR_SERVICE => CmdAttr::Service(parse_all(&raw.payload)?),
            IPVS_CMD_ATTR_DEST => CmdAttr::Dest(parse_all(&raw.payload)?),
            IPVS_CMD_ATTR_DAEMON => CmdAttr::Daemon(parse_all(&raw.payload)?),
            IPVS_CMD_ATTR_TIMEOUT_TCP => CmdAttr::TimeoutTcp(u32_of(&raw, "TIMEOUT_TCP")?),
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => {
                CmdAttr::TimeoutTcpFin(u32_of(&raw, "TIMEOUT_TCP_FIN")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_UDP => CmdAttr::TimeoutUdp(u32_of(&raw, "TIMEOUT_UDP")?),
            _ => CmdAttr::Other(raw),
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match self {
            CmdAttr::Service(a) => emit_nested(out, IPVS_CMD_ATTR_SERVICE, |o| emit_all(a, o)),
            CmdAttr::Dest(a) => emit_nested(out, IPVS_CMD_ATTR_DEST, |o| emit_all(a, o)),
            CmdAttr::Daemon(a) => emit_nested(out, IPVS_CMD_ATTR_DAEMON, |o| emit_all(a, o)),
            CmdAttr::TimeoutTcp(v) => emit(out, IPVS_CMD_ATTR_TIMEOUT_TCP, &v.to_ne_bytes()),
            CmdAttr::TimeoutTcpFin(v) => emit(out, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, &v.to_ne_bytes()),
            CmdAttr::TimeoutUdp(v) => emit(out, IPVS_CMD_ATTR_TIMEOUT_UDP, &v.to_ne_bytes()),
            CmdAttr::Other(r) => emit(out, r.kind, &r.payload),
        }
    }
}

/// Service attributes (`IPVS_SVC_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SvcAttr {
    /// `AF`, host u16.
    Af(u16),
    /// `PROTOCOL`, host u16.
    Protocol(u16),
    /// `ADDR`: 4 or 16 bytes in, always 16 out (v4 zero-padded).
    Addr(Vec<u8>),
    /// `PORT`, big-endian on the wire; the value here is the port number.
    Port(u16),
    /// `FWMARK`, host u32.
    Fwmark(u32),
    /// `SCHED_NAME`, NUL-terminated.
    SchedName(String),
    /// `FLAGS`: `struct ip_vs_flags { u32 flags; u32 mask; }`, host order.
    Flags {
        /// Flag bits.
        flags: u32,
        /// Which bits to change.
        mask: u32,
    },
    /// `TIMEOUT`: persistence seconds.
    Timeout(u32),
    /// `NETMASK`: raw 4 bytes — a v4 mask in network order, or a v6 prefix
    /// length as a host-order u32.  Which one depends on the family.
    Netmask([u8; 4]),
    /// `STATS` (32-bit counters).
    Stats(Vec<StatsAttr>),
    /// `PE_NAME`, NUL-terminated.
    PeName(String),
    /// `STATS64`.
    Stats64(Vec<StatsAttr>),
    /// Anything else.
    Other(RawNla),
}

impl Attribute for SvcAttr {
    fn parse(raw: RawNla) -> Result<Self, DecodeError> {
        Ok(match raw.id() {
            IPVS_SVC_ATTR_AF => SvcAttr::Af(u16_of(&raw, "SVC AF")?),
            IPVS_SVC_ATTR_PROTOCOL => SvcAttr::Protocol(u16_of(&raw, "SVC PROTOCOL")?),
            IPVS_SVC_ATTR_ADDR => SvcAttr::Addr(addr_payload(&raw, "SVC ADDR")?),
            IPVS_SVC_ATTR_PORT => SvcAttr::Port(be16_of(&raw, "SVC PORT")?),
            IPVS_SVC_ATTR_FWMARK => SvcAttr::Fwmark(u32_of(&raw, "SVC FWMARK")?),
            IPVS_SVC_ATTR_SCHED_NAME => SvcAttr::SchedName(string_of(&raw, "SVC SCHED_NAME")?),
            IPVS_SVC_ATTR_FLAGS => {
                let b: [u8; 8] = fixed(&raw, "SVC FLAGS")?;
                SvcAttr::Flags {
                    flags: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
                    mask: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
                }
            }
            IPVS_SVC_ATTR_TIMEOUT => SvcAttr::Timeout(u32_of(&raw, "SVC TIMEOUT")?),
            IPVS_SVC_ATTR_NETMASK => SvcAttr::Netmask(fixed(&raw, "SVC NETMASK")?),
            IPVS_SVC_ATTR_STATS => SvcAttr::Stats(parse_all(&raw.payload)?),
            IPVS_SVC_ATTR_PE_NAME => SvcAttr::PeName(string_of(&raw, "SVC PE_NAME")?),
            IPVS_SVC_ATTR_STATS64 => SvcAttr::Stats64(parse_all(&raw.payload)?),
            _ => SvcAttr::Other(raw),
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match self {
            SvcAttr::Af(v) => emit(out, IPVS_SVC_ATTR_AF, &v.to_ne_bytes()),
            SvcAttr::Protocol(v) => emit(out, IPVS_SVC_ATTR_PROTOCOL, &v.to_ne_bytes()),
            SvcAttr::Addr(v) => emit(out, IPVS_SVC_ATTR_ADDR, v),
            SvcAttr::Port(v) => emit(out, IPVS_SVC_ATTR_PORT, &v.to_be_bytes()),
            SvcAttr::Fwmark(v) => emit(out, IPVS_SVC_ATTR_FWMARK, &v.to_ne_bytes()),
            SvcAttr::SchedName(s) => emit(out, IPVS_SVC_ATTR_SCHED_NAME, &cstring(s)),
            SvcAttr::Flags { flags, mask } => {
                let mut b = [0u8; 8];
                b[..4].copy_from_slice(&flags.to_ne_bytes());
                b[4..].copy_from_slice(&mask.to_ne_bytes());
                emit(out, IPVS_SVC_ATTR_FLAGS, &b)
            }
            SvcAttr::Timeout(v) => emit(out, IPVS_SVC_ATTR_TIMEOUT, &v.to_ne_bytes()),
            SvcAttr::Netmask(b) => emit(out, IPVS_SVC_ATTR_NETMASK, b),
            SvcAttr::Stats(a) => emit_nested(out, IPVS_SVC_ATTR_STATS, |o| emit_all(a, o)),
            SvcAttr::PeName(s) => emit(out, IPVS_SVC_ATTR_PE_NAME, &cstring(s)),
            SvcAttr::Stats64(a) => emit_nested(out, IPVS_SVC_ATTR_STATS64, |o| emit_all(a, o)),
            SvcAttr::Other(r) => emit(out, r.kind, &r.payload),
        }
    }
}

fn addr_payload(raw: &RawNla, what: &str) -> Result<Vec<u8>, DecodeError> {
    match raw.payload.len() {
        4 | 16 => Ok(raw.payload.clone()),
        n => Err(DecodeError::new(format!(
            "{what}: expected 4 or 16 bytes, got {n}"
        ))),
    }
}

/// Destination attributes (`IPVS_DEST_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestAttr {
    /// `ADDR`: 4 or 16 bytes in, 16 out.
    Addr(Vec<u8>),
    /// `PORT`, big-endian on the wire.
    Port(u16),
    /// `FWD_METHOD`: `IP_VS_CONN_F_*` (only the `FWD_MASK` bits count).
    FwdMethod(u32),
    /// `WEIGHT`.
    Weight(u32),
    /// `U_THRESH`.
    UThresh(u32),
    /// `L_THRESH`.
    LThresh(u32),
    /// `ACTIVE_CONNS` (reply only).
    ActiveConns(u32),
    /// `INACT_CONNS` (reply only).
    InactConns(u32),
    /// `PERSIST_CONNS` (reply only).
    PersistConns(u32),
    /// `STATS` (reply only).
    Stats(Vec<StatsAttr>),
    /// `ADDR_FAMILY`, host u16.
    AddrFamily(u16),
    /// `STATS64` (reply only).
    Stats64(Vec<StatsAttr>),
    /// `TUN_TYPE`, u8.
    TunType(u8),
    /// `TUN_PORT`, big-endian on the wire.
    TunPort(u16),
    /// `TUN_FLAGS`, host u16.
    TunFlags(u16),
    /// Anything else.
    Other(RawNla),
}

impl Attribute for DestAttr {
    fn parse(raw: RawNla) -> Result<Self, DecodeError> {
        Ok(match raw.id() {
            IPVS_DEST_ATTR_ADDR => DestAttr::Addr(addr_payload(&raw, "DEST ADDR")?),
            IPVS_DEST_ATTR_PORT => DestAttr::Port(be16_of(&raw, "DEST PORT")?),
            IPVS_DEST_ATTR_FWD_METHOD => DestAttr::FwdMethod(u32_of(&raw, "DEST FWD_METHOD")?),
            IPVS_DEST_ATTR_WEIGHT => DestAttr::Weight(u32_of(&raw, "DEST WEIGHT")?),
            IPVS_DEST_ATTR_U_THRESH => DestAttr::UThresh(u32_of(&raw, "DEST U_THRESH")?),
            IPVS_DEST_ATTR_L_THRESH => DestAttr::LThresh(u32_of(&raw, "DEST L_THRESH")?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => {
                DestAttr::ActiveConns(u32_of(&raw, "DEST ACTIVE_CONNS")?)
            }
            IPVS_DEST_ATTR_INACT_CONNS => DestAttr::InactConns(u32_of(&raw, "DEST INACT_CONNS")?),
            IPVS_DEST_ATTR_PERSIST_CONNS => {
                DestAttr::PersistConns(u32_of(&raw, "DEST PERSIST_CONNS")?)
            }
            IPVS_DEST_ATTR_STATS => DestAttr::Stats(parse_all(&raw.payload)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => DestAttr::AddrFamily(u16_of(&raw, "DEST ADDR_FAMILY")?),
            IPVS_DEST_ATTR_STATS64 => DestAttr::Stats64(parse_all(&raw.payload)?),
            IPVS_DEST_ATTR_TUN_TYPE => DestAttr::TunType(u8_of(&raw, "DEST TUN_TYPE")?),
            IPVS_DEST_ATTR_TUN_PORT => DestAttr::TunPort(be16_of(&raw, "DEST TUN_PORT")?),
            IPVS_DEST_ATTR_TUN_FLAGS => DestAttr::TunFlags(u16_of(&raw, "DEST TUN_FLAGS")?),
            _ => DestAttr::Other(raw),
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match self {
            DestAttr::Addr(v) => emit(out, IPVS_DEST_ATTR_ADDR, v),
            DestAttr::Port(v) => emit(out, IPVS_DEST_ATTR_PORT, &v.to_be_bytes()),
            DestAttr::FwdMethod(v) => emit(out, IPVS_DEST_ATTR_FWD_METHOD, &v.to_ne_bytes()),
            DestAttr::Weight(v) => emit(out, IPVS_DEST_ATTR_WEIGHT, &v.to_ne_bytes()),
            DestAttr::UThresh(v) => emit(out, IPVS_DEST_ATTR_U_THRESH, &v.to_ne_bytes()),
            DestAttr::LThresh(v) => emit(out, IPVS_DEST_ATTR_L_THRESH, &v.to_ne_bytes()),
            DestAttr::ActiveConns(v) => emit(out, IPVS_DEST_ATTR_ACTIVE_CONNS, &v.to_ne_bytes()),
            DestAttr::InactConns(v) => emit(out, IPVS_DEST_ATTR_INACT_CONNS, &v.to_ne_bytes()),
            DestAttr::PersistConns(v) => emit(out, IPVS_DEST_ATTR_PERSIST_CONNS, &v.to_ne_bytes()),
            DestAttr::Stats(a) => emit_nested(out, IPVS_DEST_ATTR_STATS, |o| emit_all(a, o)),
            DestAttr::AddrFamily(v) => emit(out, IPVS_DEST_ATTR_ADDR_FAMILY, &v.to_ne_bytes()),
            DestAttr::Stats64(a) => emit_nested(out, IPVS_DEST_ATTR_STATS64, |o| emit_all(a, o)),
            DestAttr::TunType(v) => emit(out, IPVS_DEST_ATTR_TUN_TYPE, &[*v]),
            DestAttr::TunPort(v) => emit(out, IPVS_DEST_ATTR_TUN_PORT, &v.to_be_bytes()),
            DestAttr::TunFlags(v) => emit(out, IPVS_DEST_ATTR_TUN_FLAGS, &v.to_ne_bytes()),
            DestAttr::Other(r) => emit(out, r.kind, &r.payload),
        }
    }
}

/// Sync daemon attributes (`IPVS_DAEMON_ATTR_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonAttr {
    /// `STATE`: `IP_VS_STATE_MASTER`/`_BACKUP`.
    State(u32),
    /// `MCAST_IFN`, NUL-terminated.
    McastIfn(String),
    /// `SYNC_ID`.
    SyncId(u32),
    /// `SYNC_MAXLEN`, host u16.
    SyncMaxlen(u16),
    /// `MCAST_GROUP`: IPv4 address bytes (network order).
    McastGroup([u8; 4]),
    /// `MCAST_GROUP6`: IPv6 address bytes.
    McastGroup6([u8; 16]),
    /// `MCAST_PORT`, host u16 (sic: the kernel uses `nla_get_u16`).
    McastPort(u16),
    /// `MCAST_TTL`, u8.
    McastTtl(u8),
    /// Anything else.
    Other(RawNla),
}

impl Attribute for DaemonAttr {
    fn parse(raw: RawNla) -> Result<Self, DecodeError> {
        Ok(match raw.id() {
            IPVS_DAEMON_ATTR_STATE => DaemonAttr::State(u32_of(&raw, "DAEMON STATE")?),
            IPVS_DAEMON_ATTR_MCAST_IFN => {
                DaemonAttr::McastIfn(string_of(&raw, "DAEMON MCAST_IFN")?)
            }
            IPVS_DAEMON_ATTR_SYNC_ID => DaemonAttr::SyncId(u32_of(&raw, "DAEMON SYNC_ID")?),
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => {
                DaemonAttr::SyncMaxlen(u16_of(&raw, "DAEMON SYNC_MAXLEN")?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP => {
                DaemonAttr::McastGroup(fixed(&raw, "DAEMON MCAST_GROUP")?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => {
                DaemonAttr::McastGroup6(fixed(&raw, "DAEMON MCAST_GROUP6")?)
            }
            IPVS_DAEMON_ATTR_MCAST_PORT => {
                DaemonAttr::McastPort(u16_of(&raw, "DAEMON MCAST_PORT")?)
            }
            IPVS_DAEMON_ATTR_MCAST_TTL => DaemonAttr::McastTtl(u8_of(&raw, "DAEMON MCAST_TTL")?),
            _ => DaemonAttr::Other(raw),
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match self {
            DaemonAttr::State(v) => emit(out, IPVS_DAEMON_ATTR_STATE, &v.to_ne_bytes()),
            DaemonAttr::McastIfn(s) => emit(out, IPVS_DAEMON_ATTR_MCAST_IFN, &cstring(s)),
            DaemonAttr::SyncId(v) => emit(out, IPVS_DAEMON_ATTR_SYNC_ID, &v.to_ne_bytes()),
            DaemonAttr::SyncMaxlen(v) => emit(out, IPVS_DAEMON_ATTR_SYNC_MAXLEN, &v.to_ne_bytes()),
            DaemonAttr::McastGroup(b) => emit(out, IPVS_DAEMON_ATTR_MCAST_GROUP, b),
            DaemonAttr::McastGroup6(b) => emit(out, IPVS_DAEMON_ATTR_MCAST_GROUP6, b),
            DaemonAttr::McastPort(v) => emit(out, IPVS_DAEMON_ATTR_MCAST_PORT, &v.to_ne_bytes()),
            DaemonAttr::McastTtl(v) => emit(out, IPVS_DAEMON_ATTR_MCAST_TTL, &[*v]),
            DaemonAttr::Other(r) => emit(out, r.kind, &r.payload),
        }
    }
}

/// A counter's value with its wire width: `STATS` carries most counters as
/// u32 (bytes as u64), `STATS64` carries all as u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// 4 bytes on the wire.
    U32(u32),
    /// 8 bytes on the wire.
    U64(u64),
}

impl Counter {
    /// The value, widened.
    pub fn get(self) -> u64 {
        match self {
            Counter::U32(v) => u64::from(v),
            Counter::U64(v) => v,
        }
    }
}

/// Statistics attributes (`IPVS_STATS_ATTR_*`), inside `STATS`/`STATS64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsAttr {
    /// One of the counters `CONNS`..=`OUTBPS` (attribute type, value).
    Counter(u16, Counter),
    /// `PAD`: alignment filler from `nla_put_u64_64bit`; ignored.
    Pad(Vec<u8>),
    /// Anything else.
    Other(RawNla),
}

impl Attribute for StatsAttr {
    fn parse(raw: RawNla) -> Result<Self, DecodeError> {
        let id = raw.id();
        Ok(match id {
            IPVS_STATS_ATTR_CONNS..=IPVS_STATS_ATTR_OUTBPS => match raw.payload.len() {
                4 => StatsAttr::Counter(id, Counter::U32(u32_of(&raw, "STATS")?)),
                8 => StatsAttr::Counter(id, Counter::U64(u64_of(&raw, "STATS")?)),
                n => return Err(DecodeError::new(format!("stats attribute {id}: {n} bytes"))),
            },
            IPVS_STATS_ATTR_PAD => StatsAttr::Pad(raw.payload),
            _ => StatsAttr::Other(raw),
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match self {
            StatsAttr::Counter(id, Counter::U32(v)) => emit(out, *id, &v.to_ne_bytes()),
            StatsAttr::Counter(id, Counter::U64(v)) => emit(out, *id, &v.to_ne_bytes()),
            StatsAttr::Pad(p) => emit(out, IPVS_STATS_ATTR_PAD, p),
            StatsAttr::Other(r) => emit(out, r.kind, &r.payload),
        }
    }
}

/// Attributes of the `GET_INFO` reply (`IPVS_INFO_ATTR_*`, top level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfoAttr {
    /// `VERSION`: `IP_VS_VERSION_CODE`.
    Version(u32),
    /// `CONN_TAB_SIZE`.
    ConnTabSize(u32),
    /// Anything else.
    Other(RawNla),
}

impl Attribute for InfoAttr {
    fn parse(raw: RawNla) -> Result<Self, DecodeError> {
        Ok(match raw.id() {
            IPVS_INFO_ATTR_VERSION => InfoAttr::Version(u32_of(&raw, "INFO VERSION")?),
            IPVS_INFO_ATTR_CONN_TAB_SIZE => {
                InfoAttr::ConnTabSize(u32_of(&raw, "INFO CONN_TAB_SIZE")?)
            }
            _ => InfoAttr::Other(raw),
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match self {
            InfoAttr::Version(v) => emit(out, IPVS_INFO_ATTR_VERSION, &v.to_ne_bytes()),
            InfoAttr::ConnTabSize(v) => emit(out, IPVS_INFO_ATTR_CONN_TAB_SIZE, &v.to_ne_bytes()),
            InfoAttr::Other(r) => emit(out, r.kind, &r.payload),
        }
    }
}

/// Attributes of the generic netlink controller (`CTRL_ATTR_*`,
/// `linux/genetlink.h`), as far as family resolution needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtrlAttr {
    /// `CTRL_ATTR_FAMILY_ID`.
    FamilyId(u16),
    /// `CTRL_ATTR_FAMILY_NAME`.
    FamilyName(String),
    /// `CTRL_ATTR_VERSION`.
    Version(u32),
    /// Ops, groups, … not needed here.
    Other(RawNla),
}

impl Attribute for CtrlAttr {
    fn parse(raw: RawNla) -> Result<Self, DecodeError> {
        Ok(match raw.id() {
            CTRL_ATTR_FAMILY_ID => CtrlAttr::FamilyId(u16_of(&raw, "CTRL FAMILY_ID")?),
            CTRL_ATTR_FAMILY_NAME => CtrlAttr::FamilyName(string_of(&raw, "CTRL FAMILY_NAME")?),
            CTRL_ATTR_VERSION => CtrlAttr::Version(u32_of(&raw, "CTRL VERSION")?),
            _ => CtrlAttr::Other(raw),
        })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        match self {
            CtrlAttr::FamilyId(v) => emit(out, CTRL_ATTR_FAMILY_ID, &v.to_ne_bytes()),
            CtrlAttr::FamilyName(s) => emit(out, CTRL_ATTR_FAMILY_NAME, &cstring(s)),
            CtrlAttr::Version(v) => emit(out, CTRL_ATTR_VERSION, &v.to_ne_bytes()),
            CtrlAttr::Other(r) => emit(out, r.kind, &r.payload),
        }
    }
}
