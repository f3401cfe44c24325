#!/bin/bash
# Crash safety with the fault hook (binary built with -DDEADLINED_FAULTS;
# DEADLINED_FAULT=after-claim|after-accept|before-mark aborts at that point),
# plus a real kill -9 of a tick stuck on a slow relay. After each crash a
# second tick delivers every due reminder at least once, and duplicates carry
# the same Message-ID.
source "$(dirname "$0")/lib.sh"
mkscratch
cd "$SCRATCH"
PORT=$(free_port)
mkdir mail
$PY "$TESTS_DIR/integ/smtp-sink.py" "$PORT" mail &
track_pid $!
wait_port "$PORT"

cat > verify.py <<'PY'
import collections, email, glob, json, sys
state, maildir = sys.argv[1], sys.argv[2]
rows = json.load(open(state))
due = {r["recipient"][7:] for r in rows if r["state"] != "skipped"}
assert all(r["state"] == "sent" for r in rows if r["state"] != "skipped"), rows
seen = collections.defaultdict(set)
for p in glob.glob(maildir + "/*.eml"):
    m = email.message_from_binary_file(open(p, "rb"))
    seen[m["To"].strip("<>")].add(m["Message-ID"])
assert due == set(seen), (due, set(seen))
assert all(len(v) == 1 for v in seen.values()), seen   # duplicates share the Message-ID
PY

n=0
faults=1
for fault in after-claim after-accept before-mark; do
	n=$((n + 1))
	mkdir -p "s$n/mail"
	sed "s/@SMTP_PORT@/$PORT/; s|^state_dir = state|state_dir = s$n|" \
		"$TESTS_DIR/data/deliver/smtp.conf.in" > "s$n.conf"
	before=$(ls mail | wc -l)
	# In a command substitution so the shell's "Aborted" notice stays quiet.
	rc=$(DEADLINED_FAULT=$fault "$DEADLINED" -c "s$n.conf" tick --at 2027-02-14T10:00 \
		> "crash$n.out" 2> "crash$n.err"; echo $?) 2> /dev/null
	if [ $rc -ne 134 ]; then
		# Only the test build (make ASAN=1) has the hooks; make test runs both.
		diag "fault $fault skipped: binary built without -DDEADLINED_FAULTS (exit $rc)"
		faults=0
		continue
	fi
	check "$fault: the tick aborted" grep -q "fault injected: $fault" "crash$n.err"
	"$DEADLINED" -c "s$n.conf" tick --at 2027-02-14T10:05 > "after$n.out"
	check "$fault: the next tick exits 0" test $? -eq 0
	# Copy this round's messages aside for checking.
	ls mail | tail -n +$((before + 1)) | while read -r f; do cp "mail/$f" "s$n/mail/"; done
	"$DEADLINED" -c "s$n.conf" history --json > "h$n.json"
	check "$fault: every due reminder delivered, duplicates share the Message-ID" \
		$PY verify.py "h$n.json" "s$n/mail"
done
if [ $faults = 1 ]; then
	check "after-claim: nothing was sent twice" test "$(ls s1/mail | wc -l)" -eq 3
	check "after-accept: one message was delivered twice" test "$(ls s2/mail | wc -l)" -eq 4
fi

# kill -9 while a send hangs: rows stay pending and go out on the next tick.
HPORT=$(free_port)
mkdir hooks
echo sleep:30 > mode
$PY "$TESTS_DIR/integ/http-sink.py" "$HPORT" hooks mode &
track_pid $!
wait_port "$HPORT"
sed "s/@HTTP_PORT@/$HPORT/" "$TESTS_DIR/data/deliver/webhook.conf.in" > hook.conf
printf 'secret-secret-secret' > webhook.secret
chmod 600 webhook.secret
"$DEADLINED" -c hook.conf tick --at 2027-02-14T09:05 > k.out &
TPID=$!
for i in $(seq 50); do [ -n "$(ls hooks)" ] && break; sleep 0.1; done
kill -9 $TPID
wait $TPID 2>/dev/null
"$DEADLINED" -c hook.conf history --json > k.json
check "kill -9 mid-send: the row is still pending" $PY -c '
import json; rows = json.load(open("k.json"))
assert [r["state"] for r in rows] == ["pending"], rows'
echo ok > mode
"$DEADLINED" -c hook.conf tick --at 2027-02-14T09:10 > k2.out
check "kill -9: the next tick resends it" grep -q '^sent webhook:team 1 deadline' k2.out
check "kill -9: both deliveries carry the same Idempotency-Key" $PY -c '
import glob, json
keys = {json.load(open(p))["headers"]["Idempotency-Key"] for p in glob.glob("hooks/*.json")}
assert len(keys) == 1, keys'
