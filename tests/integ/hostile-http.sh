#!/usr/bin/env bash
# Hostile HTTP clients against `deadlined run` (raw sockets, tests/integ/hostile-client.py):
# tokens that are wrong, short or long (one 404, never logged), path tricks, oversized
# headers and URLs, other methods, bodies, duplicate Content-Length, slowloris, idle
# connections, and 1,000 concurrent connections against the per-address and total limits.
#
# Builds with -DDEADLINED_FAULTS (the ASan build) honour DEADLINED_HTTP_TIMEOUT, so the
# timeout cases take seconds; the normal build keeps its 30 s and they take that long.
source "$(dirname "$0")/lib.sh"
mkscratch
NOW=2026-11-22
CLIENT=$TESTS_DIR/integ/hostile-client.py

daemon_conf
# A copy for the second daemon (the flood), before the first one writes its state.
PORT2=$(free_port)
cp -r "$SCRATCH/conf" "$SCRATCH/conf2"
sed -i "s/:$PORT\b/:$PORT2/g" "$SCRATCH/conf2/deadlined.conf"
if grep -qa DEADLINED_HTTP_TIMEOUT "$DEADLINED"; then TIMEOUT=2; else TIMEOUT=30; fi
diag "connection timeout: $TIMEOUT s"

# -v: requests are logged, which is where a token would leak.
DEADLINED_HTTP_TIMEOUT=$TIMEOUT start_daemon "$SCRATCH/log" -v --now $NOW || exit 1

# tap FILE: turn the helper's PASS/FAIL lines into TAP (here, so the numbering holds).
tap() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "${line#PASS }" ;;
		FAIL\ *) not_ok "${line#FAIL }" ;;
		*) echo "$line" ;;
		esac
	done <"$1"
}
client() { # PORT CASE ARGS...
	$PY "$CLIENT" "$@" >"$SCRATCH/client.out" 2>&1 || echo "FAIL hostile-client.py $2 exited $?" >>"$SCRATCH/client.out"
	tap "$SCRATCH/client.out"
}

# The timeout cases run from their own addresses while everything else goes on.
$PY "$CLIENT" "$PORT" slow $TIMEOUT >"$SCRATCH/slow.out" 2>&1 &
SLOW=$!
$PY "$CLIENT" "$PORT" idle $TIMEOUT >"$SCRATCH/idle.out" 2>&1 &
IDLE=$!

# Tokens: every wrong one gets the unknown feed's 404, byte for byte.
code() { curl -s --path-as-is -o "$SCRATCH/$1.b" -D "$SCRATCH/$1.h" -w '%{http_code}' "$URL$2"; }
WRONG=(
	"${TOKEN%?}X"                   # last character changed
	"${TOKEN:0:8}"                  # short
	"${TOKEN}${TOKEN}${TOKEN}"      # long
	"$(printf 'A%.0s' $(seq 4000))" # very long
	"%00$TOKEN"                     # NUL first
)
check "the right token: 200" test "$(code good "/feeds/school.ics?token=$TOKEN")" = 200
code unknown /feeds/unknown.ics >/dev/null
same=1
for i in "${!WRONG[@]}"; do
	c=$(code "w$i" "/feeds/school.ics?token=${WRONG[$i]}")
	[ "$c" = 404 ] || { same=0; diag "wrong token $i: $c"; }
	cmp -s "$SCRATCH/unknown.b" "$SCRATCH/w$i.b" || same=0
	[ "$(grep -vi '^date:' "$SCRATCH/unknown.h")" = "$(grep -vi '^date:' "$SCRATCH/w$i.h")" ] || same=0
done
check "wrong, short, long and NUL tokens: the unknown feed's 404, headers and body" test $same = 1

client "$PORT" raw

wait $SLOW
tap "$SCRATCH/slow.out"
wait $IDLE
tap "$SCRATCH/idle.out"

# The limits, on a second daemon with the default timeout: with a short one, answered
# connections would go idle and be closed mid-count. Nothing else connects to it.
"$DEADLINED" -c "$SCRATCH/conf2/deadlined.conf" --now $NOW run 2>"$SCRATCH/flood.log" &
FPID=$!
track_pid $FPID
check "second daemon listens on 127.0.0.1:$PORT2" wait_port "$PORT2"
if grep -qa __asan_init "$DEADLINED"; then ASAN=asan; else ASAN=; fi
client "$PORT2" flood $FPID $ASAN
kill -TERM $FPID
wait $FPID
check "second daemon: SIGTERM after the flood, exit 0" test $? = 0

check "daemon still running" kill -0 $DPID
check "/healthz after everything: 200" test "$(code h /healthz)" = 200
kill -TERM $DPID
wait $DPID
rc=$?
check "SIGTERM: clean exit 0" test $rc = 0
check "the token never appears in the log" bash -c "! grep -qF '$TOKEN' '$SCRATCH/log'"
leaked=0
for w in "${WRONG[@]}"; do
	grep -qF -- "$w" "$SCRATCH/log" && leaked=1
done
check "no wrong token appears in the log" test $leaked = 0
check "requests were logged (-v), so the check above means something" \
	grep -q 'http: GET /feeds/school.ics' "$SCRATCH/log"
