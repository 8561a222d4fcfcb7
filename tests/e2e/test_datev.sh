#!/bin/sh
# DATEV (issue 14): `ledger --format datev` writes an EXTF Buchungsstapel
# (header with 31 fields, the column names, one booking per line,
# Windows-1252, CRLF, decimal comma, Belegdatum TTMM) for a month with
# purchases, a session, an installation and a correction; its purchase
# bookings sum to what `revenue` says was purchased and its revenue
# bookings to what it recognised; tax keys and accounts follow the
# customer's country and VAT id; a batch across the fiscal year's start is
# refused; book_purchases = no leaves purchases out. `ledger --format csv
# --excel` is what German Excel opens.
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3 python3:python3

setup_session --unattended
qh() { qh-console "$@" --state "$STATE"; }
qh credit acme --hours 10 --ref INV-1 >>"$T/admin.log" 2>&1 || fail "credit"
qh credit acme --installations 1 --ref "INST 1/ü" >>"$T/admin.log" 2>&1 || fail "credit installation"
qh customer add bcorp --name "B-Corp Müller & Söhne" >>"$T/admin.log" 2>&1 || fail "customer add bcorp"
qh credit bcorp --hours 2 --ref INV-2 >>"$T/admin.log" 2>&1 || fail "credit bcorp"
qh customer set acme --country AT --vat-id ATU12345678 >>"$T/admin.log" 2>&1 || fail "customer set"

timeout 120 qh-console exec "$CODE" -- sleep 1 >>"$T/exec.log" 2>&1 || fail "exec"
timeout 60 qh-console end "$CODE" >>"$T/end.log" 2>&1 || fail "end"
# An installation: a shell session of kind installation.
printf 'exit\n' | timeout 120 qh-console attach "$CODE" --kind installation >>"$T/attach.log" 2>&1
timeout 60 qh-console end "$CODE" >>"$T/end.log" 2>&1 || fail "end installation"
DEBIT=$(sqlite3 "$STATE/ledger.db" "SELECT id FROM ledger WHERE kind = 'session' AND units < 0 LIMIT 1")
[ -n "$DEBIT" ] || fail "no session debit"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT count(*) FROM ledger WHERE kind = 'installation'")" = 1 ] ||
    fail "no installation entry: $(cat "$T/attach.log")"
qh correct "$DEBIT" --units 1 --reason "goodwill" >>"$T/admin.log" 2>&1 || fail "correct"

MONTH=$(TZ=Europe/Berlin date +%Y-%m)
FROM="$MONTH-01"
TO=$(TZ=Europe/Berlin date +%Y-%m-%d)
qh revenue --month "$MONTH" --json >"$T/revenue.json" 2>>"$T/admin.log" || fail "revenue"
qh ledger --format datev --from "$FROM" --to "$TO" >"$T/at.csv" 2>"$T/datev.err" ||
    fail "ledger --format datev: $(cat "$T/datev.err")"

# check FILE MODE: the batch's format, and its sums against revenue.
check() {
	python3 - "$1" "$T/revenue.json" "$2" "$FROM" "$TO" <<'PY'
import csv, io, json, sys
path, rev_path, mode, frm, to = sys.argv[1:]
raw = open(path, "rb").read()
assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b""), "not CRLF"
text = raw.decode("cp1252")
assert "\ufffd" not in text
lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
head, cols, rows = lines[0], lines[1], lines[2:]
assert len(head) == 31, (len(head), head)
assert head[0:5] == ["EXTF", "700", "21", "Buchungsstapel", "13"], head
assert head[10] == "1001" and head[11] == "1", head
assert head[12] == frm[:4] + "0101" and head[13] == "4", head
assert head[14] == frm.replace("-", "") and head[15] == to.replace("-", ""), head
assert head[21] == "EUR", head
assert len(cols) == 14 and cols[0] == "Umsatz (ohne Soll/Haben-Kz)" and cols[9] == "Belegdatum", cols
assert cols[8] == "BU-Schlüssel", cols
eur = [c for c in json.load(open(rev_path))["currencies"] if c["currency"] == "EUR"][0]
bought = earned = 0
for r in rows:
    assert len(r) == 14, r
    assert r[1] in ("S", "H") and r[2] == "EUR", r
    euros, cents = r[0].split(",")
    assert len(cents) == 2 and euros.isdigit(), r
    amount = (int(euros) * 100 + int(cents)) * (1 if r[1] == "S" else -1)
    assert len(r[9]) == 4 and r[9].isdigit() and r[9][2:] == frm[5:7], r
    assert len(r[10]) <= 36 and len(r[13]) <= 60, r
    if r[6] == "1200":
        assert r[7] == "1710" and r[8] == "", r
        bought += amount
    else:
        assert r[6] == "1710", r
        earned += amount
        if mode == "AT":
            assert r[7] == "8336" and r[8] == "", r
        elif mode == "DE":
            assert r[7] == "8200" and r[8] == "3", r
        elif mode == "CH":
            assert r[7] == "8338" and r[8] == "", r
