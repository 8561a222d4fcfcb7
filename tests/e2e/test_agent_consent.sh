#!/bin/sh
# The customer decides who gets in. Without --yes and without a terminal a
# technician is refused. On a terminal the agent asks "Allow? [y/N]": "y"
# lets alice in (and she is not asked again), "n" keeps bob out. The
# customer ends the session with "q", or with Ctrl-C when the agent runs
# without a terminal; either way the agent shows the billable time and
# exits 0.
. "$(dirname "$0")/lib.sh"
requires tmux:tmux

setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
for t in alice bob; do
	qh-console tech add $t --name "Tech $t" --out "$T/$t.pem" --state "$STATE" \
	    >>"$T/admin.log" 2>&1 || fail "expected tech add $t to succeed"
done
start_console
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"

code_of() {	# file: the six digits of the last code shown
	sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$1" | tail -n 1
}

x() {	# tech code cmd...: exec as that technician, bounded in time
	_tech=$1 _code=$2
	shift 2
	timeout 60 qh-console exec "$_code" --tech "$T/$_tech.pem" -- "$@"
}

# 1. No --yes, no terminal: refused without asking.
qh-agent run --config "$T/agent" </dev/null >"$T/a1.out" 2>"$T/a1.log" &
A1=$!
PIDS="$PIDS $A1"
wait_until "grep -q 'session code' '$T/a1.out'" 30 || fail "agent 1 shows no code"
if x alice "$(code_of "$T/a1.out")" true >"$T/x1.out" 2>&1; then
	fail "a technician got in without consent"
fi
expect_in "$T/a1.out" "refused technician alice: no --yes and no terminal to ask"
# Ctrl-C with no session open: the agent simply leaves.
kill -INT $A1
wait_until "! kill -0 $A1" 10 || fail "expected agent 1 to exit on SIGINT within 10 s"
wait $A1 || fail "expected agent 1 to exit 0 after SIGINT, it exited $?"

# 2. On a terminal (tmux): the customer answers.
TM="tmux -S $T/tmux.sock"
$TM new-session -d -x 120 -y 30 \
    "qh-agent run --config '$T/agent' >'$T/a2.out' 2>'$T/a2.log'; echo \$? >'$T/a2.status'" ||
    fail "expected tmux to start a session"
at_exit '$TM kill-server'
wait_until "grep -q 'session code' '$T/a2.out'" 30 || fail "agent 2 shows no code"
CODE=$(code_of "$T/a2.out")

x alice "$CODE" echo alice-was-here >"$T/x2.out" 2>"$T/x2.log" &
X2=$!
wait_until "grep -q 'Tech alice (alice) wants to connect to this PC. Allow? \[y/N\]' '$T/a2.out'" 30 ||
    fail "agent did not ask about alice"
$TM send-keys y Enter
wait $X2 || fail "alice's command failed after consent"
expect_in "$T/x2.out" alice-was-here

x bob "$CODE" echo bob-was-here >"$T/x3.out" 2>"$T/x3.log" &
X3=$!
wait_until "grep -q 'Tech bob (bob) wants to connect' '$T/a2.out'" 30 || fail "agent did not ask about bob"
$TM send-keys n Enter
if wait $X3; then
	fail "bob got in though the customer said no"
fi
grep -q bob-was-here "$T/x3.out" && fail "expected bob's refused command not to run"

# Asked once per technician per session: alice goes straight in.
out=$(x alice "$CODE" echo again 2>>"$T/x2.log") || fail "expected alice's second command to succeed: $(tail -n 3 "$T/x2.log")"
[ "$out" = again ] || fail "alice's second command printed '$out'"
[ "$(grep -c 'Tech alice (alice) wants to connect' "$T/a2.out")" -eq 1 ] ||
    fail "expected alice to be asked once per session, not twice"

# "q" ends the session; the attended agent shows the debit and exits 0.
$TM send-keys q Enter
wait_until "grep -q 'billable time' '$T/a2.out'" 30 || fail "no billable time after q"
expect_in "$T/a2.out" "ending the session..."
wait_until "[ -s '$T/a2.status' ]" 20 || fail "agent 2 did not exit after q"
[ "$(cat "$T/a2.status")" = 0 ] || fail "agent 2 exited $(cat "$T/a2.status")"

# 3. Ctrl-C during a session (no terminal, --yes): the session is ended.
qh-agent run --config "$T/agent" --yes </dev/null >"$T/a3.out" 2>"$T/a3.log" &
A3=$!
PIDS="$PIDS $A3"
wait_until "grep -q 'session code' '$T/a3.out'" 30 || fail "agent 3 shows no code"
x alice "$(code_of "$T/a3.out")" true 2>>"$T/x2.log" || fail "expected an exec on agent 3 to succeed: $(tail -n 3 "$T/x2.log")"
expect_in "$T/a3.out" "Technician Tech alice (alice) connected (allowed by --yes)"
kill -INT $A3
wait_until "grep -q 'billable time' '$T/a3.out'" 30 || fail "no billable time after SIGINT"
expect_in "$T/a3.out" "ending the session..."
wait_until "! kill -0 $A3" 10 || fail "agent 3 did not exit"
wait $A3 || fail "expected agent 3 to exit 0, it exited $?"
exit 0
