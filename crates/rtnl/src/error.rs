//! Errors of link and address operations, with the kernel's errno kept.

use std::fmt;
use std::net::IpAddr;

use nix::errno::Errno;

/// A route netlink operation failed.
///
/// Variants that come from the kernel keep its errno ([`RtnlError::errno`]);
/// [`crate::MemoryRoute`] produces the same variant for the same mistake.
#[derive(Debug)]
#[non_exhaustive]
pub enum RtnlError {
    /// `EEXIST`: the interface already has that address with that prefix.
    AlreadyExists,
    /// `EADDRNOTAVAIL`: the interface has no such address (with that
    /// prefix, and that label when one was given).
    NotFound,
    /// `ENODEV`: no interface with that index.
    NoDevice {
        /// The index asked for.
        index: u32,
    },
    /// `EPERM`: the caller lacks `CAP_NET_ADMIN`.
    Permission,
    /// `EINVAL` / `ERANGE`: the kernel rejected the request's contents.
    InvalidArgument {
        /// The positive errno.
        errno: i32,
    },
    /// A prefix length beyond the family's width (checked before sending).
    InvalidPrefix {
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// An IPv4 label this crate refuses (see [`crate::check_label`]).
    InvalidLabel {
        /// The label asked for.
        label: String,
        /// The name of the interface it was meant for.
        device: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Any other errno from the kernel.
    Kernel {
        /// The positive errno.
        errno: i32,
    },
    /// No answer from the kernel within the socket's receive timeout.
    Timeout,
    /// The socket itself failed (`socket`, `bind`, `send`, `recv`).
    Io(std::io::Error),
    /// A kernel message could not be decoded.
    Decode(String),
    /// A request could not be built (a bug, not an input error).
    Encode(String),
}

impl RtnlError {
    /// The error the kernel means by `errno` (positive) in answer to a link
    /// or address request on interface `index`.
    pub fn from_errno(errno: i32, index: u32) -> RtnlError {
        match Errno::from_raw(errno) {
            Errno::EEXIST => RtnlError::AlreadyExists,
            Errno::EADDRNOTAVAIL => RtnlError::NotFound,
            Errno::ENODEV => RtnlError::NoDevice { index },
            Errno::EPERM => RtnlError::Permission,
            Errno::EINVAL | Errno::ERANGE => RtnlError::InvalidArgument { errno },
            _ => RtnlError::Kernel { errno },
        }
    }

    /// The errno behind this error, when the kernel (or the in-memory
    /// implementation standing in for it) produced one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            RtnlError::AlreadyExists => Some(Errno::EEXIST as i32),
            RtnlError::NotFound => Some(Errno::EADDRNOTAVAIL as i32),
            RtnlError::NoDevice { .. } => Some(Errno::ENODEV as i32),
            RtnlError::Permission => Some(Errno::EPERM as i32),
            RtnlError::InvalidArgument { errno } | RtnlError::Kernel { errno } => Some(*errno),
            RtnlError::InvalidPrefix { .. } | RtnlError::InvalidLabel { .. } => None,
            RtnlError::Timeout => Some(Errno::EAGAIN as i32),
            RtnlError::Io(e) => e.raw_os_error(),
            RtnlError::Decode(_) | RtnlError::Encode(_) => None,
        }
    }
}

impl fmt::Display for RtnlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtnlError::AlreadyExists => f.write_str("address already assigned to the interface"),
            RtnlError::NotFound => f.write_str("no such address on the interface"),
            RtnlError::NoDevice { index } => write!(f, "no interface with index {index}"),
            RtnlError::Permission => f.write_str("permission denied (CAP_NET_ADMIN needed)"),
            RtnlError::InvalidArgument { errno } => write!(
                f,
                "invalid argument (rejected by the kernel: {})",
                std::io::Error::from_raw_os_error(*errno)
            ),
            RtnlError::InvalidPrefix { addr, prefix_len } => {
                write!(f, "prefix length {prefix_len} too long for {addr}")
            }
            RtnlError::InvalidLabel {
                label,
                device,
                reason,
            } => write!(f, "label {label:?} for device {device:?}: {reason}"),
            RtnlError::Kernel { errno } => write!(
                f,
                "route netlink error: {}",
                std::io::Error::from_raw_os_error(*errno)
            ),
            RtnlError::Timeout => f.write_str("no answer from the kernel (route netlink timeout)"),
            RtnlError::Io(e) => write!(f, "route netlink socket: {e}"),
            RtnlError::Decode(e) => write!(f, "bad route netlink message: {e}"),
            RtnlError::Encode(e) => write!(f, "cannot build route netlink request: {e}"),
        }
    }
}

impl std::error::Error for RtnlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RtnlError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for RtnlError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => RtnlError::Timeout,
            _ => RtnlError::Io(e),
        }
    }
}
