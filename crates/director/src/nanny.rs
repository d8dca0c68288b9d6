//! The command line lvsd gives each real server's monitor.
//!
//! Byte for byte the argv piranha 0.8.6's lvsd built, in the same order, so
//! a site's own `client_monitor` program (and the original nanny) keeps
//! working. Our nanny learns of its report pipe from the environment
//! (`LVSD_REPORT_FD`), never from argv: a site's monitor and the original
//! nanny reject options they do not know.

use std::ffi::OsString;

use health::argv::{MonitorArgs, SharedServer};
use lvscf::{Config, LoadMonitor, Protocol, RealServer, VirtualServer};

/// How lvsd itself runs, as far as the monitor's argv is concerned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonitorOptions {
    /// lvsd runs with `-v`: monitors get `-v` too.
    pub verbose: bool,
    /// lvsd runs in the foreground (`-n`): monitors get `--nodaemon`.
    pub nodaemon: bool,
}

/// The program and arguments lvsd runs for real server `rs` of `vs`.
///
/// The first element is the program (`client_monitor`, `/usr/sbin/nanny`
/// by default).
pub fn monitor_argv(
    config: &Config,
    vs: &VirtualServer,
    rs: &RealServer,
    opts: MonitorOptions,
) -> Vec<OsString> {
    let args = MonitorArgs {
        server: Some(rs.address),
        rport: Some(rs.port),
        weight: Some(i32::try_from(rs.weight).unwrap_or(i32::MAX)),
        ..monitor_args(config, vs, opts)
    };
    with_program(vs, &args)
}

/// The command line of one shared nanny watching every server in `servers`
/// (all of `vs`) for `nanny_mode = shared`: the per-server form with `-h`,
/// `-r` and `-w` replaced by one `--server RIP:RPORT:WEIGHT` each, in order
/// (the n-th is server index n of the `nanny-report 2` stream).
pub fn shared_monitor_argv(
    config: &Config,
    vs: &VirtualServer,
    servers: &[&RealServer],
    opts: MonitorOptions,
) -> Vec<OsString> {
    let args = MonitorArgs {
        shared: true,
        servers: servers
            .iter()
            .map(|rs| SharedServer {
                addr: rs.address,
                port: rs.port,
                weight: i32::try_from(rs.weight).unwrap_or(i32::MAX),
            })
            .collect(),
        ..monitor_args(config, vs, opts)
    };
    with_program(vs, &args)
}

/// One shared nanny of `nanny_mode = shared`: the servers of every active
/// virtual whose monitors would get the same options (the same check,
/// timers, weights policy and program; the virtual's own address and mark
/// aside), in one process.
///
/// A real server that several of them list with the same port is then
/// checked once by that nanny, whose result fans out to each listing (its
/// own state machine and weight, its own index in the `nanny-report 2`
/// stream): keepalived checks such a server once per virtual.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedMonitor<'a> {
    /// The virtuals it serves, in lvs.cf order (their names joined with
    /// `+` name it).
    pub virtuals: Vec<&'a VirtualServer>,
    /// Its servers in index order: server n of the report stream is
    /// `members[n]`.
    pub members: Vec<(&'a VirtualServer, &'a RealServer)>,
    /// Its command line.
    pub argv: Vec<OsString>,
}

impl SharedMonitor<'_> {
    /// `web` for one virtual, `web+web-tls` for several.
    pub fn name(&self) -> String {
        let names: Vec<&str> = self.virtuals.iter().map(|v| v.name.as_str()).collect();
        names.join("+")
    }
}

/// The shared nannies of `config` (active virtuals with at least one active
/// server), grouped by identical options, in lvs.cf order of their first
/// virtual.
pub fn shared_monitors(config: &Config, opts: MonitorOptions) -> Vec<SharedMonitor<'_>> {
    // What a nanny's checks depend on: everything but the virtual's
    // identity (-V, -f), which only names the stream.
    let key = |vs: &VirtualServer| {
        let mut args = monitor_args(config, vs, opts);
        args.virtual_address = None;
        args.fwmark = None;
        (vs.client_monitor.clone(), args.to_argv())
    };
    let mut groups: Vec<(_, SharedMonitor<'_>)> = Vec::new();
    for vs in config.active_virtuals() {
        let servers: Vec<&RealServer> = vs.active_servers().collect();
        if servers.is_empty() {
            continue;
        }
        let k = key(vs);
        let at = match groups.iter().position(|(g, _)| *g == k) {
            Some(at) => at,
            None => {
                groups.push((
                    k,
                    SharedMonitor {
                        virtuals: Vec::new(),
                        members: Vec::new(),
                        argv: Vec::new(),
                    },
                ));
                groups.len() - 1
            }
        };
        let group = &mut groups[at].1;
        group.virtuals.push(vs);
        group.members.extend(servers.iter().map(|rs| (vs, *rs)));
    }
    groups
        .into_iter()
        .map(|(_, mut g)| {
            let servers: Vec<&RealServer> = g.members.iter().map(|(_, rs)| *rs).collect();
            // The first virtual's identity names the whole stream.
            g.argv = shared_monitor_argv(config, g.virtuals[0], &servers, opts);
            g
        })
        .collect()
}

