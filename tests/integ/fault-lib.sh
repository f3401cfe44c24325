# Sourced by the fault-*.sh integration tests (run on its own it does
# nothing): lib.sh, a scratch directory as the working directory, and the
# helpers they share.
[ "${BASH_SOURCE[0]}" = "$0" ] && exit 0
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkscratch
cd "$SCRATCH" || exit 1
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID STATE_DIRECTORY
F() { $PY "$TESTS_DIR/integ/fault-helper.py" "$@"; }

has() { grep -qE -- "$2" "$1"; }
is() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi; }

# fault_conf DIR KEY=VALUE...: DIR/d.conf from tests/data/fault/daemon.conf.in
# (unused ports default to 1, SEND_AT to 09:00) and an empty roster.
fault_conf() {
	local dir=$1
	shift
	mkdir -p "$dir"
	F conf "$TESTS_DIR/data/fault/daemon.conf.in" "$dir/d.conf" PORT=1 SMTP_PORT=1 HOOK_PORT=1 \
		GONE_PORT=1 SEND_AT=09:00 DUE=2026-11-29 "$@"
	F roster "$dir/roster.csv" 0
}

# run_notified NAME CONF ERRLOG LIMIT [VAR=VALUE...]: `run` CONF in the
# background (stderr to ERRLOG, the variables in its environment) with a
# NOTIFY_SOCKET listener on $SCRATCH/NAME.sock writing $SCRATCH/NAME.log for
# up to LIMIT seconds; sets DPID.
run_notified() {
	local name=$1 conf=$2 err=$3 limit=$4
	shift 4
	$PY "$TESTS_DIR/integ/daemon-notify.py" "$SCRATCH/$name.sock" "$SCRATCH/$name.log" "$limit" &
	track_pid $!
	wait_for 10 test -S "$SCRATCH/$name.sock"
	env NOTIFY_SOCKET="$SCRATCH/$name.sock" "$@" "$DEADLINED" -c "$conf" run 2>"$err" &
	DPID=$!
	track_pid $DPID
}
# start_run DIR ERRLOG [VAR=VALUE...]: run_notified on DIR/d.conf, the
# listener writing n.log.
start_run() { run_notified n "$1/d.conf" "$2" 120 "${@:3}"; }

# HOOK=yes when the binary has the -DDEADLINED_FAULTS test hooks (then a
# paused daemon retries every 5 s): DEADLINED_FAULT aborts a tick with 134.
fault_conf probe
HOOK=no
rc=$(DEADLINED_FAULT=after-claim "$DEADLINED" -c probe/d.conf --now 2020-01-01T10:00 tick \
	>/dev/null 2>&1; echo $?) 2>/dev/null
[ "$rc" = 134 ] && HOOK=yes

# retry_paused WHY: the paused daemon $DPID retries by itself every 5 s in a
# hooked build (the test waits for that); otherwise (60 s) SIGHUP asks now.
retry_paused() {
	if [ $HOOK = yes ]; then
		diag "$1; waiting for the paused daemon's own retry (5 s)"
	else
		diag "$1; SIGHUP (this build retries every 60 s)"
		kill -HUP "$DPID"
	fi
}
