//! The real server's IPVS entry as nanny sees it: which entry, what to do to
//! it, and how the original wrote that as an `ipvsadm` command line.
//!
//! Under our lvsd, nanny does not touch IPVS (lvsd is the single writer); the
//! operations become `want` lines of the report protocol ([`crate::report`]).
//! On its own it applies them through [`IpvsControl`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Transport protocol of a virtual service (`-u` selects UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// The virtual service a real server belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Virtual {
    /// `-t|-u VIP:PORT`; the VIP may be unknown when lvsd did not pass `-V`
    /// (then only report mode can work).
    Addr {
        protocol: Protocol,
        vip: Option<IpAddr>,
        port: u16,
    },
    /// `-f MARK`.
    Fwmark(u32),
}

/// Forwarding method (`-M`): `-m` masquerading (NAT), `-g` direct routing,
/// `-i` tunnelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Masquerade,
    Gatewaying,
    Tunnel,
}

impl Method {
    /// The original's rule: an optional leading `-`, then `i` or `g`;
    /// anything else (including the man page's `t`) means NAT.
    pub fn from_arg(arg: &str) -> Method {
        match arg.strip_prefix('-').unwrap_or(arg).as_bytes().first() {
            Some(b'i') => Method::Tunnel,
            Some(b'g') => Method::Gatewaying,
            _ => Method::Masquerade,
        }
    }

    pub fn ipvsadm_flag(self) -> &'static str {
        match self {
            Method::Masquerade => "-m",
            Method::Gatewaying => "-g",
            Method::Tunnel => "-i",
        }
    }
}

/// One real server of one virtual service: the IPVS entry nanny manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealServer {
    pub virt: Virtual,
    /// RIP:RPORT.
    pub addr: SocketAddr,
    pub method: Method,
}

/// A change to the real server's IPVS entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpvsOp {
    /// `ipvsadm -a`: create with this weight.
    Add { weight: u32 },
    /// `ipvsadm -e`: change the weight of the existing entry.
    Edit { weight: u32 },
    /// `ipvsadm -d`.
    Delete,
}

impl IpvsOp {
    /// The weight the entry has after the operation; `None` = no entry.
    pub fn wanted_weight(self) -> Option<u32> {
        match self {
            IpvsOp::Add { weight } | IpvsOp::Edit { weight } => Some(weight),
            IpvsOp::Delete => None,
        }
    }
}

/// The `ipvsadm` arguments (after the program) the original used for `op`
/// (piranha.md §6.5).
pub fn ipvsadm_args(server: &RealServer, op: IpvsOp) -> Vec<String> {
    let verb = match op {
        IpvsOp::Add { .. } => "-a",
        IpvsOp::Edit { .. } => "-e",
        IpvsOp::Delete => "-d",
    };
    let mut args = vec![verb.to_string()];
    match server.virt {
        Virtual::Fwmark(mark) => {
            args.push("-f".into());
            args.push(mark.to_string());
        }
        Virtual::Addr {
            protocol,
            vip,
            port,
        } => {
            args.push(match protocol {
                Protocol::Tcp => "-t".into(),
                Protocol::Udp => "-u".into(),
            });
            args.push(match vip {
                Some(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
                Some(IpAddr::V4(v4)) => format!("{v4}:{port}"),
                // What the original printed for a missing -V.
                None => format!("(null):{port}"),
            });
        }
    }
    args.push("-r".into());
    args.push(server.addr.to_string());
    if let Some(weight) = op.wanted_weight() {
        args.push(server.method.ipvsadm_flag().into());
        args.push("-w".into());
        args.push(weight.to_string());
    }
    args
}

/// Displays an operation as the `ipvsadm` command line the original ran.
pub struct IpvsadmLine<'a> {
    pub ipvsadm: &'a str,
    pub server: &'a RealServer,
    pub op: IpvsOp,
}

