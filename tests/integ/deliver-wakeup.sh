#!/usr/bin/env bash
# When `run` wakes up next. The daemon's clock is shifted with the test hook
# DEADLINED_CLOCK_OFFSET (-DDEADLINED_FAULTS builds; libfaketime moves
# CLOCK_MONOTONIC timerfds by its offset too, which stalls curl): it starts
# at a chosen instant and runs on.
# 1. The next wake-up counts from the start of the last pass, not its end: a
#    reminder that falls due while a long start-up pass runs (its message
#    held at the relay across that instant) is sent right after that pass,
#    not at the following wake-up (here: midnight).
# 2. A failed re-render at the day change (DEADLINED_FAULT=day-render-fail
#    fails the first one) is retried within PASS_RETRY_SEC, not at the next
#    reminder or midnight.
source "$(dirname "$0")/deliver-lib.sh"
if [ $HOOK != yes ]; then
	diag "skipped: needs a -DDEADLINED_FAULTS build (DEADLINED_CLOCK_OFFSET)"
	exit 0
fi
# offset TIME: DEADLINED_CLOCK_OFFSET that makes the daemon's clock read TIME now.
offset() { echo "DEADLINED_CLOCK_OFFSET=$(($(date -u -d "$1" +%s) - $(date +%s)))"; }
start_sink

# 1. The start-up pass at 08:59:40 catches up yesterday's reminder; its
# message is held until 09:00:05; the commitment's reminder is due at 09:00.
lconf W d SEND_AT=09:00 DUE=2026-11-28 SOON=2026-11-29
F roster W/roster.csv 1
hold
t0=$(date +%s)
run_daemon W W/d.conf "$(offset '2026-11-22 08:59:40')"
check "the start-up pass's message is in flight" wait_for 30 held
$PY -c 'import sys, time; time.sleep(max(0, int(sys.argv[1]) + 26 - time.time()))' "$t0"
diag "released at about 09:00:05 on the daemon's clock"
release
check "the start-up pass sent yesterday's reminder only" \
	wait_for 30 has W.log 'last pass: sent 1, retry 0, failed 0'
watcher() { grep -lq '^To: <\?watcher@deliver-lock.test' mail/*.eml 2>/dev/null; }
check "the reminder due at 09:00, during that pass, is sent right after it" wait_for 30 watcher
"$DEADLINED" -c W/d.conf history --json >w.json
check "the ledger: both sent, the commitment's fired at 09:00" $PY -c '
import json
rows = json.load(open("w.json"))
got = sorted((r["deadline"].split("/")[0], r["state"], r["fire_at"]) for r in rows)
assert got == [("commitment", "sent", 1795338000), ("rule", "sent", 1795251600)], got'
stop_daemon
rm -f mail/*.eml

# 2. The first re-render at midnight fails.
lconf D d SEND_AT=09:00 DUE=2026-11-21
F roster D/roster.csv 3
run_daemon D D/d.conf "$(offset '2026-11-21 23:59:52')" DEADLINED_FAULT=day-render-fail
check "before midnight: four deadlines, none overdue" wait_for 30 has D.log '4 deadlines, 0 overdue'
check "at midnight the re-render fails (test hook)" wait_for 30 has D.err "Test hook: the day's re-render fails"
check "... and is retried soon: three overdue" wait_for 30 has D.log '4 deadlines, 3 overdue'
is "the day change was tried twice" "$(grep -c 'New local day' D.err)" 2
stop_daemon
is "SIGTERM: exits 0" $? 0
