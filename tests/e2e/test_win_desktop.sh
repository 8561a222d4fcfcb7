#!/bin/sh
# The customer's screen from the Windows agent (issue 12), under Wine on an
# Xvfb display: qh-agent.exe runs unattended with --allow-desktop control,
# Wine's notepad is on the screen, and `qh-console desktop CODE --control`
# opens the port.
#  1. The test client (Raw, Cursor) takes a frame through GDI capture: it
#     equals `xwd -root` pixel for pixel (in one of a few tries: the caret
#     blinks), and notepad's window is in it
#     (its rectangle as Windows reports it is mostly white, the Xvfb root
#     around it is not).
#  2. Control: the client clicks into notepad and types a line through
#     SendInput; notepad's edit control then holds it (read with
#     WM_GETTEXT). (Its caret blinks from then on: the screen is never
#     still, so no second comparison with xwd.)
#  3. The session ends: the port closes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"
requires Xvfb:xvfb xwd:x11-apps convert:imagemagick python3:python3
CLIENT="python3 $(cd "$(dirname "$0")/../tools" && pwd)/rfbclient.py"

command -v Xvfb >/dev/null || fail "no Xvfb: scripts/deps.sh installs xvfb"
[ -f "$UITOOL" ] || fail "no $UITOOL: run make windows-tools"
win_display
win_session --allow-desktop control
"$WINE" notepad </dev/null >"$T/notepad.log" 2>&1 &
PIDS="$PIDS $!"
UI wait Notepad "" 60 >/dev/null || fail "notepad's window did not appear"
set -- $(UI rect Notepad)
[ $# -eq 4 ] || fail "no rectangle for notepad's window"
NX=$1 NY=$2 NW=$3 NH=$4

# Starts `qh-console desktop --control` on a free port (one viewer each);
# sets DESK (its pid) and ADDR.
desktop() {	# name
	_port=$(free_port)
	qh-console desktop "$CODE" --control --no-viewer --listen "$_port" \
	    >"$T/$1.out" 2>"$T/$1.log" &
	DESK=$!
	PIDS="$PIDS $DESK"
	wait_until "grep -q 'on 127.0.0.1:$_port' '$T/$1.out'" 30 ||
	    fail "desktop ($1) printed no address: $(cat "$T/$1.out" "$T/$1.log")"
	expect_in "$T/$1.out" "desktop of ${CODE%???} ${CODE#???} on 127.0.0.1:$_port (control)"
	ADDR=127.0.0.1:$_port
}

# 1. The frame equals the X screen, notepad included. The screen is still
# while nothing is typed: the frame and xwd are taken one after the other.
# Notepad's caret may blink already: a frame and xwd taken in different
# phases differ by it, so each try takes a new pair (one desktop each).
same=0
frame_is_root "$T/agent.log" && same=1
cat "$T/compare.log"
[ "$same" = 1 ] ||
    fail "expected the frame from GDI capture to equal xwd -root pixel for pixel: $(cat "$T/compare.log")"
python3 - "$T/view.ppm" "$NX" "$NY" "$NW" "$NH" <<'PY' || fail "notepad is not in the frame"
import sys
data = open(sys.argv[1], "rb").read()
# Binary PPM: P6, width, height, maxval, then RGB.
parts = data.split(maxsplit=4)
w, h, px = int(parts[1]), int(parts[2]), parts[4]
x0, y0, nw, nh = (int(v) for v in sys.argv[2:6])
def white(x, y):
    i = (y * w + x) * 3
    return px[i:i + 3] == b"\xff\xff\xff"
inside = [white(x, y) for y in range(max(y0, 0), min(y0 + nh, h), 4)
          for x in range(max(x0, 0), min(x0 + nw, w), 4)]
outside = [white(x, y) for y in range(0, h, 8) for x in range(0, w, 8)
           if not (x0 <= x < x0 + nw and y0 <= y < y0 + nh)]
fi = sum(inside) / max(len(inside), 1)
fo = sum(outside) / max(len(outside), 1)
print("white inside notepad %.2f, outside %.2f" % (fi, fo))
sys.exit(0 if fi > 0.5 and fo < 0.2 else 1)
PY

# 2. Control: a click into notepad's text, then a line typed through SendInput.
desktop type
$CLIENT type "$ADDR" "hello from rfb 42" --shift \
    --pointer "$((NX + NW / 2)),$((NY + NH / 2))" --click --settle-max 3 \
    >"$T/type.log" 2>&1 || fail "the client could not type: $(cat "$T/type.log")"
edit_has() {	# text: notepad's text has it, within 30 tries
	_n=0
	while [ $_n -lt 30 ]; do
		UI edit Notepad | grep -q "$1" && return 0
		_n=$((_n + 1))
		sleep 0.5
	done
	return 1
}
edit_has 'hello from rfb 42' ||
    fail "notepad did not get the typed text: $(UI edit Notepad; cat "$T/agent.log")"

# 3. The session ends under a watching viewer: the port closes.
SEEN=$(tr -d '\r' <"$T/agent.out" | grep -c 'sees and controls this screen')
desktop last
$CLIENT hold "$ADDR" --seconds 60 >"$T/hold.out" 2>&1 &
VIEWER=$!
wait_until "[ \$(tr -d '\\r' <'$T/agent.out' | grep -c 'sees and controls this screen') -gt $SEEN ]" 30 ||
    fail "the last desktop did not start: $(cat "$T/agent.out")"
qh-console end "$CODE" >"$T/end.out" 2>&1 || fail "end: $(cat "$T/end.out")"
wait_until "! kill -0 $DESK 2>/dev/null" 30 || fail "qh-console desktop did not end"
wait $VIEWER
grep -q "^closed after" "$T/hold.out" || fail "the viewer was not disconnected: $(cat "$T/hold.out")"
python3 -c "import socket; socket.create_connection(('127.0.0.1', ${ADDR#*:}), 2)" 2>/dev/null &&
    fail "the desktop's port is still open"
echo "ok: GDI frame equals xwd (notepad shown), SendInput typed into notepad, session end"
