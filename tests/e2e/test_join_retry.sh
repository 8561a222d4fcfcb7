#!/bin/sh
# Joins (issue 10, #5): failed joins are throttled per address in a table
# bounded by memory, not 64 slots, so rotating over 80 sources does not
# escape it; a join whose answer is lost can be retried with the same key
# and gets the same certificate (the token is bound to the key of the first
# CSR sent with it), another key is refused, and the token is spent at the
# agent's first connection with the certificate; and the longest hold of a
# throttled join stays under the agent's own 30 s timeout (console and
# agent on a 10x clock).
. "$(dirname "$0")/lib.sh"
requires faketime:faketime openssl:openssl sqlite3:sqlite3
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
HOSTILE="$ROOT/tests/tools/hostile.py"

setup_console
qh-console customer add acme --name "ACME GmbH" --state "$STATE" >"$T/admin.log" 2>&1 ||
    fail "customer add"
start_console
enroll() { qh-console enroll acme --state "${1:-$STATE}" 2>>"$T/admin.log" || fail "enroll"; }
count() { grep -c -- "$1" "$T/console.log"; }

# 1. Three rounds of failed joins from 80 addresses, then the 4th from the
#    first address is held back: its failures were not forgotten.
python3 "$HOSTILE" join "$PORT" --source 100-179 --count 3 --parallel >"$T/rot.out" 2>&1 ||
    fail "rotating joins: $(tail -n 3 "$T/rot.out")"
[ "$(grep -c 'invalid\|unknown' "$T/rot.out")" = 240 ] ||
    fail "not every rotating join was refused: $(sort "$T/rot.out" | uniq -c | head)"
python3 "$HOSTILE" join "$PORT" --source 100 --count 1 >"$T/probe.out" 2>&1 || fail "probe"
secs=$(cut -d' ' -f1 "$T/probe.out")
awk "BEGIN { exit !($secs >= 0.9) }" ||
    fail "the 4th failed join from 127.0.0.100 was answered in $secs s: forgotten among 80 sources"

# 2. A join whose answer is lost. Three failures from here first, so the
#    console holds the next join for a second; the agent is stopped while
#    it waits, then killed: the certificate was issued but never arrived.
python3 "$HOSTILE" join "$PORT" --source 1 --count 3 >"$T/fail3.out" 2>&1 || fail "3 failures"
TOKEN=$(enroll)
held=$(count 'repeated failed joins')
issued=$(count 'enrolled agent')
qh-agent join "$TOKEN" --config "$T/b" >"$T/b1.out" 2>"$T/b1.err" &
B=$!
PIDS="$PIDS $B"
wait_until "[ \$(grep -c 'repeated failed joins' '$T/console.log') -gt $held ]" 20 ||
    fail "the join was not held back"
kill -STOP "$B"
wait_until "[ \$(grep -c 'enrolled agent' '$T/console.log') -gt $issued ]" 20 ||
    fail "the console issued no certificate"
kill -9 "$B"
wait "$B" 2>/dev/null
[ -e "$T/b/agent.pem" ] && fail "the stopped agent stored a certificate"
[ -e "$T/b/join-key.pem" ] || fail "the agent kept no key for a retry"

# Another key with the same token is refused.
timeout 60 qh-agent join "$TOKEN" --config "$T/c" >"$T/c.out" 2>"$T/c.err" &&
    fail "another key joined with a token bound to the first one"
grep -q "already used by another PC" "$T/c.err" || fail "another key: stderr was '$(cat "$T/c.err")'"
[ "$(grep -c . "$T/c.err")" -eq 1 ] || fail "another key: want one line, got: $(cat "$T/c.err")"

# The retry with the kept key gets the same certificate.
timeout 60 qh-agent join "$TOKEN" --config "$T/b" >"$T/b2.out" 2>"$T/b2.err" ||
    fail "the retry with the same key failed: $(cat "$T/b2.err")"
[ -e "$T/b/agent.pem" ] || fail "the retry stored no certificate"
[ -e "$T/b/join-key.pem" ] && fail "the key of the finished enrolment was kept"
expect_in "$T/console.log" "its certificate again (a retry with the same key)"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT count(*) FROM agents")" = 1 ] ||
    fail "the retry enrolled a second agent"
SERIAL=$(openssl x509 -in "$T/b/agent.pem" -noout -serial | cut -d= -f2 | tr A-F a-f | sed 's/^0*//')
[ "$(sqlite3 "$STATE/ledger.db" "SELECT ltrim(cert_serial, '0') FROM agents")" = "$SERIAL" ] ||
    fail "the retry got another certificate than the one recorded"
[ -z "$(sqlite3 "$STATE/ledger.db" "SELECT used_at FROM join_tokens WHERE agent_id IS NOT NULL")" ] ||
    fail "the token was spent before the agent connected"

# The agent connects: the token is spent; the same key cannot join again.
qh-agent run --config "$T/b" --yes </dev/null >"$T/run.out" 2>"$T/run.log" &
R=$!
PIDS="$PIDS $R"
wait_until "grep -q 'session code' '$T/run.out'" 30 || fail "the enrolled agent shows no code"
expect_in "$T/console.log" "first connection; its join token is spent"
[ -n "$(sqlite3 "$STATE/ledger.db" "SELECT used_at FROM join_tokens WHERE agent_id IS NOT NULL")" ] ||
    fail "the token is not spent after the agent connected"
mkdir -m 700 "$T/d"
openssl pkey -in "$T/b/agent.pem" -out "$T/d/join-key.pem" 2>/dev/null && chmod 600 "$T/d/join-key.pem" ||
    fail "cannot copy the agent's key"
timeout 60 qh-agent join "$TOKEN" --config "$T/d" >"$T/d.out" 2>"$T/d.err" &&
    fail "a spent token gave out its certificate again"
grep -q "already used" "$T/d.err" || fail "spent token: stderr was '$(cat "$T/d.err")'"

# 3. The longest hold is under the agent's timeout: after 12 failures from
#    here a real join still succeeds (console and agent on a 10x clock).
STATE2="$T/state2"
PORT2=$(free_port)
qh-console init --state "$STATE2" --name 127.0.0.1 --listen "127.0.0.1:$PORT2" \
    >"$T/init2.log" 2>&1 || fail "init 2"
qh-console customer add acme --name "ACME GmbH" --state "$STATE2" >>"$T/admin.log" 2>&1 ||
    fail "customer add 2"
faketime -f '+0 x10' qh-console serve --state "$STATE2" --log-level debug \
    >"$T/console2.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "grep -q 'listening on' '$T/console2.log'" 30 || fail "console 2 did not start"
# faketime runs the console as its child and does not pass SIGTERM on: the
# console's own pid (in its lock) is stopped at the end too.
PIDS="$PIDS $(cat "$STATE2/serve.lock")"
python3 "$HOSTILE" join "$PORT2" --source 1 --count 12 --burst >"$T/burst.out" 2>&1 ||
    fail "12 failures"
[ "$(grep -c 'invalid\|unknown' "$T/burst.out")" = 12 ] || fail "burst: $(cat "$T/burst.out")"
TOKEN3=$(enroll "$STATE2")
faketime -f '+0 x10' qh-agent join "$TOKEN3" --config "$T/e" >"$T/e.out" 2>"$T/e.err" ||
    fail "a join after 12 failures timed out: $(cat "$T/e.err")"
grep -q 'answering in 10000 ms' "$T/console2.log" ||
    fail "the join was not held for the longest time: $(grep answering "$T/console2.log")"
exit 0
