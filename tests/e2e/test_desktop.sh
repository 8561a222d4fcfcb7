#!/bin/sh
# The customer's screen end to end (issue 12): console, agent and
# `qh-console desktop` under Xvfb, with an xterm showing a known pattern and
# the agent on a terminal (tmux) so that the customer answers.
#  1. Refused: "Alice Tech wants to SEE your screen" answered n: no byte of
#     RFB reaches the viewer, and the technician reads why.
#  2. View only: allowed once; the test client (Raw, Cursor) takes a frame
#     equal to `xwd -root` pixel for pixel; its keys change nothing. A second
#     desktop is not asked about again.
#  3. Control: "wants to CONTROL your mouse and keyboard" answered y; the
#     client types `echo ok > typed` + Return and the file appears; the
#     picture after the updates equals xwd. Then "c" on the customer's
#     terminal takes control back while a viewer watches: the technician
#     reads it, the audit row of the control ends, and the next --control
#     is asked about again. Between the two, the clipboard both ways: the
#     viewer's text becomes the display's CLIPBOARD (xclip reads it), and
#     what the customer copies (xclip) reaches the viewer.
#  4. vncsnapshot through the port writes an image of the screen's size.
#  5. The recordings: each desktop left EVENT-desktop.fbs and the viewer's
#     side beside it; replay gives a PNG equal to what the client saw, also
#     for the real viewer's; `sessions` lists them and the view and control
#     audit rows. With `customer set --record-desktop no` none is made.
#  6. `qh-agent ticket --screenshot` attaches a PNG of the screen.
#  7. The session ends while a viewer watches: the port closes, the viewer
#     is disconnected, and the attended agent exits.
. "$(dirname "$0")/lib.sh"
requires Xvfb:xvfb xdpyinfo:x11-utils xwininfo:x11-utils xwd:x11-apps xterm:xterm \
    tmux:tmux convert:imagemagick identify:imagemagick vncsnapshot:vncsnapshot \
    xclip:xclip python3:python3
CLIENT="python3 $(cd "$(dirname "$0")/../tools" && pwd)/rfbclient.py"
unset XDG_SESSION_TYPE

xvfb_xterm

# A console, customer acme, technician Alice Tech; the agent joins.
setup_acme
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"

# The agent on a terminal: --yes lets technicians connect, the screen is asked.
TM="tmux -S $T/tmux.sock"
$TM new-session -d -x 160 -y 40 \
    "DISPLAY=$DISPLAY qh-agent run --config '$T/agent' --yes >'$T/agent.out' 2>'$T/agent.log'; echo \$? >'$T/agent.status'" ||
    fail "tmux"
at_exit '$TM kill-server 2>/dev/null'
wait_code

# Starts `qh-console desktop` on a free port; sets DESK (pid) and ADDR.
desktop() {	# name flags...
	_name=$1
	shift
	_port=$(free_port)
	qh-console desktop "$CODE" --no-viewer --listen "$_port" "$@" \
	    >"$T/$_name.out" 2>"$T/$_name.log" &
	DESK=$!
	PIDS="$PIDS $DESK"
	wait_until "grep -q 'on 127.0.0.1:$_port' '$T/$_name.out'" 20 ||
	    fail "desktop ($_name) printed no address: $(cat "$T/$_name.out" "$T/$_name.log")"
	ADDR=127.0.0.1:$_port
}

# Waits for the n-th time the question is on the customer's terminal; answers.
answer() {	# text n y|n
	wait_until "[ \$(grep -c '$1' '$T/agent.out') -ge $2 ]" 30 ||
	    fail "the customer was not asked '$1' (time $2): $(tail -n 5 "$T/agent.out")"
	$TM send-keys "$3" Enter
}

# Waits for the desktop command to end with the given status.
desktop_ends() {	# name status
	wait_until "! kill -0 $DESK 2>/dev/null" 30 || fail "desktop ($1) did not end"
	wait "$DESK"
	_st=$?
	[ "$_st" -eq "$2" ] || fail "expected desktop ($1) to exit $2, not $_st: $(cat "$T/$1.log")"
}

