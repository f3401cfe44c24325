#!/usr/bin/env bash
# The delivery lock, STATE/deliver.lock: only one process delivers from a
# state directory, so rows one process has claimed (pending, in flight) are
# never sent by another.
# 1. `run` holds it: `tick` exits 75 at once naming the holder's pid and sends
#    nothing (--dry-run and send-test need no lock); run stopped, tick works.
# 2. A `tick` holds it with its messages in flight at a slow relay: `run`
#    logs once that it is paused and, after the tick, sends the rest: each
#    reminder exactly once.
# 3. kill -9 of `run` mid-batch: the restart takes the lock and resends the
#    pending rows in its start-up pass (same Message-IDs).
# 4. `tick` whose results the ledger will not take exits 75; the rows stay
#    pending and the next tick sends them again, same Message-IDs.
# 5. (-DDEADLINED_FAULTS) A transfer that cannot be set up (easy-fail,
#    add-fail: out of memory or descriptors) is retried later, not failed.
source "$(dirname "$0")/deliver-lib.sh"
start_sink

# 1. run holds the lock.
lconf L d
F roster L/roster.csv 3
lconf L b ROSTER=rosterb.csv
people L/rosterb.csv 3 5
run_daemon L L/d.conf
check "run: the start-up pass sends to three people" \
	wait_for 30 has L.log 'last pass: sent 3, retry 0, failed 0'
is "run: its pid is in the lock file" "$(tr -d '\n' <L/state/deliver.lock)" "$DPID"
is "the lock file is 0600" "$(stat -c %a L/state/deliver.lock)" 600
"$DEADLINED" -c L/b.conf tick >t1.out 2>t1.err
is "tick while run delivers: exits 75" $? 75
check "tick: says who delivers" grep -q \
	"^deadlined: another deadlined process is delivering from L/state (pid $DPID); try again later\$" t1.err
