#!/usr/bin/env bash
# The daemon's main scenarios once under valgrind (memcheck): `run` serving feeds
# (plain, gzip, 304, token 404) through a good and a bad SIGHUP reload to SIGTERM,
# then check, agenda --json, export and a tick delivering to the aiosmtpd sink.
# One TAP line per scenario asserts valgrind's exit status: 0 means no memory
# errors and no definite or indirect leaks. The normal build only: valgrind
# cannot run an ASan binary, and ASan already checks that one.
source "$(dirname "$0")/lib.sh"
if grep -qa __asan_init "$DEADLINED"; then
	echo "# skipped: valgrind runs with the normal build only ($BUILD_DIR is ASan)"
	exit 0
fi
if ! command -v valgrind >/dev/null; then
	not_ok "valgrind is installed (make deps)"
	exit 1
fi
mkscratch
NOW=2026-11-22
VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99
	--track-fds=no --child-silent-after-fork=yes)

# vg NAME ARGS...: run the daemon under valgrind, its report in $SCRATCH/NAME.vg.
vg() {
	local name=$1
	shift
	"${VG[@]}" --log-file="$SCRATCH/$name.vg" "$DEADLINED" "$@"
}
# vg_check DESCRIPTION NAME RC: the TAP line, with valgrind's report when it failed.
vg_check() {
	if [ "$3" = 0 ]; then ok "$1"; else
		not_ok "$1 (exit $3)"
		sed 's/^/# /' "$SCRATCH/$2.vg" | head -60
	fi
}

daemon_conf

# Not through vg(): $! must be valgrind itself (the same PID as the daemon) for the signals.
"${VG[@]}" --log-file="$SCRATCH/run.vg" "$DEADLINED" -c "$CONF" --now $NOW run 2>"$SCRATCH/log" &
DPID=$!
track_pid $DPID
up=0
for _ in $(seq 600); do # valgrind starts slowly: up to 60 s
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && { up=1; break; }
	sleep 0.1
done
check "run under valgrind listens" test $up = 1

code() { curl -s -o "$SCRATCH/body" -w '%{http_code}' "$@"; }
# wait_log PATTERN: until the daemon's log matches (the reload is asynchronous).
wait_log() {
	for _ in $(seq 300); do
		grep -q "$1" "$SCRATCH/log" && return 0
		sleep 0.1
	done
	return 1
}
check "feed: 200" test "$(code "$URL/feeds/commitments.ics")" = 200
check "feed, gzip: 200" test "$(code -H 'Accept-Encoding: gzip' "$URL/feeds/commitments.ics")" = 200
ETAG=$(curl -s -D - -o /dev/null "$URL/feeds/commitments.ics" | tr -d '\r' | sed -n 's/^ETag: //Ip')
check "feed, If-None-Match: 304" test "$(code -H "If-None-Match: $ETAG" "$URL/feeds/commitments.ics")" = 304
check "token feed: 200" test "$(code "$URL/feeds/school.ics?token=$TOKEN")" = 200
check "wrong token: 404" test "$(code "$URL/feeds/school.ics?token=nope")" = 404
check "metrics: 200" test "$(code "$URL/metrics")" = 200

sed -i 's/^title = "Commitments (test)"/title = "Commitments (reloaded)"/' "$CONF"
kill -HUP $DPID
check "SIGHUP with a good config: reloaded" wait_log '^deadlined: Reloaded'
echo '[rule broken' >>"$CONF"
kill -HUP $DPID
check "SIGHUP with a bad config: refused" wait_log 'Reload failed'
check "still serving after the bad reload: 200" test "$(code "$URL/feeds/commitments.ics")" = 200
kill -TERM $DPID
wait $DPID
vg_check "run: feeds, gzip, 304, 404, good and bad SIGHUP, SIGTERM: valgrind clean, exit 0" run $?
sed -i '$d' "$CONF" # drop the broken line again

vg check -c "$CONF" --now $NOW check >"$SCRATCH/check.out" 2>&1
vg_check "check: valgrind clean, exit 0" check $?
vg agenda -c "$CONF" --now $NOW agenda --json >"$SCRATCH/agenda.json" 2>&1
vg_check "agenda --json: valgrind clean, exit 0" agenda $?
check "agenda --json is JSON" $PY -c 'import json,sys; json.load(open(sys.argv[1]))' "$SCRATCH/agenda.json"
vg export -c "$CONF" --now $NOW export --feed school -o "$SCRATCH/school.ics"
vg_check "export --feed school: valgrind clean, exit 0" export $?
check "export wrote a calendar" grep -q '^BEGIN:VCALENDAR' "$SCRATCH/school.ics"

# tick: reminders to the aiosmtpd sink (the data of deliver-smtp.sh).
SMTP_PORT=$(free_port)
mkdir "$SCRATCH/mail"
sed "s/@SMTP_PORT@/$SMTP_PORT/" "$TESTS_DIR/data/deliver/smtp.conf.in" >"$SCRATCH/smtp.conf"
$PY "$TESTS_DIR/integ/smtp-sink.py" "$SMTP_PORT" "$SCRATCH/mail" &
track_pid $!
wait_port "$SMTP_PORT"
(cd "$SCRATCH" && vg tick -c smtp.conf tick --at 2027-02-14T11:30) >"$SCRATCH/tick.out" 2>&1
vg_check "tick to the SMTP sink: valgrind clean, exit 0" tick $?
check "tick: 3 messages sent (Sian's digest, her head, Tom)" test "$(grep -c '^sent ' "$SCRATCH/tick.out")" = 3
check "tick: the sink received 3 messages" test "$(ls "$SCRATCH/mail" | grep -c '\.eml$')" = 3
