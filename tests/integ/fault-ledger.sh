#!/usr/bin/env bash
# A locked ledger and a damaged one.
# Locked: another process holds an exclusive SQLite lock. `tick` waits the
# busy timeout (5 s), exits 75 (EX_TEMPFAIL) naming the file, sends nothing; a tick after
# the lock is gone sends everything once. `run` pauses delivery, keeps
# serving feeds and retries (every 5 s with -DDEADLINED_FAULTS, else SIGHUP).
# Damaged: bytes overwritten in the middle of ledger.db: tick and run refuse
# with 70 and say how to recover; moved aside, a fresh ledger sends at most
# one reminder per deadline and recipient (catch-up), not the whole history.
source "$(dirname "$0")/fault-lib.sh"


SPORT=$(free_port)
mkdir mail
$PY "$TESTS_DIR/integ/smtp-sink.py" "$SPORT" mail &
track_pid $!
wait_port "$SPORT" || { not_ok "the SMTP sink listens"; exit 1; }

# lock DB: hold an exclusive lock on DB until unlock.
lock() {
	rm -f locked
	$PY -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open("locked", "w").close()
time.sleep(300)' "$1" &
	LOCKER=$!
	track_pid $LOCKER
	wait_for 10 test -e locked
}
unlock() { kill $LOCKER; wait $LOCKER 2>/dev/null; }

# 1. tick against a locked ledger.
mkdir t
fault_conf t SMTP_PORT="$SPORT"
F roster t/roster.csv 3
tick() { "$DEADLINED" -c t/d.conf tick --at "$@"; }
tick 2026-11-20T10:00Z >t0.out
check "a first tick creates the ledger (nothing due yet)" test $? -eq 0 -a ! -s t0.out
lock t/state/ledger.db
check "another process holds the lock" test -e locked
tick 2026-11-22T10:00Z >t1.out 2>t1.err
is "locked: tick exits 75 (EX_TEMPFAIL)" $? 75
check "locked: the error names the file and the lock" \
	grep -q "t/state/ledger.db: BEGIN IMMEDIATE: database is locked (another process holds the lock; gave up after 5000 ms)" t1.err
check "locked: and says nothing was sent" grep -q 'nothing claimed, nothing sent' t1.err
is "locked: nothing sent" "$(F mails mail)" "0 0"
unlock
tick 2026-11-22T10:05Z >t2.out
is "unlocked: the next tick exits 0" $? 0
is "unlocked: three messages sent" "$(grep -c '^sent ' t2.out)" 3
tick 2026-11-22T10:10Z >t3.out
check "a third tick sends nothing" test ! -s t3.out
is "each person got exactly one message" "$(F mails mail)" "3 3"

# 2. run: the lock is taken while the daemon runs; three people are added and
# SIGHUP provokes a reload (its feed history waits for the lock) and a pass.
rm -rf mail && mkdir mail
mkdir r
PORT=$(free_port)
fault_conf r PORT="$PORT" SMTP_PORT="$SPORT" SEND_AT=00:00 DUE="$(F day "$(F today)" 7)"
start_run r r.err
check "run: listens" wait_port "$PORT"
check "run: the start-up pass finds nothing to do" wait_for 30 has n.log 'last pass: sent 0, retry 0, failed 0'
lock r/state/ledger.db
F roster r/roster.csv 3
kill -HUP $DPID
check "run: STATUS= says the ledger is locked and delivery paused" \
	wait_for 30 has n.log 'ledger: locked by another process; delivery paused'
curl -s "http://127.0.0.1:$PORT/metrics" >m.txt
is "run: metrics: deadlined_delivery_paused 1" "$(F metric m.txt deadlined_delivery_paused)" 1
check "run: metrics: deadlined_ledger_errors_total >= 1" \
	test "$(F metric m.txt deadlined_ledger_errors_total)" -ge 1
