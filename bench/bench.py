#!/usr/bin/python3
"""make bench: deadlined side by side with what its users would otherwise run.

    bench/bench.py --deadlined build/deadlined [--quick]

Generates its inputs under bench/work/, runs every comparison A B A B in one
run, prints one table (figure, deadlined, reference, ratio, target, result),
writes bench/results.json and, when a previous results.json exists, prints
the change since then. Timings are medians; peak memory comes from
/usr/bin/time -f %M. Reference tools: remind(1), nginx, wrk, and postfix's
smtp-source/smtp-sink unpacked under bench/work/postfix (never installed as
a mail system). Every server binds 127.0.0.1 on a free port and is stopped
by its PID.
"""

import argparse
import datetime as dt
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", "work")
RESULTS = os.path.join(ROOT, "bench", "results.json")
GEN = os.path.join(ROOT, "tests", "gen-roster.py")
PY = "/usr/bin/python3"
POSTFIX = os.path.join(WORK, "postfix")
# A fixed "today" inside the generated dates (2022..2030), so runs compare.
DAY = "2025-06-02"
MB = 1024 * 1024

ARGS = None
PIDS = []  # every server we started, stopped by PID at exit


# ---------------------------------------------------------------- helpers

def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=30.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


def start(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    PIDS.append(p)
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in PIDS:
        PIDS.remove(p)


def timed(argv, cwd=None, env=None, stdout=subprocess.DEVNULL):
    """Wall seconds and peak RSS (KiB) of one run; fails loudly."""
    with tempfile.NamedTemporaryFile("r", dir=WORK, suffix=".time") as tf:
        t0 = time.perf_counter()
        r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name] + argv, cwd=cwd,
                           env=env, stdout=stdout, stderr=subprocess.PIPE)
        secs = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError(f"{argv[0]} exited {r.returncode}: {r.stderr[-500:]!r}")
        rss = int(tf.read().split()[-1])
    return secs, rss


def ab(fa, fb, runs):
    """Run fa and fb alternately, A B A B ...; the list of results of each."""
    ra, rb = [], []
    for _ in range(runs):
        ra.append(fa())
        rb.append(fb())
    return ra, rb


def med(xs, i=None):
    return statistics.median(x[i] if i is not None else x for x in xs)


ROWS = []


def row(figure, unit, ours, ref, ratio, target, ok, note=""):
    ROWS.append({"figure": figure, "unit": unit, "deadlined": ours, "reference": ref,
                 "ratio": ratio, "target": target, "pass": None if ok is None else bool(ok),
                 "note": note})
    log(f"{figure}: {ours} vs {ref} {unit} -> {'-' if ok is None else 'pass' if ok else 'FAIL'}")


# ---------------------------------------------------------------- inputs

def roster(n):
    """bench/work/nN: deadlined.conf, roster.csv and reminders.rem for N people."""
    d = os.path.join(WORK, f"n{n}")
    if not all(os.path.exists(os.path.join(d, f))
               for f in ("deadlined.conf", "roster.csv", "reminders.rem")):
        log(f"generating {n} people")
        subprocess.run([PY, GEN, str(n), d, "--remind-file", os.path.join(d, "reminders.rem")],
                       check=True)
    return d


