#!/usr/bin/env bash
# `deadlined check` on the bad-input catalogue: each tests/data/bad/NAME.conf
# names its expected diagnostic on its first line ("; expect: FILE:LINE: msg").
# check must exit 78 (EX_CONFIG) and print that line on stderr. The good
# configuration in tests/data/good must pass with a one-line summary.
source "$(dirname "$0")/lib.sh"
mkscratch

# Copy first: relative paths resolve against the config's directory, and
# git does not keep file modes, so the secrets get theirs here.
cp -r "$TESTS_DIR/data/bad" "$SCRATCH/bad"
cp -r "$TESTS_DIR/data/good" "$SCRATCH/good"
chmod 600 "$SCRATCH"/bad/*.token "$SCRATCH/good/school.token"
chmod 644 "$SCRATCH/bad/secret-perms.token"
# Over the roster limit without writing 600 MiB: a sparse file.
truncate -s 600M "$SCRATCH/bad/roster-too-big.csv"

for f in "$SCRATCH"/bad/*.conf; do
	name=$(basename "$f")
	# The BOM case carries its BOM before the comment.
	expect=$(head -n 1 "$f" | sed $'s/^\xef\xbb\xbf//; s/^; expect: //')
	err=$(cd "$SCRATCH/bad" && "$DEADLINED" -c "$name" check 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -eq 78 ] && printf '%s\n' "$err" | grep -qxF -- "$expect"; then
		ok "check $name: exit 78 with '$expect'"
	else
		not_ok "check $name: exit $rc (want 78) with '$expect'"
		printf '%s\n' "$err" | sed 's/^/#   /'
	fi
done

out=$(cd "$SCRATCH/good" && "$DEADLINED" -c deadlined.conf check 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -qF '3 people, 2 rules, 1 commitment, 2 feeds, 1 webhook,'; then
	ok "check good/deadlined.conf: exit 0, $out"
else
	not_ok "check good/deadlined.conf: exit $rc"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi

# The same good config with the token opened up is refused.
chmod 644 "$SCRATCH/good/school.token"
err=$(cd "$SCRATCH/good" && "$DEADLINED" -c deadlined.conf check 2>&1 >/dev/null)
rc=$?
check "check good/deadlined.conf with a 0644 token: exit 78" test "$rc" -eq 78
check "the 0644 token is named in the error" \
	grep -qxF "deadlined.conf:24: key 'token_file': school.token is readable by others; chmod 600 it" \
	<<<"$err"

# Under systemd the token comes from $CREDENTIALS_DIRECTORY (same base name),
# mode 0440 there, and the opened-up file beside the config is not read at all.
mkdir -m 700 "$SCRATCH/creds"
cp "$SCRATCH/good/school.token" "$SCRATCH/creds/school.token"
chmod 440 "$SCRATCH/creds/school.token"
out=$(cd "$SCRATCH/good" && CREDENTIALS_DIRECTORY="$SCRATCH/creds" "$DEADLINED" -c deadlined.conf check 2>&1)
check "check with the token as a 0440 credential: exit 0" test $? -eq 0
chmod 444 "$SCRATCH/creds/school.token"
err=$(cd "$SCRATCH/good" && CREDENTIALS_DIRECTORY="$SCRATCH/creds" "$DEADLINED" -c deadlined.conf check 2>&1 >/dev/null)
rc=$?
check "a credential others can read: exit 78" test "$rc" -eq 78
check "the credential is named in the error" \
	grep -qxF "deadlined.conf:24: key 'token_file': $SCRATCH/creds/school.token is readable by others; chmod o-rwx it" \
	<<<"$err"
