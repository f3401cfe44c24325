#!/usr/bin/env bash
# sd_notify from `deadlined run` to a real NOTIFY_SOCKET listener (python,
# AF_UNIX SOCK_DGRAM): READY=1, STATUS=, RELOADING=1 + MONOTONIC_USEC=,
# WATCHDOG=1 with WATCHDOG_USEC, STOPPING=1.
source "$(dirname "$0")/lib.sh"
mkscratch
NOW=2026-11-22

daemon_conf

has() { grep -qE -- "$2" "$1"; }

# listen NAME: start a listener on $SCRATCH/NAME.sock writing $SCRATCH/NAME.log.
listen() {
	: >"$SCRATCH/$1.log"
	$PY "$TESTS_DIR/integ/daemon-notify.py" "$SCRATCH/$1.sock" "$SCRATCH/$1.log" 60 &
	track_pid $!
	wait_for 10 test -S "$SCRATCH/$1.sock"
}

# 1. Under a watchdog, WATCHDOG_PID unset.
listen n1
unset WATCHDOG_PID
NOTIFY_SOCKET=$SCRATCH/n1.sock WATCHDOG_USEC=200000 \
	"$DEADLINED" -c "$CONF" --now $NOW run 2>"$SCRATCH/log1" &
DPID=$!
track_pid $DPID
L=$SCRATCH/n1.log
check "READY=1 received" wait_for 10 has "$L" '(^|\|)READY=1(\||$)'
check "STATUS= with the summary" has "$L" \
	"STATUS=4 deadlines, 2 overdue, next reminder 2026-11-23 09:00 GMT; 2 feeds on 127.0.0.1:$PORT"
check "the feeds are served once READY=1 was sent" \
	bash -c "curl -sf -o /dev/null http://127.0.0.1:$PORT/feeds/commitments.ics"
check "WATCHDOG=1 pings (WATCHDOG_USEC=200000, WATCHDOG_PID unset)" wait_for 10 has "$L" '^WATCHDOG=1$'
kill -HUP $DPID
check "RELOADING=1 on SIGHUP" wait_for 10 has "$L" '(^|\|)RELOADING=1(\||$)'
check "RELOADING=1 comes with MONOTONIC_USEC=" has "$L" 'RELOADING=1\|MONOTONIC_USEC=[0-9]+'
ready_after_reload() { sed -n '/RELOADING=1/,$p' "$L" | grep -qE '(^|\|)READY=1(\||$)'; }
check "READY=1 again after the reload" wait_for 10 ready_after_reload
kill -TERM $DPID
check "STOPPING=1 on SIGTERM" wait_for 10 has "$L" '(^|\|)STOPPING=1(\||$)'
wait $DPID
rc=$?
check "exit 0 after SIGTERM" test $rc = 0
sed 's/^/# /' "$L" | grep -v '^# WATCHDOG=1$' | head -20

# 2. WATCHDOG_PID naming the daemon itself: pings.
listen n2
(
	export NOTIFY_SOCKET=$SCRATCH/n2.sock WATCHDOG_USEC=200000 WATCHDOG_PID=$BASHPID
	exec "$DEADLINED" -c "$CONF" --now $NOW run 2>"$SCRATCH/log2"
) &
DPID=$!
track_pid $DPID
check "WATCHDOG=1 pings when WATCHDOG_PID is the daemon's pid" wait_for 10 has "$SCRATCH/n2.log" '^WATCHDOG=1$'
kill -TERM $DPID
wait $DPID

# 3. WATCHDOG_PID naming another process: the watchdog is not ours, no pings.
listen n3
NOTIFY_SOCKET=$SCRATCH/n3.sock WATCHDOG_USEC=200000 WATCHDOG_PID=1 \
	"$DEADLINED" -c "$CONF" --now $NOW run 2>"$SCRATCH/log3" &
DPID=$!
track_pid $DPID
wait_for 10 has "$SCRATCH/n3.log" 'READY=1'
sleep 1
check "no WATCHDOG=1 when WATCHDOG_PID is another process" bash -c "! grep -q '^WATCHDOG=1' '$SCRATCH/n3.log'"
kill -TERM $DPID
wait $DPID

# 4. Outside systemd (no NOTIFY_SOCKET) it runs the same.
unset NOTIFY_SOCKET
"$DEADLINED" -c "$CONF" --now $NOW run 2>"$SCRATCH/log4" &
DPID=$!
track_pid $DPID
check "without NOTIFY_SOCKET the daemon serves" wait_port "$PORT"
kill -TERM $DPID
wait $DPID
rc=$?
check "without NOTIFY_SOCKET: exit 0" test $rc = 0