# 1. Refused: nothing of the screen leaves the agent.
desktop refused
grep -q "desktop of ${CODE%???} ${CODE#???} on $ADDR (view only)" "$T/refused.out" ||
    fail "expected 'desktop of ... on $ADDR (view only)', got: $(cat "$T/refused.out")"
$CLIENT count "$ADDR" >"$T/count.out" 2>&1 &
COUNT=$!
answer "Alice Tech wants to SEE your screen (technician alice; it is recorded). Allow? \[y/N\]" 1 n
wait $COUNT || fail "the counting client failed: $(cat "$T/count.out")"
[ "$(cat "$T/count.out")" = "bytes 0" ] ||
    fail "expected no byte to reach the viewer, got: $(cat "$T/count.out")"
desktop_ends refused 1
expect_in "$T/refused.log" "the customer declined to show the screen"
grep -q "sees this screen" "$T/agent.out" && fail "the agent served a refused desktop"

# 2. View only: the frame equals the display; keys change nothing.
root_ppm "$T/before.ppm"
desktop view
$CLIENT type "$ADDR" "echo no > untyped" --enter --shift --pointer 300,200 \
    --out "$T/view.ppm" >"$T/client.log" 2>&1 &
VIEWER=$!
answer "Alice Tech wants to SEE your screen" 2 y
wait $VIEWER || fail "the test client failed: $(cat "$T/client.log")"
desktop_ends view 0
expect_in "$T/agent.out" "Allowed technician Alice Tech (alice) to see this screen."
expect_in "$T/agent.out" "alice sees this screen"
sleep 1
[ ! -e "$T/untyped" ] || fail "expected no file 'untyped' without --control"
root_ppm "$T/after.ppm"
$CLIENT compare "$T/before.ppm" "$T/after.ppm" ||
    fail "expected the screen unchanged by input without --control"
$CLIENT compare "$T/view.ppm" "$T/after.ppm" ||
    fail "expected the client's frame to equal xwd -root pixel for pixel"
# Asked once per technician and session: the next view goes straight in.
desktop view2
$CLIENT snap "$ADDR" "$T/view2.ppm" >"$T/client.log" 2>&1 ||
    fail "the second view: $(cat "$T/client.log")"
desktop_ends view2 0
[ "$(grep -c 'wants to SEE your screen' "$T/agent.out")" -eq 2 ] ||
    fail "expected the view to be asked about twice (n, then y), not again"

# 3. Control: the client types into the xterm.
desktop control --control
grep -q "(control)" "$T/control.out" || fail "expected '(control)': $(cat "$T/control.out")"
$CLIENT type "$ADDR" "echo ok > typed" --enter --shift --pointer 300,200 \
    --encodings zrle,copyrect,cursor --out "$T/typed.ppm" >"$T/client.log" 2>&1 &
VIEWER=$!
answer "Alice Tech wants to CONTROL your mouse and keyboard (technician alice; they see your screen too, and it is recorded). Allow? \[y/N\]" 1 y
wait $VIEWER || fail "the test client failed: $(cat "$T/client.log")"
desktop_ends control 0
wait_until "[ -s '$T/typed' ]" 10 || fail "expected 'typed' to appear with --control"
[ "$(cat "$T/typed")" = ok ] || fail "expected 'ok' in typed, got '$(cat "$T/typed")'"
root_ppm "$T/root.ppm"
$CLIENT compare "$T/typed.ppm" "$T/root.ppm" ||
    fail "expected the frame after the incremental updates to equal xwd -root"

# The clipboard both ways under control (consent given above): the
# viewer's text becomes the display's CLIPBOARD, and what the customer
# copies reaches the viewer.
desktop clip --control
$CLIENT clip "$ADDR" --send "qh from the viewer" --expect "qh from the customer" \
    --seconds 20 >"$T/clip.out" 2>&1 &
VIEWER=$!
wait_until "[ \"\$(xclip -o -selection clipboard 2>/dev/null)\" = 'qh from the viewer' ]" 20 ||
    fail "the viewer's clipboard did not reach the display: '$(xclip -o -selection clipboard 2>&1)'"
printf 'qh from the customer' | xclip -i -selection clipboard -loops 1 >/dev/null 2>&1 &
wait $VIEWER || fail "the viewer did not get the customer's clipboard: $(cat "$T/clip.out")"
desktop_ends clip 0

