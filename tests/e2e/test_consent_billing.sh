#!/bin/sh
# What the customer and the technician hear before and around the consent
# question (issue 13): a session that cannot be billed (free plan, no units,
# no installation credit) is refused before anybody is asked, the customer
# reads why and how to file a ticket, the technician reads the same reason
# at once; with --allow-overdraft the question says the session is billed
# as overdraft; an installation speaks of installation credits, not units;
# an unanswered question is withdrawn after [session] consent_timeout and
# the technician reads "no answer", after "waiting for the customer to
# allow ..." while it waited.
. "$(dirname "$0")/lib.sh"
requires tmux:tmux

setup_console
# A short consent timeout (init writes the default, 60).
sed -i 's/^consent_timeout = 60$/consent_timeout = 4/' "$STATE/console.conf"
grep -q '^consent_timeout = 4$' "$STATE/console.conf" || fail "consent_timeout not set"
{
	qh-console customer add free --name "Free AG" --plan free --state "$STATE"
	qh-console customer add empty --name "Empty GmbH" --state "$STATE"
	qh-console customer add acme --name "ACME GmbH" --state "$STATE"
	qh-console credit acme --units 8 --ref R1 --state "$STATE"
	qh-console credit acme --installations 1 --ref R2 --state "$STATE"
	qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" --state "$STATE"
} >"$T/admin.log" 2>&1 || fail "admin setup"
export QH_TECH="$T/alice.pem"
start_console

enrol() {	# customer: an agent config in $T/CUSTOMER
	_tok=$(qh-console enroll "$1" --state "$STATE" 2>>"$T/admin.log") || fail "enroll $1"
	qh-agent join "$_tok" --config "$T/$1" >>"$T/join.log" 2>&1 || fail "join $1"
}
code_of() {	# file: the six digits of the last code shown (English or German)
	sed -n 's/.*[Ss]\(ession \|itzungs\)code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\2\3/p' "$1" |
	    tail -n 1
}
run_agent() {	# name customer [flags]: no terminal; sets CODE
	_n=$1 _c=$2
	shift 2
	qh-agent run --config "$T/$_c" "$@" </dev/null >"$T/$_n.out" 2>"$T/$_n.log" &
	PIDS="$PIDS $!"
	wait_until "grep -Eq 'session code|Sitzungscode' '$T/$_n.out'" 30 || fail "$_n shows no code"
	CODE=$(code_of "$T/$_n.out")
}
for c in free empty acme; do enrol $c; done

# 1. Free plan: refused before consent; both sides read why.
run_agent free free
timeout 60 qh-console exec "$CODE" -- echo ran >"$T/x1.out" 2>"$T/x1.err" &&
    fail "a free-plan customer's session started"
grep -q ran "$T/x1.out" && fail "the free-plan command ran"
expect_in "$T/x1.err" "has free support only"
expect_in "$T/x1.err" "the customer has been told"
grep -q "waiting for the customer" "$T/x1.err" && fail "free plan: the technician waited for consent"
wait_until "grep -q 'wanted to connect, but remote sessions are for the premium plan' '$T/free.out'" 10 ||
    fail "the free-plan customer was not told: $(cat "$T/free.out")"
expect_in "$T/free.out" 'qh-agent ticket --subject'
# Nobody was asked: an agent without a terminal would have refused a question.
grep -q "no --yes and no terminal to ask" "$T/free.out" && fail "free plan: consent was asked"

# The same in German (Sie-form) for an agent run with --lang de.
run_agent freede free --lang de
timeout 60 qh-console exec "$CODE" -- echo ran >/dev/null 2>"$T/x1de.err" &&
    fail "a free-plan customer's session started (de)"
wait_until "grep -q 'Remote-Sitzungen sind nur mit Premium Support möglich, diese Sitzung' '$T/freede.out'" 10 ||
    fail "the German free-plan text is missing: $(cat "$T/freede.out")"
expect_in "$T/freede.out" "Bitte legen Sie stattdessen ein Ticket an"

# 2. No units available: the same, then --allow-overdraft says so in the question.
run_agent empty empty --yes
timeout 60 qh-console exec "$CODE" -- echo ran >"$T/x2.out" 2>"$T/x2.err" &&
    fail "a session without units started"
expect_in "$T/x2.err" "has no units available"
wait_until "grep -q 'wanted to connect, but you have no units available' '$T/empty.out'" 10 ||
    fail "the customer without units was not told: $(cat "$T/empty.out")"
grep -q "connected (allowed by --yes)" "$T/empty.out" && fail "no units: consent was asked"
out=$(timeout 60 qh-console exec "$CODE" --allow-overdraft -- echo overdraft 2>"$T/x3.err") ||
    fail "exec --allow-overdraft: $(cat "$T/x3.err")"
[ "$out" = overdraft ] || fail "exec --allow-overdraft printed '$out'"
expect_in "$T/empty.out" "no units left; this session is billed as overdraft"
qh-console end "$CODE" >"$T/end2.out" 2>&1 || fail "end (overdraft)"
run_agent emptyde empty --yes --lang de
timeout 60 qh-console exec "$CODE" --allow-overdraft -- true 2>>"$T/x3.err" ||
    fail "exec --allow-overdraft (de)"
