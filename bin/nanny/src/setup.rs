//! Turns parsed arguments into a [`MonitorSpec`], with the original's
//! start-up checks and messages (piranha.md §3.3).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use health::ipvs::{Method, Protocol, RealServer, Virtual};
use health::load::load_argv;
use health::monitor::MonitorSpec;
use health::probe::{Probe, ProbeOptions, SetupNote};
use health::state::{Kind, Params};

use crate::args::{Args, split_entry, strtol_int};

/// A validated configuration.
pub struct Setup {
    /// One per server: one without `--shared`, in `--server` order with it.
    pub specs: Vec<MonitorSpec>,
    pub notes: Vec<SetupNote>,
    /// The start-up lines (`starting LVS client monitor for …`), one per
    /// server.
    pub banners: Vec<String>,
}

/// What every server of one nanny shares.
struct Common {
    kind: Kind,
    interval: u32,
    interval_ms: i64,
    port: u16,
    count_thresh: u32,
    virt: Virtual,
}

/// Validates `args`; the error is the complete stderr line (exit status 1).
pub fn build(args: &Args) -> Result<Setup, String> {
    if args.shared {
        return build_shared(args);
    }
    let Some(server) = &args.server else {
        return Err("nanny: No address supplied. Use '--help' for help. ".into());
    };
    let rip = parse_host(server).ok_or_else(|| format!("nanny: bad IP address -- {server}"))?;
    let common = common(args)?;
    let rport = port_or(args.rport, common.port)?;
    let mut notes = Vec::new();
    let (spec, banner) = server_spec(args, &common, server, rip, rport, args.weight, &mut notes)?;
    Ok(Setup {
        specs: vec![spec],
        notes,
        banners: vec![banner],
    })
}

/// `--shared`: the `--server RIP:RPORT:WEIGHT` list, the rest as for one
/// server.
fn build_shared(args: &Args) -> Result<Setup, String> {
    let common = common(args)?;
    if common.kind != Kind::Lvs {
        return Err("nanny: --shared needs --lvs".into());
    }
    let mut specs = Vec::with_capacity(args.servers.len());
    let mut banners = Vec::with_capacity(args.servers.len());
    let mut notes = Vec::new();
    for entry in &args.servers {
        let bad = || format!("nanny: bad server -- {entry} (want RIP:RPORT:WEIGHT)");
        let (host, rport, weight) = split_entry(entry).ok_or_else(bad)?;
        let rip = parse_host(host).ok_or_else(|| format!("nanny: bad IP address -- {host}"))?;
        let rport = strtol_int(rport)
            .ok()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(bad)?;
        let weight = strtol_int(weight).map_err(|_| bad())?;
        let mut server_notes = Vec::new();
        let (spec, banner) =
            server_spec(args, &common, host, rip, rport, weight, &mut server_notes)?;
        // The notes depend only on the shared options: log them once.
        if notes.is_empty() {
            notes = server_notes;
        }
        specs.push(spec);
        banners.push(banner);
    }
    Ok(Setup {
        specs,
        notes,
        banners,
    })
}

/// Milliseconds as seconds, the way the admin wrote them.
fn seconds_text(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, (ms % 1000).abs())
            .trim_end_matches('0')
            .to_owned()
    }
}

fn common(args: &Args) -> Result<Common, String> {
    let kind = if args.fos {
        Kind::Fos
    } else if args.lvs {
        Kind::Lvs
    } else {
        return Err("nanny: unknown service type".into());
    };
    // The original divided by the interval (crash on 0).
    if args.interval_ms <= 0 {
        return Err(format!(
            "nanny: bad interval -- {} (must be more than 0)",
            seconds_text(args.interval_ms)
        ));
    }
    let interval_ms = args.interval_ms;
    let port = port(args.port)?;
    let reentry_ms = match args.reentry_ms {
        0 if kind == Kind::Lvs => 180_000,
        0 => interval_ms,
        r => r,
    };
    let count_thresh = u32::try_from(reentry_ms.max(0) / interval_ms).unwrap_or(u32::MAX);
    // The state machine re-weighs every ~20 s counted in checks of whole
    // seconds; a fractional interval counts as the next whole second there.
    let interval = u32::try_from((interval_ms + 999) / 1000).unwrap_or(u32::MAX);
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
    Ok(Common {
        kind,
        interval,
        interval_ms,
        port,
        count_thresh,
        virt,
    })
}

