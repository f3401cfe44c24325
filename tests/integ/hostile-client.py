#!/usr/bin/python3
"""Hostile HTTP clients for tests/integ/hostile-http.sh, on raw sockets.

    hostile-client.py PORT raw           one request per case, exact status + close
    hostile-client.py PORT slow TIMEOUT  slowloris: a header byte a second
    hostile-client.py PORT idle TIMEOUT  connections that send nothing, or stop after a request
    hostile-client.py PORT flood PID [asan]  1,000 connections: per-IP and total limits, RSS

Each check prints "PASS what" or "FAIL what: why"; other lines start with '#'.
"""
import os
import resource
import selectors
import socket
import sys
import time

PORT = int(sys.argv[1])
HOST = "127.0.0.1"


def report(ok, what, why=""):
    print(("PASS " if ok else "FAIL ") + what + ("" if ok else ": " + why), flush=True)


def connect(src="127.0.0.1", timeout=10):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((HOST, PORT))
    return s


def recv_until(s, buf, enough):
    """Read into buf until enough(buf); (buf, False) if the peer closes first
    (EOF, reset or the socket's timeout)."""
    while not enough(buf):
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            return buf, False
        buf += chunk
    return buf, True


def read_response(s):
    """One response: (status, headers dict, body). Status None if closed first."""
    buf, complete = recv_until(s, b"", lambda b: b"\r\n\r\n" in b)
    if not complete:
        return None, {}, buf
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    n = int(hdrs.get("content-length", "0"))
    body, _ = recv_until(s, body, lambda b: len(b) >= n)
    return status, hdrs, body[:n]


def closed(s, wait=10):
    """True if the server closes the connection (EOF or reset) within wait seconds."""
    s.settimeout(wait)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def req(line, headers=b"", body=b""):
    """A request: LINE (method and target), Host, the HEADERS lines, BODY."""
    return line + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n" + body


HEALTHZ = req(b"GET /healthz")
CHUNKED = b"Transfer-Encoding: chunked\r\n"
CHUNKS = b"5\r\nhello\r\n0\r\n\r\n"
RAW_CASES = [
    # (what, request bytes, status, must close)
    ("20 KB of header fields: 431",
     req(b"GET /healthz", b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 90) for i in range(200))), 431, True),
    ("one 20 KB header field: 431", req(b"GET /healthz", b"X-Big: " + b"b" * 20000 + b"\r\n"), 431, True),
    ("40 KB URL: 414", req(b"GET /feeds/" + b"u" * 40000 + b".ics"), 414, True),
    ("POST: 405", req(b"POST /feeds/commitments.ics", b"Content-Length: 0\r\n"), 405, False),
    ("OPTIONS: 405", req(b"OPTIONS *"), 405, False),
    ("BREW: 405", req(b"BREW /feeds/commitments.ics"), 405, False),
    ("GET with a body: 400", req(b"GET /healthz", b"Content-Length: 5\r\n", b"hello"), 400, True),
    ("Transfer-Encoding: chunked: 400", req(b"GET /healthz", CHUNKED, CHUNKS), 400, True),
    ("Transfer-Encoding and Content-Length: 400",
     req(b"GET /healthz", CHUNKED + b"Content-Length: 5\r\n", CHUNKS), 400, True),
    ("duplicate Content-Length 0, 5 (smuggling): 400",
     req(b"GET /healthz", b"Content-Length: 0\r\nContent-Length: 5\r\n", b"GET /x"), 400, True),
    ("duplicate Content-Length 0, 0: 400",
     req(b"GET /healthz", b"Content-Length: 0\r\nContent-Length: 0\r\n"), 400, True),
] + [
    # (what, target): each a 404 on a connection that stays open
    (what + ": 404", req(b"GET " + target), 404, False) for what, target in [
        ("/feeds/../deadlined.conf", b"/feeds/../deadlined.conf"),
        ("/../deadlined.conf", b"/../deadlined.conf"),
        ("%2e%2e%2f", b"/feeds/%2e%2e%2fschool.token"),
        ("commitments.ics%00", b"/feeds/commitments.ics%00"),
        ("commitments.ics%00.txt", b"/feeds/commitments.ics%00.txt"),
        ("%00 in the token", b"/feeds/school.ics?token=%00"),
    ]
]


def raw():
    for what, req, want, must_close in RAW_CASES:
        s = connect()
        try:
            s.sendall(req)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading everything
        status, hdrs, _ = read_response(s)
        report(status == want, what, "got %r" % status)
        if want == 405:
            report(hdrs.get("allow") == "GET, HEAD", what + ": Allow: GET, HEAD", repr(hdrs))
        if must_close:
            report(closed(s), what + ": connection closed", "still open")
        else:
            # keep-alive holds: a second request on the same connection is answered
            s.sendall(HEALTHZ)
            st2, _, body = read_response(s)
            report(st2 == 200 and body == b"ok\n", what + ": connection still serves", repr(st2))
        s.close()


def slow(timeout):
    """Headers one byte a second for 3x the timeout: the daemon must close first."""
    s = connect("127.0.0.50")
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    payload = b"X-Slow: " + b"z" * (3 * timeout + 10)
    sent = 0
    for byte in payload:
        try:
            s.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += 1
        time.sleep(1)
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                break
        except BlockingIOError:
            pass
        except ConnectionResetError:
            break
        finally:
            s.setblocking(True)
    print("# slowloris: closed after %d of %d header bytes" % (sent, len(payload)))
    report(sent < len(payload), "slowloris (a header byte a second) is closed by the timeout",
           "all %d bytes sent, still open" % sent)


