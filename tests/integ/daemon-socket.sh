#!/usr/bin/env bash
# Socket activation: systemd-socket-activate passes a listening socket
# (LISTEN_FDS); the daemon serves on it instead of [http] listen, and keeps
# it across a reload.
source "$(dirname "$0")/lib.sh"
mkscratch
NOW=2026-11-22

daemon_conf
OTHER=$PORT        # what the config says: must stay unused
PORT=$(free_port)  # the passed socket

if ! command -v systemd-socket-activate >/dev/null; then
	not_ok "systemd-socket-activate is installed"
	exit 1
fi
systemd-socket-activate -l "127.0.0.1:$PORT" \
	"$DEADLINED" -c "$CONF" --now $NOW run 2>"$SCRATCH/log" &
DPID=$!
track_pid $DPID
check "the activation socket listens" wait_port "$PORT"

"$DEADLINED" -c "$CONF" --now $NOW export --feed commitments >"$SCRATCH/expected"
code=$(curl -s -m 20 -o "$SCRATCH/body" -w '%{http_code}' "http://127.0.0.1:$PORT/feeds/commitments.ics")
check "a feed is served on the passed socket (200)" test "$code" = 200
check "the bytes equal export" cmp -s "$SCRATCH/body" "$SCRATCH/expected"
check "the log says socket activation" grep -q "serving on 127.0.0.1:$PORT (socket activation)" "$SCRATCH/log"
check "[http] listen was not bound" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$OTHER) 2>/dev/null"

# Reload with a changed [http] listen: the passed socket stays.
NEW=$(free_port)
sed -i "s/^listen = .*/listen = 127.0.0.1:$NEW/" "$CONF"
kill -HUP $DPID
reloaded() { grep -q "Reloaded:" "$SCRATCH/log"; }
for i in $(seq 100); do reloaded && break; sleep 0.1; done
check "reload done" reloaded
code=$(curl -s -m 20 -o "$SCRATCH/body2" -w '%{http_code}' "http://127.0.0.1:$PORT/feeds/commitments.ics")
check "after reload the passed socket still serves (200)" test "$code" = 200
check "after reload [http] listen is still not bound" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$NEW) 2>/dev/null"

kill -TERM $DPID
wait $DPID
rc=$?
check "SIGTERM: exit 0" test $rc = 0
