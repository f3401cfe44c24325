#!/usr/bin/env bash
# DST transitions in Europe/London, 2027: `tick --at` every 15 minutes of
# local time (explicit offsets: the autumn overlap hour twice, the spring
# gap hour not at all) across both transition days, for send_at 01:30
# (inside the spring gap, and in the autumn overlap) and for 09:00. Each
# reminder goes out exactly once, on the first tick at or after its instant:
#   01:30 on 28 March does not exist -> 02:30 BST = 01:30Z
#   01:30 on 31 October happens twice -> the first, 01:30 BST = 00:30Z
#   09:00 -> 08:00Z (BST) on 28 March, 09:00Z (GMT) on 31 October
source "$(dirname "$0")/fault-lib.sh"

F quarters 2027-03-28 2027-10-31 >ticks
diag "$(wc -l <ticks) ticks per send_at"
# run SEND_AT: every tick in order; prints "TICK LINE" for each sent line.
run() {
	local dir=$1 t
	mkdir "$dir"
	F conf "$TESTS_DIR/data/fault/dst.conf.in" "$dir/d.conf" SEND_AT="$2"
	while read -r t; do
		"$DEADLINED" -c "$dir/d.conf" tick --at "$t" | sed "s|^|$t |"
	done <ticks >"$dir/out" 2>"$dir/err"
	"$DEADLINED" -c "$dir/d.conf" history --json >"$dir/h.json"
}
# expect DIR DEADLINE TICK UTC: sent once, by TICK, with fire_at = UTC.
expect() {
	local dir=$1 id=$2 tick=$3 utc=$4
	is "$dir $id: sent once" "$(grep -c " sent .* 1 deadline " "$dir/out.$id")" 1
	is "$dir $id: by the tick at $tick" "$(grep ' sent ' "$dir/out.$id" | cut -d' ' -f1)" "$tick"
	is "$dir $id: ledger fire_at is $utc" "$($PY -c '
import json, sys
r = [r for r in json.load(open(sys.argv[1]))
     if r["deadline"] == "commitment/" + sys.argv[2] and r["slot"] == "lead:1d"]
print(len(r), r[0]["state"], r[0]["fire_at"])' "$dir/h.json" "$id")" "1 sent $(F epoch "$utc")"
}
split() { # one output file per deadline, by the order of sends
	grep ' sent ' "$1/out" | head -1 >"$1/out.spring"
	grep ' sent ' "$1/out" | tail -n +2 >"$1/out.autumn"
	is "$1: two messages in all" "$(grep -c ' sent ' "$1/out")" 2
	is "$1: two .eml files in the outbox" "$(ls "$1/state/outbox" | grep -c '\.eml$')" 2
	# The spring deadline's overdue notice (30 March) is months old by October.
	is "$1: nothing else but that skipped overdue notice" \
		"$(grep -vE '^[^ ]+ sent ' "$1/out" | cut -d' ' -f2-)" \
		"skipped commitment/spring|2027-03-29|overdue:0|mailto:watcher@dst.test"
}

run gap 01:30
split gap
expect gap spring 2027-03-28T02:30+01:00 2027-03-28T01:30Z
expect gap autumn 2027-10-31T01:30+01:00 2027-10-31T00:30Z
run nine 09:00
split nine
expect nine spring 2027-03-28T09:00+01:00 2027-03-28T08:00Z
expect nine autumn 2027-10-31T09:00+00:00 2027-10-31T09:00Z
