#!/bin/sh
# Certificates renewed over time (certs/README.md), each part on a clock of
# its own: faketime runs it from a later day, so the certificates issued
# today are as old as the part needs. Each part runs in a process of its
# own under one faketime (all its processes share that clock) and works in
# this test's directory.
#   day 60, at ten times speed: an agent's certificate reaches two thirds
#     of its life while the agent waits; it renews over its connection,
#     takes the new certificate into use (the old one retires, `agents`
#     shows the new expiry) and keeps its code and working (the technician's
#     bundle is as old: her commands say how to renew it); then `cert
#     renew` gives the console a new certificate, SIGHUP makes serve
#     present it to new connections, and the agent stays connected.
#   day 100: an expired technician bundle is refused with the reason; `tech
#     renew LOGIN` on the console host and `tech renew` with the bundle
#     over TLS both give working bundles, and using the new one retires the
#     one before; an agent whose certificate expired ten days ago renews it
#     with its old key and works.
#   day 370: an agent whose certificate expired more than a year ago is
#     refused with the reason and exits 1.
. "$(dirname "$0")/lib.sh"

# Seconds since the epoch of a PEM certificate's notAfter or notBefore.
cert_time() {	# file enddate|startdate
	date -u -d "$(openssl x509 -noout -"$2" -in "$1" | cut -d= -f2)" +%s
}

# The agent id in an agent's bundle.
agent_id() {	# dir
	openssl x509 -noout -subject -nameopt multiline -in "$1/agent.pem" |
	    sed -n 's/^ *userId *= *//p'
}

# cert_expires of an agent in `agents --json`.
agent_expires() {	# id
	qh-console agents --json --state "$STATE" | python3 -c '
import json, sys
print([a["cert_expires"] for a in json.load(sys.stdin) if a["id"] == sys.argv[1]][0])' "$1"
}

# Starts an enrolled agent waiting unattended; sets AGENT_PID and CODE.
run_agent() {	# dir log-name [seconds to wait]
	qh-agent run --config "$1" --unattended </dev/null >"$T/$2.out" 2>"$T/$2.log" &
	AGENT_PID=$!
	PIDS="$PIDS $AGENT_PID"
	wait_until "grep -q 'session code' '$T/$2.out'" "${3:-30}" || fail "$2 shows no code"
	CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/$2.out")
}

# A console with a log of its own (start_console waits for its first line).
fresh_console() {
	[ -f "$T/console.log" ] && mv "$T/console.log" "$T/console-$(date +%s%N).log"
	start_console
}

stop_console() {
	kill "$CONSOLE_PID"
	wait "$CONSOLE_PID" 2>/dev/null
}

# Waits run on the phase's clock: at ten times speed, 300 s take 30.
phase_day60() {
	ID1=$(agent_id "$T/agent1")
	OLD_END=$(cert_time "$T/agent1/agent.pem" enddate)
	fresh_console
	run_agent "$T/agent1" agent1 300
	# The timer renews it on this connection (the clock passes two thirds).
	wait_until "grep -q 'certificate was renewed; it is valid until' '$T/agent1.out'" 300 ||
	    fail "agent1 did not renew"
	wait_until "grep -q 'older one retired' '$T/console.log'" 300 ||
	    fail "the old certificate did not retire"
	NEW_END=$(cert_time "$T/agent1/agent.pem" enddate)
	[ "$NEW_END" -gt "$OLD_END" ] || fail "agent.pem holds no later certificate"
	[ "$(agent_expires "$ID1")" = "$(date -u -d @"$NEW_END" +%Y-%m-%dT%H:%M:%SZ)" ] ||
	    fail "agents does not show the new expiry"
	[ "$(grep -c 'session code' "$T/agent1.out")" -eq 1 ] || fail "the code changed"
	out=$(qh-console exec "$CODE" -- echo still-here 2>>"$T/tech.log") ||
	    fail "exec after the renewal"
	[ "$out" = still-here ] || fail "exec printed '$out'"
	# alice's bundle is as old: her commands say how to renew it.
	expect_in "$T/tech.log" "expires on .*qh-console tech renew --tech"

	# The console's own certificate, while the agent stays connected.
	OLD_SERIAL=$(openssl x509 -noout -serial -in "$STATE/console.pem")
	qh-console cert renew --state "$STATE" >"$T/certrenew.out" 2>&1 || fail "cert renew"
	expect_in "$T/certrenew.out" "told qh-console serve"
	wait_until "grep -q 'reloaded the console' '$T/console.log'" 300 || fail "no reload"
	NEW_SERIAL=$(openssl x509 -noout -serial -in "$STATE/console.pem")
	[ "$NEW_SERIAL" != "$OLD_SERIAL" ] || fail "console.pem did not change"
	days=$(( ($(cert_time "$STATE/console.pem" enddate) - \
	    $(cert_time "$STATE/console.pem" startdate)) / 86400 ))
	[ "$days" -eq 397 ] || fail "the console's certificate is valid $days days"
	served=$(openssl s_client -connect "127.0.0.1:$PORT" </dev/null 2>/dev/null |
	    openssl x509 -noout -serial)
	[ "$served" = "$NEW_SERIAL" ] || fail "serve presents $served, not $NEW_SERIAL"
	out=$(qh-console exec "$CODE" -- echo again 2>>"$T/tech.log") ||
	    fail "exec after cert renew"
	[ "$out" = again ] || fail "exec printed '$out'"
	sed -n '/reloaded the console/,$p' "$T/console.log" |
	    grep -q "agent acme: disconnected" && fail "the reload disconnected the agent"
	[ "$(grep -c 'session code' "$T/agent1.out")" -eq 1 ] || fail "the code changed"
	stop_console
}

