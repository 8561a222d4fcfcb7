#!/bin/sh
# Port forwards (issue 5): a technician forwards a local port through the
# console and the agent to a server the customer's PC can reach. A web page
# comes back through it; 16 connections at once each move 32 MiB with
# their SHA-256 intact (half upload ended by a half-close, half download);
# a target the customer did not allow is refused and both sides see it; a
# local port in use is a clear error; a connection to a closed port gets
# "connection refused"; one connection whose reader stalls holds the
# console's memory to a bound (measured from /proc, printed, asserted);
# Ctrl-C ends a forward with 0, an idle one ends itself after 10 minutes
# (R2, on an accelerated clock), and a forward whose agent vanishes ends
# with 1 and the reason.
. "$(dirname "$0")/lib.sh"
requires faketime:faketime
PEER="$(cd "$(dirname "$0")" && pwd)/tcp_peer.py"
MIB=1048576
STALL_BOUND_KB=65536	# growth of the console's peak RSS allowed while a reader stalls

setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
start_console
export QH_TECH="$T/alice.pem"
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"

# A web server on 127.0.0.2 (not this PC's default address: it must be allowed).
mkdir -p "$T/www"
echo "quarterhour forward test page $$" >"$T/www/index.html"
HP=$(free_port)
python3 -m http.server --bind 127.0.0.2 --directory "$T/www" "$HP" >"$T/http.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "python3 -c 'import socket; socket.create_connection((\"127.0.0.2\", $HP))'" 20 ||
    fail "http server did not start"
# The bulk peer on 127.0.0.1 (allowed by default).
python3 "$PEER" serve "$T/peer.port" "$T/stall.status" >"$T/peer.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "test -s '$T/peer.port'" 20 || fail "peer server did not start"
SP=$(cat "$T/peer.port")

qh-agent run --config "$T/agent" --yes --allow-forward "127.0.0.2:$HP" </dev/null \
    >"$T/agent.out" 2>"$T/agent.log" &
AGENT_PID=$!
PIDS="$PIDS $AGENT_PID"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "expected the agent to show a session code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

# Starts a forward in the background ($FPID), waits for its line on stderr.
start_forward() {	# name spec
	qh-console forward "$CODE" "$2" >"$T/$1.out" 2>"$T/$1.err" &
	FPID=$!
	PIDS="$PIDS $FPID"
	wait_until "grep -q '^forwarding' '$T/$1.err'" 30 || fail "$1: expected a line 'forwarding ...' on stderr within 30 s: $(cat "$T/$1.err")"
}

# A target the customer did not allow: refused, and both sides see it.
LP=$(free_port)
if timeout 60 qh-console forward "$CODE" "$LP:127.0.0.3:$HP" >"$T/deny.out" 2>"$T/deny.err"; then
	fail "a forward to 127.0.0.3:$HP was allowed"
fi
expect_in "$T/deny.err" "the customer does not allow forwards to 127.0.0.3:$HP"
wait_until "grep -q 'refused alice.s forward to 127.0.0.3:$HP' '$T/agent.out'" 10 ||
    fail "the customer was not shown the refused forward"

# A local port in use (the console's own): exit 1, one clear line.
timeout 60 qh-console forward "$CODE" "$PORT:127.0.0.1:$SP" >"$T/inuse.out" 2>"$T/inuse.err"
st=$?
[ "$st" -eq 1 ] || fail "forward on a port in use exited $st, want 1"
expect_in "$T/inuse.err" "qh-console: cannot listen on 127.0.0.1:$PORT: address already in use"

# The web page through an allowed target.
LP=$(free_port)
start_forward web "$LP:127.0.0.2:$HP"
WEB_PID=$FPID
expect_in "$T/web.err" "forwarding 127.0.0.1:$LP to 127.0.0.2:$HP on ${CODE%???} ${CODE#???} (Ctrl-C to stop)"
python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:%s/index.html" % sys.argv[1],
    timeout=60).read().decode())' "$LP" >"$T/page.html" 2>"$T/page.err" ||
    fail "fetching the page through the forward: $(cat "$T/page.err")"
cmp -s "$T/page.html" "$T/www/index.html" || fail "the page came back as '$(cat "$T/page.html")'"
wait_until "grep -q 'alice forwards to 127.0.0.2:$HP' '$T/agent.out'" 10 ||
    fail "the customer was not shown the forward"
kill -INT "$WEB_PID"
wait "$WEB_PID"
st=$?
[ "$st" -eq 0 ] || fail "Ctrl-C ended the forward with $st, want 0"
wait_until "grep -q 'forward to 127.0.0.2:$HP ended' '$T/agent.out'" 10 ||
    fail "the customer was not shown the end of the forward"