is "run: feeds still served (200)" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/feeds/commitments.ics")" 200
is "run: nothing sent while locked" "$(F mails mail)" "0 0"
is "run: the pause is logged once" "$(grep -c 'delivery paused' r.err)" 1
unlock
retry_paused "lock released"
check "run: delivery resumes and sends all three" wait_for 60 has n.log 'last pass: sent 3, retry 0, failed 0'
is "run: each person got exactly one message" "$(F mails mail)" "3 3"
is "run: still logged once" "$(grep -c 'delivery paused' r.err)" 1
kill -TERM $DPID
wait $DPID
is "run: SIGTERM exits 0" $? 0

# 3. A damaged ledger: a page in the middle overwritten.
rm -rf mail && mkdir mail
mkdir c
fault_conf c SMTP_PORT="$SPORT" DUE=2026-11-15
sed 's/@DUE@/2026-11-15/' "$TESTS_DIR/data/fault/ledger-extra.conf" >>c/d.conf
F roster c/roster.csv 3
ctick() { "$DEADLINED" -c c/d.conf tick --at "$@"; }
# Day by day from the first lead to a week after the due date: a full history.
for d in 09 10 11 12 13 14 15 16 17 18 19 20 21 22; do ctick 2026-11-${d}T10:00Z >>c0.out; done
sent_before=$(F mails mail | cut -d' ' -f1)
check "a fortnight of reminders was sent ($sent_before messages)" test "$sent_before" -gt 3
$PY -c '
import os, sys
p = sys.argv[1]; size = os.path.getsize(p); page = 4096
off = (size // page // 2) * page
with open(p, "r+b") as f:
    f.seek(off); f.write(b"\xa5" * page)
print(size // page, "pages; overwrote page at", off)' c/state/ledger.db >corrupt.out
diag "$(cat corrupt.out)"
n0=$(F mails mail | cut -d' ' -f1)
ctick 2026-11-23T10:00Z >c1.out 2>c1.err
is "damaged: tick exits 70" $? 70
check "damaged: says it is damaged and names the file" grep -q 'c/state/ledger.db: ledger is damaged' c1.err
check "damaged: says how to recover" grep -q 'move it aside (mv .*c/state/ledger.db .*c/state/ledger.db.damaged)' c1.err
PORT=$(free_port)
sed -i "s/^listen = .*/listen = 127.0.0.1:$PORT/" c/d.conf
"$DEADLINED" -c c/d.conf --now 2026-11-23T10:00Z run 2>c2.err
is "damaged: run exits 70" $? 70
check "damaged: run says so" grep -q 'ledger.db is damaged; not starting' c2.err
is "damaged: nothing sent by tick or run" "$(F mails mail | cut -d' ' -f1)" "$n0"

mv c/state/ledger.db c/state/ledger.db.damaged
rm -f c/state/ledger.db-wal c/state/ledger.db-shm
ctick 2026-11-23T10:00Z >c3.out
is "moved aside: a fresh ledger, tick exits 0" $? 0
is "moved aside: one message per person" "$(grep -c '^sent ' c3.out)" 3
"$DEADLINED" -c c/d.conf history --json >c3.json
check "moved aside: at most one reminder sent per deadline and recipient, the rest skipped" $PY -c '
import collections, json
rows = json.load(open("c3.json"))
sent = collections.Counter((r["deadline"], r["recipient"]) for r in rows if r["state"] == "sent")
assert sent and max(sent.values()) == 1, sent
# The refresher has daily notices within catch_up: only the latest goes out.
assert sorted(sent) == [(f"rule/refresher/p{i:05d}", f"mailto:p{i:05d}@school.test")
                        for i in range(3)], sent
skipped = [r for r in rows if r["state"] == "skipped" and r["deadline"].startswith("rule/refresher/")]
assert len(skipped) >= 6, skipped  # older notices of the same deadlines, recorded not sent'
is "moved aside: three messages, not a flood" "$(( $(F mails mail | cut -d' ' -f1) - n0 ))" 3