# The customer takes control back while a viewer watches.
desktop takeback --control
$CLIENT hold "$ADDR" --seconds 8 >"$T/hold.out" 2>&1 &
VIEWER=$!
wait_until "grep -c 'alice sees and controls this screen' '$T/agent.out' | grep -q 3" 20 ||
    fail "the second control desktop did not start"
expect_in "$T/agent.out" "type c and Enter to take control of your mouse and keyboard back"
$TM send-keys c Enter
wait_until "grep -q 'alice no longer controls this screen (still sees it)' '$T/agent.out'" 10 ||
    fail "the agent did not take control back"
wait_until "grep -q 'the customer took control back; you still see the screen' '$T/takeback.log'" 10 ||
    fail "the technician was not told: $(cat "$T/takeback.log")"
wait $VIEWER
desktop_ends takeback 0
# Control is asked about again; refused this time, so it is refused.
desktop again --control
$CLIENT count "$ADDR" >"$T/count.out" 2>&1 &
COUNT=$!
answer "wants to CONTROL your mouse" 2 n
wait $COUNT
desktop_ends again 1
expect_in "$T/again.log" "the customer declined control of the mouse and keyboard"

# 4. A real viewer: vncsnapshot gets an image of the screen's size.
desktop snapshot
timeout 60 vncsnapshot -quiet "127.0.0.1::${ADDR#127.0.0.1:}" "$T/snap.jpg" \
    >"$T/vncsnapshot.log" 2>&1 || fail "vncsnapshot failed"
desktop_ends snapshot 0
[ "$(identify -format '%wx%h' "$T/snap.jpg")" = 1024x768 ] ||
    fail "expected vncsnapshot's image to be 1024x768"

# 5. The recordings replay to what the viewer saw.
SESSION=$(ls "$STATE/recordings")
RECS="$STATE/recordings/$SESSION"
[ "$(ls "$RECS" | grep -c -- '-desktop\.fbs$')" -eq 6 ] ||
    fail "expected six desktop recordings (views, controls, clipboard, snapshot): $(ls "$RECS")"
[ "$(ls "$RECS" | grep -c -- '-desktop\.client\.fbs$')" -eq 6 ] ||
    fail "expected the viewer's side beside each: $(ls "$RECS")"
replay_check() {	# recording seen.ppm
	qh-console replay "$RECS/$1" --png-at 3600 "$T/rec.png" >"$T/replay.out" 2>&1 ||
	    fail "replay of $1 failed: $(cat "$T/replay.out")"
	grep -q "^1024x768 at 3600 s (.* updates, with the viewer's side)" "$T/replay.out" ||
	    fail "expected a 1024x768 replay with the viewer's side, got: $(cat "$T/replay.out")"
	[ -z "$2" ] && return
	convert "$T/rec.png" "$T/rec.ppm" || fail "convert could not read the replayed PNG"
	$CLIENT compare "$T/rec.ppm" "$2" ||
	    fail "expected the replay of $1 to equal what the client saw"
}
set -- $(ls "$RECS" | grep -- '-desktop\.fbs$' | sort -n)
replay_check "$1" "$T/view.ppm"
replay_check "$3" "$T/typed.ppm"
replay_check "$6" ""
qh-console replay "$RECS/${1%.fbs}.client.fbs" --png-at 1 "$T/x.png" >"$T/replay.out" 2>&1 &&
    fail "replay took the viewer's side as a recording"
expect_in "$T/replay.out" "is the viewer's side of a recording"
qh-console sessions --state "$STATE" --json >"$T/sessions.json" 2>>"$T/admin.log" ||
    fail "sessions"
