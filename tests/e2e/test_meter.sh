#!/bin/sh
# The meter end to end on an accelerated clock (everything runs under one
# faketime x60: a minute passes in a second). A 10-minute session debits 1
# unit and a 16-minute one 2 (R1); two technicians overlapping bill their
# union (R2); an agent gap within the grace window keeps the session and is
# not billed, one past it closes the session as agent_lost (R11); a session
# nobody works in closes by the idle limit (R12); each is debited once and
# the balance matches the ledger (R3, R4).
if [ -z "${QH_UNDER_FAKETIME:-}" ]; then
	export QH_UNDER_FAKETIME=1
	exec faketime -f '+0 x60' sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3 faketime:faketime
TOOLS=$(cd "$(dirname "$0")/../tools" && pwd)

setup_console
sed -i "s/^grace = .*/grace = 150/; s/^idle = .*/idle = 300/" "$STATE/console.conf"
qh-console customer add acme --name "ACME GmbH" --state "$STATE" >"$T/admin.log" 2>&1 ||
    fail "expected customer add to succeed"
qh-console credit acme --hours 10 --ref T-1 --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "expected credit to succeed"
for who in alice bob; do
	qh-console tech add $who --name "Tech $who" --out "$T/$who.pem" --state "$STATE" \
	    >>"$T/admin.log" 2>&1 || fail "expected tech add $who to succeed"
done
start_console
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"

# The agent reaches the console through a proxy the test can cut.
PROXY_PORT=$(free_port)
python3 "$TOOLS/tcpproxy.py" "$PROXY_PORT" "$PORT" >"$T/proxy.log" 2>&1 &
PROXY=$!
PIDS="$PIDS $PROXY"
wait_until "grep -q ready '$T/proxy.log'" || fail "expected the proxy to start"
sed -i "1s/.*/# console: 127.0.0.1:$PROXY_PORT/" "$T/agent/agent.pem"
qh-agent run --config "$T/agent" --unattended </dev/null >"$T/agent.out" 2>"$T/agent.log" &
PIDS="$PIDS $!"
wait_until "grep -q 'session code' '$T/agent.out'" 60 || fail "expected the agent to show a session code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

q() { sqlite3 "$STATE/ledger.db" "$1"; }
as() { who=$1; shift; QH_TECH="$T/$who.pem" timeout 600 qh-console "$@"; }
last_session() { q "SELECT max(id) FROM sessions"; }
# session_units ID: the units its ledger entry debited (positive).
session_units() { q "SELECT -units FROM ledger WHERE session_id = $1"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }

# R1: 10 minutes -> 1 unit; 16 minutes -> 2 units.
as alice exec "$CODE" -- sleep 600 2>>"$T/exec.log" || fail "expected exec sleep 600 to succeed: $(tail -n 3 "$T/exec.log")"
as alice end "$CODE" >"$T/end1.out" 2>>"$T/exec.log" || fail "expected end to close session 1"
S1=$(last_session)
expect_eq "$(session_units "$S1")" 1 "10-minute session"
secs=$(q "SELECT billable_seconds FROM sessions WHERE id = $S1")
[ "$secs" -ge 600 ] && [ "$secs" -lt 660 ] || fail "10-minute session billed $secs s"
expect_in "$T/end1.out" "1 unit debited"

as alice exec "$CODE" -- sleep 960 2>>"$T/exec.log" || fail "expected exec sleep 960 to succeed: $(tail -n 3 "$T/exec.log")"
as alice end "$CODE" >"$T/end2.out" 2>>"$T/exec.log" || fail "expected end to close session 2"
S2=$(last_session)
expect_eq "$(session_units "$S2")" 2 "16-minute session"

# R2: alice 5 minutes, bob joins 2 minutes in for 5 minutes: the union, once.
as alice exec "$CODE" -- sleep 300 2>>"$T/exec.log" &
A=$!
sleep 120
as bob exec "$CODE" -- sleep 300 2>>"$T/exec.log" || fail "expected bob's exec to succeed: $(tail -n 3 "$T/exec.log")"
wait "$A" || fail "expected alice's exec to succeed: $(tail -n 3 "$T/exec.log")"
as alice end "$CODE" >"$T/end3.out" 2>>"$T/exec.log" || fail "expected end to close session 3"
S3=$(last_session)
union=$(python3 - "$STATE/ledger.db" "$S3" <<'PY'
import sqlite3, sys, datetime
db = sqlite3.connect(sys.argv[1])
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp()
iv = sorted((t(a), t(b)) for a, b in db.execute(
    "SELECT started_at, ended_at FROM session_events WHERE session_id = ? AND kind = 'attach'",
    (sys.argv[2],)))
logins = {r[0] for r in db.execute(
    "SELECT login FROM session_events WHERE session_id = ? AND kind = 'attach'", (sys.argv[2],))}
assert logins == {"alice", "bob"}, logins
total, cur = 0, None
for a, b in iv:
    if cur and a <= cur[1]:
        cur[1] = max(cur[1], b)
    else:
        if cur: total += cur[1] - cur[0]
        cur = [a, b]
total += cur[1] - cur[0]
# The two overlapped: their union is shorter than their sum. (Where bob's
# start falls depends on how fast each exec starts on the x60 clock: on a
# loaded machine alice's may start late, so the union is not exactly 420.)
both = sum(b - a for a, b in iv)
assert total < both - 60, ("no overlap", iv)
print(int(total))
PY
) || fail "session $S3 does not record both technicians overlapping: $union"
secs=$(q "SELECT billable_seconds FROM sessions WHERE id = $S3")
[ "$secs" -ge 300 ] && [ "$secs" -le 480 ] ||
    fail "overlap billed $secs s, want about 420 (at least one 300 s exec, at most 480)"
