#!/bin/sh
# An agent that vanishes mid-command (stopped with SIGSTOP: its TCP
# connection stays up but goes silent) does not hang the technician: the
# console's keepalive gives up on it, and the technician's command ends
# with a message naming the lost agent and a non-zero exit within the
# keepalive timeout (at most 45 s). When the agent wakes up it comes back
# with the same code, and commands work again.
#
# Everything runs under one faketime x10 (the 45 s pass in about 5 s), so
# wait_until's limits and `date` count fake seconds here.
if [ -z "${QH_UNDER_FAKETIME:-}" ]; then
	export QH_UNDER_FAKETIME=1
	exec faketime -f '+0 x10' sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
requires faketime:faketime

setup_console
grep -Eq '^keepalive *= *15$' "$STATE/console.conf" ||
    fail "console.conf has no default keepalive of 15 s: $(grep keepalive "$STATE/console.conf")"
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
wait_until "grep -q 'session code' '$T/agent.out'" 300 || fail "expected the agent to show a session code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")
[ ${#CODE} -eq 6 ] || fail "expected a six-digit session code in agent.out: $(cat "$T/agent.out")"

# The remote command must not outlive the test, whatever happens.
at_exit 'kill -CONT $AGENT 2>/dev/null; [ -s "$T/remote.pid" ] && kill "$(cat "$T/remote.pid")" 2>/dev/null'

timeout 600 qh-console exec "$CODE" -- sh -c 'echo $$ >"$1"; echo started; exec sleep 1000' \
    sh "$T/remote.pid" >"$T/x.out" 2>"$T/x.err" &
X=$!
PIDS="$PIDS $X"
wait_until "grep -q started '$T/x.out'" 300 || fail "the command did not start: $(cat "$T/x.err")"

# The agent goes silent.
kill -STOP "$AGENT"
START=$(date +%s)
wait_until "! kill -0 $X" 120 || fail "the technician's command still runs 120 s after the agent vanished"
wait $X
st=$?
ELAPSED=$(($(date +%s) - START))
[ "$st" -ne 0 ] || fail "the technician's command exited 0 though the agent vanished"
[ "$st" -ne 124 ] || fail "expected the technician's command to end once the agent vanished; it hung"
[ "$ELAPSED" -le 60 ] || fail "the technician waited $ELAPSED s for the lost agent"
grep -Eqi "agent.*(lost|gone|vanished|not responding)|connection.*(lost|timed out)" "$T/x.err" ||
    fail "the technician was not told the agent was lost: '$(cat "$T/x.err")'"
grep -q 'connection lost' "$T/console.log" || fail "the console did not log the lost agent"

# The console still serves, and keeps the agent's place.
timeout 300 qh-console queue --json >"$T/queue.json" 2>"$T/queue.log" || fail "expected queue --json to succeed while the agent is away: $(cat "$T/queue.log")"
grep -q "\"code\":\"$CODE\"" "$T/queue.json" || fail "the agent's place is gone: $(cat "$T/queue.json")"

# The agent wakes up: it reconnects with the same code, its abandoned
# command is stopped, and commands work again.
kill -CONT "$AGENT"
wait_until "[ \$(grep -c 'connected to' '$T/agent.out') -ge 2 ]" 300 ||
    fail "the agent did not reconnect: $(tail -n 5 "$T/agent.log")"
wait_until "! kill -0 $(cat "$T/remote.pid") 2>/dev/null" 300 ||
    fail "the abandoned remote command still runs"
out=$(timeout 300 qh-console exec "$CODE" -- echo back 2>>"$T/exec.log") ||
    fail "exec after the agent came back: $(cat "$T/exec.log")"
[ "$out" = back ] || fail "exec after the agent came back printed '$out'"
exit 0
