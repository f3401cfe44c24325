#!/usr/bin/env bash
# Wall-clock jumps. The daemon runs under libfaketime with
# FAKETIME_TIMESTAMP_FILE (FAKETIME_NO_CACHE=1, DONT_FAKE_MONOTONIC=1): the
# test moves its CLOCK_REALTIME forward past a reminder (sent once), back
# before it (not sent again), forward again (still once), then weeks ahead
# (the overdue notice is older than catch_up: skipped, not sent).
#
# How a pass is provoked: libfaketime moves no kernel clock, so the daemon's
# TFD_TIMER_CANCEL_ON_SET watch (which handles a real clock step in
# production) never fires, and its timerfd deadline was converted to real
# time when it was armed. After each jump the test sends SIGHUP (a reload and
# a pass); the pass is keyed by the ledger, so re-running it never sends twice.
# The same property is checked through `tick --at` going back and forth,
# which needs no preload and runs on every build.
source "$(dirname "$0")/fault-lib.sh"
# npq's 1w lead fires 2026-11-22 09:00 GMT; its one overdue notice 2026-11-30 09:00.
mkconf() {
	fault_conf "$1" PORT="$2" SMTP_PORT="$SPORT"
	F roster "$1/roster.csv" 1
}
rows() { # DIR: "slot:state:attempts" of p00000's npq rows
	"$DEADLINED" -c "$1/d.conf" history --json | $PY -c '
import json, sys
rows = sorted((r["slot"], r["state"], r["attempts"]) for r in json.load(sys.stdin)
              if r["deadline"] == "rule/npq/p00000")
print(" ".join("%s:%s:%d" % r for r in rows))'
}

SPORT=$(free_port)
mkdir mail
$PY "$TESTS_DIR/integ/smtp-sink.py" "$SPORT" mail &
track_pid $!
wait_port "$SPORT" || { not_ok "the SMTP sink listens"; exit 1; }

# 1. tick --at, forward, back, forward, weeks ahead.
mkconf t 1
tick() { "$DEADLINED" -c t/d.conf tick --at "$1" >"t-$1.out"; }
tick 2026-11-22T10:00Z
is "tick forward past the reminder: sent" "$(cut -d' ' -f1-2 t-2026-11-22T10:00Z.out)" \
	"sent mailto:p00000@school.test"
tick 2026-11-21T12:00Z
check "tick back before it: nothing" test ! -s t-2026-11-21T12:00Z.out
tick 2026-11-22T12:00Z
check "tick forward again: nothing" test ! -s t-2026-11-22T12:00Z.out
tick 2026-12-20T12:00Z
is "tick weeks ahead: the overdue notice is older than catch_up, skipped" \
	"$(cat t-2026-12-20T12:00Z.out)" "skipped rule/npq/p00000|2026-11-29|overdue:0|mailto:p00000@school.test"
is "tick: the ledger holds one sent row and one skipped" "$(rows t)" "lead:1w:sent:1 overdue:0:skipped:0"
is "tick: one message arrived" "$(F mails mail)" "1 1"

# 2. The daemon under libfaketime.
FT=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -e "$f" ] && FT=$f && break
done
if [ -z "$FT" ]; then
	diag "skipped: the daemon under libfaketime (install faketime libfaketime)"
	exit 0
fi
rm -rf mail && mkdir mail
PORT=$(free_port)
mkconf r "$PORT"
echo "@2026-11-20 12:00:00" >ts
# ASan wants to be first in the library list; libfaketime is preloaded before it.
start_run r r.err LD_PRELOAD="$FT" FAKETIME_TIMESTAMP_FILE="$SCRATCH/ts" FAKETIME_NO_CACHE=1 \
	DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
check "faketime: the daemon listens" wait_port "$PORT"
check "faketime: the start-up pass at 20 Nov sends nothing" \
	wait_for 30 has n.log 'next reminder 2026-11-22 09:00 GMT.*last pass: sent 0, retry 0, failed 0'
passes() { grep -c 'last pass: ' n.log; }
more_passes() { [ "$(passes)" -gt "$1" ]; }
# jump TIME: set the fake clock, SIGHUP, wait for the pass after it.
jump() {
	local before
	before=$(passes)
	echo "@$1" >ts
	kill -HUP $DPID
	wait_for 30 more_passes "$before" || diag "no pass after the jump to $1"
	sleep 0.5 # a pass the timer queued behind it
}
jump "2026-11-22 10:00:00"
one_mail() { [ "$(F mails mail)" = "1 1" ]; }
check "jump forward past the reminder: it arrives" wait_for 30 one_mail
is "... as the lead of 22 November" "$(rows r)" "lead:1w:sent:1"
jump "2026-11-21 12:00:00"
is "jump back before it: not sent again" "$(F mails mail)" "1 1"
check "... and STATUS= names it as the next instant again" \
	bash -c "tail -1 n.log | grep -q 'next reminder 2026-11-22 09:00 GMT'"
jump "2026-11-22 12:00:00"
is "jump forward again: still once" "$(F mails mail)" "1 1"
jump "2026-12-20 12:00:00"
is "jump weeks ahead: the overdue notice is skipped, not sent" "$(F mails mail)" "1 1"
is "the ledger: one sent row, one skipped" "$(rows r)" "lead:1w:sent:1 overdue:0:skipped:0"
kill -TERM $DPID
wait $DPID
is "SIGTERM: exit 0" $? 0
