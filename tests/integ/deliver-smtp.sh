#!/bin/bash
# Delivery over SMTP into an aiosmtpd sink: headers, RFC 2047 subject, text
# body, calendar attachment, digests, idempotent ticks, retry after the relay
# was down, and a 550 that fails without retrying.
source "$(dirname "$0")/lib.sh"
mkscratch
cd "$SCRATCH"
PORT=$(free_port)
sed "s/@SMTP_PORT@/$PORT/" "$TESTS_DIR/data/deliver/smtp.conf.in" > smtp.conf
mkdir mail
tick() { "$DEADLINED" -c smtp.conf tick --at "$@"; }
count() { ls mail | grep -c '\.eml$'; }
start_sink() {
	$PY "$TESTS_DIR/integ/smtp-sink.py" "$PORT" mail mode &
	SINK=$!
	track_pid $SINK
	wait_port "$PORT"
}

# The relay is down: everything is queued for retry, exit 69.
tick 2027-02-14T10:00 > out1
check "relay down: tick exits 69" test $? -eq 69
check "relay down: two retries queued" test "$(grep -c '^retry ' out1)" -eq 2
# Tom's reminder fired on 8 February: a failure 6 days later is past retry_give_up (5 days).
check "relay down: a reminder older than retry_give_up fails at once" grep -q '^failed mailto:tom@school.test 1 deadline <' out1
check "relay down: nothing sent" test "$(grep -c '^sent ' out1)" -eq 0
check "relay down: skips recorded" grep -q '^skipped rule/first-aid/tom|2026-06-01|lead:1m|mailto:tom@school.test$' out1

start_sink
# Before the retry is due nothing is resent.
tick 2027-02-14T10:01 > out2
check "retry not due yet: nothing sent" test "$(grep -c '^sent ' out2)" -eq 0
tick 2027-02-14T11:30 > out3
check "relay up: retry tick exits 0" test $? -eq 0
check "relay up: two messages sent" test "$(grep -c '^sent ' out3)" -eq 2
check "digest: sian gets 2 deadlines in one message" grep -q '^sent mailto:sian@school.test 2 deadlines <' out3
check "two messages arrived" test "$(count)" -eq 2
tick 2027-02-14T11:30 > out4
check "second tick at the same time sends nothing" test "$(grep -c '^sent ' out4)" -eq 0
check "still two messages" test "$(count)" -eq 2

cat > check.py <<'PY'
import email, email.policy, glob, sys
from email.header import decode_header, make_header
import icalendar
msgs = {}
for p in sorted(glob.glob("mail/*.eml")):
    m = email.message_from_binary_file(open(p, "rb"), policy=email.policy.compat32)
    msgs[m["To"]] = m
m = msgs["<sian@school.test>"]
subj = str(make_header(decode_header(m["Subject"])))
assert subj == "Reminder: 2 deadlines (next: SENCO NPQ for Siân Jones, 28 February 2027)", subj
assert m["Subject"].startswith("=?UTF-8?B?"), m["Subject"]
assert m["From"] == '"SEND deadlines" <deadlines@deliver.test>', m["From"]
assert m["Date"] == "Sun, 14 Feb 2027 11:30:00 +0000", m["Date"]
assert m["Message-ID"].endswith("@deliver.test>") and len(m["Message-ID"]) == 47, m["Message-ID"]
assert m.is_multipart() and m.get_content_type() == "multipart/mixed"
parts = m.get_payload()
text = parts[0].get_payload(decode=True).decode("utf-8")
assert parts[0].get_content_type() == "text/plain"
assert "1. SENCO NPQ for Siân Jones\n   Due: 28 February 2027 (in 14 days)" in text.replace("\r\n", "\n"), text
assert "2. First aid renewal for Siân Jones\n   Due: 14 March 2027 (in 28 days)" in text.replace("\r\n", "\n"), text
assert parts[1].get_content_type() == "text/calendar"
assert parts[1].get_param("method") == "PUBLISH"
cal = icalendar.Calendar.from_ical(parts[1].get_payload(decode=True))
uids = sorted(str(e["UID"]) for e in cal.walk("VEVENT"))
assert uids == ["rule/first-aid/sian@deliver.test", "rule/senco-npq/sian@deliver.test"], uids
raw = open(sorted(glob.glob("mail/*.eml"))[0], "rb").read()
assert b"\n" not in raw.replace(b"\r\n", b""), "bare LF"
h = msgs["<head@school.test>"]
assert "SENCO NPQ for Siân Jones" in h.get_payload()[0].get_payload(decode=True).decode()
PY
check "message parsed: subject, body, calendar" $PY check.py

# The same retried message kept its Message-ID from the first attempt.
id1=$(grep '^retry mailto:sian' out1 | grep -o '<[^>]*>')
id3=$(grep '^sent mailto:sian' out3 | grep -o '<[^>]*>')
check "retry keeps the Message-ID" test -n "$id1" -a "$id1" = "$id3"

# 550: failed, no retry.
echo 5xx > mode
tick 2027-03-01T12:00 > out5
check "550: marked failed" grep -q '^failed mailto:sian@school.test 1 deadline <.*550' out5
check "550: no retry queued" test "$(grep -c '^retry ' out5)" -eq 0
rm -f mode
tick 2027-03-01T15:00 > out6
check "550: not retried later" test "$(grep -c 'sian' out6)" -eq 0
"$DEADLINED" -c smtp.conf history --json > hist.json
check "history shows failed row with the 550" $PY -c '
import json; rows = json.load(open("hist.json"))
f = [r for r in rows if r["state"] == "failed" and "overdue:0" in r["key"]]
assert len(f) == 2, f
assert f and all("550" in r["last_error"] for r in f), f
assert all(r["attempts"] == 1 for r in f)'


# send-test
"$DEADLINED" -c smtp.conf send-test --to admin@school.test > st.out
check "send-test to an address exits 0" test $? -eq 0
check "send-test arrived" grep -lq 'deadlined test message' mail/*.eml
"$DEADLINED" -c smtp.conf send-test --to 'bad
addr@x' > /dev/null 2>&1
check "send-test refuses a bad address (64)" test $? -eq 64
kill "$SINK"; wait "$SINK" 2>/dev/null
"$DEADLINED" -c smtp.conf send-test --to admin@school.test > /dev/null
check "send-test with the relay down exits 69" test $? -eq 69
