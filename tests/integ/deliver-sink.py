"""tests/integ/smtp-sink.py with a hold, for the deliver-*.sh tests: a relay
that keeps messages in flight for as long as the test wants.

usage: deliver-sink.py PORT DIR MODEFILE
MODEFILE as for smtp-sink.py, plus "hold:PATH": while PATH exists each DATA
waits before it is answered (and saved); MODEFILE.held counts the messages
that have waited since the sink started.
"""
import asyncio
import importlib.util
import os
import sys

spec = importlib.util.spec_from_file_location(
    "smtp_sink", os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp-sink.py"))
smtp_sink = importlib.util.module_from_spec(spec)
spec.loader.exec_module(smtp_sink)


class HoldSink(smtp_sink.Sink):
    held = 0

    def count_held(self):
        HoldSink.held += 1
        tmp = self.modefile + ".held.tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % HoldSink.held)
        os.rename(tmp, self.modefile + ".held")

    async def handle_DATA(self, server, session, envelope):
        m = self.mode()
        if m.startswith("hold:"):
            path = m.split(":", 1)[1]
            self.count_held()
            while os.path.exists(path):
                await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


smtp_sink.Sink = HoldSink
if __name__ == "__main__":
    smtp_sink.main()
