//! The failover rig of the namespace tests, the shape of the keepalived
//! anchor rig (`anchors/keepalived-rig.sh`): namespaces `sw` (a bridge
//! `br0`), `r1`, `r2` and `cl` (named `pu-<PID>-<name>-sw` and so on, see
//! [`testrig::netns::Netns::new`]), each of the last three with an `eth0`
//! veth into the bridge. r1 203.0.113.2/24 (primary), r2 203.0.113.3/24 (backup),
//! client 203.0.113.50/24; the VIP 203.0.113.10/24 on `eth0:1`.
//!
//! Everything the rig starts is killed by PID, and its namespaces and files
//! removed, when it is dropped (also when a test panics).

#![allow(dead_code)] // each test binary uses a different part

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use testrig::netns::Netns;

pub const R1: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
pub const R2: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 3);
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 50);
pub const VIP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
pub const PULSE: &str = env!("CARGO_BIN_EXE_pulse");

/// Run a command, panic with its stderr when it fails; its stdout.
pub fn run(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Poll `cond` every `every` until it holds; `None` after `limit`, else how
/// long it took.
pub fn poll(limit: Duration, every: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() >= limit {
            return None;
        }
        thread::sleep(every);
    }
}

/// Timers and options of one lvs.cf.
#[derive(Clone, Debug)]
pub struct Cf {
    pub keepalive: &'static str,
    pub deadtime: &'static str,
    /// Extra global lines (e.g. `heartbeat_key_file = …`).
    pub extra: String,
    /// Extra blocks after the `web` virtual.
    pub more: String,
}

impl Cf {
    pub fn fast() -> Cf {
        Cf {
            keepalive: "0.1",
            deadtime: "0.3",
            extra: String::new(),
            more: String::new(),
        }
    }
    pub fn original() -> Cf {
        Cf {
            keepalive: "1",
            deadtime: "3",
            extra: String::new(),
            more: String::new(),
        }
    }
    pub fn text(&self) -> String {
        format!(
            "serial_no = 1\n\
             primary = {R1}\n\
             service = lvs\n\
             backup_active = 1\n\
             backup = {R2}\n\
             heartbeat = 1\n\
             heartbeat_port = 539\n\
             keepalive = {}\n\
             deadtime = {}\n\
             network = direct\n\
             {}\n\
             virtual web {{\n\
             \x20    active = 1\n\
             \x20    address = {VIP} eth0:1\n\
             \x20    vip_nmask = 255.255.255.0\n\
             \x20    port = 80\n\
             \x20    protocol = tcp\n\
             \x20    scheduler = wlc\n\
             \x20    server one {{\n\
             \x20        address = 198.51.100.11\n\
             \x20        active = 1\n\
             \x20    }}\n\
             }}\n\
             {}",
            self.keepalive, self.deadtime, self.extra, self.more
        )
    }
}

/// A pulse run by the rig.
pub struct Pulse {
    /// `None` once killed and reaped.
    pub child: Option<Child>,
    pub log: PathBuf,
}

