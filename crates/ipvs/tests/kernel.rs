//! Tests against the running kernel's IPVS table.  They need root and a
//! kernel with `ip_vs`, so they are ignored unless the `kernel-tests`
//! feature is on, and are meant to run inside the qemu guest:
//!
//! ```text
//! export CARGO_TARGET_DIR=/work/main/target-ipvs
//! BIN=$(cargo test -p ipvs --features kernel-tests --test kernel --no-run \
//!        --message-format=json | jq -r 'select(.executable != null) | .executable')
//! tests/vm/run.sh -- "$BIN" --test-threads=1
//! ```
//!
//! Every test flushes the table first and last.  They share one kernel
//! table, hence `--test-threads=1`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::Instant;

use ipvs::conformance::{self, CASES, Env};
use ipvs::save::{self, SaveLine};
use ipvs::wire::msg::IpvsMessage;
use ipvs::*;

fn table() -> NetlinkIpvs {
    let mut t = NetlinkIpvs::new().expect("open IPVS");
    t.flush().expect("flush");
    t
}

/// In-tree schedulers whose module this kernel lacks.
fn missing_schedulers() -> Vec<Scheduler> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = format!("/lib/modules/{}/kernel/net/netfilter/ipvs", release.trim());
    let builtin =
        std::fs::read_to_string(format!("/lib/modules/{}/modules.builtin", release.trim()))
            .unwrap_or_default();
    Scheduler::IN_TREE
        .iter()
        .filter(|s| {
            let base = format!("ip_vs_{}.ko", s.name());
            let as_module = ["", ".xz", ".zst", ".gz"]
                .iter()
                .any(|ext| std::path::Path::new(&format!("{dir}/{base}{ext}")).exists());
            !as_module && !builtin.contains(&format!("/{base}"))
        })
        .cloned()
        .collect()
}

fn env() -> Env {
    Env::without(&missing_schedulers(), "lo")
}

fn run_case(name: &str) {
    let (_, case) = CASES.iter().find(|(n, _)| *n == name).expect("case exists");
    let mut t = table();
    case(&mut t, &env());
    assert!(
        t.list().expect("list").is_empty(),
        "case {name} left entries behind"
    );
}

macro_rules! conformance_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            #[cfg_attr(not(feature = "kernel-tests"), ignore)]
            fn $name() {
                run_case(stringify!($name));
            }
        )*
        /// Every conformance case has a kernel test above.
        #[test]
        fn every_case_is_listed() {
            let listed = [$(stringify!($name)),*];
            for (n, _) in CASES {
                assert!(listed.contains(n), "conformance case {n} has no kernel test");
            }
        }
    };
}

conformance_tests!(
    info,
    flush_empties,
    add_list_roundtrip,
    persistence_netmask,
    service_flags,
    edit_service,
    edit_destination,
    delete,
    duplicates,
    missing,
    schedulers,
    invalid_arguments,
    out_of_range,
    mixed_family_tunnel,
    zero,
    timeouts,
    sync_daemons,
    batch_partial_failure,
    large_batch,
);

fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .expect("run ipvsadm");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn ipvsadm_restore(lines: &str) {
    let mut child = Command::new("ipvsadm")
        .arg("-R")
        .stdin(Stdio::piped())
        .spawn()
        .expect("ipvsadm -R");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("write");
    let status = child.wait().expect("wait");
    assert!(status.success(), "ipvsadm -R failed");
}

/// Lines as a sorted multiset (ipvsadm sorts destinations, the kernel does not).
fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

/// What `ipvsadm -S -n` should print for the table the crate lists.
fn crate_save(t: &mut NetlinkIpvs) -> String {
    let listed = t.list().expect("list");
    let pairs: Vec<(Service, Vec<Destination>)> = listed
        .into_iter()
        .map(|e| {
            (
                e.service,
                e.destinations.into_iter().map(|d| d.destination).collect(),
            )
        })
        .collect();
    save::save(pairs.iter().map(|(s, d)| (s, d.as_slice())))
}

