//! Kernel constants this crate uses that neli does not name (or names with a
//! too narrow type), from the Linux UAPI headers.
//!
//! * `linux/if_addr.h`: `IFA_F_*` (the 32-bit `IFA_FLAGS` attribute; neli's
//!   `IfaF` is the 8-bit header field, which cannot hold `IFA_F_NOPREFIXROUTE`).
//! * `linux/if.h`: `IF_OPER_*` (RFC 2863 operational state, `IFLA_OPERSTATE`).
//! * `linux/if_link.h`: `IFLA_INFO_*` (nested in `IFLA_LINKINFO`),
//!   `IFLA_INET_CONF` (nested in `IFLA_AF_SPEC` / `AF_INET`).
//! * `linux/ip.h`: `IPV4_DEVCONF_*` (index = attribute type in `IFLA_INET_CONF`).
//! * `linux/rtnetlink.h`: `RTMGRP_*` (bind-time multicast group bits).
//! * `linux/netlink.h`: `NLA_TYPE_MASK`.

/// Address is a secondary one (another address of the same subnet on the
/// same device is the primary).
pub const IFA_F_SECONDARY: u32 = 0x01;
/// Skip duplicate address detection (IPv6).
pub const IFA_F_NODAD: u32 = 0x02;
/// Address is tentative: DAD not finished (IPv6).
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// Address is permanent (not from autoconfiguration).
pub const IFA_F_PERMANENT: u32 = 0x80;
/// Do not add the prefix route for this address.
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;

/// `IFLA_OPERSTATE` value: the interface is up and can pass packets.
pub const IF_OPER_UP: u8 = 6;

/// `IFLA_LINKINFO` nested attribute: the link kind ("veth", "bond", …).
pub const IFLA_INFO_KIND: u16 = 1;
/// `IFLA_AF_SPEC` / `AF_INET` nested attribute: the IPv4 devconf array.
pub const IFLA_INET_CONF: u16 = 1;
/// `IPV4_DEVCONF_PROMOTE_SECONDARIES` (`net.ipv4.conf.DEV.promote_secondaries`).
pub const IPV4_DEVCONF_PROMOTE_SECONDARIES: u16 = 20;

/// `AF_INET`, as the attribute type inside `IFLA_AF_SPEC`.
pub const AF_INET: u16 = 2;

/// Multicast group bit: link changes (`RTM_NEWLINK`/`RTM_DELLINK`).
pub const RTMGRP_LINK: u32 = 0x001;
/// Multicast group bit: IPv4 address changes.
pub const RTMGRP_IPV4_IFADDR: u32 = 0x010;
/// Multicast group bit: IPv6 address changes.
pub const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// Attribute type bits without `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER`.
pub const NLA_TYPE_MASK: u16 = 0x3fff;

/// Longest interface name or IPv4 label the kernel keeps (`IFNAMSIZ - 1`).
pub const IFNAMSIZ_MAX: usize = 15;
