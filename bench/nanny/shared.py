#!/usr/bin/env python3
"""Footprint of ONE shared nanny (`--shared`) checking N servers (not CI).

N loopback listeners that accept and close; one nanny with N `--server`
entries (bare TCP connect, 1 s interval) writing protocol version 2 to a
pipe this harness reads, its stdin a pipe as under lvsd; after a warm-up, a
measurement window of D seconds:

  * PSS of the nanny (/proc/PID/smaps_rollup),
  * its CPU time (/proc/PID/schedstat field 1, exact ns on CPU),
  * checks/s seen on the pipe, and how evenly they are spread (checks per
    100 ms slot),
  * detection latency: K listeners are closed, and the time until the
    nanny reports `<index> want none` for each is measured.

Usage: shared.py NANNY [N=1000] [WINDOW=60] [WARMUP=15] [K=20]
Same method as run.py (reference/anchors/checker-footprint.md).
"""

import os
import selectors
import subprocess
import time

import rig

nanny, N, WINDOW, WARMUP, K = rig.args()
BASE = rig.BASE
rig.raise_nofile(2 * N + 100)

sel = selectors.DefaultSelector()
listeners = rig.listen_all(sel, N)

argv = [nanny, "--shared", "-c", "-p", "81", "-t", "1", "-V", "192.0.2.10",
        "-M", "m", "--lvs"]
for i in range(N):
    argv += ["--server", f"127.0.0.1:{BASE + i}:1"]
r, w = os.pipe()
proc = subprocess.Popen(
    argv, env=dict(os.environ, LVSD_REPORT_FD=str(w)), pass_fds=(w,),
    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(w)
os.set_blocking(r, False)
sel.register(r, selectors.EVENT_READ, ("pipe", None))

accepts = 0
checks = 0
check_times = []
recording = False
buffer = b""
want_none_at = {}
argv_bytes = sum(len(a) + 1 for a in argv)


def pump(until):
    global accepts, checks, buffer
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return
        for key, _ in sel.select(timeout=min(left, 0.5)):
            kind, _ = key.data
            if kind == "listen":
                while True:
                    try:
                        c, _ = key.fileobj.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    c.close()
                    accepts += 1
                continue
            try:
                data = os.read(key.fileobj, 1 << 20)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(key.fileobj)
                continue
            now = time.monotonic()
            *lines, buffer = (buffer + data).split(b"\n")
            for line in lines:
                index, _, rest = line.partition(b" ")
                if rest.startswith(b"check "):
                    checks += 1
                    if recording:
                        check_times.append(now)
                elif rest == b"want none" and index != b"-":
                    want_none_at.setdefault(int(index), now)


def sample():
    return rig.smaps_rollup(proc.pid), rig.cpu_ns(proc.pid)


pump(time.monotonic() + WARMUP)
alive = proc.poll() is None
roll0, cpu0 = sample()
a0, c0, t0 = accepts, checks, time.monotonic()
recording = True
pump(t0 + WINDOW)
recording = False
roll1, cpu1 = sample()
a1, c1, t1 = accepts, checks, time.monotonic()
with open(f"/proc/{proc.pid}/status") as f:
    status = {l.split(":")[0]: l.split(":")[1].strip() for l in f}
fds = len(os.listdir(f"/proc/{proc.pid}/fd"))

# Spread: checks per 100 ms slot over the window.
slots = [0] * int(WINDOW * 10)
for t in check_times:
    k = int((t - t0) * 10)
    if 0 <= k < len(slots):
        slots[k] += 1
slots.sort()

# Detection latency: close K listeners (the port then refuses at once).
want_none_at.clear()
closed = {}
for i in range(K):
    idx = i * (N // K)
    sel.unregister(listeners[idx])
    listeners[idx].close()
    closed[idx] = time.monotonic()
pump(time.monotonic() + 5)
lat = sorted(want_none_at[i] - closed[i] for i in closed if i in want_none_at)
others = sorted(set(want_none_at) - set(closed))

proc.terminate()
proc.wait(timeout=30)
pump(time.monotonic() + 0.5)

dt = t1 - t0
print(f"one shared nanny, {N} servers, argv {argv_bytes} bytes; alive after warm-up: {alive}; "
      f"exit code after SIGTERM: {proc.returncode}; last pipe text: {buffer!r}")
print(f"window: {dt:.2f} s")
print(f"checks/s on the pipe: {(c1 - c0) / dt:.1f}; accepts/s at the listeners: {(a1 - a0) / dt:.1f}")
print(f"checks per 100 ms slot: min {slots[0]}, median {slots[len(slots)//2]}, max {slots[-1]}")
print(f"PSS: {roll1.get('Pss', 0) / 1024:.2f} MB (Rss {roll1.get('Rss')} kB, "
      f"Private_Dirty {roll1.get('Private_Dirty')} kB, Anonymous {roll1.get('Anonymous')} kB); "
      f"at warm-up end {roll0.get('Pss', 0) / 1024:.2f} MB")
print(f"CPU: {(cpu1 - cpu0) / 1e9:.2f} s per {dt:.0f} s (schedstat)")
print(f"threads {status.get('Threads')}, fds {fds}, VmHWM {status.get('VmHWM')}")
if lat:
    print(f"detection latency (close -> '<index> want none'), {len(lat)}/{K}: "
          f"min {lat[0]*1000:.0f} ms, median {lat[len(lat)//2]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms; "
          f"other indexes gone out: {others}")
else:
    print("detection latency: no index reported want none")
