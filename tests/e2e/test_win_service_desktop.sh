#!/bin/sh
# The desktop of the Windows service (issue 12), under Wine on an Xvfb
# display: a service has no screen of its own (session 0 on Windows), so
# for a desktop it starts qh-agent.exe as a helper in the user's session
# (`service desktop --handle N`) and relays the RFB stream over a pipe.
#  1. `service install --allow-desktop view`: the service connects, notepad
#     is on the screen, and `qh-console desktop CODE --no-viewer` opens the
#     port; while a viewer watches, one helper process runs, and it ends
#     when the viewer leaves.
#  2. The frame through the helper equals `xwd -root` pixel for pixel (in
#     one of a few tries: notepad's caret may blink).
#  3. A desktop of monitor 1 (Xvfb has one): the helper's reason reaches
#     the technician, and the helper ends.
#  4. --control is refused (the service allows viewing only), and no
#     helper starts for it.
# Not checked here (Wine has one session and always a user): the refusal
# when nobody is logged on, and that the helper runs in another session.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"
requires Xvfb:xvfb xwd:x11-apps convert:imagemagick python3:python3 pgrep:procps
CLIENT="python3 $(cd "$(dirname "$0")/../tools" && pwd)/rfbclient.py"

[ -f "$UITOOL" ] || fail "no $UITOOL: run make windows-tools"
C="$WINEPREFIX/drive_c"
uninstall() {
	"$WINE" "$EXE" service uninstall </dev/null >/dev/null 2>&1
	rm -rf "$C/ProgramData/quarterhour" "$C/Program Files/quarterhour"
}
# Uninstalled before Wine ends (win_display): an installed service would
# start with the next test's Wine.
at_exit 'uninstall'
win_display
# Wine's service manager, started by a program outside the agent's job
# (test_win_service.sh says why), before the agent's first call.
"$WINE" sc query quarterhour-agent </dev/null >/dev/null 2>&1
uninstall

helpers() {	# how many desktop helpers run
	pgrep -f 'qh-agent.exe service deskto[p] --handle' | wc -l
}
wait_helpers() {	# n seconds: 0 once n helpers run, within the seconds
	_t=0
	while [ "$(helpers)" -ne "$1" ]; do
		_t=$((_t + 1))
		[ $_t -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
}

# 1. The service, enrolled by `enroll --exe`, with desktops allowed for viewing.
setup_acme
qh-console enroll acme --exe "$T/server-agent.exe" --from "$EXE" --state "$STATE" \
    >/dev/null 2>>"$T/admin.log" || fail "enroll --exe"
"$WINE" "$T/server-agent.exe" service install --allow-desktop view </dev/null \
    >"$T/install.out" 2>&1 || fail "service install: $(cat "$T/install.out")"
unix_text "$T/install.out"
expect_in "$T/install.out" "service quarterhour-agent installed and started"
SLOG="$C/ProgramData/quarterhour/agent/service.log"
wait_until "qh-console queue --json | grep -q '\"customer\":\"acme\"'" 30 ||
    fail "the service's agent did not connect: $(cat "$SLOG")"
CODE=$(qh-console queue --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["code"])')

"$WINE" notepad </dev/null >"$T/notepad.log" 2>&1 &
PIDS="$PIDS $!"
UI wait Notepad "" 60 >/dev/null || fail "notepad's window did not appear"
[ "$(helpers)" -eq 0 ] || fail "a desktop helper runs before any desktop"

# Starts `qh-console desktop` on a free port; sets DESK (its pid) and ADDR.
desktop() {	# name [--control]
	_port=$(free_port)
	qh-console desktop "$CODE" ${2:-} --no-viewer --listen "$_port" \
	    >"$T/$1.out" 2>"$T/$1.log" &
	DESK=$!
	PIDS="$PIDS $DESK"
	wait_until "grep -q 'on 127.0.0.1:$_port' '$T/$1.out'" 30 ||
	    fail "desktop ($1) printed no address: $(cat "$T/$1.out" "$T/$1.log" "$SLOG")"
	ADDR=127.0.0.1:$_port
}

# While a viewer watches, one helper runs; it ends with the desktop.
desktop watch
$CLIENT hold "$ADDR" --seconds 60 >"$T/hold.out" 2>&1 &
VIEWER=$!
PIDS="$PIDS $VIEWER"
wait_helpers 1 30 ||
    fail "expected one desktop helper while the desktop is open, saw $(helpers): $(cat "$SLOG")"
# (The helper may show before the service's line about it is written.)
wait_until "grep -q 'desktop helper started in session' '$SLOG'" 10 ||
    fail "the service did not log its helper: $(cat "$SLOG")"
kill "$VIEWER"
wait_until "! running $DESK" 30 || fail "the desktop did not end when its viewer left"
wait_helpers 0 20 || fail "the desktop helper outlived its desktop"

# 2. The frame through the helper equals the X screen.
same=0
frame_is_root "$SLOG" && same=1
cat "$T/compare.log"
[ "$same" = 1 ] ||
    fail "expected the frame through the helper to equal xwd -root: $(cat "$T/compare.log")"
[ "$(grep -c "desktop helper started in session" "$SLOG")" -ge 2 ] ||
    fail "the frame did not come through a helper: $(cat "$SLOG")"

# 3. A monitor the PC lacks: the helper's reason reaches the technician.
wait_until "! running $DESK" 30 || fail "the desktop did not end after the snapshot"
wait_helpers 0 20 || fail "the desktop helper outlived its desktop"
desktop second "--screen 1"
$CLIENT snap "$ADDR" "$T/second.ppm" >"$T/second-snap.log" 2>&1 &&
    fail "a frame of monitor 1, which Xvfb does not have"
wait_until "! running $DESK" 30 || fail "the desktop of monitor 1 did not end"
expect_in "$T/second.log" "there is no monitor 1 (this PC has 1)"
wait_helpers 0 20 || fail "the helper without a monitor did not end"

# 4. Control is not the service's to give: refused before any helper starts.
desktop control --control
$CLIENT snap "$ADDR" "$T/control.ppm" >"$T/control-snap.log" 2>&1 &&
    fail "desktop --control showed a frame from a service that allows viewing only"
wait_until "! running $DESK" 30 || fail "the refused desktop did not end"
expect_in "$T/control.log" "declined control"
[ "$(helpers)" -eq 0 ] || fail "a helper started for a refused desktop"
echo "ok: the service's desktop through a helper equals xwd; the helper ends with it"
