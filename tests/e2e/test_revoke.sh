#!/bin/sh
# Revocation applies at once, not at the next connect (issue 10, #2): the
# console notices `tech revoke` and `agent revoke` within a second through
# the database, so a revoked technician's running exec ends and her open
# forward can open no more channels within 2 s, and a revoked agent's
# session closes with reason `revoked`, debited once, and it leaves the
# queue, connected or in its grace window. Also: a schema-1 database with
# sessions and their ledger rows migrates with every row kept.
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

# The migration first: a database at schema version 1 with a closed session
# and its (hand-made) ledger row, migrated by an admin command.
mkdir -p "$T/old"
qh-console init --state "$T/old" --name 127.0.0.1 --listen "127.0.0.1:$(free_port)" \
    >"$T/old-init.log" 2>&1 || fail "init old"
rm -f "$T/old/ledger.db"*
sqlite3 "$T/old/ledger.db" <"$ROOT/console/store/schema.sql" || fail "schema 1"
sqlite3 "$T/old/ledger.db" "PRAGMA journal_mode=WAL; PRAGMA user_version=1;
INSERT INTO customers (id, name, created_at) VALUES ('old', 'Old Co', '2024-01-01T00:00:00Z');
INSERT INTO agents (id, customer_id, enrolled_at) VALUES ('a-1', 'old', '2024-01-01T00:00:00Z');
INSERT INTO sessions (id, customer_id, agent_id, code, opened_at, closed_at, close_reason,
    billable_seconds, persisted_at, note)
    VALUES (7, 'old', 'a-1', '123456', '2024-01-02T10:00:00Z', '2024-01-02T10:20:00Z',
    'technician', 1200, '2024-01-02T10:20:00Z', 'kept');
INSERT INTO ledger (id, posted_at, customer_id, kind, units, balance_after, session_id,
    actor, idem_key, prev_hash, entry_hash)
    VALUES (1, '2024-01-02T10:20:00Z', 'old', 'session', -2, -2, 7, 'console',
    'session:7', 'x', 'y');" >/dev/null || fail "schema 1 rows"
chmod 600 "$T/old/ledger.db"
qh-console customer add new --name "New" --state "$T/old" >"$T/old-add.log" 2>&1 ||
    fail "migrating a schema-1 database: $(cat "$T/old-add.log")"
[ "$(sqlite3 "$T/old/ledger.db" 'PRAGMA user_version')" -ge 2 ] || fail "not migrated"
[ "$(sqlite3 "$T/old/ledger.db" "SELECT code || ' ' || close_reason || ' ' || billable_seconds || ' ' || note FROM sessions WHERE id = 7")" = "123456 technician 1200 kept" ] ||
    fail "the migration lost session 7's row"
[ -z "$(sqlite3 "$T/old/ledger.db" 'PRAGMA foreign_key_check')" ] ||
    fail "the migration broke a foreign key"
[ "$(sqlite3 "$T/old/ledger.db" "SELECT session_id FROM ledger WHERE id = 1")" = 7 ] ||
    fail "the ledger row lost its session"
sqlite3 "$T/old/ledger.db" "BEGIN; UPDATE sessions SET close_reason = 'revoked' WHERE id = 7; ROLLBACK;" ||
    fail "close_reason 'revoked' is not allowed after the migration"

setup_session
for t in bob carol; do
	qh-console tech add $t --name "Tech $t" --out "$T/$t.pem" --state "$STATE" \
	    >>"$T/admin.log" 2>&1 || fail "tech add $t"
done

