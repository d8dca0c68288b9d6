#!/usr/bin/env python3
"""Failover time of pulse and of keepalived's VRRP in one namespace rig.

The rig (documentation addresses only, namespaces named after this PID):
  sw  a bridge; r1 203.0.113.2 (primary / VRRP MASTER prio 150),
  r2 203.0.113.3 (backup / BACKUP prio 100), cl 203.0.113.50 (client),
  each with eth0 on the bridge; the VIP 203.0.113.10/24 on eth0:1.

One run: both routers started, steady state checked (r1 alone holds the
VIP, the client reaches it and its neighbour entry shows r1's MAC), a
random wait of 0..interval (the phase against r1's heartbeat), then
  kill:  kill -9 of r1's daemon processes, then `ip link set eth0 down` in r1
  stop:  SIGTERM to r1's daemon (a planned stop; the link stays up)
and two clocks from just before the kill:
  garp   the first gratuitous ARP from r2 for the VIP, timestamped by an
         AF_PACKET socket in the client namespace (the sharp figure);
  neigh  the first 5 ms poll at which r2 holds the VIP and the client's
         neighbour entry for the VIP shows r2's MAC.

pulse runs with --test-start (-t): heartbeats, addresses and ARP, no lvsd
and no IPVS, the same path keepalived's VRRP-only run covers.

Usage (root; iproute2; keepalived for --peer keepalived):
  rig.py --peer pulse --pulse target/release/pulse --keepalive 2 --deadtime 5 [--runs 5] [--mode kill|stop]
  rig.py --peer keepalived --advert 1 --vrrp-version 2 [--runs 5] [--mode kill|stop]
Prints one line per run and a summary line:
  RESULT peer=pulse setting=2/5 mode=kill garp_ms=min/median/max neigh_ms=min/median/max runs=N
Exit 0 iff every run failed over within the limit. Every process started is
killed by PID and every namespace removed, also on error or Ctrl-C.
"""

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

VIP = "203.0.113.10"
R1, R2, CL = "203.0.113.2", "203.0.113.3", "203.0.113.50"
POLL = 0.005

# Runs in the client namespace: prints "ready", then the wall-clock time of
# the first ARP frame with sender IP = VIP and sender MAC = argv[1], or
# "none" after argv[2] seconds.
CAPTURE = r"""
import socket, struct, sys, time, select
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
vip = socket.inet_aton(sys.argv[2])
limit = float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("eth0", 0))
print("ready", flush=True)
end = time.time() + limit
while True:
    left = end - time.time()
    if left <= 0 or not select.select([s], [], [], left)[0]:
        print("none", flush=True)
        break
    frame = s.recv(2048)
    now = time.time()
    if len(frame) >= 42 and frame[22:28] == mac and frame[28:32] == vip:
        print("%.6f" % now, flush=True)
        break
"""


def sh(*args, check=True, capture=False):
    return subprocess.run(args, check=check, text=True,
                          stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                          stderr=subprocess.PIPE if capture else subprocess.DEVNULL)


