"""Helpers for daemon-deliver.sh (Debian's /usr/bin/python3, stdlib only).
Every fault-helper.py command too (roster, today, day, ...).

  plan hook|real                "DAY SEND_AT T": the instant T (epoch) a reminder
                                is made due at; hook: today 09:00 local, real: the
                                next minute at least 25 s away
  fmt T                         T as deadlined prints it ("2026-11-22 09:00 GMT")
  at DAY HH:MM                  that local time, printed the same way
  batch HISTORY MAILDIR INFLIGHT  after crashes: every due reminder sent and
                                delivered, duplicates only for Message-IDs that
                                were pending (in flight) when it crashed
  event ICS UIDPREFIX           "SEQUENCE LAST-MODIFIED" of the event
"""
import collections
import datetime as dt
import email
import glob
import importlib.util
import json
import os
import sys
import time


def load_fault_helper():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fault-helper.py")
    spec = importlib.util.spec_from_file_location("fault_helper", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FH = load_fault_helper()
TZ = FH.TZ


def show(t):
    """A time as deadlined prints it ("2026-11-22 09:00 GMT")."""
    print(t.strftime("%Y-%m-%d %H:%M %Z"))


def plan(mode):
    if mode == "hook":
        day = dt.datetime.now(TZ).date()
        t = dt.datetime.combine(day, dt.time(9, 0), TZ)
    else:
        epoch = (int(time.time()) + 25 + 59) // 60 * 60
        t = dt.datetime.fromtimestamp(epoch, TZ)
    print(t.date().isoformat(), t.strftime("%H:%M"), int(t.timestamp()))


def batch(history, maildir, inflight):
    rows = json.load(open(history))
    pending_then = {r["message_id"] for r in json.load(open(inflight)) if r["state"] == "pending"}
    due = {r["recipient"][7:]: r["message_id"] for r in rows if r["state"] != "skipped"}
    bad = [r for r in rows if r["state"] not in ("sent", "skipped")]
    assert not bad, bad[:3]
    seen = collections.defaultdict(list)
    for p in glob.glob(maildir + "/*.eml"):
        m = email.message_from_binary_file(open(p, "rb"))
        assert m["To"], ("a message without To:", p)
        seen[m["To"].strip("<>")].append(m["Message-ID"])
    missing = set(due) - set(seen)
    assert not missing, ("never delivered", sorted(missing)[:5])
    for to, ids in seen.items():
        assert set(ids) == {due[to]}, ("another Message-ID", to, ids, due[to])
    dups = {to: ids[0] for to, ids in seen.items() if len(ids) > 1}
    outside = {to for to, mid in dups.items() if mid not in pending_then}
    assert not outside, ("sent twice though marked sent before the crash", sorted(outside)[:5])
    print(f"{len(due)} due, {sum(map(len, seen.values()))} delivered, {len(dups)} twice, "
          f"{len(pending_then)} were in flight")


def event(path, prefix):
    seq = lm = None
    inside = False
    with open(path, newline="") as f:
        text = f.read().replace("\r\n ", "")
    for line in text.split("\r\n"):
        if line == "BEGIN:VEVENT":
            inside, seq, lm, uid = True, None, None, None
        elif inside and line.startswith("UID:"):
            uid = line[4:]
        elif inside and line.startswith("SEQUENCE:"):
            seq = line[9:]
        elif inside and line.startswith("LAST-MODIFIED:"):
            lm = line[14:]
        elif line == "END:VEVENT" and inside:
            inside = False
            if uid.startswith(prefix):
                print(seq, lm)
                return
    sys.exit(f"no event {prefix}")


COMMANDS = dict(
    FH.COMMANDS,
    plan=plan,
    at=lambda day, hhmm: show(dt.datetime.combine(dt.date.fromisoformat(day),
                                                  dt.time.fromisoformat(hhmm), TZ)),
    fmt=lambda t: show(dt.datetime.fromtimestamp(int(t), TZ)),
    batch=batch,
    event=event,
)


def main():
    if sys.argv[1] not in COMMANDS:
        sys.exit("unknown command " + sys.argv[1])
    COMMANDS[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
