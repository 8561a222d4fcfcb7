#!/bin/sh
# The database held by another process (issue 10, #7). While an admin's
# transaction holds ledger.db's write lock for 8 s: relays keep moving (the
# console waits briefly for the lock and retries instead of stalling the
# loop for 5 s); `end --note` returns at once and the session stays
# "closing" until its close, reason and note included, is written once the
# lock is gone, debited exactly once; a command that has to open a new
# session waits for the database and then runs.
. "$(dirname "$0")/lib.sh"

setup_session --unattended --yes
qh-console credit acme --hours 10 --ref T-1 --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "credit"
q() { sqlite3 "$STATE/ledger.db" "$1"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$1" "$(now)"; }

# An echo server behind a forward: its round trips show whether relays move.
EP=$(free_port)
LP=$(free_port)
python3 -c '
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("ready", flush=True)
def echo(c):
    while True:
        d = c.recv(4096)
        if not d: break
        c.sendall(d)
while True:
    threading.Thread(target=echo, args=(s.accept()[0],), daemon=True).start()
' "$EP" >"$T/echo.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "grep -q ready '$T/echo.log'" || fail "echo server"
qh-console forward "$CODE" "$LP:127.0.0.1:$EP" >"$T/fwd.out" 2>"$T/fwd.err" &
PIDS="$PIDS $!"
wait_until "grep -q '^forwarding' '$T/fwd.err'" 30 || fail "no forwarding line"

# Another process takes the write lock and keeps it for 8 s.
python3 -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN IMMEDIATE"); print("locked", flush=True)
time.sleep(8); db.execute("COMMIT"); print("released", flush=True)
' "$STATE/ledger.db" >"$T/lock.log" 2>&1 &
LOCK=$!
PIDS="$PIDS $LOCK"
wait_until "grep -q locked '$T/lock.log'" || fail "lock"
LOCKED=$(now)

# Round trips through the forward for 3 s while a new command starts in the
# session (its audit row is a write that has to wait for the lock).
python3 -c '
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); c.settimeout(30)
worst, end = 0.0, time.monotonic() + 3
while time.monotonic() < end:
    t = time.monotonic(); c.sendall(b"x"); c.recv(1)
    worst = max(worst, time.monotonic() - t); time.sleep(0.05)
print(round(worst, 3))
' "$LP" >"$T/rtt.out" 2>"$T/rtt.err" &
RTT=$!
sleep 0.5
timeout 60 qh-console exec "$CODE" -- true >>"$T/exec.log" 2>&1 || fail "exec during the lock"
wait "$RTT" || fail "round trips: $(cat "$T/rtt.err")"
worst=$(cat "$T/rtt.out")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.5 else 1)" "$worst" ||
    fail "a relay stalled for $worst s behind another process's lock"

# end with a note while the lock is held: answered at once, written later.
START=$(now)
timeout 60 qh-console end "$CODE" --note "replaced the toner" >"$T/end.out" 2>"$T/end.err" ||
    fail "end during the lock: $(cat "$T/end.err")"
took=$(since "$START")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2 else 1)" "$took" ||
    fail "end took $took s"
expect_in "$T/end.out" "the debit is written as soon as"
grep -q released "$T/lock.log" && fail "the lock went before the test could use it (slow machine?)"
[ "$(q "SELECT count(*) FROM sessions WHERE closed_at IS NULL")" = 1 ] ||
    fail "the session's close was written through the lock"

# A new session's first command waits for the database instead of failing.
timeout 60 qh-console exec "$CODE" -- echo after >"$T/after.out" 2>"$T/after.err" ||
    fail "exec that opens a session during the lock: $(cat "$T/after.err")"
[ "$(cat "$T/after.out")" = after ] || fail "exec printed '$(cat "$T/after.out")'"
grep -q released "$T/lock.log" || fail "the session opened while the lock was held"

# Once the lock is gone the close is written: reason, note, one debit.
wait "$LOCK"
wait_until "[ \"\$(sqlite3 '$STATE/ledger.db' 'SELECT count(*) FROM ledger WHERE session_id = 1')\" = 1 ]" 40 ||
    fail "the pending close was never written"
[ "$(q "SELECT close_reason || '|' || note FROM sessions WHERE id = 1")" = \
    "technician|replaced the toner" ] ||
    fail "session 1 closed as '$(q "SELECT close_reason || '|' || note FROM sessions WHERE id = 1")'"
[ "$(q "SELECT note FROM ledger WHERE session_id = 1")" = "replaced the toner" ] ||
    fail "the debit lost the note"
expect_in "$T/console.log" "session 1: close (technician) written at attempt"
timeout 60 qh-console end "$CODE" >>"$T/end.log" 2>&1 || fail "end 2"
qh-console verify --state "$STATE" >"$T/verify.log" 2>&1 || fail "verify: $(cat "$T/verify.log")"
echo "ok: worst round trip $worst s during the lock; end answered in $took s"
exit 0
