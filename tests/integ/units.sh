#!/usr/bin/env bash
# The systemd units: `systemd-analyze verify` says nothing at all, and the
# service's exposure (`systemd-analyze security --offline=true`) is <= 1.5.
source "$(dirname "$0")/lib.sh"
mkscratch

if ! command -v systemd-analyze >/dev/null; then
	not_ok "systemd-analyze is installed"
	exit 1
fi
SVC=$ROOT/units/deadlined.service
SOCK=$ROOT/units/deadlined.socket
check "deadlined.service exists" test -f "$SVC"
check "deadlined.socket exists" test -f "$SOCK"

# verify needs ExecStart's binary to exist, and resolves Documentation=man:
# pages: point both at this tree.
mkdir -p "$SCRATCH/u" "$SCRATCH/man/man8"
sed "s#/usr/local/bin/deadlined#$DEADLINED#g" "$SVC" >"$SCRATCH/u/deadlined.service"
cp "$SOCK" "$SCRATCH/u/deadlined.socket"
cp "$ROOT/man/deadlined.8" "$SCRATCH/man/man8/deadlined.8"
(cd "$SCRATCH/u" && MANPATH=$SCRATCH/man systemd-analyze verify ./deadlined.service ./deadlined.socket) \
	>"$SCRATCH/verify.out" 2>"$SCRATCH/verify.err"
check "systemd-analyze verify: nothing on stderr" test ! -s "$SCRATCH/verify.err"
sed 's/^/# /' "$SCRATCH/verify.err"

systemd-analyze security --offline=true --threshold=15 "$SCRATCH/u/deadlined.service" \
	>"$SCRATCH/sec.out" 2>&1
rc=$?
check "systemd-analyze security --threshold=15 passes" test $rc = 0
level=$(sed -n 's/.*Overall exposure level for deadlined.service: \([0-9.]*\).*/\1/p' "$SCRATCH/sec.out")
diag "exposure level: ${level:-?}"
check "exposure <= 1.5" $PY -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 1.5 else 1)' "${level:-99}"

# What the issue requires, line by line.
for line in 'Type=notify' \
	'ExecStart=/usr/local/bin/deadlined -c /etc/deadlined/deadlined.conf run' \
	'ExecReload=kill -HUP $MAINPID' 'WatchdogSec=30s' 'Restart=on-failure' 'DynamicUser=yes' \
	'StateDirectory=deadlined' 'ConfigurationDirectory=deadlined' 'ProtectSystem=strict' \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service' \
	'UMask=0077' 'PrivateUsers=yes' 'ProtectProc=invisible' 'ProcSubset=pid'; do
	check "service has $line" grep -qxF "$line" "$SVC"
done
check "service does not deny IP addresses (SMTP, webhooks)" bash -c "! grep -q '^IPAddressDeny=' '$SVC'"
check "socket listens on 127.0.0.1:8025" grep -qxF 'ListenStream=127.0.0.1:8025' "$SOCK"
