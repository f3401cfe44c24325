"""SMTP sink for integration tests (aiosmtpd): saves each message as DIR/N.eml.

usage: smtp-sink.py PORT DIR [MODEFILE]
MODEFILE, read on each RCPT: absent/empty accepts; "4xx" answers 451, "5xx" 550.
"""
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir, modefile):
        self.outdir = outdir
        self.modefile = modefile
        self.lock = threading.Lock()
        self.n = 0

    def mode(self):
        try:
            with open(self.modefile) as f:
                return f.read().strip()
        except (OSError, TypeError):
            return ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        m = self.mode()
        if m == "4xx":
            return "451 4.3.0 Try again later"
        if m == "5xx":
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        tmp = os.path.join(self.outdir, ".%06d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.outdir, "%06d.eml" % n))
        return "250 2.0.0 Message accepted"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    modefile = sys.argv[3] if len(sys.argv) > 3 else None
    ctl = Controller(Sink(outdir, modefile), hostname="127.0.0.1", port=port)
    ctl.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    ctl.stop()


if __name__ == "__main__":
    main()
