#!/usr/bin/env bash
# /metrics after one known delivery pass: `run --now` (a fixed clock, so the
# start-up pass is the only pass) with three people due (sent), a webhook
# answering 429 with Retry-After (retry, and the next reminder is that retry),
# a webhook answering a redirect (failed) and a commitment whose reminders are
# older than catch_up (skipped). Every delivery metric has an exact value.
source "$(dirname "$0")/fault-lib.sh"

SPORT=$(free_port) HPORT=$(free_port) GPORT=$(free_port)
mkdir mail busy moved conf
echo 429:600 >busy.mode
echo 302 >moved.mode
$PY "$TESTS_DIR/integ/smtp-sink.py" "$SPORT" mail &
track_pid $!
$PY "$TESTS_DIR/integ/http-sink.py" "$HPORT" busy busy.mode &
track_pid $!
$PY "$TESTS_DIR/integ/http-sink.py" "$GPORT" moved moved.mode &
track_pid $!
for p in $SPORT $HPORT $GPORT; do wait_port "$p" || { not_ok "sink on $p listens"; exit 1; }; done

PORT=$(free_port)
NOW=2026-11-22T10:00Z
cat "$TESTS_DIR/data/fault/daemon.conf.in" "$TESTS_DIR/data/fault/metrics-extra.conf" >conf.in
F conf conf.in conf/d.conf PORT="$PORT" SMTP_PORT="$SPORT" HOOK_PORT="$HPORT" \
	GONE_PORT="$GPORT" SEND_AT=09:00 DUE=2026-11-29
F roster conf/roster.csv 3
metrics() { curl -s "http://127.0.0.1:$PORT/metrics" >m.txt; }
M() { F metric m.txt "$1"; }

"$DEADLINED" -c conf/d.conf --now $NOW run 2>d.err &
DPID=$!
track_pid $DPID
check "daemon listens" wait_port "$PORT"
passed() { metrics && [ "$(M deadlined_delivery_passes_total)" = 1 ]; }
check "the start-up pass finishes" wait_for 60 passed
metrics
is "reminders sent (one mail per person)" "$(M 'deadlined_reminders_total{result="sent"}')" 3
is "reminders retried (429)" "$(M 'deadlined_reminders_total{result="retry"}')" 1
is "reminders failed (redirect)" "$(M 'deadlined_reminders_total{result="failed"}')" 1
is "reminders skipped (lead and overdue notice older than catch_up)" \
	"$(M 'deadlined_reminders_total{result="skipped"}')" 2
is "one delivery pass" "$(M deadlined_delivery_passes_total)" 1
is "last pass at the daemon's clock" "$(M deadlined_last_pass_timestamp_seconds)" "$(F epoch $NOW)"
is "next reminder: the retry at Retry-After (10:10Z)" \
	"$(M deadlined_next_reminder_timestamp_seconds)" "$(F epoch 2026-11-22T10:10Z)"
is "no ledger errors" "$(M deadlined_ledger_errors_total)" 0
is "delivery not paused" "$(M deadlined_delivery_paused)" 0
check "every new metric has HELP and TYPE" bash -c '
for n in reminders_total delivery_passes_total last_pass_timestamp_seconds ledger_errors_total \
	delivery_paused next_reminder_timestamp_seconds; do
	grep -q "^# HELP deadlined_$n " m.txt && grep -q "^# TYPE deadlined_$n " m.txt || exit 1
done'
read -r n distinct < <(F mails mail)
is "the SMTP sink got 3 messages for 3 people" "$n $distinct" "3 3"
"$DEADLINED" -c conf/d.conf history --json >h.json
check "the ledger agrees: 3 sent, 1 pending, 1 failed, 2 skipped" $PY -c '
import collections, json
c = collections.Counter(r["state"] for r in json.load(open("h.json")))
assert c == {"sent": 3, "pending": 1, "failed": 1, "skipped": 2}, c'
kill -TERM $DPID
wait $DPID
is "SIGTERM: exit 0" $? 0
