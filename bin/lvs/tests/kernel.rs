//! lvsd against the real kernel, in the qemu guest (`tests/vm/ci.sh`).
//!
//! Real servers are small HTTP listeners in a network namespace the test
//! creates (documentation addresses 192.0.2.0/24), checked by our nanny.
//! Each test builds its own rig and tears it down (lvsd and its nannies by
//! pid, the namespace, every IPVS service) even when it fails.
//!
//! Timing assertions have margins: the guest emulates its CPU.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use testrig::{Network, has_server, kernel_table, sh, wait_for};

fn lvsd_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lvsd"))
}

fn nanny_exe() -> PathBuf {
    let p = lvsd_exe().with_file_name("nanny");
    assert!(
        p.exists(),
        "{} missing: build the workspace binaries first (cargo build --bins)",
        p.display()
    );
    p
}

/// The namespace, the config file, lvsd.
struct Rig {
    net: Network,
    dir: PathBuf,
    config: PathBuf,
    socket: PathBuf,
    lvsd: Option<Child>,
}

impl Rig {
    fn new(name: &str) -> Self {
        let net = Network::new("lvsd-rs");
        let dir = std::env::temp_dir().join(format!("lvsd-kernel-{name}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("dir");
        Rig {
            net,
            config: dir.join("lvs.cf"),
            socket: dir.join("lvsd.sock"),
            dir,
            lvsd: None,
        }
    }

    fn write_config(&self, weight_c: u32) {
        fs::write(&self.config, config_text(weight_c)).expect("config");
    }

    fn start(&mut self) {
        let log = fs::File::create(self.dir.join("lvsd.log")).expect("log");
        let child = Command::new(lvsd_exe())
            .args(["-n", "-c"])
            .arg(&self.config)
            .arg("--socket")
            .arg(&self.socket)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start lvsd");
        self.lvsd = Some(child);
        let socket = self.socket.clone();
        wait_for("the status socket", Duration::from_secs(10), || {
            socket.exists()
        });
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.lvsd.as_ref().expect("running").id()).expect("pid")
    }

    fn signal(&self, sig: &str) {
        sh(&format!("kill -{sig} {}", self.pid()));
    }

    fn status(&self) -> serde_json::Value {
        let out = Command::new(lvsd_exe())
            .args(["--status", "--json", "--socket"])
            .arg(&self.socket)
            .output()
            .expect("lvsd --status");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status json")
    }

    fn dry_run(&self) -> BTreeSet<String> {
        let out = Command::new(lvsd_exe())
            .arg("--dry-run")
            .arg("-c")
            .arg(&self.config)
            .output()
            .expect("dry run");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("lvsd.log")).unwrap_or_default()
    }

