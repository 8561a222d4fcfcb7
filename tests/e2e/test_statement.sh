#!/bin/sh
# Statements (issue 14): a month with purchases, a session, an installation
# and a correction; `statement` renders a PDF (cairo) whose text layer
# (pdftotext) holds the ledger's opening and closing balance and purchases,
# that pdftoppm renders and that embeds the chart as an image (pdfimages);
# the HTML has the inline SVG chart and headless Chromium screenshots it;
# German for a German customer, English for an English one; the same over
# TLS with an accounting bundle, rendered where the command runs; --all
# writes one per customer. The console's daemon never renders (depcheck:
# no cairo in its archive).
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3 python3:python3 pdftotext:poppler-utils pdftoppm:poppler-utils pdfimages:poppler-utils convert:imagemagick chromium:chromium

setup_session --unattended
qh() { qh-console "$@" --state "$STATE"; }
printf '\n[vendor]\nname = Hilfe & Co. KG\naddress = Hauptstraße 1, 10115 Berlin\n' >>"$STATE/console.conf"
qh credit acme --hours 10 --ref INV-1 >>"$T/admin.log" 2>&1 || fail "credit"
qh credit acme --installations 1 --ref INST-1 >>"$T/admin.log" 2>&1 || fail "credit installation"
qh customer add bcorp --name "B Corp Ltd" --lang en >>"$T/admin.log" 2>&1 || fail "customer add bcorp"
qh credit bcorp --hours 2 --ref INV-2 >>"$T/admin.log" 2>&1 || fail "credit bcorp"
timeout 120 qh-console exec "$CODE" -- sleep 1 >>"$T/exec.log" 2>&1 || fail "exec"
timeout 60 qh-console end "$CODE" --note "Drucker eingerichtet" >>"$T/end.log" 2>&1 || fail "end"
printf 'exit\n' | timeout 120 qh-console attach "$CODE" --kind installation >>"$T/attach.log" 2>&1
timeout 60 qh-console end "$CODE" >>"$T/end.log" 2>&1 || fail "end installation"
DEBIT=$(sqlite3 "$STATE/ledger.db" "SELECT id FROM ledger WHERE kind = 'session' AND units < 0 LIMIT 1")
[ -n "$DEBIT" ] || fail "no session debit"
qh correct "$DEBIT" --units 1 --reason "Kulanz" >>"$T/admin.log" 2>&1 || fail "correct"
MONTH=$(TZ=Europe/Berlin date +%Y-%m)
CLOSING=$(qh balance acme --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["units"])')

qh statement acme --month "$MONTH" --out "$T/acme.pdf" >"$T/st.out" 2>"$T/st.err" ||
    fail "statement: $(cat "$T/st.err")"
pdftotext -layout "$T/acme.pdf" "$T/acme.txt" || fail "pdftotext"
expect_in "$T/acme.txt" "Hilfe & Co. KG"
expect_in "$T/acme.txt" "Kontoauszug $MONTH"
expect_in "$T/acme.txt" "Anfangssaldo: 0 Einheiten"
expect_in "$T/acme.txt" "Endsaldo: $CLOSING Einheiten"
expect_in "$T/acme.txt" "1.100,00 EUR"
expect_in "$T/acme.txt" "150,00 EUR"
expect_in "$T/acme.txt" "Drucker eingerichtet"
expect_in "$T/acme.txt" "Alice Tech"
grep -qw alice "$T/acme.txt" && fail "the statement shows a technician's login"
expect_in "$T/acme.txt" "Kulanz"
expect_in "$T/acme.txt" "Installationen"
expect_in "$T/acme.txt" "Gekaufte Einheiten: 40 (1.100,00 EUR)"
pdfimages -list "$T/acme.pdf" >"$T/images.txt" 2>&1 || fail "pdfimages"
[ "$(tail -n +3 "$T/images.txt" | wc -l)" -ge 1 ] || fail "the PDF has no chart image: $(cat "$T/images.txt")"
pdftoppm -png -r 60 "$T/acme.pdf" "$T/page" || fail "pdftoppm"
[ -s "$T/page-1.png" ] || fail "pdftoppm rendered nothing"
SD=$(convert "$T/page-1.png" -colorspace gray -format '%[fx:standard_deviation]' info:)
python3 -c "import sys; assert float(sys.argv[1]) > 0.02, sys.argv[1]" "$SD" ||
    fail "the rendered page is blank (standard deviation $SD)"
qh statement acme --month "$MONTH" --out "$T/acme.pdf" >/dev/null 2>"$T/again.err" &&
    fail "statement overwrote its output"
expect_in "$T/again.err" "exists"

# English for an English customer.
qh statement bcorp --month "$MONTH" --out "$T/bcorp.pdf" >>"$T/st.out" 2>"$T/st.err" ||
    fail "statement bcorp: $(cat "$T/st.err")"
pdftotext -layout "$T/bcorp.pdf" "$T/bcorp.txt" || fail "pdftotext bcorp"
expect_in "$T/bcorp.txt" "Statement $MONTH"
expect_in "$T/bcorp.txt" "Closing balance: 8 units"
expect_in "$T/bcorp.txt" "240.00 EUR"

# HTML: the chart inline as SVG, a screenshot by headless Chromium.
qh statement acme --month "$MONTH" --format html --out "$T/acme.html" >>"$T/st.out" 2>"$T/st.err" ||
    fail "statement html: $(cat "$T/st.err")"
expect_in "$T/acme.html" '<svg id="chart"'
[ "$(grep -c '<rect ' "$T/acme.html")" -eq 52 ] || fail "the chart has not 52 weeks"
expect_in "$T/acme.html" "Endsaldo: $CLOSING Einheiten"
HOME="$T" timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$T/chromium" --window-size=900,1400 --screenshot="$T/shot.png" \
    "file://$T/acme.html" >"$T/chromium.log" 2>&1
[ -s "$T/shot.png" ] || fail "chromium took no screenshot: $(tail -5 "$T/chromium.log")"
SD=$(convert "$T/shot.png" -colorspace gray -format '%[fx:standard_deviation]' info:)
python3 -c "import sys; assert float(sys.argv[1]) > 0.02, sys.argv[1]" "$SD" ||
    fail "the screenshot is blank (standard deviation $SD)"

# Over TLS with an accounting bundle: the data from the console, rendered here.
qh-console tech add bob --name "Bob Books" --role accounting --out "$T/bob.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add bob"
env -u QH_STATE qh-console statement acme --month "$MONTH" --tech "$T/bob.pem" \
    --out "$T/remote.pdf" >>"$T/st.out" 2>"$T/remote.err" || fail "statement over TLS: $(cat "$T/remote.err")"
pdftotext -layout "$T/remote.pdf" "$T/remote.txt" || fail "pdftotext remote"
expect_in "$T/remote.txt" "Endsaldo: $CLOSING Einheiten"
expect_in "$T/console.log" "report statement"
qh-console statement acme --month "$MONTH" --out "$T/alice.pdf" >/dev/null 2>"$T/alice.err" &&
    fail "a technician's bundle got a statement"

# --all: one file per customer.
mkdir "$T/all"
qh statement --all --month "$MONTH" --out "$T/all" >>"$T/st.out" 2>"$T/st.err" ||
    fail "statement --all: $(cat "$T/st.err")"
[ -s "$T/all/acme-$MONTH.pdf" ] && [ -s "$T/all/bcorp-$MONTH.pdf" ] ||
    fail "--all did not write both: $(ls "$T/all")"
echo ok