class Rig:
    def __init__(self, args):
        self.args = args
        self.prefix = "fo%d" % os.getpid()
        self.work = tempfile.mkdtemp(prefix="failover-rig.")
        self.procs = {}     # router -> Popen of its daemon
        self.extra = []     # other processes we started
        self.made = []

    def ns(self, name):
        return self.prefix + name

    def build(self):
        sw = self.ns("sw")
        sh("ip", "netns", "add", sw)
        self.made.append(sw)
        sh("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", sw, "link", "set", "br0", "up")
        for name, addr in (("r1", R1), ("r2", R2), ("cl", CL)):
            n = self.ns(name)
            sh("ip", "netns", "add", n)
            self.made.append(n)
            sh("ip", "-n", sw, "link", "add", "v" + name, "type", "veth",
               "peer", "name", "eth0", "netns", n)
            sh("ip", "-n", sw, "link", "set", "v" + name, "master", "br0", "up")
            sh("ip", "-n", n, "link", "set", "lo", "up")
            sh("ip", "-n", n, "link", "set", "eth0", "up")
            sh("ip", "-n", n, "addr", "add", addr + "/24", "brd", "+", "dev", "eth0")
        self.mac = {r: self.link_mac(r) for r in ("r1", "r2")}

    def link_mac(self, router):
        out = sh("ip", "-n", self.ns(router), "-o", "link", "show", "eth0", capture=True).stdout
        return out.split("link/ether ")[1].split()[0]

    # -- daemons ----------------------------------------------------------
    def config_pulse(self, router):
        a = self.args
        path = os.path.join(self.work, router + ".cf")
        with open(path, "w") as f:
            f.write(f"""serial_no = 1
primary = {R1}
service = lvs
backup_active = 1
backup = {R2}
heartbeat = 1
heartbeat_port = 539
keepalive = {a.keepalive}
deadtime = {a.deadtime}
network = direct
virtual web {{
    active = 1
    address = {VIP} eth0:1
    vip_nmask = 255.255.255.0
    port = 80
    scheduler = wlc
    protocol = tcp
    server web1 {{
        address = 198.51.100.11
        active = 1
        weight = 1
    }}
}}
""")
        return path

    def config_keepalived(self, router):
        a = self.args
        master = router == "r1"
        src, peer = (R1, R2) if master else (R2, R1)
        path = os.path.join(self.work, router + ".conf")
        with open(path, "w") as f:
            f.write("global_defs {\n  router_id %s\n%s}\n" % (
                router, "  vrrp_version 3\n" if a.vrrp_version == 3 else ""))
            f.write(f"""vrrp_instance VI_1 {{
  state {"MASTER" if master else "BACKUP"}
  interface eth0
  virtual_router_id 51
  priority {150 if master else 100}
  advert_int {a.advert}
  unicast_src_ip {src}
  unicast_peer {{
    {peer}
  }}
  virtual_ipaddress {{
    {VIP}/24 dev eth0 label eth0:1
  }}
}}
""")
        return path

    def start(self, router):
        a = self.args
        n = self.ns(router)
        log = open(os.path.join(self.work, router + ".log"), "a")
        if a.peer == "pulse":
            cf = self.config_pulse(router)
            cmd = ["ip", "netns", "exec", n, a.pulse, "-n", "-t", "-c", cf,
                   "--pidfile", os.path.join(self.work, router + ".pid"),
                   "--socket", os.path.join(self.work, router + ".sock")]
        else:
            conf = self.config_keepalived(router)
            w = lambda s: os.path.join(self.work, router + s)
            for suffix in (".pid", ".vrrp.pid", ".check.pid", ".bfd.pid"):
                try:
                    os.unlink(w(suffix))
                except FileNotFoundError:
                    pass
            cmd = ["ip", "netns", "exec", n, a.keepalived, "--vrrp", "-n", "-l", "-D", "-G",
                   "-f", conf, "-p", w(".pid"), "-r", w(".vrrp.pid"),
                   "-c", w(".check.pid"), "-b", w(".bfd.pid")]
        self.procs[router] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def daemon_pids(self, router):
        """Every process of the router's daemon: the one we started (ip
        netns exec execs it) and, for keepalived, its VRRP child."""
        p = self.procs.get(router)
        if p is None or p.poll() is not None:
            return []
        pids = [p.pid]
        f = os.path.join(self.work, router + ".vrrp.pid")
        if self.args.peer == "keepalived" and os.path.exists(f):
            try:
                kid = int(open(f).read().strip())
                if open("/proc/%d/comm" % kid).read().strip() == "keepalived":
                    pids.insert(0, kid)   # the child first: no priority-0 advert
            except (OSError, ValueError):
                pass
        return pids

    def stop(self, router):
        p = self.procs.pop(router, None)
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    # -- observations -----------------------------------------------------
    def holds_vip(self, router):
        out = sh("ip", "-n", self.ns(router), "-o", "-4", "addr", "show", "dev", "eth0",
                 capture=True, check=False).stdout
        return (" %s/" % VIP) in out

    def client_mac(self):
        out = sh("ip", "-n", self.ns("cl"), "neigh", "show", VIP, "dev", "eth0",
                 capture=True, check=False).stdout.split()
        return out[out.index("lladdr") + 1] if "lladdr" in out else None

    def reach(self):
        """A TCP connect from the client to the VIP gets an answer (a
        refusal counts): the client has resolved the VIP's MAC."""
        r = subprocess.run(["ip", "netns", "exec", self.ns("cl"), "timeout", "2", "bash", "-c",
                            "exec 3<>/dev/tcp/%s/9" % VIP],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return "refused" in r.stderr.lower() or r.returncode == 0

    def wait(self, cond, limit):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if cond():
                return True
            time.sleep(0.05)
        return False

    # -- one run ----------------------------------------------------------
    def run_once(self, i):
        a = self.args
        for r in ("r1", "r2"):
            self.stop(r)
        for r in ("r1", "r2"):
            sh("ip", "-n", self.ns(r), "addr", "del", VIP + "/24", "dev", "eth0", check=False)
        sh("ip", "-n", self.ns("r1"), "link", "set", "eth0", "up")
        sh("ip", "-n", self.ns("cl"), "neigh", "flush", "dev", "eth0", check=False)
        self.start("r1")
        self.start("r2")
        settle = max(2.0, 4 * self.interval() + 1) + (self.args.deadtime or 0)
        if not self.wait(lambda: self.holds_vip("r1") and not self.holds_vip("r2"), 30 + settle):
            raise RuntimeError("run %d: r1 did not become the only holder of the VIP (r1 %s, r2 %s)\n%s"
                               % (i, self.holds_vip("r1"), self.holds_vip("r2"), self.log_tails()))
        time.sleep(settle)
        if self.holds_vip("r2"):
            raise RuntimeError("run %d: r2 holds the VIP while r1 is alive" % i)
        if not self.reach() or self.client_mac() != self.mac["r1"]:
            raise RuntimeError("run %d: the client does not reach the VIP at r1 (%s)" % (i, self.client_mac()))
        cap = subprocess.Popen(["ip", "netns", "exec", self.ns("cl"), sys.executable, "-c", CAPTURE,
                                self.mac["r2"], VIP, str(self.limit())],
                               stdout=subprocess.PIPE, text=True)
        self.extra.append(cap)
        if cap.stdout.readline().strip() != "ready":
            raise RuntimeError("capture did not start")
        time.sleep(random.uniform(0, self.interval()))
        victims = self.daemon_pids("r1")
        t0 = time.time()
        if a.mode == "kill":
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            sh("ip", "-n", self.ns("r1"), "link", "set", "eth0", "down")
        else:
            os.kill(victims[-1], signal.SIGTERM)
        neigh = None
        end = t0 + self.limit()
        nxt = t0
        while time.time() < end:
            if self.holds_vip("r2") and self.client_mac() == self.mac["r2"]:
                neigh = time.time()
                break
            nxt += POLL
            time.sleep(max(0.0, nxt - time.time()))
        line = cap.stdout.readline().strip()
        try:
            cap.wait(self.limit() + 5)
        except subprocess.TimeoutExpired:
            cap.kill()
        self.extra.remove(cap)
        self.procs["r1"].wait(10)
        # keepalived's VRRP child is not ours to wait for: poll until it has
        # gone, or the next start finds its pid file and refuses to run.
        for pid in victims:
            gone_by = time.monotonic() + 10
            while os.path.exists("/proc/%d" % pid) and time.monotonic() < gone_by:
                time.sleep(0.02)
        if neigh is None:
            raise RuntimeError("run %d: r2 did not take over within %.1f s (client neighbour %s)"
                               % (i, self.limit(), self.client_mac()))
        garp = float(line) if line not in ("", "none") else None
        g = (garp - t0) * 1000 if garp else None
        n = (neigh - t0) * 1000
        print("run %d: garp %s ms, neigh %.0f ms" % (i, "%.1f" % g if g is not None else "-", n), flush=True)
        return g, n

    def log_tails(self, lines=8):
        out = []
        for r in ("r1", "r2"):
            try:
                with open(os.path.join(self.work, r + ".log")) as f:
                    out += ["%s| %s" % (r, l.rstrip()) for l in f.readlines()[-lines:]]
            except OSError:
                pass
        return "\n".join(out)

    def interval(self):
        return self.args.keepalive if self.args.peer == "pulse" else self.args.advert

    def limit(self):
        if self.args.peer == "pulse":
            return 3 * (self.args.deadtime + self.args.keepalive) + 5
        return 10 * self.args.advert + 10

    def cleanup(self):
        for r in list(self.procs):
            for pid in self.daemon_pids(r):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.procs[r].wait()
        for p in self.extra:
            p.kill()
            p.wait()
        for n in reversed(self.made):
            sh("ip", "netns", "del", n, check=False)
        shutil.rmtree(self.work, ignore_errors=True)


def summary(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return "%.0f/%.0f/%.0f" % (min(xs), statistics.median(xs), max(xs))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--peer", choices=["pulse", "keepalived"], required=True)
    p.add_argument("--pulse", default="target/release/pulse")
    p.add_argument("--keepalived", default=shutil.which("keepalived") or "keepalived")
    p.add_argument("--keepalive", type=float, default=2.0)
    p.add_argument("--deadtime", type=float, default=5.0)
    p.add_argument("--advert", type=float, default=1.0)
    p.add_argument("--vrrp-version", type=int, choices=[2, 3], default=2)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--mode", choices=["kill", "stop"], default="kill")
    a = p.parse_args()
    if a.peer == "pulse":
        a.pulse = os.path.abspath(a.pulse)
    else:
        a.deadtime = 0.0
    if not 1 <= a.runs <= 50:
        p.error("--runs must be 1..50")
    rig = Rig(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    garps, neighs = [], []
    try:
        rig.build()
        for i in range(1, a.runs + 1):
            g, n = rig.run_once(i)
            garps.append(g)
            neighs.append(n)
    except (RuntimeError, subprocess.CalledProcessError, OSError) as e:
        print("RESULT fail: %s" % e, flush=True)
        return 1
    finally:
        rig.cleanup()
    setting = ("%g/%g" % (a.keepalive, a.deadtime)) if a.peer == "pulse" else \
        ("advert %g v%d" % (a.advert, a.vrrp_version))
    print("RESULT peer=%s setting=%s mode=%s garp_ms=%s neigh_ms=%s runs=%d"
          % (a.peer, setting, a.mode, summary(garps), summary(neighs), a.runs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
