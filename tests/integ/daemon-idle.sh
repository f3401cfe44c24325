#!/usr/bin/env bash
# Idle: with nothing due and no watchdog, the daemon sleeps. Wake-ups are
# counted as voluntary context switches in /proc/PID/status over 5 s.
source "$(dirname "$0")/lib.sh"
mkscratch

daemon_conf
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID

switches() { sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$1/status"; }

# idle LABEL ARGS...: start the daemon, make one request, then count wake-ups.
idle() {
	local label=$1
	shift
	"$DEADLINED" -c "$CONF" "$@" run 2>"$SCRATCH/log-$label" &
	local pid=$!
	track_pid $pid
	if ! wait_port "$PORT"; then
		not_ok "$label: daemon listens"
		return
	fi
	curl -s -o /dev/null "http://127.0.0.1:$PORT/feeds/commitments.ics"
	sleep 1 # let the connection close and settle
	local a b
	a=$(switches $pid)
	sleep 5
	b=$(switches $pid)
	diag "$label: $((b - a)) voluntary context switches in 5 s"
	check "$label: no wake-ups while idle (<= 2 in 5 s)" test $((b - a)) -le 2
	kill -TERM $pid
	wait $pid
}

# Real clock: the only timer armed is the next local midnight.
idle "real clock"
# Fixed --now: no timer at all.
idle "fixed --now" --now 2026-11-22
