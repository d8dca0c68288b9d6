//! Turns parsed arguments into a [`MonitorSpec`], with the original's
//! start-up checks and messages (piranha.md §3.3).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use health::ipvs::{Method, Protocol, RealServer, Virtual};
use health::load::load_argv;
use health::monitor::MonitorSpec;
use health::probe::{Probe, ProbeOptions, SetupNote};
use health::state::{Kind, Params};

use crate::args::Args;

/// A validated configuration.
pub struct Setup {
    pub spec: MonitorSpec,
    pub notes: Vec<SetupNote>,
    /// The start-up line (`starting LVS client monitor for …`).
    pub banner: String,
}

/// Validates `args`; the error is the complete stderr line (exit status 1).
pub fn build(args: &Args) -> Result<Setup, String> {
    let Some(server) = &args.server else {
        return Err("nanny: No address supplied. Use '--help' for help. ".into());
    };
    let rip = parse_host(server).ok_or_else(|| format!("nanny: bad IP address -- {server}"))?;
    let kind = if args.fos {
        Kind::Fos
    } else if args.lvs {
        Kind::Lvs
    } else {
        return Err("nanny: unknown service type".into());
    };
    // The original divided by the interval (crash on 0).
    let interval = u32::try_from(args.interval)
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| {
            format!(
                "nanny: bad interval -- {} (must be at least 1)",
                args.interval
            )
        })?;
    let port = port(args.port)?;
    let rport = port_or(args.rport, port)?;
    let reentry = match args.reentry {
        0 if kind == Kind::Lvs => 180,
        0 => i64::from(interval),
        r => r,
    };
    let count_thresh = u32::try_from(reentry.max(0) / i64::from(interval)).unwrap_or(u32::MAX);
    let vip = match &args.virtual_address {
        None => None,
        Some(v) => Some(parse_host(v).ok_or_else(|| format!("nanny: bad virtual address -- {v}"))?),
    };
    let fwmark = u32::try_from(args.fwmark)
        .map_err(|_| format!("nanny: bad firewall mark -- {}", args.fwmark))?;
    let protocol = if args.udp {
        Protocol::Udp
    } else {
        Protocol::Tcp
    };
    let virt = if fwmark != 0 {
        Virtual::Fwmark(fwmark)
    } else {
        Virtual::Addr {
            protocol,
            vip,
            port,
        }
    };
    let target = SocketAddr::new(rip, rport);
    let (probe, notes) = Probe::build(
        &ProbeOptions {
            send: args.send.as_deref(),
            expect: args.expect.as_deref(),
            program: args.send_program.as_deref(),
            regex: args.regex,
            suppress: args.suppress,
            udp: args.udp,
            virtual_port: port,
        },
        target,
    )
    .map_err(|e| format!("nanny: {e}"))?;
    let load_argv = load_argv(&args.loadcmd, rip);
    let params = Params {
        kind,
        weight: i32::try_from(args.weight).unwrap_or(i32::MAX),
        count_thresh,
        interval,
        scale: i32::try_from(args.scale).unwrap_or(i32::MAX),
        quiesce: args.quiesce,
        load_monitor: load_argv.is_some(),
    };
    let vip_text = args.virtual_address.as_deref().unwrap_or("(null)");
    let banner = match kind {
        Kind::Lvs => {
            format!("starting LVS client monitor for {vip_text}:{port} -> {server}:{rport}")
        }
        Kind::Fos => format!("Failover service monitor for {vip_text}:{port} started"),
    };
    Ok(Setup {
        spec: MonitorSpec {
            params,
            server: RealServer {
                virt,
                addr: target,
                method: Method::from_arg(&args.method),
            },
            probe,
            interval: Duration::from_secs(u64::from(interval)),
            load_argv,
        },
        notes,
        banner,
    })
}

fn port(p: i64) -> Result<u16, String> {
    u16::try_from(p).map_err(|_| format!("nanny: bad port -- {p}"))
}

fn port_or(p: Option<i64>, default: u16) -> Result<u16, String> {
    p.map_or(Ok(default), port)
}

/// An address as `inet_aton` reads it (`a.b.c.d`, `a.b.c`, `a.b`, `a`, each
/// part decimal, octal or hex), or an IPv6 literal (an extension).
pub fn parse_host(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        return s.parse().ok();
    }
    inet_aton(s).map(IpAddr::V4)
}

fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<u32> = s.split('.').map(aton_part).collect::<Option<_>>()?;
    let value = match parts.as_slice() {
        [a] => *a,
        [a, b] if *a <= 0xff && *b <= 0xff_ffff => a << 24 | b,
        [a, b, c] if *a <= 0xff && *b <= 0xff && *c <= 0xffff => a << 24 | b << 16 | c,
        [a, b, c, d] if [a, b, c, d].iter().all(|x| **x <= 0xff) => a << 24 | b << 16 | c << 8 | d,
        _ => return None,
    };
    Some(Ipv4Addr::from(value))
}

fn aton_part(p: &str) -> Option<u32> {
    if p.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (16, h)
    } else if p.len() > 1 && p.starts_with('0') {
        (8, &p[1..])
    } else {
        (10, p)
    };
    if digits.is_empty() && radix == 16 {
        return Some(0);
    }
    u32::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_aton_forms() {
        assert_eq!(parse_host("192.0.2.1"), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(parse_host("127.1"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            parse_host("0x7f.0.0.01"),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(parse_host("::1"), Some("::1".parse().unwrap()));
        assert_eq!(parse_host("256.0.0.1"), None);
        assert_eq!(parse_host("web1"), None);
        assert_eq!(parse_host("1.2.3.4.5"), None);
        assert_eq!(parse_host(""), None);
    }

    fn args(extra: &[&str]) -> Args {
        match crate::args::parse(extra).unwrap() {
            crate::args::Parsed::Run(a) => *a,
            _ => panic!(),
        }
    }

    #[test]
    fn startup_errors_as_the_original() {
        let err = |a: &[&str]| build(&args(a)).err().unwrap();
        assert_eq!(
            err(&["--lvs"]),
            "nanny: No address supplied. Use '--help' for help. "
        );
        assert_eq!(
            err(&["-h", "web1", "--lvs"]),
            "nanny: bad IP address -- web1"
        );
        assert_eq!(err(&["-h", "192.0.2.1"]), "nanny: unknown service type");
        assert!(err(&["-h", "192.0.2.1", "--lvs", "-t", "0"]).starts_with("nanny: bad interval"));
        assert!(
            err(&["-h", "192.0.2.1", "--lvs", "-x", r"a\.b"])
                .starts_with("nanny: bad expect string: unknown escape")
        );
    }

    #[test]
    fn defaults_follow_the_original() {
        let s = build(&args(&[
            "-h",
            "192.0.2.1",
            "--lvs",
            "-p",
            "443",
            "-V",
            "203.0.113.1",
        ]))
        .unwrap();
        assert_eq!(s.spec.server.addr, "192.0.2.1:443".parse().unwrap());
        assert_eq!(s.spec.params.count_thresh, 18); // 180 / 10
        assert_eq!(s.spec.interval, Duration::from_secs(10));
        assert!(!s.spec.params.load_monitor);
        assert_eq!(
            s.banner,
            "starting LVS client monitor for 203.0.113.1:443 -> 192.0.2.1:443"
        );
        let s = build(&args(&["-h", "192.0.2.1", "--fos", "-t", "3"])).unwrap();
        assert_eq!(s.spec.params.count_thresh, 1);
        assert_eq!(s.notes, vec![SetupNote::DefaultHttp]);
    }
}
