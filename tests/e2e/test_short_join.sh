#!/bin/sh
# Joining by phone (issue 13): `enroll ID --short` prints a code of at
# most 10 characters from an alphabet without look-alikes, valid 15
# minutes and once. An agent that knows the console joins with it (`join
# --short CODE --console HOST:PORT --pin SHA256`), and so does a copy made
# by `agent-package`, which carries the console's address and pin but no
# token (`join --short CODE` alone). A used code, an expired one, a wrong
# one and a code tried too often are refused; the console stores only the
# codes' hashes.
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3 faketime:faketime

setup_console
{
	qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 --state "$STATE"
	qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" --state "$STATE"
} >"$T/admin.log" 2>&1 || fail "admin setup"
export QH_TECH="$T/alice.pem"
PIN=$(sed -n 's/^ *CA pin: *//p' "$T/init.log")
[ ${#PIN} -eq 64 ] || fail "no CA pin in init's output"
start_console

short() {	# prints a new short code for acme; its stderr in $T/short.err
	qh-console enroll acme --short --state "$STATE" 2>"$T/short.err" || fail "enroll --short"
}
# run_agent DIR [PROGRAM]: runs an enrolled agent with --yes; exec reaches it.
run_agent() {
	${2:-qh-agent} run --config "$1" --yes </dev/null >"$1.out" 2>"$1.log" &
	PIDS="$PIDS $!"
	wait_until "grep -q 'session code' '$1.out'" 30 || fail "$1: the agent shows no code"
	_code=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$1.out")
	out=$(timeout 60 qh-console exec "$_code" -- echo joined 2>>"$T/exec.log") ||
	    fail "$1: exec on the agent failed"
	[ "$out" = joined ] || fail "$1: exec printed '$out'"
	qh-console end "$_code" >>"$T/exec.log" 2>&1 || fail "$1: end"
}

# 1. The code: 10 characters of the unambiguous alphabet, 15 minutes.
CODE=$(short)
[ ${#CODE} -le 10 ] || fail "the short code '$CODE' is longer than 10 characters"
echo "$CODE" | grep -Eq '^[2-9A-HJKMNP-Z]{10}$' || fail "the short code '$CODE' has ambiguous characters"
expect_in "$T/short.err" "valid for 15 minutes"
expect_in "$T/short.err" "qh-agent join --short $CODE --console 127.0.0.1:$PORT --pin $PIN"
# Only its hash is stored.
sqlite3 "$STATE/ledger.db" .dump | grep -q "$CODE" && fail "the console stores the code in clear"

# 2. join --short with the console's address and pin, typed as a person
# would (lower case, a space in the middle).
TYPED="$(echo "$CODE" | cut -c1-5 | tr 'A-Z' 'a-z') $(echo "$CODE" | cut -c6-10)"
qh-agent join --short "$TYPED" --console "127.0.0.1:$PORT" --pin "$PIN" \
    --config "$T/a1" >"$T/j1.out" 2>&1 || fail "join --short: $(cat "$T/j1.out")"
expect_in "$T/j1.out" "enrolled as acme"
run_agent "$T/a1"

# 3. agent-package: a copy of qh-agent that knows the console, no token.
qh-console agent-package --out "$T/qh-agent-acme" --state "$STATE" >"$T/pkg.out" \
    2>"$T/pkg.err" || fail "agent-package: $(cat "$T/pkg.err")"
[ -x "$T/qh-agent-acme" ] || fail "the package is not executable"
expect_in "$T/pkg.err" "carries no token"
tail -c 4096 "$T/qh-agent-acme" | grep -aq "console=127.0.0.1:$PORT" ||
    fail "the package does not carry the console's address"
tail -c 4096 "$T/qh-agent-acme" | grep -aq "pin=$PIN" || fail "the package does not carry the pin"
tail -c 4096 "$T/qh-agent-acme" | grep -aq "token=" && fail "the package carries a token"
# It runs like qh-agent, and does not enrol by itself.
"$T/qh-agent-acme" --version >/dev/null 2>&1 || fail "the package does not run"
CODE2=$(short)
"$T/qh-agent-acme" join --short "$CODE2" --config "$T/a2" >"$T/j2.out" 2>&1 ||
    fail "the package's join --short: $(cat "$T/j2.out")"
expect_in "$T/j2.out" "with console 127.0.0.1:$PORT"
run_agent "$T/a2" "$T/qh-agent-acme"
# A plain qh-agent knows no console: it says what it needs.
qh-agent join --short "$(short)" --config "$T/a3" >"$T/j3.out" 2>&1 &&
    fail "a plain agent joined with a short code alone"
expect_in "$T/j3.out" "needs the support server's address and pin"

# 4. Refusals. A used code.
qh-agent join --short "$CODE" --console "127.0.0.1:$PORT" --pin "$PIN" \
    --config "$T/a4" >"$T/j4.out" 2>&1 && fail "a used short code joined again"
expect_in "$T/j4.out" "already used"
# An expired code (made 20 minutes ago).
OLD=$(faketime -f '-20m' qh-console enroll acme --short --state "$STATE" 2>>"$T/admin.log") ||
    fail "enroll --short under faketime"
qh-agent join --short "$OLD" --console "127.0.0.1:$PORT" --pin "$PIN" \
    --config "$T/a5" >"$T/j5.out" 2>&1 && fail "an expired short code joined"
expect_in "$T/j5.out" "expired"
# --minutes: made 20 minutes ago with 30 minutes, it is still good.
LONG=$(faketime -f '-20m' qh-console enroll acme --short --minutes 30 --state "$STATE" 2>"$T/long.err") ||
    fail "enroll --short --minutes 30: $(cat "$T/long.err")"
expect_in "$T/long.err" "valid for 30 minutes"
qh-agent join --short "$LONG" --console "127.0.0.1:$PORT" --pin "$PIN" \
    --config "$T/along" >"$T/jlong.out" 2>&1 || fail "a code with --minutes 30 did not join after 20 minutes: $(cat "$T/jlong.out")"
expect_in "$T/jlong.out" "enrolled as acme"
qh-console enroll acme --short --minutes 121 --state "$STATE" >/dev/null 2>"$T/m121.err" &&
    fail "--minutes 121 was taken"
expect_in "$T/m121.err" "from 1 to 120"
qh-console enroll acme --minutes 5 --state "$STATE" >/dev/null 2>"$T/mnos.err" &&
    fail "--minutes without --short was taken"
expect_in "$T/mnos.err" "lifetime of a --short code"
# Not a code at all (an ambiguous letter): refused before anything is sent.
qh-agent join --short "O0O0O0O0O0" --console "127.0.0.1:$PORT" --pin "$PIN" \
    --config "$T/a6" >"$T/j6.out" 2>&1 && fail "an ambiguous code was taken"
expect_in "$T/j6.out" "not a short join code"
# Wrong codes that name a live code count against it: after 5 the right
# code is refused too. (The console slows the failing address down.)
CODE3=$(short)
LAST=$(echo "$CODE3" | cut -c10)
WRONG="$(echo "$CODE3" | cut -c1-9)$( [ "$LAST" = 2 ] && echo 3 || echo 2)"
i=0
while [ $i -lt 5 ]; do
	i=$((i + 1))
	qh-agent join --short "$WRONG" --console "127.0.0.1:$PORT" --pin "$PIN" \
	    --config "$T/w$i" >"$T/w$i.out" 2>&1 && fail "a wrong short code joined"
	expect_in "$T/w$i.out" "this code is not valid"
done
qh-agent join --short "$CODE3" --console "127.0.0.1:$PORT" --pin "$PIN" \
    --config "$T/a7" >"$T/j7.out" 2>&1 && fail "a code tried too often joined"
expect_in "$T/j7.out" "tried too often"
grep -q "join refused" "$T/console.log" || fail "the console did not log the refusals"
exit 0