def variant(n, name, http_port=None, quiet=False):
    """A copy of nN's config in its own directory (own state), optionally
    serving HTTP, optionally with one overdue notice per deadline (quiet)."""
    src = roster(n)
    d = os.path.join(WORK, f"{name}-{n}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(src, "deadlined.conf"), encoding="utf-8") as f:
        conf = f.read()
    conf = conf.replace("roster = roster.csv", f"roster = {os.path.join(src, 'roster.csv')}")
    if quiet:
        conf = re.sub(r"^(remind = .*)$", r"\1\noverdue_every = 0", conf, flags=re.M)
    listen = f"127.0.0.1:{http_port}" if http_port else "none"
    conf += f"\n[http]\nlisten = {listen}\n"
    if http_port:
        conf += f'public_url = "http://{listen}"\n'
    with open(os.path.join(d, "deadlined.conf"), "w", encoding="utf-8") as f:
        f.write(conf)
    return os.path.join(d, "deadlined.conf")


# ---------------------------------------------------------------- rows 1, 2

def row_agenda(n, runs):
    d = roster(n)
    conf, rem = os.path.join(d, "deadlined.conf"), os.path.join(d, "reminders.rem")
    ours, ref = ab(lambda: timed([ARGS.deadlined, "-c", conf, "--now", DAY, "agenda",
                                  "--days", "1"]),
                   lambda: timed(["remind", "-q", rem, DAY]), runs)
    t, rt = med(ours, 0), med(ref, 0)
    row(f"agenda, 1 day, N={n:,}", "s", round(t, 3), round(rt, 3), round(rt / t, 2),
        ">= 1x remind", t <= rt)
    if n >= 1000000:
        rss = max(x[1] for x in ours)
        row(f"agenda N={n:,}: wall time", "s", round(t, 3), round(rt, 3), round(rt / t, 2),
            "< 2 s", t < 2.0)
        row(f"agenda N={n:,}: peak RSS", "MB", round(rss / 1024, 1),
            round(max(x[1] for x in ref) / 1024, 1), "-", "< 1024 MB", rss < 1024 * 1024)


def row_export(n, runs):
    d = roster(n)
    conf, rem = os.path.join(d, "deadlined.conf"), os.path.join(d, "reminders.rem")
    out = os.path.join(WORK, f"export-{n}.ics")
    # Both write to /dev/null: `export -o` adds an fsync of the whole feed.
    timed([ARGS.deadlined, "-c", conf, "--now", DAY, "export", "-o", out])
    ours, ref = ab(lambda: timed([ARGS.deadlined, "-c", conf, "--now", DAY, "export"]),
                   lambda: timed(["remind", "-s12", rem, DAY]), runs)
    t, rt = med(ours, 0), med(ref, 0)
    row(f"export whole feed, N={n:,}", "s", round(t, 3), round(rt, 3), round(rt / t, 1),
        ">= 20x remind -s12", rt / t >= 20)
    # Memory: what export holds beyond the model (`check` loads the same
    # model) per byte of feed. A libical tree of the calendar would be
    # several times the feed; the output buffer, grown by doubling, plus one
    # event is at most 2 (1.5 while realloc copies).
    size = os.path.getsize(out)
    _, model_rss = timed([ARGS.deadlined, "-c", conf, "--now", DAY, "check"])
    extra = (max(x[1] for x in ours) - model_rss) * 1024
    row(f"export N={n:,}: RSS beyond the model per feed byte", "B/B",
        round(extra / size, 2), "-", f"{size / MB:.1f} MB feed", "<= 2", extra <= 2 * size,
        f"peak {max(x[1] for x in ours) / 1024:.0f} MB, model {model_rss / 1024:.0f} MB")
    os.unlink(out)


# ---------------------------------------------------------------- notify

class Notify:
    """A NOTIFY_SOCKET listener, as systemd would provide."""

    def __init__(self, name):
        self.path = os.path.join(WORK, f"notify-{name}-{os.getpid()}.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)

    def wait(self, word, limit=120.0):
        """Seconds (perf_counter) at which a datagram holding word arrived."""
        self.s.settimeout(limit)
        while True:
            msg = self.s.recv(4096).decode("utf-8", "replace").split("\n")
            if word in msg:
                return time.perf_counter()

    def close(self):
        self.s.close()
        os.unlink(self.path)


def start_daemon(conf, name, at=None):
    """deadlined run under a NOTIFY_SOCKET; with AT, --now AT: only the
    start-up pass runs, as of AT, and nothing is armed."""
    n = Notify(name)
    env = dict(os.environ, NOTIFY_SOCKET=n.path)
    now = ["--now", at] if at else []
    t0 = time.perf_counter()
    p = start([ARGS.deadlined, "-c", conf, *now, "run"], env=env, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL)
    n.ready_at = n.wait("READY=1")
    return p, n, n.ready_at - t0


# ---------------------------------------------------------------- row 3

def fetch(url, headers):
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req) as r:
        return r.read(), r.headers


def nginx_start(www, port):
    d = os.path.join(WORK, "nginx")
    os.makedirs(os.path.join(d, "logs"), exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1;
daemon off;
user root root;
pid {d}/nginx.pid;
error_log {d}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    gzip_static on;
    types {{ text/calendar ics; }}
    default_type application/octet-stream;
    client_body_temp_path {d}/tmp;
    proxy_temp_path {d}/tmp;
    fastcgi_temp_path {d}/tmp;
    uwsgi_temp_path {d}/tmp;
    scgi_temp_path {d}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {www};
    }}
}}
""")
    p = start(["nginx", "-p", d, "-c", conf, "-e", f"{d}/logs/error.log"],
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def wrk(url, headers):
    argv = ["wrk", "-t2", "-c32", f"-d{ARGS.wrk_secs}s"]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run(argv + [url], check=True, capture_output=True, text=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"wrk {url}: {bad.group(1)} error responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def serve_pair(label, conf, feed):
    """Serve one feed from the daemon and the same bytes from nginx; wrk both."""
    dport, nport = free_port(), free_port()
    conf = conf(dport)
    p, n, _ = start_daemon(conf, "serve")
    www = os.path.join(WORK, "nginx", "www")
    os.makedirs(os.path.join(www, "feeds"), exist_ok=True)
    durl = f"http://127.0.0.1:{dport}/feeds/{feed}.ics"
    nurl = f"http://127.0.0.1:{nport}/feeds/{feed}.ics"
    body, h = fetch(durl, {})
    # A feed over 1 MiB gets its gzip copy from a thread after READY=1.
    for _ in range(300):
        gz, hg = fetch(durl, {"Accept-Encoding": "gzip"})
        if hg.get("Content-Encoding") == "gzip":
            break
        time.sleep(0.1)
    assert hg.get("Content-Encoding") == "gzip", "daemon did not send gzip"
    path = os.path.join(www, "feeds", f"{feed}.ics")
    for data, name in ((body, path), (gz, path + ".gz")):
        with open(name, "wb") as f:
            f.write(data)
    ng = nginx_start(www, nport)
    nbody, nh = fetch(nurl, {})
    ngz, _ = fetch(nurl, {"Accept-Encoding": "gzip"})
    assert nbody == body and ngz == gz, "nginx does not serve the same bytes"
    cases = [("full body", [], []),
             ("gzip", ["Accept-Encoding: gzip"], ["Accept-Encoding: gzip"]),
             ("304", [f"If-None-Match: {h['ETag']}"], [f"If-None-Match: {nh['ETag']}"])]
    try:
        for what, dh, nhd in cases:
            ours, ref = ab(lambda: wrk(durl, dh), lambda: wrk(nurl, nhd), ARGS.serve_runs)
            rps, nrps = med(ours), med(ref)
            size = len(gz) if what == "gzip" else len(body) if what == "full body" else 0
            row(f"serve {label}, {what}", "req/s", round(rps), round(nrps), round(rps / nrps, 2),
                ">= 0.8x nginx", rps >= 0.8 * nrps, f"{size:,} bytes" if size else "")
    finally:
        stop(ng, signal.SIGQUIT)
        stop(p)
        n.close()


def default_conf(port):
    """conf/ copied with its own listen port, state and feed token."""
    d = os.path.join(WORK, "default")
    subprocess.run(["rm", "-rf", d], check=True)
    subprocess.run(["cp", "-r", os.path.join(ROOT, "conf"), d], check=True)
    for junk in ("state", "school.token"):
        subprocess.run(["rm", "-rf", os.path.join(d, junk)], check=True)
    path = os.path.join(d, "deadlined.conf")
    with open(path, encoding="utf-8") as f:
        conf = f.read()
    conf = re.sub(r"^listen = .*$", f"listen = 127.0.0.1:{port}", conf, flags=re.M)
    conf = re.sub(r"^public_url = .*$", f'public_url = "http://127.0.0.1:{port}"', conf,
                  flags=re.M)
    with open(path, "w", encoding="utf-8") as f:
        f.write(conf)
    tok = subprocess.run([ARGS.deadlined, "token"], check=True, capture_output=True).stdout
    fd = os.open(os.path.join(d, "school.token"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, tok)
    os.close(fd)
    return path


def rows_serve():
    # 5,000 people x 2 rules: a 10,000-event feed.
    serve_pair("10k-event feed", lambda port: variant(5000, "serve", port, quiet=True), "all")
    serve_pair("default feed (commitments)", default_conf, "commitments")


# ---------------------------------------------------------------- row 4

NDELIVER = 2000
DELIVER_AT = "2026-01-03T09:00"


def deliver_conf(port, name="deliver", n=NDELIVER, http_port=None):
    """NAME/deadlined.conf: n people whose 1-week reminder fires at
    DELIVER_AT, mailed to 127.0.0.1:port. With http_port it also serves the
    default configuration's public feed (commitments, without notify=)."""
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "roster.csv"), "w", encoding="utf-8") as f:
        f.write("id,name,email,role,org,manager,trained\n")
        for i in range(n):
            f.write(f"p{i:05d},Person {i},p{i:05d}@school{i % 100:03d}.example,dsl,"
                    f"school{i % 100:03d},,2025-01-10\n")
    main, http = "", "listen = none\n"
    feed = ""
    if http_port:
        main = "include = commitments.d\n"
        http = f'listen = 127.0.0.1:{http_port}\npublic_url = "http://127.0.0.1:{http_port}"\n'
        feed = default_feed(os.path.join(d, "commitments.d"))
    # Trained 2025-01-10, due a year later; the 1-week lead fires at DELIVER_AT.
    with open(os.path.join(d, "deadlined.conf"), "w", encoding="utf-8") as f:
        f.write(f"""[deadlined]
timezone = Europe/London
send_at = 09:00
state_dir = state
roster = roster.csv
uid_domain = bench.deadlined.example.org
{main}
[http]
{http}
[smtp]
url = "smtp://127.0.0.1:{port}"
tls = none
from = "deadlined bench <bench@deadlined.example.org>"
{feed}
[rule refresher]
title = "Safeguarding refresher"
applies_to = "role:dsl"
anchor = trained
within = 1y
remind = 1w
notify = person
""")
    return d


