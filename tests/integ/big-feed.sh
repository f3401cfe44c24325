#!/usr/bin/env bash
# A feed over 1 MiB (FEEDS_GZIP_NOW_MAX), served by the real daemon:
# identity bytes at once, equal to export; the gzip copy (level 6) from a
# thread after READY=1, identity until then; STATE/cache/NAME.feed written and
# used by the next start-up (same bytes, same ETag); a damaged or stale cache
# never changes the bytes; a reload marks only the changed person's event
# SEQUENCE 1; a damaged ledger stops `run` with 70 before READY=1 (the deferred
# quick_check overlapping the big render); a locked ledger exits 75.
# fault-lib.sh: lib.sh, cd to a scratch directory, wait_for, is.
source "$(dirname "$0")/fault-lib.sh"
NOW=2026-11-22
BIG=1048576 # FEEDS_GZIP_NOW_MAX in include/deadlined/serve/feeds.h
H() { $PY "$TESTS_DIR/integ/big-feed.py" "$@"; }

# 3,000 people, two rules each: 6,000 events, about 3 MB.
$PY "$TESTS_DIR/gen-roster.py" 3000 conf >/dev/null
PORT=$(free_port)
URL=http://127.0.0.1:$PORT
printf '\n[http]\nlisten = 127.0.0.1:%s\npublic_url = "%s"\n' "$PORT" "$URL" >>conf/deadlined.conf
CONF=$SCRATCH/conf/deadlined.conf
STATE=conf/state
CACHE=$STATE/cache/all.feed
FEED=$URL/feeds/all.ics

