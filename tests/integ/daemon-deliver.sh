#!/usr/bin/env bash
# Reminders sent by `deadlined run` itself, into a real SMTP sink (aiosmtpd):
# the start-up pass (real clock) sends once and never again after a restart;
# a reminder due in a few seconds goes out with no signal; SIGHUP with a new
# lead re-arms; SIGTERM and kill -9 in the middle of a batch lose nothing and
# duplicate only what was in flight (same Message-ID); feeds answer during a
# 2,000-message batch; feed SEQUENCE/LAST-MODIFIED come from the ledger and
# equal `export`; check/agenda create no ledger; a damaged ledger stops run.
#
# With a -DDEADLINED_FAULTS build (make ASAN=1) DEADLINED_CLOCK_OFFSET shifts
# the daemon's clock, so "due in a few seconds" takes seconds; without it the
# test waits for the real next minute once (under 90 s).
source "$(dirname "$0")/lib.sh"
mkscratch
cd "$SCRATCH"
H() { $PY "$TESTS_DIR/integ/daemon-deliver.py" "$@"; }
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID STATE_DIRECTORY

count() { find "$1" -name '*.eml' | wc -l; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }
has() { grep -qE -- "$2" "$1"; }

SPORT=$(free_port)
mkdir mail
: >mode
$PY "$TESTS_DIR/integ/daemon-deliver-sink.py" "$SPORT" mail mode &
track_pid $!
wait_port "$SPORT" || { not_ok "the SMTP sink listens"; exit 1; }

# mkconf DIR SEND_AT DUE PEOPLE: a config dir with its own state and HTTP port.
mkconf() {
	mkdir -p "$1"
	local port
	port=$(free_port)
	sed -e "s/@PORT@/$port/g; s/@SMTP_PORT@/$SPORT/; s/@SEND_AT@/$2/; s/@DUE@/$3/" \
		"$ROOT/tests/data/daemon/deliver.conf.in" >"$1/d.conf"
	echo "$port" >"$1/port"
	H roster "$1/roster.csv" "$4"
}
# start NAME DIR [ARGS...]: run the daemon with a NOTIFY_SOCKET listener NAME.
start() {
	local name=$1 dir=$2
	shift 2
	$PY "$TESTS_DIR/integ/daemon-notify.py" "$SCRATCH/$name.sock" "$SCRATCH/$name.log" 300 &
	track_pid $!
	wait_for 10 test -S "$SCRATCH/$name.sock"
	NOTIFY_SOCKET=$SCRATCH/$name.sock "$DEADLINED" -c "$dir/d.conf" "$@" -v run \
		2>"$SCRATCH/$name.err" &
	DPID=$!
	track_pid $DPID
}
passes() { grep -c 'last pass: ' "$SCRATCH/$1.log"; }
history() { "$DEADLINED" -c "$1/d.conf" history --json; }
stop() {
	kill -TERM "$DPID"
	wait "$DPID"
}

# Does this binary have the test hooks? (DEADLINED_FAULT aborts a tick: 134.)
mkconf probe 09:00 2026-11-29 0
rc=$(DEADLINED_FAULT=after-claim "$DEADLINED" -c probe/d.conf --now 2020-01-01T10:00 tick \
	>/dev/null 2>&1; echo $?) 2>/dev/null
HOOK=real
[ "$rc" = 134 ] && HOOK=hook
diag "clock: $HOOK"

# 1. Real clock: a reminder that fired at 00:00 today (within catch_up) goes
# out once after READY=1; a restart sends nothing again.
DUE=$(H day "$(H today)" 7)
mkconf a 00:00 "$DUE" 1
JOURNAL_STREAM=8:8 start a1 a # journald-style <N> priorities, to tell info from debug
check "real clock: READY=1" wait_for 20 has a1.log '(^|\|)READY=1'
check "start-up pass: both reminders arrive" wait_for 30 at_least mail 2
check "start-up pass: STATUS= reports it" wait_for 20 has a1.log 'last pass: sent 2, retry 0, failed 0'
sleep 1
check "start-up pass: exactly once (2 messages)" test "$(count mail)" -eq 2
history a >a1.json
check "the ledger says sent" $PY -c '
import json, sys
rows = json.load(open("a1.json"))
assert sorted((r["recipient"], r["state"]) for r in rows) == [
    ("mailto:p00000@school.test", "sent"), ("mailto:watcher@daemon-deliver.test", "sent")], rows'
stop
check "SIGTERM: exit 0" test $? -eq 0
check "at info level the journal names the sends but no email address" bash -c \
	"grep -q '^<6>sent mailto:- 1 deadline' '$SCRATCH/a1.err' &&
	! grep -v '^<7>' '$SCRATCH/a1.err' | grep -qE 'mailto:[^-]|p00000@|watcher@'"
