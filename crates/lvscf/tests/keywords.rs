//! One test per keyword and per class of error, through the public API.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lvscf::{
    Config, Diagnostic, Forwarding, LoadMonitor, NannyMode, Netmask, OfflineResolver, Parsed,
    Protocol, Resolver, Scheduler, ServiceKind, Severity, SystemResolver, parse_with,
};

fn parse(src: &str) -> Parsed {
    parse_with(src, &OfflineResolver)
}

/// Parses and insists on no error.
fn ok(src: &str) -> Config {
    let p = parse(src);
    assert!(!p.has_errors(), "{}", p.render("t.cf", src));
    p.config.expect("config")
}

fn of(src: &str, sev: Severity) -> Vec<Diagnostic> {
    parse(src).of(sev).cloned().collect()
}

fn errors(src: &str) -> Vec<String> {
    let p = parse(src);
    assert!(p.config.is_none() == p.has_errors());
    p.of(Severity::Error).map(|d| d.message.clone()).collect()
}

fn warnings(src: &str) -> Vec<String> {
    of(src, Severity::Warning)
        .into_iter()
        .map(|d| d.message)
        .collect()
}

fn notes(src: &str) -> Vec<&'static str> {
    of(src, Severity::Note)
        .into_iter()
        .filter_map(|d| d.extension)
        .collect()
}

/// A virtual block with an address around `body`.
fn virt(body: &str) -> String {
    format!("virtual v {{\n address = 203.0.113.10 eth0:1\n{body}\n}}\n")
}

/// A server block inside [`virt`].
fn server(body: &str) -> String {
    virt(&format!(
        " server s {{\n  address = 192.0.2.11\n{body}\n }}"
    ))
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

// ---- globals -----------------------------------------------------------

#[test]
fn global_defaults() {
    let c = ok("# nothing but a comment\n");
    assert_eq!(c, Config::default());
}

#[test]
fn serial_no() {
    assert_eq!(ok("serial_no = 42\n").serial_no, 42);
    assert_eq!(ok("serial_no = 0x10\n").serial_no, 16);
}

#[test]
fn primary_and_private_forcing() {
    let c = ok("primary = 203.0.113.2\nbackup = 203.0.113.3\n");
    assert_eq!(c.primary, Some(ip("203.0.113.2")));
    assert_eq!(c.primary_private, Some(ip("203.0.113.2")));
    assert_eq!(c.backup_private, Some(ip("203.0.113.3")));
    // backup_private is overridden (with a warning) without primary_private.
    let src = "primary = 203.0.113.2\nbackup = 203.0.113.3\nbackup_private = 198.51.100.3\n";
    assert_eq!(ok(src).backup_private, Some(ip("203.0.113.3")));
    assert_eq!(warnings(src).len(), 1);
    let c = ok(
        "primary = 203.0.113.2\nprimary_private = 198.51.100.2\nbackup = 203.0.113.3\nbackup_private = 198.51.100.3\n",
    );
    assert_eq!(c.primary_private, Some(ip("198.51.100.2")));
    assert_eq!(c.backup_private, Some(ip("198.51.100.3")));
    // Without primary, nothing is forced.
    let c = ok("backup_private = 198.51.100.3\n");
    assert_eq!(c.primary_private, None);
    assert_eq!(c.backup_private, Some(ip("198.51.100.3")));
}

#[test]
fn unusable_addresses() {
    for k in ["primary", "primary_private", "backup_private"] {
        assert_eq!(
            errors(&format!("{k} = 0.0.0.0\n")),
            [format!("{k}: 0.0.0.0 is not a usable address")]
        );
    }
    assert_eq!(ok("backup = 0.0.0.0\n").backup, Some(ip("0.0.0.0")));
}

#[test]
fn shared_devices_and_fos_keys() {
    let c = ok(
        "primary_shared = /dev/sdb1\nbackup_shared = /dev/sdc1\nreservation_conflict_action = preempt\n",
    );
    assert_eq!(c.primary_shared.as_deref(), Some("/dev/sdb1"));
    assert_eq!(c.backup_shared.as_deref(), Some("/dev/sdc1"));
    assert_eq!(c.reservation_conflict_action.as_deref(), Some("preempt"));
    assert_eq!(warnings("reservation_conflict_action = maybe\n").len(), 1);
}

#[test]
fn booleans() {
    let c = ok(
        "backup = 203.0.113.3\nbackup_active = 1\nheartbeat = 1\nsyncdaemon = 1\nhard_shutdown = 0\nsync = 1\n",
    );
    assert!(c.backup_active && c.heartbeat && c.syncdaemon && c.sync && !c.hard_shutdown);
    assert_eq!(
        errors("heartbeat = 2\n"),
        ["heartbeat: boolean expected (0 or 1), found \"2\""]
    );
    assert!(ok("heartbeat = 0x1\n").heartbeat);
}

#[test]
fn backup_active_without_backup_warns() {
    assert_eq!(
        warnings("backup_active = 1\n"),
        ["backup_active = 1 but no backup address; pulse ignores backup_active"]
    );
}

#[test]
fn service() {
    assert_eq!(ok("service = fos\n").service, ServiceKind::Fos);
    assert_eq!(ok("service = lvs\n").service, ServiceKind::Lvs);
    assert_eq!(errors("service = LVS\n").len(), 1);
}

#[test]
fn heartbeat_port() {
    assert_eq!(ok("heartbeat_port = 1539\n").heartbeat_port, 1539);
    assert_eq!(ok("heartbeat_port = http\n").heartbeat_port, 80);
    assert_eq!(errors("heartbeat_port = 65536\n").len(), 1);
}

#[test]
fn timers() {
    let c = ok("keepalive = 6\ndeadtime = 18\n");
    assert_eq!(c.keepalive, Duration::from_secs(6));
    assert_eq!(c.deadtime, Duration::from_secs(18));
    let src = "keepalive = 0.5\ndeadtime = 1.25\n";
    let c = ok(src);
    assert_eq!(c.keepalive, Duration::from_millis(500));
    assert_eq!(c.deadtime, Duration::from_millis(1250));
    assert_eq!(notes(src), ["fractional-timer", "fractional-timer"]);
    assert_eq!(
        errors("keepalive = 0\n"),
        ["keepalive must be greater than 0"]
    );
    assert_eq!(errors("deadtime = .5\n").len(), 1);
    assert_eq!(errors("deadtime = 1.\n").len(), 1);
    assert_eq!(
        warnings("keepalive = 5\ndeadtime = 5\n").len(),
        1,
        "deadtime not above keepalive"
    );
}

#[test]
fn network() {
    assert_eq!(ok("network = direct\n").network, Forwarding::Direct);
    assert_eq!(ok("network = tunnel\n").network, Forwarding::Tunnel);
    assert_eq!(ok("network = nat\n").network, Forwarding::Nat);
    assert_eq!(Forwarding::Tunnel.method_letter(), 'i');
    let p = parse("network = dircet\n");
    assert_eq!(
        p.diagnostics[0].hint.as_deref(),
        Some("did you mean \"direct\"?")
    );
}

#[test]
fn nat_router_and_mask() {
    let c = ok("nat_router = 192.0.2.254 eth1:1\nnat_nmask = 255.255.255.0\n");
    let r = c.nat_router.expect("nat_router");
    assert_eq!((r.addr, r.device.as_str()), (ip("192.0.2.254"), "eth1:1"));
    assert_eq!(
        c.nat_nmask,
        Some(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)))
    );
    assert_eq!(ok("nat_nmask = 0.0.0.0\n").nat_nmask, None);
    assert_eq!(errors("nat_nmask = 255.255.255.0.0\n").len(), 1);
}

