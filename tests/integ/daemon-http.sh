#!/usr/bin/env bash
# The feed server of `deadlined run`, checked with curl against the real daemon:
# headers, conditional requests, gzip, tokens, methods, bodies, paths, health, metrics.
source "$(dirname "$0")/lib.sh"
mkscratch
NOW=2026-11-22

daemon_conf
start_daemon "$SCRATCH/log" --now $NOW || exit 1

# fetch NAME PATH [curl args...]: headers in $SCRATCH/NAME.h, body in NAME.b; prints the code.
fetch() {
	local name=$1 path=$2
	shift 2
	curl -s --path-as-is -D "$SCRATCH/$name.h" -o "$SCRATCH/$name.b" -w '%{http_code}' "$@" "$URL$path"
}
# hdr NAME Header: the value of one response header, without CR.
hdr() { grep -i "^$2:" "$SCRATCH/$1.h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
is() { # is DESCRIPTION GOT WANT
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		diag "got:  '$2'"
		diag "want: '$3'"
	fi
}

"$DEADLINED" -c "$CONF" --now $NOW export --feed commitments >"$SCRATCH/commitments.ics"
"$DEADLINED" -c "$CONF" --now $NOW export --feed school >"$SCRATCH/school.ics"

# A public feed.
is "GET commitments.ics: 200" "$(fetch c /feeds/commitments.ics)" 200
check "body equals export --feed commitments" cmp -s "$SCRATCH/c.b" "$SCRATCH/commitments.ics"
is "Content-Type" "$(hdr c Content-Type)" "text/calendar; charset=utf-8"
ETAG=$(hdr c ETag)
check "strong ETag over the bytes" grep -qE '^"[0-9a-f]{32}"$' <<<"$ETAG"
LASTMOD=$(hdr c Last-Modified)
check "Last-Modified is an HTTP date" grep -qE '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$' <<<"$LASTMOD"
is "Cache-Control of a public feed" "$(hdr c Cache-Control)" "public, max-age=3600"
is "Vary" "$(hdr c Vary)" "Accept-Encoding"
is "no Content-Encoding without Accept-Encoding" "$(hdr c Content-Encoding)" ""
check "body parses with python3-icalendar" $PY -c '
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
assert cal.name == "VCALENDAR"
assert len(cal.walk("VEVENT")) == 2, len(cal.walk("VEVENT"))
' "$SCRATCH/c.b"

# HEAD: same headers, no body.
is "HEAD commitments.ics: 200" "$(fetch head /feeds/commitments.ics -I)" 200
is "HEAD: Content-Length of the body" "$(hdr head Content-Length)" "$(stat -c %s "$SCRATCH/commitments.ics")"
is "HEAD: same ETag" "$(hdr head ETag)" "$ETAG"
# On the wire: nothing after the header block (curl -I would not read a body).
raw_head() {
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'HEAD /feeds/commitments.ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
	cat <&3
	exec 3<&-
}
raw_head >"$SCRATCH/rawhead"
check "HEAD: nothing after the headers on the wire" $PY -c '
import sys
data = open(sys.argv[1], "rb").read()
head, sep, rest = data.partition(b"\r\n\r\n")
assert head.startswith(b"HTTP/1.1 200"), head
assert sep and rest == b"", rest[:40]
' "$SCRATCH/rawhead"

# Conditional requests.
is "If-None-Match with the ETag: 304" "$(fetch inm /feeds/commitments.ics -H "If-None-Match: $ETAG")" 304
is "304 carries the ETag" "$(hdr inm ETag)" "$ETAG"
is "304 has Vary" "$(hdr inm Vary)" "Accept-Encoding"
check "304 has no body" test ! -s "$SCRATCH/inm.b"
is "If-None-Match in a list, weak form: 304" \
	"$(fetch inm2 /feeds/commitments.ics -H "If-None-Match: \"x\", W/$ETAG")" 304
