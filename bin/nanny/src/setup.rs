//! Turns parsed arguments into a [`MonitorSpec`], with the original's
//! start-up checks and messages (piranha.md §3.3).

use std::net::{IpAddr, SocketAddr};

use health::ipvs::{Method, Protocol, RealServer, Virtual};
use health::load::load_argv;
use health::monitor::MonitorSpec;
use health::probe::{Probe, ProbeOptions, SetupNote};
use health::state::{Kind, Params};
use values::Seconds;

use crate::args::Args;

/// `-a` when not given (or 0) for `--lvs`.
const DEFAULT_REENTRY: Seconds = Seconds::whole(180);

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
    /// Whole seconds, rounded up, for the state machine's ~20 s ramp count.
    interval_secs: u32,
    interval: Seconds,
    port: u16,
    count_thresh: u32,
    virt: Virtual,
}

/// Validates `args`; the error is the complete stderr line (exit status 1).
/// The values themselves were checked by the parser (`args::parse`).
pub fn build(args: &Args) -> Result<Setup, String> {
    if args.shared {
        return build_shared(args);
    }
    let Some(rip) = args.server else {
        return Err("nanny: No address supplied. Use '--help' for help. ".into());
    };
    let common = common(args)?;
    let rport = args.rport.unwrap_or(common.port);
    let mut notes = Vec::new();
    let weight = args.weight.unwrap_or(1);
    let (spec, banner) = server_spec(args, &common, rip, rport, weight, &mut notes)?;
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
        let mut server_notes = Vec::new();
        let (spec, banner) = server_spec(
            args,
            &common,
            entry.addr,
            entry.port,
            entry.weight,
            &mut server_notes,
        )?;
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

fn common(args: &Args) -> Result<Common, String> {
    let kind = if args.fos {
        Kind::Fos
    } else if args.lvs {
        Kind::Lvs
    } else {
        return Err("nanny: unknown service type".into());
    };
    let interval = args.interval();
    let reentry = match (args.reentry, kind) {
        (Some(r), _) => r,
        (None, Kind::Lvs) => DEFAULT_REENTRY,
        (None, Kind::Fos) => interval,
    };
    let count_thresh =
        u32::try_from(reentry.as_millis() / interval.as_millis()).unwrap_or(u32::MAX);
    // The state machine re-weighs every ~20 s counted in checks of whole
    // seconds; a fractional interval counts as the next whole second there.
    let interval_secs = u32::try_from(interval.whole_secs_ceil()).unwrap_or(u32::MAX);
    let protocol = if args.udp {
        Protocol::Udp
    } else {
        Protocol::Tcp
    };
    let virt = match args.fwmark {
        Some(mark) => Virtual::Fwmark(mark),
        None => Virtual::Addr {
            protocol,
            vip: args.virtual_address,
            port: args.port,
        },
    };
    Ok(Common {
        kind,
        interval_secs,
        interval,
        port: args.port,
        count_thresh,
        virt,
    })
}

/// One server's spec and start-up line.
fn server_spec(
    args: &Args,
    common: &Common,
    rip: IpAddr,
    rport: u16,
    weight: i32,
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
    let load_argv = load_argv(args.loadcmd.as_deref().unwrap_or("none"), rip);
    let params = Params {
        kind: common.kind,
        weight,
        count_thresh: common.count_thresh,
        interval: common.interval_secs,
        scale: args.scale.unwrap_or(10),
        quiesce: args.quiesce,
        load_monitor: load_argv.is_some(),
    };
    let vip_text = args
        .virtual_address
        .map_or_else(|| "(null)".to_owned(), |v| v.to_string());
    let banner = match common.kind {
        Kind::Lvs => {
            format!("starting LVS client monitor for {vip_text}:{port} -> {rip}:{rport}")
        }
        Kind::Fos => format!("Failover service monitor for {vip_text}:{port} started"),
    };
    let spec = MonitorSpec {
        params,
        server: RealServer {
            virt: common.virt,
            addr: target,
            method: Method::from_arg(args.method.as_deref().unwrap_or("m")),
        },
        probe,
        interval: common.interval.as_duration(),
        load_argv,
    };
    Ok((spec, banner))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn args(extra: &[&str]) -> Args {
        match crate::args::parse(extra).unwrap() {
            crate::args::Parsed::Run(a) => *a,
            _ => panic!(),
        }
    }

    /// The stderr line for `argv`, from the parser or from set-up.
    fn err(argv: &[&str]) -> String {
        match crate::args::parse(argv) {
            Ok(crate::args::Parsed::Run(a)) => build(&a).err().expect("an error"),
            Ok(_) => panic!("help or usage"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn startup_errors_as_the_original() {
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
