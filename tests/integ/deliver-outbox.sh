#!/usr/bin/env bash
# No [smtp]: reminders become STATE/outbox/IDEM.eml. A 2,000-recipient batch
# through `run`: every file present, whole and parseable, no temporary file
# left, the ledger all sent with the files' Message-IDs; the files are made
# durable in a few syncfs calls, not one fsync each (strace counts fsync,
# fdatasync and syncfs over the whole run: fewer than 50); /healthz answers
# while the batch is written (no timing asserted).
source "$(dirname "$0")/deliver-lib.sh"
SPORT=1
N=2000
HPORT=$(free_port)
lconf O d SMTP= LISTEN="127.0.0.1:$HPORT" SEND_AT=09:00 DUE=2026-11-29
F roster O/roster.csv $N
if ! strace -f -o /dev/null true 2>/dev/null; then
	diag "skipped: strace cannot trace here"
	exit 0
fi

# A client asking /healthz over and over from before the daemon listens:
# one "CODE FILES" line per answer (FILES: .eml files written by then).
$PY -c '
import os, socket, sys, time
port, out = int(sys.argv[1]), open(sys.argv[2], "w", buffering=1)
end = time.monotonic() + 120
while time.monotonic() < end and not os.path.exists("stop"):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except OSError:
        time.sleep(0.005)
        continue
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    s.close()
    n = len(os.listdir("O/state/outbox")) if os.path.isdir("O/state/outbox") else 0
    out.write("%s %d\n" % (data.split(b" ")[1].decode() if data else "none", n))' "$HPORT" hz.txt &
HZ=$!
track_pid $HZ
$PY "$TESTS_DIR/integ/daemon-notify.py" "$SCRATCH/o.sock" "$SCRATCH/o.log" 300 &
track_pid $!
wait_for 10 test -S "$SCRATCH/o.sock"
# LeakSanitizer cannot run under a tracer (it ptraces itself); the other
# tests cover leaks.
NOTIFY_SOCKET=$SCRATCH/o.sock ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -c -e trace=fsync,fdatasync,syncfs -o strace.txt \
	"$DEADLINED" -c O/d.conf --now 2026-11-22T10:00Z run 2>o.err &
SPID=$!
track_pid $SPID
check "run under strace listens" wait_port "$HPORT"
DPID=$(ps -o pid= --ppid $SPID | tr -d ' ')
count() { find O/state/outbox -name '*.eml' 2>/dev/null | wc -l; }
wait_for 60 has o.log 'last pass: sent'
touch stop
wait $HZ
during=$(awk -v n=$N '$2 > 0 && $2 < n' hz.txt | wc -l)
diag "/healthz: $(wc -l <hz.txt) answers, $during of them while the outbox was being written"
check "/healthz: answered throughout, every answer 200" \
	bash -c "[ -s hz.txt ] && ! grep -qv '^200 ' hz.txt"
check "the pass: sent $N" wait_for 60 has o.log "last pass: sent $N, retry 0, failed 0"
kill -TERM "$DPID"
wait $SPID
rc=$?
is "SIGTERM: exits 0 (under strace)" $rc 0
[ $rc = 0 ] || sed 's/^/# /' o.err | tail -20
is "$N .eml files in the outbox" "$(count)" $N
is "no temporary file left" "$(find O/state/outbox -name '*.tmp' | wc -l)" 0
"$DEADLINED" -c O/d.conf history --json >h.json
check "every file parses, one per recipient, and the ledger has each as sent" $PY -c '
import email, glob, json, sys
n = int(sys.argv[1])
rows = json.load(open("h.json"))
assert len(rows) == n and all(r["state"] == "sent" and r["attempts"] == 1 for r in rows), rows[:2]
want = {r["recipient"][7:]: r["message_id"] for r in rows}
got = {}
for p in glob.glob("O/state/outbox/*.eml"):
    m = email.message_from_binary_file(open(p, "rb"))
    assert m.is_multipart() and m["Date"] and m["Subject"], p
    parts = [q.get_content_type() for q in m.walk()]
    assert "text/plain" in parts and "text/calendar" in parts, (p, parts)
    got[m["To"].strip("<>")] = m["Message-ID"]
assert got == want, (len(got), len(want))' $N
syncs=$(awk '$NF ~ /^(fsync|fdatasync|syncfs)$/ { n += $4 } END { print n + 0 }' strace.txt)
nsyncfs=$(awk '$NF == "syncfs" { print $4 }' strace.txt)
diag "sync calls over the whole run: $syncs (syncfs: ${nsyncfs:-0})"
sed 's/^/# /' strace.txt
check "fewer than 50 sync calls for $N messages" test "$syncs" -lt 50
check "the outbox was synced with syncfs" test "${nsyncfs:-0}" -ge 1
