#!/bin/sh
# Connections that have not authenticated cannot lock technicians out
# (issue 10, #1): a console with 256 descriptors is flooded with 300 TLS
# connections without a certificate from 127.0.0.2, then with 320 from 40
# addresses, while technician alice on 127.0.0.1 still gets in each time.
# The flood's connections are capped per address and in all (the refusals
# are logged), and the ones the console took are closed join_seconds after
# their handshake since they send no join request.
. "$(dirname "$0")/lib.sh"
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

setup_console
qh-console customer add acme --name "ACME GmbH" --state "$STATE" >"$T/admin.log" 2>&1 ||
    fail "customer add"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" --state "$STATE" \
    >>"$T/admin.log" 2>&1 || fail "tech add"
export QH_TECH="$T/alice.pem"
sed -i 's/^join_seconds = .*/join_seconds = 2/' "$STATE/console.conf"
grep -q '^join_seconds = 2$' "$STATE/console.conf" || fail "no join_seconds in console.conf"

# The console gets 256 descriptors: fewer than the flood.
(ulimit -n 256 && exec qh-console serve --state "$STATE" --log-level debug) \
    >>"$T/console.log" 2>&1 &
CONSOLE_PID=$!
PIDS="$PIDS $CONSOLE_PID"
wait_until "grep -q 'listening on' '$T/console.log'" 30 || fail "console did not start"

# flood NAME SOURCES COUNT: COUNT TLS connections held for 8 s, in the background.
flood() {
	python3 "$ROOT/tests/tools/hostile.py" flood "$PORT" --sources "$2" --count "$3" \
	    --tls --hold 8 >"$T/$1.out" 2>"$T/$1.err" &
	FLOOD=$!
	PIDS="$PIDS $FLOOD"
	wait_until "grep -q 'taken' '$T/$1.out'" 60 || fail "$1: the flood did not finish connecting"
}

# alice_in WHEN: a technician command works now.
alice_in() {
	timeout 30 qh-console queue >"$T/queue.out" 2>"$T/queue.err" ||
	    fail "alice was locked out $1: $(cat "$T/queue.err")"
	grep -q 'no agents waiting' "$T/queue.out" || fail "alice's queue $1: $(cat "$T/queue.out")"
}

# flood_done NAME: the connections the console took were all closed soon.
flood_done() {
	wait "$FLOOD" || fail "$1: the flood tool failed: $(cat "$T/$1.err")"
	grep -q 'after 8 s 0 still open' "$T/$1.out" ||
	    fail "$1: the console kept idle connections without a certificate: $(cat "$T/$1.out")"
}

flood one 2 300
alice_in "during a flood from one address"
grep -Eq '[0-9]+ taken, [1-9][0-9]* refused' "$T/one.out" ||
    fail "one address: nothing was refused: $(cat "$T/one.out")"
taken=$(sed -n 's/.* \([0-9]*\) taken.*/\1/p' "$T/one.out")
[ "$taken" -le 16 ] || fail "one address held $taken unauthenticated connections (limit 16)"
wait_until "grep -q 'refused a connection from 127.0.0.2: too many unauthenticated connections from this address' '$T/console.log'" 10 ||
    fail "the per-address refusal was not logged"
flood_done one
wait_until "grep -q 'no join request within 2s' '$T/console.log'" 5 ||
    fail "the join deadline was not logged"

flood many 2-41 320
alice_in "during a flood from 40 addresses"
grep -Eq '[0-9]+ taken, [1-9][0-9]* refused' "$T/many.out" ||
    fail "40 addresses: nothing was refused: $(cat "$T/many.out")"
flood_done many
alice_in "after the floods"
kill -0 "$CONSOLE_PID" || fail "the console died"
exit 0