#[test]
fn strings_and_commands() {
    let c = ok(concat!(
        "debug_level = ALL\n",
        "active_cmd = \"/etc/ha/active.sh master\"\n",
        "inactive_cmd = /etc/ha/inactive.sh\n",
        "rsh_command = ssh\n",
        "ipvsadm = /usr/sbin/ipvsadm\n",
        "syncd_iface = eth1\n",
    ));
    assert_eq!(c.debug_level, "ALL");
    assert_eq!(c.active_cmd.as_deref(), Some("/etc/ha/active.sh master"));
    assert_eq!(c.inactive_cmd.as_deref(), Some("/etc/ha/inactive.sh"));
    assert_eq!(c.rsh_command, "ssh");
    assert_eq!(c.ipvsadm, "/usr/sbin/ipvsadm");
    assert_eq!(c.syncd_iface, "eth1");
    // Single quotes work too, and may hold double quotes.
    let c = ok("active_cmd = 'echo \"x\"'\n");
    assert_eq!(c.active_cmd.as_deref(), Some("echo \"x\""));
}

#[test]
fn monitor_links_and_sync_ids() {
    assert!(ok("monitor_links = 5\n").monitor_links);
    assert!(!ok("monitor_links = 0\n").monitor_links);
    assert_eq!(ok("syncd_id = 7\n").syncd_id, 7);
    assert_eq!(ok("syncd_id = 257\n").syncd_id, 1);
    assert_eq!(warnings("syncd_id = 257\n").len(), 1);
}

