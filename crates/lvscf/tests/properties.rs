//! Property tests: random valid configs survive write → parse, and random
//! input never panics the parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use lvscf::{
    CheckString, Config, FailoverService, Forwarding, InterfaceAddress, LoadMonitor, NannyMode,
    Netmask, OfflineResolver, Protocol, RealServer, Scheduler, Seconds, ServiceKind, VirtualServer,
    parse_with, write,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        4 => any::<u32>()
            .prop_filter("usable", |v| *v != 0)
            .prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        1 => any::<u128>()
            .prop_filter("usable", |v| *v != 0)
            .prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
    ]
}

/// Any printable text, including quotes, backslashes, `#`, `=` and blanks.
fn text() -> impl Strategy<Value = String> {
    "[ -~\t]{0,12}"
}

fn device() -> impl Strategy<Value = String> {
    "[ -~]{1,10}"
}

fn iface() -> impl Strategy<Value = InterfaceAddress> {
    (ip(), device()).prop_map(|(addr, device)| InterfaceAddress { addr, device })
}

fn timer() -> impl Strategy<Value = Seconds> {
    prop_oneof![
        3 => (1u64..100_000).prop_map(|s| Seconds::from_secs(s).expect("in range")),
        1 => (1u64..1_000_000).prop_map(|ms| Seconds::from_millis(ms).expect("in range")),
    ]
}

/// Heartbeat timers stay `Duration`s in the model, in the same syntax.
fn heartbeat_timer() -> impl Strategy<Value = Duration> {
    timer().prop_map(Seconds::as_duration)
}

