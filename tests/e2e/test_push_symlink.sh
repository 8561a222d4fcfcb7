#!/bin/sh
# push onto a symbolic link (issue 10, #13): without --force a link is an
# existing destination, dangling or not, and is left as it was (the agent
# looked with stat, so a dangling link was replaced); with --force the
# link itself is replaced by the file, and its target is not written.
. "$(dirname "$0")/lib.sh"

setup_session --yes
mkdir -p "$T/remote"
echo pushed >"$T/file"

ln -s "$T/remote/nowhere" "$T/remote/dangling"
timeout 30 qh-console push "$CODE" "$T/file" "$T/remote/dangling" >"$T/p1.out" 2>"$T/p1.err"
st=$?
[ "$st" -eq 1 ] || fail "push onto a dangling link exited $st"
expect_in "$T/p1.err" "$T/remote/dangling exists; use --force to overwrite"
[ -L "$T/remote/dangling" ] || fail "the dangling link was replaced"
[ "$(readlink "$T/remote/dangling")" = "$T/remote/nowhere" ] || fail "the link changed"
[ -e "$T/remote/nowhere" ] && fail "the push created the link's target"

echo target >"$T/remote/target"
ln -s "$T/remote/target" "$T/remote/link"
timeout 30 qh-console push "$CODE" "$T/file" "$T/remote/link" >"$T/p2.out" 2>"$T/p2.err"
st=$?
[ "$st" -eq 1 ] || fail "push onto a link to a file exited $st"
expect_in "$T/p2.err" "$T/remote/link exists; use --force to overwrite"

timeout 30 qh-console push --force "$CODE" "$T/file" "$T/remote/dangling" >"$T/p3.out" \
    2>"$T/p3.err" || fail "push --force onto a dangling link: $(cat "$T/p3.err")"
[ -L "$T/remote/dangling" ] && fail "push --force left the link"
[ "$(cat "$T/remote/dangling")" = pushed ] || fail "push --force wrote '$(cat "$T/remote/dangling")'"
[ -e "$T/remote/nowhere" ] && fail "push --force wrote through the link"
timeout 30 qh-console push --force "$CODE" "$T/file" "$T/remote/link" >/dev/null 2>"$T/p4.err" ||
    fail "push --force onto a link: $(cat "$T/p4.err")"
[ "$(cat "$T/remote/target")" = target ] || fail "push --force wrote through the link"
ls -A "$T/remote" | grep -q qh- && fail "temporary files left: $(ls -A "$T/remote")"
exit 0
