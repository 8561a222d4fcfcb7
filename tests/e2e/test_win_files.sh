#!/bin/sh
# push and pull with the Windows agent under Wine (issue 11): 16 MiB there
# and back arrive with the same SHA-256, to and from a folder with a space
# in its name, named with forward slashes and with backslashes; an
# existing destination is refused without --force and replaced with it; a
# device name (NUL), a stream (a:b) and a drive-relative path are refused
# with the reason; a missing file gives Windows' reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"
MIB=1048576

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

win_session
mkdir -p "$T/remote dir" "$T/local"
head -c $((16 * MIB)) /dev/urandom >"$T/local/big"
want=$(sha "$T/local/big")
fwd="Z:$T/remote dir/big file.bin"
back=$(winpath "$T/remote dir/big file.bin")

timeout 120 qh-console push "$CODE" "$T/local/big" "$fwd" >"$T/push.out" 2>"$T/push.err" ||
    fail "push: $(cat "$T/push.err")"
expect_in "$T/push.out" "pushed 16777216 bytes to $fwd (sha256 $want)"
[ "$(sha "$T/remote dir/big file.bin")" = "$want" ] || fail "the pushed file differs"
timeout 120 qh-console pull "$CODE" "$back" "$T/local/back" >"$T/pull.out" 2>"$T/pull.err" ||
    fail "pull: $(cat "$T/pull.err")"
expect_in "$T/pull.out" "pulled 16777216 bytes from"
[ "$(sha "$T/local/back")" = "$want" ] || fail "the pulled file differs"
ls -A "$T/remote dir" | grep -q qh- && fail "temporary files left: $(ls -A "$T/remote dir")"

# An existing destination: refused, then replaced with --force.
echo small >"$T/local/small"
timeout 60 qh-console push "$CODE" "$T/local/small" "$back" >/dev/null 2>"$T/e1"
[ $? -eq 1 ] || fail "push over an existing file was not refused"
expect_in "$T/e1" "exists; use --force to overwrite"
[ "$(sha "$T/remote dir/big file.bin")" = "$want" ] || fail "the refused push changed it"
timeout 60 qh-console push --force "$CODE" "$T/local/small" "$back" >/dev/null 2>"$T/e2" ||
    fail "push --force: $(cat "$T/e2")"
[ "$(cat "$T/remote dir/big file.bin")" = small ] || fail "push --force did not replace it"

# Names Windows would read as something else.
for bad in "C:/Users/nul.txt:names a device" "Z:$T/remote dir/a:b:allowed only after a drive" \
    "C:relative.txt:relative to a directory"; do
	path=${bad%:*}
	why=${bad##*:}
	timeout 60 qh-console push "$CODE" "$T/local/small" "$path" >/dev/null 2>"$T/e3"
	[ $? -eq 1 ] || fail "push to $path was not refused"
	expect_in "$T/e3" "$why"
done
timeout 60 qh-console pull "$CODE" "Z:$T/remote dir/nope" "$T/local/nope" >/dev/null 2>"$T/e4"
[ $? -eq 1 ] || fail "pull of a missing file did not fail"
grep -qi "no such file" "$T/e4" || fail "pull of a missing file: $(cat "$T/e4")"
[ -e "$T/local/nope" ] && fail "a failed pull left a file"
exit 0