# revoke_within SECONDS PID WHAT [ANY]: PID ends within SECONDS (not with 0 unless ANY).
revoke_within() {
	wait_until "! kill -0 $2" "$1" || fail "$3 still runs $1 s after the revocation"
	wait "$2"
	_st=$?
	[ "$_st" -ne 0 ] || [ $# -gt 3 ] || fail "$3 exited 0 after the revocation"
}

# 1. alice's running exec ends when she is revoked, and the remote command with it.
timeout 60 qh-console exec "$CODE" -- sh -c 'echo $$ >"$1"; exec sleep 1000' sh \
    "$T/remote.pid" >"$T/long.out" 2>"$T/long.err" &
X=$!
PIDS="$PIDS $X"
wait_until "[ -s '$T/remote.pid' ]" 30 || fail "alice's command did not start"
qh-console tech revoke alice --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech revoke alice"
revoke_within 3 "$X" "alice's exec"
grep -qi revoked "$T/long.err" || fail "alice was not told why: '$(cat "$T/long.err")'"
wait_until "! kill -0 $(cat "$T/remote.pid") 2>/dev/null" 10 || fail "the remote command still runs"
expect_in "$T/console.log" "technician alice: revoked while connected"

# 2. bob's forward works, then opens no channel once he is revoked.
LP=$(free_port)
qh-console forward "$CODE" "$LP:127.0.0.1:$PORT" --tech "$T/bob.pem" \
    >"$T/fwd.out" 2>"$T/fwd.err" &
F=$!
PIDS="$PIDS $F"
wait_until "grep -q '^forwarding' '$T/fwd.err'" 30 || fail "bob's forward did not start"
dial() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $LP), 5).close()"; }
dial || fail "bob's forward does not forward"
qh-console tech revoke bob --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech revoke bob"
revoke_within 3 "$F" "bob's forward"
dial 2>/dev/null && fail "bob's forward still takes connections after his revocation"

# 3. carol works on; then the agent is revoked: its session closes (revoked),
#    debited once, the agent is told and leaves the queue.
export QH_TECH="$T/carol.pem"
out=$(timeout 60 qh-console exec "$CODE" -- echo carol-here 2>"$T/carol.err") ||
    fail "carol's command failed: $(cat "$T/carol.err")"
[ "$out" = carol-here ] || fail "carol's command printed '$out'"
SESSION=$(sqlite3 "$STATE/ledger.db" "SELECT id FROM sessions WHERE closed_at IS NULL")
[ -n "$SESSION" ] || fail "no open session"
AGENT_ID=$(sqlite3 "$STATE/ledger.db" "SELECT agent_id FROM sessions WHERE id = $SESSION")
qh-console agent revoke "$AGENT_ID" --state "$STATE" >>"$T/admin.log" 2>&1 || fail "agent revoke"
# An attended agent ends with its session, showing the debit and the reason.
revoke_within 3 "$AGENT" "the revoked agent" any
grep -q "session $SESSION closed (this PC's access was revoked)" "$T/agent.out" ||
    fail "the customer was not shown why the session closed: $(cat "$T/agent.out")"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT close_reason FROM sessions WHERE id = $SESSION")" = revoked ] ||
    fail "session $SESSION was not closed with reason revoked"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT count(*) FROM ledger WHERE session_id = $SESSION")" = 1 ] ||
    fail "session $SESSION is not debited exactly once"
timeout 30 qh-console queue --json >"$T/queue.json" 2>"$T/queue.err" || fail "queue: $(cat "$T/queue.err")"
grep -q "$CODE" "$T/queue.json" && fail "the revoked agent is still in the queue"

# 4. An agent in its grace window (gone without a goodbye) leaves the queue too.
TOKEN2=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll 2"
qh-agent join "$TOKEN2" --config "$T/agent2" >"$T/join2.log" 2>&1 || fail "join 2"
qh-agent run --config "$T/agent2" --yes </dev/null >"$T/agent2.out" 2>"$T/agent2.log" &
A2=$!
PIDS="$PIDS $A2"
wait_until "grep -q 'session code' '$T/agent2.out'" 30 || fail "agent 2 shows no code"
CODE2=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent2.out")
kill -9 "$A2"
wait_until "grep -q 'connection lost; keeping its place' '$T/console.log'" 20 ||
    fail "the console did not see agent 2 go"
timeout 30 qh-console queue --json >"$T/queue2.json" 2>&1 || fail "queue 2"
grep -q "$CODE2" "$T/queue2.json" || fail "agent 2 is not in its grace window"
AGENT2_ID=$(sqlite3 "$STATE/ledger.db" "SELECT id FROM agents WHERE id <> '$AGENT_ID'")
qh-console agent revoke "$AGENT2_ID" --state "$STATE" >>"$T/admin.log" 2>&1 || fail "agent revoke 2"
wait_until "! timeout 30 qh-console queue --json | grep -q $CODE2" 3 ||
    fail "the revoked agent in its grace window is still in the queue"
timeout 60 qh-console verify --state "$STATE" >"$T/verify.log" 2>&1 || fail "verify: $(cat "$T/verify.log")"
exit 0