    /// Wait until the kernel holds exactly what --dry-run says.
    fn converge(&self) -> Duration {
        let want = self.dry_run();
        wait_for("the table to converge", Duration::from_secs(20), || {
            kernel_table() == want
        })
    }

    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.lvsd.take()?;
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- lvsd log ---\n{}", self.log());
        }
        if let Some(mut child) = self.lvsd.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Nannies die with lvsd (PR_SET_PDEATHSIG); the network and the
        // IPVS table go with `net`.
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn config_text(weight_c: u32) -> String {
    let nanny = nanny_exe();
    format!(
        "network = nat
virtual web {{
    active = 1
    address = 203.0.113.10 eth0:1
    port = 80
    timeout = 1
    reentry = 2
    client_monitor = {nanny}
    server a {{
        address = 192.0.2.11
        active = 1
        weight = 1
    }}
    server b {{
        address = 192.0.2.12
        active = 1
        weight = 1
    }}
}}
virtual alt {{
    active = 1
    address = 203.0.113.11 eth0:2
    port = 80
    scheduler = rr
    persistent = 60
    pmask = 255.255.255.0
    timeout = 1
    reentry = 2
    client_monitor = {nanny}
    server c {{
        address = 192.0.2.13
        active = 1
        weight = {weight_c}
    }}
}}
",
        nanny = nanny.display()
    )
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn converges_to_the_dry_run_table() {
    let mut rig = Rig::new("converge");
    let _servers = rig.net.listen_all();
    // Timeouts the file sets are applied; 0 leaves the kernel's value.
    let text = format!("tcp_timeout = 900\nudp_timeout = 120\n{}", config_text(1));
    fs::write(&rig.config, text).expect("write");
    let before = sh("ipvsadm -L --timeout");
    let tcpfin = before.split_whitespace().nth(5).expect("tcpfin").to_owned();
    rig.start();
    let took = rig.converge();
    eprintln!("converged in {took:?}");
    // The same table written out, so that --dry-run is not its own judge.
    let literal: BTreeSet<String> = [
        "-A -t 203.0.113.10:80 -s wlc",
        "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 1",
        "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 1",
        "-A -t 203.0.113.11:80 -s rr -p 60 -M 255.255.255.0",
        "-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 1",
    ]
    .iter()
    .map(|l| (*l).to_owned())
    .collect();
    assert_eq!(kernel_table(), literal);
    assert_eq!(
        sh("ipvsadm -L --timeout").trim(),
        format!("Timeout (tcp tcpfin udp): 900 {tcpfin} 120")
    );
    let st = rig.status();
    for v in st["virtuals"].as_array().expect("virtuals") {
        for s in v["servers"].as_array().expect("servers") {
            assert_eq!(s["health"], "up", "{s}");
        }
    }
    assert_eq!(rig.stop().map(|s| s.code()), Some(Some(0)));
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_dead_server_leaves_within_timeout_and_returns_after_reentry() {
    let mut rig = Rig::new("down");
    let mut servers = rig.net.listen_all();
    rig.write_config(1);
    rig.start();
    rig.converge();
    // Stop b's listener: connections to it are refused from now on.
    let b = servers.remove(1);
    drop(b);
    let gone = wait_for("b to leave", Duration::from_secs(10), || {
        !has_server("192.0.2.12")
    });
    eprintln!("b left after {gone:?}");
    // timeout = 1 s: the next check (at most 1 s away) fails within 1 s.
    assert!(gone <= Duration::from_millis(2000 + 1500), "{gone:?}");
    assert!(has_server("192.0.2.11") && has_server("192.0.2.13"));

    let _b = rig.net.listen("192.0.2.12");
    let back = wait_for("b to come back", Duration::from_secs(15), || {
        has_server("192.0.2.12")
    });
    eprintln!("b back after {back:?}");
    // reentry = 2 s of passing checks at a 1 s interval.
    assert!(
        back >= Duration::from_millis(1500),
        "re-entered too soon: {back:?}"
    );
    assert!(back <= Duration::from_secs(2 + 2 + 3), "{back:?}");
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn reload_with_one_weight_changed_is_one_write() {
    let mut rig = Rig::new("reload");
    let _servers = rig.net.listen_all();
    rig.write_config(1);
    rig.start();
    rig.converge();
    let before = kernel_table();

    rig.write_config(4);
    // --diff shows the one write the reload will make, and makes none.
    let out = Command::new(lvsd_exe())
        .arg("--diff")
        .arg("-c")
        .arg(&rig.config)
        .output()
        .expect("lvsd --diff");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "-e -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 4\n"
    );
    assert_eq!(kernel_table(), before);
    let old_pid = monitor_pid(&rig, "c").expect("c's monitor");
    let writes = rig.status()["total_writes"].as_u64().expect("writes");
    rig.signal("HUP");
    wait_for("the reload", Duration::from_secs(10), || {
        rig.status()["reloads"] == 1
    });
    let st = rig.status();
    assert_eq!(st["last_reload_failed"], false);
    // A raise waits for the new monitor's first verdict (the server may
    // have died just before the reload), then is one write.
    wait_for("c's new monitor to check", Duration::from_secs(10), || {
        server_status(&rig, "c")
            .is_some_and(|s| s["monitor_pid"].as_i64() != Some(old_pid) && s["health"] == "up")
    });
    wait_for("the raised weight", Duration::from_secs(5), || {
        kernel_table().contains("-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 4")
    });
    let after = kernel_table();
    let removed: Vec<_> = before.difference(&after).collect();
    let added: Vec<_> = after.difference(&before).collect();
    assert_eq!(removed, ["-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 1"]);
    assert_eq!(added, ["-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 4"]);
    assert_eq!(
        rig.status()["total_writes"].as_u64(),
        Some(writes + 1),
        "one write in all"
    );
    // The new nanny's first verdict was `want 1` (it ramps from 4/32): the
    // entry did not follow it down, and stays.
    assert_eq!(kernel_table(), after);

    // An unchanged file: zero writes.
    rig.signal("HUP");
    wait_for("the second reload", Duration::from_secs(10), || {
        rig.status()["reloads"] == 2
    });
    assert_eq!(rig.status()["last_reload_writes"], 0);
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_broken_file_on_reload_keeps_the_table() {
    let mut rig = Rig::new("broken");
    let _servers = rig.net.listen_all();
    rig.write_config(1);
    rig.start();
    rig.converge();
    let before = kernel_table();
    let mut text = config_text(1);
    text.truncate(text.len() / 2); // a truncated file: unclosed block
    fs::write(&rig.config, text).expect("write");
    rig.signal("HUP");
    wait_for("the reload", Duration::from_secs(10), || {
        rig.status()["reloads"] == 1
    });
    assert_eq!(rig.status()["last_reload_failed"], true);
    thread::sleep(Duration::from_secs(2));
    assert_eq!(kernel_table(), before);
    assert!(rig.log().contains("error parsing"), "{}", rig.log());
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn sigterm_removes_its_services_and_only_those() {
    let mut rig = Rig::new("term");
    let _servers = rig.net.listen_all();
    sh("ipvsadm -A -t 198.51.100.99:443 -s rr && \
        ipvsadm -a -t 198.51.100.99:443 -r 198.51.100.5:443 -m -w 1");
    let foreign = kernel_table();
    rig.write_config(1);
    rig.start();
    rig.converge_with(&foreign);
    let status = rig.stop();
    assert_eq!(status.map(|s| s.code()), Some(Some(0)), "{}", rig.log());
    assert_eq!(kernel_table(), foreign, "{}", rig.log());
    assert!(rig.log().contains("shutting down virtual service web"));
}

impl Rig {
    /// Converge when the kernel also holds someone else's `extra` lines.
    fn converge_with(&self, extra: &BTreeSet<String>) {
        let mut want = self.dry_run();
        want.extend(extra.iter().cloned());
        wait_for("the table to converge", Duration::from_secs(20), || {
            kernel_table() == want
        });
    }
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn missing_scheduler_skips_only_that_virtual() {
    let mut rig = Rig::new("sched");
    let _servers = rig.net.listen_all();
    // twos is not in the guest's 6.1 kernel.
    let text = config_text(1).replace("scheduler = rr", "scheduler = twos");
    fs::write(&rig.config, text).expect("write");
    rig.start();
    wait_for("web to converge", Duration::from_secs(20), || {
        has_server("192.0.2.11") && has_server("192.0.2.12")
    });
    assert!(!kernel_table().iter().any(|l| l.contains("203.0.113.11")));
    assert!(
        rig.log().contains("ipvsadm failed for virtual server alt!"),
        "{}",
        rig.log()
    );
    // Logged once, though every health change plans again.
    wait_for("web's servers checked", Duration::from_secs(10), || {
        servers(&rig)
            .iter()
            .filter(|(v, _, _)| v == "web")
            .all(|(_, _, s)| s["health"] == "up")
    });
    assert_eq!(
        rig.log()
            .matches("ipvsadm failed for virtual server alt!")
            .count(),
        1,
        "{}",
        rig.log()
    );
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn sorry_server_while_every_server_is_down() {
    let mut rig = Rig::new("sorry");
    let mut servers = rig.net.listen_all();
    let text = config_text(1).replace(
        "virtual web {\n",
        "virtual web {\n    sorry_server = 198.51.100.250\n",
    );
    fs::write(&rig.config, text).expect("write");
    rig.start();
    wait_for("web up", Duration::from_secs(20), || {
        has_server("192.0.2.11") && has_server("192.0.2.12")
    });
    assert!(!has_server("198.51.100.250"));
    let b = servers.remove(1);
    let a = servers.remove(0);
    drop((a, b));
    let took = wait_for("the sorry server", Duration::from_secs(10), || {
        has_server("198.51.100.250")
    });
    eprintln!("sorry server in after {took:?}");
    assert!(kernel_table().contains("-a -t 203.0.113.10:80 -r 198.51.100.250:80 -m -w 1"));
    let _a = rig.net.listen("192.0.2.11");
    wait_for("a back, sorry server out", Duration::from_secs(15), || {
        has_server("192.0.2.11") && !has_server("198.51.100.250")
    });
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn readiness_line_on_pulse_ready_fd() {
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::process::CommandExt;

    let mut rig = Rig::new("ready");
    let _servers = rig.net.listen_all();
    rig.write_config(1);
    let (r, w) = nix::unistd::pipe().expect("pipe");
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new(lvsd_exe());
    cmd.args(["-n", "-c"])
        .arg(&rig.config)
        .arg("--socket")
        .arg(&rig.socket)
        .env("PULSE_READY_FD", "7")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: dup2 is async-signal-safe; it puts the pipe's write end at
    // the descriptor number the environment names.
    unsafe {
        cmd.pre_exec(move || {
            if nix::libc::dup2(wfd, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    rig.lvsd = Some(cmd.spawn().expect("lvsd"));
    drop(w);
    // SAFETY: we own the read end and hand it to File, which closes it.
    let mut reader = unsafe { fs::File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(r)) };
    // Until the end of the stream: no monitor may hold the pipe open.
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = reader.read_to_string(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("readiness line and end of stream within 20 s");
    assert_eq!(line.trim(), format!("ready {}", rig.pid()));
    // Ready means the services are in: the table exists before any check.
    assert!(
        kernel_table()
            .iter()
            .any(|l| l.starts_with("-A -t 203.0.113.10:80"))
    );
}

fn monitor_pid(rig: &Rig, server: &str) -> Option<i64> {
    server_status(rig, server)?["monitor_pid"].as_i64()
}

/// The `--status` entry of the first server named `server`.
fn server_status(rig: &Rig, server: &str) -> Option<serde_json::Value> {
    rig.status()["virtuals"]
        .as_array()?
        .iter()
        .flat_map(|v| v["servers"].as_array().cloned().unwrap_or_default())
        .find(|s| s["name"] == server)
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_dead_nanny_is_restarted_without_hard_shutdown() {
    let mut rig = Rig::new("respawn");
    let _servers = rig.net.listen_all();
    fs::write(
        &rig.config,
        format!("hard_shutdown = 0\n{}", config_text(1)),
    )
    .expect("write");
    rig.start();
    rig.converge();
    let before = kernel_table();
    let old = monitor_pid(&rig, "a").expect("pid");
    sh(&format!("kill -9 {old}"));
    wait_for("a new monitor", Duration::from_secs(10), || {
        monitor_pid(&rig, "a").is_some_and(|p| p != old)
    });
    assert!(
        rig.log().contains("nanny for child web/a died!"),
        "{}",
        rig.log()
    );
    // The entry stayed while nobody watched it.
    assert_eq!(kernel_table(), before);
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_dead_nanny_shuts_lvsd_down_with_hard_shutdown() {
    let mut rig = Rig::new("hard");
    let _servers = rig.net.listen_all();
    rig.write_config(1);
    rig.start();
    rig.converge();
    let pid = monitor_pid(&rig, "c").expect("pid");
    sh(&format!("kill -9 {pid}"));
    let mut child = rig.lvsd.take().expect("lvsd");
    let mut status = None;
    wait_for("lvsd to exit", Duration::from_secs(15), || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    assert_eq!(status.and_then(|s| s.code()), Some(1));
    assert!(
        rig.log()
            .contains("nanny for child alt/c died! shutting down lvs"),
        "{}",
        rig.log()
    );
    assert!(kernel_table().is_empty(), "{:?}", kernel_table());
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_monitor_that_does_not_report_keeps_its_own_entry() {
    // A site's own client_monitor, as piranha ran them: it programs its
    // server with ipvsadm and says nothing on the report pipe.
    let mut rig = Rig::new("legacy");
    let _servers = rig.net.listen_all();
    let script = rig.dir.join("monitor.sh");
    fs::write(
        &script,
        "#!/bin/sh\n\
         # argv: -c -h RIP -p VPORT -r RPORT ... -V VIP ...\n\
         ipvsadm -a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 9\n\
         echo 'nanny: [ active ] making 192.0.2.13:80 available'\n\
         trap 'ipvsadm -d -t 203.0.113.11:80 -r 192.0.2.13:80; exit 0' TERM\n\
         while :; do sleep 1; done\n",
    )
    .expect("script");
    sh(&format!("chmod +x {}", script.display()));
    let text = config_text(1).replace(
        "    scheduler = rr\n",
        &format!(
            "    scheduler = rr\n    client_monitor = {}\n",
            script.display()
        ),
    );
    // The later client_monitor line (ours) wins for alt; keep only it.
    let text = text.replacen(
        &format!(
            "    client_monitor = {}\n    server c",
            nanny_exe().display()
        ),
        "    server c",
        1,
    );
    fs::write(&rig.config, text).expect("write");
    rig.start();
    wait_for("the script's entry", Duration::from_secs(20), || {
        kernel_table().contains("-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 9")
    });
    // lvsd must not correct the weight to the configured 1.
    rig.signal("HUP");
    wait_for("the reload", Duration::from_secs(10), || {
        rig.status()["reloads"] == 1
    });
    thread::sleep(Duration::from_secs(2));
    assert!(kernel_table().contains("-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 9"));
}

fn lvsd_control(rig: &Rig, action: &str, target: &str) {
    let out = Command::new(lvsd_exe())
        .args(["--control", action, target, "--socket"])
        .arg(&rig.socket)
        .output()
        .expect("lvsd --control");
    assert!(
        out.status.success(),
        "--control {action} {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn control_forces_a_server_down_and_back() {
    let mut rig = Rig::new("control");
    let _servers = rig.net.listen_all();
    rig.write_config(1);
    rig.start();
    rig.converge();
    lvsd_control(&rig, "down", "web/a");
    wait_for("a forced out", Duration::from_secs(10), || {
        !has_server("192.0.2.11")
    });
    lvsd_control(&rig, "normal", "web/a");
    wait_for("a back", Duration::from_secs(15), || {
        has_server("192.0.2.11")
    });
    // An unknown server is an error, not a silent success.
    let out = Command::new(lvsd_exe())
        .args(["--control", "down", "web/nosuch", "--socket"])
        .arg(&rig.socket)
        .output()
        .expect("lvsd --control");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn shared_nannies_one_process_per_check_set() {
    let mut rig = Rig::new("shared");
    let mut servers = rig.net.listen_all();
    // Fractional timers (our extension) reach the shared nannies too.
    let shared = |w| {
        format!("nanny_mode = shared\n{}", config_text(w))
            .replace("timeout = 1\n", "timeout = 0.5\n")
    };
    fs::write(&rig.config, shared(1)).expect("write");
    rig.start();
    let took = rig.converge();
    eprintln!("shared mode converged in {took:?}");
    let nannies = sh("ps -eo comm")
        .lines()
        .filter(|l| l.trim() == "nanny")
        .count();
    // web and alt check alike (same port, timers and check): one shared
    // nanny for both.
    assert_eq!(
        nannies, 1,
        "one shared nanny per set of virtuals that check alike"
    );
    let st = rig.status();
    let pids: BTreeSet<i64> = st["virtuals"]
        .as_array()
        .expect("virtuals")
        .iter()
        .flat_map(|v| v["servers"].as_array().cloned().unwrap_or_default())
        .filter_map(|s| s["monitor_pid"].as_i64())
        .collect();
    assert_eq!(pids.len(), 1, "all servers share one monitor: {st}");

    // The 0.5 s interval reached the nanny: a check of a every half second
    // (at 1 s, the fractional part lost, it would be about 4 in 4 s).
    let before = servers[0].accepted();
    thread::sleep(Duration::from_secs(4));
    let checks = servers[0].accepted() - before;
    eprintln!("shared: {checks} checks of a in 4 s");
    assert!((6..=10).contains(&checks), "{checks} checks of a in 4 s");

    // A dead server leaves; the others stay.
    let b = servers.remove(1);
    drop(b);
    let gone = wait_for("b to leave", Duration::from_secs(10), || {
        !has_server("192.0.2.12")
    });
    eprintln!("shared: b left after {gone:?}");
    // timeout = 0.5 s: the next check within 0.5 s fails within 0.5 s.
    assert!(gone <= Duration::from_millis(1000 + 1500), "{gone:?}");
    assert!(has_server("192.0.2.11") && has_server("192.0.2.13"));

    // Per-server control through lvsd, since there is no per-server pid.
    lvsd_control(&rig, "down", "alt/c");
    wait_for("c forced out", Duration::from_secs(10), || {
        !has_server("192.0.2.13")
    });
    assert!(has_server("192.0.2.11"));
    lvsd_control(&rig, "normal", "alt/c");
    wait_for("c back", Duration::from_secs(15), || {
        has_server("192.0.2.13")
    });

    // A reload with one weight changed: still one write, made at the
    // restarted shared monitor's first verdict.
    let writes = rig.status()["total_writes"].as_u64().expect("writes");
    fs::write(&rig.config, shared(4)).expect("write");
    rig.signal("HUP");
    wait_for("the reload", Duration::from_secs(10), || {
        rig.status()["reloads"] == 1
    });
    wait_for("the raised weight", Duration::from_secs(10), || {
        kernel_table().contains("-a -t 203.0.113.11:80 -r 192.0.2.13:80 -m -w 4")
    });
    assert_eq!(rig.status()["total_writes"].as_u64(), Some(writes + 1));
    assert_eq!(rig.stop().map(|s| s.code()), Some(Some(0)));
}

// ---------------------------------------------------------------------------
// One real server in several virtuals, weights above 1, literal tables.
//
// r1 (192.0.2.11) serves a VIP service on port 80, a fwmark service and a
// second port (8080); r2 (192.0.2.12) the first two. Expected tables are
// written out as `ipvsadm -S -n` prints them, not taken from lvsd.

/// Weights of web/r1, web/r2, marked/r1, marked/r2, alt/r1.
type Weights = [u32; 5];

/// The weights lvsd starts with: r1 enters web at 64 / 32 = 2, the others
/// at 1.
const START: Weights = [64, 3, 6, 2, 7];
/// The weights of the reload.
const RELOADED: Weights = [40, 5, 12, 4, 9];

fn three_virtuals(w: Weights, extra: &str) -> String {
    let nanny = nanny_exe();
    let nanny = nanny.display();
    let common = format!("timeout = 1\n    reentry = 2\n    client_monitor = {nanny}");
    format!(
        "network = nat
hard_shutdown = 0
virtual web {{
    active = 1
    address = 203.0.113.10 eth0:1
    port = 80
    {common}
{extra}    server r1 {{
        address = 192.0.2.11
        active = 1
        weight = {}
    }}
    server r2 {{
        address = 192.0.2.12
        active = 1
        weight = {}
    }}
}}
virtual marked {{
    active = 1
    address = 203.0.113.10 eth0:1
    fwmark = 7
    port = 80
    {common}
    server r1 {{
        address = 192.0.2.11
        active = 1
        weight = {}
    }}
    server r2 {{
        address = 192.0.2.12
        active = 1
        weight = {}
    }}
}}
virtual alt {{
    active = 1
    address = 203.0.113.11 eth0:2
    port = 8080
    {common}
    server r1 {{
        address = 192.0.2.11
        port = 8080
        active = 1
        weight = {}
    }}
}}
",
        w[0], w[1], w[2], w[3], w[4]
    )
}

/// The table with these weights; `None` leaves that entry out.
fn table_of(w: [Option<u32>; 5]) -> BTreeSet<String> {
    let mut t: BTreeSet<String> = [
        "-A -t 203.0.113.10:80 -s wlc",
        "-A -f 7 -s wlc",
        "-A -t 203.0.113.11:8080 -s wlc",
    ]
    .iter()
    .map(|l| (*l).to_owned())
    .collect();
    let lines = [
        "-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w",
        "-a -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w",
        "-a -f 7 -r 192.0.2.11:80 -m -w",
        "-a -f 7 -r 192.0.2.12:80 -m -w",
        "-a -t 203.0.113.11:8080 -r 192.0.2.11:8080 -m -w",
    ];
    for (line, w) in lines.iter().zip(w) {
        if let Some(w) = w {
            t.insert(format!("{line} {w}"));
        }
    }
    t
}

fn all(w: Weights) -> [Option<u32>; 5] {
    w.map(Some)
}

/// Each server's status entry, as (virtual, server, entry).
fn servers(rig: &Rig) -> Vec<(String, String, serde_json::Value)> {
    let st = rig.status();
    let mut out = Vec::new();
    for v in st["virtuals"].as_array().expect("virtuals") {
        for s in v["servers"].as_array().expect("servers") {
            out.push((
                v["name"].as_str().unwrap_or_default().to_owned(),
                s["name"].as_str().unwrap_or_default().to_owned(),
                s.clone(),
            ));
        }
    }
    out
}

/// r1's listeners (ports 80 and 8080) and r2's.
fn listen_r1(rig: &Rig) -> Vec<testrig::Listener> {
    vec![
        rig.net.listen("192.0.2.11"),
        rig.net.listen_on("192.0.2.11", 8080),
    ]
}

fn kill_9(rig: &mut Rig) {
    rig.signal("KILL");
    if let Some(mut c) = rig.lvsd.take() {
        let _ = c.wait();
    }
    // Its nannies follow it (PR_SET_PDEATHSIG) and write nothing.
    wait_for("the nannies to exit", Duration::from_secs(10), || {
        sh("ps -eo comm").lines().all(|l| l.trim() != "nanny")
    });
    fs::remove_file(&rig.socket).ok();
}

// Regression: a restart after kill -9 cut every weight above 1 to
// max(1, w/32); the old test used weight 1 only and could not see it.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn one_server_in_three_virtuals_through_ramp_reload_kill_9_death_and_return() {
    let mut rig = Rig::new("multi");
    let _r1 = listen_r1(&rig);
    let r2 = rig.net.listen("192.0.2.12");
    fs::write(&rig.config, three_virtuals(START, "")).expect("config");

    // Start: every server enters with slow start, weight / 32 (at least 1).
    rig.start();
    let entered = table_of([Some(2), Some(1), Some(1), Some(1), Some(1)]);
    let took = wait_for("every server to enter", Duration::from_secs(15), || {
        kernel_table() == entered
    });
    eprintln!("entered after {took:?}");
    // The ramp doubles about every 20 s (20 checks at a 1 s interval).
    let entered_at = Instant::now();
    wait_for("web/r1 at 4", Duration::from_secs(40), || {
        kernel_table().contains("-a -t 203.0.113.10:80 -r 192.0.2.11:80 -m -w 4")
    });
    let doubled = entered_at.elapsed();
    eprintln!("first doubling after {doubled:?}");
    assert!(doubled >= Duration::from_secs(12), "{doubled:?}");

    // Reload with every weight changed: serving servers take their new
    // weight at their new monitor's first verdict, one write each, and no
    // ramp from the new monitors pulls them down.
    let writes = rig.status()["total_writes"].as_u64().expect("writes");
    fs::write(&rig.config, three_virtuals(RELOADED, "")).expect("config");
    rig.signal("HUP");
    let reloaded = table_of(all(RELOADED));
    wait_for("the reloaded weights", Duration::from_secs(15), || {
        kernel_table() == reloaded
    });
    assert_eq!(rig.status()["total_writes"].as_u64(), Some(writes + 5));

    // kill -9 and restart: the table is adopted as it is, weights and all.
    kill_9(&mut rig);
    assert_eq!(kernel_table(), reloaded, "a dead lvsd must leave the table");
    rig.start();
    wait_for(
        "every server's first verdict",
        Duration::from_secs(15),
        || {
            servers(&rig)
                .iter()
                .all(|(_, _, s)| s["health"] == "up" && s["last_check_ok"] == true)
        },
    );
    let st = rig.status();
    assert_eq!(st["total_writes"], 0, "{st}");
    assert_eq!(kernel_table(), reloaded);

    // r2 dies (refused): out of both its virtuals within the timeout.
    drop(r2);
    let without_r2 = table_of([Some(40), None, Some(12), None, Some(9)]);
    let gone = wait_for("r2 to leave", Duration::from_secs(10), || {
        kernel_table() == without_r2
    });
    eprintln!("r2 left after {gone:?}");
    assert!(gone <= Duration::from_millis(2000 + 1500), "{gone:?}");

    // r2 returns: after reentry (2 s of passing checks) it re-enters with
    // slow start (5 / 32 and 4 / 32: weight 1).
    let _r2 = rig.net.listen("192.0.2.12");
    let back = wait_for("r2 to return", Duration::from_secs(15), || {
        kernel_table() == table_of([Some(40), Some(1), Some(12), Some(1), Some(9)])
    });
    eprintln!("r2 back after {back:?}");
    assert!(back >= Duration::from_millis(1500), "{back:?}");
    assert_eq!(rig.stop().map(|s| s.code()), Some(Some(0)));
    assert!(kernel_table().is_empty(), "{:?}", kernel_table());
}

// Regression: a server failing from its new nanny's first check stayed in
// the table (seen for 50 s and more) and `--status` said `up`.
#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_server_that_dies_while_lvsd_is_down_is_removed_after_the_restart() {
    let mut rig = Rig::new("deadwhiledown");
    let _r1 = listen_r1(&rig);
    let r2 = rig.net.listen("192.0.2.12");
    fs::write(&rig.config, three_virtuals(START, "")).expect("config");
    rig.start();
    // Full weights by a reload (see the scenario test).
    wait_for("every server to enter", Duration::from_secs(15), || {
        kernel_table() == table_of([Some(2), Some(1), Some(1), Some(1), Some(1)])
    });
    fs::write(&rig.config, three_virtuals(RELOADED, "")).expect("config");
    rig.signal("HUP");
    wait_for("the reloaded weights", Duration::from_secs(15), || {
        kernel_table() == table_of(all(RELOADED))
    });
    kill_9(&mut rig);
    drop(r2);
    let restarted = Instant::now();
    rig.start();
    // The new nanny's first check fails: that is its verdict.
    let without_r2 = table_of([Some(40), None, Some(12), None, Some(9)]);
    wait_for("r2 to leave", Duration::from_secs(15), || {
        kernel_table() == without_r2
    });
    let took = restarted.elapsed();
    eprintln!("r2 removed {took:?} after the restart");
    // Start-up, then at most one interval (1 s) and one timeout (1 s).
    assert!(took <= Duration::from_secs(2 + 3), "{took:?}");
    for (v, s, st) in servers(&rig) {
        if s == "r2" {
            assert_eq!(st["health"], "down", "{v}/{s}: {st}");
            assert_eq!(st["last_check_ok"], false, "{v}/{s}: {st}");
        }
    }
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_server_whose_packets_are_dropped_leaves_within_interval_and_timeout() {
    let mut rig = Rig::new("dropped");
    let _r1 = listen_r1(&rig);
    let _r2 = rig.net.listen("192.0.2.12");
    fs::write(&rig.config, three_virtuals(START, "")).expect("config");
    rig.start();
    let entered = table_of([Some(2), Some(1), Some(1), Some(1), Some(1)]);
    wait_for("every server to enter", Duration::from_secs(15), || {
        kernel_table() == entered
    });
    // The listener still runs; r2's answers never leave its namespace.
    rig.net.drop_replies("192.0.2.12");
    let gone = wait_for("r2 to leave", Duration::from_secs(10), || {
        kernel_table() == table_of([Some(2), None, Some(1), None, Some(1)])
    });
    eprintln!("silent r2 left after {gone:?}");
    // The next check (at most 1 s away) gives up after the 1 s timeout.
    assert!(gone <= Duration::from_millis(2000 + 1500), "{gone:?}");
    for (v, s, st) in servers(&rig) {
        if s == "r2" {
            let reason = st["last_check"].as_str().unwrap_or_default();
            assert!(reason.contains("timed out"), "{v}/{s}: {st}");
        }
    }
    rig.net.answer("192.0.2.12");
    wait_for("r2 to return", Duration::from_secs(15), || {
        kernel_table() == entered
    });
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn quiesce_through_lvsd_keeps_weight_zero_until_forced_up_and_sigterm_removes_it() {
    let mut rig = Rig::new("quiesce");
    let _r1 = listen_r1(&rig);
    let r2 = rig.net.listen("192.0.2.12");
    fs::write(
        &rig.config,
        three_virtuals(START, "    quiesce_server = 1\n"),
    )
    .expect("config");
    rig.start();
    wait_for("every server to enter", Duration::from_secs(15), || {
        kernel_table() == table_of([Some(2), Some(1), Some(1), Some(1), Some(1)])
    });
    drop(r2);
    // web quiesces r2 (weight 0, its connections finish); marked removes it.
    let quiesced = table_of([Some(2), Some(0), Some(1), None, Some(1)]);
    wait_for("r2 quiesced in web", Duration::from_secs(10), || {
        kernel_table() == quiesced
    });
    // It stays at 0 through later failed checks.
    let web_r2 = |rig: &Rig| {
        servers(rig)
            .into_iter()
            .find(|(v, s, _)| v == "web" && s == "r2")
            .map(|(_, _, st)| st)
            .expect("web/r2")
    };
    let first = web_r2(&rig)["last_check_at"].as_u64().expect("a check");
    wait_for("three more failed checks", Duration::from_secs(10), || {
        assert_eq!(kernel_table(), quiesced);
        web_r2(&rig)["last_check_at"]
            .as_u64()
            .is_some_and(|t| t >= first + 3)
    });
    assert_eq!(web_r2(&rig)["health"], "quiesced");
    // Forced up over the quiesced entry: edited to its full weight.
    lvsd_control(&rig, "up", "web/r2");
    wait_for("r2 forced up", Duration::from_secs(10), || {
        kernel_table() == table_of([Some(2), Some(3), Some(1), None, Some(1)])
    });
    lvsd_control(&rig, "normal", "web/r2");
    wait_for("r2 quiesced again", Duration::from_secs(10), || {
        kernel_table() == quiesced
    });
    assert_eq!(rig.stop().map(|s| s.code()), Some(Some(0)));
    assert!(kernel_table().is_empty(), "{:?}", kernel_table());
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn checks_leave_no_time_wait_and_open_no_raw_socket() {
    let mut rig = Rig::new("footprint");
    let _r1 = listen_r1(&rig);
    let _r2 = rig.net.listen("192.0.2.12");
    fs::write(&rig.config, three_virtuals(START, "")).expect("config");
    rig.start();
    wait_for("every server to enter", Duration::from_secs(15), || {
        kernel_table() == table_of([Some(2), Some(1), Some(1), Some(1), Some(1)])
    });
    // Connect-only checks: nanny closes first, so a plain close would leave
    // each check's socket in TIME_WAIT here for a minute.
    let first = servers(&rig)[0].2["last_check_at"]
        .as_u64()
        .expect("a check");
    wait_for(
        "five more rounds of checks",
        Duration::from_secs(15),
        || {
            servers(&rig)[0].2["last_check_at"]
                .as_u64()
                .is_some_and(|t| t >= first + 5)
        },
    );
    let nannies = sh("ps -eo comm")
        .lines()
        .filter(|l| l.trim() == "nanny")
        .count();
    assert_eq!(nannies, 5);
    let time_wait: Vec<String> = sh("ss -Htan state time-wait")
        .lines()
        .filter(|l| l.contains("192.0.2."))
        .map(str::to_owned)
        .collect();
    assert!(time_wait.is_empty(), "{time_wait:#?}");
    for file in ["/proc/net/raw", "/proc/net/raw6"] {
        let raw = fs::read_to_string(file).unwrap_or_default();
        assert_eq!(raw.lines().count(), 1, "{file}:\n{raw}");
    }
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn a_restarted_nanny_keeps_its_servers_weight_and_restarts_back_off() {
    let mut rig = Rig::new("respawn3");
    let _r1 = listen_r1(&rig);
    let _r2 = rig.net.listen("192.0.2.12");
    fs::write(&rig.config, three_virtuals(START, "")).expect("config");
    rig.start();
    wait_for("every server to enter", Duration::from_secs(15), || {
        kernel_table() == table_of([Some(2), Some(1), Some(1), Some(1), Some(1)])
    });
    fs::write(&rig.config, three_virtuals(RELOADED, "")).expect("config");
    rig.signal("HUP");
    let reloaded = table_of(all(RELOADED));
    wait_for("the reloaded weights", Duration::from_secs(15), || {
        kernel_table() == reloaded
    });
    let writes = rig.status()["total_writes"].as_u64().expect("writes");
    let web_r1 = |rig: &Rig| {
        servers(rig)
            .into_iter()
            .find(|(v, s, _)| v == "web" && s == "r1")
            .map(|(_, _, st)| st)
            .expect("web/r1")
    };
    let old = web_r1(&rig)["monitor_pid"].as_i64().expect("pid");
    let checked = web_r1(&rig)["last_check_at"].as_u64().expect("a check");
    sh(&format!("kill -9 {old}"));
    // Restarted after 1 s; its first verdict (`want 1`: 40 / 32) must not
    // cut the entry that served at 40 all along.
    wait_for(
        "web/r1's new nanny to check",
        Duration::from_secs(10),
        || {
            let st = web_r1(&rig);
            st["monitor_pid"].as_i64().is_some_and(|p| p != old)
                && st["last_check_at"]
                    .as_u64()
                    .is_some_and(|t| t >= checked + 2)
        },
    );
    assert_eq!(kernel_table(), reloaded);
    assert_eq!(rig.status()["total_writes"].as_u64(), Some(writes));
    // A second death right away backs off further.
    let second = web_r1(&rig)["monitor_pid"].as_i64().expect("pid");
    sh(&format!("kill -9 {second}"));
    wait_for("the second restart", Duration::from_secs(10), || {
        web_r1(&rig)["monitor_pid"]
            .as_i64()
            .is_some_and(|p| p != second)
    });
    let log = rig.log();
    assert!(
        log.contains("nanny for child web/r1 died! (signal: 9 (SIGKILL)) restarting it in 1 s"),
        "{log}"
    );
    assert!(
        log.contains("nanny for child web/r1 died! (signal: 9 (SIGKILL)) restarting it in 2 s"),
        "{log}"
    );
    assert_eq!(kernel_table(), reloaded);
}

#[test]
#[cfg_attr(not(feature = "kernel-tests"), ignore)]
fn changes_behind_lvsds_back_are_repaired_by_the_drift_check() {
    let mut rig = Rig::new("drift");
    let _r1 = listen_r1(&rig);
    let _r2 = rig.net.listen("192.0.2.12");
    // Weight 1 everywhere: no ramp step changes the table meanwhile.
    fs::write(&rig.config, three_virtuals([1; 5], "")).expect("config");
    rig.start();
    let entered = table_of([Some(1); 5]);
    wait_for("every server to enter", Duration::from_secs(15), || {
        kernel_table() == entered
    });
    // Behind lvsd's back: a weight edited, a destination deleted, and a
    // foreign service added. lvsd plans from its own copy of the table
    // between drift checks; the check reads the kernel.
    sh("ipvsadm -e -t 203.0.113.10:80 -r 192.0.2.12:80 -m -w 9 && \
        ipvsadm -d -f 7 -r 192.0.2.11:80 && \
        ipvsadm -A -t 198.51.100.99:443 -s rr");
    let mut repaired = entered.clone();
    repaired.insert("-A -t 198.51.100.99:443 -s rr".to_owned());
    let took = wait_for("the repair", Duration::from_secs(45), || {
        kernel_table() == repaired
    });
    eprintln!("repaired after {took:?}");
    // Every 30 s (one tick of slack, and the guest's slowness).
    assert!(took <= Duration::from_secs(30 + 3), "{took:?}");
    assert_eq!(rig.stop().map(|s| s.code()), Some(Some(0)));
    assert_eq!(
        kernel_table(),
        ["-A -t 198.51.100.99:443 -s rr".to_owned()].into()
    );
}