impl fmt::Display for IpvsadmLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ipvsadm)?;
        for arg in ipvsadm_args(self.server, self.op) {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

/// Why an IPVS change failed.
#[derive(Debug)]
pub struct IpvsError {
    pub message: String,
}

impl fmt::Display for IpvsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IpvsError {}

/// Something that can change the real server's IPVS entry.
///
/// Implemented by [`Netlink`] (the kernel) and [`Table`] (any
/// [`ipvs::IpvsTable`], e.g. the in-memory one).
pub trait IpvsControl {
    fn apply(&mut self, server: &RealServer, op: IpvsOp) -> Result<(), IpvsError>;
}

/// Opens a netlink connection for each operation and applies it through
/// [`Table`]. Operations are rare (state changes, ramp-up steps), so a
/// nanny holds no netlink socket while it only checks.
#[derive(Debug, Default)]
pub struct Netlink;

impl IpvsControl for Netlink {
    fn apply(&mut self, server: &RealServer, op: IpvsOp) -> Result<(), IpvsError> {
        let table = ipvs::NetlinkIpvs::new().map_err(|e| IpvsError {
            message: format!("cannot reach IPVS over netlink: {e}"),
        })?;
        Table { table }.apply(server, op)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(virt: Virtual) -> RealServer {
        RealServer {
            virt,
            addr: "192.0.2.11:8080".parse().unwrap(),
            method: Method::Masquerade,
        }
    }

    #[test]
    fn ipvsadm_lines_as_the_original() {
        let tcp = rs(Virtual::Addr {
            protocol: Protocol::Tcp,
            vip: Some("203.0.113.10".parse().unwrap()),
            port: 80,
        });
        let line = |server: &RealServer, op| {
            IpvsadmLine {
                ipvsadm: "/sbin/ipvsadm",
                server,
                op,
            }
            .to_string()
        };
        assert_eq!(
            line(&tcp, IpvsOp::Add { weight: 3 }),
            "/sbin/ipvsadm -a -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 3"
        );
        assert_eq!(
            line(&tcp, IpvsOp::Edit { weight: 0 }),
            "/sbin/ipvsadm -e -t 203.0.113.10:80 -r 192.0.2.11:8080 -m -w 0"
        );
        assert_eq!(
            line(&tcp, IpvsOp::Delete),
            "/sbin/ipvsadm -d -t 203.0.113.10:80 -r 192.0.2.11:8080"
        );
        let mut fw = rs(Virtual::Fwmark(7));
        fw.method = Method::Gatewaying;
        assert_eq!(
            line(&fw, IpvsOp::Add { weight: 1 }),
            "/sbin/ipvsadm -a -f 7 -r 192.0.2.11:8080 -g -w 1"
        );
        let udp = rs(Virtual::Addr {
            protocol: Protocol::Udp,
            vip: None,
            port: 53,
        });
        assert_eq!(
            line(&udp, IpvsOp::Delete),
            "/sbin/ipvsadm -d -u (null):53 -r 192.0.2.11:8080"
        );
    }

    #[test]
    fn method_letters() {
        assert_eq!(Method::from_arg("m"), Method::Masquerade);
        assert_eq!(Method::from_arg("-g"), Method::Gatewaying);
        assert_eq!(Method::from_arg("i"), Method::Tunnel);
        assert_eq!(Method::from_arg("gate"), Method::Gatewaying);
        // The man page's "t" for tunnel means NAT in the code.
        assert_eq!(Method::from_arg("t"), Method::Masquerade);
        assert_eq!(Method::from_arg(""), Method::Masquerade);
    }
}

/// Applies operations through the `ipvs` crate's table (netlink to the
/// kernel, or the in-memory table in tests and dry runs), as a single
/// destination add / edit / delete each.
pub struct Table<T: ipvs::IpvsTable> {
    pub table: T,
}

/// The `ipvs` crate's service key for a real server's virtual service.
pub fn service_key(server: &RealServer) -> Result<ipvs::ServiceKey, IpvsError> {
    match server.virt {
        Virtual::Fwmark(mark) => Ok(ipvs::ServiceKey::fwmark(
            ipvs::AddressFamily::of(server.addr.ip()),
            mark,
        )),
        Virtual::Addr {
            protocol,
            vip: Some(vip),
            port,
        } => Ok(match protocol {
            Protocol::Tcp => ipvs::ServiceKey::tcp(vip, port),
            Protocol::Udp => ipvs::ServiceKey::udp(vip, port),
        }),
        Virtual::Addr { vip: None, .. } => Err(IpvsError {
            message: "no virtual address (-V) to program IPVS with".into(),
        }),
    }
}

impl<T: ipvs::IpvsTable> IpvsControl for Table<T> {
    fn apply(&mut self, server: &RealServer, op: IpvsOp) -> Result<(), IpvsError> {
        let service = service_key(server)?;
        let (addr, port) = (server.addr.ip(), server.addr.port());
        let forwarding = match server.method {
            Method::Masquerade => ipvs::Forwarding::Masq,
            Method::Gatewaying => ipvs::Forwarding::DirectRoute,
            Method::Tunnel => ipvs::Forwarding::Tunnel(ipvs::Tunnel {
                tun_type: ipvs::TunnelType::Ipip,
                port: 0,
                flags: ipvs::TunnelFlags::default(),
            }),
        };
        let destination = |weight| ipvs::Destination {
            addr,
            port,
            forwarding,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
        };
        let result = match op {
            IpvsOp::Add { weight } => self.table.add_destination(&service, &destination(weight)),
            IpvsOp::Edit { weight } => self.table.edit_destination(&service, &destination(weight)),
            IpvsOp::Delete => self
                .table
                .delete_destination(&service, &ipvs::DestinationKey { addr, port }),
        };
        result.map_err(|e| IpvsError {
            message: format!("IPVS {op:?} for {} failed: {e}", server.addr),
        })
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    /// Records the changes it is asked to apply.
    #[derive(Default)]
    struct Recorder {
        changes: Vec<ipvs::Change>,
    }

    impl ipvs::IpvsTable for Recorder {
        fn info(&mut self) -> Result<ipvs::Info, ipvs::IpvsError> {
            Err(ipvs::IpvsError::IpvsUnavailable)
        }
        fn list(&mut self) -> Result<Vec<ipvs::ServiceEntry>, ipvs::IpvsError> {
            Err(ipvs::IpvsError::IpvsUnavailable)
        }
        fn timeouts(&mut self) -> Result<ipvs::Timeouts, ipvs::IpvsError> {
            Err(ipvs::IpvsError::IpvsUnavailable)
        }
        fn daemons(&mut self) -> Result<Vec<ipvs::SyncDaemon>, ipvs::IpvsError> {
            Err(ipvs::IpvsError::IpvsUnavailable)
        }
        fn apply(&mut self, batch: &[ipvs::Change]) -> Vec<Result<(), ipvs::IpvsError>> {
            self.changes.extend_from_slice(batch);
            batch.iter().map(|_| Ok(())).collect()
        }
    }

    #[test]
    fn operations_become_destination_changes() {
        let server = RealServer {
            virt: Virtual::Addr {
                protocol: Protocol::Tcp,
                vip: Some("203.0.113.10".parse().unwrap()),
                port: 80,
            },
            addr: "192.0.2.11:8080".parse().unwrap(),
            method: Method::Gatewaying,
        };
        let mut t = Table {
            table: Recorder::default(),
        };
        t.apply(&server, IpvsOp::Add { weight: 3 }).unwrap();
        t.apply(&server, IpvsOp::Edit { weight: 0 }).unwrap();
        t.apply(&server, IpvsOp::Delete).unwrap();
        let key = ipvs::ServiceKey::tcp("203.0.113.10".parse().unwrap(), 80);
        let dest = |weight| ipvs::Destination {
            addr: "192.0.2.11".parse().unwrap(),
            port: 8080,
            forwarding: ipvs::Forwarding::DirectRoute,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
        };
        assert_eq!(
            t.table.changes,
            vec![
                ipvs::Change::AddDestination {
                    service: key,
                    destination: dest(3)
                },
                ipvs::Change::EditDestination {
                    service: key,
                    destination: dest(0)
                },
                ipvs::Change::DeleteDestination {
                    service: key,
                    destination: ipvs::DestinationKey {
                        addr: "192.0.2.11".parse().unwrap(),
                        port: 8080
                    }
                },
            ]
        );
        let no_vip = RealServer {
            virt: Virtual::Addr {
                protocol: Protocol::Udp,
                vip: None,
                port: 53,
            },
            ..server
        };
        assert!(t.apply(&no_vip, IpvsOp::Delete).is_err());
    }
}