#[test]
fn ipvs_timeouts() {
    let c = ok("tcp_timeout = 900\ntcpfin_timeout = 120\nudp_timeout = 300\n");
    assert_eq!(
        (c.tcp_timeout, c.tcpfin_timeout, c.udp_timeout),
        (900, 120, 300)
    );
    assert_eq!(errors("udp_timeout = -1\n").len(), 1);
}

#[test]
fn nanny_mode_is_an_extension() {
    let src = "nanny_mode = shared\n";
    assert_eq!(ok(src).nanny_mode, NannyMode::Shared);
    assert_eq!(notes(src), ["nanny-mode"]);
    assert_eq!(ok("nanny_mode = process\n").nanny_mode, NannyMode::Process);
}

#[test]
fn heartbeat_key_file_is_an_extension() {
    let src = "heartbeat_key_file = /etc/sysconfig/ha/heartbeat.key\n";
    assert_eq!(
        ok(src).heartbeat_key_file.as_deref(),
        Some("/etc/sysconfig/ha/heartbeat.key")
    );
    assert_eq!(notes(src), ["heartbeat-auth"]);
    assert_eq!(ok("serial_no = 1\n").heartbeat_key_file, None);
    assert_eq!(
        errors("heartbeat_key_file = \"\"\n"),
        ["heartbeat_key_file: a file name expected"]
    );
}

#[test]
fn arp_count_and_interval_are_an_extension() {
    let d = ok("serial_no = 1\n");
    assert_eq!((d.arp_count, d.arp_interval), (5, Duration::from_secs(1)));
    let src = "arp_count = 3\narp_interval = 0.2\n";
    let c = ok(src);
    assert_eq!(
        (c.arp_count, c.arp_interval),
        (3, Duration::from_millis(200))
    );
    assert_eq!(
        notes(src),
        ["arp-schedule", "arp-schedule", "fractional-timer"]
    );
    assert_eq!(
        ok("arp_interval = 2\n").arp_interval,
        Duration::from_secs(2)
    );
    assert_eq!(errors("arp_count = 0\n").len(), 1);
    assert_eq!(errors("arp_count = 101\n").len(), 1);
    assert_eq!(
        errors("arp_interval = 0\n"),
        ["arp_interval must be greater than 0"]
    );
}

#[test]
fn hot_standby_is_an_extension() {
    let src = "hot_standby = 1\n";
    assert!(ok(src).hot_standby);
    assert_eq!(notes(src), ["hot-standby"]);
    assert!(!ok("serial_no = 1\n").hot_standby);
    assert!(!ok("hot_standby = 0\n").hot_standby);
    assert_eq!(errors("hot_standby = 2\n").len(), 1);
}

#[test]
fn fastest_heartbeat_timers_accepted() {
    // pulse's fastest documented setting (fractional-timer extension).
    let c = ok("keepalive = 0.01\ndeadtime = 0.03\n");
    assert_eq!(c.keepalive, Duration::from_millis(10));
    assert_eq!(c.deadtime, Duration::from_millis(30));
}

#[test]
fn pulse_extensions_round_trip_through_the_writer() {
    let c = ok("heartbeat_key_file = /k\narp_count = 2\narp_interval = 0.5\nhot_standby = 1\n");
    let text = lvscf::write(&c);
    let back = ok(&text);
    assert_eq!(back.heartbeat_key_file.as_deref(), Some("/k"));
    assert_eq!(
        (back.arp_count, back.arp_interval),
        (2, Duration::from_millis(500))
    );
    assert!(back.hot_standby);
    // Defaults are not written: the file stays loadable by the original.
    let plain = lvscf::write(&ok("serial_no = 1\n"));
    assert!(!plain.contains("arp_") && !plain.contains("hot_standby"));
}

// ---- virtual -------------------------------------------------------------

#[test]
fn virtual_defaults() {
    let c = ok(&virt(""));
    let v = &c.virtuals[0];
    assert_eq!(v.name, "v");
    assert_eq!(v.port, 80);
    assert_eq!(v.protocol, Protocol::Tcp);
    assert_eq!(v.scheduler, Scheduler::Wlc);
    assert_eq!(v.timeout, Duration::from_secs(10));
    assert_eq!(v.reentry, Duration::from_secs(180));
    assert!(!v.active && !v.quiesce_server && !v.use_regex);
    assert_eq!(v.fwmark, None);
    assert_eq!(v.client_monitor, "/usr/sbin/nanny");
    assert_eq!(v.load_monitor, None);
}

