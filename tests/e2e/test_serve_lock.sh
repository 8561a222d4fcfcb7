#!/bin/sh
# One serve per state directory (issue 10, #3): a second `qh-console serve`
# on a live state directory, on the same address or another, exits 1 with
# "another qh-console serve (pid N) holds STATE" and changes nothing: the
# live console's open session stays open and undebited (no crash recovery)
# and the live console goes on serving. Once it stops, serve starts again.
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3

setup_session
out=$(timeout 60 qh-console exec "$CODE" -- echo first 2>"$T/first.err") ||
    fail "the first command failed: $(cat "$T/first.err")"
[ "$out" = first ] || fail "the first command printed '$out'"
SESSION=$(sqlite3 "$STATE/ledger.db" "SELECT id FROM sessions WHERE closed_at IS NULL")
[ -n "$SESSION" ] || fail "no open session"
ENTRIES=$(sqlite3 "$STATE/ledger.db" "SELECT count(*) FROM ledger")
cp "$STATE/ledger.db" "$T/before.db"

# second NAME [ARGS]: a second serve on the live state exits 1 with the line.
second() {
	_n=$1
	shift
	timeout 30 qh-console serve --state "$STATE" "$@" >"$T/$_n.out" 2>"$T/$_n.err"
	_st=$?
	[ "$_st" -eq 1 ] || fail "$_n: a second serve exited $_st: $(cat "$T/$_n.err")"
	grep -q "another qh-console serve (pid $CONSOLE_PID) holds $STATE" "$T/$_n.err" ||
	    fail "$_n: stderr was '$(cat "$T/$_n.err")'"
	[ "$(grep -c . "$T/$_n.err")" -eq 1 ] || fail "$_n: want one line, got: $(cat "$T/$_n.err")"
}
second same
second other --listen "127.0.0.1:$(free_port)"

# Nothing changed: the session is open, undebited, the ledger as it was.
[ -z "$(sqlite3 "$STATE/ledger.db" "SELECT closed_at FROM sessions WHERE id = $SESSION")" ] ||
    fail "a second serve closed session $SESSION ($(sqlite3 "$STATE/ledger.db" \
	"SELECT close_reason FROM sessions WHERE id = $SESSION"))"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT count(*) FROM ledger")" = "$ENTRIES" ] ||
    fail "a second serve wrote to the ledger"
grep -q crash_recovery "$T/console.log" && fail "crash recovery ran"
out=$(timeout 60 qh-console exec "$CODE" -- echo still 2>"$T/still.err") ||
    fail "the live console stopped serving: $(cat "$T/still.err")"
[ "$out" = still ] || fail "the live console's command printed '$out'"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT id FROM sessions WHERE closed_at IS NULL")" = "$SESSION" ] ||
    fail "the session changed"

# The live console stops (closing the session, R4); the next serve starts.
kill "$CONSOLE_PID"
wait_until "! kill -0 $CONSOLE_PID" 30 || fail "the console did not stop"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT close_reason FROM sessions WHERE id = $SESSION")" = shutdown ] ||
    fail "session $SESSION was not closed at shutdown"
qh-console serve --state "$STATE" --log-level debug >"$T/console2.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "grep -q 'listening on' '$T/console2.log'" 30 ||
    fail "serve did not start after the first one stopped: $(cat "$T/console2.log")"
exit 0
