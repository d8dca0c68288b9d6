//! pulse failover in host network namespaces (root, iproute2): two routers
//! and a client on a bridge, pulse with `--test-start` (heartbeats,
//! floating addresses and ARP; no lvsd). See `rig/mod.rs` for the rig.
//! Run by `tests/netns/run.sh` (`--features netns-tests`, one at a time).
//!
//! Every wait is bounded; the bounds are the protocol's own (deadtime,
//! keepalive) plus a margin for a loaded 2-core machine.

mod rig;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use rig::{Capture, Cf, R1, R2, Rig, poll};

const POLL: Duration = Duration::from_millis(5);

fn secs(s: &str) -> Duration {
    Duration::from_secs_f64(s.parse().expect("timer"))
}

/// Wait until exactly router `r` holds the VIP (the other not); how long.
fn wait_sole(rig: &Rig, r: &str, limit: Duration) -> Duration {
    let other = if r == "r1" { "r2" } else { "r1" };
    poll(limit, POLL, || rig.has_vip(r) && !rig.has_vip(other)).unwrap_or_else(|| {
        panic!(
            "{r} did not become the only holder of the VIP within {limit:?} \
             (r1 {}, r2 {})\n{}",
            rig.has_vip("r1"),
            rig.has_vip("r2"),
            rig.logs()
        )
    })
}