#[test]
fn virtual_keys() {
    let c = ok(&virt(concat!(
        " active = 1\n vip_nmask = 255.255.255.0\n sorry_server = 192.0.2.250\n",
        " fwmark = 3\n protocol = udp\n port = 53\n scheduler = lblcr\n persistent = 300\n",
        " pmask = 255.255.255.0\n send_program = \"/bin/check %h %p\"\n expect = OK\n",
        " load_monitor = ruptime\n timeout = 6\n reentry = 15\n quiesce_server = 1\n",
        " client_monitor = /opt/nanny\n master = 203.0.113.2\n dirs = [ /a \"/b c\" ]",
    )));
    let v = &c.virtuals[0];
    assert!(v.active && v.quiesce_server);
    let a = v.address.as_ref().expect("address");
    assert_eq!((a.addr, a.device.as_str()), (ip("203.0.113.10"), "eth0:1"));
    assert_eq!(
        v.vip_nmask,
        Some(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)))
    );
    assert_eq!(v.sorry_server, Some(ip("192.0.2.250")));
    assert_eq!(v.fwmark, Some(3));
    assert_eq!(v.protocol, Protocol::Udp);
    assert_eq!(v.port, 53);
    assert_eq!(v.scheduler, Scheduler::Lblcr);
    assert_eq!(v.persistent, 300);
    assert_eq!(v.pmask, Some(Netmask::V4(Ipv4Addr::new(255, 255, 255, 0))));
    assert_eq!(v.send_program.as_deref(), Some("/bin/check %h %p"));
    assert_eq!(v.expect.as_ref().map(|e| e.text.as_str()), Some("OK"));
    assert_eq!(v.load_monitor, Some(LoadMonitor::Ruptime));
    assert_eq!(v.timeout, Duration::from_secs(6));
    assert_eq!(v.reentry, Duration::from_secs(15));
    assert_eq!(v.client_monitor, "/opt/nanny");
    assert_eq!(v.master, Some(ip("203.0.113.2")));
    assert_eq!(v.dirs, ["/a", "/b c"]);
}

#[test]
fn load_monitor_values() {
    for (s, m) in [
        ("none", LoadMonitor::None),
        ("uptime", LoadMonitor::Uptime),
        ("rup", LoadMonitor::Rup),
        ("ruptime", LoadMonitor::Ruptime),
        (
            "/usr/bin/load",
            LoadMonitor::Program("/usr/bin/load".into()),
        ),
    ] {
        let c = ok(&virt(&format!(" load_monitor = {s}")));
        assert_eq!(c.virtuals[0].load_monitor, Some(m));
    }
}

#[test]
fn fwmark_zero_is_none() {
    assert_eq!(ok(&virt(" fwmark = 0")).virtuals[0].fwmark, None);
}

#[test]
fn schedulers() {
    for s in Scheduler::ALL {
        let src = virt(&format!(" scheduler = {}", s.as_str()));
        assert_eq!(ok(&src).virtuals[0].scheduler, s);
        let n = notes(&src);
        if s.known_to_original() {
            assert!(n.is_empty());
        } else {
            assert_eq!(n, ["new-scheduler"]);
        }
    }
    assert_eq!(
        errors(&virt(" scheduler = fifo")),
        ["unknown scheduler \"fifo\""]
    );
}

#[test]
fn protocols() {
    let src = virt(" protocol = sctp");
    assert_eq!(ok(&src).virtuals[0].protocol, Protocol::Sctp);
    assert_eq!(notes(&src), ["sctp"]);
    assert_eq!(errors(&virt(" protocol = icmp")).len(), 1);
}

#[test]
fn ports() {
    assert_eq!(ok(&virt(" port = 0x1bb")).virtuals[0].port, 443);
    assert_eq!(ok(&virt(" port = https")).virtuals[0].port, 443);
    assert_eq!(
        errors(&virt(" port = 0")),
        ["port must be between 1 and 65535, found 0"]
    );
    assert_eq!(
        errors(&virt(" port = nosuchservice")),
        ["port: unknown service name \"nosuchservice\""]
    );
}

/// A resolver with a fixed /etc/services and host table.
struct Fixed;

impl Resolver for Fixed {
    fn host(&self, name: &str) -> Option<IpAddr> {
        (name == "web1.example.com").then(|| "192.0.2.11".parse().expect("ip"))
    }
    fn service(&self, name: &str) -> Option<u16> {
        (name == "http").then_some(80)
    }
}

#[test]
fn a_client_monitor_that_cannot_run_is_flagged_at_its_line() {
    // Not flagged before: lvsd then retried the monitor forever and left
    // the server in the table unchecked.
    let src = virt(" client_monitor = /nonexistent/monitor");
    let p = parse_with(&src, &SystemResolver::new());
    let w: Vec<(usize, String)> = p
        .of(Severity::Warning)
        .map(|d| (d.line, d.message.clone()))
        .collect();
    assert_eq!(
        w,
        [(
            3,
            "client_monitor /nonexistent/monitor is not an executable file here".to_owned()
        )]
    );
    assert!(
        p.config.is_some(),
        "a warning: the other router may have it"
    );
    // An executable file is fine; offline parsing does not look.
    assert!(
        parse_with(&virt(" client_monitor = /bin/sh"), &SystemResolver::new())
            .diagnostics
            .is_empty()
    );
    assert!(parse(&src).diagnostics.is_empty());
}