/// A table with every feature ipvsadm can express: all key kinds, all
/// forwarding methods and tunnel types, persistence with masks, flags.
fn rich_table() -> Vec<(Service, Vec<Destination>)> {
    let mut t = conformance::sample_table();
    // ipvsadm prints no thresholds: keep them zero here.
    for (_, ds) in &mut t {
        for d in ds {
            d.upper_threshold = 0;
            d.lower_threshold = 0;
        }
    }
    let mut p4 = Service::new(
        ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)), 0),
        Scheduler::WLC,
    );
    p4.persistence = Some(Persistence {
        timeout: 300,
        netmask: Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
    });
    let mut p6 = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 8), Scheduler::SH);
    p6.persistence = Some(Persistence {
        timeout: 60,
        netmask: Netmask::V6Prefix(64),
    });
    p6.flags = ServiceFlags::SCHED1 | ServiceFlags::SCHED2;
    let mut ops = Service::new(
        ServiceKey::udp(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 21)), 53),
        Scheduler::RR,
    );
    ops.flags = ServiceFlags::ONE_PACKET
        | ServiceFlags::SCHED1
        | ServiceFlags::SCHED2
        | ServiceFlags::SCHED3;
    ops.persistence = Some(Persistence {
        timeout: 20,
        netmask: Netmask::V4(Ipv4Addr::new(255, 255, 0, 0)),
    });
    let mut mh = Service::new(
        ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 22)), 80),
        Scheduler::MH,
    );
    mh.flags = ServiceFlags::SCHED2;
    let none = Service::new(
        ServiceKey::tcp(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 23)), 80),
        Scheduler::NONE,
    );
    t.extend([
        (p4, vec![]),
        (p6, vec![]),
        (ops, vec![]),
        (mh, vec![]),
        (none, vec![]),
    ]);
    t
}

/// What the crate programs, `ipvsadm -S -n` shows exactly.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn crate_to_ipvsadm() {
    let mut t = table();
    let rich = rich_table();
    let results = t.apply(&conformance::program_changes(&rich));
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let want = save::save(rich.iter().map(|(s, d)| (s, d.as_slice())));
    let got = ipvsadm(&["-S", "-n"]);
    assert_eq!(sorted_lines(&got), sorted_lines(&want));
    // And ipvsadm's output parses to the model the crate programmed.
    let mut parsed: BTreeMap<ServiceKey, (Option<Service>, Vec<Destination>)> = BTreeMap::new();
    for l in save::parse(&got).expect("parse ipvsadm -S") {
        match l {
            SaveLine::Service(s) => {
                let k = s.key;
                parsed.entry(k).or_default().0 = Some(s)
            }
            SaveLine::Destination(k, d) => parsed.entry(k).or_default().1.push(d),
        }
    }
    let mut want_model = rich.clone();
    for (_, d) in &mut want_model {
        d.sort_by_key(Destination::key);
    }
    want_model.sort_by_key(|(s, _)| s.key);
    let got_model: Vec<(Service, Vec<Destination>)> = parsed
        .into_values()
        .map(|(s, mut d)| {
            d.sort_by_key(Destination::key);
            (s.expect("service line"), d)
        })
        .collect();
    assert_eq!(got_model, want_model);
    t.flush().expect("flush");
}

/// What ipvsadm programs, the crate reads back identically.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn ipvsadm_to_crate() {
    let mut t = table();
    let rules = "\
-A -t 192.0.2.10:80 -s wlc -p 300 -M 255.255.255.0
-a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 3
-a -t 192.0.2.10:80 -r 198.51.100.3:80 -g -w 0
-a -t 192.0.2.10:80 -r 198.51.100.4:80 -i -w 1 --tun-type ipip
-A -t 192.0.2.13:0 -s none -p 10
-A -u 192.0.2.11:53 -s mh -o -b mh-fallback
-A --sctp-service 192.0.2.12:9 -s nq
-A -f 7 -s rr
-a -f 7 -r 198.51.100.5:0 -g -w 1
-a -f 7 -r 198.51.100.6:0 -m -w 1
-A -f 8 -6 -s sh -p 60 -M 64 -b sh-fallback,sh-port
-a -f 8 -6 -r [2001:db8::5]:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -f 8 -6 -r [2001:db8::7]:0 -i -w 1 --tun-type gre --tun-nocsum
-A -u 192.0.2.14:53 -s rr -p 20 -M 255.255.0.0 -o -b flag-1,flag-2,flag-3
-A -t [2001:db8::1]:80 -s wrr -p 30
-a -t [2001:db8::1]:80 -r 198.51.100.9:80 -i -w 1 --tun-type ipip
-a -t [2001:db8::1]:80 -r [2001:db8::2]:80 -m -w 2
-a -t [2001:db8::1]:80 -r [2001:db8::3]:80 -i -w 1 --tun-type gue --tun-port 5555 --tun-nocsum
-a -t [2001:db8::1]:80 -r [2001:db8::4]:80 -i -w 1 --tun-type gue --tun-port 5555 --tun-remcsum
-A -t [2001:db8::9]:80 -s mh -b mh-port
-A -f 9 -s lc -o
";
    ipvsadm_restore(rules);
    // Thresholds are not in the save format; set some via ipvsadm -e and
    // check the crate sees them.
    ipvsadm(&[
        "-e",
        "-t",
        "192.0.2.10:80",
        "-r",
        "198.51.100.2:80",
        "-m",
        "-w",
        "3",
        "-x",
        "100",
        "-y",
        "10",
    ]);
    assert_eq!(sorted_lines(&crate_save(&mut t)), sorted_lines(rules));
    let listed = t.list().expect("list");
    let mut from_crate: Vec<(Service, Vec<Destination>)> = listed
        .into_iter()
        .map(|e| {
            let mut d: Vec<Destination> =
                e.destinations.into_iter().map(|d| d.destination).collect();
            d.sort_by_key(Destination::key);
            (e.service, d)
        })
        .collect();
    from_crate.sort_by_key(|(s, _)| s.key);
    let mut from_lines: BTreeMap<ServiceKey, (Option<Service>, Vec<Destination>)> = BTreeMap::new();
    for l in save::parse(rules).expect("parse") {
        match l {
            SaveLine::Service(s) => {
                let k = s.key;
                from_lines.entry(k).or_default().0 = Some(s)
            }
            SaveLine::Destination(k, d) => from_lines.entry(k).or_default().1.push(d),
        }
    }
    let mut want: Vec<(Service, Vec<Destination>)> = from_lines
        .into_values()
        .map(|(s, mut d)| {
            d.sort_by_key(Destination::key);
            (s.expect("service"), d)
        })
        .collect();
    for (s, ds) in &mut want {
        for d in ds {
            if s.key == ServiceKey::tcp("192.0.2.10".parse().expect("ip"), 80)
                && d.port == 80
                && d.forwarding == Forwarding::Masq
            {
                d.upper_threshold = 100;
                d.lower_threshold = 10;
            }
        }
    }
    assert_eq!(from_crate, want);
    t.flush().expect("flush");
}

