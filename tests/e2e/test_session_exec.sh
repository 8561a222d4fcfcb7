#!/bin/sh
# A customer enrols a PC and starts the agent; a technician finds it in the
# queue by its code and runs commands on it without a shell: output, exit
# status, stderr kept apart, 10 MiB of stdout and of stdin intact, a missing
# command, a signal. Ending the session makes the attended agent show the
# billable time and exit 0.
. "$(dirname "$0")/lib.sh"

setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
start_console
export QH_TECH="$T/alice.pem"

# Enrolment: the token is used once; the bundle is private.
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"
expect_in "$T/join.log" "enrolled as acme (ACME GmbH) with console 127.0.0.1:$PORT"
[ "$(stat -c %a "$T/agent")" = 700 ] || fail "expected the agent directory with mode 700, got $(stat -c %a "$T/agent")"
[ "$(stat -c %a "$T/agent/agent.pem")" = 600 ] || fail "expected agent.pem with mode 600, got $(stat -c %a "$T/agent/agent.pem")"
if qh-agent join "$TOKEN" --config "$T/agent" >"$T/join2.log" 2>&1; then
	fail "second join into the same directory succeeded"
fi
expect_in "$T/join2.log" "already enrolled"
if qh-agent join "$TOKEN" --config "$T/agent2" >"$T/join3.log" 2>&1; then
	fail "a used token was accepted"
fi
expect_in "$T/join3.log" "join refused"

# The agent dials out and shows its code.
qh-agent run --config "$T/agent" --yes </dev/null >"$T/agent.out" 2>"$T/agent.log" &
AGENT_PID=$!
PIDS="$PIDS $AGENT_PID"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "expected the agent to show a session code"
expect_in "$T/agent.out" "connected to 127.0.0.1:$PORT as acme (ACME GmbH)"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")
[ ${#CODE} -eq 6 ] || fail "expected a six-digit session code in agent.out: $(cat "$T/agent.out")"

qh-console queue --json >"$T/queue.json" 2>"$T/queue.log" || fail "expected queue --json to succeed: $(cat "$T/queue.log")"
python3 -c 'import json,sys
q = json.load(open(sys.argv[1]))
assert any(e["code"] == sys.argv[2] and e["customer"] == "acme" for e in q), q
' "$T/queue.json" "$CODE" || fail "queue --json does not list the agent"

x() {	# exec on the agent, bounded in time
	timeout 120 qh-console exec "$CODE" -- "$@"
}

out=$(x uname -s 2>>"$T/exec.log") || fail "expected exec uname -s to succeed"
[ "$out" = Linux ] || fail "expected uname -s to print Linux, it printed '$out'"
expect_in "$T/agent.out" "alice runs: uname -s"

x sh -c 'exit 3' 2>>"$T/exec.log"
st=$?
[ "$st" -eq 3 ] || fail "sh -c 'exit 3' exited $st, want 3"

x sh -c 'echo to-stdout; echo to-stderr >&2' >"$T/split.out" 2>"$T/split.err" ||
    fail "expected the exec writing to stderr to succeed: $(cat "$T/split.err")"
[ "$(cat "$T/split.out")" = to-stdout ] || fail "stdout was '$(cat "$T/split.out")'"
expect_in "$T/split.err" to-stderr
grep -q to-stderr "$T/split.out" && fail "expected stderr to stay on stderr, it arrived on stdout"

# 10 MiB each way, checked by hash.
head -c 10485760 /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
got=$(x cat "$T/big" 2>>"$T/exec.log" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "10 MiB of stdout arrived as $got, want $want"
got=$(x sha256sum <"$T/big" 2>>"$T/exec.log" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "10 MiB of stdin arrived as $got, want $want"
out=$(printf 'stdin reaches the remote command\n' | x cat 2>>"$T/exec.log")
[ "$out" = "stdin reaches the remote command" ] || fail "stdin: got '$out'"

x qh-no-such-command-here >"$T/missing.out" 2>"$T/missing.err"
st=$?
[ "$st" -eq 127 ] || fail "a missing command exited $st, want 127"
expect_in "$T/missing.err" "qh-no-such-command-here: No such file or directory"

# The agent ignores SIGPIPE and SIGTTIN; its commands must not inherit that.
out=$(x grep -E '^Sig(Ign|Blk):' /proc/self/status 2>>"$T/exec.log")
echo "$out" | grep -q '^SigIgn:[[:space:]]*0*$' || fail "command inherits ignored signals: $out"
echo "$out" | grep -q '^SigBlk:[[:space:]]*0*$' || fail "command inherits blocked signals: $out"

x sh -c 'kill -9 $$' 2>>"$T/exec.log"
st=$?
[ "$st" -eq 137 ] || fail "a command killed by SIGKILL exited $st, want 137"

# The technician ends the session; the attended agent shows it and exits 0.
qh-console end "$CODE" >"$T/end.out" 2>"$T/end.log" || fail "expected end to succeed: $(cat "$T/end.log")"
wait_until "grep -q 'billable time' '$T/agent.out'" 30 || fail "expected the agent to show the billable time: $(tail -n 3 "$T/agent.out")"
wait_until "! kill -0 $AGENT_PID" 20 || fail "attended agent did not exit"
wait "$AGENT_PID"
st=$?
[ "$st" -eq 0 ] || fail "agent exited $st, want 0"
exit 0
