#!/usr/bin/env bash
# The SMTP relay and the webhook receiver are down for a simulated day:
# reminders due at 09:00, `tick --at` every hour for 24 hours with both sinks
# stopped, then the sinks start and the ticks go on. Everything is delivered
# exactly once, in due order; the ledger shows one attempt per tick and
# next_attempt spacing that follows the backoff (retry_min 5min doubling to
# retry_max 1h, minus up to a quarter of jitter).
source "$(dirname "$0")/fault-lib.sh"
O() { $PY "$TESTS_DIR/integ/fault-outage.py" "$@"; }

SPORT=$(free_port) HPORT=$(free_port)
mkdir mail hooks
cat "$TESTS_DIR/data/fault/daemon.conf.in" "$TESTS_DIR/data/fault/outage-extra.conf" >d.in
F conf d.in d.conf PORT=1 SMTP_PORT="$SPORT" HOOK_PORT="$HPORT" GONE_PORT=1 SEND_AT=09:00 \
	DUE=2026-11-29
F roster roster.csv 3
tick() { "$DEADLINED" -c d.conf tick --at "$1" >"tick-$1.out" 2>&1; }

# 22 Nov 09:00Z .. 23 Nov 08:00Z, both sinks down.
fails=0 sent=0 hist=()
for h in $(seq 0 23); do
	t=$(date -u -d "2026-11-22T09:00Z + $h hour" +%Y-%m-%dT%H:%MZ)
	tick "$t"
	[ $? -eq 69 ] || fails=$((fails + 1))
	sent=$((sent + $(grep -c '^sent ' "tick-$t.out")))
	"$DEADLINED" -c d.conf history --json >"h$h.json"
	hist+=("h$h.json")
done
is "outage: every tick exits 69 (retries queued)" "$fails" 0
is "outage: nothing sent" "$sent" 0
check "outage: the first tick queued 4 messages for retry" \
	test "$(grep -c '^retry ' tick-2026-11-22T09:00Z.out)" -eq 4
check "outage: a refused connection is a retry, not a failure" \
	bash -c '! grep -h "^failed " tick-*.out | grep -q .'
check "backoff: one attempt per tick, spacing within jitter, non-decreasing to the cap" \
	O backoff 300 3600 "${hist[@]}" >backoff.out
diag "$(cat backoff.out)"
check "ledger after a day: 24 attempts, still pending" $PY -c '
import json
rows = [r for r in json.load(open("h23.json")) if r["fire_at"] == 1795338000]
assert len(rows) == 4 and all(r["state"] == "pending" and r["attempts"] == 24 for r in rows), rows'

# The sinks come back.
$PY "$TESTS_DIR/integ/smtp-sink.py" "$SPORT" mail &
track_pid $!
$PY "$TESTS_DIR/integ/http-sink.py" "$HPORT" hooks &
track_pid $!
wait_port "$SPORT" && wait_port "$HPORT" || { not_ok "the sinks listen"; exit 1; }
for t in 2026-11-23T09:00Z 2026-11-23T10:00Z 2026-11-23T11:00Z; do tick $t; done
is "back: the first tick sends the day-old reminders and the new ones (6 messages)" \
	"$(grep -c '^sent ' tick-2026-11-23T09:00Z.out)" 6
check "back: later ticks send nothing" \
	test ! -s tick-2026-11-23T10:00Z.out -a ! -s tick-2026-11-23T11:00Z.out
"$DEADLINED" -c d.conf history --json >final.json
check "everything delivered exactly once, in due order" O final final.json mail hooks >final.out
diag "$(cat final.out)"
is "mail: 3 people and the watcher" "$(F mails mail)" "4 4"
is "webhooks: one call per message" "$(ls hooks | wc -l)" 2
