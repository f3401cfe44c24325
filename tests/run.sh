#!/usr/bin/env bash
# Runs every test against each build directory given (default: build) and
# ends with one line "N passed, N failed". Unit tests are cmocka binaries,
# counted per test case; integration tests are scripts in tests/integ/ that
# print TAP lines ("ok ..." / "not ok ..."), counted per line.
set -u
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- build
passed=0 failed=0
failures=()
logdir=tests/tmp/logs
mkdir -p "$logdir"

count_unit() { # $1 = binary
	local out rc p f name
	name=$1
	out=$("$1" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed before its summary
	passed=$((passed + p)) failed=$((failed + f))
	printf '%-44s %4d passed %4d failed\n' "$name" "$p" "$f"
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		printf '%s\n' "$out" | grep -E 'FAILED|ERROR|error|Sanitizer|runtime error' | head -20 | sed 's/^/    /'
	fi
}

count_integ() { # $1 = script, $2 = build dir
	local log rc p f name
	name="$1 [$2]"
	log="$logdir/$(basename "$1" .sh)-$2.log"
	BUILD_DIR="$2" DEADLINED="$PWD/$2/deadlined" timeout 600 bash "$1" >"$log" 2>&1; rc=$?
	p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p)) failed=$((failed + f))
	printf '%-44s %4d passed %4d failed\n' "$name" "$p" "$f"
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		grep -E '^not ok|^#' "$log" | head -30 | sed 's/^/    /'
		[ "$rc" -ne 0 ] && echo "    (exit $rc; full log: $log)"
	fi
}

for b in "$@"; do
	echo "== unit tests ($b)"
	for t in "$b"/tests/test-*; do
		[ -x "$t" ] && count_unit "$t"
	done
	echo "== integration tests ($b)"
	for s in tests/integ/*.sh; do
		case $(basename "$s") in lib.sh | *-lib.sh) continue ;; esac # sourced helpers
		[ -f "$s" ] && count_integ "$s" "$b"
	done
done
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