/// The rig; see the module docs.
pub struct Rig {
    pub tag: String,
    pub dir: PathBuf,
    pulses: Vec<Pulse>,
    /// Which router each pulse runs on (index into `pulses`).
    routers: Vec<&'static str>,
    /// By short name (`sw`, `r1`, …), in the order made.
    namespaces: Vec<(&'static str, Netns)>,
    runs: u32,
    /// One route netlink socket per namespace, made there: reading
    /// addresses through it costs microseconds where `ip` costs a process,
    /// which matters when polling every few milliseconds on a busy machine.
    route: RefCell<HashMap<String, rtnl::NetlinkRoute>>,
}

impl Rig {
    /// Build the rig; `name` makes the namespaces and the directory unique
    /// with the PID.
    pub fn new(name: &str) -> Rig {
        let tag = format!("pu{}{name}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("rig dir");
        let mut rig = Rig {
            tag,
            dir,
            pulses: Vec::new(),
            routers: Vec::new(),
            namespaces: Vec::new(),
            runs: 0,
            route: RefCell::new(HashMap::new()),
        };
        // Pushed one by one, so that a failure half-way still drops (and
        // deletes) the namespaces made so far.
        for n in ["sw", "r1", "r2", "cl"] {
            let ns = Netns::new("pu", &format!("{name}-{n}"));
            rig.namespaces.push((n, ns));
        }
        let sw = rig.ns("sw");
        sw.ip(&["link", "add", "br0", "type", "bridge"]);
        sw.ip(&["link", "set", "br0", "up"]);
        for (n, addr) in [("r1", R1), ("r2", R2), ("cl", CLIENT)] {
            let ns = rig.ns(n);
            sw.veth(n, ns, "eth0");
            sw.ip(&["link", "set", n, "master", "br0"]);
            ns.ip(&["link", "set", "lo", "up"]);
            ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
        }
        // The bridge forwards at once (no STP learning delay on new ports).
        sw.ip(&["link", "set", "br0", "type", "bridge", "forward_delay", "0"]);
        rig
    }

    /// Namespace `n` (`sw`, `r1`, `r2`, `cl`).
    pub fn ns(&self, n: &str) -> &Netns {
        self.namespaces
            .iter()
            .find(|(short, _)| *short == n)
            .map(|(_, ns)| ns)
            .unwrap_or_else(|| panic!("the rig has no namespace {n}"))
    }

    /// A second network for the private heartbeat path: bridge `br1` in the
    /// switch namespace, `eth1` in each router, r1 198.51.100.2/24 and r2
    /// 198.51.100.3/24.
    pub fn add_private(&self) {
        let sw = self.ns("sw");
        sw.ip(&["link", "add", "br1", "type", "bridge", "forward_delay", "0"]);
        sw.ip(&["link", "set", "br1", "up"]);
        for (n, addr) in [("r1", "198.51.100.2/24"), ("r2", "198.51.100.3/24")] {
            let ns = self.ns(n);
            let port = format!("{n}p");
            sw.veth(&port, ns, "eth1");
            sw.ip(&["link", "set", &port, "master", "br1"]);
            ns.ip(&["addr", "add", addr, "dev", "eth1"]);
        }
    }

    /// Write `cf` as router `r`'s lvs.cf; its path.
    pub fn write_cf(&self, r: &str, cf: &Cf) -> PathBuf {
        let path = self.dir.join(format!("{r}.cf"));
        fs::write(&path, cf.text()).expect("write lvs.cf");
        path
    }

    /// The status socket of router `r`'s pulse.
    pub fn socket(&self, r: &str) -> PathBuf {
        self.dir.join(format!("{r}.sock"))
    }

    /// Start `pulse -n -t` with `cf` in router `r` (plus `extra` options);
    /// the pulse's index for [`Rig::kill`] and friends.
    pub fn start(&mut self, r: &'static str, cf: &Cf, extra: &[&str]) -> usize {
        let mut args = vec!["-t"];
        args.extend_from_slice(extra);
        self.start_with(r, cf, &args)
    }

    /// Start `pulse -n -v` (without `-t`) with `cf` in router `r`, plus `extra`.
    pub fn start_with(&mut self, r: &'static str, cf: &Cf, extra: &[&str]) -> usize {
        let cfg = self.write_cf(r, cf);
        self.runs += 1;
        let log = self.dir.join(format!("{r}.{}.log", self.runs));
        let out = fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let pidfile = self.dir.join(format!("{r}.pid"));
        let socket = self.socket(r);
        let child = self
            .ns(r)
            .command(PULSE)
            .args(["-n", "-v", "-c"])
            .arg(&cfg)
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("--socket")
            .arg(&socket)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start pulse");
        self.pulses.push(Pulse {
            child: Some(child),
            log,
        });
        self.routers.push(r);
        self.pulses.len() - 1
    }

    /// A stand-in lvsd for router `r` (a shell script in the rig's
    /// directory): it appends `args …`, `ready`, `HUP` and `TERM` lines to
    /// `lvsd-R.log`; it writes `ready PID` to `PULSE_READY_FD` unless the
    /// file `lvsd-R.noready` exists (keeping the pipe open) or
    /// `lvsd-R.closeonly` exists (closing it without a line), after
    /// sleeping the seconds in `lvsd-R.delay` if that exists. Its path.
    pub fn stub_lvsd(&self, r: &str) -> PathBuf {
        let path = self.dir.join(format!("lvsd-{r}"));
        let log = self.dir.join(format!("lvsd-{r}.log"));
        let base = self.dir.join(format!("lvsd-{r}"));
        let script = format!(
            "#!/bin/sh\n\
             log={log}\n\
             echo \"args $*\" >> $log\n\
             trap 'echo HUP >> $log' HUP\n\
             trap 'echo TERM >> $log; exit 0' TERM\n\
             [ -f {base}.delay ] && sleep $(cat {base}.delay)\n\
             if [ -n \"$PULSE_READY_FD\" ] && [ -f {base}.closeonly ]; then\n\
             \x20 eval \"exec $PULSE_READY_FD>&-\"\n\
             elif [ -n \"$PULSE_READY_FD\" ] && [ ! -f {base}.noready ]; then\n\
             \x20 echo \"ready $$\" >> $log\n\
             \x20 eval \"echo ready $$ >&$PULSE_READY_FD\"\n\
             \x20 eval \"exec $PULSE_READY_FD>&-\"\n\
             fi\n\
             while :; do sleep 1 & wait $!; done\n",
            log = log.display(),
            base = base.display()
        );
        fs::write(&path, script).expect("stub lvsd");
        run(&["chmod", "755", &path.display().to_string()]);
        path
    }

    /// The stand-in lvsd's log for router `r`.
    pub fn stub_log(&self, r: &str) -> String {
        fs::read_to_string(self.dir.join(format!("lvsd-{r}.log"))).unwrap_or_default()
    }

    /// The pid of router `r`'s stand-in lvsd from its `ready PID` line.
    pub fn stub_pid(&self, r: &str) -> Option<i32> {
        self.stub_log(r)
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("ready ")?.parse().ok())
    }

