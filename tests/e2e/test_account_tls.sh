#!/bin/sh
# Accounting from anywhere (issue 14): balance, ledger, revenue, verify,
# sessions and tickets with an accounting bundle over TLS give exactly what
# they give on the console host with --state; a technician's bundle reads
# only the balance of a customer with an agent waiting, and never the
# ledger; a revoked accounting bundle is refused; the precedence of
# --state, --tech and the environment; the error without either names both.
. "$(dirname "$0")/lib.sh"
requires env:coreutils

setup_session
qh-console customer add other --name "Other Ltd" --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "customer add other"
qh-console credit acme --hours 10 --ref INV-1 --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "credit"
qh-console tech add bob --name "Bob Books" --role accounting --out "$T/bob.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add bob"
qh-console tech add eve --name "Eve Books" --role accounting --out "$T/eve.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add eve"
MONTH=$(date -u +%Y-%m)

# same NAME ARGS...: the report over TLS with bob's bundle equals the local one.
same() {
	_n=$1
	shift
	env -u QH_TECH qh-console "$@" --state "$STATE" >"$T/$_n.local" 2>"$T/$_n.local.err" ||
	    fail "$_n on the console host: $(cat "$T/$_n.local.err")"
	env -u QH_STATE qh-console "$@" --tech "$T/bob.pem" >"$T/$_n.tls" 2>"$T/$_n.tls.err" ||
	    fail "$_n over TLS: $(cat "$T/$_n.tls.err")"
	[ -s "$T/$_n.local" ] || fail "$_n printed nothing"
	cmp -s "$T/$_n.local" "$T/$_n.tls" || fail "$_n differs over TLS: $(diff "$T/$_n.local" "$T/$_n.tls" | head -5)"
}
same balance balance acme
same balance-json balance acme --json
same balances balances
same balances-json balances --json
same ledger ledger
same ledger-acme ledger --customer acme --format jsonl
same revenue revenue --month "$MONTH"
same verify verify
same sessions sessions --json
same tickets tickets --json
expect_in "$T/ledger.tls" "INV-1"
python3 -c 'import json, sys
ids = sorted(b["customer"] for b in json.load(open(sys.argv[1])))
assert ids == ["acme", "other"], ids' "$T/balances-json.tls" || fail "balances is not every customer: $(cat "$T/balances-json.tls")"
expect_in "$T/console.log" "report ledger"

# A report's failure keeps its status and its reason over TLS.
qh-console balance nosuch --tech "$T/bob.pem" >"$T/nosuch.out" 2>"$T/nosuch.err"
[ $? -eq 1 ] || fail "balance of an unknown customer over TLS did not exit 1"
expect_in "$T/nosuch.err" "no customer nosuch"

# Options that would write or choose the state never reach the console's report.
qh-console ledger --out "$T/x.csv" --tech "$T/bob.pem" >"$T/out.out" 2>"$T/out.err" &&
    fail "ledger --out over TLS was accepted"
[ ! -e "$T/x.csv" ] || fail "ledger --out wrote a file"

# The technician alice ($QH_TECH): acme's balance (its agent waits), no other's, no ledger.
qh-console balance acme >"$T/alice-bal.out" 2>"$T/alice-bal.err" ||
    fail "alice cannot read acme's balance: $(cat "$T/alice-bal.err")"
cmp -s "$T/balance.local" "$T/alice-bal.out" || fail "alice's balance differs"
qh-console balance other >"$T/alice-other.out" 2>"$T/alice-other.err" &&
    fail "alice read the balance of a customer without an agent"
expect_in "$T/alice-other.err" "waiting or in session"
qh-console ledger >"$T/alice-ledger.out" 2>"$T/alice-ledger.err" &&
    fail "a technician's bundle read the ledger"
expect_in "$T/alice-ledger.err" "only an accounting certificate reads the ledger"
[ ! -s "$T/alice-ledger.out" ] || fail "the refused ledger printed something"
qh-console balances >"$T/alice-balances.out" 2>"$T/alice-balances.err" &&
    fail "alice read every customer's balance"
expect_in "$T/alice-balances.err" "only an accounting certificate"

# Precedence: --state wins over $QH_TECH; $QH_STATE over $QH_TECH; --tech over $QH_STATE.
QH_TECH="$T/nonexistent.pem" qh-console balance acme --state "$STATE" >/dev/null 2>&1 ||
    fail "--state did not win over QH_TECH"
QH_STATE="$STATE" QH_TECH="$T/nonexistent.pem" qh-console balance acme >/dev/null 2>&1 ||
    fail "QH_STATE did not win over QH_TECH"
QH_STATE="$T/nonexistent" qh-console balance acme --tech "$T/bob.pem" >/dev/null 2>&1 ||
    fail "--tech did not win over QH_STATE"
qh-console balance acme --state "$STATE" --tech "$T/bob.pem" >/dev/null 2>"$T/both.err" &&
    fail "--state and --tech together were accepted"
# Neither: the error names both ways (no ledger.db and no bundle in the default places).
env -u QH_TECH -u QH_STATE HOME="$T/nohome" qh-console ledger >/dev/null 2>"$T/neither.err" &&
    fail "ledger ran without a state or a bundle"
expect_in "$T/neither.err" "--state DIR"
expect_in "$T/neither.err" "--tech FILE"
# The default bundle place counts last.
mkdir -p "$T/home/.config/quarterhour"
cp "$T/bob.pem" "$T/home/.config/quarterhour/tech.conf"
chmod 600 "$T/home/.config/quarterhour/tech.conf"
env -u QH_TECH -u QH_STATE HOME="$T/home" qh-console balance acme >"$T/dflt.out" 2>"$T/dflt.err" ||
    fail "the default bundle was not used: $(cat "$T/dflt.err")"

# A revoked accounting bundle is refused, and eve's still works.
qh-console tech revoke bob --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech revoke bob"
qh-console ledger --tech "$T/bob.pem" >"$T/revoked.out" 2>"$T/revoked.err" &&
    fail "a revoked accounting bundle read the ledger"
grep -qi "revoked" "$T/revoked.err" || fail "the refusal does not say revoked: $(cat "$T/revoked.err")"
[ ! -s "$T/revoked.out" ] || fail "the revoked bundle got output"
qh-console verify --tech "$T/eve.pem" >"$T/eve.out" 2>"$T/eve.err" ||
    fail "eve's verify over TLS: $(cat "$T/eve.err")"
echo ok