fn with_program(vs: &VirtualServer, args: &MonitorArgs) -> Vec<OsString> {
    let mut argv = vec![OsString::from(&vs.client_monitor)];
    argv.extend(args.to_argv());
    argv
}

/// What every monitor of `vs` is told, whatever its servers: the options
/// piranha 0.8.6's lvsd wrote (in the order [`MonitorArgs::to_argv`]
/// keeps).
pub fn monitor_args(config: &Config, vs: &VirtualServer, opts: MonitorOptions) -> MonitorArgs {
    MonitorArgs {
        nofork: true,
        port: vs.port,
        fwmark: vs.fwmark,
        udp: vs.protocol == Protocol::Udp,
        send_program: vs.send_program.clone(),
        send: vs.send.as_ref().map(|s| s.nanny_arg().to_owned()),
        expect: vs.expect.as_ref().map(|s| s.nanny_arg().to_owned()),
        quiesce: vs.quiesce_server,
        regex: vs.use_regex,
        verbose: opts.verbose,
        reentry: Some(vs.reentry),
        ipvsadm: Some(config.ipvsadm.clone()),
        interval: Some(vs.timeout),
        virtual_address: vs.address.as_ref().map(|a| a.addr),
        method: Some(config.network.method_letter().to_string()),
        loadcmd: vs.load_monitor.as_ref().map(|load| match load {
            LoadMonitor::Uptime => config.rsh_command.clone(),
            other => other.as_str().to_owned(),
        }),
        // The original ran a sorry-server virtual's nannies in the
        // foreground so their `[ active ]`/`[inactive]` lines reached its
        // pipe.
        nodaemon: opts.nodaemon || vs.sorry_server.is_some(),
        lvs: true,
        ..MonitorArgs::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvscf::{CheckString, InterfaceAddress, Seconds};

    fn strings(argv: &[OsString]) -> Vec<String> {
        argv.iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_original_example() {
        // piranha.md §3.2: the argv 0.8.6 built for an HTTP virtual.
        let config = Config::default();
        let mut vs = VirtualServer::new("http");
        vs.address = Some(InterfaceAddress {
            addr: "203.0.113.10".parse().expect("ip"),
            device: "eth0:1".into(),
        });
        vs.send = Some(CheckString {
            text: "GET / HTTP/1.0\r\n\r\n".into(),
            raw: "\"GET / HTTP/1.0\\r\\n\\r\\n\"".into(),
        });
        vs.expect = Some(CheckString {
            text: "HTTP".into(),
            raw: "\"HTTP\"".into(),
        });
        vs.reentry = Seconds::whole(15);
        vs.timeout = Seconds::whole(6);
        vs.load_monitor = Some(LoadMonitor::None);
        let rs = RealServer::new("web1", "192.0.2.11".parse().expect("ip"), 80);
        let argv = strings(&monitor_argv(&config, &vs, &rs, MonitorOptions::default()));
        assert_eq!(
            argv,
            [
                "/usr/sbin/nanny",
                "-c",
                "-h",
                "192.0.2.11",
                "-p",
                "80",
                "-r",
                "80",
                "-s",
                "GET / HTTP/1.0\\r\\n\\r\\n",
                "-x",
                "HTTP",
                "-a",
                "15",
                "-I",
                "/sbin/ipvsadm",
                "-t",
                "6",
                "-w",
                "1",
                "-V",
                "203.0.113.10",
                "-M",
                "m",
                "-U",
                "none",
                "--lvs"
            ]
        );
    }

    #[test]
    fn every_optional_flag_in_the_original_order() {
        let config = Config {
            network: lvscf::Forwarding::Tunnel,
            rsh_command: "ssh".into(),
            ..Config::default()
        };
        let mut vs = VirtualServer::new("dns");
        vs.address = Some(InterfaceAddress {
            addr: "203.0.113.11".parse().expect("ip"),
            device: "eth0:2".into(),
        });
        vs.port = 53;
        vs.fwmark = Some(5);
        vs.protocol = Protocol::Udp;
        vs.send_program = Some("/usr/local/bin/check %h %p".into());
        vs.quiesce_server = true;
        vs.use_regex = true;
        vs.load_monitor = Some(LoadMonitor::Uptime);
        vs.sorry_server = Some("198.51.100.250".parse().expect("ip"));
        vs.timeout = "2.5".parse().expect("seconds");
        let rs = RealServer::new("ns1", "192.0.2.21".parse().expect("ip"), 5353);
        let opts = MonitorOptions {
            verbose: true,
            nodaemon: false,
        };
        let argv = strings(&monitor_argv(&config, &vs, &rs, opts)).join(" ");
        assert_eq!(
            argv,
            "/usr/sbin/nanny -c -h 192.0.2.21 -p 53 -r 5353 -f 5 -u \
             -e /usr/local/bin/check %h %p -q --regex -v -a 180 -I /sbin/ipvsadm \
             -t 2.5 -w 1 -V 203.0.113.11 -M i -U ssh --nodaemon --lvs"
        );
    }

    #[test]
    fn shared_form_lists_every_server() {
        let config = Config::default();
        let mut vs = VirtualServer::new("web");
        vs.address = Some(InterfaceAddress {
            addr: "203.0.113.10".parse().expect("ip"),
            device: "eth0:1".into(),
        });
        let mut a = RealServer::new("a", "192.0.2.11".parse().expect("ip"), 80);
        a.weight = 3;
        let b = RealServer::new("b", "2001:db8::12".parse().expect("ip"), 8080);
        let argv = strings(&shared_monitor_argv(
            &config,
            &vs,
            &[&a, &b],
            MonitorOptions::default(),
        ))
        .join(" ");
        assert_eq!(
            argv,
            "/usr/sbin/nanny --shared -c -p 80 -a 180 -I /sbin/ipvsadm -t 10 \
             -V 203.0.113.10 -M m --lvs --server 192.0.2.11:80:3 --server [2001:db8::12]:8080:1"
        );
    }

    #[test]
    fn virtuals_that_check_alike_share_one_nanny() {
        let server = |name: &str, addr: &str, weight: u32| {
            format!(
                " server {name} {{\n  address = {addr}\n  active = 1\n  weight = {weight}\n }}\n"
            )
        };
        let virt = |name: &str, vip: &str, extra: &str, servers: &str| {
            format!("virtual {name} {{\n active = 1\n address = {vip} eth0:1\n{extra}{servers}}}\n")
        };
        let a = |w| server("a", "192.0.2.11", w);
        let text = [
            "network = nat\nnanny_mode = shared\n".to_owned(),
            virt("web", "203.0.113.10", " port = 80\n", &a(3)),
            virt("mark", "203.0.113.10", " port = 80\n fwmark = 7\n", &a(6)),
            virt(
                "alt",
                "203.0.113.11",
                " port = 80\n",
                &(a(7) + &server("b", "192.0.2.12", 1)),
            ),
            virt("tls", "203.0.113.10", " port = 443\n", &a(1)),
            virt("slow", "203.0.113.10", " port = 80\n timeout = 20\n", &a(1)),
        ]
        .concat();
        let parsed = lvscf::parse_with(&text, &lvscf::OfflineResolver);
        assert!(!parsed.has_errors(), "{}", parsed.render("t.cf", &text));
        let config = parsed.config.expect("config");
        let monitors = shared_monitors(&config, MonitorOptions::default());
        let names: Vec<String> = monitors.iter().map(SharedMonitor::name).collect();
        // Port 443 and a 20 s timeout check differently: their own nannies.
        assert_eq!(names, ["web+mark+alt", "tls", "slow"]);
        let first = &monitors[0];
        let members: Vec<(&str, &str)> = first
            .members
            .iter()
            .map(|(v, r)| (v.name.as_str(), r.name.as_str()))
            .collect();
        assert_eq!(
            members,
            [("web", "a"), ("mark", "a"), ("alt", "a"), ("alt", "b")]
        );
        assert_eq!(
            strings(&first.argv).join(" "),
            "/usr/sbin/nanny --shared -c -p 80 -a 180 -I /sbin/ipvsadm -t 10 \
             -V 203.0.113.10 -M m --lvs --server 192.0.2.11:80:3 --server 192.0.2.11:80:6 \
             --server 192.0.2.11:80:7 --server 192.0.2.12:80:1"
        );
    }

    #[test]
    fn single_quotes_reach_the_monitor_as_the_original_passed_them() {
        let config = Config::default();
        let mut vs = VirtualServer::new("q");
        vs.send = Some(CheckString {
            text: "'PING'".into(),
            raw: "'PING'".into(),
        });
        let rs = RealServer::new("r", "192.0.2.1".parse().expect("ip"), 80);
        let argv = strings(&monitor_argv(&config, &vs, &rs, MonitorOptions::default()));
        let i = argv.iter().position(|a| a == "-s").expect("-s");
        assert_eq!(argv[i + 1], "'PING'");
    }
}
