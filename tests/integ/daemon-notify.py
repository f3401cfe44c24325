#!/usr/bin/python3
"""A NOTIFY_SOCKET listener for tests: binds an AF_UNIX datagram socket at
argv[1] and appends every message to argv[2], one datagram per line with
newlines shown as '|'. Exits after STOPPING=1 or after argv[3] seconds."""
import os
import socket
import sys
import time

path, out, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.2)
end = time.monotonic() + limit
with open(out, "a", buffering=1) as f:
    while time.monotonic() < end:
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        msg = data.decode("utf-8", "replace")
        f.write(msg.replace("\n", "|") + "\n")
        if "STOPPING=1" in msg.split("\n"):
            break
s.close()
os.unlink(path)