/// Every scheduler the kernel has, added by ipvsadm, reads back; and the
/// crate's services with each show the same in `ipvsadm -S -n`.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn every_scheduler_both_ways() {
    let mut t = table();
    let env = env();
    eprintln!("kernel lacks: {:?}", env.missing_schedulers);
    let mut lines = String::new();
    for (i, s) in env.schedulers.iter().enumerate() {
        lines.push_str(&format!("-A -t 192.0.2.30:{} -s {}\n", 1000 + i, s.name()));
    }
    ipvsadm_restore(&lines);
    assert_eq!(sorted_lines(&crate_save(&mut t)), sorted_lines(&lines));
    t.flush().expect("flush");
    for (i, s) in env.schedulers.iter().enumerate() {
        let port = 1000 + u16::try_from(i).expect("port");
        t.add_service(&Service::new(
            ServiceKey::udp("192.0.2.31".parse().expect("ip"), port),
            s.clone(),
        ))
        .expect("add");
    }
    let want: String = env
        .schedulers
        .iter()
        .enumerate()
        .map(|(i, s)| format!("-A -u 192.0.2.31:{} -s {}\n", 1000 + i, s.name()))
        .collect();
    assert_eq!(sorted_lines(&ipvsadm(&["-S", "-n"])), sorted_lines(&want));
    for s in &env.missing_schedulers {
        match t.add_service(&Service::new(
            ServiceKey::tcp("192.0.2.32".parse().expect("ip"), 80),
            s.clone(),
        )) {
            Err(IpvsError::UnknownScheduler(n)) => assert_eq!(&n, s.name()),
            other => panic!("{s}: {other:?}"),
        }
    }
    t.flush().expect("flush");
}

/// Sync daemons and timeouts set by the crate are what ipvsadm reports, and back.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn daemons_and_timeouts_cross_check() {
    let mut t = table();
    let before = t.timeouts().expect("timeouts");
    t.set_timeouts(&Timeouts {
        tcp: 901,
        tcp_fin: 121,
        udp: 301,
    })
    .expect("set");
    assert_eq!(
        ipvsadm(&["-L", "--timeout"]).trim(),
        "Timeout (tcp tcpfin udp): 901 121 301"
    );
    ipvsadm(&["--set", "902", "122", "302"]);
    assert_eq!(
        t.timeouts().expect("get"),
        Timeouts {
            tcp: 902,
            tcp_fin: 122,
            udp: 302
        }
    );
    t.set_timeouts(&before).expect("restore");

    t.start_daemon(&SyncDaemon::new(DaemonState::Master, "lo", 9))
        .expect("start");
    let shown = ipvsadm(&["-L", "--daemon"]);
    assert!(
        shown.contains("master sync daemon (mcast=lo, syncid=9"),
        "{shown}"
    );
    ipvsadm(&[
        "--start-daemon",
        "backup",
        "--mcast-interface",
        "lo",
        "--syncid",
        "10",
    ]);
    let d = t.daemons().expect("daemons");
    assert!(
        d.iter()
            .any(|d| d.state == DaemonState::Backup && d.syncid == 10 && d.mcast_ifn == "lo"),
        "{d:?}"
    );
    t.stop_daemon(DaemonState::Backup).expect("stop backup");
    t.stop_daemon(DaemonState::Master).expect("stop master");
    assert_eq!(ipvsadm(&["-L", "--daemon"]).trim(), "");
    t.flush().expect("flush");
}

