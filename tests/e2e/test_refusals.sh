#!/bin/sh
# Bad peers are refused one by one: a certificate from another CA, an
# expired one, one without a role, a revoked technician, a TLS 1.2-only
# client, and peers that send an oversized frame, an unknown frame type,
# a frame for a channel never opened, data past the window or a message
# that does not decode. Each is closed with one log line naming the peer
# and the reason, and a good technician is served right after each.
. "$(dirname "$0")/lib.sh"
requires openssl:openssl

setup_console
qh-console tech add alice --name "Alice" --out "$T/alice.pem" --state "$STATE" \
    >"$T/tech.log" 2>&1 || fail "expected tech add alice to succeed"
qh-console tech add bob --name "Bob" --out "$T/bob.pem" --state "$STATE" \
    >>"$T/tech.log" 2>&1 || fail "expected tech add bob to succeed"
start_console

good_served() {
	out=$(qh-testpeer request --bundle "$T/alice.pem" --cmd queue 2>>"$T/good.log") ||
	    fail "good technician not served after $1"
	[ "$out" = "[]" ] || fail "good technician got '$out' after $1"
}

# refused_cert KIND LOGTEXT
refused_cert() {
	qh-testpeer cert --state "$STATE" --kind "$1" --console "127.0.0.1:$PORT" \
	    --out "$T/$1.pem" >"$T/cert-$1.log" 2>&1 || fail "expected qh-testpeer to mint a $1 certificate: $(cat "$T/cert-$1.log")"
	if qh-testpeer request --bundle "$T/$1.pem" --cmd queue >"$T/$1.out" 2>&1; then
		fail "expected a $1 certificate to be refused, it was served"
	fi
	wait_until "grep -q -- '$2' '$T/console.log'" 10 || fail "no log line '$2' for $1"
	good_served "$1"
}

refused_cert otherca "certificate verify failed"
# Expired certificates get through the handshake (an agent's may renew,
# test_renew.sh); this one is refused after it, as unknown to the console.
refused_cert expired "refused: this technician certificate is revoked or unknown"
refused_cert norole "no valid role"

qh-console tech revoke bob --state "$STATE" >"$T/revoke.log" 2>&1 || fail "expected tech revoke bob to succeed: $(cat "$T/revoke.log")"
if qh-testpeer request --bundle "$T/bob.pem" --cmd queue >"$T/bob.out" 2>&1; then
	fail "expected the revoked technician to be refused, bob was served"
fi
wait_until "grep -q 'technician bob: refused' '$T/console.log'" 10 || fail "no refusal logged for bob"
good_served "revoked"

# TLS 1.2 only.
openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" -cert "$T/alice.pem" \
    -key "$T/alice.pem" </dev/null >"$T/tls12.out" 2>&1 &&
    grep -q "Protocol  *: TLSv1.2" "$T/tls12.out" && fail "expected a TLS 1.2 handshake to be refused, it succeeded"
wait_until "grep -q 'unsupported protocol' '$T/console.log'" 10 || fail "no log line for TLS 1.2"
good_served "tls1.2"

# Misbehaving authenticated peers: each must be hung up on, with the reason logged.
bad() {	# KIND LOGTEXT
	timeout 20 qh-testpeer bad --bundle "$T/alice.pem" --kind "$1" >"$T/bad-$1.log" 2>&1 ||
	    fail "bad $1: console did not close the connection"
	expect_in "$T/bad-$1.log" "closed by console"
	wait_until "grep -q -- 'technician alice: protocol error: $2' '$T/console.log'" 10 ||
	    fail "expected the console to log '$2'"
	good_served "$1"
}

bad oversized "frame of 65537 bytes exceeds the maximum"
bad unknown-type "unknown frame type 200"
bad unknown-channel "data frame for channel 77 that was never opened"
bad beyond-window "data beyond window"
bad bad-message "bad control message"

# One line per refusal: the console logged each reason exactly once.
[ "$(grep -c 'unknown frame type 200' "$T/console.log")" -eq 1 ] || fail "reason logged more than once"
kill "$CONSOLE_PID"
wait_until "grep -q stopped '$T/console.log'" 10 || fail "console did not stop on SIGTERM"
exit 0
