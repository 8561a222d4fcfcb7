#!/bin/sh
# Desktops that end without a picture (issue 12):
#  1. No viewer connects: the desktop ends by itself after 10 minutes (as
#     idle forwards do), before anything is asked or billed. `qh-console
#     desktop` runs under faketime x60, so its 10 minutes pass in about
#     10 s while console and agent keep real time. It says why, exits
#     non-zero, its port is closed, and no session was opened. It does not
#     end early: not before 8 real seconds (8 minutes on its clock).
#  2. A Wayland session (XDG_SESSION_TYPE=wayland, the view allowed in
#     advance): the agent refuses with the reason, which the technician
#     reads, and no byte reaches the viewer.
#  3. --listen on another address than loopback is refused, and a port
#     takes one viewer: a second connection finds it closed.
. "$(dirname "$0")/lib.sh"
requires faketime:faketime python3:python3

setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
export QH_TECH="$T/alice.pem"
start_console
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"
XDG_SESSION_TYPE=wayland DISPLAY=:99 qh-agent run --config "$T/agent" --unattended \
    --allow-desktop view </dev/null >"$T/agent.out" 2>"$T/agent.log" &
PIDS="$PIDS $!"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "expected the agent to show a code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

P=$(free_port)
START=$(date +%s)
faketime -f '+0 x60' qh-console desktop "$CODE" --no-viewer --listen "$P" \
    >"$T/desk.out" 2>"$T/desk.log" &
DESK=$!
PIDS="$PIDS $DESK"
wait_until "grep -q 'on 127.0.0.1:$P' '$T/desk.out'" 30 ||
    fail "expected desktop to print its address: $(cat "$T/desk.out" "$T/desk.log")"
wait_until "! running $DESK" 120 ||
    fail "expected the desktop without a viewer to end after 10 minutes (x60: 10 s)"
wait "$DESK"
ST=$?
ELAPSED=$(( $(date +%s) - START ))
[ "$ST" -ne 0 ] || fail "expected a non-zero exit when no viewer came"
[ "$ELAPSED" -ge 8 ] || fail "expected the desktop to wait 10 minutes, it ended after $ELAPSED s (x60)"
expect_in "$T/desk.log" "no viewer connected to 127.0.0.1:$P for 10 minutes; the desktop ends"
python3 -c "import socket; socket.create_connection(('127.0.0.1', $P), 2)" 2>/dev/null &&
    fail "expected the desktop's port to be closed"
grep -q 'session_open' "$T/console.log" && fail "expected no session for a desktop nobody viewed"
grep -q 'sees this screen' "$T/agent.out" && fail "expected the agent to serve no desktop"

# 2. Wayland: refused with the reason, nothing reaches the viewer.
P=$(free_port)
qh-console desktop "$CODE" --no-viewer --listen "$P" >"$T/wl.out" 2>"$T/wl.log" &
DESK=$!
PIDS="$PIDS $DESK"
wait_until "grep -q 'on 127.0.0.1:$P' '$T/wl.out'" 30 ||
    fail "expected desktop to print its address: $(cat "$T/wl.out" "$T/wl.log")"
python3 "$(dirname "$0")/../tools/rfbclient.py" count "127.0.0.1:$P" >"$T/count.out" 2>&1 ||
    fail "the counting client: $(cat "$T/count.out")"
[ "$(cat "$T/count.out")" = "bytes 0" ] ||
    fail "expected no byte from a Wayland session, got: $(cat "$T/count.out")"
wait_until "! running $DESK" 30 || fail "expected the refused desktop to end"
wait "$DESK" && fail "expected a non-zero exit for a refused desktop"
expect_in "$T/wl.log" "Wayland sessions cannot be shared; log in with an X11 session"

# 3. Loopback only; one viewer.
qh-console desktop "$CODE" --no-viewer --listen "0.0.0.0:$(free_port)" >"$T/any.out" 2>&1 &&
    fail "expected --listen 0.0.0.0:PORT to be refused"
expect_in "$T/any.out" "the desktop listens on 127.0.0.1 only"
P=$(free_port)
qh-console desktop "$CODE" --no-viewer --listen "$P" >"$T/one.out" 2>"$T/one.log" &
DESK=$!
PIDS="$PIDS $DESK"
wait_until "grep -q 'on 127.0.0.1:$P' '$T/one.out'" 30 ||
    fail "expected desktop to print its address: $(cat "$T/one.out" "$T/one.log")"
python3 - "$P" <<'PY' || fail "expected the port to take one viewer only"
import socket, sys, time
port = int(sys.argv[1])
first = socket.create_connection(("127.0.0.1", port), 5)
# The listener closes once the first viewer is taken: a second connect fails.
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port), 1)
        s.close()
        time.sleep(0.1)
    except OSError:
        sys.exit(0)
sys.exit(1)
PY
kill "$DESK" 2>/dev/null
echo "ok: no viewer for 10 minutes ends the desktop ($ELAPSED s at x60), nothing opened; Wayland refused with the reason; loopback only, one viewer"
