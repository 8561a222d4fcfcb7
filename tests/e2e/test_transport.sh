#!/bin/sh
# The transport between two real processes: 64 MiB each way over one
# channel arrive intact (SHA-256 computed on each side), and a reader that
# stops reading holds its sender to one window of buffered bytes.
. "$(dirname "$0")/lib.sh"

setup_console
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" --state "$STATE" \
    >"$T/tech.log" 2>&1 || fail "expected tech add to succeed"

# A bundle pointing at a test server that uses the console's certificate.
bundle_for() {	# port file
	{ echo "# console: 127.0.0.1:$1"; tail -n +2 "$T/alice.pem"; } >"$2"
	chmod 600 "$2"
}

P1=$(free_port)
qh-testpeer serve --state "$STATE" --listen "127.0.0.1:$P1" >"$T/peer1.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "grep -q listening '$T/peer1.log'" || fail "test server did not start"
bundle_for "$P1" "$T/b1.pem"

SIZE=67108864
timeout 120 qh-testpeer stream --bundle "$T/b1.pem" --size $SIZE >"$T/stream.out" 2>"$T/stream.log" ||
    fail "expected the stream transfer to succeed: $(tail -n 3 "$T/stream.log")"
cat "$T/stream.out"
# What each side received equals what the other side sent.
sent_client=$(sed -n 's/^sent [0-9]* sha256 //p' "$T/stream.out")
recv_client=$(sed -n "s/^received $SIZE sha256 //p" "$T/stream.out")
recv_server=$(sed -n "s/^peer received $SIZE sha256 //p" "$T/stream.out")
sent_server=$(sed -n 's/^server: sent [0-9]* sha256 //p' "$T/peer1.log")
[ -n "$sent_client" ] && [ -n "$sent_server" ] || fail "expected both ends to report their hashes"
[ "$recv_client" = "$sent_server" ] || fail "client received $recv_client, server sent $sent_server"
[ "$recv_server" = "$sent_client" ] || fail "server received $recv_server, client sent $sent_client"

# Backpressure: the server stops reading; the client must stall after one window.
P2=$(free_port)
qh-testpeer serve --stall --state "$STATE" --listen "127.0.0.1:$P2" >"$T/peer2.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "grep -q listening '$T/peer2.log'" || fail "stalling server did not start"
bundle_for "$P2" "$T/b2.pem"
qh-testpeer stream --bundle "$T/b2.pem" --size $SIZE >"$T/stall.out" 2>"$T/stall.log" &
STALLER=$!
PIDS="$PIDS $STALLER"
WINDOW=2097152
wait_until "grep -q 'server: holding $WINDOW bytes' '$T/peer2.log'" 30 ||
    fail "stalled server never held a full window"
# Let a few more reports pass: nothing more may arrive.
n=$(grep -c 'client: sent' "$T/stall.log")
wait_until "[ \$(grep -c 'client: sent' '$T/stall.log') -ge $((n + 5)) ]" 10 || fail "expected the client to keep reporting while the server stalls"
last=$(grep 'client: sent' "$T/stall.log" | tail -n 1)
echo "$last"
sent=$(echo "$last" | sed 's/.*sent \([0-9]*\).*/\1/')
qmax=$(echo "$last" | sed 's/.*queued_max \([0-9]*\).*/\1/')
held=$(grep 'server: holding' "$T/peer2.log" | tail -n 1 | sed 's/.*holding \([0-9]*\).*/\1/')
[ "$sent" -eq $WINDOW ] || fail "client sent $sent bytes into a stalled window of $WINDOW"
[ "$held" -eq $WINDOW ] || fail "server holds $held bytes, window is $WINDOW"
[ "$qmax" -le $WINDOW ] || fail "client buffered $qmax bytes, more than the window $WINDOW"
echo "stalled: sent $sent, server holds $held, sender's peak queue $qmax (window $WINDOW)"
exit 0
