//! Name lookups the parser needs: host names and service (port) names.
//!
//! The original resolved host names with `gethostbyname` and ports with
//! `getservbyname` while parsing, so a config's meaning depends on the
//! machine. Lookups go through [`Resolver`] so that tests, fuzzing and
//! `--check` on another machine can parse without touching the system.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};

/// Looks up names while parsing.
pub trait Resolver {
    /// Address of a host name (never called with an IP literal).
    fn host(&self, name: &str) -> Option<IpAddr>;
    /// Port of a service name in the system database (`/etc/services`).
    /// The built-in table of [`builtin_service`] is consulted afterwards.
    fn service(&self, name: &str) -> Option<u16>;

    /// Whether `path` (absolute) is an executable file on this machine, for
    /// `client_monitor`; `None` (the default) when the resolver does not
    /// look.
    fn program(&self, path: &str) -> Option<bool> {
        let _ = path;
        None
    }
}

/// Uses the system resolver (`/etc/hosts`, DNS…) and `/etc/services`.
#[derive(Debug, Default)]
pub struct SystemResolver {
    // Read at most once per resolver, on the first service name.
    services: OnceCell<HashMap<String, u16>>,
}

impl SystemResolver {
    /// A resolver that reads the system databases on first use.
    pub fn new() -> Self {
        SystemResolver::default()
    }
}

impl Resolver for SystemResolver {
    fn host(&self, name: &str) -> Option<IpAddr> {
        let addrs: Vec<IpAddr> = (name, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
        // gethostbyname gave IPv4 only; prefer it when both exist.
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or_else(|| addrs.first())
            .copied()
    }

    fn program(&self, path: &str) -> Option<bool> {
        use std::os::unix::fs::PermissionsExt;
        // Through symbolic links, as exec follows them.
        Some(
            std::fs::metadata(path)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0),
        )
    }

    fn service(&self, name: &str) -> Option<u16> {
        self.services
            .get_or_init(|| {
                std::fs::read_to_string("/etc/services")
                    .map(|s| parse_services(&s))
                    .unwrap_or_default()
            })
            .get(name)
            .copied()
    }
}

/// Resolves nothing: host names fail, service names come only from the
/// built-in table. Parsing with it does no I/O.
#[derive(Debug, Default, Clone, Copy)]
pub struct OfflineResolver;

impl Resolver for OfflineResolver {
    fn host(&self, _name: &str) -> Option<IpAddr> {
        None
    }

    fn service(&self, _name: &str) -> Option<u16> {
        None
    }
}

/// Reads `/etc/services` text into name → port, TCP entries winning over
/// others (the original looked names up for "tcp").
pub fn parse_services(text: &str) -> HashMap<String, u16> {
    let mut tcp = HashMap::new();
    let mut other = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, proto)) = port_proto.split_once('/') else {
            continue;
        };
        let Ok(port) = port.parse::<u16>() else {
            continue;
        };
        let map = if proto == "tcp" { &mut tcp } else { &mut other };
        for n in std::iter::once(name).chain(words) {
            map.entry(n.to_owned()).or_insert(port);
        }
    }
    for (k, v) in other {
        tcp.entry(k).or_insert(v);
    }
    tcp
}

/// Common service names, used when the system database lacks them.
pub const BUILTIN_SERVICES: &[(&str, u16)] = &[
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("tftp", 69),
    ("http", 80),
    ("www", 80),
    ("pop3", 110),
    ("ntp", 123),
    ("imap", 143),
    ("imap2", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("syslog", 514),
    ("submission", 587),
    ("ldaps", 636),
    ("rsync", 873),
    ("imaps", 993),
    ("pop3s", 995),
    ("ms-sql-s", 1433),
    ("radius", 1812),
    ("nfs", 2049),
    ("squid", 3128),
    ("mysql", 3306),
    ("sip", 5060),
    ("xmpp-client", 5222),
    ("postgresql", 5432),
    ("http-alt", 8080),
];

/// Port of a name in [`BUILTIN_SERVICES`].
pub fn builtin_service(name: &str) -> Option<u16> {
    BUILTIN_SERVICES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_file() {
        let m = parse_services(
            "# c\nhttp 80/tcp www # web\nhttp 80/udp\nsyslog 514/udp\nfoo 1/tcp\nfoo 2/udp\nbad x/tcp\n",
        );
        assert_eq!(m.get("http"), Some(&80));
        assert_eq!(m.get("www"), Some(&80));
        assert_eq!(m.get("syslog"), Some(&514));
        assert_eq!(m.get("foo"), Some(&1));
        assert_eq!(m.get("bad"), None);
    }

    #[test]
    fn builtin() {
        assert_eq!(builtin_service("https"), Some(443));
        assert_eq!(builtin_service("nope"), None);
    }
}
