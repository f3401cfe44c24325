#!/usr/bin/python3
"""Check an exported feed with a real iCalendar parser (Debian's python3-icalendar).

Usage: ics-check.py FILE [UID_REGEX]
With UID_REGEX, also checks that every (unfolded) UID matches it in full.
Prints one line per assertion group: "ok|WHAT" or "not ok|WHAT|DETAIL".
ics-python.sh turns them into TAP lines.
"""
import datetime
import re
import sys

import icalendar


def result(good, what, detail=""):
    if good:
        print("ok|%s" % what)
    else:
        print("not ok|%s|%s" % (what, detail))


def check_lines(raw):
    bad = []
    if not raw.endswith(b"\r\n"):
        bad.append("does not end in CRLF")
    for n, line in enumerate(raw.split(b"\r\n")[:-1], 1):
        if b"\n" in line or b"\r" in line:
            bad.append("line %d: bare LF or CR" % n)
        if len(line) > 75:
            bad.append("line %d: %d octets" % (n, len(line)))
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append("line %d: fold splits a UTF-8 sequence" % n)
    result(not bad, "lines end in CRLF, are at most 75 octets and valid UTF-8", "; ".join(bad[:5]))


def check_calendar(cal):
    missing = []
    if str(cal.get("METHOD", "")) != "PUBLISH":
        missing.append("METHOD:PUBLISH")
    if str(cal.get("VERSION", "")) != "2.0":
        missing.append("VERSION:2.0")
    if "PRODID" not in cal:
        missing.append("PRODID")
    if "REFRESH-INTERVAL" not in cal:
        missing.append("REFRESH-INTERVAL")
    if "X-PUBLISHED-TTL" not in cal:
        missing.append("X-PUBLISHED-TTL")
    if "X-WR-CALNAME" not in cal or "NAME" not in cal:
        missing.append("NAME / X-WR-CALNAME")
    result(not missing, "calendar carries METHOD:PUBLISH, VERSION, PRODID, REFRESH-INTERVAL, "
           "X-PUBLISHED-TTL and names", "missing " + ", ".join(missing))


def check_uids(events, pattern):
    bad = [str(e.get("UID", "")) for e in events
           if not re.fullmatch(pattern, str(e.get("UID", "")))]
    result(not bad, "every UID matches %s" % pattern, ", ".join(bad[:5]))


def check_events(events):
    result(len(events) > 0, "feed has VEVENTs", "no VEVENT at all")
    uids = [str(e.get("UID", "")) for e in events]
    no_uid = sum(1 for u in uids if not u)
    dups = sorted({u for u in uids if u and uids.count(u) > 1})
    result(no_uid == 0 and not dups, "every VEVENT has a UID, all unique",
           "%d without UID, duplicates: %s" % (no_uid, ", ".join(dups[:5])))
    bad = []
    for e, uid in zip(events, uids):
        start = e.get("DTSTART")
        end = e.get("DTEND")
        if start is None or end is None:
            bad.append("%s: no DTSTART/DTEND" % uid)
            continue
        s, t = start.dt, end.dt
        # datetime is a subclass of date: check both ways.
        if isinstance(s, datetime.datetime) or not isinstance(s, datetime.date):
            bad.append("%s: DTSTART %r is not a date" % (uid, s))
        elif isinstance(t, datetime.datetime) or t != s + datetime.timedelta(days=1):
            bad.append("%s: DTEND %r is not DTSTART + 1 day" % (uid, t))
    result(not bad, "DTSTART is a date and DTEND the next day", "; ".join(bad[:5]))
    bad = [u for e, u in zip(events, uids)
           if "DTSTAMP" not in e or "SEQUENCE" not in e or "SUMMARY" not in e
           or str(e.get("STATUS", "")) not in ("CONFIRMED", "CANCELLED")]
    result(not bad, "every VEVENT has DTSTAMP, SEQUENCE, SUMMARY and a STATUS",
           ", ".join(bad[:5]))


def main():
    raw = open(sys.argv[1], "rb").read()
    check_lines(raw)
    try:
        cal = icalendar.Calendar.from_ical(raw)
    except Exception as exc:  # any parse failure is the finding
        result(False, "icalendar parses the feed", repr(exc))
        return
    result(cal.name == "VCALENDAR", "icalendar parses the feed", "top is %s" % cal.name)
    check_calendar(cal)
    events = [c for c in cal.walk("VEVENT")]
    check_events(events)
    if len(sys.argv) > 2:
        check_uids(events, sys.argv[2])


if __name__ == "__main__":
    main()