#[test]
fn system_service_names_are_not_extensions() {
    let p = parse_with(&virt(" port = http"), &Fixed);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    // Built-in table only: noted, since the original would have failed.
    assert_eq!(notes(&virt(" port = http")), ["builtin-service-name"]);
}

#[test]
fn host_names_resolve_at_parse_time() {
    let p = parse_with(&server(""), &Fixed);
    assert!(p.has_errors() || p.config.is_some());
    let p = parse_with(
        &virt(" server s {\n address = web1.example.com\n }"),
        &Fixed,
    );
    let c = p.config.expect("config");
    assert_eq!(c.virtuals[0].servers[0].address, ip("192.0.2.11"));
    let e = errors(&virt(" server s {\n address = web1.example.com\n }"));
    assert_eq!(
        e,
        ["address: cannot resolve host name \"web1.example.com\""]
    );
}

#[test]
fn system_resolver_knows_localhost() {
    let p = parse_with("primary = localhost\n", &SystemResolver::new());
    let c = p.config.expect("localhost resolves");
    assert!(c.primary.is_some_and(|a| a.is_loopback()));
}

#[test]
fn pmask_forms() {
    assert_eq!(
        ok(&virt(" pmask = 255.255.255.255")).virtuals[0].pmask,
        None
    );
    let src = virt(" pmask = 64");
    assert_eq!(ok(&src).virtuals[0].pmask, Some(Netmask::Prefix(64)));
    assert_eq!(notes(&src), ["ipv6"]);
    assert_eq!(errors(&virt(" pmask = 129")).len(), 1);
}

#[test]
fn ipv6_addresses() {
    let src = "virtual v {\n active = 1\n address = 2001:db8::10 eth0\n server s {\n  address = 2001:db8::11\n }\n}\n";
    let c = ok(src);
    assert_eq!(c.virtuals[0].servers[0].address, ip("2001:db8::11"));
    assert_eq!(notes(src), ["ipv6", "ipv6"]);
}

#[test]
fn sorry_server_takes_no_host_name() {
    assert_eq!(errors(&virt(" sorry_server = localhost")).len(), 1);
}

#[test]
fn timeout_and_reentry() {
    assert_eq!(
        errors(&virt(" timeout = 0")),
        ["timeout must be greater than 0"]
    );
    let src = virt(" timeout = 0.25\n reentry = 2.5");
    let v = &ok(&src).virtuals[0];
    assert_eq!(v.timeout, Duration::from_millis(250));
    assert_eq!(v.reentry, Duration::from_millis(2500));
    let src = virt(" reentry = 0");
    assert_eq!(ok(&src).virtuals[0].reentry, Duration::from_secs(180));
    assert_eq!(warnings(&src).len(), 1);
}

#[test]
fn timers_stop_at_nannys_millisecond() {
    // `timeout = 0.0004` used to load and reach nanny as `-t 0.`, which it
    // refused at every restart.
    let src = "virtual v {\n address = 203.0.113.10 eth0:1\n timeout = 0.0004\n}\n";
    let rendered = parse(src).render("lvs.cf", src);
    assert!(
        rendered.starts_with("lvs.cf:3:12: error: timeout 0.0004 is below 0.001 s\n"),
        "{rendered}"
    );
    assert_eq!(
        errors(&virt(" reentry = 1.0005")),
        ["reentry 1.0005 has more than 3 decimal places (the resolution is 1 ms)"]
    );
    assert_eq!(
        errors("keepalive = 0.0000001\n"),
        ["keepalive 0.0000001 is below 0.001 s"]
    );
    assert_eq!(
        errors(&virt(" timeout = 0.0")),
        ["timeout must be greater than 0"]
    );
    let v = &ok(&virt(" timeout = 0.001\n reentry = 1.5000"));
    assert_eq!(v.virtuals[0].timeout, Duration::from_millis(1));
    assert_eq!(v.virtuals[0].reentry, Duration::from_millis(1500));
}