# fetch NAME [curl args...]: headers in NAME.h, body in NAME.b; prints the code.
fetch() {
	local name=$1
	shift
	curl -s -D "$name.h" -o "$name.b" -w '%{http_code}' "$@" "$FEED"
}
hdr() { grep -i "^$2:" "$1.h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
export_to() { "$DEADLINED" -c "$CONF" --now $NOW export --feed all >"$1"; }

# listen NAME: a NOTIFY_SOCKET listener at NAME.sock writing NAME.n; sets NPID.
listen() {
	$PY "$TESTS_DIR/integ/daemon-notify.py" "$SCRATCH/$1.sock" "$SCRATCH/$1.n" 120 &
	NPID=$!
	track_pid $NPID
	wait_for 10 test -S "$SCRATCH/$1.sock"
}
# start NAME: the daemon (-v) in the background, stderr to NAME.log, notify
# messages to NAME.n; one TAP line (it listens).
start() {
	listen "$1"
	NOTIFY_SOCKET=$SCRATCH/$1.sock start_daemon "$1.log" --now $NOW -v
}
# run_fails NAME: `run` in the foreground (at most 60 s), expected to fail
# before READY=1; its exit code in RC, stderr in NAME.log, notifications in NAME.n.
run_fails() {
	listen "$1"
	NOTIFY_SOCKET=$SCRATCH/$1.sock timeout 60 "$DEADLINED" -c "$CONF" --now $NOW run 2>"$1.log"
	RC=$?
	sed 's/^/# /' "$1.log" | head -5
	kill $NPID 2>/dev/null
	wait $NPID 2>/dev/null
}
stop() {
	kill -TERM "$DPID"
	wait "$DPID"
	is "$1: SIGTERM exits 0" $? 0
	wait "$NPID" 2>/dev/null
}
ready() { grep -q 'READY=1' "$1.n"; }

# 1. Identity bytes equal export, at once.
start s1 || exit 1
check "READY=1 sent" wait_for 30 ready s1
is "GET without Accept-Encoding: 200" "$(fetch id1)" 200
export_to x1.ics
check "the feed is bigger than FEEDS_GZIP_NOW_MAX ($(stat -c %s x1.ics) bytes)" \
	test "$(stat -c %s x1.ics)" -gt $BIG
is "the feed has 6000 events" "$(H events x1.ics)" 6000
check "served identity bytes equal export --feed all" cmp -s id1.b x1.ics
is "no Content-Encoding" "$(hdr id1 Content-Encoding)" ""
E1=$(hdr id1 ETag)
check "identity ETag: 32 hex digits" grep -qE '^"[0-9a-f]{32}"$' <<<"$E1"

# 2. Until the thread attaches the gzip copy, gzip clients get identity bytes.
n=0 n_id=0 bad=0
while [ $n -lt 300 ]; do
	n=$((n + 1))
	code=$(fetch gz -H 'Accept-Encoding: gzip')
	enc=$(hdr gz Content-Encoding)
	if [ "$code" != 200 ]; then
		bad=1 && diag "gzip request $n: HTTP $code" && break
	elif [ "$enc" = gzip ]; then
		break
	elif [ -n "$enc" ] || ! cmp -s gz.b x1.ics || [ "$(hdr gz ETag)" != "$E1" ]; then
		bad=1 && diag "gzip request $n: neither gzip nor the identity bytes ($enc)" && break
	fi
	n_id=$((n_id + 1))
	sleep 0.1
done
diag "$n_id identity answer(s) to gzip requests before the gzip copy"
check "every answer before the gzip copy was 200 with the identity bytes and ETag" test $bad = 0
is "a gzip request gets Content-Encoding: gzip (within 30 s)" "$(hdr gz Content-Encoding)" gzip
GZE=$(hdr gz ETag)
is "the gzip ETag is the identity one with -gz6" "$GZE" "${E1%\"}-gz6\""
check "gunzipped bytes equal the identity bytes" bash -c 'gzip -dc gz.b | cmp -s - x1.ics'
check "the gzip bytes are zlib's level 6 (windowBits 15, memLevel 8) of the identity bytes" \
	$PY -c 'import sys, zlib
z = zlib.compressobj(6, zlib.DEFLATED, 31, 8)
want = z.compress(open("x1.ics", "rb").read()) + z.flush()
sys.exit(open("gz.b", "rb").read() != want)'
is "the identity ETag has not changed" "$(fetch id1b >/dev/null; hdr id1b ETag)" "$E1"

# 3. The start-up cache: written after compressing, used by the next start.
check "$CACHE appears" wait_for 30 test -s $CACHE
check "the cache file is private (0600)" test "$(stat -c %a $CACHE)" = 600
check "no temporary file left" test ! -e $CACHE.tmp
cp $CACHE good.feed
stop s1
start s2 || exit 1
check "restart with the cache: READY=1" wait_for 30 ready s2
is "restart with the cache: 200" "$(fetch id2)" 200
check "restart with the cache: bytes identical to before" cmp -s id2.b id1.b
is "restart with the cache: ETag identical" "$(hdr id2 ETag)" "$E1"
check "restart with the cache: gzip copy again, gunzips to the same bytes" wait_for 30 \
	bash -c "curl -s -H 'Accept-Encoding: gzip' '$FEED' | gzip -dc 2>/dev/null | cmp -s - x1.ics"
stop s2

# 4. A damaged cache is slower, never wrong. The cache rewritten by each run
# is replaced by the good copy before damaging it again.
for how in garbage half zeros one-byte; do
	cp good.feed $CACHE
	diag "$how: $(H $how $CACHE)"
	start c-$how || exit 1
	is "$how cache: 200" "$(fetch c-$how)" 200
	check "$how cache: served bytes equal export" cmp -s c-$how.b x1.ics
	is "$how cache: ETag as before" "$(hdr c-$how ETag)" "$E1"
	check "$how cache: the cache is rewritten whole" wait_for 30 cmp -s $CACHE good.feed
	stop c-$how
done

# 5. One person's appointment date changes; SIGHUP. Only their event changes
# SEQUENCE; a restart with the cache from before the change is still right.
is "before the change no event has SEQUENCE > 0" "$(H sequences x1.ics)" ""
cp good.feed $CACHE
start r1 || exit 1
old=$(H set-date conf/roster.csv p001234 appointed 2025-06-30)
diag "p001234 appointed: $old -> 2025-06-30"
kill -HUP $DPID
etag_changed() { fetch r1 >/dev/null && [ "$(hdr r1 ETag)" != "$E1" ]; }
check "after SIGHUP the ETag changes" wait_for 30 etag_changed
export_to x2.ics
check "after the reload: served bytes equal export of the new config" cmp -s r1.b x2.ics
check "the new bytes differ from the old ones" bash -c '! cmp -s x1.ics x2.ics'
is "only p001234's event has SEQUENCE 1" "$(H sequences r1.b)" \
	"1 rule/senco-npq/p001234@bench.deadlined.example.org"
E2=$(hdr r1 ETag)
check "the reload's cache is written (differs from the old one)" \
	wait_for 30 bash -c "! cmp -s $CACHE good.feed"
stop r1
cp good.feed $CACHE # stale: from before the change
start r2 || exit 1
is "stale cache: 200" "$(fetch r2)" 200
check "stale cache: served bytes equal export of the new config" cmp -s r2.b x2.ics
is "stale cache: ETag as after the reload" "$(hdr r2 ETag)" "$E2"
stop r2

# 6. A damaged ledger: `run` exits 70 and never says READY=1, while the big
# render overlaps the deferred quick_check.
cp $STATE/ledger.db ledger.good
$PY -c '
import os, sys
p = sys.argv[1]; size = os.path.getsize(p); page = 4096
off = (size // page // 2) * page
with open(p, "r+b") as f:
    f.seek(off); f.write(b"\xa5" * page)
print(size // page, "pages; overwrote page at", off)' $STATE/ledger.db >corrupt.out
diag "$(cat corrupt.out)"
run_fails d
is "damaged ledger: run exits 70" $RC 70
# The daemon's own line (deadlined(8), fault-ledger.sh), whichever of the
# render and the deferred check meets the damage first.
check "damaged ledger: the log says it is damaged and not starting" \
	grep -q 'state/ledger.db is damaged; not starting' d.log
check "damaged ledger: no READY=1" bash -c '! grep -q READY=1 d.n'
mv ledger.good $STATE/ledger.db
rm -f $STATE/ledger.db-wal $STATE/ledger.db-shm

# 7. The ledger locked by another process at start: the first render cannot
# store feed history, so `run` exits 75 (EX_TEMPFAIL) and says why.
rm -f locked
$PY -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open("locked", "w").close()
time.sleep(300)' $STATE/ledger.db &
LOCKER=$!
track_pid $LOCKER
check "another process holds the ledger's lock" wait_for 10 test -e locked
run_fails l
is "locked ledger: run exits 75" $RC 75
check "locked ledger: the log says the ledger is locked" \
	grep -qE 'ledger\.db: .*database is locked \(another process holds the lock' l.log
check "locked ledger: no READY=1" bash -c '! grep -q READY=1 l.n'
kill $LOCKER
wait $LOCKER 2>/dev/null || true
