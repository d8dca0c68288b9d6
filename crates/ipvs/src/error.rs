//! Errors of IPVS operations, with the kernel's errno kept.

use std::fmt;

use crate::model::Change;
use crate::uapi;
use crate::wire::DecodeError;

/// What an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    /// A virtual service.
    Service,
    /// A real server of a service.
    Destination,
    /// A sync daemon.
    Daemon,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Object::Service => "service",
            Object::Destination => "destination",
            Object::Daemon => "sync daemon",
        })
    }
}

/// An IPVS operation failed.
///
/// Variants that come from the kernel keep its errno ([`IpvsError::errno`]);
/// [`crate::MemoryIpvs`] produces the same variant with the same errno for the
/// same mistake.
#[derive(Debug)]
#[non_exhaustive]
pub enum IpvsError {
    /// The generic netlink family `IPVS` does not exist: the module is not
    /// loaded (or not built).
    IpvsUnavailable,
    /// `EPERM`: the caller lacks `CAP_NET_ADMIN`.
    PermissionDenied,
    /// `EEXIST`: the service, destination or daemon already exists.
    AlreadyExists(Object),
    /// `ESRCH` / `ENOENT`: the service, destination or daemon does not exist.
    NotFound {
        /// What was missing.
        object: Object,
        /// `ESRCH` (service, daemon) or `ENOENT` (destination).
        errno: i32,
    },
    /// `ENOENT` on adding/editing a service: no such scheduler module.
    UnknownScheduler(String),
    /// `ENOENT` on adding/editing a service that names a persistence engine:
    /// the kernel does not say whether the scheduler or the engine is missing.
    UnknownSchedulerOrEngine {
        /// Scheduler sent.
        scheduler: String,
        /// Persistence engine sent.
        pe_name: String,
    },
    /// `EINVAL`: the kernel rejected the request's contents (malformed or
    /// missing attribute, non-unicast address, bad prefix length, family
    /// mismatch, GUE without port, …).
    InvalidArgument,
    /// `ERANGE`: weight above `i32::MAX`, or lower threshold above upper.
    OutOfRange,
    /// `EAFNOSUPPORT`: address family not supported (IPv6 disabled).
    AddressFamilyNotSupported,
    /// `ENODEV`: the sync daemon's interface does not exist.
    NoSuchDevice(String),
    /// `EBUSY`: a dump is already running on this socket.
    Busy,
    /// Any other errno from the kernel.
    Kernel {
        /// The positive errno.
        errno: i32,
    },
    /// The socket itself failed (`socket`, `send`, `recv`).
    Io(std::io::Error),
    /// The kernel's reply could not be decoded.
    Decode(DecodeError),
}