#[test]
fn send_expect_escapes() {
    let c = ok(&virt(
        " send = \"GET / HTTP/1.0\\r\\n\\r\\n\"\n expect = \"a\\tb\\\\c\\'d\"",
    ));
    let v = &c.virtuals[0];
    let send = v.send.as_ref().expect("send");
    assert_eq!(send.text, "GET / HTTP/1.0\r\n\r\n");
    assert_eq!(send.raw, "\"GET / HTTP/1.0\\r\\n\\r\\n\"");
    assert_eq!(send.nanny_arg(), "GET / HTTP/1.0\\r\\n\\r\\n");
    assert_eq!(
        v.expect.as_ref().map(|e| e.text.as_str()),
        Some("a\tb\\c'd")
    );
    // Escaped double quote inside double quotes: an extension.
    let src = virt(" send = \"say \\\"hi\\\"\"");
    assert_eq!(
        ok(&src).virtuals[0].send.as_ref().map(|s| s.text.as_str()),
        Some("say \"hi\"")
    );
    assert_eq!(notes(&src), ["escaped-quote"]);
}

#[test]
fn unknown_escape_is_an_error() {
    let e = errors(&virt(" send = \"a\\qb\""));
    assert_eq!(
        e,
        ["unknown escape \"\\q\" in send (piranha's nanny hung forever on it)"]
    );
    let p = parse(&virt(" expect = \"HTTP/1\\.1\""));
    let d = p.of(Severity::Error).next().expect("error");
    assert_eq!((d.line, d.col, d.len), (3, 18, 2));
    // A single character is left alone, as nanny did.
    assert!(errors(&virt(" expect = \\")).is_empty());
}

#[test]
fn regex_expect_is_kept_verbatim_whatever_the_order() {
    for body in [
        " expect = \"HTTP/1\\.1 200\"\n use_regex = 1",
        " use_regex = 1\n expect = \"HTTP/1\\.1 200\"",
    ] {
        let c = ok(&virt(body));
        let e = c.virtuals[0].expect.as_ref().expect("expect");
        assert_eq!(e.text, "HTTP/1\\.1 200");
        assert!(c.virtuals[0].use_regex);
    }
    // send is never a regex.
    assert_eq!(errors(&virt(" send = \"a\\.b\"\n use_regex = 1")).len(), 1);
}

#[test]
fn single_quoted_send_keeps_its_quotes_for_nanny() {
    let src = virt(" send = 'GET'");
    let c = ok(&src);
    let s = c.virtuals[0].send.as_ref().expect("send");
    assert_eq!(s.text, "GET");
    assert_eq!(s.nanny_arg(), "'GET'");
    assert_eq!(warnings(&src).len(), 1);
}

#[test]
fn send_program_overrides_send() {
    let src = virt(" send = x\n send_program = /bin/check");
    assert_eq!(warnings(&src).len(), 1);
}

#[test]
fn address_rules() {
    assert_eq!(
        errors(&virt(" address = 203.0.113.11")),
        ["\"address\" needs an interface after the address"]
    );
    assert_eq!(
        errors("virtual v {\n active = 1\n}\n"),
        ["active virtual \"v\" has no address"]
    );
    // An inactive virtual may lack one (the GUI writes such drafts).
    assert!(
        ok("virtual v {\n active = 0\n}\n").virtuals[0]
            .address
            .is_none()
    );
}

#[test]
fn start_stop_cmd_in_virtual_warn() {
    assert_eq!(warnings(&virt(" start_cmd = /bin/true")).len(), 1);
}

// ---- server ----------------------------------------------------------------

#[test]
fn server_keys_and_defaults() {
    let c = ok(&server(""));
    let s = &c.virtuals[0].servers[0];
    assert_eq!(s.name, "s");
    assert!(!s.active);
    assert_eq!((s.weight, s.port), (1, 80));
    let c = ok(&server("  active = 1\n  weight = 100\n  port = 8080"));
    let s = &c.virtuals[0].servers[0];
    assert!(s.active);
    assert_eq!((s.weight, s.port), (100, 8080));
}

#[test]
fn server_port_by_service_name_is_an_extension() {
    let src = server("  port = https");
    assert_eq!(ok(&src).virtuals[0].servers[0].port, 443);
    assert!(notes(&src).contains(&"service-name-real-port"));
}

#[test]
fn server_takes_port_parsed_so_far() {
    let src = "virtual v {\n address = 203.0.113.10 eth0:1\n server a {\n  address = 192.0.2.11\n }\n port = 443\n server b {\n  address = 192.0.2.12\n }\n}\n";
    let c = ok(src);
    assert_eq!(c.virtuals[0].servers[0].port, 80);
    assert_eq!(c.virtuals[0].servers[1].port, 443);
    let w = of(src, Severity::Warning);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].line, 6);
}

