#!/bin/sh
# soak-share: 6
# The hostile-load campaign of `make soak` (issue 10): a release console
# on 127.0.0.1 under 2,000 idle pre-auth connections, 200 slowloris
# connections and 50 enrolled agents sending junk frames in a loop, all
# spread over 127.0.0.2-254 (tests/tools/hostile.py), while technician
# alice on 127.0.0.1 runs `exec` round trips against a real agent. Prints
# the round trip under load next to the quiet one as a ratio, what the
# console did with the hostile connections, and its CPU time, memory and
# descriptors. Runnable on its own: sh tests/soak/hostile.sh
#
#   HOSTILE_SECONDS  length of the hostile load (default 120)
#   HOSTILE_TRIPS    exec round trips measured, quiet and under load (default 30)
#   QH_SOAK_BIN      the binaries (default bin/, built by `make release`)
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
# Under make soak: the share less the quiet trips and the set-up, at most 120 s.
LOAD_SECONDS=${HOSTILE_SECONDS:-120}
if [ -z "${HOSTILE_SECONDS:-}" ] && [ -n "${SOAK_SECONDS:-}" ] &&
    [ $((SOAK_SECONDS - 150)) -lt "$LOAD_SECONDS" ]; then
	LOAD_SECONDS=$((SOAK_SECONDS - 150))
	[ "$LOAD_SECONDS" -ge 40 ] || LOAD_SECONDS=40
fi
TRIPS=${HOSTILE_TRIPS:-30}
BIN=${QH_SOAK_BIN:-$ROOT/bin}
if [ -z "${QH_SOAK_BIN:-}" ]; then
	make --no-print-directory release >/dev/null || { echo "hostile: make release failed"; exit 1; }
fi
export PATH="$BIN:$PATH"
T=$(mktemp -d /tmp/qh-soak-hostile.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() {
	echo "hostile: FAILED: $*"
	tail -n 20 "$T/console.log" 2>/dev/null | sed 's/^/    | /'
	exit 1
}
now_ms() { date +%s%3N; }

# Descriptors for the console and the load: as many as the system allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
STATE="$T/state"
qh-console init --state "$STATE" --name 127.0.0.1 --listen "127.0.0.1:$PORT" \
    >"$T/init.log" 2>&1 || fail "init"
qh-console customer add acme --name "ACME GmbH" --overdraft-units 1000 --state "$STATE" \
    >"$T/admin.log" 2>&1 || fail "customer add"
qh-console tech add alice --name "Alice" --out "$T/alice.pem" --state "$STATE" \
    >>"$T/admin.log" 2>&1 || fail "tech add"
export QH_TECH="$T/alice.pem"
qh-console serve --state "$STATE" --log-level warn >"$T/console.log" 2>&1 &
CONSOLE=$!
PIDS="$PIDS $CONSOLE"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "the console did not start"
	sleep 0.1
done

# The real agent, and 50 enrolled PCs for the junk.
enroll() {	# DIR
	tok=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
	qh-agent join "$tok" --config "$1" >>"$T/join.log" 2>&1 || fail "join $1"
}
enroll "$T/agent"
n=0
while [ $n -lt 50 ]; do
	n=$((n + 1))
	enroll "$T/junk/$n"
done
qh-agent run --config "$T/agent" --yes </dev/null >"$T/agent.out" 2>"$T/agent.log" &
PIDS="$PIDS $!"
i=0
until grep -q 'session code' "$T/agent.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "the agent shows no code"
	sleep 0.1
done
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

# trips NAME [GAP]: TRIPS exec round trips GAP seconds apart; writes their
# milliseconds, one a line.
trips() {
	: >"$T/$1.ms"
	: >"$T/$1.err"
	k=0
	while [ $k -lt "$TRIPS" ]; do
		k=$((k + 1))
		[ $k -gt 1 ] && [ -n "${2:-}" ] && sleep "$2"
		a=$(now_ms)
		if out=$(timeout 60 qh-console exec "$CODE" -- echo rt 2>>"$T/$1.err") &&
		    [ "$out" = rt ]; then
			echo $(($(now_ms) - a)) >>"$T/$1.ms"
		else
			echo "failed" >>"$T/$1.ms"
		fi
	done
}
median() { grep -v failed "$1" | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p95() { grep -v failed "$1" | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else { i = int(NR * 0.95 + 0.999); if (i > NR) i = NR; print v[i] } }'; }
cpu_s() { awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$CONSOLE/stat"; }

timeout 60 qh-console exec "$CODE" -- true >/dev/null 2>&1 || fail "the first command failed"
trips quiet
QUIET=$(median "$T/quiet.ms")

CPU0=$(cpu_s)
# The attackers' CPU is not the console's in real life: their tool runs niced.
nice -n 10 python3 "$ROOT/tests/tools/hostile.py" soak "$PORT" --bundles "$T/junk" \
    --seconds "$LOAD_SECONDS" --idle 2000 --slowloris 200 --junk 50 \
    >"$T/load.out" 2>"$T/load.err" &
LOAD=$!
PIDS="$PIDS $LOAD"
sleep 15 # the flood builds up; then the trips spread over the rest of it
trips hostile "$(awk "BEGIN { g = ($LOAD_SECONDS - 25) / $TRIPS; print (g > 0 ? g : 0) }")"
FDS=$(ls "/proc/$CONSOLE/fd" 2>/dev/null | wc -l)
wait "$LOAD" || fail "the load tool failed: $(tail -n 5 "$T/load.err")"
CPU1=$(cpu_s)
HOSTILE=$(median "$T/hostile.ms")
kill -0 "$CONSOLE" 2>/dev/null || fail "the console died under the load"
RSS=$(awk '/VmHWM/ { print $2 }' "/proc/$CONSOLE/status")

echo "figure: hostile load: ${LOAD_SECONDS} s of 2000 idle pre-auth connections, 200 slowloris, 50 junk-frame agents over 127.0.0.2-254"
sed 's/^/  /' "$T/load.out"
echo "  technician commands failed: quiet $(grep -c failed "$T/quiet.ms") of $TRIPS, under load $(grep -c failed "$T/hostile.ms") of $TRIPS"
echo "  console: $(awk "BEGIN { print $CPU1 - $CPU0 }") s CPU during the load, peak RSS $((RSS / 1024)) MiB, $FDS descriptors open under load"
awk -v h="$HOSTILE" -v q="$QUIET" -v hp="$(p95 "$T/hostile.ms")" -v qp="$(p95 "$T/quiet.ms")" 'BEGIN {
	printf "figure: exec round trip: hostile %.0f ms, quiet %.0f ms, ratio %.2fx (p95 %s ms vs %s ms)\n", h, q, h / q, hp, qp }'
[ "$(grep -c failed "$T/hostile.ms")" -eq 0 ] || fail "technician commands failed under the load: $(sort "$T/hostile.err" | uniq -c | head -n 5)"
exit 0
