#!/bin/sh
# The ledger as admin and accounting see it, without a running console:
# purchases priced by tier and idempotent on their reference, refusals that
# write nothing, a correction, the balance, exports that Python's csv and
# json modules read back exactly (a customer name with a comma, a quote and
# a line break), the month's revenue, and verify catching an entry changed
# with the sqlite3 shell.
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3

setup_console

# expect_status WANT NAME CMD...: runs CMD, checks its exit status.
expect_status() {
	_want=$1
	_name=$2
	shift 2
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
	_got=$?
	[ "$_got" -eq "$_want" ] ||
	    fail "$_name: exit $_got, want $_want ($(cat "$T/$_name.err"))"
}

# entries: prints the number of ledger entries.
entries() {
	sqlite3 "$STATE/ledger.db" 'SELECT count(*) FROM ledger'
}

NAME=$(printf 'Müller, "Max"\nGmbH')
expect_status 0 customer qh-console customer add acme --state "$STATE" --name "$NAME"

# A purchase of 10 hours: 40 units at the 10-hour tier (27.50 EUR).
expect_status 0 credit qh-console credit acme --hours 10 --ref INV-1 --state "$STATE"
expect_in "$T/credit.out" "entry 1: acme +40 units (10 h) at 27.50 EUR/unit = 1100.00 EUR"
expect_in "$T/credit.out" "balance 40 units (10 h 00 min)"

# The same reference again: nothing new, the original entry printed.
expect_status 0 credit-again qh-console credit acme --hours 10 --ref INV-1 --state "$STATE"
cmp -s "$T/credit.out" "$T/credit-again.out" || fail "the retry printed another entry"
[ "$(entries)" = 1 ] || fail "the retry wrote an entry"

# The same reference with different content is refused.
expect_status 1 credit-clash qh-console credit acme --hours 11 --ref INV-1 --state "$STATE"
expect_in "$T/credit-clash.err" "reference INV-1 is already booked with different content (entry 1)"

# Refusals write nothing.
expect_status 1 credit-unknown qh-console credit nobody --hours 1 --ref INV-2 --state "$STATE"
expect_in "$T/credit-unknown.err" "no customer nobody"
"$QH_BIN/qh-console" credit acme --units 0 --ref INV-3 --state "$STATE" \
    >"$T/zero.out" 2>"$T/zero.err"
status=$?
[ "$status" -eq 1 ] || [ "$status" -eq 2 ] || fail "a zero purchase: exit $status, want 2"
expect_status 1 credit-neg qh-console credit acme --hours -1 --ref INV-4 --state "$STATE"
expect_status 2 credit-two qh-console credit acme --hours 1 --units 4 --ref INV-5 \
    --state "$STATE"
expect_status 2 credit-noref qh-console credit acme --hours 1 --state "$STATE"
expect_status 1 correct-missing qh-console correct 99 --units 2 --reason "no such" \
    --state "$STATE"
expect_in "$T/correct-missing.err" "no ledger entry 99"
expect_status 1 correct-zero qh-console correct 1 --units 0 --reason "nothing" \
    --state "$STATE"
[ "$(entries)" = 1 ] || fail "a refusal wrote an entry"

# A correction takes two units back, with the reason and the acting login.
expect_status 0 correct env QH_ACTOR=alice qh-console correct 1 --units -2 \
    --reason "booked twice, see INV-1" --state "$STATE"
expect_in "$T/correct.out" "entry 2: acme correction -2 units"
expect_in "$T/correct.out" "balance 38 units"
[ "$(sqlite3 "$STATE/ledger.db" 'SELECT actor || "|" || corrects FROM ledger WHERE id = 2')" \
    = "alice|1" ] || fail "the correction's actor or reference"

# Installations are bought separately (R8) at the configured price.
expect_status 0 credit-inst qh-console credit acme --installations 2 --ref INST-1 \
    --state "$STATE"
expect_in "$T/credit-inst.out" "+2 installations at 150.00 EUR/installation = 300.00 EUR"

# The balance.
expect_status 0 balance qh-console balance acme --json --state "$STATE"
python3 - "$T/balance.out" <<'EOF' || fail "balance --json: $(cat "$T/balance.out")"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["units"] == 38, b
assert b["hours"] == "9 h 30 min", b
assert b["installations"] == 2, b
assert b["running_units"] == 0 and b["available_units"] == 38, b
assert b["warn_units"] == 4, b
EOF
expect_status 0 balance-text qh-console balance acme --state "$STATE"
expect_in "$T/balance-text.out" "38 units (9 h 30 min)"
expect_status 1 balance-unknown qh-console balance nobody --state "$STATE"

