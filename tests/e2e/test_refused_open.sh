#!/bin/sh
# A refused command costs nothing (issue 10, #6): with 50 ms of latency
# between console and agent, a push the agent refuses because the file
# exists and a forward refused by the customer's allow-list leave their
# sessions at 0 billable seconds and 0 units: attached time starts at the
# agent's OPEN_OK. The refusal is in the audit rows; an accepted command
# still bills.
. "$(dirname "$0")/lib.sh"
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)

setup_console
qh-console customer add acme --name "ACME GmbH" --state "$STATE" >"$T/admin.log" 2>&1 ||
    fail "customer add"
qh-console credit acme --hours 10 --ref T-1 --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "credit"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" --state "$STATE" \
    >>"$T/admin.log" 2>&1 || fail "tech add"
export QH_TECH="$T/alice.pem"
start_console
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"

# The agent reaches the console over a link with 50 ms each way.
PROXY_PORT=$(free_port)
python3 "$TOOLS/delayproxy.py" "$PROXY_PORT" "$PORT" 50 >"$T/proxy.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "grep -q ready '$T/proxy.log'" || fail "proxy did not start"
sed -i "1s/.*/# console: 127.0.0.1:$PROXY_PORT/" "$T/agent/agent.pem"
qh-agent run --config "$T/agent" --unattended --yes </dev/null >"$T/agent.out" \
    2>"$T/agent.log" &
PIDS="$PIDS $!"
wait_until "grep -q 'session code' '$T/agent.out'" 60 || fail "agent shows no code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

q() { sqlite3 "$STATE/ledger.db" "$1"; }
end_session() {	# ends the open session; prints its id
	timeout 60 qh-console end "$CODE" >>"$T/end.log" 2>&1 || fail "end"
	q "SELECT max(id) FROM sessions"
}
expect_billed() {	# SESSION SECONDS UNITS WHAT
	got="$(q "SELECT s.billable_seconds || ' ' || -l.units FROM sessions s JOIN ledger l ON l.session_id = s.id WHERE s.id = $1")"
	[ "$got" = "$2 $3" ] || fail "$4: session $1 billed '$got' (seconds units), want '$2 $3'"
}

# A push onto a file that exists: the agent refuses, nothing is billed.
echo local >"$T/local.txt"
echo remote >"$T/remote.txt"
timeout 60 qh-console push "$CODE" "$T/local.txt" "$T/remote.txt" >"$T/push.out" \
    2>"$T/push.err" && fail "a push onto an existing file succeeded"
expect_in "$T/push.err" "exists"
[ "$(cat "$T/remote.txt")" = remote ] || fail "the refused push changed the file"
S1=$(end_session)
expect_billed "$S1" 0 0 "refused push"

# A forward the customer did not allow: refused, nothing billed.
HP=$(free_port)
LP=$(free_port)
timeout 60 qh-console forward "$CODE" "$LP:127.0.0.3:$HP" >"$T/fwd.out" 2>"$T/fwd.err" &&
    fail "a forward to 127.0.0.3 was allowed"
expect_in "$T/fwd.err" "does not allow forwards to 127.0.0.3:$HP"
S2=$(end_session)
expect_billed "$S2" 0 0 "refused forward"

# The audit rows say what was refused; nobody was attached.
[ "$(q "SELECT count(*) FROM session_events WHERE session_id IN ($S1, $S2) AND kind = 'attach'")" = 0 ] ||
    fail "a refused command was recorded as attached"
[ "$(q "SELECT count(*) FROM session_events WHERE session_id IN ($S1, $S2) AND kind = 'refused' AND login = 'alice'")" = 2 ] ||
    fail "the refusals are not in the audit rows: $(q "SELECT * FROM session_events")"
q "SELECT detail FROM session_events WHERE session_id = $S1 AND kind = 'refused'" |
    grep -q exists || fail "the push's refusal does not say why"

# An accepted command is billed from the agent's answer on.
timeout 60 qh-console exec "$CODE" -- sleep 2 >>"$T/exec.log" 2>&1 || fail "exec"
S3=$(end_session)
secs=$(q "SELECT billable_seconds FROM sessions WHERE id = $S3")
[ "$secs" -ge 2 ] && [ "$secs" -le 4 ] || fail "a 2-second exec billed $secs s"
expect_billed "$S3" "$secs" 1 "exec"
qh-console verify --state "$STATE" >"$T/verify.log" 2>&1 || fail "verify: $(cat "$T/verify.log")"
echo "ok: refused commands bill nothing"
exit 0
