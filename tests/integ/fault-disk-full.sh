#!/usr/bin/env bash
# The state directory fills up while the daemon runs (a small tmpfs as
# state_dir, filled with a filler file): the next delivery pass cannot claim
# in the ledger, so nothing is sent; the daemon keeps serving feeds, says so
# once in the log, in STATUS= and in /metrics, and retries; once space is
# back every due reminder is delivered exactly once.
#
# How the pass is provoked: three people are added to the roster and the
# daemon is sent SIGHUP (a reload followed by a pass). The feed served lists
# only commitments, so the reload itself writes nothing to the full disk.
# Resuming: with a -DDEADLINED_FAULTS build the paused daemon retries every
# 5 s by itself and the test waits for that; otherwise (60 s) it sends SIGHUP.
source "$(dirname "$0")/fault-lib.sh"

mkdir -p conf/state mail
if ! mount -t tmpfs -o size=1m,mode=0700 deadlined-fault conf/state 2>/dev/null; then
	diag "skipped: cannot mount a tmpfs here (needs root and mount permission)"
	exit 0
fi
umount_state() { umount "$SCRATCH/conf/state" 2>/dev/null; }
trap 'umount_state; cleanup' EXIT


SPORT=$(free_port) PORT=$(free_port)
$PY "$TESTS_DIR/integ/smtp-sink.py" "$SPORT" mail &
track_pid $!
wait_port "$SPORT" || { not_ok "the SMTP sink listens"; exit 1; }
# The 1w lead fires at 00:00 today: due now, within catch_up.
fault_conf conf PORT="$PORT" SMTP_PORT="$SPORT" SEND_AT=00:00 DUE="$(F day "$(F today)" 7)"
start_run conf d.err
check "daemon listens" wait_port "$PORT"
check "the start-up pass finds nothing to do" wait_for 30 has n.log 'last pass: sent 0, retry 0, failed 0'

# Fill the state directory to the last page.
dd if=/dev/zero of=conf/state/filler bs=64k >/dev/null 2>&1
dd if=/dev/zero of=conf/state/filler2 bs=4k >/dev/null 2>&1
check "the state directory is full" test "$(df --output=avail conf/state | tail -1)" -eq 0
F roster conf/roster.csv 3
kill -HUP $DPID
check "STATUS= says the ledger is full and delivery paused" \
	wait_for 30 has n.log 'ledger: No space left on device; delivery paused'
metrics() { curl -s "http://127.0.0.1:$PORT/metrics" >m.txt; }
metrics
is "metrics: deadlined_delivery_paused 1" "$(F metric m.txt deadlined_delivery_paused)" 1
check "metrics: deadlined_ledger_errors_total counts the refused passes" \
	test "$(F metric m.txt deadlined_ledger_errors_total)" -ge 1
is "metrics: nothing sent" "$(F metric m.txt 'deadlined_reminders_total{result="sent"}')" 0
code=$(curl -s -o feed.ics -w '%{http_code}' "http://127.0.0.1:$PORT/feeds/commitments.ics")
is "feeds are still served (200)" "$code" 200
check "the feed is a calendar" grep -q '^BEGIN:VCALENDAR' feed.ics
is "nothing reached the SMTP sink (claim before send)" "$(F mails mail)" "0 0"
is "the log says so once" "$(grep -c 'delivery paused' d.err)" 1
check "the log names the ledger file and the cause" \
	grep -q "Ledger conf/state/ledger.db: No space left on device; delivery paused" d.err
errs() { grep -cE 'full|No space' d.err; }
e1=$(errs)
reloads() { [ "$(grep -c 'Reloaded: ' d.err)" -ge "$1" ]; }
for i in 2 3 4; do # one at a time: signals sent together may merge into one
	kill -HUP $DPID
	wait_for 30 reloads $i || diag "reload $i not seen"
done
metrics
check "three more refused passes are counted" \
	test "$(F metric m.txt deadlined_ledger_errors_total)" -ge 4
is "... but not logged again (no flood)" "$(errs)" "$e1"
"$DEADLINED" -c conf/d.conf history --json >h1.json 2>h1.err
check "the ledger holds no claim for the new reminders" $PY -c '
import json; rows = json.load(open("h1.json"))
assert not [r for r in rows if r["deadline"].startswith("rule/npq/")], rows'

# Space comes back.
rm -f conf/state/filler conf/state/filler2
retry_paused "space is back"
check "delivery resumes: STATUS= reports the pass" wait_for 60 has n.log 'last pass: sent 3, retry 0, failed 0'
check "the log says it resumed" has d.err 'delivery resumed'
sleep 1
read -r n distinct < <(F mails mail)
is "every due reminder delivered once (3 people, 3 messages)" "$n $distinct" "3 3"
metrics
is "metrics: deadlined_delivery_paused 0" "$(F metric m.txt deadlined_delivery_paused)" 0
is "metrics: 3 sent" "$(F metric m.txt 'deadlined_reminders_total{result="sent"}')" 3
"$DEADLINED" -c conf/d.conf history --json >h2.json
check "the ledger: 3 rows sent, one attempt each" $PY -c '
import json; rows = [r for r in json.load(open("h2.json")) if r["deadline"].startswith("rule/npq/")]
assert len(rows) == 3 and all(r["state"] == "sent" and r["attempts"] == 1 for r in rows), rows'
kill -HUP $DPID
check "another pass sends nothing more" wait_for 30 has n.log 'last pass: sent 0, retry 0, failed 0$'
is "still 3 messages" "$(F mails mail)" "3 3"
kill -TERM $DPID
wait $DPID
is "SIGTERM: exit 0" $? 0
