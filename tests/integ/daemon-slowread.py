#!/usr/bin/python3
"""A slow HTTP client for tests: GET argv[2] from 127.0.0.1:argv[1], read a
little, create argv[3] (".started"), wait for argv[4] to exist, then read
the rest and write the body to argv[5]. Proves the bytes of an in-flight
response survive a reload."""
import os
import socket
import sys
import time

port, path, started, go, out = sys.argv[1:6]
s = socket.create_connection(("127.0.0.1", int(port)))
s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
data = s.recv(4096)
open(started, "w").close()
end = time.monotonic() + 60
while not os.path.exists(go) and time.monotonic() < end:
    time.sleep(0.05)
while True:
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
with open(out, "wb") as f:
    f.write(body)
