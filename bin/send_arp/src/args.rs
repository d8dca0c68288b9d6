//! `send_arp`'s command line, parsed without I/O except the host-name
//! fallback of [`resolve`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

/// piranha's usage text, byte for byte as the original's `usage[]` (it ends
/// in `"\n\n"`); `die()` prints it with `"%s\n"`, so on stderr it is
/// followed by two empty lines.
pub const USAGE: &str = "send_arp: sends out custom ARP packet. Yuri Volobuev '97\n\
                         \tusage: send_arp [-i dev] src_ip_addr src_hw_addr targ_ip_addr \
                         tar_hw_addr\n\n";

/// piranha's default device.
pub const DEFAULT_DEVICE: &str = "eth0";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `--help` alone (ours; the original printed its usage and failed).
    Help,
    /// `--version` alone.
    Version,
    /// Send one frame.
    Send(Request<'a>),
}

/// The original's positional arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `-i DEV`, else `eth0`.
    pub device: &'a str,
    /// argv 1: the address announced.
    pub src_ip: &'a str,
    /// argv 2: our MAC (Ethernet source, sender and target MAC).
    pub src_hw: &'a str,
    /// argv 3: ignored, as by send_arp 0.8.x (pulse passes the broadcast
    /// address of the device).
    pub targ_ip: &'a str,
    /// argv 4: the Ethernet destination (pulse passes `ffffffffffff`).
    pub targ_hw: &'a str,
}

/// The original's rule: exactly four positional arguments, or `-i DEV`
/// followed by four; anything else is a usage error (`None`).
pub fn parse(args: &[String]) -> Option<Command<'_>> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (device, rest) = match args.as_slice() {
        ["--help"] => return Some(Command::Help),
        ["--version"] => return Some(Command::Version),
        ["-i", device, rest @ ..] if rest.len() == 4 => (*device, rest),
        // The original takes 4 positionals even when the first is "-i"
        // (and then crashes reading past argv); a usage error here.
        ["-i", ..] => return None,
        rest if rest.len() == 4 => (DEFAULT_DEVICE, rest),
        _ => return None,
    };
    let [src_ip, src_hw, targ_ip, targ_hw] = *rest else {
        return None;
    };
    Some(Command::Send(Request {
        device,
        src_ip,
        src_hw,
        targ_ip,
        targ_hw,
    }))
}

/// `inet_addr(3)`/`inet_aton(3)` as glibc implements them: one to four
/// parts separated by '.', each decimal, octal (leading `0`) or hex (`0x`),
/// the last part filling the remaining bytes (`10.1` = 10.0.0.1); parsing
/// stops at the first whitespace. The cases in the tests were checked
/// against glibc 2.36's `inet_aton`.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let s = s.split(|c: char| c.is_ascii_whitespace()).next()?;
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(4);
    for part in &parts {
        let (digits, radix) =
            if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (hex, 16)
            } else if part.len() > 1 && part.starts_with('0') {
                (&part[1..], 8)
            } else {
                (*part, 10)
            };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        let value = u32::from_str_radix(digits, radix).ok()?;
        values.push(value);
    }
    let (last, head) = values.split_last()?;
    let mut addr: u32 = 0;
    for (i, v) in head.iter().enumerate() {
        if *v > 0xff {
            return None;
        }
        addr |= v << (24 - 8 * i);
    }
    let room = 32 - 8 * head.len();
    if room < 32 && u64::from(*last) >= 1u64 << room {
        return None;
    }
    Some(Ipv4Addr::from(addr | last))
}

/// argv 1 as send_arp 0.8.x reads it (`inet_addr`, then `gethostbyname`,
/// which answers IPv4 only), plus an IPv6 literal (ours).
pub fn resolve(s: &str) -> Option<IpAddr> {
    if let Some(v4) = inet_aton(s) {
        return Some(IpAddr::V4(v4));
    }
    if let Ok(v6) = s.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    (s, 0)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip())
        .find(IpAddr::is_ipv4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn argument_counts_as_the_original() {
        let pulse = argv("-i eth0 203.0.113.10 00005E005301 203.0.113.255 ffffffffffff");
        assert_eq!(
            parse(&pulse),
            Some(Command::Send(Request {
                device: "eth0",
                src_ip: "203.0.113.10",
                src_hw: "00005E005301",
                targ_ip: "203.0.113.255",
                targ_hw: "ffffffffffff",
            }))
        );
        let plain = argv("203.0.113.10 00:00:5e:00:53:01 203.0.113.50 00:00:5e:00:53:02");
        let Some(Command::Send(req)) = parse(&plain) else {
            panic!("four positionals");
        };
        assert_eq!((req.device, req.targ_hw), ("eth0", "00:00:5e:00:53:02"));
        for bad in [
            "",
            "1.2.3.4",
            "-i lo 203.0.113.10 00005E005301 203.0.113.255",
            "-x lo 203.0.113.10 00005E005301 203.0.113.255 ffffffffffff",
            "-i eth0 203.0.113.10 00005E005301",
            "a b c d e",
            "--help x",
        ] {
            assert_eq!(parse(&argv(bad)), None, "{bad:?}");
        }
        assert_eq!(parse(&argv("--help")), Some(Command::Help));
        assert_eq!(parse(&argv("--version")), Some(Command::Version));
    }

    #[test]
    fn usage_text_is_the_original() {
        assert_eq!(
            USAGE,
            "send_arp: sends out custom ARP packet. Yuri Volobuev '97\n\tusage: send_arp \
             [-i dev] src_ip_addr src_hw_addr targ_ip_addr tar_hw_addr\n\n"
        );
    }

    #[test]
    fn inet_aton_forms() {
        let ok = [
            ("203.0.113.10", [203, 0, 113, 10]),
            ("0xcb.0.0161.10", [203, 0, 113, 10]),
            ("203.0.28938", [203, 0, 113, 10]),
            ("203.28938", [203, 0, 113, 10]),
            ("3405803786", [203, 0, 113, 10]),
            ("255.255.255.255", [255, 255, 255, 255]),
            ("1.2.3.4 trailing", [1, 2, 3, 4]),
            ("1.2.3.4\tx", [1, 2, 3, 4]),
            ("00", [0, 0, 0, 0]),
        ];
        for (s, o) in ok {
            assert_eq!(inet_aton(s), Some(Ipv4Addr::from(o)), "{s}");
        }
        for s in [
            "",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.256",
            "1..2.3",
            "08.1.1.1",
            "1.2.3.4x",
            "a.b.c.d",
            "203.0.65536",
            "4294967296",
            "0x.0.0.0",
            "0x",
            "1.",
            ".1",
            "0x1ff.0.0.1",
        ] {
            assert_eq!(inet_aton(s), None, "{s}");
        }
    }

    #[test]
    fn resolve_literals_and_names() {
        assert_eq!(
            resolve("203.0.113.10"),
            Some("203.0.113.10".parse().unwrap())
        );
        assert_eq!(
            resolve("2001:db8::10"),
            Some("2001:db8::10".parse().unwrap())
        );
        // getaddrinfo answers "localhost" from /etc/hosts, without DNS.
        assert_eq!(resolve("localhost"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(resolve("no.such.host.invalid"), None);
    }
}
