#!/usr/bin/env bash
# Reload of `deadlined run`: SIGHUP with a changed config serves new bytes under
# a new ETag; SIGHUP with a broken config keeps the old feed, stays alive and
# logs FILE:LINE; a file change alone (inotify) reloads too.
source "$(dirname "$0")/lib.sh"
mkscratch
NOW=2026-11-22

daemon_conf
FEED="$URL/feeds/school.ics?token=$TOKEN"
start_daemon "$SCRATCH/log" --now $NOW -v || exit 1

etag() { curl -s -o /dev/null -D - "$FEED" | grep -i '^etag:' | cut -d' ' -f2 | tr -d '\r'; }
etag_differs() { local e; e=$(etag); [ -n "$e" ] && [ "$e" != "$1" ]; }
log_has() { grep -qF -- "$1" "$SCRATCH/log"; }
reloads() { curl -s "http://127.0.0.1:$PORT/metrics" | sed -n "s/^deadlined_reloads_total{result=\"$1\"} //p"; }

E1=$(etag)
curl -s -o "$SCRATCH/b1" "$FEED"
check "first ETag" test -n "$E1"

# 1. A valid change, then SIGHUP.
cat >>"$CONF" <<'EOF'

[person alex-new]
name = "Alex New"
email = alex.new@oakfield.example
role = senco
org = oakfield-primary
manager = head-oakfield
appointed = 2025-01-15
EOF
kill -HUP $DPID
check "SIGHUP with a changed config: a new ETag" wait_for 30 etag_differs "$E1"
E2=$(etag)
curl -s -o "$SCRATCH/b2" "$FEED"
"$DEADLINED" -c "$CONF" --now $NOW export --feed school >"$SCRATCH/x2"
check "new bytes equal export of the new config" cmp -s "$SCRATCH/b2" "$SCRATCH/x2"
check "the new person is in the feed" grep -q 'Alex New' "$SCRATCH/b2"
check "the old bytes did not have them" bash -c "! grep -q 'Alex New' '$SCRATCH/b1'"
check "reload time is logged at debug level" wait_for 30 log_has "reload took "
check "metrics: one successful reload or more" test "$(reloads ok)" -ge 1

# 2. A broken config, then SIGHUP: old feed kept, error with FILE:LINE.
BAD=$(($(wc -l <"$CONF") + 2))
printf '\n[person broken-one]\nnmae = "Typo Key"\n' >>"$CONF"
BADLINE=$((BAD + 1))
failed_before=$(reloads failed)
kill -HUP $DPID
check "SIGHUP with a broken config: 'Reload failed' logged" wait_for 30 log_has "Reload failed"
check "the error is logged with FILE:LINE" grep -qE "/conf/deadlined\.conf:$BADLINE: .*'nmae'" "$SCRATCH/log"
grep -E "deadlined\.conf:[0-9]+: " "$SCRATCH/log" | sed 's/^/# /'
check "the daemon is still alive" kill -0 $DPID
is_same() { [ "$(etag)" = "$E2" ]; }
check "the previous feed is still served (same ETag)" is_same
curl -s -o "$SCRATCH/b3" "$FEED"
check "the previous bytes are still served" cmp -s "$SCRATCH/b2" "$SCRATCH/b3"
check "metrics: the failed reload is counted" test "$(reloads failed)" -gt "${failed_before:-0}"
check "/healthz still ok" bash -c "[ \"\$(curl -s http://127.0.0.1:$PORT/healthz)\" = ok ]"

# 3. Fix the file and change a title, with no signal: inotify reloads it.
head -n $((BAD - 2)) "$CONF" >"$SCRATCH/fixed"
sed -i 's/^title = "Staff deadlines (test)"/title = "Staff deadlines (renamed)"/' "$SCRATCH/fixed"
cp "$SCRATCH/fixed" "$CONF"
check "an edited file reloads without a signal (inotify)" wait_for 30 etag_differs "$E2"
curl -s -o "$SCRATCH/b4" "$FEED"
check "the renamed title is served" grep -q 'X-WR-CALNAME:Staff deadlines (renamed)' "$SCRATCH/b4"

# 4. A drop-in file changes: its directory is watched too.
C1=$(curl -s "http://127.0.0.1:$PORT/feeds/commitments.ics" | md5sum)
sed -i 's/^status = open$/status = met/' "$SCRATCH/conf/conf.d/10-commitments.conf"
commitments_changed() { [ "$(curl -s "http://127.0.0.1:$PORT/feeds/commitments.ics" | md5sum)" != "$C1" ]; }
check "an edited drop-in reloads (inotify on conf.d)" wait_for 30 commitments_changed
curl -s -o "$SCRATCH/c2" "http://127.0.0.1:$PORT/feeds/commitments.ics"
"$DEADLINED" -c "$CONF" --now $NOW export --feed commitments >"$SCRATCH/cx2"
check "after the drop-in reload, bytes equal export" cmp -s "$SCRATCH/c2" "$SCRATCH/cx2"

# 5. [http] listen changes: the server moves to the new address.
NEW=$(free_port)
sed -i "s/^listen = .*/listen = 127.0.0.1:$NEW/" "$CONF"
kill -HUP $DPID
check "a changed listen: the new port serves" wait_for 30 \
	curl -sf -o /dev/null "http://127.0.0.1:$NEW/feeds/commitments.ics"
old_closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
check "a changed listen: the old port is closed" wait_for 30 old_closed

# 6. A response in flight across a reload keeps its bytes: a big roster, a
# client that stops reading after 4 KiB, a reload, then the rest.
FEED="http://127.0.0.1:$NEW/feeds/school.ics?token=$TOKEN"
$PY -c '
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,name,email,role,org,manager,appointed,senco_qualified\n")
    for i in range(30000):
        f.write(f"p{i},Person {i},p{i}@big.example,senco,big-school,,2024-0{1 + i % 9}-1{i % 10},\n")
' "$SCRATCH/conf/roster.csv"
sed -i 's/^include = conf.d$/include = conf.d\nroster = roster.csv/' "$CONF"
kill -HUP $DPID
big() { [ "$(curl -s -o /dev/null -w '%{size_download}' "$FEED")" -gt 8000000 ]; }
check "a 30000-person roster is loaded (feed > 8 MB)" wait_for 30 big
curl -s -o "$SCRATCH/big1" "$FEED"
EB=$(etag)
$PY "$TESTS_DIR/integ/daemon-slowread.py" "$NEW" "/feeds/school.ics?token=$TOKEN" \
	"$SCRATCH/started" "$SCRATCH/go" "$SCRATCH/big-inflight" &
CPID=$!
track_pid $CPID
wait_for 30 test -f "$SCRATCH/started"
sed -i 's/^title = "Staff deadlines (renamed)"/title = "Staff deadlines (renamed again)"/' "$CONF"
kill -HUP $DPID
check "the reload under a slow client completes (new ETag)" wait_for 30 etag_differs "$EB"
touch "$SCRATCH/go"
wait $CPID
check "the in-flight response got the old bytes, complete" cmp -s "$SCRATCH/big1" "$SCRATCH/big-inflight"
diag "sizes: $(stat -c %s "$SCRATCH/big1") $(stat -c %s "$SCRATCH/big-inflight")"; cmp "$SCRATCH/big1" "$SCRATCH/big-inflight" | sed "s/^/# /"
grep "reload took" "$SCRATCH/log" | tail -1 | sed 's/^/# /'

kill -TERM $DPID
wait $DPID
rc=$?
check "SIGTERM after reloads: exit 0" test $rc = 0