is "If-None-Match with another ETag: 200" \
	"$(fetch inm3 /feeds/commitments.ics -H 'If-None-Match: "0123"')" 200
is "If-Modified-Since = Last-Modified: 304" \
	"$(fetch ims /feeds/commitments.ics -H "If-Modified-Since: $LASTMOD")" 304
is "If-Modified-Since in 1990: 200" \
	"$(fetch ims2 /feeds/commitments.ics -H 'If-Modified-Since: Mon, 01 Jan 1990 00:00:00 GMT')" 200
is "a non-matching If-None-Match wins over If-Modified-Since: 200" \
	"$(fetch ims3 /feeds/commitments.ics -H 'If-None-Match: "0123"' -H "If-Modified-Since: $LASTMOD")" 200
is "a malformed If-Modified-Since is ignored: 200" \
	"$(fetch ims4 /feeds/commitments.ics -H 'If-Modified-Since: yesterday')" 200

# gzip: a pre-compressed copy with its own ETag.
is "Accept-Encoding: gzip: 200" "$(fetch gz /feeds/commitments.ics -H 'Accept-Encoding: gzip')" 200
is "Content-Encoding: gzip" "$(hdr gz Content-Encoding)" gzip
is "gzip response has Vary" "$(hdr gz Vary)" "Accept-Encoding"
GZETAG=$(hdr gz ETag)
check "gzip ETag differs from the identity ETag" test "$GZETAG" != "$ETAG" -a -n "$GZETAG"
check "gunzip of the body equals export" bash -c "gzip -dc '$SCRATCH/gz.b' | cmp -s - '$SCRATCH/commitments.ics'"
is "curl --compressed round trip: 200" "$(fetch comp /feeds/commitments.ics --compressed)" 200
check "curl --compressed body equals export" cmp -s "$SCRATCH/comp.b" "$SCRATCH/commitments.ics"
is "If-None-Match with the gzip ETag: 304" \
	"$(fetch gz304 /feeds/commitments.ics -H 'Accept-Encoding: gzip' -H "If-None-Match: $GZETAG")" 304
is "gzip;q=0 gets identity" "$(fetch gzq0 /feeds/commitments.ics -H 'Accept-Encoding: gzip;q=0, deflate')" 200
is "gzip;q=0: no Content-Encoding" "$(hdr gzq0 Content-Encoding)" ""

# A token feed.
is "school.ics with its token: 200" "$(fetch s "/feeds/school.ics?token=$TOKEN")" 200
check "token feed body equals export --feed school" cmp -s "$SCRATCH/s.b" "$SCRATCH/school.ics"
is "Cache-Control of a token feed" "$(hdr s Cache-Control)" "private, max-age=3600"
check "token feed parses with python3-icalendar" $PY -c '
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
assert len(cal.walk("VEVENT")) == 2, len(cal.walk("VEVENT"))
' "$SCRATCH/s.b"
is "unknown feed: 404" "$(fetch unk /feeds/nope.ics)" 404
is "missing token: 404" "$(fetch t0 /feeds/school.ics)" 404
is "wrong token: 404" "$(fetch t1 "/feeds/school.ics?token=${TOKEN%?}X")" 404
is "short token: 404" "$(fetch t2 "/feeds/school.ics?token=${TOKEN:0:5}")" 404
is "long token: 404" "$(fetch t3 "/feeds/school.ics?token=${TOKEN}${TOKEN}")" 404
is "empty token: 404" "$(fetch t4 "/feeds/school.ics?token=")" 404
is "the token on another feed name: 404" "$(fetch t5 "/feeds/nope.ics?token=$TOKEN")" 404
same404=1
for n in t0 t1 t2 t3 t4 t5; do
	cmp -s "$SCRATCH/unk.b" "$SCRATCH/$n.b" || same404=0
	[ "$(grep -vi '^date:' "$SCRATCH/unk.h")" = "$(grep -vi '^date:' "$SCRATCH/$n.h")" ] || same404=0