def idle(timeout):
    a = connect("127.0.0.51")
    b = connect("127.0.0.51")
    b.sendall(HEALTHZ)
    st, _, _ = read_response(b)
    report(st == 200, "keep-alive connection: first request answered", repr(st))
    wait = 3 * timeout + 10
    report(closed(a, wait), "idle connection (nothing sent) is closed by the timeout",
           "open after %d s" % wait)
    report(closed(b, wait), "idle keep-alive connection is closed by the timeout",
           "open after %d s" % wait)


def open_all(n, sources):
    """n connections spread over sources, each with a request sent."""
    socks = [connect(sources[i % len(sources)]) for i in range(n)]  # done in the kernel backlog
    for s in socks:
        try:
            s.sendall(HEALTHZ)
        except (BrokenPipeError, ConnectionResetError):
            pass
    return socks


def outcomes(socks, expect, grace=2):
    """Wait until expect of socks are answered (200) or closed unanswered, then grace
    seconds more for any extra. Returns (answered, closed, still waiting) socket lists."""
    sel = selectors.DefaultSelector()
    bufs = {}
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        bufs[s] = b""
    answered, closed_ = [], []
    deadline = time.monotonic() + 60
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                chunk = b""
            except BlockingIOError:
                continue
            bufs[s] += chunk
            if chunk and not bufs[s].endswith(b"ok\n"):
                continue
            sel.unregister(s)
            ok = bufs[s].startswith(b"HTTP/1.1 200") and bufs[s].endswith(b"ok\n")
            (answered if ok else closed_).append(s)
        if len(answered) + len(closed_) >= expect:
            deadline = min(deadline, time.monotonic() + grace)
    waiting = [key.fileobj for key in sel.get_map().values()]
    sel.close()
    return answered, closed_, waiting


def one_request(src):
    try:
        s = connect(src)
        s.sendall(req(b"GET /healthz", b"Connection: close\r\n"))
        st, _, body = read_response(s)
        s.close()
        return st
    except OSError as e:
        return str(e)


def vmrss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def flood(pid, asan):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    rss0 = vmrss_kb(pid)
    print("# daemon VmRSS before: %d kB" % rss0)

    # One address: MHD accepts and at once closes everything past the per-IP limit.
    socks = open_all(1000, ["127.0.0.1"])
    ans, clo, wait = outcomes(socks, 1000)
    print("# 1000 from 127.0.0.1: %d answered, %d closed, %d waiting" % (len(ans), len(clo), len(wait)))
    report(len(ans) == 64, "1000 connections from one address: exactly 64 answered", str(len(ans)))
    report(len(clo) == 936, "1000 connections from one address: the other 936 closed",
           str(len(clo)))
    report(one_request("127.0.0.2") == 200, "meanwhile 127.0.0.2 still gets 200")
    rss = vmrss_kb(pid)
    print("# daemon VmRSS with 1000 connections open: %d kB" % rss)
    check_rss(rss, rss0, asan, "with 1000 connections open")
    for s in socks:
        s.close()
    report(one_request("127.0.0.3") == 200, "after closing them: 200")

    # Many addresses: past the total limit MHD stops accepting; the rest wait in the
    # kernel's backlog and are served as soon as others leave.
    socks = open_all(640, ["127.0.1.%d" % i for i in range(1, 17)])
    ans, clo, wait = outcomes(socks, 512)
    print("# 640 from 16 addresses: %d answered, %d closed, %d waiting" % (len(ans), len(clo), len(wait)))
    report(len(ans) == 512, "640 connections from 16 addresses: exactly 512 answered",
           str(len(ans)))
    report(len(wait) == 128, "640 connections from 16 addresses: 128 wait, unaccepted",
           str(len(wait)))
    for s in ans + clo:
        s.close()
    ans2, clo2, wait2 = outcomes(wait, len(wait))
    report(len(wait) > 0 and len(ans2) == len(wait), "the waiting ones are answered once the others leave",
           "%d answered, %d closed, %d waiting" % (len(ans2), len(clo2), len(wait2)))
    for s in wait:
        s.close()
    report(one_request("127.0.0.4") == 200, "after the flood: 200")
    rss = vmrss_kb(pid)
    print("# daemon VmRSS after the floods: %d kB" % rss)
    check_rss(rss, rss0, asan, "after the floods")


def check_rss(rss, rss0, asan, when):
    """The real daemon stays under 64 MB; ASan's shadow and quarantine inflate the
    absolute figure, so there only the growth is bounded."""
    if asan:
        report(rss - rss0 < 64 * 1024, "daemon VmRSS grows < 64 MB " + when,
               "%d -> %d kB" % (rss0, rss))
    else:
        report(0 < rss < 64 * 1024, "daemon VmRSS < 64 MB " + when, "%d kB" % rss)


def main():
    case = sys.argv[2]
    if case == "raw":
        raw()
    elif case == "slow":
        slow(int(sys.argv[3]))
    elif case == "idle":
        idle(int(sys.argv[3]))
    elif case == "flood":
        flood(int(sys.argv[3]), sys.argv[4:] == ["asan"])
    else:
        sys.exit("unknown case " + case)


if __name__ == "__main__":
    main()
