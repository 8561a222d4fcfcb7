#!/bin/sh
# File transfer (issue 5): push and pull of a 256 MiB file arrive with the
# same SHA-256 (on the sanitizer binaries of $QH_BIN) and keep their mode;
# an existing destination is refused without --force in both directions
# and replaced with it; a missing local file fails before anything is
# sent; a missing, directory or FIFO remote file gives the agent's error
# text and no local file; a progress bar shows on a terminal. A cut
# connection (the agent killed with SIGKILL mid-transfer) fails with 1 and
# leaves no file and no temporary file at the destination, pushed or
# pulled. A directory as LOCAL means "into it", as with cp and scp (the
# README's `pull CODE FILE .`). An agent that announces 10 bytes and sends
# 50 MiB (tests/tools/pull_liar.py), or sends before announcing, is cut
# off: exit 1, no file (issue 10, #13).
. "$(dirname "$0")/lib.sh"
requires script:bsdutils
MIB=1048576

setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
start_console
export QH_TECH="$T/alice.pem"
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"

# Starts the agent ($AGENT_PID) and reads its code ($CODE).
start_agent() {
	: >"$T/agent.out"
	qh-agent run --config "$T/agent" --yes </dev/null >"$T/agent.out" 2>>"$T/agent.log" &
	AGENT_PID=$!
	PIDS="$PIDS $AGENT_PID"
	wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "expected the agent to show a session code"
	CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")
}

# No file and no temporary file named after $2 in directory $1.
no_trace() {	# dir name what
	[ -e "$1/$2" ] && fail "$3: $1/$2 exists"
	if ls -A "$1" | grep -q "qh-"; then
		fail "$3: temporary files left in $1: $(ls -A "$1" | grep qh-)"
	fi
}