start a2 a
check "restart: the start-up pass finds nothing to do" wait_for 20 has a2.log 'last pass: sent 0, retry 0, failed 0'
sleep 1
check "restart: nothing sent again" test "$(count mail)" -eq 2
stop
check "the ledger still has two rows, both sent" bash -c "$(declare -f history); history a | $PY -c '
import json, sys; rows = json.load(sys.stdin); assert [r[\"state\"] for r in rows] == [\"sent\"] * 2, rows'"

# 2. A reminder due in a few seconds goes out without any signal.
read -r DAY SEND T < <(H plan $HOOK)
mkconf b "$SEND" "$(H day "$DAY" 7)" 1
sed -i '/^\[commitment soon\]/,/^$/{/^notify = /d}' b/d.conf # only p00000's reminder
before=$(count mail)
offset() { echo $((T - 10 - $(date +%s))); }
DEADLINED_CLOCK_OFFSET=$(offset) start b1 b
check "due soon: READY=1" wait_for 20 has b1.log '(^|\|)READY=1'
check "due soon: STATUS= names it as the next reminder" has b1.log "next reminder $(H fmt "$T")"
check "due soon: the start-up pass sent nothing yet" wait_for 20 has b1.log 'last pass: sent 0'
diag "waiting for $(H fmt "$T") ($HOOK clock)"
check "due soon: it arrives with no signal" wait_for 100 at_least mail $((before + 1))
check "due soon: STATUS= after the timer's pass" wait_for 20 has b1.log 'last pass: sent 1, retry 0, failed 0'
check "due soon: the ledger says sent" bash -c "$(declare -f history); history b | grep -q '\"state\": \"sent\"'"
stop

# 3. SIGHUP with a new lead re-arms: nothing due until next week, then a lead
# that falls on today's send time.
read -r DAY SEND T < <(H plan $HOOK)
mkconf c "$SEND" "$(H day "$DAY" 14)" 0
before=$(count mail)
DEADLINED_CLOCK_OFFSET=$(offset) start c1 c
check "re-arm: READY=1" wait_for 20 has c1.log '(^|\|)READY=1'
NEXT_WEEK=$(H at "$(H day "$DAY" 7)" "$SEND")
check "re-arm: next reminder next week ($NEXT_WEEK)" wait_for 20 has c1.log "next reminder $NEXT_WEEK"
sed -i '/^\[commitment soon\]/,/^$/s/^remind = 1w$/remind = 2w 1w/' c/d.conf
kill -HUP $DPID
check "re-arm: after SIGHUP the next reminder is today" wait_for 20 has c1.log "next reminder $(H fmt "$T")"
check "re-arm: the timer is set for it" wait_for 20 has c1.err "Next wake-up at $(H fmt "$T") \\(reminder"
if [ $HOOK = hook ]; then
	check "re-arm: the new lead's reminder arrives" wait_for 60 at_least mail $((before + 1))
else
	diag "re-arm: not waiting for $(H fmt "$T") without the clock hook"
fi
stop

# 4. A batch of 201 to a slow relay: SIGTERM in the middle (exit 0, rows stay
# pending), then kill -9 in the middle, then a restart: every due reminder
# delivered at least once, duplicates only for what was in flight.
NOW=2026-11-22T10:00
mkconf d 09:00 2026-11-29 200
rm -rf mail && mkdir mail
echo sleep:0.1 >mode
start d1 d --now $NOW
wait_for 30 at_least mail 20
stop
check "batch: SIGTERM mid-batch exits 0" test $? -eq 0
history d >d-term.json
check "batch: after SIGTERM some rows are still pending" \
	$PY -c 'import json; assert any(r["state"] == "pending" for r in json.load(open("d-term.json")))'
n=$(count mail)
start d2 d --now $NOW
wait_for 30 at_least mail $((n + 30))
kill -9 $DPID
wait $DPID 2>/dev/null
history d >d-kill.json
check "batch: after kill -9 some rows are still pending" \
	$PY -c 'import json; assert any(r["state"] == "pending" for r in json.load(open("d-kill.json")))'
: >mode
start d3 d --now $NOW
check "batch: the restart finishes the batch" wait_for 60 has d3.log 'last pass: sent [0-9]+, retry 0, failed 0'
history d >d-end.json
$PY -c '
import json
a, b = json.load(open("d-term.json")), json.load(open("d-kill.json"))
json.dump([r for r in a + b if r["state"] == "pending"], open("inflight.json", "w"))'
check "batch: every due reminder delivered; duplicates only in flight, same Message-ID" \
	bash -c "H() { $PY '$TESTS_DIR/integ/daemon-deliver.py' \"\$@\"; }; H batch d-end.json mail inflight.json >batch.out"
diag "$(cat batch.out)"
check "batch: 201 messages due" test "$(grep -c '"state": "sent"' d-end.json)" -eq 201
check "batch: every message is whole (none cut short by SIGTERM)" $PY -c '
import email, glob
for p in glob.glob("mail/*.eml"):
    m = email.message_from_binary_file(open(p, "rb"))
    assert m["To"] and m["Message-ID"] and (m.is_multipart() or m.get_payload()), p'

stop

# 5. Feeds keep answering while 2,000 messages go out.
mkconf e 09:00 2026-11-29 2000
EPORT=$(cat e/port)
rm -rf mail && mkdir mail
echo sleep:0.002 >mode
t0=$(date +%s.%N)
start e1 e --now $NOW
wait_port "$EPORT"
codes=()
during=0
while [ "$(count mail)" -lt 2001 ]; do
	c=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$EPORT/feeds/staff.ics")
	codes+=("$c")
	n=$(count mail)
	[ "$n" -gt 0 ] && [ "$n" -lt 2001 ] && during=$((during + 1))
	[ ${#codes[@]} -gt 3000 ] && break
done
t1=$(date +%s.%N)
diag "2,001 messages in $(echo "$t1 - $t0" | bc) s (start-up included); $during feed requests during the batch"
check "feeds during the batch: requests were made while it was sent" test $during -gt 0
check "feeds during the batch: every request answered 200" \
	bash -c "[ -z \"\$(printf '%s\n' ${codes[*]} | grep -v '^200$')\" ]"
check "batch of 2,000: STATUS= reports it" wait_for 30 has e1.log 'last pass: sent 2001, retry 0, failed 0'

# 6. Feed history: a changed title bumps SEQUENCE and LAST-MODIFIED of that
# event only; the same model rendered again bumps nothing; export agrees.
FEED=http://127.0.0.1:$EPORT/feeds/commitments.ics
curl -s -o f1.ics "$FEED"
read -r s1 lm1 < <(H event f1.ics commitment/soon@)
read -r l1 llm1 < <(H event f1.ics commitment/later@)
check "feed: SEQUENCE 0 at first" test "$s1:$l1" = "0:0"
sed -i 's/^title = "Publish the SEND workforce plan"$/title = "Publish the SEND workforce plan (revised)"/' e/d.conf
kill -HUP $DPID
changed() { curl -s "$FEED" | grep -q 'plan (revised)'; }
check "feed: the new title is served after SIGHUP" wait_for 20 changed
curl -s -o f2.ics "$FEED"
read -r s2 lm2 < <(H event f2.ics commitment/soon@)
read -r l2 llm2 < <(H event f2.ics commitment/later@)
check "feed: the changed event has SEQUENCE 1" test "$s2" = 1
check "feed: its LAST-MODIFIED changed ($lm1 -> $lm2)" test "$lm2" != "$lm1"
check "feed: the unchanged event keeps SEQUENCE 0 and LAST-MODIFIED" test "$l2 $llm2" = "0 $llm1"
"$DEADLINED" -c e/d.conf --now $NOW export --feed commitments >x2.ics
check "feed: export equals the served bytes" cmp -s f2.ics x2.ics
kill -HUP $DPID
reloaded2() { [ "$(grep -c 'Reloaded: ' e1.err)" -ge 2 ]; }
check "feed: a second SIGHUP reloads" wait_for 20 reloaded2
curl -s -o f3.ics "$FEED"
check "feed: rendering the same model again changes no byte" cmp -s f2.ics f3.ics
stop

# 7. check and agenda never create a ledger; export creates it like tick.
mkconf g 09:00 2026-11-29 1
"$DEADLINED" -c g/d.conf --now $NOW check >/dev/null
"$DEADLINED" -c g/d.conf --now $NOW agenda >/dev/null
check "check and agenda create no state directory" test ! -e g/state
"$DEADLINED" -c g/d.conf --now $NOW export >g1.ics
check "export creates the ledger" test -f g/state/ledger.db
"$DEADLINED" -c g/d.conf --now $NOW export >g2.ics
check "export twice: the same bytes" cmp -s g1.ics g2.ics
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	# A state directory the exporting user cannot write: no history, a warning.
	chmod 755 "$SCRATCH" g
	chmod 644 g/d.conf g/roster.csv
	setpriv --reuid=65534 --regid=65534 --clear-groups "$DEADLINED" -c g/d.conf --now $NOW \
		export >g3.ics 2>g3.err
	check "read-only state dir: export still exits 0" test $? -eq 0
	check "read-only state dir: with a warning" grep -q 'warning: no feed history' g3.err
	check "read-only state dir: same bytes (nothing changed since)" cmp -s g1.ics g3.ics
fi

# 8. A damaged ledger stops run with 70 before anything is sent.
mkconf h 09:00 2026-11-29 1
mkdir -p h/state
head -c 8192 /dev/urandom >h/state/ledger.db
before=$(count mail)
"$DEADLINED" -c h/d.conf --now $NOW run 2>h.err
check "damaged ledger: run exits 70" test $? -eq 70
check "damaged ledger: says so" grep -q 'ledger.db is damaged; not starting' h.err
check "damaged ledger: nothing sent" test "$(count mail)" -eq "$before"