#[test]
fn weights() {
    let src = server("  weight = 0");
    assert_eq!(ok(&src).virtuals[0].servers[0].weight, 1);
    assert_eq!(
        warnings(&src),
        ["weight = 0 behaves as weight 1 (as in piranha)"]
    );
    let src = server("  weight = 010");
    assert_eq!(ok(&src).virtuals[0].servers[0].weight, 10);
    assert_eq!(
        warnings(&src),
        ["leading zero: read as decimal 10, but piranha 0.8.6 read \"010\" as octal, i.e. 8"]
    );
    let src = server("  weight = 08");
    assert_eq!(ok(&src).virtuals[0].servers[0].weight, 8);
    assert_eq!(notes(&src), ["leading-zero-decimal"]);
    assert_eq!(errors(&server("  weight = -1")).len(), 1);
}

#[test]
fn server_needs_address() {
    assert_eq!(
        errors(&virt(" server s {\n }")),
        ["server \"s\" has no address"]
    );
}

// ---- failover ----------------------------------------------------------------

#[test]
fn failover_blocks() {
    let src = "service = fos\nfailover f {\n active = 1\n address = 203.0.113.20 eth0:1\n port = 25\n protocol = tcp\n send = \"HELO\\r\\n\"\n expect = 220\n timeout = 3\n start_cmd = \"/etc/init.d/smtp start\"\n stop_cmd = \"/etc/init.d/smtp stop\"\n vip_nmask = 255.255.255.0\n send_program = /bin/x\n}\n";
    let c = ok(src);
    let f = &c.failovers[0];
    assert_eq!(f.name, "f");
    assert!(f.active);
    assert_eq!(f.port, 25);
    assert_eq!(f.timeout, Duration::from_secs(3));
    assert_eq!(f.start_cmd.as_deref(), Some("/etc/init.d/smtp start"));
    assert_eq!(f.stop_cmd.as_deref(), Some("/etc/init.d/smtp stop"));
    assert_eq!(f.send.as_ref().map(|s| s.text.as_str()), Some("HELO\r\n"));
    assert!(c.virtuals.is_empty());
    assert_eq!(
        warnings("failover f {\n scheduler = rr\n}\n"),
        ["\"scheduler\" has no effect in a failover block"]
    );
    assert_eq!(
        errors("failover f {\n}\nfailover f {\n}\n"),
        ["duplicate failover name \"f\""]
    );
}

// ---- lexical rules and error classes ----------------------------------------

#[test]
fn keys_are_case_sensitive() {
    assert_eq!(
        errors("Keepalive = 2\n"),
        ["unknown key \"Keepalive\" at top level — did you mean \"keepalive\"?"]
    );
}

#[test]
fn never_implemented_keys() {
    for k in ["mode", "heartbeat_dev", "debug"] {
        let p = parse(&format!("{k} = 1\n"));
        assert!(p.has_errors());
    }
}

#[test]
fn empty_configuration() {
    assert_eq!(errors(""), ["empty configuration"]);
    assert_eq!(errors("\n \n"), ["empty configuration"]);
}

#[test]
fn all_errors_in_one_run() {
    let src = "keepalive = x\nvirtual v {\n schedular = rr\n port = 0\n server s {\n  weight = -2\n }\n}\nbogus = 1\n";
    let p = parse(src);
    let lines: Vec<usize> = p.of(Severity::Error).map(|d| d.line).collect();
    assert_eq!(lines, [1, 3, 4, 5, 6, 9]);
}

#[test]
fn duplicate_keys_last_wins() {
    let src = "keepalive = 3\nkeepalive = 4\n";
    assert_eq!(ok(src).keepalive, Duration::from_secs(4));
    assert_eq!(warnings(src).len(), 1);
}

#[test]
fn crlf_and_layout_extensions() {
    let src = "keepalive=3\r\nvirtual v{\r\n address = 203.0.113.10 eth0:1 # vip\r\n}\r\n";
    let c = ok(src);
    assert_eq!(c.keepalive, Duration::from_secs(3));
    assert_eq!(c.virtuals.len(), 1);
    assert_eq!(
        notes(src),
        [
            "no-blanks-around-equal",
            "crlf",
            "brace-placement",
            "trailing-comment"
        ]
    );
}

#[test]
fn structure_errors() {
    assert_eq!(
        errors("virtual v {\n address = 203.0.113.10 eth0:1\n"),
        ["virtual \"v\" is not closed at end of file"]
    );
    assert_eq!(errors("virtual v {\n} # fine\n}\n"), ["unmatched \"}\""]);
    assert_eq!(
        errors("virtual v {\n} junk\n"),
        ["unexpected text after a closing brace"]
    );
}

