#!/bin/bash
# A simulated year of daily ticks sends exactly the reminders the schedule
# predicts (deadlined agenda --json), each once, grouped per recipient; a
# fresh ledger years after the data starts sends at most one catch-up per
# deadline and recipient.
source "$(dirname "$0")/lib.sh"
mkscratch
cd "$SCRATCH"
PORT=$(free_port)
sed "s/@SMTP_PORT@/$PORT/" "$TESTS_DIR/data/deliver/smtp.conf.in" > smtp.conf
mkdir mail
$PY "$TESTS_DIR/integ/smtp-sink.py" "$PORT" mail &
track_pid $!
wait_port "$PORT"

START=2026-08-01
"$DEADLINED" -c smtp.conf --now $START agenda --from $START --days 365 --json > agenda.json
check "agenda --json for the year" test -s agenda.json
rc_bad=0
: > ticks.out
for i in $(seq 0 364); do
	day=$(date -u -d "$START + $i days" +%F)
	"$DEADLINED" -c smtp.conf tick --at "${day}T09:30" >> ticks.out || rc_bad=$((rc_bad + 1))
done
check "365 daily ticks all exit 0" test $rc_bad -eq 0
"$DEADLINED" -c smtp.conf tick --at 2027-07-31T09:30 > again.out
check "a repeated tick sends nothing" test "$(grep -c '^sent' again.out)" -eq 0
"$DEADLINED" -c smtp.conf history --json > history.json

cat > compare.py <<'PY'
import calendar, collections, datetime, email, glob, json, sys
start = calendar.timegm(datetime.datetime(2026, 7, 31, 23, 0).timetuple())  # 00:00 BST
expected = collections.Counter()
for d in json.load(open("agenda.json")):
    for r in d["reminders"]:
        slot = "lead:" + r["lead"] if r["kind"] == "lead" else "overdue:%d" % r["repeat"]
        t = calendar.timegm(datetime.datetime.strptime(r["at"], "%Y-%m-%dT%H:%M:%SZ").timetuple())
        for rc in r["recipients"]:
            expected[(d["id"], t, slot, "mailto:" + rc.lower())] += 1
rows = json.load(open("history.json"))
sent = collections.Counter((r["deadline"], r["fire_at"], r["slot"], r["recipient"])
                           for r in rows if r["state"] == "sent" and r["fire_at"] >= start)
catchup = [r for r in rows if r["state"] == "sent" and r["fire_at"] < start]
assert sent == expected, ("missing", expected - sent, "extra", sent - expected)
assert len(expected) >= 8, expected
per = collections.Counter((r["deadline"], r["recipient"]) for r in catchup)
assert all(v == 1 for v in per.values()), per
assert all(r["state"] != "pending" and r["state"] != "failed" for r in rows)
# What arrived: one message per (recipient, day) digest, each Message-ID once,
# and the number of deadlines mentioned equals the sent rows.
ids = collections.Counter()
for p in glob.glob("mail/*.eml"):
    m = email.message_from_binary_file(open(p, "rb"))
    ids[m["Message-ID"]] += 1
assert all(v == 1 for v in ids.values()), ids
msgs = collections.Counter(r["message_id"] for r in rows if r["state"] == "sent")
assert set(msgs) == set(ids), (set(msgs) ^ set(ids))
print("# %d reminders sent in %d messages" % (sum(sent.values()) + len(catchup), len(ids)))
PY
check "sent exactly what agenda predicted, each once" $PY compare.py

# A fresh ledger years after the data starts: at most one per deadline+recipient.
mkdir fresh && sed "s|^state_dir = state|state_dir = fresh|" smtp.conf > fresh.conf
"$DEADLINED" -c fresh.conf tick --at 2030-01-07T10:00 > fresh.out
check "fresh ledger tick exits 0" test $? -eq 0
"$DEADLINED" -c fresh.conf history --json > fresh.json
check "fresh ledger: at most one send per deadline and recipient, rest skipped" $PY -c '
import collections, json
rows = json.load(open("fresh.json"))
c = collections.Counter((r["deadline"], r["recipient"]) for r in rows if r["state"] == "sent")
assert c and all(v == 1 for v in c.values()), c
assert sum(1 for r in rows if r["state"] == "skipped") > 10
assert min(r["fire_at"] for r in rows) >= 1893974400 - 366 * 86400 - 86400'
