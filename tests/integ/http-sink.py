"""Webhook receiver for integration tests: saves each request as DIR/N.json
({"status", "path", "headers", "body"}).

usage: http-sink.py PORT DIR [MODEFILE]
MODEFILE, read per request: absent/"ok" -> 200; "500" -> 500; "429:N" -> 429
with Retry-After: N; "sleep:N" -> sleep N seconds then 200; "302" -> redirect
to file:///etc/passwd.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNT = [0]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def mode(self):
        try:
            with open(self.server.modefile) as f:
                return f.read().strip()
        except (OSError, TypeError):
            return "ok"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        m = self.mode() or "ok"
        status, extra = 200, {}
        if m == "500":
            status = 500
        elif m.startswith("429"):
            status, extra = 429, {"Retry-After": m.split(":", 1)[1]}
        elif m.startswith("sleep:"):
            time.sleep(float(m.split(":", 1)[1]))
        elif m == "302":
            status, extra = 302, {"Location": "file:///etc/passwd"}
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
        rec = {"status": status, "path": self.path, "headers": dict(self.headers.items()),
               "body": body.decode("utf-8", "replace")}
        tmp = os.path.join(self.server.outdir, ".%06d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(self.server.outdir, "%06d.json" % n))
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    srv.outdir = sys.argv[2]
    srv.modefile = sys.argv[3] if len(sys.argv) > 3 else None
    srv.serve_forever()


if __name__ == "__main__":
    main()