    /// The index of the pulse started last on router `r`.
    pub fn last_on(&self, r: &str) -> Option<usize> {
        self.routers.iter().rposition(|x| *x == r)
    }

    /// The log of pulse `i` so far.
    pub fn log(&self, i: usize) -> String {
        fs::read_to_string(&self.pulses[i].log).unwrap_or_default()
    }

    /// Every log, for failure messages.
    pub fn logs(&self) -> String {
        let mut s = String::new();
        for (i, p) in self.pulses.iter().enumerate() {
            s.push_str(&format!("--- pulse {i} on {} ---\n", self.routers[i]));
            s.push_str(&fs::read_to_string(&p.log).unwrap_or_default());
        }
        s
    }

    /// The PID of pulse `i`.
    pub fn pid(&self, i: usize) -> i32 {
        let child = self.pulses[i].child.as_ref().expect("pulse still running");
        i32::try_from(child.id()).expect("pid")
    }

    /// Send `sig` to pulse `i`.
    pub fn signal(&self, i: usize, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid(i)), sig).expect("kill");
    }

    /// SIGKILL pulse `i` and reap it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.pulses[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Wait (≤ `limit`) for pulse `i` to exit; its exit code.
    pub fn wait_exit(&mut self, i: usize, limit: Duration) -> Option<i32> {
        let child = self.pulses[i].child.as_mut()?;
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(st)) = child.try_wait() {
                self.pulses[i].child = None;
                return st.code();
            }
            thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// Every address in namespace `n`.
    pub fn addresses(&self, n: &str) -> Vec<rtnl::Address> {
        let mut map = self.route.borrow_mut();
        if !map.contains_key(n) {
            let route = self.in_ns(n, || rtnl::NetlinkRoute::new().expect("route netlink"));
            map.insert(n.to_owned(), route);
        }
        let route = map.get_mut(n).expect("just inserted");
        rtnl::Interfaces::addresses(route).expect("list addresses")
    }

    /// Whether router `r` holds the VIP.
    pub fn has_vip(&self, r: &str) -> bool {
        self.addresses(r)
            .iter()
            .any(|a| a.addr == std::net::IpAddr::V4(VIP))
    }

    /// Router `r`'s address lines for the VIP (to check label and mask).
    pub fn vip_line(&self, r: &str) -> Option<String> {
        let out = self.ns(r).ip(&["-o", "addr", "show", "dev", "eth0"]);
        out.lines()
            .find(|l| l.contains(&format!(" {VIP}/")))
            .map(str::to_owned)
    }

    /// Put router `r`'s eth0 up or down.
    pub fn link(&self, r: &str, up: bool) {
        let state = if up { "up" } else { "down" };
        self.ns(r).ip(&["link", "set", "eth0", state]);
    }

    /// Put router `r`'s port on the bridge up or down: a partition (`r`'s
    /// eth0 stays administratively up but loses its carrier, since a veth's
    /// carrier follows its peer).
    pub fn port(&self, r: &str, up: bool) {
        let state = if up { "up" } else { "down" };
        self.ns("sw").ip(&["link", "set", r, state]);
    }

    /// Router `r`'s eth0 MAC.
    pub fn mac(&self, r: &str) -> String {
        let out = self.ns(r).ip(&["-o", "link", "show", "eth0"]);
        out.split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .expect("link/ether")
            .to_owned()
    }

    /// The client's neighbour entry for the VIP: its MAC, if it has one.
    pub fn client_neigh(&self) -> Option<String> {
        let vip = VIP.to_string();
        let out = self.ns("cl").ip(&["neigh", "show", &vip, "dev", "eth0"]);
        let mut words = out.split_whitespace();
        words.find(|w| *w == "lladdr")?;
        words.next().map(str::to_owned)
    }

    /// Run `f` on a thread that entered namespace `n` (sockets made there
    /// stay in it).
    pub fn in_ns<T: Send>(&self, n: &str, f: impl FnOnce() -> T + Send) -> T {
        self.ns(n).run(f)
    }

    /// The client talks to the VIP once (one UDP datagram), so that it has a
    /// neighbour entry for it; waits (≤ 2 s) until the entry has a MAC.
    pub fn client_talks_to_vip(&self) -> String {
        self.in_ns("cl", || {
            let s = UdpSocket::bind((CLIENT, 0)).expect("client socket");
            let _ = s.send_to(b"hello", (VIP, 9));
        });
        let mut mac = None;
        poll(Duration::from_secs(2), Duration::from_millis(10), || {
            mac = self.client_neigh();
            mac.is_some()
        });
        mac.unwrap_or_else(|| panic!("the client never resolved the VIP\n{}", self.logs()))
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // Sockets keep their namespace alive: close them first.
        self.route.borrow_mut().clear();
        for child in self.pulses.iter_mut().filter_map(|p| p.child.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Anything else still running in our namespaces was started by this
        // test (a detached pulse, an lvsd stand-in): kill it by PID.
        for (_, ns) in &self.namespaces {
            let pids = Command::new("ip")
                .args(["netns", "pids", ns.name()])
                .output();
            for pid in pids.iter().flat_map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .into_owned()
                    .lines()
                    .filter_map(|l| l.trim().parse::<i32>().ok())
                    .collect::<Vec<_>>()
            }) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        // Last made, first deleted.
        while let Some((_, ns)) = self.namespaces.pop() {
            drop(ns);
        }
        if std::env::var_os("PULSE_RIG_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// An AF_PACKET socket in the namespace it was made in, reading every frame.
pub struct Capture(socket2::Socket);

/// One captured IPv4/UDP frame.
#[derive(Debug, Clone)]
pub struct Frame {
    pub bytes: Vec<u8>,
    pub at: Instant,
}

impl Frame {
    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.bytes[26],
            self.bytes[27],
            self.bytes[28],
            self.bytes[29],
        )
    }
    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::new(
            self.bytes[30],
            self.bytes[31],
            self.bytes[32],
            self.bytes[33],
        )
    }
    pub fn sport(&self) -> u16 {
        u16::from_be_bytes([self.bytes[34], self.bytes[35]])
    }
    pub fn dport(&self) -> u16 {
        u16::from_be_bytes([self.bytes[36], self.bytes[37]])
    }
    pub fn payload(&self) -> &[u8] {
        &self.bytes[42..]
    }
}