impl IpvsError {
    /// The errno behind this error, when the kernel (or the in-memory table
    /// standing in for it) produced one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::IpvsUnavailable => Some(uapi::ENOENT),
            IpvsError::PermissionDenied => Some(uapi::EPERM),
            IpvsError::AlreadyExists(_) => Some(uapi::EEXIST),
            IpvsError::NotFound { errno, .. } => Some(*errno),
            IpvsError::UnknownScheduler(_) | IpvsError::UnknownSchedulerOrEngine { .. } => {
                Some(uapi::ENOENT)
            }
            IpvsError::InvalidArgument => Some(uapi::EINVAL),
            IpvsError::OutOfRange => Some(uapi::ERANGE),
            IpvsError::AddressFamilyNotSupported => Some(uapi::EAFNOSUPPORT),
            IpvsError::NoSuchDevice(_) => Some(uapi::ENODEV),
            IpvsError::Busy => Some(uapi::EBUSY),
            IpvsError::Kernel { errno } => Some(*errno),
            IpvsError::Io(e) => e.raw_os_error(),
            IpvsError::Decode(_) => None,
        }
    }

    /// The error the kernel means by `errno` in answer to `change`.
    ///
    /// The kernel reuses errnos across commands (`ENOENT` is "no such
    /// scheduler" on a service add but "no such destination" on a destination
    /// edit), so the command decides the variant.  [`crate::MemoryIpvs`]
    /// computes the kernel's errno and maps it here too, so both tables give
    /// the same variant for the same mistake.
    pub fn from_errno(change: &Change, errno: i32) -> Self {
        use Change as C;
        match (errno, change) {
            (uapi::EPERM, _) => IpvsError::PermissionDenied,
            (uapi::EEXIST, C::AddService(_)) => IpvsError::AlreadyExists(Object::Service),
            (uapi::EEXIST, C::AddDestination { .. }) => {
                IpvsError::AlreadyExists(Object::Destination)
            }
            (uapi::EEXIST, C::StartDaemon(_)) => IpvsError::AlreadyExists(Object::Daemon),
            (uapi::ESRCH, C::StartDaemon(_) | C::StopDaemon(_)) => IpvsError::NotFound {
                object: Object::Daemon,
                errno,
            },
            (uapi::ESRCH, _) => IpvsError::NotFound {
                object: Object::Service,
                errno,
            },
            (uapi::ENOENT, C::AddService(s) | C::EditService(s)) => match &s.pe_name {
                None => IpvsError::UnknownScheduler(s.scheduler.name().to_owned()),
                Some(pe) => IpvsError::UnknownSchedulerOrEngine {
                    scheduler: s.scheduler.name().to_owned(),
                    pe_name: pe.clone(),
                },
            },
            (uapi::ENOENT, C::EditDestination { .. } | C::DeleteDestination { .. }) => {
                IpvsError::NotFound {
                    object: Object::Destination,
                    errno,
                }
            }
            (uapi::ENODEV, C::StartDaemon(d)) => IpvsError::NoSuchDevice(d.mcast_ifn.clone()),
            (uapi::EINVAL, _) => IpvsError::InvalidArgument,
            (uapi::ERANGE, _) => IpvsError::OutOfRange,
            (uapi::EAFNOSUPPORT, _) => IpvsError::AddressFamilyNotSupported,
            (uapi::EBUSY, _) => IpvsError::Busy,
            (errno, _) => IpvsError::Kernel { errno },
        }
    }
}

impl fmt::Display for IpvsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpvsError::IpvsUnavailable => {
                f.write_str("IPVS is not available in this kernel (modprobe ip_vs)")
            }
            IpvsError::PermissionDenied => f.write_str("permission denied (CAP_NET_ADMIN needed)"),
            IpvsError::AlreadyExists(o) => write!(f, "{o} already exists"),
            IpvsError::NotFound { object, .. } => write!(f, "no such {object}"),
            IpvsError::UnknownScheduler(s) => {
                write!(f, "scheduler {s:?} not found (no module ip_vs_{s})")
            }
            IpvsError::UnknownSchedulerOrEngine { scheduler, pe_name } => {
                write!(
                    f,
                    "scheduler {scheduler:?} or persistence engine {pe_name:?} not found"
                )
            }
            IpvsError::InvalidArgument => f.write_str("invalid argument (rejected by IPVS)"),
            IpvsError::OutOfRange => f.write_str(
                "value out of range (weight above 2147483647 or lower threshold above upper)",
            ),
            IpvsError::AddressFamilyNotSupported => f.write_str("address family not supported"),
            IpvsError::NoSuchDevice(d) => write!(f, "no such interface {d:?}"),
            IpvsError::Busy => f.write_str("netlink socket busy with another dump"),
            IpvsError::Kernel { errno } => {
                write!(
                    f,
                    "IPVS error: {}",
                    std::io::Error::from_raw_os_error(*errno)
                )
            }
            IpvsError::Io(e) => write!(f, "netlink socket: {e}"),
            IpvsError::Decode(e) => write!(f, "bad IPVS reply: {e}"),
        }
    }
}

impl std::error::Error for IpvsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IpvsError::Io(e) => Some(e),
            IpvsError::Decode(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for IpvsError {
    fn from(e: std::io::Error) -> Self {
        IpvsError::Io(e)
    }
}

impl From<DecodeError> for IpvsError {
    fn from(e: DecodeError) -> Self {
        IpvsError::Decode(e)
    }
}