def default_feed(incdir):
    """The default configuration's commitments and its public feed section;
    the commitments notify nobody, so the batch is the rule's alone."""
    os.makedirs(incdir, exist_ok=True)
    with open(os.path.join(ROOT, "conf", "conf.d", "10-commitments.conf"), encoding="utf-8") as f:
        text = re.sub(r"^notify = .*\n", "", f.read(), flags=re.M)
    with open(os.path.join(incdir, "10-commitments.conf"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(ROOT, "conf", "deadlined.conf"), encoding="utf-8") as f:
        return re.search(r"^\[feed commitments\]\n(?:.+\n)+", f.read(), flags=re.M).group(0)


def cpu_secs(pid):
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sink:
    """smtp-sink -c on a pipe; a thread notes when each message count was
    first seen, so a run is timed to the sink's own Nth message."""

    def __init__(self, port, opts=()):
        r, w = os.pipe()
        self.p = start([os.path.join(POSTFIX, "usr/sbin/smtp-sink"), "-u", "nobody", "-c",
                        *opts, f"127.0.0.1:{port}", "1000"], env=postfix_env(), stdout=w,
                       stderr=subprocess.STDOUT)
        os.close(w)
        self.fd, self.count, self.seen, self.tail = r, 0, [], b""
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()
        wait_port(port)

    def read(self):
        buf = b""
        while data := os.read(self.fd, 65536):
            t = time.perf_counter()
            buf += data
            done, buf = buf.rsplit(b"\r", 1) if b"\r" in buf else (b"", buf)
            counts = [int(x) for x in re.findall(rb"mesg=(\d+)", done)]
            with self.cond:
                self.tail = (self.tail + data)[-300:]
                if counts and max(counts) > self.count:
                    self.count = max(counts)
                    self.seen.append((t, self.count))
                    self.cond.notify_all()

    def at(self, n, limit=120.0):
        """perf_counter instant at which the sink had taken n messages."""
        with self.cond:
            if not self.cond.wait_for(lambda: self.count >= n, limit):
                raise RuntimeError(f"smtp-sink took {self.count} of {n} messages; "
                                   f"it said {self.tail[-200:]!r}")
            return next(t for t, c in self.seen if c >= n)

    def between(self, t0, t1):
        """Messages taken in each whole second from t0 on, until t1."""
        def upto(t):
            return max([c for u, c in self.seen if u < t], default=0)
        with self.cond:
            edges = [t0 + i for i in range(int(t1 - t0))] + [t1]
            return [upto(b) - upto(a) for a, b in zip(edges, edges[1:])]

    def stop(self):
        stop(self.p)
        self.thread.join(5)
        os.close(self.fd)


def postfix_env():
    return dict(os.environ, LD_LIBRARY_PATH=os.path.join(POSTFIX, "usr/lib/postfix"))


def smtp_source(port):
    """smtp-source -s 16 sending NDELIVER messages; -l: about the size of
    one of deadlined's reminder messages."""
    return [os.path.join(POSTFIX, "usr/sbin/smtp-source"), "-s", "16", "-m", str(NDELIVER),
            "-l", str(ARGS.msg_bytes), "-f", "bench@example.org", "-t", "someone@example.org",
            f"127.0.0.1:{port}"]


def sunk(s, n):
    """Stop sink s and insist it took exactly n messages (no loss, no duplicate)."""
    s.stop()
    if s.count != n:
        raise RuntimeError(f"smtp-sink saw {s.count} messages, expected {n}")


def row_deliver():
    port = free_port()
    d = deliver_conf(port)
    conf = os.path.join(d, "deadlined.conf")

    def run_sink(fn):
        s = Sink(port)
        try:
            secs = fn()
        finally:
            sunk(s, NDELIVER)
        return NDELIVER / secs

    def ours():
        subprocess.run(["rm", "-rf", os.path.join(d, "state")], check=True)
        return run_sink(lambda: timed([ARGS.deadlined, "-c", conf, "tick", "--at",
                                       DELIVER_AT])[0])

    def ref():
        return run_sink(lambda: timed(smtp_source(port), env=postfix_env())[0])

    a, b = ab(ours, ref, ARGS.runs)
    rate, rrate = med(a), med(b)
    row(f"deliver {NDELIVER:,} reminders (tick -> smtp-sink)", "msg/s", round(rate),
        round(rrate), round(rate / rrate, 2), ">= 0.5x smtp-source -s 16",
        rate >= 0.5 * rrate)
    row("deliver: absolute rate", "msg/s", round(rate), "-", "-", ">= 1000 msg/s",
        rate >= 1000)


# ---------------------------------------------------------------- rows 4 and 3 in run

NSERVE_BATCH = 2000


def row_deliver_run():
    """deadlined run's start-up pass (fixed --now: nothing else runs) into
    smtp-sink, READY=1 to the sink's 2,000th message, against smtp-source
    -s 16 from exec to the same sink's 2,000th message."""
    port = free_port()
    d = deliver_conf(port, "deliver-run")
    conf = os.path.join(d, "deadlined.conf")
    first = []

    def ours():
        subprocess.run(["rm", "-rf", os.path.join(d, "state")], check=True)
        s = Sink(port)
        p, n, _ = start_daemon(conf, "deliver-run", DELIVER_AT)
        try:
            t = s.at(NDELIVER) - n.ready_at
            first.append(s.at(1) - n.ready_at)
            time.sleep(0.3)  # a duplicate would show now
        finally:
            stop(p)
            n.close()
            sunk(s, NDELIVER)
        return NDELIVER / t

    def ref():
        s = Sink(port)
        try:
            t0 = time.perf_counter()
            subprocess.run(smtp_source(port), env=postfix_env(), check=True)
            t = s.at(NDELIVER) - t0
        finally:
            sunk(s, NDELIVER)
        return NDELIVER / t

    a, b = ab(ours, ref, ARGS.runs)
    rate, rrate = med(a), med(b)
    note = f"READY=1 -> 1st message {med(first) * 1000:.0f} ms"
    row(f"deliver {NDELIVER:,} reminders (run -> smtp-sink)", "msg/s", round(rate),
        round(rrate), round(rate / rrate, 2), ">= 0.5x smtp-source -s 16",
        rate >= 0.5 * rrate, note)
    row("deliver (run): absolute rate", "msg/s", round(rate), "-", "-", ">= 1000 msg/s",
        rate >= 1000)


def sink_odds(secs):
    """smtp-sink takes whole seconds only: -W data:1:ODDS holds ODDS % of
    DATA replies for 1 s or more, ODDS/(100-ODDS) s on average. Choose ODDS
    so the daemon's 8 connections spread the batch over 1.6 wrk windows + 1 s."""
    per_msg = 8 * (1.6 * secs + 1) / NSERVE_BATCH  # seconds per message per connection
    return max(1, min(50, round(100 * per_msg / (1 + per_msg))))


def row_serve_batch():
    """wrk on the default feed while deadlined run sends a batch into a slow
    smtp-sink, then on the same daemon once the batch is done (idle)."""
    sport, hport = free_port(), free_port()
    d = deliver_conf(sport, "serve-batch", NSERVE_BATCH, hport)
    conf = os.path.join(d, "deadlined.conf")
    url = f"http://127.0.0.1:{hport}/feeds/commitments.ics"
    odds = sink_odds(ARGS.wrk_secs)
    idle, during, notes = [], [], []

    def window(p, s):
        c0, d0, t0 = cpu_secs(s.p.pid), cpu_secs(p.pid), time.perf_counter()
        rps = wrk(url, [])
        t1 = time.perf_counter()
        return rps, t0, t1, cpu_secs(s.p.pid) - c0, cpu_secs(p.pid) - d0

    for _ in range(ARGS.serve_runs):
        subprocess.run(["rm", "-rf", os.path.join(d, "state")], check=True)
        s = Sink(sport, ["-W", f"data:1:{odds}"])
        p, n, _ = start_daemon(conf, "serve-batch", DELIVER_AT)
        try:
            body, _ = fetch(url, {})
            rps, t0, t1, scpu, dcpu = window(p, s)
            secs = s.between(t0, t1)
            sent, left = sum(secs), NSERVE_BATCH - s.count
            if left <= 0:
                raise RuntimeError(f"the batch did not outlast the wrk window: {sent} sent in "
                                   f"it, per second {secs}")
            during.append(rps)
            notes.append((sent, min(secs), scpu, dcpu, left))
            s.at(NSERVE_BATCH, 600)
            time.sleep(0.5)  # the last marks
            irps, _, _, iscpu, idcpu = window(p, s)
            idle.append(irps)
        finally:
            stop(p)
            n.close()
            sunk(s, NSERVE_BATCH)
        log(f"serve-batch: during {rps:.0f} req/s ({sent} sent in the window, per second "
            f"{secs}, {left} left; sink CPU {scpu:.2f} s, daemon CPU {dcpu:.2f} s), "
            f"idle {irps:.0f} req/s (sink CPU {iscpu:.2f} s, daemon CPU {idcpu:.2f} s)")
    r, ir = med(during), med(idle)
    sent, _, scpu, dcpu, left = (med(notes, i) for i in range(5))
    least = min(x[1] for x in notes)  # the slowest second of any window
    row(f"serve default feed during a {NSERVE_BATCH:,}-message batch", "req/s", round(r),
        round(ir), round(r / ir, 2), ">= 0.9x idle", r >= 0.9 * ir,
        f"{len(body):,} bytes; {sent:.0f} msgs sent in the {ARGS.wrk_secs} s window "
        f"({sent / ARGS.wrk_secs:.0f}/s, >= {least:.0f} in every second, {left:.0f} left after; "
        f"smtp-sink -W data:1:{odds}, CPU {scpu:.2f} s; daemon CPU {dcpu:.2f} s)")


# ---------------------------------------------------------------- row 5

def ctx_switches(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


class Idle:
    """deadlined run with nothing due, next to remind -z on the same data.
    Both sleep side by side while the other rows run; a wake-up is a
    context switch of the process (voluntary or not)."""

    def __init__(self):
        conf = variant(10000, "idle", quiet=True)
        # A tick first, so the daemon starts with nothing due until 09:00.
        subprocess.run([ARGS.deadlined, "-c", conf, "tick"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.p, self.n, _ = start_daemon(conf, "idle")
        self.r = start(["remind", "-z", os.path.join(roster(10000), "reminders.rem")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.c0 = self.settle()
        self.t0 = time.monotonic()

    def settle(self, quiet=2.0, limit=60.0):
        """Wait out start-up work (the first delivery pass, remind's first
        scan): until the daemon's count holds still for `quiet` seconds."""
        end, last, since = time.monotonic() + limit, None, time.monotonic()
        while time.monotonic() < end:
            now = ctx_switches(self.p.pid)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.25)
        return (ctx_switches(self.p.pid), ctx_switches(self.r.pid))

    def finish(self, least=65.0):
        # remind wakes once a minute: the window must hold at least one minute.
        time.sleep(max(0.0, least - (time.monotonic() - self.t0)))
        secs = time.monotonic() - self.t0
        c1 = (ctx_switches(self.p.pid), ctx_switches(self.r.pid))
        ours, ref = ((c1[i] - self.c0[i]) * 3600 / secs for i in range(2))
        stop(self.p)
        stop(self.r)
        self.n.close()
        row(f"idle wake-ups per hour ({secs:.0f} s window, N=10,000)", "/h", round(ours),
            round(ref), "-", "0 (no watchdog set)", ours == 0)


# ---------------------------------------------------------------- row 6

def wait_gzip(url, limit=60.0):
    """Until the daemon serves the feed gzipped: its background thread has
    compressed the feed and written STATE/cache (it does both, in that order,
    before the gzip copy is attached)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        _, h = fetch(url, {"Accept-Encoding": "gzip"})
        if h.get("Content-Encoding") == "gzip":
            return
        time.sleep(0.1)
    raise RuntimeError(f"{url}: no gzip copy after {limit:.0f} s")


def row_startup():
    """exec -> READY=1 of a restart (STATE/cache written by the run before,
    as on any restart of a daemon that ran for a few seconds) and SIGHUP ->
    READY=1, at N = 100,000; and, for information, the first start ever (no
    STATE/cache: every event serialised by libical)."""
    port = free_port()
    conf = variant(100000, "start", http_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/feeds/all.ics"
    cache = os.path.join(os.path.dirname(conf), "state", "cache")
    subprocess.run([ARGS.deadlined, "-c", conf, "tick"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready, reload, cold = [], [], []
    for i in range(ARGS.runs):
        # A B A B: a first start (cache removed), then a restart.
        subprocess.run(["rm", "-rf", cache], check=True)
        p, n, t = start_daemon(conf, "start")
        cold.append(t)
        wait_gzip(url)
        stop(p)
        n.close()
        p, n, t = start_daemon(conf, "start")
        ready.append(t)
        wait_gzip(url)
        t0 = time.perf_counter()
        p.send_signal(signal.SIGHUP)
        n.wait("RELOADING=1")
        reload.append(n.wait("READY=1") - t0)
        stop(p)
        n.close()
    r, h, c = med(ready), med(reload), med(cold)
    row("start-up, exec -> READY=1, N=100,000 (restart)", "s", round(r, 3), "-", "-", "< 1 s",
        r < 1, "STATE/cache/all.feed from the run before; " +
        ", ".join(f"{x:.3f}" for x in ready))
    row("reload, SIGHUP -> READY=1, N=100,000", "s", round(h, 3), "-", "-", "< 1 s", h < 1,
        ", ".join(f"{x:.3f}" for x in reload))
    row("first start ever (no STATE/cache), N=100,000", "s", round(c, 3), "-", "-",
        "- (information)", None, ", ".join(f"{x:.3f}" for x in cold))


# ---------------------------------------------------------------- output

def fmt(v):
    if isinstance(v, float):
        return f"{v:,.3f}".rstrip("0").rstrip(".") if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(rows, prev):
    heads = ["figure", "unit", "deadlined", "reference", "ratio", "target", "result"]
    if prev:
        heads.append("vs last run")
    lines = []
    for r in rows:
        line = [r["figure"], r["unit"], fmt(r["deadlined"]), fmt(r["reference"]),
                fmt(r["ratio"]), r["target"],
                "-" if r["pass"] is None else "pass" if r["pass"] else "FAIL"]
        if prev:
            old = prev.get(r["figure"])
            if old and isinstance(old, (int, float)) and old and \
                    isinstance(r["deadlined"], (int, float)):
                line.append(f"{(r['deadlined'] - old) / old * 100:+.0f}%")
            else:
                line.append("new")
        lines.append(line)
    w = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(heads)]
    out = ["  ".join(h.ljust(w[i]) for i, h in enumerate(heads)),
           "  ".join("-" * w[i] for i in range(len(heads)))]
    out += ["  ".join(x[i].ljust(w[i]) for i in range(len(heads))) for x in lines]
    return "\n".join(out)


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return f"{os.cpu_count()} CPUs ({model}), {mem:,} MB RAM, {os.uname().release}"


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deadlined", required=True)
    ap.add_argument("--runs", type=int, default=3, help="A B pairs for short runs")
    ap.add_argument("--long-runs", type=int, default=2, help="A B pairs for remind -s12 at 100k")
    ap.add_argument("--serve-runs", type=int, default=2)
    ap.add_argument("--wrk-secs", type=int, default=int(os.environ.get("BENCH_WRK_SECS", 5)))
    ap.add_argument("--msg-bytes", type=int, default=3000)  # a reminder with its .ics
    ap.add_argument("--only", help="comma-separated: agenda,export,serve,deliver,deliver-run,"
                    "serve-batch,idle,start")
    ARGS = ap.parse_args()
    ARGS.deadlined = os.path.abspath(ARGS.deadlined)
    os.makedirs(WORK, exist_ok=True)
    only = set(ARGS.only.split(",")) if ARGS.only else None
    want = lambda k: only is None or k in only  # noqa: E731
    t0 = time.monotonic()
    try:
        idle = Idle() if want("idle") else None
        if want("agenda"):
            for n in (10000, 100000, 1000000):
                row_agenda(n, ARGS.runs)
        if want("export"):
            row_export(10000, ARGS.runs)
            row_export(100000, ARGS.long_runs)
        if idle:
            idle.finish()
        if want("start"):
            row_startup()
        if want("deliver"):
            row_deliver()
        if want("deliver-run"):
            row_deliver_run()
        if want("serve-batch"):
            row_serve_batch()
        if want("serve"):
            rows_serve()
    finally:
        for p in list(PIDS):
            stop(p)
    prev = None
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            old = json.load(f)
        prev = {r["figure"]: r["deadlined"] for r in old.get("rows", [])}
    print(f"\ndeadlined benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, {machine()}")
    print(f"(medians; A B A B; {time.monotonic() - t0:.0f} s in all)\n")
    print(table(ROWS, prev))
    notes = [f"  {r['figure']}: {r['note']}" for r in ROWS if r["note"]]
    if notes:
        print("\nnotes:\n" + "\n".join(notes))
    failed = sum(r["pass"] is False for r in ROWS)
    judged = sum(r["pass"] is not None for r in ROWS)
    print(f"\n{judged - failed} passed, {failed} failed")
    if only:
        return 0  # a partial run is not a baseline
    with open(RESULTS, "w") as f:
        json.dump({"when": dt.datetime.now().isoformat(timespec="seconds"),
                   "machine": machine(), "rows": ROWS}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
