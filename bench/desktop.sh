#!/bin/sh
# Desktop figures of issue 12, measured the same way for ours and the anchor
# in one run, until `qh-console desktop` exists to put the tunnel in: the
# agent's RFB engine (tests/tools/qh-rfbserve) and x11vnc, both serving one
# Xvfb display at 1920x1080 directly on loopback, measured by
# tests/tools/qh-rfbwatch (ZRLE, CopyRect, Cursor):
#   - frames per second while a full-screen xterm scrolls line by line,
#   - the same while it scrolls as fast as it can (jump scroll),
#   - key to pixels (an 'x' typed into an idle xterm), p50 and p99.
# Prints "name: ours N, anchor M (...), ratio R" lines; higher fps and lower
# latency are better.
set -u
cd "$(dirname "$0")/.."
B=build/release/bin
for t in qh-rfbserve qh-rfbwatch; do
	[ -x "$B/$t" ] || { echo "run: make BUILD=build/release MODE_CFLAGS=-O2 tools" >&2; exit 1; }
done
T=$(mktemp -d /tmp/qh-bench-desktop.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT INT TERM

for n in $(seq 60 99); do
	if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then D=$n; break; fi
done
Xvfb ":$D" -screen 0 1920x1080x24 -noreset -nolisten tcp >"$T/xvfb.log" 2>&1 &
PIDS="$PIDS $!"
export DISPLAY=":$D"
i=0
while ! xdpyinfo >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "Xvfb did not start" >&2; exit 1; }; sleep 0.1
done

xterm_run() {	# command: a full-screen xterm running it
	[ -n "${XTERM:-}" ] && kill "$XTERM" 2>/dev/null
	xterm -geometry 318x82+0+0 -e sh -c "$1" >/dev/null 2>&1 &
	XTERM=$!
	PIDS="$PIDS $XTERM"
	sleep 2
}

# Runs qh-rfbwatch MODE against ours and x11vnc; sets OURS and ANCHOR.
measure() {	# mode args...
	mode=$1
	shift
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	$B/qh-rfbserve --port "$port" --control >"$T/ours.out" 2>"$T/ours.log" &
	PIDS="$PIDS $!"
	sleep 0.5
	OURS=$($B/qh-rfbwatch "127.0.0.1:$port" "$mode" "$@")
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	x11vnc -display "$DISPLAY" -rfbport "$port" -localhost -nopw -once -quiet \
	    >"$T/x11vnc.log" 2>&1 &
	PIDS="$PIDS $!"
	sleep 2.5
	ANCHOR=$($B/qh-rfbwatch "127.0.0.1:$port" "$mode" "$@")
}

ratio() {	# ours anchor
	python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2fx' % (a / b if b else 0))" "$1" "$2"
}

fps_line() {	# name
	o=$(echo "$OURS" | sed -n 's/^fps \([0-9.]*\).*/\1/p')
	a=$(echo "$ANCHOR" | sed -n 's/^fps \([0-9.]*\).*/\1/p')
	echo "$1: ours $o, anchor $a (x11vnc, direct on loopback), ratio $(ratio "$o" "$a")"
}

xterm_run 'i=0; while :; do i=$((i+1)); echo "line $i: the quick brown fox jumps over the lazy dog $i"; sleep 0.02; done'
measure fps --seconds 5
fps_line "desktop fps (line scroll)"
xterm_run 'while :; do cat /usr/share/common-licenses/GPL-3; done'
measure fps --seconds 5
fps_line "desktop fps (jump scroll)"
xterm_run 'PS1="$ " exec sh'
measure latency --count 30
for q in p50 p99; do
	o=$(echo "$OURS" | sed -n "s/.*$q \([0-9.]*\) ms.*/\1/p")
	a=$(echo "$ANCHOR" | sed -n "s/.*$q \([0-9.]*\) ms.*/\1/p")
	echo "desktop key to pixels $q: ours $o ms, anchor $a ms (x11vnc, direct on loopback), ratio $(ratio "$o" "$a")"
done
