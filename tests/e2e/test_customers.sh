#!/bin/sh
# Customers and staff (issue 14): refusals name the problem and never
# show SQL; customer set --country --vat-id; customer show; customer
# disable refuses the customer's agents with a clear reason and keeps its
# history, enable lets them in again, and disabling a customer whose agent
# is in a session ends it (debited once); tech list [--json].
. "$(dirname "$0")/lib.sh"
requires python3:python3 sqlite3:sqlite3

setup_console
qc() { qh-console "$@" --state "$STATE"; }
qc customer add acme --name "ACME GmbH" >>"$T/admin.log" 2>&1 || fail "customer add"

# no_sql FILE: the text shows nothing of the database's language.
no_sql() {
	grep -qiE 'sqlite|constraint|SQL|UNIQUE|CHECK' "$1" && fail "SQL in $1: $(cat "$1")"
	return 0
}
qc customer add acme --name "Again" >"$T/dup.out" 2>"$T/dup.err" && fail "a second acme was added"
expect_in "$T/dup.err" "customer acme exists"
no_sql "$T/dup.err"
qh-console tech add alice --name "Alice" --out "$T/alice.pem" --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "tech add alice"
qh-console tech add alice --name "Alice" --out "$T/alice2.pem" --state "$STATE" >"$T/tdup.out" 2>"$T/tdup.err" &&
    fail "a second alice was added"
expect_in "$T/tdup.err" "technician alice exists"
no_sql "$T/tdup.err"
qh-console tech add bob --name "Bob Books" --role accounting --out "$T/bob.pem" --state "$STATE" \
    >>"$T/admin.log" 2>&1 || fail "tech add bob"
qc customer set nosuch --country AT >"$T/nosuch.out" 2>"$T/nosuch.err" && fail "set on an unknown customer"
expect_in "$T/nosuch.err" "no customer nosuch"

# Country and VAT id.
qc customer set acme --country at >"$T/badc.out" 2>"$T/badc.err" && fail "--country at was accepted"
expect_in "$T/badc.err" "two-letter ISO 3166 code"
qc customer set acme --vat-id "AT U1" >"$T/badv.out" 2>"$T/badv.err" && fail "a VAT id with a space was accepted"
no_sql "$T/badv.err"
qc customer set acme --country AT --vat-id ATU12345678 >"$T/set.out" 2>"$T/set.err" ||
    fail "customer set: $(cat "$T/set.err")"
expect_in "$T/set.out" "country, vat-id"
qc customer show acme >"$T/show.out" 2>&1 || fail "customer show"
expect_in "$T/show.out" "country: *AT"
expect_in "$T/show.out" "VAT id: *ATU12345678"
qc customer show acme --json >"$T/show.json" 2>&1 || fail "customer show --json"
python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))
assert c['country'] == 'AT' and c['vat_id'] == 'ATU12345678' and c['disabled_at'] is None, c
" "$T/show.json" || fail "customer show --json: $(cat "$T/show.json")"
qc customer set acme --vat-id "" >>"$T/admin.log" 2>&1 || fail "removing the VAT id"
qc customer show acme --json | python3 -c "import json,sys; assert json.load(sys.stdin)['vat_id'] is None" ||
    fail "the VAT id was not removed"

# tech list, as a table and as JSON.
qc tech list >"$T/techs.out" 2>&1 || fail "tech list"
expect_in "$T/techs.out" "alice"
expect_in "$T/techs.out" "accounting"
qh-console tech revoke alice --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech revoke"
qc tech list --json >"$T/techs.json" 2>&1 || fail "tech list --json"
python3 -c "
import json, sys
t = {r['login']: r for r in json.load(open(sys.argv[1]))}
assert set(t) == {'alice', 'bob'}, t
assert t['alice']['role'] == 'technician' and t['alice']['revoked_at'], t
assert t['bob']['role'] == 'accounting' and t['bob']['revoked_at'] is None, t
assert t['bob']['cert_not_after'], t
" "$T/techs.json" || fail "tech list --json: $(cat "$T/techs.json")"

# Disable: no enrolment, its agents refused with the reason, its history kept.
qc credit acme --hours 2 --ref INV-1 >>"$T/admin.log" 2>&1 || fail "credit"
start_console
TOKEN=$(qc enroll acme 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"
qc customer disable acme >"$T/dis.out" 2>&1 || fail "customer disable: $(cat "$T/dis.out")"
qc customer disable acme >"$T/dis2.out" 2>"$T/dis2.err" && fail "disabling twice succeeded"
expect_in "$T/dis2.err" "customer acme is disabled already"
qc enroll acme >"$T/en.out" 2>"$T/en.err" && fail "a disabled customer got a join token"
expect_in "$T/en.err" "customer acme is disabled"
qc enroll acme --short >"$T/ens.out" 2>"$T/ens.err" && fail "a disabled customer got a short code"
expect_in "$T/ens.err" "customer acme is disabled"
qc customer show acme >"$T/show2.out" 2>&1 || fail "customer show of a disabled customer"
expect_in "$T/show2.out" "disabled: *since"
qh-agent run --config "$T/agent" --yes </dev/null >"$T/agent.out" 2>"$T/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_until "grep -q 'disabled remote support' '$T/agent.log' '$T/agent.out'" 30 ||
    fail "the agent of a disabled customer was not told why"
grep -q 'session code' "$T/agent.out" && fail "a disabled customer's agent got a code"
expect_in "$T/console.log" "customer acme is disabled"
qc balance acme >"$T/bal.out" 2>&1 || fail "balance of a disabled customer"
expect_in "$T/bal.out" "balance        8 units"
qc verify >"$T/verify.out" 2>&1 || fail "verify after disable: $(cat "$T/verify.out")"

# Enable: the same agent, still retrying, comes in.
qc customer enable acme >"$T/ena.out" 2>&1 || fail "customer enable"
wait_until "grep -q 'session code' '$T/agent.out'" 60 || fail "the agent did not come in after enable"

# Disabled while its agent is in a session: the session closes at once
# (debited, stored with reason revoked), the agent is told why and leaves
# the queue.
qh-console tech add carol --name "Carol" --out "$T/carol.pem" --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "tech add carol"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out" | tail -n 1)
out=$(timeout 60 qh-console exec "$CODE" --tech "$T/carol.pem" -- echo carol-here 2>"$T/carol.err") ||
    fail "exec before disable: $(cat "$T/carol.err")"
[ "$out" = carol-here ] || fail "exec printed '$out'"
qc customer disable acme >>"$T/admin.log" 2>&1 || fail "customer disable in session"
wait_until "grep -q 'closed (your support vendor disabled remote support for this customer)' '$T/agent.out'" 10 ||
    fail "the connected agent of a disabled customer was not told: $(tail -n 5 "$T/agent.out")"
expect_in "$T/console.log" "customer acme was disabled; its session closes"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT count(*) FROM sessions WHERE closed_at IS NOT NULL AND close_reason = 'revoked'")" = 1 ] ||
    fail "the session did not close with reason revoked"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT count(*) FROM ledger WHERE kind = 'session'")" = 1 ] ||
    fail "the session was not debited once"
qh-console queue --json --tech "$T/carol.pem" >"$T/queue.json" 2>&1 || fail "queue"
grep -q "$CODE" "$T/queue.json" && fail "the disabled customer's agent is still in the queue"
qc verify >"$T/verify2.out" 2>&1 || fail "verify after disable in session: $(cat "$T/verify2.out")"
echo ok