done
check "wrong/missing/short/long token and unknown feed: identical 404 headers and body" test $same404 = 1

# Methods and bodies.
is "POST: 405" "$(fetch post /feeds/commitments.ics -X POST)" 405
is "405 has Allow: GET, HEAD" "$(hdr post Allow)" "GET, HEAD"
is "DELETE: 405" "$(fetch del /feeds/commitments.ics -X DELETE)" 405
is "PUT /healthz: 405" "$(fetch put /healthz -X PUT)" 405
is "POST with a body: 400" "$(fetch body /feeds/commitments.ics --data-binary hello)" 400
is "400 closes the connection" "$(hdr body Connection)" close
is "GET with a body: 400" "$(fetch gbody /feeds/commitments.ics -X GET --data-binary hello)" 400
is "chunked upload: 400" \
	"$(fetch chunk /feeds/commitments.ics -X GET -H 'Transfer-Encoding: chunked' --data-binary hello)" 400

# Paths are matched exactly.
is "/feeds/../x: 404" "$(fetch p1 /feeds/../x)" 404
is "/feeds/../deadlined.conf: 404" "$(fetch p2 /feeds/../deadlined.conf)" 404
is "/feeds/%2e%2e%2fdeadlined.conf: 404" "$(fetch p3 /feeds/%2e%2e%2fdeadlined.conf)" 404
is "/feeds/%2e%2e/school.token: 404" "$(fetch p4 /feeds/%2e%2e/school.token)" 404
is "/deadlined.conf: 404" "$(fetch p5 /deadlined.conf)" 404
is "/feeds/commitments.ics/: 404" "$(fetch p6 /feeds/commitments.ics/)" 404
is "/feeds/commitments: 404" "$(fetch p7 /feeds/commitments)" 404
is "/: 404" "$(fetch p8 /)" 404

# Health and metrics.
is "/healthz: 200" "$(fetch h /healthz)" 200
is "/healthz body" "$(cat "$SCRATCH/h.b")" ok
is "/metrics: 200" "$(fetch m /metrics)" 200
check "metrics: overdue deadlines" grep -qx 'deadlined_deadlines{status="overdue"} 2' "$SCRATCH/m.b"
check "metrics: upcoming deadlines" grep -qx 'deadlined_deadlines{status="upcoming"} 2' "$SCRATCH/m.b"
check "metrics: 405 count" grep -qx 'deadlined_http_requests_total{code="405"} 3' "$SCRATCH/m.b"
check "metrics: 304 count" grep -qx 'deadlined_http_requests_total{code="304"} 4' "$SCRATCH/m.b"
check "metrics: reloads" grep -qx 'deadlined_reloads_total{result="failed"} 0' "$SCRATCH/m.b"
check "metrics: last reload timestamp" grep -qE '^deadlined_last_reload_timestamp_seconds [0-9]{10}$' "$SCRATCH/m.b"

# Keep-alive: two requests on one connection.
curl -sv -o /dev/null -o /dev/null "$URL/healthz" "$URL/feeds/commitments.ics" 2>"$SCRATCH/ka.log"
check "keep-alive: the second request reuses the connection" grep -q 'Re-using existing connection' "$SCRATCH/ka.log"

# Logs: subscription URLs without the token.
check "log shows the public feed URL" grep -qF "$URL/feeds/commitments.ics" "$SCRATCH/log"
check "log shows the webcal form" grep -qF "webcal://127.0.0.1:$PORT/feeds/commitments.ics" "$SCRATCH/log"
check "log shows where the token comes from" grep -qF "school.ics?token=<contents of" "$SCRATCH/log"
check "the token never appears in the log" bash -c "! grep -qF '$TOKEN' '$SCRATCH/log'"

kill -TERM $DPID
wait $DPID
is "SIGTERM: clean exit 0" "$?" 0
