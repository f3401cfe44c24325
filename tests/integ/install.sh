#!/usr/bin/env bash
# make install into a DESTDIR: binary, units (ExecStart follows PREFIX), man
# pages, the example configuration, and a fresh feed token; a second install
# never overwrites an existing configuration.
source "$(dirname "$0")/lib.sh"
mkscratch
asan=0
[ "$BUILD_DIR" = build-asan ] && asan=1
D=$SCRATCH/root
inst() { make -s -C "$ROOT" install DESTDIR="$D" PREFIX=/opt/dl BUILD="$BUILD_DIR" ASAN=$asan; }

if inst >"$SCRATCH/out1" 2>&1; then ok "make install exits 0"; else
	not_ok "make install exits 0"
	sed 's/^/# /' "$SCRATCH/out1" | tail -20
	exit 1
fi
for f in opt/dl/bin/deadlined lib/systemd/system/deadlined.service lib/systemd/system/deadlined.socket \
	opt/dl/share/man/man8/deadlined.8 opt/dl/share/man/man5/deadlined.conf.5 \
	etc/deadlined/deadlined.conf etc/deadlined/roster.csv etc/deadlined/conf.d/20-rules.conf; do
	check "installed $f" test -f "$D/$f"
done
check "the unit runs the binary under PREFIX" \
	grep -qxF 'ExecStart=/opt/dl/bin/deadlined -c /etc/deadlined/deadlined.conf run' \
	"$D/lib/systemd/system/deadlined.service"
check "the feed token is mode 0600" test "$(stat -c %a "$D/etc/deadlined/school.token")" = 600
check "the installed configuration passes check" \
	"$D/opt/dl/bin/deadlined" -c "$D/etc/deadlined/deadlined.conf" check

echo "; local edit" >>"$D/etc/deadlined/deadlined.conf"
token=$(cat "$D/etc/deadlined/school.token")
check "the token is 43 base64url characters (256 bits)" \
	bash -c "[[ '$token' =~ ^[A-Za-z0-9_-]{43}\$ ]]"
check "a second make install exits 0" inst >"$SCRATCH/out2" 2>&1
check "an existing deadlined.conf is kept" grep -qxF '; local edit' "$D/etc/deadlined/deadlined.conf"
check "an existing token is kept" test "$(cat "$D/etc/deadlined/school.token")" = "$token"
check "the second install says what it kept" grep -q 'keeping existing' "$SCRATCH/out2"
