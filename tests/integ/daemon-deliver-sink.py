"""tests/integ/smtp-sink.py with an optional delay per message, for
daemon-deliver.sh: the slow relay a batch is killed in the middle of.

usage: daemon-deliver-sink.py PORT DIR MODEFILE
MODEFILE as for smtp-sink.py, plus "sleep:SECONDS": wait that long before
answering each DATA (the message is saved only after the wait).
"""
import asyncio
import importlib.util
import os
import sys

spec = importlib.util.spec_from_file_location(
    "smtp_sink", os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp-sink.py"))
smtp_sink = importlib.util.module_from_spec(spec)
spec.loader.exec_module(smtp_sink)


class SlowSink(smtp_sink.Sink):
    async def handle_DATA(self, server, session, envelope):
        m = self.mode()
        if m.startswith("sleep:"):
            await asyncio.sleep(float(m.split(":", 1)[1]))
        return await super().handle_DATA(server, session, envelope)


smtp_sink.Sink = SlowSink
if __name__ == "__main__":
    smtp_sink.main()