expect_in "$T/emptyde.out" "Hinweis: keine Einheiten mehr vorhanden; diese Sitzung wird als Überziehung abgerechnet"
qh-console end "$CODE" >>"$T/end2.out" 2>&1 || fail "end (overdraft, de)"

# 3. An installation: its question, start and end speak of installation credits.
run_agent acme acme --yes
expect_in "$T/acme.out" "Installation credits: 1"
TM="tmux -S $T/tmux.sock"
at_exit '$TM kill-server'
$TM new-session -d -x 120 -y 30 \
    "qh-console attach $CODE --kind installation 2>&1; sleep 600" || fail "tmux"
wait_until "$TM capture-pane -p | grep -q 'attached to'" 30 ||
    fail "no installation attach: $($TM capture-pane -p)"
expect_in "$T/acme.out" "an installation: it uses one installation credit (you have 1)"
expect_in "$T/acme.out" "started: an installation; it is recorded and uses one installation credit"
$TM send-keys Enter '~.'
qh-console end "$CODE" >"$T/end3.out" 2>&1 || fail "end (installation)"
wait_until "grep -q 'installation credits left: 0' '$T/acme.out'" 20 ||
    fail "the installation's end shows no credits left: $(cat "$T/acme.out")"
$TM kill-server 2>/dev/null

# No installation credit left: refused before consent, the customer told.
run_agent acme2 acme --yes
timeout 60 qh-console attach "$CODE" --kind installation </dev/null >"$T/x4.out" 2>"$T/x4.err" &&
    fail "an installation without credit started"
expect_in "$T/x4.err" "no installation credit left"
wait_until "grep -q 'wanted to connect for an installation, but you have no installation credit left' '$T/acme2.out'" 10 ||
    fail "the customer without installation credit was not told: $(cat "$T/acme2.out")"

# An agent with nobody to ask (no terminal, no --yes) refuses at once; the
# technician is not told to wait.
run_agent lone acme
timeout 60 qh-console exec "$CODE" -- echo ran >/dev/null 2>"$T/x4b.err" &&
    fail "an agent with nobody to ask let the technician in"
expect_in "$T/x4b.err" "the customer declined the connection"
grep -q "waiting for the customer" "$T/x4b.err" &&
    fail "the technician was told to wait for an agent with nobody to ask"

# 4. Nobody answers: "waiting ...", then "no answer" after consent_timeout,
# and the question leaves the customer's screen.
$TM new-session -d -x 120 -y 30 \
    "qh-agent run --config '$T/acme' >'$T/a5.out' 2>'$T/a5.log'" || fail "tmux (agent)"
wait_until "grep -q 'session code' '$T/a5.out'" 30 || fail "agent 5 shows no code"
CODE=$(code_of "$T/a5.out")
timeout 60 qh-console exec "$CODE" -- echo ran >"$T/x5.out" 2>"$T/x5.err" &
X5=$!
wait_until "grep -q 'wants to connect to this PC' '$T/a5.out'" 30 || fail "agent 5 was not asked"
wait_until "grep -q 'waiting for the customer to allow' '$T/x5.err'" 10 ||
    fail "the technician did not read that the console waits: $(cat "$T/x5.err")"
wait $X5 && fail "an unanswered question let the technician in"
expect_in "$T/x5.err" "no answer"
grep -q ran "$T/x5.out" && fail "the unanswered command ran"
wait_until "grep -q 'the question was withdrawn: no answer in time' '$T/a5.out'" 10 ||
    fail "the agent did not withdraw the question: $(cat "$T/a5.out")"
grep -q "consent .* not answered within 4s; withdrawn" "$T/console.log" ||
    fail "the console did not log the timeout"
# The agent asks again for the next command, and a "y" lets it in (tried
# again should a busy machine let the 4 s pass before the "y" arrives).
n=$(grep -c 'wants to connect to this PC' "$T/a5.out")
ok=0
for attempt in 1 2 3 4 5; do
	timeout 60 qh-console exec "$CODE" -- echo second >"$T/x6.out" 2>"$T/x6.err" &
	X6=$!
	wait_until "[ \$(grep -c 'wants to connect to this PC' '$T/a5.out') -gt $n ]" 30 ||
	    fail "agent 5 was not asked again (attempt $attempt): $(cat "$T/a5.out")"
	n=$(grep -c 'wants to connect to this PC' "$T/a5.out")
	$TM send-keys y Enter
	if wait $X6; then
		ok=1
		break
	fi
	grep -q "no answer" "$T/x6.err" ||
	    fail "the second command failed after consent: $(cat "$T/x6.err")"
done
[ $ok = 1 ] || fail "five questions were withdrawn before the customer's y arrived"
[ "$(cat "$T/x6.out")" = second ] || fail "the second command printed '$(cat "$T/x6.out")'"
exit 0
