#!/bin/sh
# Ticket intake cannot be held by a customer's PCs (issue 10, #4): an upload
# whose description does not come, or comes a message at a time, ends at
# [tickets] meta_seconds from its start; one whose attachment trickles in a
# byte at a time ends at idle_seconds from its start (a frame now and then
# extends nothing); one customer's PCs hold at most two uploads at once,
# while another customer's PC still gets in, and a real ticket is filed
# once the holders are gone. (tests/tools/hostile.py holds the uploads with
# the PCs' real certificates.)
. "$(dirname "$0")/lib.sh"
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HOSTILE="$ROOT/tests/tools/hostile.py"

setup_console
for c in acme beta; do
	qh-console customer add $c --name "Customer $c" --state "$STATE" >>"$T/admin.log" 2>&1 ||
	    fail "customer add $c"
done
sed -i 's/^meta_seconds = .*/meta_seconds = 3/; s/^idle_seconds = .*/idle_seconds = 4/' \
    "$STATE/console.conf"
grep -q '^meta_seconds = 3$' "$STATE/console.conf" || fail "no meta_seconds in console.conf"
start_console
for pc in acme:pc1 acme:pc2 beta:pc3; do
	TOKEN=$(qh-console enroll "${pc%:*}" --state "$STATE" 2>>"$T/admin.log") || fail "enroll $pc"
	qh-agent join "$TOKEN" --config "$T/${pc#*:}" >>"$T/join.log" 2>&1 || fail "join $pc"
done

# hold NAME PC MODE: one held upload in the background; its report in NAME.out.
hold() {
	python3 "$HOSTILE" upload "$PORT" "$T/$2/agent.pem" "$3" >"$T/$1.out" 2>"$T/$1.err" &
	HOLD=$!
	PIDS="$PIDS $HOLD"
}

# ended NAME LIMIT TEXT: the console ended upload NAME within LIMIT seconds, saying TEXT.
ended() {
	wait "$HOLD" || fail "$1: the upload tool failed: $(cat "$T/$1.err")"
	secs=$(sed -n 's/^closed after \([0-9.]*\) s: .*/\1/p' "$T/$1.out")
	[ -n "$secs" ] || fail "$1: the console did not end the upload: $(cat "$T/$1.out")"
	awk "BEGIN { exit !($secs <= $2) }" || fail "$1: ended only after $secs s (limit $2 s)"
	grep -q "$3" "$T/$1.out" || fail "$1: the console said: $(cat "$T/$1.out")"
}

hold idle pc1 idle
ended idle 4.5 "description did not arrive in time"
hold meta pc1 meta
ended meta 4.5 "description did not arrive in time"
hold data pc1 data
ended data 5.5 "the upload stalled"
expect_in "$T/console.log" "ticket refused: the upload stalled"

# Two held uploads of acme's pc1: acme's pc2 is refused, beta's pc3 is not.
hold h1 pc1 idle
H1=$HOLD
hold h2 pc1 idle
H2=$HOLD
wait_until "grep -q '^open' '$T/h1.out' && grep -q '^open' '$T/h2.out'" 10 ||
    fail "the two uploads did not open: $(cat "$T/h1.out" "$T/h2.out")"
python3 "$HOSTILE" upload "$PORT" "$T/pc2/agent.pem" idle >"$T/pc2.out" 2>"$T/pc2.err" &
P2=$!
python3 "$HOSTILE" upload "$PORT" "$T/pc3/agent.pem" idle >"$T/pc3.out" 2>"$T/pc3.err" &
P3=$!
PIDS="$PIDS $P2 $P3"
wait "$P2"
grep -q "^refused: other PCs of yours are sending tickets" "$T/pc2.out" ||
    fail "a third upload of acme's PCs was not refused: $(cat "$T/pc2.out")"
wait "$P3"
grep -q "^open" "$T/pc3.out" || fail "beta's upload was refused: $(cat "$T/pc3.out")"
wait "$H1" "$H2"

# The holders are gone: acme's pc2 files a real ticket.
QH_AGENT="$T/pc2" timeout 60 qh-agent ticket --subject "Drucker" >"$T/real.out" 2>"$T/real.err" ||
    fail "a real ticket was refused: $(cat "$T/real.err")"
grep -q '^ticket [0-9]' "$T/real.out" || fail "qh-agent ticket printed '$(cat "$T/real.out")'"
exit 0
