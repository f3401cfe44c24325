#!/usr/bin/env bash
# The layering rules (tests/integ/layers.py): src/core/ includes only core
# headers, base/util.h, base/diag.h, libc/POSIX and libical, and calls no
# clock, file, socket or process function; base/, core/ and config/ include
# no serve/, deliver/ or cli/ header; serve/ and deliver/ no cli/ header.
# First a self-test on a scratch tree with planted violations (so this test
# can fail), then one "not ok FILE:LINE ..." per violation in the real tree.
# Independent of the build: the same lines for every BUILD_DIR.
source "$(dirname "$0")/lib.sh"
mkscratch
L() { $PY "$TESTS_DIR/integ/layers.py" "$@"; }

# The self-test tree: each planted line is reported, nothing else is.
T=$SCRATCH/tree
mkdir -p "$T/src/core" "$T/src/config" "$T/src/serve" "$T/include/deadlined/core"
cat >"$T/src/core/bad.c" <<'EOF'
#include <stdio.h>
#include <curl/curl.h>
#include "deadlined/config/config.h"
#include "deadlined/serve/http.h"
/* time(NULL) and fopen("x") in a comment are fine */
static const char *s = "unlink(path) in a string is fine";
static int f(struct ops *o) { return o->read(0) + o->time(1) + send_at(2); }
static long g(void) { return time (NULL); }
static int h(const char *p) { return fopen(p, "r") != NULL && sd_notify(0, s); }
EOF
cat >"$T/include/deadlined/core/bad.h" <<'EOF'
#include <sqlite3.h>
EOF
cat >"$T/src/config/up.c" <<'EOF'
#include "deadlined/deliver/ledger.h"
#include "deadlined/core/model.h"
static long t(void) { return time(NULL); }
EOF
cat >"$T/src/serve/up.c" <<'EOF'
#include "deadlined/deliver/ledger.h"
#include "deadlined/cli/cli.h"
EOF
L "$T" >"$SCRATCH/self.out"
check "self-test: the checker exits 1 on violations" test $? -eq 1
want="core-include src/core/bad.c:2: #include <curl/curl.h> (not libc, POSIX or libical)
core-include src/core/bad.c:3: #include \"deadlined/config/config.h\" (core includes only core/, base/util.h, base/diag.h)
upward-include src/core/bad.c:4: #include \"deadlined/serve/http.h\" (core/ must not include serve/ headers)
core-include src/core/bad.c:4: #include \"deadlined/serve/http.h\" (core includes only core/, base/util.h, base/diag.h)
core-call src/core/bad.c:8: calls time()
core-call src/core/bad.c:9: calls fopen()
core-call src/core/bad.c:9: calls sd_notify()
core-include include/deadlined/core/bad.h:1: #include <sqlite3.h> (not libc, POSIX or libical)
upward-include src/config/up.c:1: #include \"deadlined/deliver/ledger.h\" (config/ must not include deliver/ headers)
upward-include src/serve/up.c:2: #include \"deadlined/cli/cli.h\" (serve/ must not include cli/ headers)"
got=$(cat "$SCRATCH/self.out")
if [ "$got" = "$want" ]; then
	ok "self-test: every planted violation reported with FILE:LINE, nothing else"
else
	not_ok "self-test: every planted violation reported with FILE:LINE, nothing else"
	diff <(echo "$want") <(echo "$got") | sed 's/^/# /'
fi

# The real tree: one line per rule, or one "not ok" per violation.
has_core() { compgen -G "$ROOT/src/core/*.c" >/dev/null; }
check "the tree has src/core/*.c to check" has_core
L "$ROOT" >"$SCRATCH/tree.out"
rc=$?
[ $rc -le 1 ] || not_ok "layers.py ran (exit $rc)"
rule() { # RULE DESCRIPTION
	local _ where
	if grep -q "^$1 " "$SCRATCH/tree.out"; then
		while read -r _ where; do not_ok "layering: $where"; done < <(grep "^$1 " "$SCRATCH/tree.out")
	else
		ok "$2"
	fi
}
rule core-include "core/ includes only core/, base/util.h, base/diag.h, libc/POSIX, libical"
rule core-call "core/ calls no clock, file, socket or process function"
rule upward-include "base/, core/, config/ include no serve/deliver/cli; serve/, deliver/ no cli/"
