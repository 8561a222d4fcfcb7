# Shared helpers of the Windows end-to-end tests (test_win_*.sh), sourced
# after lib.sh: the agent is dist/qh-agent.exe (make windows) under Debian's
# Wine 8, against the Linux console of lib.sh on 127.0.0.1.
#
# All of them share one Wine prefix, kept outside the clone
# (${QH_WINEPREFIX:-~/.cache/quarterhour/wine}, as scripts/windows-smoke.sh
# uses it), booted once, set to Windows 10 once. A wineserver that stays
# 30 s after its last process carries it from one test to the next, so only
# the first Wine program of a run pays for Wine's start. Wine maps the
# Linux file system to drive Z:.
QH_ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver
EXE="$QH_ROOT/dist/qh-agent.exe"
UITOOL="$QH_ROOT/build/win/win_uitool.exe"
export WINEPREFIX="${QH_WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/quarterhour/wine}"
export WINEDEBUG=-all
unset DISPLAY

[ -x "$WINE" ] || fail "no $WINE: scripts/deps.sh installs wine64"
[ -f "$EXE" ] || fail "no $EXE: run make windows"

# Boots the prefix (once), makes it Windows 10 (once) and starts the
# lingering wineserver. Serialised: two tests never boot the prefix at once.
win_setup() {
	mkdir -p "$WINEPREFIX"
	# The server outlives the test: it must hold none of the test's files.
	"$WINESERVER" -p30 </dev/null >/dev/null 2>&1
	(
		flock 9
		if [ ! -f "$WINEPREFIX/.qh-booted" ]; then
			"$WINE" wineboot --init
			: >"$WINEPREFIX/.qh-booted"
		fi
		# ConPTY needs build 17763 (1809); a new prefix says Windows 7.
		if [ ! -f "$WINEPREFIX/.qh-win10" ]; then
			"$WINE" winecfg /v win10
			: >"$WINEPREFIX/.qh-win10"
		fi
	) 9>"$WINEPREFIX.lock" </dev/null >/dev/null 2>&1
}

# Wine on an Xvfb display of its own (start_xvfb). A
# wineserver started without a display has no window driver: a new one
# comes up with ours, and goes when the test ends. Xvfb has no window
# manager: Wine draws the frames and title bars itself.
win_display() {
	"$WINESERVER" -k </dev/null >/dev/null 2>&1
	at_exit '"$WINESERVER" -k </dev/null >/dev/null 2>&1'
	start_xvfb
	win_setup
	printf 'REGEDIT4\n\n[HKEY_CURRENT_USER\\Software\\Wine\\X11 Driver]\n"Managed"="N"\n' \
	    >"$T/x11.reg"
	"$WINE" regedit /S "$(winpath "$T/x11.reg")" </dev/null >/dev/null 2>&1
}

# The UI tool (tests/tools) under Wine: its output without carriage
# returns, its exit status.
UI() {
	"$WINE" "$UITOOL" "$@" </dev/null >"$T/ui.out" 2>>"$T/uitool.log"
	_st=$?
	tr -d '\r' <"$T/ui.out"
	return $_st
}

# frame_is_root LOG...: the test's `desktop NAME` (which sets ADDR and
# DESK) and one raw frame through it ($CLIENT, the RFB test client) until
# the frame equals xwd -root, at most six desktops (notepad's caret
# blinks); 0 once one did. The comparison's report is in $T/compare.log;
# the LOGs go with a failed snapshot.
frame_is_root() {
	for _try in 1 2 3 4 5 6; do
		desktop "view$_try"
		$CLIENT snap "$ADDR" "$T/view.ppm" --encodings raw,cursor >"$T/snap.log" 2>&1 ||
		    fail "the client took no frame: $(cat "$T/snap.log" "$T/view$_try.log" "$@")"
		root_ppm "$T/root.ppm"
		$CLIENT compare "$T/view.ppm" "$T/root.ppm" >"$T/compare.log" && return 0
		wait_until "! running $DESK" 30 || fail "desktop view$_try did not end"
	done
	return 1
}

# A Linux path as Wine names it: Z: and backslashes.
winpath() {
	printf 'Z:%s' "$(printf '%s' "$1" | tr / '\\')"
}

# Drops Windows' carriage returns from a file in place (not one still written to).
unix_text() {
	tr -d '\r' <"$1" >"$1.tmp" && mv "$1.tmp" "$1"
}

# The agent with arguments, output as it came (CRLF from its console).
wine_agent() {
	"$WINE" "$EXE" "$@"
}

# The common start: a console with customer acme and technician alice
# (lib.sh), the exe enrolled into $WINCONF (a path with a space) and
# running unattended with the given flags. Sets AGENT and CODE.
win_session() {
	win_setup
	setup_acme
	TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
	WINCONF="$T/agent config"
	wine_agent join "$TOKEN" --config "$(winpath "$WINCONF")" </dev/null \
	    >"$T/join.log" 2>&1 || fail "join under Wine: $(cat "$T/join.log")"
	unix_text "$T/join.log"
	expect_in "$T/join.log" "enrolled as acme (ACME GmbH) with console 127.0.0.1:$PORT"
	# Not through a function: $! must be the agent's own process.
	"$WINE" "$EXE" run --config "$(winpath "$WINCONF")" --unattended "$@" </dev/null \
	    >"$T/agent.out" 2>"$T/agent.log" &
	AGENT=$!
	PIDS="$PIDS $AGENT"
	wait_until "grep -q 'session code' '$T/agent.out'" 60 ||
	    fail "the agent under Wine shows no code"
	CODE=$(tr -d '\r' <"$T/agent.out" |
	    sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p')
	[ ${#CODE} -eq 6 ] || fail "no six-digit code in agent.out"
}
