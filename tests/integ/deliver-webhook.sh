#!/bin/bash
# Webhook delivery into an http.server sink: JSON schema, Idempotency-Key,
# HMAC signature, 500 then 200 (delivered once after a retry), 429 with
# Retry-After (next_attempt honoured), and a redirect (failed, not followed).
source "$(dirname "$0")/lib.sh"
mkscratch
cd "$SCRATCH"
PORT=$(free_port)
sed "s/@HTTP_PORT@/$PORT/" "$TESTS_DIR/data/deliver/webhook.conf.in" > hook.conf
printf 'test-secret-0123456789abcdef' > webhook.secret
chmod 600 webhook.secret
mkdir hooks
$PY "$TESTS_DIR/integ/http-sink.py" "$PORT" hooks mode &
track_pid $!
wait_port "$PORT"
tick() { "$DEADLINED" -c hook.conf tick --at "$@"; }
ok200() { $PY -c 'import json,glob,sys; print(sum(1 for p in glob.glob("hooks/*.json") if json.load(open(p))["status"] == 200 and json.load(open(p))["path"] == sys.argv[1]))' "$1"; }

# 14 Feb 2027: npq-funding's 2w lead; 500 first.
echo 500 > mode
tick 2027-02-14T09:05 > out1
check "500: exit 69, queued" test $? -eq 69
check "500: retry line" grep -q '^retry webhook:team 1 deadline <.*HTTP 500' out1
echo ok > mode
tick 2027-02-14T09:30 > out2
check "after the retry delay: sent" grep -q '^sent webhook:team 1 deadline ' out2
tick 2027-02-14T09:40 > out3
check "then nothing more" test ! -s out3
check "delivered exactly once with 200" test "$(ok200 /hook)" -eq 1

cat > verify.py <<'PY'
import glob, hashlib, hmac, json, sys
recs = [json.load(open(p)) for p in sorted(glob.glob("hooks/*.json"))]
team = [r for r in recs if r["path"] == "/hook"]
keys = {r["headers"]["Idempotency-Key"] for r in team}
assert len(keys) == 1, keys                      # the retry reused the key
ok = [r for r in team if r["status"] == 200][0]
h = ok["headers"]
assert h["Content-Type"] == "application/json"
ts = h["X-Deadlined-Timestamp"]
mac = hmac.new(b"test-secret-0123456789abcdef", (ts + "." + ok["body"]).encode(), hashlib.sha256).hexdigest()
assert h["X-Deadlined-Signature"] == "sha256=" + mac, (h, mac)
body = json.loads(ok["body"])
assert body["type"] == "deadlined.reminder"
assert body["idempotency_key"] == h["Idempotency-Key"]
d = body["deadlines"]
assert len(d) == 1 and d[0]["id"] == "commitment/npq-funding", d
assert d[0]["due"] == "2027-02-28" and d[0]["precision"] == "day" and d[0]["days_left"] == 14, d
assert d[0]["person"] is None and d[0]["rule"] is None
assert d[0]["reminder"] == {"kind": "lead", "lead": "2w"}, d[0]["reminder"]
PY
check "json payload, idempotency key and signature verify" $PY verify.py

# 28 Feb: ect-review's 1m lead goes to team (json) and chat (slack); 429 first.
echo 429:7200 > mode
tick 2027-02-28T09:00 > out4
check "429: both queued" test "$(grep -c '^retry ' out4)" -eq 2
check "429: Retry-After honoured (next attempt 11:00Z)" grep -q '^retry webhook:team 1 deadline <.*> at 2027-02-28T11:00:00Z: HTTP 429' out4
"$DEADLINED" -c hook.conf history --json > h.json
check "429: next_attempt in the ledger" $PY -c '
import json, datetime
rows = [r for r in json.load(open("h.json")) if r["slot"] == "lead:1m"]
assert len(rows) == 2 and all(r["state"] == "pending" for r in rows), rows
assert all(r["next_attempt"] == int(datetime.datetime(2027,2,28,11,0,tzinfo=datetime.timezone.utc).timestamp()) for r in rows), rows'
echo ok > mode
tick 2027-02-28T10:59 > out5
check "429: not before Retry-After" test ! -s out5
tick 2027-02-28T11:00 > out6
check "429: sent after Retry-After" test "$(grep -c '^sent ' out6)" -eq 2
check "slack payload has text and blocks" $PY -c '
import json, glob
r = [json.load(open(p)) for p in glob.glob("hooks/*.json")]
s = [json.loads(x["body"]) for x in r if x["path"] == "/slack" and x["status"] == 200]
assert len(s) == 1 and s[0]["text"].startswith("Reminder: 1 deadline (next: Full review"), s
assert s[0]["blocks"][0]["type"] == "header"'

# A redirect is a permanent failure and is not followed.
echo 302 > mode
tick 2027-03-01T09:00 > out7
check "302: failed, not followed" grep -q '^failed webhook:team 1 deadline <.*redirect not followed' out7
tick 2027-03-01T12:00 > out8
check "302: no retry" test ! -s out8

# Timeout: the receiver sleeps past send_timeout -> transient.
echo ok > mode
"$DEADLINED" -c hook.conf send-test --webhook team > st.out
check "send-test webhook exits 0" test $? -eq 0
"$DEADLINED" -c hook.conf send-test --webhook nope > /dev/null 2>&1
check "send-test unknown webhook exits 64" test $? -eq 64
echo 500 > mode
"$DEADLINED" -c hook.conf send-test --webhook team > /dev/null
check "send-test webhook 500 exits 69" test $? -eq 69
