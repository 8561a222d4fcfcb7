#!/bin/sh
# Recordings and the audit log: an attach is recorded as asciicast that
# `asciinema cat` replays (the typed `echo $((6*7))` shows 42); `sessions
# --json` shows the audit entries of an exec (argv, status), a push (path,
# size, SHA-256) and a forward (target, bytes) of the same session; and
# with [recordings] retention_days = 1 a session closed two days ago loses
# its recordings when serve starts.
. "$(dirname "$0")/lib.sh"
requires asciinema:asciinema script:bsdutils tmux:tmux jq:jq sqlite3:sqlite3


setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
export QH_TECH="$T/alice.pem"
start_console

# A web server the forward reaches, allowed by the customer.
mkdir -p "$T/www"
head -c 100000 /dev/urandom >"$T/www/page.bin"
HTTP_PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$HTTP_PORT" \
    >"$T/http.log" 2>&1 &
PIDS="$PIDS $!"

TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"
qh-agent run --config "$T/agent" --yes --unattended \
    --allow-forward "127.0.0.1:$HTTP_PORT" </dev/null >"$T/agent.out" 2>"$T/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "expected the agent to show a session code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out" |
    head -n 1)

# 1. An attach, recorded by the console; asciinema replays it.
TM="tmux -S $T/tmux.sock"
at_exit '$TM kill-server'
$TM new-session -d -x 80 -y 24 \
    "qh-console attach $CODE; echo ATTACH-EXIT=\$?; sleep 60" || fail "expected tmux to start a session"