fn netmask() -> impl Strategy<Value = Netmask> {
    prop_oneof![
        any::<u32>()
            .prop_filter("set, not all ones", |m| *m != 0 && *m != u32::MAX)
            .prop_map(|m| Netmask::V4(Ipv4Addr::from(m))),
        (0u8..=128).prop_map(Netmask::Prefix),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    1u16..=65535
}

fn send() -> impl Strategy<Value = CheckString> {
    "[ -~\t\r\n]{0,16}".prop_map(CheckString::new)
}

/// A regex as an admin writes it: no bare `"`, backslash only before a
/// character.
fn regex() -> impl Strategy<Value = CheckString> {
    "([ !#-\\[\\]-~]|\\\\[.()\\[\\]*+?])*".prop_map(CheckString::regex)
}

fn scheduler() -> impl Strategy<Value = Scheduler> {
    proptest::sample::select(Scheduler::ALL.to_vec())
}

fn protocol() -> impl Strategy<Value = Protocol> {
    proptest::sample::select(vec![Protocol::Tcp, Protocol::Udp, Protocol::Sctp])
}

fn load_monitor() -> impl Strategy<Value = LoadMonitor> {
    prop_oneof![
        Just(LoadMonitor::None),
        Just(LoadMonitor::Uptime),
        Just(LoadMonitor::Rup),
        Just(LoadMonitor::Ruptime),
        "/[a-z/ ]{1,10}".prop_map(LoadMonitor::Program),
    ]
}

fn server(vport: u16) -> impl Strategy<Value = RealServer> {
    (
        "[a-z0-9 {}#=\"]{1,8}",
        ip(),
        any::<bool>(),
        1u32..=65535,
        prop_oneof![Just(vport), port()],
    )
        .prop_map(|(name, address, active, weight, port)| RealServer {
            name,
            address,
            active,
            weight,
            port,
        })
}

fn virtual_server() -> impl Strategy<Value = VirtualServer> {
    let head = (
        any::<bool>(),
        of(iface()),
        of(netmask()),
        of(ip()),
        of(1u32..),
        protocol(),
        port(),
        scheduler(),
        any::<u32>(),
        of(netmask()),
    );
    let checks = (
        of(send()),
        any::<bool>(),
        of(send()),
        of(regex()),
        of(text()),
        of(load_monitor()),
        timer(),
        timer(),
        any::<bool>(),
        "/[a-z/]{1,10}",
        of(ip()),
        vec(text(), 0..3),
    );
    (head, checks)
        .prop_flat_map(|(head, checks)| {
            let servers = vec(server(head.6), 0..4);
            (Just(head), Just(checks), servers)
        })
        .prop_map(|(h, c, servers)| {
            let (
                active,
                address,
                vip_nmask,
                sorry_server,
                fwmark,
                protocol,
                port,
                scheduler,
                persistent,
                pmask,
            ) = h;
            let (
                send,
                use_regex,
                plain_expect,
                regex_expect,
                send_program,
                load_monitor,
                timeout,
                reentry,
                quiesce_server,
                client_monitor,
                master,
                dirs,
            ) = c;
            let mut v = VirtualServer::new("");
            v.active = active && address.is_some();
            v.address = address;
            v.vip_nmask = vip_nmask;
            v.sorry_server = sorry_server;
            v.fwmark = fwmark;
            v.protocol = protocol;
            v.port = port;
            v.scheduler = scheduler;
            v.persistent = persistent;
            v.pmask = pmask;
            v.send = send;
            v.use_regex = use_regex;
            v.expect = if use_regex {
                regex_expect
            } else {
                plain_expect
            };
            v.send_program = send_program;
            v.load_monitor = load_monitor;
            v.timeout = timeout;
            v.reentry = reentry;
            v.quiesce_server = quiesce_server;
            v.client_monitor = client_monitor;
            v.master = master;
            v.dirs = dirs;
            // Server names must be unique within the virtual.
            v.servers = servers
                .into_iter()
                .enumerate()
                .map(|(i, mut s)| {
                    s.name = format!("{}{i}", s.name);
                    s
                })
                .collect();
            v
        })
}

fn failover() -> impl Strategy<Value = FailoverService> {
    (
        any::<bool>(),
        of(iface()),
        of(netmask()),
        port(),
        protocol(),
        of(send()),
        of(send()),
        of(text()),
        timer(),
        of(text()),
        of(text()),
    )
        .prop_map(
            |(
                active,
                address,
                vip_nmask,
                port,
                protocol,
                send,
                expect,
                send_program,
                timeout,
                start_cmd,
                stop_cmd,
            )| FailoverService {
                name: String::new(),
                active,
                address,
                vip_nmask,
                port,
                protocol,
                send,
                expect,
                send_program,
                timeout,
                start_cmd,
                stop_cmd,
            },
        )
}

fn config() -> impl Strategy<Value = Config> {
    let a = (
        any::<i64>(),
        of(ip()),
        of(ip()),
        of(text()),
        of(ip()),
        of(ip()),
        of(text()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        port(),
        (heartbeat_timer(), heartbeat_timer()),
    );
    let b = (
        proptest::sample::select(vec![
            Forwarding::Nat,
            Forwarding::Direct,
            Forwarding::Tunnel,
        ]),
        of(iface()),
        of(netmask()),
        of(text()),
        text(),
        (any::<bool>(), any::<bool>(), device(), any::<u8>()),
        (any::<u32>(), any::<u32>(), any::<u32>()),
        any::<bool>(),
        (of(text()), of(text())),
        (text(), text()),
        any::<bool>(),
        any::<bool>(),
    );
    let blocks = (vec(virtual_server(), 0..4), vec(failover(), 0..2));
    (a, b, blocks).prop_map(|(a, b, (virtuals, failovers))| {
        let mut c = Config::default();
        (
            c.serial_no,
            c.primary,
            c.primary_private,
            c.primary_shared,
            c.backup,
            c.backup_private,
            c.backup_shared,
            c.backup_active,
            c.heartbeat,
            c.sync,
            c.heartbeat_port,
            (c.keepalive, c.deadtime),
        ) = a;
        let fos;
        let shared;
        (
            c.network,
            c.nat_router,
            c.nat_nmask,
            c.reservation_conflict_action,
            c.debug_level,
            (c.monitor_links, c.syncdaemon, c.syncd_iface, c.syncd_id),
            (c.tcp_timeout, c.tcpfin_timeout, c.udp_timeout),
            c.hard_shutdown,
            (c.active_cmd, c.inactive_cmd),
            (c.rsh_command, c.ipvsadm),
            fos,
            shared,
        ) = b;
        c.service = if fos {
            ServiceKind::Fos
        } else {
            ServiceKind::Lvs
        };
        c.nanny_mode = if shared {
            NannyMode::Shared
        } else {
            NannyMode::Process
        };
        // The file cannot say "primary without primary_private": reading
        // fills it in (piranha's rule), so a normalised config has it.
        if c.primary.is_some() && c.primary_private.is_none() {
            c.primary_private = c.primary;
        }
        c.virtuals = virtuals
            .into_iter()
            .enumerate()
            .map(|(i, mut v)| {
                v.name = format!("vs {i}");
                v
            })
            .collect();
        c.failovers = failovers
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                f.name = format!("fo#{i}");
                f
            })
            .collect();
        c
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn write_then_parse_is_identity(c in config()) {
        let text = write(&c);
        let parsed = parse_with(&text, &OfflineResolver);
        prop_assert!(!parsed.has_errors(), "{}\n{}", text, parsed.render("w.cf", &text));
        prop_assert_eq!(parsed.config.as_ref(), Some(&c), "{}", text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        let src = String::from_utf8_lossy(&bytes);
        let p = parse_with(&src, &OfflineResolver);
        let _ = p.render("f.cf", &src);
        prop_assert_eq!(p.config.is_none(), p.has_errors());
    }

    /// Lines assembled from lvs.cf vocabulary reach far deeper than bytes.
    #[test]
    fn random_lines_never_panic(lines in vec(line(), 0..40)) {
        let src = lines.join("\n");
        let p = parse_with(&src, &OfflineResolver);
        let _ = p.render("f.cf", &src);
        if let Some(c) = p.config {
            let again = parse_with(&write(&c), &OfflineResolver);
            prop_assert_eq!(again.config, Some(c));
        }
    }
}

fn line() -> impl Strategy<Value = String> {
    let keys: Vec<&'static str> = lvscf::GLOBAL_KEYS
        .iter()
        .chain(lvscf::VIRTUAL_KEYS)
        .chain(lvscf::SERVER_KEYS)
        .copied()
        .collect();
    let values = proptest::sample::select(vec![
        "1",
        "0",
        "010",
        "08",
        "0x1f",
        "-1",
        "0.5",
        "65536",
        "http",
        "203.0.113.10",
        "203.0.113.10 eth0:1",
        "2001:db8::1",
        "255.255.255.255",
        "64",
        "wlc",
        "sed",
        "udp",
        "\"GET / HTTP/1.0\\r\\n\"",
        "'x'",
        "\"a\\.b\"",
        "\"open",
        "[ a b ]",
        "#",
        "\"\" ",
        "nat",
        "fos",
        "shared",
        "none",
    ]);
    prop_oneof![
        (
            proptest::sample::select(keys),
            "[ \t]{0,2}",
            values,
            "( # c)?"
        )
            .prop_map(|(k, b, v, c)| format!("{b}{k} = {v}{c}")),
        "(virtual|server|failover) [a-z]{1,3} ?\\{?".prop_map(|s| s.to_string()),
        Just("}".to_string()),
        Just("{".to_string()),
        "[ -~]{0,20}",
    ]
}