const ETH_P_ALL: u16 = 0x0003;

impl Capture {
    /// Open in namespace `n` of `rig`.
    pub fn open(rig: &Rig, n: &str) -> Capture {
        rig.in_ns(n, || {
            let s = socket2::Socket::new(
                socket2::Domain::PACKET,
                socket2::Type::RAW,
                Some(socket2::Protocol::from(i32::from(ETH_P_ALL.to_be()))),
            )
            .expect("AF_PACKET socket");
            s.set_read_timeout(Some(Duration::from_millis(20)))
                .expect("timeout");
            Capture(s)
        })
    }

    /// UDP/IPv4 frames to port 539 from `src`, until `limit` or `count`.
    pub fn heartbeats(&self, src: Ipv4Addr, count: usize, limit: Duration) -> Vec<Frame> {
        self.frames(count, limit, |f| {
            f.bytes.len() >= 42
                && f.bytes[12..14] == [0x08, 0x00]
                && f.bytes[23] == 17
                && f.dport() == 539
                && f.src() == src
        })
    }

    /// ARP frames from Ethernet source `mac`, until `limit` or `count`.
    pub fn arps(&self, mac: &[u8], count: usize, limit: Duration) -> Vec<Frame> {
        self.frames(count, limit, |f| {
            f.bytes.len() >= 42 && f.bytes[12..14] == [0x08, 0x06] && &f.bytes[6..12] == mac
        })
    }

    /// Frames that pass `keep`, until `limit` or `count`.
    pub fn frames(
        &self,
        count: usize,
        limit: Duration,
        keep: impl Fn(&Frame) -> bool,
    ) -> Vec<Frame> {
        let start = Instant::now();
        let mut out = Vec::new();
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while out.len() < count && start.elapsed() < limit {
            let Ok(n) = self.0.recv(&mut buf) else {
                continue;
            };
            // SAFETY: recv initialised the first n bytes.
            let bytes: Vec<u8> = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let frame = Frame {
                bytes,
                at: Instant::now(),
            };
            if keep(&frame) {
                out.push(frame);
            }
        }
        out
    }
}