/// Assert that for `span`, router `r` alone holds the VIP.
fn stays_sole(rig: &Rig, r: &str, span: Duration) {
    let other = if r == "r1" { "r2" } else { "r1" };
    let start = Instant::now();
    while start.elapsed() < span {
        assert!(
            rig.has_vip(r) && !rig.has_vip(other),
            "after {:?}: r1 {} r2 {}, expected only {r}\n{}",
            start.elapsed(),
            rig.has_vip("r1"),
            rig.has_vip("r2"),
            rig.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// r1 active, r2 passive, client resolved the VIP to r1.
fn steady_pair(rig: &mut Rig, cf: &Cf) -> (usize, usize) {
    let p1 = rig.start("r1", cf, &[]);
    // r1 alone: active after deadtime.
    wait_sole(rig, "r1", secs(cf.deadtime) * 3 + Duration::from_secs(2));
    let p2 = rig.start("r2", cf, &[]);
    // r2 hears RUNNING and stays passive.
    stays_sole(rig, "r1", secs(cf.deadtime) * 2);
    assert_eq!(rig.client_talks_to_vip(), rig.mac("r1"));
    (p1, p2)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The frames of `anchors/heartbeat-frames.txt` (original 0.8.6 pulse),
/// from the IP header on, with IP ID and both checksums zeroed (they vary).
const ORIGINAL_STOPPED_R2_TO_R1: &str =
    "45000020e3b340004011df12cb007103cb007102021b021b000c7824bddabdad";
const ORIGINAL_RUNNING_R1_TO_R2: &str =
    "45000020cd7440004011f551cb007102cb007103021b021b000c7824dadbadbd";
const ORIGINAL_RUNNING_R2_TO_R1: &str =
    "45000020e91740004011d9aecb007103cb007102021b021b000c7824dadbadbd";
const ORIGINAL_STOPPED_R1_TO_R2: &str =
    "45000020d19540004011f130cb007102cb007103021b021b000c7824bddabdad";

fn comparable(ip_on: &[u8]) -> Vec<u8> {
    let mut v = ip_on.to_vec();
    for i in [4, 5, 10, 11, 26, 27] {
        // IP ID, IP checksum, UDP checksum
        v[i] = 0;
    }
    v
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn assert_original(frame: &rig::Frame, original: &str, what: &str) {
    assert_eq!(
        hex(&comparable(&frame.bytes[14..])),
        hex(&comparable(&unhex(original))),
        "{what}: frame {} differs from the original's",
        hex(&frame.bytes)
    );
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn heartbeat_bytes_are_the_originals() {
    let mut rig = Rig::new("bytes");
    let cf = Cf::fast();
    let to_r2 = Capture::open(&rig, "r2");
    let p1 = rig.start("r1", &cf, &[]);
    // A lone primary: STOPPED first, then (partner dead) RUNNING.
    let frames = to_r2.heartbeats(R1, 12, Duration::from_secs(5));
    let first = frames
        .first()
        .unwrap_or_else(|| panic!("no heartbeat\n{}", rig.logs()));
    assert_original(first, ORIGINAL_STOPPED_R1_TO_R2, "r1 inactive");
    let running = frames
        .iter()
        .find(|f| f.payload() == [0xda, 0xdb, 0xad, 0xbd])
        .unwrap_or_else(|| panic!("r1 never sent RUNNING\n{}", rig.logs()));
    assert_original(running, ORIGINAL_RUNNING_R1_TO_R2, "r1 active");
    for f in &frames {
        assert_eq!((f.src(), f.dst(), f.sport(), f.dport()), (R1, R2, 539, 539));
        assert_eq!(f.bytes.len(), 46, "one 4-byte payload, no padding on veth");
        assert_eq!(
            &f.bytes[0..6],
            &mac_bytes(&rig.mac("r2"))[..],
            "to r2's MAC"
        );
        assert_eq!(
            &f.bytes[6..12],
            &mac_bytes(&rig.mac("r1"))[..],
            "from r1's MAC"
        );
    }
    // The interval is keepalive.
    let gaps: Vec<Duration> = frames.windows(2).map(|w| w[1].at - w[0].at).collect();
    let mut sorted = gaps.clone();
    sorted.sort();
    let median = sorted[sorted.len() / 2];
    assert!(
        median > Duration::from_millis(80) && median < Duration::from_millis(130),
        "median interval {median:?} (keepalive 0.1 s): {gaps:?}"
    );

    // The backup, passive: STOPPED to r1.
    let to_r1 = Capture::open(&rig, "r1");
    let _p2 = rig.start("r2", &cf, &[]);
    let frames = to_r1.heartbeats(R2, 3, Duration::from_secs(3));
    assert!(!frames.is_empty(), "no heartbeat from r2\n{}", rig.logs());
    for f in &frames {
        assert_original(f, ORIGINAL_STOPPED_R2_TO_R1, "r2 passive");
    }
    // The backup after taking over: RUNNING to r1.
    rig.kill(p1);
    let frames = to_r1.heartbeats(R2, 40, Duration::from_secs(3));
    let running = frames
        .iter()
        .find(|f| f.payload() == [0xda, 0xdb, 0xad, 0xbd])
        .unwrap_or_else(|| panic!("r2 never sent RUNNING\n{}", rig.logs()));
    assert_original(running, ORIGINAL_RUNNING_R2_TO_R1, "r2 active");
}

fn mac_bytes(mac: &str) -> Vec<u8> {
    mac.split(':')
        .map(|b| u8::from_str_radix(b, 16).expect("mac"))
        .collect()
}

/// kill -9 of the active pulse plus its link down: the backup holds the
/// VIP within deadtime + keepalive + margin, and the client's neighbour
/// entry shows the backup's MAC. Returns the measured takeover.
fn kill9_takeover(name: &str, cf: &Cf, margin: Duration) -> Duration {
    let mut rig = Rig::new(name);
    let (p1, _p2) = steady_pair(&mut rig, cf);
    let r2mac = rig.mac("r2");
    let t0 = Instant::now();
    rig.kill(p1);
    rig.link("r1", false);
    let limit = secs(cf.deadtime) + secs(cf.keepalive) + margin;
    let took = poll(limit, POLL, || {
        rig.has_vip("r2") && rig.client_neigh().as_deref() == Some(r2mac.as_str())
    });
    let took = took.unwrap_or_else(|| {
        panic!(
            "no takeover within {limit:?}: r2 VIP {}, client neighbour {:?} (r2 is {r2mac})\n{}",
            rig.has_vip("r2"),
            rig.client_neigh(),
            rig.logs()
        )
    });
    let total = t0.elapsed().min(took + Duration::from_millis(1));
    eprintln!("{name}: kill -9 takeover {} ms", total.as_millis());
    // The VIP is on eth0:1 with the configured mask.
    let line = rig.vip_line("r2").expect("vip line");
    assert!(
        line.contains("203.0.113.10/24") && line.contains("eth0:1"),
        "{line}"
    );
    let log = rig.logs();
    assert!(log.contains("partner dead: activating lvs"), "{log}");
    total
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn kill9_and_link_down_backup_takes_over_fast_timers() {
    kill9_takeover("k9f", &Cf::fast(), Duration::from_millis(600));
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn kill9_and_link_down_backup_takes_over_original_timers() {
    // keepalive 1, deadtime 3, as the anchor of the original (2.0-2.35 s).
    kill9_takeover("k9o", &Cf::original(), Duration::from_millis(800));
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn no_failback_and_the_returning_primary_drops_its_stale_vip() {
    let mut rig = Rig::new("nofb");
    let cf = Cf::fast();
    let (p1, _p2) = steady_pair(&mut rig, &cf);
    rig.kill(p1);
    rig.link("r1", false);
    poll(Duration::from_secs(3), POLL, || rig.has_vip("r2"))
        .unwrap_or_else(|| panic!("r2 never took over\n{}", rig.logs()));
    // r1 comes back with the VIP its killed pulse left behind.
    rig.link("r1", true);
    assert!(rig.has_vip("r1"), "the killed pulse's VIP is still on r1");
    // As on a real router, the link is up a while before pulse starts
    // (r2's neighbour entry for r1 failed while r1 was away; with deadtime
    // 0.3 s a slow re-resolution on a loaded machine would read as a dead
    // partner).
    std::thread::sleep(Duration::from_millis(300));
    let p1b = rig.start("r1", &cf, &[]);
    // It drops the stale VIP at once, and stays passive: no failback.
    let limit = Duration::from_secs(2);
    poll(limit, POLL, || !rig.has_vip("r1"))
        .unwrap_or_else(|| panic!("r1 kept its stale VIP\n{}", rig.logs()));
    stays_sole(&rig, "r2", secs(cf.deadtime) * 5);
    let log = rig.log(p1b);
    assert!(log.contains("STARTING PULSE AS MASTER"), "{log}");
    assert!(!log.contains("activating lvs"), "{log}");
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn both_started_at_once_the_primary_alone_ends_active() {
    let mut rig = Rig::new("cold");
    // "At once" is two process starts in a row; on a busy machine they may
    // be a few hundred ms apart, which must stay under the deadtime.
    let mut cf = Cf::fast();
    cf.deadtime = "1";
    let _p2 = rig.start("r2", &cf, &[]);
    let _p1 = rig.start("r1", &cf, &[]);
    let t0 = Instant::now();
    let limit = secs(cf.deadtime) + secs(cf.keepalive) * 2 + Duration::from_millis(400);
    let took = wait_sole(&rig, "r1", limit);
    eprintln!(
        "cold start: r1 alone active after {} ms",
        (t0.elapsed().min(took)).as_millis()
    );
    stays_sole(&rig, "r1", secs(cf.deadtime) * 4);
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn backup_started_a_little_earlier_still_the_primary_ends_active() {
    let mut rig = Rig::new("cold2");
    // A longer deadtime here: the gap between the starts must stay under
    // it, and starting a process may take a few hundred ms on a busy
    // machine.
    let mut cf = Cf::fast();
    cf.deadtime = "1";
    let _p2 = rig.start("r2", &cf, &[]);
    std::thread::sleep(secs(cf.keepalive) * 2);
    let _p1 = rig.start("r1", &cf, &[]);
    let limit = secs(cf.deadtime) + secs(cf.keepalive) * 2 + Duration::from_millis(400);
    wait_sole(&rig, "r1", limit);
    stays_sole(&rig, "r1", secs(cf.deadtime) * 4);
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn partition_then_heal_leaves_one_active() {
    let mut rig = Rig::new("part");
    let cf = Cf::fast();
    let _pair = steady_pair(&mut rig, &cf);
    rig.port("r2", false);
    // Cut off, r2 takes over too: both hold the VIP.
    poll(Duration::from_secs(3), POLL, || rig.has_vip("r2"))
        .unwrap_or_else(|| panic!("the cut-off backup never activated\n{}", rig.logs()));
    assert!(rig.has_vip("r1"));
    rig.port("r2", true);
    // Healed: the backup yields on the master's RUNNING.
    wait_sole(&rig, "r1", secs(cf.deadtime) * 3 + Duration::from_secs(1));
    stays_sole(&rig, "r1", secs(cf.deadtime) * 3);
    assert!(rig.logs().contains("partner active: deactivating LVS"));
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn sigterm_of_the_active_hands_over_within_100ms() {
    let mut rig = Rig::new("term");
    // Slow timers: a takeover by the dead timer would take 3 s, so only the
    // final STOPPED can make it this fast.
    let cf = Cf::original();
    let (mut active, _) = steady_pair(&mut rig, &cf);
    let (mut from, mut to) = ("r1", "r2");
    // Up to three handovers (r1 -> r2, r2 -> restarted r1, ...): the best
    // must be under 100 ms, so that one burst of load on a shared machine
    // does not decide; every one must be far below the dead timer's 3 s.
    let mut times = Vec::new();
    for round in 0..3 {
        let t0 = Instant::now();
        rig.signal(active, Signal::SIGTERM);
        let took = poll(Duration::from_secs(2), Duration::from_millis(1), || {
            rig.has_vip(to)
        })
        .unwrap_or_else(|| panic!("no handover after SIGTERM\n{}", rig.logs()));
        times.push(took.min(t0.elapsed()));
        assert_eq!(
            rig.wait_exit(active, Duration::from_secs(5)),
            Some(0),
            "{}",
            rig.logs()
        );
        assert!(!rig.has_vip(from), "the stopped pulse released its VIP");
        assert!(rig.log(active).contains("Terminating due to signal 15"));
        if times.iter().any(|t| *t < Duration::from_millis(100)) || round == 2 {
            break;
        }
        // The stopped router comes back passive, having heard the new
        // active one; that one is stopped next.
        rig.start(from, &cf, &[]);
        stays_sole(&rig, to, secs(cf.keepalive) * 2);
        active = rig.last_on(to).expect("the active pulse");
        (from, to) = (to, from);
    }
    eprintln!(
        "SIGTERM handover {:?} ms",
        times.iter().map(Duration::as_millis).collect::<Vec<_>>()
    );
    assert!(
        times.iter().all(|t| *t < Duration::from_secs(1)),
        "{times:?}"
    );
    assert!(
        times.iter().any(|t| *t < Duration::from_millis(100)),
        "handovers took {times:?}\n{}",
        rig.logs()
    );
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn with_a_key_spoofed_and_replayed_heartbeats_are_ignored() {
    use failover::auth::{Key, Sealer};
    use failover::heartbeat::Heartbeat;

    let mut rig = Rig::new("auth");
    let key = rig.dir.join("hb.key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef\n").expect("key");
    let mut cf = Cf::fast();
    cf.extra = format!("heartbeat_key_file = {}", key.display());
    let cap = Capture::open(&rig, "r2");
    let (p1, _p2) = steady_pair(&mut rig, &cf);
    // Authenticated beats from r1, to replay later.
    let recorded: Vec<Vec<u8>> = cap
        .heartbeats(R1, 10, Duration::from_secs(2))
        .iter()
        .map(|f| f.payload().to_vec())
        .collect();
    assert!(recorded.len() >= 5 && recorded.iter().all(|p| p.len() == 48));
    rig.kill(p1);

    // A sender in r1's namespace with r1's address (pulse is dead there).
    let sender = rig.in_ns("r1", || {
        std::net::UdpSocket::bind((R1, 539)).expect("spoofer socket")
    });
    let send_for = |span: Duration, mut make: Box<dyn FnMut(u64) -> Vec<u8>>| {
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < span {
            let _ = sender.send_to(&make(n), (R2, 539));
            n += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let now_us = || {
        u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_micros(),
        )
        .expect("micros")
    };
    // Control: beats sealed with the right key keep r2 passive, so what we
    // send does reach r2's pulse.
    let mut good =
        Sealer::new(Key::from_file_contents(&std::fs::read(&key).expect("key")).expect("key"));
    send_for(
        secs(cf.deadtime) * 4,
        Box::new(move |_| good.seal(Heartbeat::Running, now_us()).to_vec()),
    );
    assert!(
        !rig.has_vip("r2"),
        "r2 took over despite valid heartbeats\n{}",
        rig.logs()
    );

    // Wrong key, plain 4-byte beats, and replays of r1's real beats: r2
    // must see silence and take over after deadtime.
    let mut bad =
        Sealer::new(Key::from_file_contents(b"fedcba9876543210fedcba9876543210").expect("key"));
    let t0 = Instant::now();
    let handle = std::thread::spawn({
        let sender = sender.try_clone().expect("clone");
        let recorded = recorded.clone();
        move || {
            let start = Instant::now();
            let mut n = 0usize;
            while start.elapsed() < Duration::from_secs(2) {
                let datagram = match n % 3 {
                    0 => bad.seal(Heartbeat::Running, now_us()).to_vec(),
                    1 => Heartbeat::Running.emit().to_vec(),
                    _ => recorded[n % recorded.len()].clone(),
                };
                let _ = sender.send_to(&datagram, (R2, 539));
                n += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    });
    let limit = secs(cf.deadtime) + secs(cf.keepalive) + Duration::from_millis(500);
    let took = poll(limit, POLL, || rig.has_vip("r2")).map(|t| t.min(t0.elapsed()));
    handle.join().expect("spoofer");
    let took = took.unwrap_or_else(|| {
        panic!(
            "r2 did not take over within {limit:?} while being spoofed\n{}",
            rig.logs()
        )
    });
    eprintln!("takeover under spoofing after {} ms", took.as_millis());
    let log = rig.logs();
    assert!(log.contains("partner dead: activating lvs"), "{log}");
}

/// `anchors/send_arp-frame.txt` frame 1 (the original send_arp as pulse ran
/// it: VIP 203.0.113.10, MAC 00:00:5e:00:53:01), 60 bytes.
const ORIGINAL_GARP: &str = "ffffffffffff00005e0053010806000108000604000200005e005301cb00710a\
                             00005e005301cb00710a000000000000000000000000000000000000";
const ORIGINAL_GARP_MAC: &str = "00005e005301";

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn takeover_sends_the_originals_gratuitous_arp_count_times_first_at_once() {
    let mut rig = Rig::new("garp");
    let mut cf = Cf::fast();
    // Extension keys: 3 frames, 0.2 s apart (the original: 5, 1 s).
    cf.extra = "arp_count = 3\narp_interval = 0.2".to_owned();
    let (p1, p2) = steady_pair(&mut rig, &cf);
    let r2mac = mac_bytes(&rig.mac("r2"));
    let cap = Capture::open(&rig, "cl");
    let t0 = Instant::now();
    rig.kill(p1);
    rig.link("r1", false);
    let frames = cap.arps(&r2mac, 4, Duration::from_secs(2));
    let want = hex(&unhex(ORIGINAL_GARP)).replace(ORIGINAL_GARP_MAC, &hex(&r2mac));
    assert_eq!(frames.len(), 3, "{frames:?}\n{}", rig.logs());
    for f in &frames {
        assert_eq!(hex(&f.bytes), want, "not the original's frame");
    }
    let first = frames[0].at - t0;
    let limit = secs(cf.deadtime) + secs(cf.keepalive) + Duration::from_millis(400);
    assert!(first < limit, "first ARP {first:?} after the kill");
    for w in frames.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(
            gap > Duration::from_millis(150) && gap < Duration::from_millis(350),
            "gap {gap:?}, arp_interval 0.2 s"
        );
    }
    eprintln!(
        "first gratuitous ARP {} ms after the kill",
        first.as_millis()
    );
    poll(Duration::from_secs(1), POLL, || {
        rig.log(p2).contains("gratuitous lvs arps finished")
    })
    .unwrap_or_else(|| panic!("no 'gratuitous lvs arps finished'\n{}", rig.logs()));
}

#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn status_shows_role_activity_paths_and_addresses() {
    let mut rig = Rig::new("stat");
    let cf = Cf::fast();
    let _pair = steady_pair(&mut rig, &cf);
    let query = |r: &str, json: bool| {
        let mut c = std::process::Command::new(rig::PULSE);
        c.arg("--status").arg("--socket").arg(rig.socket(r));
        if json {
            c.arg("--json");
        }
        let out = c.output().expect("pulse --status");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let text = query("r1", false);
    assert!(text.contains(": master active\n"), "{text}");
    assert!(
        text.contains("floating 203.0.113.10/24 on eth0:1"),
        "{text}"
    );
    assert!(
        text.contains("heartbeat public 203.0.113.2:539 -> partner 203.0.113.3:539: last STOPPED"),
        "{text}"
    );
    let j: serde_json::Value = serde_json::from_str(&query("r2", true)).expect("json");
    assert_eq!(j["role"], "backup");
    assert_eq!(j["active"], false);
    assert_eq!(j["floating"].as_array().map(Vec::len), Some(0));
    assert_eq!(j["paths"][0]["last_heartbeat"], "RUNNING");
    let age = j["paths"][0]["last_heartbeat_age"].as_f64().expect("age");
    assert!(age < 0.5, "last heartbeat {age} s ago with keepalive 0.1");
    // Its link cut, the backup's view ages and it takes over.
    rig.port("r2", false);
    poll(Duration::from_secs(2), POLL, || rig.has_vip("r2")).expect("r2 active");
    let j: serde_json::Value = serde_json::from_str(&query("r2", true)).expect("json");
    assert_eq!(j["active"], true);
    assert!(j["paths"][0]["last_heartbeat_age"].as_f64().expect("age") >= 0.3);
}

/// lvsd (a stand-in) is started on activation with the original's
/// arguments and `PULSE_READY_FD`; the addresses wait for its readiness;
/// `inactive_cmd`/`active_cmd` run without a shell; SIGTERM stops lvsd.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn lvsd_runs_while_active_and_the_addresses_wait_for_its_readiness() {
    let mut rig = Rig::new("lvsd");
    let stub = rig.stub_lvsd("r1");
    std::fs::write(rig.dir.join("lvsd-r1.delay"), "0.5").expect("delay");
    let active = rig.dir.join("active-ran");
    let inactive = rig.dir.join("inactive-ran");
    let mut cf = Cf::fast();
    cf.extra = format!(
        "active_cmd = \"/usr/bin/touch {}\"\ninactive_cmd = \"/usr/bin/touch {}\"",
        active.display(),
        inactive.display()
    );
    let lvsd = format!("--lvsd={}", stub.display());
    let p1 = rig.start_with("r1", &cf, &[&lvsd]);
    poll(Duration::from_secs(2), POLL, || inactive.exists())
        .unwrap_or_else(|| panic!("inactive_cmd did not run at start\n{}", rig.logs()));
    // Alone, r1 activates after deadtime and starts lvsd; the VIP must not
    // come before lvsd's ready line.
    poll(Duration::from_secs(3), POLL, || {
        let up = rig.has_vip("r1");
        assert!(
            !up || rig.stub_log("r1").contains("ready "),
            "VIP before lvsd was ready"
        );
        up
    })
    .unwrap_or_else(|| {
        panic!(
            "r1 never brought the VIP up\n{}{}",
            rig.logs(),
            rig.stub_log("r1")
        )
    });
    assert!(active.exists(), "active_cmd did not run");
    let cfg = rig.dir.join("r1.cf");
    let args = rig.stub_log("r1");
    assert!(
        args.starts_with(&format!("args --nodaemon -c {} -v\n", cfg.display())),
        "{args}"
    );
    let out = std::process::Command::new(rig::PULSE)
        .args(["--status", "--json", "--socket"])
        .arg(rig.socket("r1"))
        .output()
        .expect("status");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        j["lvsd_pid"].as_i64(),
        rig.stub_pid("r1").map(i64::from),
        "{j}"
    );
    rig.signal(p1, Signal::SIGTERM);
    assert_eq!(
        rig.wait_exit(p1, Duration::from_secs(10)),
        Some(0),
        "{}",
        rig.logs()
    );
    assert!(rig.stub_log("r1").contains("TERM"), "lvsd not stopped");
    assert!(!rig.has_vip("r1"));
}

/// lvsd dies on the active router: it deactivates (CHILDFAIL), its STOPPED
/// makes the partner take over at once.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn lvsd_death_hands_over_to_the_partner() {
    let mut rig = Rig::new("lvsdie");
    let s1 = rig.stub_lvsd("r1");
    let s2 = rig.stub_lvsd("r2");
    let cf = Cf::fast();
    let (l1, l2) = (
        format!("--lvsd={}", s1.display()),
        format!("--lvsd={}", s2.display()),
    );
    let p1 = rig.start_with("r1", &cf, &[&l1]);
    wait_sole(&rig, "r1", Duration::from_secs(3));
    let _p2 = rig.start_with("r2", &cf, &[&l2]);
    stays_sole(&rig, "r1", secs(cf.deadtime) * 2);
    assert_eq!(rig.stub_log("r2"), "", "the passive backup started lvsd");
    let pid = rig.stub_pid("r1").expect("lvsd pid");
    let t0 = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).expect("kill lvsd");
    let took = wait_sole(&rig, "r2", Duration::from_secs(2)).min(t0.elapsed());
    eprintln!("lvsd death: partner active after {} ms", took.as_millis());
    assert!(
        took < secs(cf.deadtime),
        "took {took:?}: by the dead timer, not STOPPED"
    );
    let log = rig.log(p1);
    assert!(
        log.contains(&format!("Child process {pid} terminated with signal 9")),
        "{log}"
    );
    // The partner's RUNNING clears CHILDFAIL (the original's rule); no
    // failback.
    stays_sole(&rig, "r2", secs(cf.deadtime) * 3);
}

/// lvsd dies on a router without a live partner: CHILDFAIL, then lvsd is
/// started again after the backoff (1 s) and the addresses come back.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn lvsd_death_without_a_partner_restarts_it() {
    let mut rig = Rig::new("lvsre");
    let s1 = rig.stub_lvsd("r1");
    let cf = Cf::fast();
    let l1 = format!("--lvsd={}", s1.display());
    let p1 = rig.start_with("r1", &cf, &[&l1]);
    wait_sole(&rig, "r1", Duration::from_secs(3));
    let pid = rig.stub_pid("r1").expect("lvsd pid");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL).expect("kill lvsd");
    poll(Duration::from_secs(1), POLL, || !rig.has_vip("r1"))
        .unwrap_or_else(|| panic!("VIP kept after lvsd died\n{}", rig.logs()));
    let out = std::process::Command::new(rig::PULSE)
        .args(["--status", "--socket"])
        .arg(rig.socket("r1"))
        .output()
        .expect("status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("master inactive CHILDFAIL"), "{text}");
    poll(Duration::from_secs(3), POLL, || rig.has_vip("r1"))
        .unwrap_or_else(|| panic!("lvsd not restarted\n{}", rig.logs()));
    assert!(rig.stub_pid("r1").is_some_and(|p| p != pid));
    assert!(rig.log(p1).contains("no live partner: restarting lvs"));
}

/// SIGHUP reaches lvsd only while it runs; an inactive pulse survives any
/// number of them (the original's `kill(0, SIGHUP)` storm).
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn sighup_reaches_lvsd_only_while_it_runs() {
    let mut rig = Rig::new("hup");
    let s1 = rig.stub_lvsd("r1");
    let s2 = rig.stub_lvsd("r2");
    let cf = Cf::fast();
    let (l1, l2) = (
        format!("--lvsd={}", s1.display()),
        format!("--lvsd={}", s2.display()),
    );
    let p1 = rig.start_with("r1", &cf, &[&l1]);
    wait_sole(&rig, "r1", Duration::from_secs(3));
    let p2 = rig.start_with("r2", &cf, &[&l2]);
    stays_sole(&rig, "r1", secs(cf.deadtime));
    for _ in 0..3 {
        rig.signal(p2, Signal::SIGHUP);
        std::thread::sleep(Duration::from_millis(50));
    }
    rig.signal(p1, Signal::SIGHUP);
    poll(Duration::from_secs(2), POLL, || {
        rig.stub_log("r1").contains("HUP")
    })
    .unwrap_or_else(|| panic!("lvsd did not get SIGHUP\n{}", rig.logs()));
    stays_sole(&rig, "r1", secs(cf.deadtime) * 2);
    assert_eq!(
        rig.wait_exit(p2, Duration::ZERO),
        None,
        "the backup's pulse died"
    );
    assert_eq!(rig.stub_log("r2"), "", "an lvsd was started on the backup");
    assert!(rig.log(p2).contains("rereading configuration file"));
}

/// SIGHUP applies a new floating address (announced) and the removal of
/// one live; a file with errors keeps the running configuration.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn sighup_applies_floating_address_changes_live() {
    let mut rig = Rig::new("reload");
    let mut cf = Cf::fast();
    let p1 = rig.start("r1", &cf, &[]);
    wait_sole(&rig, "r1", Duration::from_secs(3));
    let has = |a: &str| {
        rig.ns("r1")
            .ip(&["-o", "addr", "show", "dev", "eth0"])
            .lines()
            .any(|l| l.contains(&format!(" {a}/24 ")) && l.contains("eth0:2"))
    };
    cf.more = "virtual mail {\n active = 1\n address = 203.0.113.11 eth0:2\n \
               vip_nmask = 255.255.255.0\n port = 25\n \
               server one {\n address = 198.51.100.12\n active = 1\n }\n}\n"
        .to_owned();
    rig.write_cf("r1", &cf);
    let cap = Capture::open(&rig, "cl");
    rig.signal(p1, Signal::SIGHUP);
    poll(Duration::from_secs(2), POLL, || has("203.0.113.11"))
        .unwrap_or_else(|| panic!("new VIP not added on SIGHUP\n{}", rig.logs()));
    let r1mac = mac_bytes(&rig.mac("r1"));
    let arps = cap.arps(&r1mac, 1, Duration::from_secs(2));
    assert!(
        arps.first()
            .is_some_and(|f| f.bytes[28..32] == [203, 0, 113, 11]),
        "no ARP for the new VIP"
    );
    // A broken file: nothing changes.
    std::fs::write(rig.dir.join("r1.cf"), "keepalive = soon\n").expect("write");
    rig.signal(p1, Signal::SIGHUP);
    poll(Duration::from_secs(3), POLL, || {
        rig.log(p1).contains("keeping the running configuration")
    })
    .unwrap_or_else(|| panic!("bad file not reported\n{}", rig.logs()));
    assert!(has("203.0.113.11") && rig.has_vip("r1"));
    // The second virtual gone: its address goes, the first stays.
    cf.more.clear();
    rig.write_cf("r1", &cf);
    rig.signal(p1, Signal::SIGHUP);
    poll(Duration::from_secs(2), POLL, || !has("203.0.113.11"))
        .unwrap_or_else(|| panic!("removed VIP still up\n{}", rig.logs()));
    assert!(rig.has_vip("r1"));
}

/// `monitor_links = 1`: the active router whose link loses its carrier
/// deactivates (LINKFAIL), the partner takes over, and after the link is
/// back the router stays passive.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn monitor_links_deactivates_on_carrier_loss() {
    let mut rig = Rig::new("links");
    let mut cf = Cf::fast();
    cf.extra = "monitor_links = 1".to_owned();
    let (p1, _p2) = steady_pair(&mut rig, &cf);
    rig.port("r1", false);
    poll(Duration::from_secs(1), POLL, || !rig.has_vip("r1"))
        .unwrap_or_else(|| panic!("r1 kept its VIP without carrier\n{}", rig.logs()));
    wait_sole(&rig, "r2", Duration::from_secs(2));
    let log = rig.log(p1);
    assert!(
        log.contains("Local NIC link failure: Pulse disabled"),
        "{log}"
    );
    assert!(
        log.contains("local link failure: deactivating LVS"),
        "{log}"
    );
    let out = std::process::Command::new(rig::PULSE)
        .args(["--status", "--socket"])
        .arg(rig.socket("r1"))
        .output()
        .expect("status");
    assert!(String::from_utf8_lossy(&out.stdout).contains("master inactive LINKFAIL"));
    rig.port("r1", true);
    poll(Duration::from_secs(2), POLL, || {
        rig.log(p1)
            .contains("Local NIC link(s) restored: Pulse enabled")
    })
    .unwrap_or_else(|| panic!("link restore not seen\n{}", rig.logs()));
    stays_sole(&rig, "r2", secs(cf.deadtime) * 3);
}

/// Without `-n` pulse detaches: the command returns at once with 0, the
/// daemon's pid is in the pid file, it answers `--status`, and SIGTERM ends
/// it and removes the pid file.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn without_nodaemon_pulse_detaches_and_keeps_a_pid_file() {
    let rig = Rig::new("dmn");
    let cfg = rig.write_cf("r1", &Cf::fast());
    let pidfile = rig.dir.join("r1.pid");
    let socket = rig.socket("r1");
    let start = Instant::now();
    let st = rig
        .ns("r1")
        .command(rig::PULSE)
        .args(["-t", "-c"])
        .arg(&cfg)
        .arg("--pidfile")
        .arg(&pidfile)
        .arg("--socket")
        .arg(&socket)
        .status()
        .expect("pulse");
    assert!(
        st.success() && start.elapsed() < Duration::from_secs(5),
        "{st:?}"
    );
    // The detached process rewrites the pid file with its own pid just
    // after the command returned (as the original's grandchild did).
    let read_pid =
        || -> Option<i32> { std::fs::read_to_string(&pidfile).ok()?.trim().parse().ok() };
    let mut pid = 0;
    poll(Duration::from_secs(2), POLL, || {
        pid = read_pid().unwrap_or(0);
        pid > 0 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
    })
    .expect("no running pulse named in the pid file");
    let daemon = nix::unistd::Pid::from_raw(pid);
    // Killed whatever happens below.
    struct Kill(nix::unistd::Pid);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = nix::sys::signal::kill(self.0, Signal::SIGKILL);
        }
    }
    let _guard = Kill(daemon);
    wait_sole_one(&rig, "r1");
    let out = std::process::Command::new(rig::PULSE)
        .args(["--status", "--socket"])
        .arg(&socket)
        .output()
        .expect("status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("pulse pid {pid}: master active")),
        "{text}"
    );
    // A second one on the same pid file is refused.
    let out = rig
        .ns("r2")
        .command(rig::PULSE)
        .args(["-n", "-t", "-c"])
        .arg(rig.write_cf("r2", &Cf::fast()))
        .arg("--pidfile")
        .arg(&pidfile)
        .output()
        .expect("second pulse");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another pulse is running"));
    nix::sys::signal::kill(daemon, Signal::SIGTERM).expect("SIGTERM");
    poll(Duration::from_secs(5), POLL, || {
        nix::sys::signal::kill(daemon, None).is_err()
    })
    .expect("daemon did not exit");
    assert!(!pidfile.exists(), "pid file left behind");
    assert!(!rig.has_vip("r1"));
}

fn wait_sole_one(rig: &Rig, r: &str) {
    poll(Duration::from_secs(3), POLL, || rig.has_vip(r))
        .unwrap_or_else(|| panic!("{r} never held the VIP"));
}

/// An IPv6 VIP is added without DAD and announced with unsolicited
/// neighbour advertisements.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn an_ipv6_vip_is_added_and_announced() {
    let mut rig = Rig::new("v6");
    let mut cf = Cf::fast();
    cf.more = "virtual web6 {\n active = 1\n address = 2001:db8::10 eth0\n \
               vip_nmask = 64\n port = 80\n \
               server one {\n address = 2001:db8::11\n active = 1\n }\n}\n"
        .to_owned();
    let cap = Capture::open(&rig, "cl");
    let _p1 = rig.start("r1", &cf, &[]);
    let has6 = || {
        rig.ns("r1")
            .ip(&["-o", "-6", "addr", "show", "dev", "eth0"])
            .lines()
            .any(|l| l.contains(" 2001:db8::10/64 ") && !l.contains("tentative"))
    };
    poll(Duration::from_secs(3), POLL, has6)
        .unwrap_or_else(|| panic!("no usable IPv6 VIP on r1\n{}", rig.logs()));
    let r1mac = mac_bytes(&rig.mac("r1"));
    // ICMPv6 type 136 (neighbour advertisement) for 2001:db8::10.
    let target: [u8; 16] = "2001:db8::10"
        .parse::<std::net::Ipv6Addr>()
        .expect("v6")
        .octets();
    let na = cap.frames(1, Duration::from_secs(2), |f| {
        f.bytes.len() >= 78
            && f.bytes[12..14] == [0x86, 0xdd]
            && f.bytes[6..12] == r1mac[..]
            && f.bytes[20] == 58
            && f.bytes[54] == 136
            && f.bytes[62..78] == target
    });
    assert_eq!(
        na.len(),
        1,
        "no unsolicited NA for the IPv6 VIP\n{}",
        rig.logs()
    );
}

/// With a private network, the partner stays alive through it when the
/// public path fails: no takeover; both paths fail: takeover.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn the_private_path_keeps_the_partner_alive() {
    let mut rig = Rig::new("priv");
    rig.add_private();
    let mut cf = Cf::fast();
    cf.extra = "primary_private = 198.51.100.2\nbackup_private = 198.51.100.3".to_owned();
    let (_p1, _p2) = steady_pair(&mut rig, &cf);
    let out = std::process::Command::new(rig::PULSE)
        .args(["--status", "--json", "--socket"])
        .arg(rig.socket("r2"))
        .output()
        .expect("status");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(j["paths"][1]["name"], "private", "{j}");
    assert_eq!(j["paths"][1]["partner"], "198.51.100.2:539", "{j}");
    assert_eq!(j["paths"][1]["last_heartbeat"], "RUNNING", "{j}");
    rig.port("r2", false);
    stays_sole(&rig, "r1", secs(cf.deadtime) * 4);
    rig.ns("sw").ip(&["link", "set", "r2p", "down"]);
    poll(
        secs(cf.deadtime) + secs(cf.keepalive) + Duration::from_millis(400),
        POLL,
        || rig.has_vip("r2"),
    )
    .unwrap_or_else(|| panic!("no takeover with both paths cut\n{}", rig.logs()));
}

/// lvsd that never says it is ready (here: it closes the pipe without a
/// line and runs on) is killed after 10 s and CHILDFAIL set; the
/// addresses never came up.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn lvsd_not_ready_in_10s_is_killed() {
    let mut rig = Rig::new("noready");
    let s1 = rig.stub_lvsd("r1");
    std::fs::write(rig.dir.join("lvsd-r1.closeonly"), "").expect("closeonly");
    let cf = Cf::fast();
    let l1 = format!("--lvsd={}", s1.display());
    let p1 = rig.start_with("r1", &cf, &[&l1]);
    poll(Duration::from_secs(3), POLL, || {
        rig.stub_log("r1").contains("args")
    })
    .unwrap_or_else(|| panic!("lvsd not started\n{}", rig.logs()));
    let t0 = Instant::now();
    let killed = poll(Duration::from_secs(12), Duration::from_millis(20), || {
        assert!(!rig.has_vip("r1"), "VIP up without lvsd's readiness");
        rig.log(p1).contains("lvsd did not report ready in time")
    })
    .unwrap_or_else(|| panic!("no readiness timeout\n{}", rig.logs()));
    let waited = killed.min(t0.elapsed());
    assert!(
        waited > Duration::from_secs(9) && waited < Duration::from_millis(10_500),
        "timeout after {waited:?}"
    );
    let out = std::process::Command::new(rig::PULSE)
        .args(["--status", "--socket"])
        .arg(rig.socket("r1"))
        .output()
        .expect("status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("CHILDFAIL"), "{text}");
    assert!(!rig.has_vip("r1"));
}

/// At start, an lvsd left running by a killed pulse (named in lvsd's pid
/// file) is stopped; a pid file naming some other program is left alone.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn a_stale_lvsd_is_stopped_at_start() {
    struct Reap(std::process::Child);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut rig = Rig::new("stale");
    let stub = rig.stub_lvsd("r1");
    let lvsd_pidfile = rig.dir.join("lvs.pid");
    // A process named "lvsd" (a copy of sleep), and one that is not.
    let fake = rig.dir.join("lvsd");
    std::fs::copy("/bin/sleep", &fake).expect("copy sleep");
    let mut stale = Reap(
        std::process::Command::new(&fake)
            .arg("30")
            .spawn()
            .expect("fake lvsd"),
    );
    let mut other = Reap(
        std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep"),
    );
    let cf = Cf::fast();
    let args = [
        format!("--lvsd={}", stub.display()),
        format!("--lvsd-pidfile={}", lvsd_pidfile.display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    std::fs::write(&lvsd_pidfile, format!("{}\n", other.0.id())).expect("pid file");
    let p = rig.start_with("r1", &cf, &args);
    poll(Duration::from_secs(2), POLL, || {
        rig.log(p).contains("STARTING PULSE")
    })
    .expect("pulse started");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        other.0.try_wait().expect("wait").is_none(),
        "a non-lvsd process was killed"
    );
    rig.kill(p);

    std::fs::write(&lvsd_pidfile, format!("{}\n", stale.0.id())).expect("pid file");
    let p = rig.start_with("r1", &cf, &args);
    poll(Duration::from_secs(3), POLL, || {
        stale.0.try_wait().expect("wait").is_some()
    })
    .unwrap_or_else(|| panic!("the stale lvsd still runs\n{}", rig.logs()));
    let line = format!(
        "stopping lvsd (pid {}) left running by a previous pulse",
        stale.0.id()
    );
    assert!(rig.log(p).contains(&line), "{}", rig.logs());
    // The new lvsd is told the same pid file.
    poll(Duration::from_secs(3), POLL, || {
        rig.stub_log("r1").contains("args")
    })
    .unwrap_or_else(|| panic!("lvsd not started\n{}", rig.logs()));
    assert!(
        rig.stub_log("r1")
            .contains(&format!("--pidfile {}", lvsd_pidfile.display())),
        "{}",
        rig.stub_log("r1")
    );
}

/// `--forceactive`: a primary started while the backup is active takes
/// over at once ("Forced active on startup"), and the backup yields.
#[test]
#[cfg_attr(not(feature = "netns-tests"), ignore)]
fn forceactive_takes_over_from_an_active_backup() {
    let mut rig = Rig::new("force");
    let cf = Cf::fast();
    let p2 = rig.start("r2", &cf, &[]);
    wait_sole(&rig, "r2", Duration::from_secs(3));
    let p1 = rig.start("r1", &cf, &["--forceactive"]);
    wait_sole(&rig, "r1", Duration::from_secs(2));
    stays_sole(&rig, "r1", secs(cf.deadtime) * 3);
    assert!(
        rig.log(p1)
            .contains("Forced active on startup: activating lvs")
    );
    assert!(rig.log(p2).contains("partner active: deactivating LVS"));
}