phase_day100() {
	fresh_console
	qh-console queue >"$T/queue.out" 2>&1 && fail "an expired bundle was accepted"
	expect_in "$T/queue.out" "certificate expired on"
	expect_in "$T/queue.out" "tech renew alice"
	qh-console tech renew alice --out "$T/alice2.pem" --state "$STATE" \
	    >"$T/renew2.out" 2>&1 || fail "tech renew alice on the console host"
	expect_in "$T/renew2.out" "technician alice renewed"
	QH_TECH="$T/alice2.pem" qh-console queue >/dev/null 2>"$T/queue.out" ||
	    fail "the host's renewed bundle: $(cat "$T/queue.out")"
	QH_TECH="$T/alice2.pem" qh-console tech renew --out "$T/alice3.pem" \
	    >"$T/renew3.out" 2>&1 || fail "tech renew with the bundle: $(cat "$T/renew3.out")"
	expect_in "$T/renew3.out" "technician alice renewed"
	# The one renewed over TLS works; using it retires the one before.
	QH_TECH="$T/alice3.pem" qh-console queue >/dev/null 2>"$T/queue.out" ||
	    fail "the bundle renewed over TLS: $(cat "$T/queue.out")"
	QH_TECH="$T/alice2.pem" qh-console queue >"$T/queue.out" 2>&1 &&
	    fail "the replaced bundle still works"
	expect_in "$T/queue.out" "replaced by a renewed one"
	export QH_TECH="$T/alice3.pem"

	# Expired ten days ago, not revoked: renews with its old key, then works.
	OLD_END=$(cert_time "$T/agent2/agent.pem" enddate)
	run_agent "$T/agent2" agent2
	expect_in "$T/agent2.out" "certificate expired on"
	expect_in "$T/agent2.out" "certificate was renewed"
	[ "$(cert_time "$T/agent2/agent.pem" enddate)" -gt "$OLD_END" ] ||
	    fail "agent2 holds no new certificate"
	out=$(qh-console exec "$CODE" -- echo renewed-late 2>>"$T/tech.log") ||
	    fail "exec on the late renewer"
	[ "$out" = renewed-late ] || fail "exec printed '$out'"
	stop_console
}

phase_day370() {
	fresh_console
	qh-agent run --config "$T/agent3" --unattended </dev/null >"$T/agent3.out" \
	    2>"$T/agent3.log" && fail "an agent expired over a year ago got in"
	expect_in "$T/agent3.log" "more than a year ago"
	expect_in "$T/agent3.log" "new join token"
	stop_console
}

# A part on its own clock: faketime SPEC runs this script's phase_NAME.
phase() {	# spec name
	QH_E2E_T="$T" faketime -f "$1" sh "$0" --phase "$2" && [ -f "$T/$2.done" ] ||
	    { echo "FAILED: the part on $2 (above)"; exit 1; }
}

if [ "${1:-}" = --phase ]; then
	phase_"$2"
	touch "$T/$2.done"
	exit 0
fi

setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "customer add"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add"
export QH_TECH="$T/alice.pem" STATE PORT
fresh_console
for n in 1 2; do
	TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
	qh-agent join "$TOKEN" --config "$T/agent$n" >>"$T/join.log" 2>&1 || fail "join $n"
done
stop_console
# The third PC gets a certificate for one day.
sed -i 's/^cert_days = .*/cert_days = 1/' "$STATE/console.conf"
fresh_console
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent3" >>"$T/join.log" 2>&1 || fail "join 3"
stop_console
sed -i 's/^cert_days = .*/cert_days = 90/' "$STATE/console.conf"

days=$(( ($(cert_time "$T/agent1/agent.pem" enddate) - \
    $(cert_time "$T/agent1/agent.pem" startdate)) / 86400 ))
[ "$days" -eq 90 ] || fail "an agent's certificate is valid $days days"

# A minute (six seconds at ten times speed) before agent1's renewal is due.
due=$(( $(cert_time "$T/agent1/agent.pem" startdate) + \
    ($(cert_time "$T/agent1/agent.pem" enddate) - \
    $(cert_time "$T/agent1/agent.pem" startdate)) / 3 * 2 ))
phase "+$(( due - $(date +%s) - 60 )) x10" day60
phase "+100d" day100
phase "+370d" day370
echo "ok"
