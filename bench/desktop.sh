#!/bin/sh
# The desktop against its anchor (issue 12), in one run on loopback, both
# serving one Xvfb display at 1920x1080 and measured by
# tests/tools/qh-rfbwatch (ZRLE, CopyRect, Cursor):
#   (a) the anchor, what an administrator would do by hand: x11vnc on the
#       display, reached through an OpenSSH two-hop tunnel (a throwaway
#       sshd, `ssh -R` as the customer side, `ssh -L` as the technician's,
#       aes128-gcm@openssh.com), as bench/tunnel.sh builds it;
#   (b) ours: `qh-console desktop CODE --control` through console and
#       agent (unattended, --allow-desktop control), a new one for each
#       measurement since it takes one viewer.
# Figures: frames per second while a full-screen xterm scrolls line by line
# (and, as a second line, as fast as it can), and key to pixels (an 'x'
# typed into an idle xterm) p50 and p99. Prints "name: ours N, anchor M
# (...), ratio R" lines; higher fps and lower latency are better.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
B=build/release/bin
BIN="$ROOT/$B"
[ -x "$B/qh-rfbwatch" ] || { echo "run: make BUILD=build/release MODE_CFLAGS=-O2 tools" >&2; exit 1; }
T=$(mktemp -d /tmp/qh-bench-desktop.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {	# port
	i=0
	until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "bench: port $1 never opened" >&2; exit 1; }
		sleep 0.1
	done
}

Xvfb -displayfd 3 -screen 0 1920x1080x24 -noreset -nolisten tcp 3>"$T/display" \
    </dev/null >"$T/xvfb.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until [ -s "$T/display" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "Xvfb did not start" >&2; exit 1; }; sleep 0.1
done
export DISPLAY=":$(cat "$T/display")"
unset XDG_SESSION_TYPE
i=0
while ! xdpyinfo >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "Xvfb did not start" >&2; exit 1; }; sleep 0.1
done

# (a) x11vnc over the OpenSSH two-hop.
VNC=$(port)
x11vnc -display "$DISPLAY" -rfbport "$VNC" -localhost -nopw -forever -shared -quiet \
    >"$T/x11vnc.log" 2>&1 &
PIDS="$PIDS $!"
wait_port "$VNC"
mkdir -p "$T/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host" && ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/id"
cp "$T/ssh/id.pub" "$T/ssh/authorized_keys"
SSHD=$(port)
cat >"$T/ssh/sshd_config" <<EOC
ListenAddress 127.0.0.1
Port $SSHD
HostKey $T/ssh/host
AuthorizedKeysFile $T/ssh/authorized_keys
PidFile $T/ssh/sshd.pid
UsePAM no
PermitRootLogin yes
StrictModes no
AllowTcpForwarding yes
GatewayPorts no
Ciphers aes128-gcm@openssh.com
EOC
/usr/sbin/sshd -D -f "$T/ssh/sshd_config" 2>"$T/ssh/sshd.log" &
PIDS="$PIDS $!"
wait_port "$SSHD"
SSHOPTS="-q -N -p $SSHD -i $T/ssh/id -c aes128-gcm@openssh.com -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes"
R_VNC=$(port); L_VNC=$(port)
# shellcheck disable=SC2086
ssh $SSHOPTS -R "$R_VNC:127.0.0.1:$VNC" "$(id -un)@127.0.0.1" &
PIDS="$PIDS $!"
wait_port "$R_VNC"
# shellcheck disable=SC2086
ssh $SSHOPTS -L "$L_VNC:127.0.0.1:$R_VNC" "$(id -un)@127.0.0.1" &
PIDS="$PIDS $!"
wait_port "$L_VNC"

# (b) quarterhour: console, agent on the display, technician desktops.
export QH_STATE="$T/state" QH_TECH="$T/tech.pem" QH_AGENT="$T/agent"
CP=$(port)
"$BIN/qh-console" init --name 127.0.0.1 --listen "127.0.0.1:$CP" >/dev/null 2>&1
# Recording is part of ours, as it is in production.
"$BIN/qh-console" serve --log-level warn 2>"$T/console.log" &
PIDS="$PIDS $!"
wait_port "$CP"
"$BIN/qh-console" tech add bench --name Bench --out "$QH_TECH" >/dev/null
"$BIN/qh-console" customer add acme --name ACME --overdraft-units 1000 >/dev/null
"$BIN/qh-agent" join "$("$BIN/qh-console" enroll acme 2>/dev/null)" >/dev/null
"$BIN/qh-agent" run --unattended --allow-desktop control >"$T/agent.out" 2>&1 &
PIDS="$PIDS $!"
i=0
until grep -q 'session code' "$T/agent.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "bench: agent did not connect" >&2; exit 1; }
	sleep 0.1
done
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

xterm_run() {	# command: a full-screen xterm running it
	[ -n "${XTERM:-}" ] && kill "$XTERM" 2>/dev/null
	xterm -geometry 318x82+0+0 -e sh -c "$1" >/dev/null 2>&1 &
	XTERM=$!
	PIDS="$PIDS $XTERM"
	sleep 2
}

# Runs qh-rfbwatch MODE against ours and the anchor; sets OURS and ANCHOR.
measure() {	# mode args...
	mode=$1
	shift
	p=$(port)
	"$BIN/qh-console" desktop "$CODE" --control --no-viewer --listen "$p" \
	    >"$T/desk.out" 2>"$T/desk.log" &
	DESK=$!
	PIDS="$PIDS $DESK"
	# Not wait_port: the port takes one viewer, and a probe would be it.
	i=0
	until grep -q "on 127.0.0.1:$p" "$T/desk.out" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "bench: no desktop: $(cat "$T/desk.log")" >&2; exit 1; }
		sleep 0.1
	done
	OURS=$($B/qh-rfbwatch "127.0.0.1:$p" "$mode" "$@" 2>"$T/watch.log")
	[ -n "${KEEP:-}" ] && echo "ours: $OURS" >&2
	kill "$DESK" 2>/dev/null
	ANCHOR=$($B/qh-rfbwatch "127.0.0.1:$L_VNC" "$mode" "$@")
}

ratio() {	# ours anchor
	python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2fx' % (a / b if b else 0))" "$1" "$2"
}

fps_line() {	# name
	o=$(echo "$OURS" | sed -n 's/^fps \([0-9.]*\).*/\1/p')
	a=$(echo "$ANCHOR" | sed -n 's/^fps \([0-9.]*\).*/\1/p')
	echo "$1: ours $o, anchor $a (x11vnc over OpenSSH two-hop), ratio $(ratio "$o" "$a")"
}

xterm_run 'i=0; while :; do i=$((i+1)); echo "line $i: the quick brown fox jumps over the lazy dog $i"; sleep 0.02; done'
measure fps --seconds 5
fps_line "desktop fps"
xterm_run 'while :; do cat /usr/share/common-licenses/GPL-3; done'
measure fps --seconds 5
fps_line "desktop fps (jump scroll)"
xterm_run 'PS1="$ " exec sh'
measure latency --count 30
for q in p50 p99; do
	o=$(echo "$OURS" | sed -n "s/.*$q \([0-9.]*\) ms.*/\1/p")
	a=$(echo "$ANCHOR" | sed -n "s/.*$q \([0-9.]*\) ms.*/\1/p")
	echo "desktop key to pixels $q: ours $o ms, anchor $a ms (x11vnc over OpenSSH two-hop), ratio $(ratio "$o" "$a")"
done
