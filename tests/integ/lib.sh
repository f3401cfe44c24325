# Sourced by integration tests. Prints TAP lines that tests/run.sh counts.
# $DEADLINED is the binary under test; $BUILD_DIR its build directory.
set -u
: "${DEADLINED:=$PWD/build/deadlined}"
: "${BUILD_DIR:=build}"
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$TESTS_DIR/.." && pwd)
PY=/usr/bin/python3 # Debian's python, with python3-icalendar and python3-aiosmtpd
_tap_n=0
_pids=()

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); echo "not ok $_tap_n - $*"; }
# check "description" command...: ok if the command succeeds.
check() {
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
diag() { printf '# %s\n' "$*"; }
# wait_for SECONDS CMD...: poll a condition every 0.1 s (no timing is asserted).
wait_for() {
	local n=$(($1 * 10)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# A fresh scratch directory, removed at exit.
mkscratch() {
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/deadlined-test.XXXXXX")
	trap cleanup EXIT
}
# Remember a background process; cleanup kills it by PID.
track_pid() { _pids+=("$1"); }
cleanup() {
	local p
	for p in "${_pids[@]+"${_pids[@]}"}"; do kill "$p" 2>/dev/null; done
	for p in "${_pids[@]+"${_pids[@]}"}"; do wait "$p" 2>/dev/null; done
	[ -n "${SCRATCH:-}" ] && rm -rf "$SCRATCH"
	return 0
}
# A free TCP port on 127.0.0.1.
free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# Wait until a TCP port accepts connections (up to ~10 s).
wait_port() {
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# daemon_conf: copy tests/data/daemon into $SCRATCH/conf on a free port. Sets
# PORT, CONF, TOKEN (the private feeds' token) and URL (http://127.0.0.1:PORT).
daemon_conf() {
	cp -r "$TESTS_DIR/data/daemon" "$SCRATCH/conf"
	PORT=$(free_port)
	sed -i "s/@PORT@/$PORT/g" "$SCRATCH/conf/deadlined.conf"
	chmod 600 "$SCRATCH/conf/school.token"
	CONF=$SCRATCH/conf/deadlined.conf
	TOKEN=$(tr -d '\n' <"$SCRATCH/conf/school.token")
	URL=http://127.0.0.1:$PORT
}

# start_daemon LOG ARGS...: run "$DEADLINED -c $CONF ARGS... run" in the
# background with stderr to LOG, wait for $PORT, and set DPID. One TAP line.
start_daemon() {
	local log=$1
	shift
	"$DEADLINED" -c "$CONF" "$@" run 2>"$log" &
	DPID=$!
	track_pid $DPID
	if wait_port "$PORT"; then
		ok "daemon listens on 127.0.0.1:$PORT"
	else
		not_ok "daemon listens on 127.0.0.1:$PORT"
		sed 's/^/# /' "$log"
		return 1
	fi
}