# A closed port behind an allowed target: that connection is refused.
DEAD=$(free_port)
LP=$(free_port)
start_forward dead "$LP:127.0.0.1:$DEAD"
python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
assert s.recv(1) == b"", "data from a refused connection"' "$LP" ||
    fail "a connection to a closed port was not closed"
wait_until "grep -q 'connection to 127.0.0.1:$DEAD: cannot connect to 127.0.0.1:$DEAD: connection refused' '$T/dead.err'" 10 ||
    fail "no 'connection refused' for a closed port"
kill -INT "$FPID"
wait "$FPID"

LP=$(free_port)
start_forward bulk "$LP:127.0.0.1:$SP"
BULK_PID=$FPID
python3 "$PEER" up "$LP" 1000 || fail "a small upload through the forward"

# A reader that stalls: the peer sends 1 GiB, the client never reads. The
# windows stop the sender; the console must not buffer what it cannot send.
kb() {	# field of /proc/PID/status in kB
	sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"
}
base_hwm=$(kb "$CONSOLE_PID" VmHWM)
base_rss=$(kb "$CONSOLE_PID" VmRSS)
python3 "$PEER" stall "$LP" 1073741824 &
STALL_PID=$!
PIDS="$PIDS $STALL_PID"
# Wait until the sender is stuck (its count stops moving), at most 30 s.
prev=-1
i=0
while [ "$i" -lt 60 ]; do
	sleep 0.5
	cur=$(cat "$T/stall.status" 2>/dev/null || echo 0)
	[ "$cur" = "$prev" ] && [ "$cur" -gt 0 ] && break
	prev=$cur
	i=$((i + 1))
done
sleep 2
sent=$(cat "$T/stall.status")
hwm=$(kb "$CONSOLE_PID" VmHWM)
rss=$(kb "$CONSOLE_PID" VmRSS)
echo "stalled reader: the sender got rid of $((sent / MIB)) MiB of 1024 MiB before it blocked"
echo "console memory: VmHWM ${base_hwm} kB -> ${hwm} kB (+$((hwm - base_hwm)) kB), VmRSS ${base_rss} kB -> ${rss} kB; bound +${STALL_BOUND_KB} kB"
[ "$sent" -lt $((64 * MIB)) ] || fail "the sender was not stopped: $sent bytes went out"
[ $((hwm - base_hwm)) -lt "$STALL_BOUND_KB" ] ||
    fail "the console grew by $((hwm - base_hwm)) kB while a reader stalled"
# The same forward still serves other connections meanwhile.
python3 "$PEER" up "$LP" $((4 * MIB)) || fail "an upload next to the stalled reader"
kill "$STALL_PID"

# 16 connections at once, 32 MiB each (8 up with half-close, 8 down).
python3 "$PEER" parallel "$LP" 16 $((32 * MIB)) >"$T/parallel.out" 2>&1 ||
    fail "parallel transfers: $(cat "$T/parallel.out")"
cat "$T/parallel.out"
echo "console peak RSS after the parallel transfers: $(kb "$CONSOLE_PID" VmHWM) kB"
kill -INT "$BULK_PID"
wait "$BULK_PID"
st=$?
[ "$st" -eq 0 ] || fail "Ctrl-C ended the bulk forward with $st, want 0"

# R2: a forward with no connection for 10 minutes ends itself, with 0
# (on a clock 60 times as fast: 10 s).
LP=$(free_port)
start=$(date +%s)
timeout 120 faketime -f '+0 x60' qh-console forward "$CODE" "$LP:127.0.0.1:$SP" \
    >"$T/idle.out" 2>"$T/idle.err"
st=$?
[ "$st" -eq 0 ] || fail "an idle forward exited $st, want 0: $(cat "$T/idle.err")"
expect_in "$T/idle.err" "qh-console: no connection for 10 minutes; forward ended"
echo "idle forward ended after $(($(date +%s) - start)) s on a 60x clock"

# The agent vanishes under a running forward: exit 1 with the reason.
LP=$(free_port)
start_forward lost "$LP:127.0.0.1:$SP"
kill -9 "$AGENT_PID"
wait_until "! kill -0 $FPID" 60 || fail "the forward outlived its agent"
wait "$FPID"
st=$?
[ "$st" -eq 1 ] || fail "a forward whose agent vanished exited $st, want 1"
expect_in "$T/lost.err" "the agent's connection was lost"
exit 0
