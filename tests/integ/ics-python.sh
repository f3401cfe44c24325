#!/usr/bin/env bash
# ics-python.sh: export the default feeds with the real binary and parse them
# with a real iCalendar parser (Debian's python3-icalendar, see ics-check.py).
source "$(dirname "$0")/lib.sh"
mkscratch

NOW=2026-11-22
# A copy of conf/, so secret files get the 0600 mode the loader insists on
# whatever mode the checkout left them with, and nothing is written to the tree.
cp -r "$ROOT/conf" "$SCRATCH/conf"
chmod 600 "$SCRATCH"/conf/*.token 2>/dev/null
export STATE_DIRECTORY="$SCRATCH/state"
mkdir -p "$STATE_DIRECTORY"
CONF="$SCRATCH/conf/deadlined.conf"

# Turn ics-check.py's "ok|WHAT" / "not ok|WHAT|DETAIL" lines into TAP.
check_feed() { # $1 = feed name, $2 = file, $3 = UID regex
	local line status what detail
	while IFS= read -r line; do
		IFS='|' read -r status what detail <<<"$line"
		if [ "$status" = ok ]; then
			ok "$1: $what"
		else
			not_ok "$1: $what"
			diag "$detail"
		fi
	done < <("$PY" "$TESTS_DIR/integ/ics-check.py" "$2" "$3" 2>&1 || echo "not ok|ics-check.py ran|exit $?")
}

# uid_domain in conf/deadlined.conf; commitments holds commitments only, school people only.
declare -A UIDS=(
	[commitments]='commitment/[a-z0-9._-]+@deadlined\.example\.org'
	[school]='rule/[a-z0-9._-]+/[a-z0-9._-]+@deadlined\.example\.org'
)
for feed in commitments school; do
	out="$SCRATCH/$feed.ics"
	if "$DEADLINED" -c "$CONF" --now "$NOW" export --feed "$feed" >"$out" 2>"$SCRATCH/$feed.err" &&
		[ -s "$out" ]; then
		ok "$feed: export exits 0 with output"
		check_feed "$feed" "$out" "${UIDS[$feed]}"
	else
		not_ok "$feed: export exits 0 with output"
		diag "$(head -5 "$SCRATCH/$feed.err")"
	fi
done

# The same input must give the same bytes, to stdout or through -o.
"$DEADLINED" -c "$CONF" --now "$NOW" export --feed commitments -o "$SCRATCH/again.ics" 2>/dev/null
check "commitments: a second export (-o FILE) is byte-identical" \
	cmp -s "$SCRATCH/commitments.ics" "$SCRATCH/again.ics"

# The school feed asks for alarms (alarms = yes).
check "school: has VALARMs with RELATED=START triggers" \
	grep -aq '^TRIGGER;RELATED=START:-P' "$SCRATCH/school.ics"