/// Every reply the kernel sends decodes and re-encodes to the same bytes.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn kernel_replies_roundtrip() {
    let mut t = table();
    let rich = rich_table();
    assert!(
        t.apply(&conformance::program_changes(&rich))
            .iter()
            .all(Result::is_ok)
    );
    let mut raw = t.raw_dumps().expect("raw dumps");
    assert!(raw.len() > rich.len(), "{} messages", raw.len());
    // Daemons refuse to start next to mixed-family destinations: list them apart.
    t.flush().expect("flush");
    t.start_daemon(&SyncDaemon::new(DaemonState::Master, "lo", 3))
        .expect("daemon");
    let daemons = t.raw_dumps().expect("raw dumps");
    assert_eq!(daemons.len(), 1);
    raw.extend(daemons);
    for (i, bytes) in raw.iter().enumerate() {
        let msg = IpvsMessage::parse(bytes).unwrap_or_else(|e| panic!("message {i}: {e}"));
        let mut out = Vec::new();
        msg.emit(&mut out);
        assert_eq!(&out, bytes, "message {i} ({msg:?})");
    }
    t.stop_daemon(DaemonState::Master).expect("stop");
    t.flush().expect("flush");
}

/// Batches really are batches: one `sendmsg` per up to `max_batch`
/// requests instead of one per request, and not slower.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn batching_uses_few_sendmsg() {
    let mut t = table();
    let tbl = conformance::generated_table(500, 4);
    let changes = conformance::program_changes(&tbl);
    let (s0, r0) = t.syscalls();
    let start = Instant::now();
    for c in &changes {
        t.apply(std::slice::from_ref(c))
            .into_iter()
            .for_each(|r| r.expect("one by one"));
    }
    let single = start.elapsed();
    let (s1, r1) = t.syscalls();
    t.flush().expect("flush");
    let (s2, r2) = t.syscalls();
    let start = Instant::now();
    assert!(t.apply(&changes).iter().all(Result::is_ok));
    let batched = start.elapsed();
    let (s3, r3) = t.syscalls();
    eprintln!(
        "{} requests: one per round trip {:?} ({} sendmsg, {} recvmsg); batched {:?} ({} sendmsg, {} recvmsg, max {} per sendmsg)",
        changes.len(),
        single,
        s1 - s0,
        r1 - r0,
        batched,
        s3 - s2,
        r3 - r2,
        t.max_batch()
    );
    assert_eq!(s1 - s0, changes.len() as u64);
    assert!(
        s3 - s2 <= (changes.len() / 64 + 1) as u64,
        "{} sendmsg",
        s3 - s2
    );
    // The kernel's work per command dominates in the guest; batching must
    // at least not cost time.
    assert!(
        batched.as_secs_f64() < single.as_secs_f64() * 1.25,
        "batched {batched:?} vs single {single:?}"
    );
    t.flush().expect("flush");
}

/// Without the module (and without autoloading), opening the table says so.
/// Runs last by name; restores the module.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn zz_module_not_loaded() {
    drop(table());
    // Stop the kernel from loading ip_vs on the family lookup (5.16+ does).
    let modprobe = std::fs::read_to_string("/proc/sys/kernel/modprobe").expect("modprobe path");
    std::fs::write("/proc/sys/kernel/modprobe", "/bin/false\n").expect("set modprobe");
    let loaded = std::fs::read_to_string("/proc/modules").expect("modules");
    for m in loaded
        .lines()
        .filter_map(|l| l.split(' ').next())
        .filter(|m| m.starts_with("ip_vs_"))
    {
        let _ = Command::new("rmmod").arg(m).status();
    }
    let rm = Command::new("rmmod").arg("ip_vs").status().expect("rmmod");
    let result = NetlinkIpvs::new();
    std::fs::write("/proc/sys/kernel/modprobe", modprobe).expect("restore modprobe");
    assert!(rm.success(), "rmmod ip_vs failed");
    match result {
        Err(e @ IpvsError::IpvsUnavailable) => {
            assert_eq!(
                e.to_string(),
                "IPVS is not available in this kernel (modprobe ip_vs)"
            )
        }
        other => panic!("expected IpvsUnavailable, got {other:?}"),
    }
    assert!(
        Command::new("modprobe")
            .arg("ip_vs")
            .status()
            .expect("modprobe")
            .success()
    );
    let mut t = table();
    assert!(t.list().expect("list").is_empty());
}