d=$((secs - union)); [ ${d#-} -le 3 ] || fail "billable $secs s is not the union $union s"
expect_eq "$(session_units "$S3")" 1 "overlapping session"

# R11: a gap within the grace window is the same session and is not billed.
as alice exec "$CODE" -- sleep 60 2>>"$T/exec.log" || fail "expected the exec before the gap to succeed: $(tail -n 3 "$T/exec.log")"
S4=$(last_session)
kill -USR1 "$PROXY"
wait_until "grep -q 'connection lost' '$T/agent.log'" 30 || fail "agent did not notice the cut"
sleep 60
kill -USR2 "$PROXY"
wait_until "[ \$(grep -c 'connected to' '$T/agent.out') -ge 2 ]" 60 || fail "expected the agent to connect again within 60 s"
as alice exec "$CODE" -- sleep 60 2>>"$T/exec.log" || fail "expected the exec after the gap to succeed: $(tail -n 3 "$T/exec.log")"
expect_eq "$(last_session)" "$S4" "session id after reconnecting"
as alice end "$CODE" >"$T/end4.out" 2>>"$T/exec.log" || fail "expected end to close session 4"
secs=$(q "SELECT billable_seconds FROM sessions WHERE id = $S4")
[ "$secs" -ge 120 ] && [ "$secs" -lt 160 ] || fail "gap session billed $secs s, want about 120"
expect_eq "$(q "SELECT count(*) FROM session_events WHERE session_id = $S4 AND kind = 'agent_gap'")" 1 \
    "agent gaps recorded"
expect_eq "$(session_units "$S4")" 1 "gap session"

# R11: past the window the session closes as agent_lost and is debited once.
as alice exec "$CODE" -- true 2>>"$T/exec.log" || fail "exec before the long gap"
S5=$(last_session)
kill -USR1 "$PROXY"
wait_until "[ \"\$(sqlite3 '$STATE/ledger.db' \"SELECT close_reason FROM sessions WHERE id = $S5\")\" = agent_lost ]" 900 ||
    fail "session $S5 not closed as agent_lost"
expect_eq "$(q "SELECT count(*) FROM ledger WHERE session_id = $S5")" 1 "agent_lost debits"
kill -USR2 "$PROXY"
wait_until "[ \$(grep -c 'connected to' '$T/agent.out') -ge 3 ]" 60 || fail "expected the agent to connect again within 60 s"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out" | tail -n 1)

# R12: nobody attached for the idle limit closes the session.
as alice exec "$CODE" -- true 2>>"$T/exec.log" || fail "expected the exec before idling to succeed: $(tail -n 3 "$T/exec.log")"
S6=$(last_session)
wait_until "[ \"\$(sqlite3 '$STATE/ledger.db' \"SELECT close_reason FROM sessions WHERE id = $S6\")\" = idle ]" 900 ||
    fail "session $S6 not closed by the idle limit"
expect_eq "$(q "SELECT count(*) FROM ledger WHERE session_id = $S6")" 1 "idle debits"

# R3/R4: every closed session has one entry, and the balance is the ledger's.
expect_eq "$(q "SELECT count(*) FROM sessions WHERE closed_at IS NOT NULL")" 6 "closed sessions"
expect_eq "$(q "SELECT count(DISTINCT session_id) FROM ledger WHERE session_id IS NOT NULL")" 6 "debited sessions"
bal=$(qh-console balance acme --json --state "$STATE" | python3 -c 'import json,sys; print(json.load(sys.stdin)["units"])')
expect_eq "$bal" "$(q "SELECT balance_after FROM ledger ORDER BY id DESC LIMIT 1")" "balance vs ledger"
expect_eq "$bal" "$(q "SELECT 40 + sum(units) FROM ledger WHERE kind = 'session'")" "balance vs debits"
qh-console verify --state "$STATE" >"$T/verify.log" 2>&1 || fail "expected verify to pass: $(cat "$T/verify.log")"
exit 0
