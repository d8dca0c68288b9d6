#!/usr/bin/env python3
"""Stand in for systemd's notification socket or for syslog's /dev/log
(packaging/check.sh).

    dgram-listen.py SOCKET SECONDS

Binds a Unix datagram socket at SOCKET, prints each datagram received
within SECONDS as one line (newlines inside shown as "|"), then exits.
"""
import os
import socket
import sys
import time

path, seconds = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
print("listening", flush=True)
end = time.monotonic() + seconds
while True:
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        data = s.recv(4096)
    except socket.timeout:
        break
    print("%.3f %s" % (time.monotonic(), data.decode().replace("\n", "|")), flush=True)
os.unlink(path)