#[test]
fn diagnostics_render_rustc_style() {
    let src = "virtual web {\n     schedular = wlc\n}\n";
    let p = parse(src);
    assert_eq!(
        p.render("lvs.cf", src),
        "lvs.cf:2:6: error: unknown key \"schedular\" in virtual \"web\" — did you mean \"scheduler\"?\n  |\n2 |      schedular = wlc\n  |      ^^^^^^^^^\n\n"
    );
}

#[test]
fn parse_file_reports_path() {
    let err = lvscf::parse_file("/nonexistent/lvs.cf").expect_err("missing file");
    assert!(
        err.to_string()
            .starts_with("failed to open /nonexistent/lvs.cf: ")
    );
    let dir = std::env::temp_dir().join(format!("lvscf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("lvs.cf");
    std::fs::write(&path, b"# caf\xe9\nkeepalive = 3\n").expect("write");
    let f = lvscf::parse_file(&path).expect("parse_file");
    assert!(!f.has_errors());
    assert_eq!(f.diagnostics.len(), 1, "non-UTF-8 warning");
    assert!(f.render().contains("lvs.cf:1:6: warning:"));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_byte_that_is_not_utf8_in_a_value_is_an_error_at_its_place() {
    // piranha sent the raw byte; a replacement character instead would
    // reach the real server, so the file is refused with the place.
    let dir = std::env::temp_dir().join(format!("lvscf-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("lvs.cf");
    std::fs::write(
        &path,
        b"# caf\xe9 in a comment is fine\nvirtual v {\n address = 203.0.113.10 eth0:1\n send = \"GET / caf\xe9\"\n expect = \"#\xff\"\n}\n",
    )
    .expect("write");
    let f = lvscf::parse_file(&path).expect("parse_file");
    assert!(f.config.is_none());
    let errors: Vec<(usize, usize, String)> = f
        .of(Severity::Error)
        .map(|d| (d.line, d.col, d.message.clone()))
        .collect();
    let text = |b: &str| {
        format!(
            "byte 0x{b} is not UTF-8: outside a comment it would be passed on as U+FFFD, not as written"
        )
    };
    assert_eq!(errors, [(4, 19, text("E9")), (5, 13, text("FF"))]);
    assert_eq!(f.of(Severity::Warning).count(), 1, "the comment's byte");
    // The same bytes parsed without a file: the same result, and
    // read_file gives the bytes parse_file parsed.
    let bytes = lvscf::read_file(&path).expect("read_file");
    assert_eq!(bytes, std::fs::read(&path).expect("read"));
    assert_eq!(lvscf::parse_bytes(&path, &bytes), f);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// `parse_file(path)`'s error text, within 5 s (a FIFO used to block the
/// reader until a writer came, and /dev/zero to fill the memory).
fn read_error(path: &std::path::Path) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(lvscf::parse_file(&p).map(|_| ()).map_err(|e| e.to_string()));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(5)) {
        Ok(r) => r.expect_err("must be refused"),
        Err(_) => panic!("parse_file({}) still reading after 5 s", path.display()),
    }
}

#[test]
fn parse_file_reads_only_a_regular_file_of_sane_size() {
    let dir = std::env::temp_dir().join(format!("lvscf-kinds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let fifo = dir.join("fifo.cf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    assert_eq!(
        read_error(&fifo),
        format!(
            "failed to open {}: not a regular file (a FIFO)",
            fifo.display()
        )
    );
    assert_eq!(
        read_error(std::path::Path::new("/dev/zero")),
        "failed to open /dev/zero: not a regular file (a character device)"
    );
    assert_eq!(
        read_error(&dir),
        format!(
            "failed to open {}: not a regular file (a directory)",
            dir.display()
        )
    );
    // Sparse: no disk space used.
    let big = dir.join("big.cf");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(lvscf::MAX_FILE_SIZE + 1).expect("set_len");
    assert_eq!(
        read_error(&big),
        format!("failed to open {}: larger than 64 MiB", big.display())
    );
    // Up to the limit, and through a symbolic link, it is read.
    let ok = dir.join("ok.cf");
    std::fs::write(&ok, "keepalive = 3\n").expect("write");
    let link = dir.join("link.cf");
    std::os::unix::fs::symlink(&ok, &link).expect("symlink");
    assert!(!lvscf::parse_file(&link).expect("regular").has_errors());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn extensions_registry_is_complete() {
    // Every id used by the parser is registered (checked in debug builds
    // by ext::note); every registered id has a description.
    for e in lvscf::EXTENSIONS {
        assert!(!e.description.is_empty());
        assert_eq!(lvscf::extension(e.id), Some(e));
    }
}

#[test]
fn serializes_to_json_shape() {
    // serde is wired up: serializing through a minimal serializer works.
    fn assert_serialize<T: serde::Serialize>(_: &T) {}
    assert_serialize(&ok("keepalive = 3\n"));
}
