# Sourced by deliver-lock.sh, deliver-outbox.sh and deliver-wakeup.sh (run on
# its own it does nothing): fault-lib.sh's helpers plus a holding SMTP relay
# and configurations from tests/data/deliver-lock.conf.in.
[ "${BASH_SOURCE[0]}" = "$0" ] && exit 0
source "$(dirname "${BASH_SOURCE[0]}")/fault-lib.sh"

# start_sink: tests/integ/deliver-sink.py on SPORT, saving into mail/, its
# mode in $SCRATCH/mode ("hold:$SCRATCH/hold" keeps messages in flight).
start_sink() {
	SPORT=$(free_port)
	mkdir -p mail
	: >mode
	$PY "$TESTS_DIR/integ/deliver-sink.py" "$SPORT" mail mode &
	track_pid $!
	wait_port "$SPORT" || { not_ok "the SMTP sink listens"; exit 1; }
}
hold() { rm -f mode.held; touch hold; echo "hold:$SCRATCH/hold" >mode; }
release() { : >mode; rm -f hold; }
held() { [ -s mode.held ]; } # a message has reached DATA since hold

# lconf DIR NAME [K=V...]: DIR/NAME.conf sending to the sink, roster
# DIR/roster.csv, the roster's reminder fired today at 00:00 (real clock).
lconf() {
	local dir=$1 name=$2
	shift 2
	mkdir -p "$dir"
	F conf "$TESTS_DIR/data/deliver-lock.conf.in" "$dir/$name.conf" LISTEN=none \
		SMTP="$(printf '[smtp]\nurl = "smtp://127.0.0.1:%s"\ntls = none\nfrom = "<deadlines@deliver-lock.test>"' "$SPORT")" \
		ROSTER=roster.csv SEND_AT=00:00 DUE="$(F day "$(F today)" 7)" SOON=2030-06-01 "$@"
}
# people FILE FIRST LAST: a roster of p<FIRST>..p<LAST> (as fault-helper's roster).
people() {
	F roster "$1.all" $(($3 + 1))
	{ head -1 "$1.all"; tail -n +$(($2 + 2)) "$1.all"; } >"$1"
	rm "$1.all"
}
# run_daemon NAME CONF [VAR=VALUE...]: run_notified with stderr to NAME.err
# and the listener writing NAME.log.
run_daemon() { run_notified "$1" "$2" "$SCRATCH/$1.err" 300 "${@:3}"; }
stop_daemon() { kill -TERM "$DPID"; wait "$DPID"; }
# rows CONF: "state:attempts" of every row, sorted.
rows() {
	"$DEADLINED" -c "$1" history --json | $PY -c '
import json, sys
print(" ".join(sorted("%s:%d" % (r["state"], r["attempts"]) for r in json.load(sys.stdin))))'
}
# once DIR N: N messages in DIR, to N recipients, with N distinct Message-IDs.
once() {
	$PY -c '
import email, glob, sys
ms = [email.message_from_binary_file(open(p, "rb")) for p in glob.glob(sys.argv[1] + "/*.eml")]
n = int(sys.argv[2])
got = (len(ms), len({m["To"] for m in ms}), len({m["Message-ID"] for m in ms}))
assert got == (n, n, n), got' "$1" "$2"
}
# mail_ids DIR: "RECIPIENTS IDS COPIES": how many recipients, the most
# distinct Message-IDs one recipient got, the most messages one got.
mail_ids() {
	$PY -c '
import collections, email, glob, sys
ids = collections.defaultdict(list)
for p in glob.glob(sys.argv[1] + "/*.eml"):
    m = email.message_from_binary_file(open(p, "rb"))
    ids[m["To"]].append(m["Message-ID"])
v = ids.values()
print(len(ids), max((len(set(x)) for x in v), default=0), max((len(x) for x in v), default=0))' "$1"
}