/// One server's spec and start-up line; `host` is the address as given.
fn server_spec(
    args: &Args,
    common: &Common,
    host: &str,
    rip: IpAddr,
    rport: u16,
    weight: i64,
    notes: &mut Vec<SetupNote>,
) -> Result<(MonitorSpec, String), String> {
    let port = common.port;
    let target = SocketAddr::new(rip, rport);
    let (probe, probe_notes) = Probe::build(
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
    *notes = probe_notes;
    let load_argv = load_argv(&args.loadcmd, rip);
    let params = Params {
        kind: common.kind,
        weight: i32::try_from(weight).unwrap_or(i32::MAX),
        count_thresh: common.count_thresh,
        interval: common.interval,
        scale: i32::try_from(args.scale).unwrap_or(i32::MAX),
        quiesce: args.quiesce,
        load_monitor: load_argv.is_some(),
    };
    let vip_text = args.virtual_address.as_deref().unwrap_or("(null)");
    let banner = match common.kind {
        Kind::Lvs => {
            format!("starting LVS client monitor for {vip_text}:{port} -> {host}:{rport}")
        }
        Kind::Fos => format!("Failover service monitor for {vip_text}:{port} started"),
    };
    let spec = MonitorSpec {
        params,
        server: RealServer {
            virt: common.virt,
            addr: target,
            method: Method::from_arg(&args.method),
        },
        probe,
        interval: Duration::from_millis(u64::try_from(common.interval_ms).unwrap_or(u64::MAX)),
        load_argv,
    };
    Ok((spec, banner))
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
        let spec = &s.specs[0];
        assert_eq!(spec.server.addr, "192.0.2.1:443".parse().unwrap());
        assert_eq!(spec.params.count_thresh, 18); // 180 / 10
        assert_eq!(spec.interval, Duration::from_secs(10));
        assert!(!spec.params.load_monitor);
        assert_eq!(
            s.banners[0],
            "starting LVS client monitor for 203.0.113.1:443 -> 192.0.2.1:443"
        );
        let s = build(&args(&["-h", "192.0.2.1", "--fos", "-t", "3"])).unwrap();
        assert_eq!(s.specs[0].params.count_thresh, 1);
        assert_eq!(s.notes, vec![SetupNote::DefaultHttp]);
    }

    #[test]
    fn shared_servers_in_order() {
        let s = build(&args(&[
            "--shared",
            "--lvs",
            "-p",
            "80",
            "-V",
            "203.0.113.1",
            "-t",
            "2",
            "--server",
            "192.0.2.11:8080:3",
            "--server",
            "[2001:db8::11]:80:0x10",
        ]))
        .unwrap();
        assert_eq!(s.specs.len(), 2);
        assert_eq!(s.specs[0].server.addr, "192.0.2.11:8080".parse().unwrap());
        assert_eq!(s.specs[0].params.weight, 3);
        assert_eq!(s.specs[1].server.addr, "[2001:db8::11]:80".parse().unwrap());
        assert_eq!(s.specs[1].params.weight, 16);
        assert_eq!(s.specs[1].interval, Duration::from_secs(2));
        assert_eq!(
            s.banners[1],
            "starting LVS client monitor for 203.0.113.1:80 -> 2001:db8::11:80"
        );
        let err = |a: &[&str]| build(&args(a)).err().unwrap();
        assert_eq!(
            err(&["--shared", "--lvs", "--server", "192.0.2.1:99999:1"]),
            "nanny: bad server -- 192.0.2.1:99999:1 (want RIP:RPORT:WEIGHT)"
        );
        assert_eq!(
            err(&["--shared", "--lvs", "--server", "192.0.2.1:80:x"]),
            "nanny: bad server -- 192.0.2.1:80:x (want RIP:RPORT:WEIGHT)"
        );
        assert_eq!(
            err(&["--shared", "--lvs", "--server", "web1:80:1"]),
            "nanny: bad IP address -- web1"
        );
        assert_eq!(
            err(&["--shared", "--fos", "--server", "192.0.2.1:80:1"]),
            "nanny: --shared needs --lvs"
        );
    }
}
