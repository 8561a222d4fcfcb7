#!/bin/sh
# Money has one sign convention (issue 10, #9; docs/ledger.md): amount_cents
# has the sign of units, so a debit is negative and a correction giving
# units back positive; an overdraft debit carries the currency, is worth 0
# when written and is valued by the allocation of the purchase that settles
# it, which revenue recognises; verify checks it all.
. "$(dirname "$0")/lib.sh"

setup_session --unattended
qh() { qh-console "$@" --state "$STATE"; }
session() {	# a short command, then the session's end
	timeout 120 qh-console exec "$CODE" -- sleep 1 >>"$T/exec.log" 2>&1 ||
	    fail "exec"
	timeout 60 qh-console end "$CODE" >>"$T/end.log" 2>&1 || fail "end"
}

# No units yet: the debit is owed (R7 overdraft), in the console's currency.
session
# The purchase settles it at 27.50 a unit; the next debit is paid from the lot.
qh credit acme --hours 10 --ref INV-1 >"$T/credit.log" 2>&1 || fail "credit"
session
qh correct 3 --units 1 --reason "the printer was ours" >"$T/correct.log" 2>&1 ||
    fail "correct: $(cat "$T/correct.log")"
expect_in "$T/correct.log" "correcting entry 3 = 27.50 EUR"

qh ledger --format jsonl >"$T/ledger.jsonl" 2>"$T/ledger.log" || fail "ledger jsonl"
python3 - "$T/ledger.jsonl" <<'EOF' || fail "ledger: $(cat "$T/ledger.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
kinds = [(r["entry_id"], r["kind"], r["units"], r["amount_cents"], r["currency"])
         for r in rows]
assert kinds == [(1, "session", -1, 0, "EUR"), (2, "purchase", 40, 110000, "EUR"),
                 (3, "session", -1, -2750, "EUR"), (4, "correction", 1, 2750, "EUR")], kinds
for r in rows:
    assert r["amount_cents"] * (r["units"] or 1) >= 0, r
# The overdraft debit is valued by the purchase's allocation to it.
assert [(a["lot_id"], a["units"], a["amount_cents"]) for a in rows[0]["allocations"]] \
    == [(1, 1, 2750)], rows[0]
assert all(r["schema_version"] is not None for r in rows), rows
EOF
qh ledger --format csv >"$T/ledger.csv" 2>>"$T/ledger.log" || fail "ledger csv"
python3 - "$T/ledger.csv" <<'EOF' || fail "ledger csv: $(cat "$T/ledger.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert [r["amount_cents"] for r in rows] == ["0", "110000", "-2750", "2750"], rows
EOF

# Revenue: both debits recognised at 27.50 this month, the correction back.
month=$(TZ=Europe/Berlin date +%Y-%m)
qh revenue --month "$month" --json >"$T/revenue.json" 2>"$T/revenue.log" ||
    fail "revenue"
python3 - "$T/revenue.json" <<'EOF' || fail "revenue: $(cat "$T/revenue.json")"
import json, sys
eur = [c for c in json.load(open(sys.argv[1]))["currencies"] if c["currency"] == "EUR"][0]
assert eur["units_debited"] == 1 and eur["recognised_units"] == 1, eur
assert eur["recognised_cents"] == 2750, eur
assert eur["deferred_units"] == 39 and eur["deferred_cents"] == 39 * 2750, eur
EOF
qh verify >"$T/verify.log" 2>&1 || fail "verify: $(cat "$T/verify.log")"
echo "ok: money signs"
exit 0