screen() { $TM capture-pane -p -J -S -100; }
wait_until "$TM capture-pane -p | grep -q 'attached to'" 30 || fail "expected 'attached to' on the screen: $(screen)"
$TM send-keys 'echo $((6*7))' Enter
wait_until "$TM capture-pane -p | grep -qx 42" 20 || fail "expected 42 on a line of its own after echo \$((6*7)): $(screen)"
$TM send-keys 'exit' Enter
wait_until "$TM capture-pane -p | grep -q 'ATTACH-EXIT=0'" 30 || fail "expected the attach to end with the shell's status: $(screen)"
CAST=$(ls "$STATE"/recordings/*/*-attach.cast 2>/dev/null | head -n 1)
[ -n "$CAST" ] || fail "no attach recording under $STATE/recordings"
head -n 1 "$CAST" | jq -e '.version == 2 and .quarterhour.technician == "alice" and
    .quarterhour.source == "relayed through the console"' >/dev/null ||
    fail "attach cast header: $(head -n 1 "$CAST")"
# asciinema cat wants a terminal: script gives it one (and a HOME of our own
# for the config directory it makes).
mkdir -p "$T/home"
HOME="$T/home" script -qc "asciinema cat '$CAST'" /dev/null </dev/null >"$T/replay.out" 2>&1 ||
    fail "asciinema cat failed: $(cat "$T/replay.out")"
# What a terminal shows: carriage returns and escape sequences do not count.
sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\r//g' "$T/replay.out" | grep -qx 42 ||
    fail "the replay lacks 42: $(cat -v "$T/replay.out")"

# 2. An exec, a push and a forward in the same session.
qh-console exec "$CODE" -- sh -c 'echo "a b"; exit 3' >"$T/exec.out" 2>"$T/exec.err"
rc=$?
[ "$rc" -eq 3 ] || fail "exec: exit $rc, want 3: $(cat "$T/exec.err")"

head -c 300000 /dev/urandom >"$T/payload.bin"
SIZE=$(stat -c %s "$T/payload.bin")
SUM=$(sha256sum "$T/payload.bin" | cut -d' ' -f1)
qh-console push "$CODE" "$T/payload.bin" "$T/pushed.bin" >"$T/push.out" 2>"$T/push.err" ||
    fail "push (awaits console/cmd_push.c): $(cat "$T/push.err")"
cmp -s "$T/payload.bin" "$T/pushed.bin" || fail "expected the pushed file to arrive unchanged"

LPORT=$(free_port)
qh-console forward "$CODE" "$LPORT:127.0.0.1:$HTTP_PORT" >"$T/forward.out" 2>"$T/forward.log" &
FWD=$!
PIDS="$PIDS $FWD"
wait_until "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $LPORT), 1)'" 20 ||
    fail "forward (awaits console/cmd_forward.c) does not listen: $(cat "$T/forward.log")"
python3 -c 'import sys, urllib.request
sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=20).read())' \
    "http://127.0.0.1:$LPORT/page.bin" >"$T/page.out" || fail "expected a fetch through the forward to succeed"
cmp -s "$T/www/page.bin" "$T/page.out" || fail "page through the forward differs"
kill -INT "$FWD"
wait_until "! kill -0 $FWD" 20 || fail "forward does not end on SIGINT"

qh-console sessions --json --state "$STATE" >"$T/sessions.json" 2>"$T/sessions.err" ||
    fail "sessions --json: $(cat "$T/sessions.err")"
jq -e 'length == 1' "$T/sessions.json" >/dev/null || fail "want one session: $(cat "$T/sessions.json")"
jq -e '.[0].audit | map(select(.command | startswith("exec ")))[0] |
    .detail.argv == ["sh", "-c", "echo \"a b\"; exit 3"] and .detail.status == 3 and
    .login == "alice" and .ended_at != null' "$T/sessions.json" >/dev/null ||
    fail "exec audit: $(jq -c '.[0].audit' "$T/sessions.json")"
jq -e --arg p "$T/pushed.bin" --argjson size "$SIZE" --arg sum "$SUM" \
    '.[0].audit | map(select(.command == "push " + $p))[0] |
    .detail.size == $size and .detail.sha256 == $sum' "$T/sessions.json" >/dev/null ||
    fail "push audit: $(jq -c '.[0].audit' "$T/sessions.json")"
# The forward's row names its target; its bytes are on it or on its connections' rows.
jq -e --arg t "127.0.0.1:$HTTP_PORT" '.[0].audit |
    (map(select(.command == "forward " + $t)) | length >= 1) and
    (map(select(.command == "forward " + $t or .command == "dial " + $t) |
    .detail.bytes_to_technician // 0) | add >= 100000)' "$T/sessions.json" >/dev/null ||
    fail "forward audit: $(jq -c '.[0].audit' "$T/sessions.json")"
jq -e '.[0].recordings | map(select(.kind == "attach" and .source == "relayed")) |
    length == 1' "$T/sessions.json" >/dev/null ||
    fail "recordings: $(jq -c '.[0].recordings' "$T/sessions.json")"
jq -e '.[0].technicians == ["alice"]' "$T/sessions.json" >/dev/null ||
    fail "technicians: $(jq -c '.[0].technicians' "$T/sessions.json")"
qh-console sessions --state "$STATE" --customer acme >"$T/sessions.txt" ||
    fail "expected sessions (text) to succeed"
grep -q "^session 1 " "$T/sessions.txt" || fail "expected session 1, relayed through the console, in: $(cat "$T/sessions.txt")"
grep -q "relayed through the console" "$T/sessions.txt" || fail "expected session 1, relayed through the console, in: $(cat "$T/sessions.txt")"
[ "$(qh-console sessions --json --customer nobody --state "$STATE")" = "[]" ] ||
    fail "expected only acme's sessions with --customer acme"

# 3. Retention: closed two days ago, kept one day: gone at the next start.
qh-console end "$CODE" >"$T/end.out" 2>&1 || fail "end: $(cat "$T/end.out")"
SID=$(jq -r '.[0].id' "$T/sessions.json")
wait_until "[ \"\$(sqlite3 '$STATE/ledger.db' 'SELECT closed_at IS NOT NULL FROM sessions WHERE id = $SID')\" = 1 ]" 20 ||
    fail "expected session $SID to be closed"
[ -d "$STATE/recordings/$SID" ] || fail "expected the recordings to stay until retention passes"
kill "$CONSOLE_PID"
wait_until "! kill -0 $CONSOLE_PID" 20 || fail "expected the console to stop"
sed -i 's/^retention_days *=.*/retention_days = 1/' "$STATE/console.conf"
grep -q '^retention_days = 1$' "$STATE/console.conf" || fail "no retention setting in console.conf"
sqlite3 "$STATE/ledger.db" "UPDATE sessions SET closed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 days') WHERE id = $SID" ||
    fail "expected sqlite3 to backdate the session"
start_console
wait_until "[ ! -d '$STATE/recordings/$SID' ]" 20 ||
    fail "recordings of session $SID kept past retention: $(ls "$STATE/recordings/$SID")"
qh-console sessions --json --state "$STATE" | jq -e '.[0].recordings == []' >/dev/null ||
    fail "sessions still lists removed recordings"
exit 0
