#!/usr/bin/env python3
"""Footprint of N nanny processes in report mode (not part of CI).

N loopback listeners that accept and close; N nannies (one per listener,
bare TCP connect, 1 s interval) writing the nanny-report protocol to pipes
this harness reads; after a warm-up, a measurement window of D seconds:

  * total PSS of the nannies (/proc/PID/smaps_rollup),
  * their CPU time (/proc/PID/schedstat field 1, exact ns on CPU),
  * kernel socket memory (/proc/net/sockstat) and raw sockets,
  * checks/s seen on the pipes,
  * detection latency: K listeners are closed, and the time until each
    nanny reports `state inactive` is measured.

Usage: run.py NANNY [N=1000] [WINDOW=60] [WARMUP=15] [K=20]
Method as bench anchors (reference/anchors/checker-footprint.md).
"""

import os
import selectors
import subprocess
import time

import rig

nanny, N, WINDOW, WARMUP, K = rig.args()
BASE = rig.BASE
rig.raise_nofile(4 * N + 100)

sel = selectors.DefaultSelector()
listeners = rig.listen_all(sel, N)

accepts = 0
procs = []
buffers = {}
checks = 0
inactive_at = {}


def sockstat():
    out = {}
    with open("/proc/net/sockstat") as f:
        for line in f:
            key, _, rest = line.partition(":")
            fields = rest.split()
            out[key] = dict(zip(fields[0::2], map(int, fields[1::2])))
    return out


def meminfo(keys=("Slab", "SUnreclaim", "MemAvailable")):
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in keys:
                out[k] = int(v.split()[0])
    return out


mem_before = meminfo()
for i in range(N):
    r, w = os.pipe()
    port = str(BASE + i)
    env = dict(os.environ, LVSD_REPORT_FD=str(w))
    p = subprocess.Popen(
        [nanny, "-c", "-h", "127.0.0.1", "-p", port, "-r", port, "-t", "1",
         "-V", "192.0.2.10", "-M", "m", "-w", "1", "--lvs"],
        env=env, pass_fds=(w,), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    os.set_blocking(r, False)
    sel.register(r, selectors.EVENT_READ, ("pipe", i))
    buffers[i] = b""
    procs.append(p)


def pump(until):
    global accepts, checks
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        for key, _ in sel.select(timeout=min(left, 0.5)):
            kind, i = key.data
            if kind == "listen":
                while True:
                    try:
                        c, _ = key.fileobj.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.close()
                    accepts += 1
            else:
                try:
                    data = os.read(key.fileobj, 65536)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                buf = buffers[i] + data
                *lines, buffers[i] = buf.split(b"\n")
                for line in lines:
                    if line.startswith(b"check "):
                        checks += 1
                    elif line == b"state inactive" and i not in inactive_at:
                        inactive_at[i] = time.monotonic()


def sample():
    pss = cpu = 0
    for p in procs:
        pss += rig.smaps_rollup(p.pid)["Pss"]
        cpu += rig.cpu_ns(p.pid)
    return pss, cpu


pump(time.monotonic() + WARMUP)
alive = sum(p.poll() is None for p in procs)
pss0, cpu0 = sample()
a0, c0, t0 = accepts, checks, time.monotonic()
sock0 = sockstat()
pump(t0 + WINDOW)
pss1, cpu1 = sample()
a1, c1, t1 = accepts, checks, time.monotonic()
sock1 = sockstat()
mem_after = meminfo()
with open(f"/proc/{procs[0].pid}/smaps_rollup") as f:
    one = {l.split(":")[0]: l.split()[1] for l in f if l.split()[0].endswith(":")}
with open(f"/proc/{procs[0].pid}/status") as f:
    threads = [l.split()[1] for l in f if l.startswith("Threads:")][0]
fds = len(os.listdir(f"/proc/{procs[0].pid}/fd"))

# Detection latency: close K listeners (the port then refuses at once).
closed = {}
for i in range(K):
    idx = i * (N // K)
    sel.unregister(listeners[idx])
    listeners[idx].close()
    closed[idx] = time.monotonic()
pump(time.monotonic() + 5)
lat = sorted(inactive_at[i] - closed[i] for i in closed if i in inactive_at)

for p in procs:
    p.terminate()
for p in procs:
    p.wait(timeout=30)
codes = {}
for p in procs:
    codes[p.returncode] = codes.get(p.returncode, 0) + 1

dt = t1 - t0
print(f"nannies: {N} started, {alive} alive after warm-up; exit codes after SIGTERM: {codes}")
print(f"window: {dt:.2f} s")
print(f"checks/s on the pipes: {(c1 - c0) / dt:.1f}; accepts/s at the listeners: {(a1 - a0) / dt:.1f}")
print(f"total PSS: {pss1 / 1024:.1f} MB ({pss1 / N:.0f} kB per nanny)")
print(f"CPU: {(cpu1 - cpu0) / 1e9:.2f} s per {dt:.0f} s (schedstat)")
print(f"one nanny: Rss {one.get('Rss')} kB, Pss {one.get('Pss')} kB, "
      f"Private_Dirty {one.get('Private_Dirty')} kB, threads {threads}, fds {fds}")
print(f"sockstat before/after window: TCP {sock0.get('TCP')} -> {sock1.get('TCP')}; "
      f"RAW {sock1.get('RAW')}")
print(f"meminfo kB before nannies -> end of window: {mem_before} -> {mem_after}")
if lat:
    print(f"detection latency (close -> 'state inactive'), {len(lat)}/{K}: "
          f"min {lat[0]*1000:.0f} ms, median {lat[len(lat)//2]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms")
else:
    print("detection latency: no nanny reported inactive")