check "tick: prints no send" test ! -s t1.out
is "tick: nothing arrived" "$(F mails mail)" "3 3"
"$DEADLINED" -c L/b.conf tick --dry-run >t1d.out
is "tick --dry-run needs no lock: exits 0" $? 0
is "tick --dry-run: would send three" "$(grep -c '^would send ' t1d.out)" 3
"$DEADLINED" -c L/b.conf send-test --to probe@school.test >st.out
is "send-test needs no lock (it claims no row): exits 0" $? 0
is "send-test: its message arrived" "$(F mails mail)" "4 4"
stop_daemon
is "run: SIGTERM exits 0" $? 0
"$DEADLINED" -c L/b.conf tick >t2.out
is "run stopped: tick exits 0" $? 0
is "run stopped: tick sends to the three others" "$(grep -c '^sent ' t2.out)" 3
rm -f mail/*.eml

# 2. A tick holds the lock while its three messages are in flight (libcurl
# 7.88 waits for the relay's answer to DATA in a blocking call, so only the
# first one reaches the relay until it answers); run has
# those three and three more people (without the lock it would resend the
# tick's pending rows at once).
lconf M d
F roster M/roster.csv 6
lconf M b ROSTER=rosterb.csv
people M/rosterb.csv 0 2
hold
"$DEADLINED" -c M/b.conf tick >m-tick.out 2>m-tick.err &
TPID=$!
track_pid $TPID
check "tick: its first message is held at the relay" wait_for 30 held
run_daemon M M/d.conf
check "run: logs that the tick is delivering, naming the lock file and its pid" wait_for 30 has M.err \
	"M/state/deliver.lock: another deadlined process \\(pid $TPID\\) is delivering; delivery paused, retrying every [0-9]+ s"
check "run: STATUS= says delivery is paused" wait_for 30 has M.log 'another deadlined process is delivering; delivery paused'
$PY -c 'import time; time.sleep(1)'
release
wait $TPID
is "tick: exits 0 once the relay answers" $? 0
is "tick: sent three" "$(grep -c '^sent ' m-tick.out)" 3
retry_paused "the tick is done"
check "run: then sends the other three" wait_for 60 has M.log 'last pass: sent 3, retry 0, failed 0'
check "run: logs that it resumed" has M.err 'Delivery lock taken; delivery resumed'
is "run: the pause is logged once" "$(grep -c 'delivery paused' M.err)" 1
check "six people, six messages, six Message-IDs: each reminder exactly once" once mail 6
is "the ledger: six rows sent once" "$(rows M/d.conf)" "$(printf 'sent:1 %.0s' 1 2 3 4 5 6 | sed 's/ $//')"
is "run: now its pid is in the lock file" "$(tr -d '\n' <M/state/deliver.lock)" "$DPID"
stop_daemon
rm -f mail/*.eml

# 3. kill -9 of run with a batch in flight; the restart resends at once.
lconf N d
F roster N/roster.csv 3
hold
run_daemon N1 N/d.conf
check "run: a message in flight" wait_for 30 held
kill -9 $DPID
wait $DPID 2>/dev/null
is "kill -9: the three rows are still pending" "$(rows N/d.conf)" "pending:0 pending:0 pending:0"
release
run_daemon N2 N/d.conf
check "restart: the start-up pass resends all three" wait_for 30 has N2.log 'last pass: sent 3, retry 0, failed 0'
is "restart: the ledger says sent" "$(rows N/d.conf)" "sent:1 sent:1 sent:1"
is "restart: three recipients, every copy of a reminder with the same Message-ID" \
	"$(mail_ids mail | cut -d' ' -f1-2)" "3 1"
stop_daemon
rm -f mail/*.eml

# 4. The ledger refuses the tick's results: exit 75, rows stay pending.
lconf P d
F roster P/roster.csv 3
"$DEADLINED" -c P/d.conf tick --at 2020-01-01T10:00Z >/dev/null # creates the ledger
hold
"$DEADLINED" -c P/d.conf tick >p1.out 2>p1.err &
TPID=$!
track_pid $TPID
check "tick: a message in flight" wait_for 30 held
rm -f locked
$PY -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open("locked", "w").close()
time.sleep(300)' P/state/ledger.db &
LOCKER=$!
track_pid $LOCKER
check "another process holds the ledger's write lock" wait_for 10 test -e locked
release
wait $TPID
is "tick: results not recorded: exits 75" $? 75
check "tick: says the results could not be recorded" grep -q '3 send results could not be recorded' p1.err
is "tick: it did send three" "$(grep -c '^sent ' p1.out)" 3
kill $LOCKER
wait $LOCKER 2>/dev/null
is "the rows are still pending" "$(rows P/d.conf)" "pending:0 pending:0 pending:0"
"$DEADLINED" -c P/d.conf tick >p2.out
is "the next tick exits 0" $? 0
is "the next tick sends the three again" "$(grep -c '^sent ' p2.out)" 3
is "the ledger says sent" "$(rows P/d.conf)" "sent:1 sent:1 sent:1"
is "three recipients, two copies each, with the same Message-ID" "$(mail_ids mail)" "3 1 2"
rm -f mail/*.eml

# 5. A local shortage setting up a transfer is retried, not failed for good.
if [ $HOOK != yes ]; then
	diag "skipped: easy-fail and add-fail need a -DDEADLINED_FAULTS build"
	exit 0
fi
for fault in easy-fail add-fail; do
	lconf "Q$fault" d SEND_AT=09:00 DUE=2026-11-29
	F roster "Q$fault/roster.csv" 1
	qtick() { "$DEADLINED" -c "Q$fault/d.conf" tick --at "$@"; }
	DEADLINED_FAULT=$fault qtick 2026-11-22T10:00Z >q1.out 2>q1.err
	is "$fault: tick exits 69 (queued for a retry)" $? 69
	check "$fault: says retry" grep -q '^retry mailto:p00000@school.test 1 deadline .* at 2026-11-22T10:[0-9:]*Z: cannot' q1.out
	"$DEADLINED" -c "Q$fault/d.conf" history --json >q1.json
	check "$fault: the row stays pending, attempts 1, next attempt in the future" $PY -c '
import json, sys
[r] = json.load(open("q1.json"))
t0 = 1795341600  # 2026-11-22T10:00Z
assert (r["state"], r["attempts"]) == ("pending", 1), r
assert t0 + 225 <= r["next_attempt"] <= t0 + 300, r
assert r["last_error"].startswith("cannot "), r'
	qtick 2026-11-22T10:01Z >q2.out
	check "$fault: a tick before the retry time sends nothing" test ! -s q2.out
	qtick 2026-11-22T10:06Z >q3.out
	is "$fault: the retry is sent on a later pass" "$(cut -d' ' -f1-2 q3.out)" "sent mailto:p00000@school.test"
	is "$fault: the ledger says sent after two attempts" "$(rows "Q$fault/d.conf")" "sent:2"
done
is "two messages arrived, one per fault" "$(F mails mail)" "2 1"
