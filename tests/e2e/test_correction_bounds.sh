#!/bin/sh
# Corrections keep their bounds (issue 10, #8): `correct 1 --units -10`
# against a 9-unit purchase is refused, as are a correction with the
# entry's own sign and one of a correction; what earlier corrections took
# counts; each correction is valued at the lot it takes from, the second
# one as much as the first. Refusals say which rule and write nothing.
. "$(dirname "$0")/lib.sh"

setup_console
qh() { qh-console "$@" --state "$STATE"; }
expect_status() {	# WANT NAME CMD...: runs CMD, checks its exit status
	_want=$1
	_name=$2
	shift 2
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
	_got=$?
	[ "$_got" -eq "$_want" ] ||
	    fail "$_name: exit $_got, want $_want ($(cat "$T/$_name.err"))"
}
entries() { sqlite3 "$STATE/ledger.db" 'SELECT count(*) FROM ledger'; }

qh customer add acme --name "ACME GmbH" >"$T/admin.log" 2>&1 || fail "customer add"
qh credit acme --units 9 --ref INV-1 >>"$T/admin.log" 2>&1 || fail "credit"
qh credit acme --units 8 --ref INV-2 --price-cents 2500 >>"$T/admin.log" 2>&1 ||
    fail "credit 2"

# More than the purchase booked: refused, nothing written.
expect_status 1 too-much qh correct 1 --units -10 --reason "typo"
expect_in "$T/too-much.err" "entry 1 (purchase) booked +9 units"
expect_in "$T/too-much.err" "at most 9 more; nothing written"
[ "$(entries)" = 2 ] || fail "a refused correction wrote an entry"

# Two corrections, each valued at the purchase's own lot (30.00 a unit).
expect_status 0 first qh correct 1 --units -3 --reason "three were booked twice"
expect_in "$T/first.out" "entry 3: acme correction -3 units (-45 min) correcting entry 1 = -90.00 EUR, lot 1"
expect_status 0 second qh correct 1 --units -3 --reason "and three more"
expect_in "$T/second.out" "entry 4: acme correction -3 units (-45 min) correcting entry 1 = -90.00 EUR, lot 1"

# What the first two took counts; the sign and the corrected entry are bounded.
expect_status 1 third qh correct 1 --units -4 --reason "one too many"
expect_in "$T/third.err" "a correction may move at most 3 more"
expect_status 1 sign qh correct 1 --units 2 --reason "the wrong way"
expect_in "$T/sign.err" "its correction has the opposite sign"
expect_status 1 of-correction qh correct 3 --units 1 --reason "undo the undo"
expect_in "$T/of-correction.err" "entry 3 is a correction"
[ "$(entries)" = 4 ] || fail "a refused correction wrote an entry"

# The other purchase's lot is untouched; the balance and verify agree.
expect_status 0 lot2 qh correct 2 --units -8 --reason "cancelled"
expect_in "$T/lot2.out" "= -200.00 EUR, lot 2"
expect_status 0 balance qh balance acme --json
python3 -c 'import json,sys; b = json.load(open(sys.argv[1])); assert b["units"] == 3, b' \
    "$T/balance.out" || fail "balance: $(cat "$T/balance.out")"
expect_status 0 jsonl qh ledger --format jsonl
python3 - "$T/jsonl.out" <<'EOF' || fail "ledger jsonl: $(cat "$T/jsonl.out")"
import json, sys
rows = {o["entry_id"]: o for o in map(json.loads, open(sys.argv[1]))}
for i, lot, cents in ((3, 1, 9000), (4, 1, 9000), (5, 2, 20000)):
    assert rows[i]["amount_cents"] == -cents, rows[i]
    assert [(a["lot_id"], a["amount_cents"]) for a in rows[i]["allocations"]] == \
        [(lot, cents)], rows[i]
EOF
expect_status 0 verify qh verify
echo "ok: corrections keep their bounds"
exit 0
