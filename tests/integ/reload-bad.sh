#!/usr/bin/env bash
# The bad-input catalogue on reload: a running daemon is switched onto each
# tests/data/bad/NAME.conf in turn (copied over its main file, then SIGHUP).
# Every reload must fail with that file's expected FILE:LINE diagnostic in the
# log, and the same process must keep serving the old feed, byte for byte.
# The oversized roster is a literal 1 GiB (sparse) file here.
source "$(dirname "$0")/lib.sh"
mkscratch
daemon_conf
# The catalogue beside the config, so its relative paths resolve; git keeps
# no file modes, so the secrets get theirs here (as in check-bad.sh).
cp "$TESTS_DIR"/data/bad/* "$SCRATCH/conf/"
chmod 600 "$SCRATCH"/conf/*.token
chmod 644 "$SCRATCH/conf/secret-perms.token"
truncate -s 1G "$SCRATCH/conf/roster-too-big.csv"
GOOD=$SCRATCH/good.conf
cp "$CONF" "$GOOD"
start_daemon "$SCRATCH/log" --now 2026-11-22 || exit 1
FEED="$URL/feeds/commitments.ics"
curl -s -o "$SCRATCH/before" "$FEED"

# seen FROM TEXT: log lines from line FROM on contain TEXT (fixed), within ~10 s.
seen() {
	local i
	for i in $(seq 100); do
		# Paths in the daemon's messages are absolute; the catalogue's are relative.
		tail -n +"$1" "$SCRATCH/log" | sed "s#$SCRATCH/conf/##g" | grep -qF -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

for f in "$TESTS_DIR"/data/bad/*.conf; do
	name=$(basename "$f")
	expect=$(head -n 1 "$f" | sed $'s/^\xef\xbb\xbf//; s/^; expect: //')
	# The daemon names its own main file; errors in other files keep their names.
	expect=${expect/#$name:/deadlined.conf:}
	[ "$name" = roster-too-big.conf ] && expect=${expect/629145600/1073741824}
	from=$(($(wc -l <"$SCRATCH/log") + 1))
	cp "$f" "$CONF"
	kill -HUP "$DPID"
	if seen "$from" "$expect" && kill -0 "$DPID" 2>/dev/null &&
		curl -s -o "$SCRATCH/after" "$FEED" && cmp -s "$SCRATCH/before" "$SCRATCH/after"; then
		ok "reload onto $name fails with its error; the old feed is still served"
	else
		not_ok "reload onto $name fails with its error; the old feed is still served"
		diag "wanted in the log: $expect"
		grep -v '^deadlined: Feed' "$SCRATCH/log" | tail -3 | sed 's/^/# /'
	fi
	# Back to the good file, so each case starts from the same state.
	cp "$GOOD" "$CONF"
done
kill -HUP "$DPID"
check "the daemon is still alive after the whole catalogue" kill -0 "$DPID"
check "and serves the same bytes" bash -c "curl -s '$FEED' | cmp -s - '$SCRATCH/before'"
