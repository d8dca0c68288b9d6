//! The shared plumbing of the tests that run the project's processes.
//!
//! - the real-kernel tests' rig (run in the qemu guest by `tests/vm/ci.sh`):
//!   real servers as small HTTP listeners in a network namespace the test
//!   creates ([`Network`]), and the kernel's IPVS table as `ipvsadm -S -n`
//!   shows it ([`kernel_table`]);
//! - [`process`]: children killed by pid when dropped, bounded waits that
//!   name what they waited for, where the workspace's binaries are;
//! - [`admin`]: the root helper `lvs-admin serve` on a temporary directory,
//!   with a builder for what the tests vary, and a real `lvsd` beside it;
//! - [`web`]: `lvs-web` run unprivileged, and a browser's requests to it;
//! - [`netns`]: named network namespaces for the tests run as root.
//!
//! Test code only; nothing here is shipped.
//!
//! Addresses are documentation ones: the director side is 192.0.2.1/24 on a
//! veth whose peer sits in the namespace with 192.0.2.11–.13.

pub mod admin;
pub mod netns;
pub mod process;
pub mod web;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Real-server addresses the namespace holds.
pub const SERVERS: [&str; 3] = ["192.0.2.11", "192.0.2.12", "192.0.2.13"];

/// Run a shell command, panic with its stderr when it fails; its stdout.
pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("run sh");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The kernel table as a set of `ipvsadm -S -n` lines (its order is the
/// kernel's hash order, so compare sets).
pub fn kernel_table() -> BTreeSet<String> {
    sh("ipvsadm -S -n").lines().map(str::to_owned).collect()
}

/// Whether any service has a destination `addr:80`.
pub fn has_server(addr: &str) -> bool {
    kernel_table()
        .iter()
        .any(|l| l.contains(&format!("-r {addr}:80 ")))
}

/// Poll `cond` every 50 ms; panic after `limit`. Returns how long it took.
pub fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// The lvs.cf of the guest tests that run lvsd over [`Network`]: NAT,
/// virtual `web` (203.0.113.10:80) with servers `a` (192.0.2.11, weight 1)
/// and `b` (192.0.2.12, weight 2), virtual `alt` (203.0.113.11:80, `wrr`)
/// with server `c` at `c_address`, weight `c_weight`; every server checked
/// by `nanny` (timeout 1 s, reentry 2 s). `alt_lines`: more keywords of
/// `alt`, each line ending in a newline (`"    quiesce_server = 1\n"`).
pub fn two_virtuals_cf(
    nanny: &Path,
    serial_no: u32,
    c_address: &str,
    c_weight: u32,
    alt_lines: &str,
) -> String {
    let nanny = nanny.display();
    format!(
        "serial_no = {serial_no}
network = nat
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
        weight = 2
    }}
}}
virtual alt {{
    active = 1
    address = 203.0.113.11 eth0:2
    port = 80
    scheduler = wrr
    timeout = 1
    reentry = 2
{alt_lines}    client_monitor = {nanny}
    server c {{
        address = {c_address}
        active = 1
        weight = {c_weight}
    }}
}}
"
    )
}

/// A network namespace holding the real servers' addresses, and an empty
/// IPVS table; both removed on drop.
pub struct Network {
    name: String,
    veth: String,
}

impl Network {
    /// Create namespace `name` (a leftover of that name is removed first).
    pub fn new(name: &str) -> Self {
        let veth = format!("{name}-v");
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("ip")
            .args(["link", "del", &veth])
            .stderr(Stdio::null())
            .status();
        sh("ipvsadm -C");
        let mut script = format!(
            "ip netns add {name} && \
             ip link add {veth} type veth peer name eth0 netns {name} && \
             ip addr add 192.0.2.1/24 dev {veth} && ip link set {veth} up && \
             ip -n {name} link set lo up && ip -n {name} link set eth0 up"
        );
        for a in SERVERS {
            script.push_str(&format!(" && ip -n {name} addr add {a}/24 dev eth0"));
        }
        sh(&script);
        Network {
            name: name.to_owned(),
            veth,
        }
    }

    /// An HTTP listener on `addr:80` inside the namespace.
    pub fn listen(&self, addr: &str) -> Listener {
        Listener::start(&self.name, addr, 80)
    }

    /// An HTTP listener on `addr:port` inside the namespace.
    pub fn listen_on(&self, addr: &str, port: u16) -> Listener {
        Listener::start(&self.name, addr, port)
    }

    /// Make `addr` stop answering without refusing: every packet it would
    /// send (a SYN-ACK, a reset) is dropped inside the namespace by a
    /// blackhole route for its source address, so the director's
    /// connections time out as with a hung host or a dropping firewall.
    /// Needs no netfilter. Undone by [`Network::answer`].
    pub fn drop_replies(&self, addr: &str) {
        let name = &self.name;
        let table = blackhole_table(addr);
        sh(&format!(
            "ip -n {name} route add blackhole default table {table} && \
             ip -n {name} rule add from {addr} table {table} priority {table}"
        ));
    }

    /// Undo [`Network::drop_replies`].
    pub fn answer(&self, addr: &str) {
        let name = &self.name;
        let table = blackhole_table(addr);
        sh(&format!(
            "ip -n {name} rule del from {addr} table {table} priority {table} && \
             ip -n {name} route flush table {table}"
        ));
    }

    /// A listener on every address of [`SERVERS`].
    pub fn listen_all(&self) -> Vec<Listener> {
        SERVERS.iter().map(|a| self.listen(a)).collect()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = Command::new("ipvsadm").arg("-C").status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// A routing table (and rule priority) per address for
/// [`Network::drop_replies`]: 100 + the address's last byte.
fn blackhole_table(addr: &str) -> u32 {
    let last: u32 = addr
        .rsplit('.')
        .next()
        .and_then(|b| b.parse().ok())
        .expect("an IPv4 address");
    100 + last
}

/// An HTTP server in the namespace, answering every connection with a status
/// line and closing; stopped (connections refused) when dropped.
pub struct Listener {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start(netns: &str, addr: &str, port: u16) -> Self {
        let addr: SocketAddr = format!("{addr}:{port}").parse().expect("addr");
        let path = format!("/run/netns/{netns}");
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let count = accepted.clone();
        let thread = thread::spawn(move || {
            // Only this thread enters the namespace.
            let ns = fs::File::open(path).expect("netns");
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let listener = TcpListener::bind(addr).expect("bind");
            listener.set_nonblocking(true).expect("nonblocking");
            ready_tx.send(()).expect("ready");
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
                        let mut buf = [0u8; 256];
                        // A client that closed without asking (a connect
                        // check) gets nothing: writing to it would make
                        // its kernel answer with a reset, which hides
                        // whether it closed cleanly (TIME_WAIT) or not.
                        if !matches!(conn.read(&mut buf), Ok(0)) {
                            let _ = conn.write_all(b"HTTP/1.0 200 OK\r\n\r\n");
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("listener up");
        Listener {
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far (each health check is one).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