if mode == "nopurchases":
    assert bought == 0 and not any(r[6] == "1200" for r in rows), rows
else:
    want = eur["purchased_cents"] + eur["installations_purchased_cents"]
    assert bought == want, (bought, want)
    assert any("Müller & Söhne" in r[13] for r in rows), rows
want = eur["recognised_cents"] + eur["installations_used_cents"]
assert earned == want, (earned, want)
assert eur["installations_used_cents"] > 0, eur
assert any(r[13].startswith("Sitzung ") and r[1] == "S" for r in rows), "the session's booking"
assert any(r[1] == "H" and r[6] == "1710" for r in rows), "the correction's booking"
print(len(rows))
PY
}
N=$(check "$T/at.csv" AT) || fail "DATEV export (AT): $(cat "$T/at.csv")"
[ "$N" -ge 5 ] || fail "only $N bookings"
qh customer set acme --country DE --vat-id "" >>"$T/admin.log" 2>&1 || fail "set DE"
qh ledger --format datev --from "$FROM" --to "$TO" >"$T/de.csv" 2>>"$T/datev.err" || fail "datev DE"
check "$T/de.csv" DE >/dev/null || fail "DATEV export (DE): $(cat "$T/de.csv")"
qh customer set acme --country CH >>"$T/admin.log" 2>&1 || fail "set CH"
qh ledger --format datev --from "$FROM" --to "$TO" >"$T/ch.csv" 2>>"$T/datev.err" || fail "datev CH"
check "$T/ch.csv" CH >/dev/null || fail "DATEV export (CH): $(cat "$T/ch.csv")"
# Over TLS with an accounting bundle: the same bookings.
qh-console tech add bob --name "Bob Books" --role accounting --out "$T/bob.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add bob"
qh-console ledger --format datev --from "$FROM" --to "$TO" --tech "$T/bob.pem" >"$T/tls.csv" \
    2>>"$T/datev.err" || fail "datev over TLS: $(cat "$T/datev.err")"
[ "$(tail -n +3 "$T/tls.csv")" = "$(tail -n +3 "$T/ch.csv")" ] || fail "DATEV over TLS differs"

# One batch, one fiscal year.
Y=$(TZ=Europe/Berlin date +%Y)
qh ledger --format datev --from "$((Y - 1))-12-01" --to "$Y-01-31" >"$T/cross.csv" 2>"$T/cross.err"
[ $? -eq 2 ] || fail "a batch across the fiscal year's start was not refused"
expect_in "$T/cross.err" "one fiscal year"
# book_purchases = no: the shop books the invoices.
printf '\n[datev]\nbook_purchases = no\n' >>"$STATE/console.conf"
qh ledger --format datev --from "$FROM" --to "$TO" >"$T/nop.csv" 2>>"$T/datev.err" || fail "datev nopurchases"
check "$T/nop.csv" nopurchases >/dev/null || fail "book_purchases = no: $(cat "$T/nop.csv")"

# ledger --format csv --excel: BOM, ';', the amount with a decimal comma.
qh ledger --format csv --excel >"$T/excel.csv" 2>>"$T/datev.err" || fail "ledger --excel"
qh ledger --format csv >"$T/plain.csv" 2>>"$T/datev.err" || fail "ledger csv"
python3 - "$T/excel.csv" "$T/plain.csv" <<'PY' || fail "--excel: $(cat "$T/excel.csv")"
import csv, sys
raw = open(sys.argv[1], "rb").read()
assert raw.startswith(b"\xef\xbb\xbf"), "no BOM"
xl = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline=""), delimiter=";"))
plain = list(csv.reader(open(sys.argv[2], encoding="utf-8", newline="")))
assert len(xl) == len(plain) and xl[0][:-1] == plain[0] and xl[0][-1] == "amount", xl[0]
i = plain[0].index("amount_cents")
for a, b in zip(xl[1:], plain[1:]):
    assert a[:-1] == b, (a, b)
    cents = int(b[i])
    assert a[-1] == "%s%d,%02d" % ("-" if cents < 0 else "", abs(cents) // 100, abs(cents) % 100), a
PY
echo ok