requests() {	# how many requests of kind $1 the console has seen
	grep -c "request $1" "$T/console.log"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

start_agent
mkdir -p "$T/remote" "$T/local"

# 256 MiB there and back, with its mode.
head -c $((256 * MIB)) /dev/urandom >"$T/local/big"
chmod 640 "$T/local/big"
want=$(sha "$T/local/big")
start=$(date +%s)
timeout 240 qh-console push "$CODE" "$T/local/big" "$T/remote/big" >"$T/push.out" \
    2>"$T/push.err" || fail "push: $(cat "$T/push.err")"
mid=$(date +%s)
expect_in "$T/push.out" "pushed 268435456 bytes to $T/remote/big (sha256 $want)"
[ "$(sha "$T/remote/big")" = "$want" ] || fail "the pushed file differs"
[ "$(stat -c %a "$T/remote/big")" = 640 ] || fail "expected the pushed file's mode 640, got $(stat -c %a "$T/remote/big")"
expect_in "$T/agent.out" "alice copies a file to this PC: $T/remote/big (256.0 MiB)"
chmod 604 "$T/remote/big"
timeout 240 qh-console pull "$CODE" "$T/remote/big" "$T/local/back" >"$T/pull.out" \
    2>"$T/pull.err" || fail "pull: $(cat "$T/pull.err")"
end=$(date +%s)
expect_in "$T/pull.out" "pulled 268435456 bytes from $T/remote/big (sha256 $want)"
[ "$(sha "$T/local/back")" = "$want" ] || fail "the pulled file differs"
[ "$(stat -c %a "$T/local/back")" = 604 ] || fail "expected the pulled file's mode 604, got $(stat -c %a "$T/local/back")"
echo "256 MiB pushed in $((mid - start)) s, pulled in $((end - mid)) s"
no_trace "$T/remote" nothing "after the push"
no_trace "$T/local" nothing "after the pull"

# An empty file, there and back.
: >"$T/local/empty"
timeout 60 qh-console push "$CODE" "$T/local/empty" "$T/remote/empty" >/dev/null \
    2>"$T/e0" || fail "push of an empty file: $(cat "$T/e0")"
timeout 60 qh-console pull "$CODE" "$T/remote/empty" "$T/local/empty.back" >/dev/null \
    2>"$T/e0" || fail "pull of an empty file: $(cat "$T/e0")"
[ -f "$T/remote/empty" ] && [ ! -s "$T/local/empty.back" ] || fail "expected an empty file at both ends: remote $(ls -l "$T/remote/empty" 2>&1), local $(ls -l "$T/local/empty.back" 2>&1)"

# An existing destination: refused both ways without --force, replaced with it.
echo small >"$T/local/small"
echo other >"$T/remote/small"
n=$(requests pull)
timeout 60 qh-console pull "$CODE" "$T/remote/small" "$T/local/small" >/dev/null 2>"$T/e1"
st=$?
[ "$st" -eq 1 ] || fail "pull over an existing file exited $st, want 1"
expect_in "$T/e1" "qh-console: $T/local/small exists; use --force to overwrite"
[ "$(cat "$T/local/small")" = small ] || fail "the refused pull changed LOCAL"
[ "$(requests pull)" = "$n" ] || fail "a pull refused locally reached the console"
timeout 60 qh-console push "$CODE" "$T/local/small" "$T/remote/small" >/dev/null 2>"$T/e2"
st=$?
[ "$st" -eq 1 ] || fail "push over an existing file exited $st, want 1"
expect_in "$T/e2" "qh-console: $T/remote/small exists; use --force to overwrite"
[ "$(cat "$T/remote/small")" = other ] || fail "the refused push changed REMOTE"
timeout 60 qh-console push "$CODE" "$T/local/small" "$T/remote/small" --force \
    >/dev/null 2>"$T/e3" || fail "push --force: $(cat "$T/e3")"
[ "$(cat "$T/remote/small")" = small ] || fail "push --force did not replace REMOTE"
echo changed >"$T/remote/small"
timeout 60 qh-console pull --force "$CODE" "$T/remote/small" "$T/local/small" \
    >/dev/null 2>"$T/e4" || fail "pull --force: $(cat "$T/e4")"
[ "$(cat "$T/local/small")" = changed ] || fail "pull --force did not replace LOCAL"
no_trace "$T/remote" nothing "after the refusals"
no_trace "$T/local" nothing "after the refusals"

# A missing local file: an error before anything is sent.
n=$(requests push)
timeout 60 qh-console push "$CODE" "$T/local/nope" "$T/remote/nope" >/dev/null 2>"$T/e5"
st=$?
[ "$st" -eq 1 ] || fail "push of a missing file exited $st, want 1"
expect_in "$T/e5" "qh-console: cannot read $T/local/nope: No such file or directory"
[ "$(requests push)" = "$n" ] || fail "a push of a missing file reached the console"
no_trace "$T/remote" nope "push of a missing file"

# Remote files that cannot be pulled: the agent's text, no local file.
mkfifo "$T/remote/fifo"
for r in "nope:No such file or directory" "fifo:not a regular file" ".:Is a directory"; do
	name=${r%%:*}
	text=${r#*:}
	timeout 60 qh-console pull "$CODE" "$T/remote/$name" "$T/local/got" >/dev/null \
	    2>"$T/e6"
	st=$?
	[ "$st" -eq 1 ] || fail "pull of $name exited $st, want 1"
	expect_in "$T/e6" "qh-console: $T/remote/$name: $text"
	no_trace "$T/local" got "pull of $name"
done
# A directory as LOCAL: the file goes into it under REMOTE's name.
mkdir -p "$T/local/into"
(cd "$T/local/into" && timeout 60 qh-console pull "$CODE" "$T/remote/small" .) \
    >"$T/into.out" 2>"$T/into.err" || fail "pull into '.': $(cat "$T/into.err")"
cmp -s "$T/local/into/small" "$T/remote/small" ||
    fail "pull into '.' should write $T/remote/small to $T/local/into/small; the directory holds: $(ls -A "$T/local/into")"
timeout 60 qh-console pull "$CODE" "$T/remote/small" "$T/local/into/" >/dev/null 2>"$T/into2.err"
st=$?
[ "$st" -eq 1 ] || fail "pull into a directory holding the name exited $st, want 1"
expect_in "$T/into2.err" "qh-console: $T/local/into/small exists; use --force to overwrite"
echo again >"$T/remote/small"
timeout 60 qh-console pull --force "$CODE" "$T/remote/small" "$T/local/into" >/dev/null \
    2>"$T/into3.err" || fail "pull --force into a directory: $(cat "$T/into3.err")"
[ "$(cat "$T/local/into/small")" = again ] || fail "pull --force into a directory did not replace the file"
timeout 60 qh-console pull "$CODE" "$T/remote/" "$T/local/into" >/dev/null 2>"$T/into4.err"
st=$?
[ "$st" -eq 1 ] || fail "pull of '$T/remote/' into a directory exited $st, want 1"
expect_in "$T/into4.err" "qh-console: $T/remote/ names no file to pull into $T/local/into"
[ "$(ls -A "$T/local/into")" = small ] ||
    fail "pulls into a directory left: $(ls -A "$T/local/into")"

# A push into a directory that is not there.
timeout 60 qh-console push "$CODE" "$T/local/small" "$T/remote/no/dir/x" >/dev/null 2>"$T/e7"
st=$?
[ "$st" -eq 1 ] || fail "push into a missing directory exited $st, want 1"
expect_in "$T/e7" "cannot write $T/remote/no/dir/x: No such file or directory"

# On a terminal: a progress bar on stderr, the summary line as always.
script -qec "qh-console push '$CODE' '$T/local/big' '$T/remote/tty'" /dev/null \
    >"$T/tty.out" 2>&1 || fail "push on a terminal: $(cat "$T/tty.out")"
grep -q "256.0 MiB / 256.0 MiB  100%" "$T/tty.out" || fail "no progress bar on a terminal"
expect_in "$T/tty.out" "pushed 268435456 bytes to $T/remote/tty"
timeout 60 qh-console push "$CODE" "$T/local/small" "$T/remote/pipe" >"$T/pipe.out" \
    2>"$T/pipe.err" || fail "push: $(cat "$T/pipe.err")"
grep -q "%" "$T/pipe.err" && fail "a progress bar went to a stderr that is no terminal"

# A cut connection mid-push: exit 1, nothing at the destination.
truncate -s 2G "$T/local/huge"
timeout 120 qh-console push "$CODE" "$T/local/huge" "$T/remote/huge" >/dev/null \
    2>"$T/cut1.err" &
PUSH_PID=$!
wait_until "grep -q 'copies a file to this PC: $T/remote/huge' '$T/agent.out'" 30 ||
    fail "the big push did not start"
sleep 1
kill -9 "$AGENT_PID"
wait "$PUSH_PID"
st=$?
[ "$st" -eq 1 ] || fail "a push cut off exited $st, want 1"
echo "push cut off: $(cat "$T/cut1.err" | tail -n 1)"
no_trace "$T/remote" huge "push cut off"

# A cut connection mid-pull: exit 1, nothing at the destination.
start_agent
timeout 120 qh-console pull "$CODE" "$T/local/huge" "$T/local/huge.back" >/dev/null \
    2>"$T/cut2.err" &
PULL_PID=$!
wait_until "grep -q 'copies a file from this PC: $T/local/huge' '$T/agent.out'" 30 ||
    fail "the big pull did not start"
sleep 1
kill -9 "$AGENT_PID"
wait "$PULL_PID"
st=$?
[ "$st" -eq 1 ] || fail "a pull cut off exited $st, want 1"
echo "pull cut off: $(cat "$T/cut2.err" | tail -n 1)"
no_trace "$T/local" huge.back "pull cut off"

# An agent that lies about a pull: announced 10 bytes, sends 50 MiB; sends
# before it announces. The technician stops at once and keeps nothing.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for lie in "10:$((50 * MIB)):more than the 10 bytes it announced for /etc/hostname" \
    "none:1000:data before announcing the file"; do
	announce=${lie%%:*}
	rest=${lie#*:}
	send=${rest%%:*}
	text=${rest#*:}
	# Files of their own: the shell truncates a reused one only once the
	# background child runs, after wait_until may have read the old code.
	LOUT=$T/liar.$announce.out
	LERR=$T/liar.$announce.err
	python3 "$ROOT/tests/tools/pull_liar.py" "$T/agent/agent.pem" "$PORT" \
	    "$ROOT/include/qh/wire.h" "$announce" "$send" >"$LOUT" 2>"$LERR" &
	LIAR=$!
	PIDS="$PIDS $LIAR"
	wait_until "grep -q '^code ' '$LOUT'" 30 ||
	    fail "the lying agent got no code: $(cat "$LOUT" "$LERR")"
	LCODE=$(sed -n 's/^code //p' "$LOUT")
	timeout 60 qh-console pull "$LCODE" /etc/hostname "$T/local/lied" >"$T/lie.out" \
	    2>"$T/lie.err"
	st=$?
	[ "$st" -eq 1 ] || fail "a pull of $send bytes announced as '$announce' exited $st, want 1: $(cat "$T/lie.err")"
	expect_in "$T/lie.err" "$text"
	no_trace "$T/local" lied "a lying agent's pull ($announce/$send)"
	wait "$LIAR" || fail "the lying agent failed: $(cat "$LERR")"
	if [ "$send" -gt $((4 * MIB)) ]; then
		grep -q "^cut off after" "$LOUT" ||
		    fail "the technician should stop the lying agent early; it says: $(cat "$LOUT")"
	fi
	echo "lying agent ($announce announced, $send sent): $(tail -n 1 "$LOUT")"
done
exit 0
