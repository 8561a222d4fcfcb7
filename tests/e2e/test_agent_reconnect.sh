#!/bin/sh
# The agent keeps its place: when the console goes away it says so and
# retries with back-off; when the console is back it reconnects by itself
# with the same session code and takes commands again. A revoked agent is
# refused at its next connect and exits 1 instead of retrying.
. "$(dirname "$0")/lib.sh"

setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
export QH_TECH="$T/alice.pem"
start_console
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"

qh-agent run --config "$T/agent" --yes </dev/null >"$T/agent.out" 2>"$T/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "expected the agent to show a session code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

# The console dies; the agent notices and keeps trying.
kill -9 "$CONSOLE_PID"
wait "$CONSOLE_PID" 2>/dev/null
wait_until "grep -q 'connection lost; reconnecting in' '$T/agent.log'" 30 ||
    fail "agent did not notice the lost console"
wait_until "grep -q 'cannot connect to the console.*reconnecting in' '$T/agent.log'" 30 ||
    fail "expected the agent to retry the lost console"
kill -0 "$AGENT" || fail "expected the agent to keep retrying, not give up"

# Back: same code, and commands work again.
start_console
wait_until "[ \$(grep -c 'connected to 127.0.0.1:$PORT' '$T/agent.out') -ge 2 ]" 60 ||
    fail "expected the agent to reconnect once the console is back"
qh-console queue --json >"$T/queue.json" 2>"$T/queue.log" || fail "expected queue --json to succeed: $(cat "$T/queue.log")"
grep -q "\"code\":\"$CODE\"" "$T/queue.json" || fail "code changed: $(cat "$T/queue.json")"
out=$(timeout 60 qh-console exec "$CODE" -- echo back 2>>"$T/exec.log") ||
    fail "expected exec to succeed after the reconnect: $(tail -n 3 "$T/exec.log")"
[ "$out" = back ] || fail "exec after reconnect printed '$out'"

# Revoked: the next connect is refused and the agent exits 1.
ID=$(qh-console agents --json --state "$STATE" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)[0]["id"])') || fail "expected agents --json to list the agent"
qh-console agent revoke "$ID" --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected agent revoke to succeed: $(tail -n 3 "$T/admin.log")"
kill -9 "$CONSOLE_PID"
wait "$CONSOLE_PID" 2>/dev/null
start_console
wait_until "! kill -0 $AGENT" 60 || fail "expected the revoked agent to stop"
wait "$AGENT"
st=$?
[ "$st" -eq 1 ] || fail "revoked agent exited $st, want 1"
expect_in "$T/agent.log" "revoked"
exit 0
