#!/usr/bin/env bash
# Replays each libFuzzer target over its committed corpus (tests/fuzz/corpus/X/):
# the seeds and every input that once found a bug stay fixed. Builds the fuzzers
# with clang (tests/fuzz/fuzz.mk, into build-fuzz/). One TAP line per target.
# Runs once per `make test`: with the ASan build dir; the others skip.
source "$(dirname "$0")/lib.sh"
if [ "$BUILD_DIR" != build-asan ] && [ "${FUZZ_CORPUS_ALWAYS:-0}" != 1 ]; then
	echo "# skipped: runs once, with the asan build"
	exit 0
fi
TARGETS=(ini config roster date tz select http)
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
cd "$ROOT"
if ! make --no-print-directory -j"$(nproc)" FUZZ_BUILD="$FUZZ_BUILD" fuzz-bins >"$ROOT/tests/tmp/fuzz-build.log" 2>&1; then
	for t in "${TARGETS[@]}"; do not_ok "fuzz-$t: corpus replay (the fuzzers did not build)"; done
	tail -20 "$ROOT/tests/tmp/fuzz-build.log" | sed 's/^/# /'
	exit 1
fi
for t in "${TARGETS[@]}"; do
	n=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
	if "$FUZZ_BUILD/fuzz-$t" -runs=0 "tests/fuzz/corpus/$t" >"$ROOT/tests/tmp/fuzz-$t.log" 2>&1 &&
		grep -q "^Done" "$ROOT/tests/tmp/fuzz-$t.log" && [ "$n" -gt 0 ]; then
		ok "fuzz-$t: $n corpus inputs replayed clean"
	else
		not_ok "fuzz-$t: corpus replay ($n inputs)"
		grep -E 'ERROR|SUMMARY|fatal|deadlined:|^#[0-9]|Test unit written' "$ROOT/tests/tmp/fuzz-$t.log" |
			head -20 | sed 's/^/# /'
	fi
done
