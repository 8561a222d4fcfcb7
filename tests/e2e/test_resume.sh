#!/bin/sh
# Agents resume their TLS session (issue 16): after a cut the agent comes
# back with the TLS 1.3 ticket of its last connection and its resume token,
# keeps its code and takes commands again. A resumption checks revocation
# as a full connect does: an agent revoked while it was away is refused
# when it comes back with a ticket that is still valid, and exits 1.
. "$(dirname "$0")/lib.sh"
TOOLS="$(dirname "$0")/../tools"

setup_acme
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"

# The agent reaches the console through a proxy the test can cut.
PROXY_PORT=$(free_port)
python3 "$TOOLS/tcpproxy.py" "$PROXY_PORT" "$PORT" >"$T/proxy.log" 2>&1 &
PROXY=$!
PIDS="$PIDS $PROXY"
wait_until "grep -q ready '$T/proxy.log'" || fail "proxy did not start"
sed -i "1s/.*/# console: 127.0.0.1:$PROXY_PORT/" "$T/agent/agent.pem"
qh-agent run --config "$T/agent" --unattended </dev/null >"$T/agent.out" 2>"$T/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "agent shows no code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")
grep -q "resumed session" "$T/console.log" && fail "the first connect was a resumption"

# 1. A cut: the agent comes back with its ticket, same code, commands work.
kill -USR1 "$PROXY"
wait_until "grep -q 'connection lost' '$T/agent.log'" 30 || fail "agent did not notice the cut"
kill -USR2 "$PROXY"
wait_until "grep -q 'resumed session' '$T/console.log'" 30 ||
    fail "the agent did not resume its TLS session"
wait_until "grep -q 'reconnected' '$T/console.log'" 30 || fail "agent did not reconnect"
qh-console queue --json >"$T/queue.json" 2>"$T/queue.log" || fail "queue"
grep -q "\"code\":\"$CODE\"" "$T/queue.json" || fail "code changed: $(cat "$T/queue.json")"
out=$(timeout 60 qh-console exec "$CODE" -- echo back 2>>"$T/exec.log") ||
    fail "exec after a resumed connect"
[ "$out" = back ] || fail "exec after a resumed connect printed '$out'"

# 2. Revoked while away: the resumed connect is refused and the agent exits 1.
ID=$(qh-console agents --json --state "$STATE" | python3 -c \
    'import json,sys; print(json.load(sys.stdin)[0]["id"])') || fail "agents"
n=$(grep -c 'resumed session' "$T/console.log")
kill -USR1 "$PROXY"
wait_until "[ \$(grep -c 'connection lost' '$T/agent.log') -ge 2 ]" 30 ||
    fail "agent did not notice the second cut"
qh-console agent revoke "$ID" --state "$STATE" >>"$T/admin.log" 2>&1 || fail "revoke"
kill -USR2 "$PROXY"
wait_until "! kill -0 $AGENT" 60 || fail "revoked agent still runs"
wait "$AGENT"
st=$?
[ "$st" -eq 1 ] || fail "revoked agent exited $st"
expect_in "$T/agent.log" "revoked"
[ "$(grep -c 'resumed session' "$T/console.log")" -gt "$n" ] ||
    fail "the revoked agent's last connect was not a resumption"
expect_in "$T/console.log" "refused: this agent is revoked"
exit 0