# CSV: the contract's columns in order; the name round-trips exactly.
expect_status 0 csv qh-console ledger --format csv --state "$STATE"
python3 - "$T/csv.out" "$NAME" <<'EOF' || fail "expected ledger --format csv as checked above: $(tail -n 1 "$T/csv.out")"
import csv, sys
contract = ("entry_id,posted_at,customer_id,kind,units,balance_after,session_id,"
    "started_at,ended_at,billable_seconds,technician,after_hours,lot_id,amount_cents,"
    "currency,reference,note,entry_hash,installations").split(",")
data = open(sys.argv[1], "rb").read()
assert b"\r\n" in data and data.endswith(b"\r\n"), "CRLF line ends"
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
header, body = rows[0], rows[1:]
assert header[:19] == contract, header
assert len(body) == 3, body
col = {name: i for i, name in enumerate(header)}
for r in body:
    assert len(r) == len(header), r
    assert r[col["customer_name"]] == sys.argv[2], repr(r[col["customer_name"]])
    assert r[col["posted_at"]].endswith("Z"), r
assert [r[col["kind"]] for r in body] == ["purchase", "correction",
    "installation_purchase"]
assert [r[col["units"]] for r in body] == ["40", "-2", "0"]
assert body[0][col["amount_cents"]] == "110000" and body[0][col["lot_id"]] == "1"
assert body[1][col["note"]] == "booked twice, see INV-1"
assert body[2][col["installations"]] == "2"
assert body[0][col["session_id"]] == "" and body[0][col["currency"]] == "EUR"
EOF

# JSONL: one object per line, with allocations.
expect_status 0 jsonl qh-console ledger --format jsonl --customer acme --state "$STATE"
python3 - "$T/jsonl.out" "$NAME" <<'EOF' || fail "expected ledger --format jsonl as checked above: $(tail -n 1 "$T/jsonl.out")"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(lines) == 3, lines
objs = [json.loads(l) for l in lines]
assert objs[0]["customer_name"] == sys.argv[2]
assert objs[0]["units"] == 40 and objs[0]["session_id"] is None
assert objs[1]["allocations"] == [{"lot_id": 1, "units": 2, "amount_cents": 5500,
    "posted_at": objs[1]["posted_at"]}], objs[1]
EOF

# Date filters are local days; --to is inclusive.
today=$(TZ=Europe/Berlin date +%Y-%m-%d)
tomorrow=$(TZ=Europe/Berlin date -d tomorrow +%Y-%m-%d)
expect_status 0 today qh-console ledger --from "$today" --to "$today" --state "$STATE"
[ "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline="")))))' \
    "$T/today.out")" = 4 ] || fail "--from/--to today: $(cat "$T/today.out")"
expect_status 0 tomorrow qh-console ledger --from "$tomorrow" --state "$STATE"
[ "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], newline="")))))' \
    "$T/tomorrow.out")" = 1 ] || fail "--from tomorrow: $(cat "$T/tomorrow.out")"
expect_status 2 bad-date qh-console ledger --from 2026-13-01 --state "$STATE"
expect_status 2 bad-format qh-console ledger --format xml --state "$STATE"

# The month's revenue: the correction took 2 units back from the purchase
# (booked twice), so 38 were purchased at 27.50 and nothing was earned yet.
month=$(TZ=Europe/Berlin date +%Y-%m)
expect_status 0 revenue qh-console revenue --month "$month" --json --state "$STATE"
python3 - "$T/revenue.out" <<'EOF' || fail "revenue --json: $(cat "$T/revenue.out")"
import json, sys
r = json.load(open(sys.argv[1]))
eur = [c for c in r["currencies"] if c["currency"] == "EUR"][0]
assert eur["units_debited"] == 0 and eur["recognised_cents"] == 0, eur
assert eur["deferred_units"] == 38 and eur["deferred_cents"] == 38 * 2750, eur
assert eur["units_purchased"] == 38 and eur["purchased_cents"] == 38 * 2750, eur
EOF
expect_status 0 revenue-text qh-console revenue --month "$month" --state "$STATE"
expect_status 2 revenue-bad qh-console revenue --month 2026-13 --state "$STATE"

# verify passes, then names the entry changed behind the ledger's back.
expect_status 0 verify qh-console verify --state "$STATE"
expect_in "$T/verify.out" "ledger ok: 3 entries"
sqlite3 "$STATE/ledger.db" "DROP TRIGGER ledger_no_update; UPDATE ledger SET units = 99 WHERE id = 1;" ||
    fail "expected sqlite3 to rewrite a ledger row (to tamper with it)"
expect_status 1 verify-tampered qh-console verify --state "$STATE"
expect_in "$T/verify-tampered.err" "entry 1"
expect_in "$T/verify-tampered.err" "hash mismatch"

echo "ok: ledger cli"
