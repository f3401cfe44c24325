#!/usr/bin/env bash
# Processes opening a brand-new ledger at once (the daemon starting while an
# admin runs export) must all succeed: opening is serialised by an flock
# beside the ledger. Each round: a fresh state dir, the daemon and three
# exports started together; the daemon must come up and every export exit 0.
source "$(dirname "$0")/lib.sh"
mkscratch
daemon_conf
for round in 1 2 3 4 5 6; do
	rm -rf "$SCRATCH/conf/state"
	"$DEADLINED" -c "$CONF" --now 2026-11-22 run 2>"$SCRATCH/run.err" &
	dpid=$!
	track_pid $dpid
	pids=()
	for i in 1 2 3; do
		"$DEADLINED" -c "$CONF" --now 2026-11-22 export --feed commitments \
			>"$SCRATCH/out.$i" 2>"$SCRATCH/err.$i" &
		pids+=($!)
	done
	failed=0
	for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
	up=0
	wait_port "$PORT" && kill -0 $dpid 2>/dev/null && up=1
	if [ $failed -eq 0 ] && [ $up = 1 ]; then
		ok "round $round: daemon and 3 exports on a new ledger all succeed"
	else
		not_ok "round $round: daemon and 3 exports on a new ledger all succeed (exports failed: $failed, daemon up: $up)"
		cat "$SCRATCH"/err.* "$SCRATCH/run.err" | grep -v skipped | sort -u | sed 's/^/# /' | head -5
	fi
	kill $dpid 2>/dev/null
	wait $dpid 2>/dev/null
done