python3 - "$T/sessions.json" <<'EOF' || fail "the audit log: $(cat "$T/sessions.json")"
import json, sys
s = json.load(open(sys.argv[1]))[0]
ev = [(e["command"], e.get("ended_at"), e.get("detail")) for e in s["audit"]]
views = [e for e in ev if e[0] == "desktop view"]
controls = [e for e in ev if e[0] == "desktop control"]
assert len(views) == 6 and all(e[1] for e in views), ev
assert len(controls) == 3 and all(e[1] for e in controls), ev
assert {c[2]["ended_by"] for c in controls} == {"end", "customer"}, controls
recs = [r for r in s["recordings"] if r["kind"] == "desktop"]
assert len(recs) == 6 and all(r["technician"] == "alice" for r in recs), s["recordings"]
EOF
# Recording forbidden: the next desktop leaves no file, and says so.
qh-console customer set acme --record-desktop no --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "customer set --record-desktop no"
desktop norec
$CLIENT snap "$ADDR" "$T/norec.ppm" >"$T/client.log" 2>&1 || fail "the unrecorded view"
desktop_ends norec 0
[ "$(ls "$RECS" | grep -c -- '-desktop\.fbs$')" -eq 6 ] ||
    fail "expected no recording with --record-desktop no: $(ls "$RECS")"
expect_in "$T/console.log" "desktop is not recorded (the customer forbids it)"
# The clipboard is part of control: a view moves it in neither direction.
SEEN=$(grep -c 'alice sees this screen' "$T/agent.out")
desktop viewclip
$CLIENT clip "$ADDR" --send "qh view only" --expect "qh customer secret" \
    --seconds 4 >"$T/viewclip.out" 2>&1 &
VIEWER=$!
wait_until "[ \$(grep -c 'alice sees this screen' '$T/agent.out') -gt $SEEN ]" 20 ||
    fail "the view for the clipboard did not start"
printf 'qh customer secret' | xclip -i -selection clipboard -loops 3 >/dev/null 2>&1 &
wait $VIEWER && fail "a view-only viewer got the customer's clipboard: $(cat "$T/viewclip.out")"
desktop_ends viewclip 0
[ "$(xclip -o -selection clipboard 2>/dev/null)" = "qh customer secret" ] ||
    fail "a view-only viewer's clipboard reached the display"

# 6. A ticket with a screenshot: a PNG of the screen, attached.
qh-agent ticket --config "$T/agent" --subject "the screen" --screenshot \
    >"$T/ticket.out" 2>"$T/ticket.log" || fail "ticket --screenshot: $(cat "$T/ticket.log")"
N=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/ticket.out")
[ -n "$N" ] || fail "no ticket number: $(cat "$T/ticket.out")"
expect_in "$T/ticket.out" "screenshot of the screen (1024x768) attached as screenshot-"
qh-console ticket show "$N" --json --state "$STATE" >"$T/show.json" 2>>"$T/admin.log" ||
    fail "ticket show"
SHOT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["attachments"][0]["name"])' \
    "$T/show.json") || fail "no attachment: $(cat "$T/show.json")"
qh-console ticket get "$N" "$SHOT" "$T/shot.png" --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "ticket get $SHOT"
[ "$(identify -format '%wx%h' "$T/shot.png")" = 1024x768 ] ||
    fail "expected the screenshot to be 1024x768"
ls "$T/agent" | grep -q screenshot && fail "the screenshot was left in the configuration directory"

# 7. The session ends under a watching viewer: port and viewer close.
SEEN=$(grep -c 'alice sees this screen' "$T/agent.out")
desktop last
$CLIENT hold "$ADDR" --seconds 60 >"$T/hold.out" 2>&1 &
VIEWER=$!
wait_until "[ \$(grep -c 'alice sees this screen' '$T/agent.out') -gt $SEEN ]" 20 ||
    fail "the last desktop did not start"
qh-console end "$CODE" >"$T/end.out" 2>>"$T/admin.log" || fail "end"
desktop_ends last 1
wait $VIEWER
grep -q "^closed after" "$T/hold.out" || fail "the viewer was not disconnected: $(cat "$T/hold.out")"
python3 -c "import socket; socket.create_connection(('127.0.0.1', ${ADDR#*:}), 2)" 2>/dev/null &&
    fail "the desktop's port is still open"
wait_until "[ -s '$T/agent.status' ]" 20 || fail "the attended agent did not exit"
expect_in "$T/agent.out" "alice no longer sees this screen"
echo "ok: refusal, view (frame equals xwd), control (typed), clipboard both ways (control only), take back, vncsnapshot, recordings replay, screenshot ticket, session end"
