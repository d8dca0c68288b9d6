"""What run.py (one nanny per server) and shared.py (one shared nanny) both
need: their command line, the loopback listeners, and the per-process
figures read from /proc."""

import resource
import selectors
import socket
import sys

# First listener port; listener i is 127.0.0.1:BASE+i.
BASE = 21000


def args():
    """NANNY [N=1000] [WINDOW=60] [WARMUP=15] [K=20] from sys.argv."""
    a = sys.argv
    return (a[1],
            int(a[2]) if len(a) > 2 else 1000,
            float(a[3]) if len(a) > 3 else 60,
            float(a[4]) if len(a) > 4 else 15,
            int(a[5]) if len(a) > 5 else 20)


def raise_nofile(n):
    """Soft open-file limit of at least n (bounded by the hard limit)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n), hard))


def listen_all(sel, n):
    """n non-blocking listeners, registered on sel as ("listen", i)."""
    listeners = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", BASE + i))
        s.listen(128)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, ("listen", i))
        listeners.append(s)
    return listeners


def smaps_rollup(pid):
    """/proc/PID/smaps_rollup as {field: kB}."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return {l.split(":")[0]: int(l.split()[1]) for l in f
                if l.split()[0].endswith(":") and l.split()[1].isdigit()}


def cpu_ns(pid):
    """Nanoseconds on CPU (/proc/PID/schedstat field 1): exact, unlike
    tick-based accounting, for processes this small."""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])
