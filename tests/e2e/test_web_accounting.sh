#!/bin/sh
# The accounting pages of qh-console web in a real browser (headless
# Chromium over the DevTools protocol, tests/e2e/web_account_check.py),
# with an accounting bundle: the balances page shows the customer's units,
# the ledger page the session's debit with its note, the CSV and DATEV
# downloads equal `qh-console ledger --format csv|datev` byte for byte,
# revenue shows the month's units, the statement downloads as a PDF and
# its HTML view names the customer, verify says ok (and the head). A query
# value that is no date never reaches the console (400); a technician's
# bundle gets the console's refusal on the page.
. "$(dirname "$0")/lib.sh"

requires chromium:chromium python3:python3

setup_session
qh() { qh-console "$@" --state "$STATE"; }
NOTE="Drucker eingerichtet (web)"
qh credit acme --hours 10 --ref INV-1 >>"$T/admin.log" 2>&1 || fail "credit"
timeout 120 qh-console exec "$CODE" -- sleep 1 >>"$T/exec.log" 2>&1 || fail "exec"
timeout 60 qh-console end "$CODE" --note "$NOTE" >>"$T/end.log" 2>&1 || fail "end"
qh-console tech add bob --name "Bob Books" --role accounting --out "$T/bob.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add bob"
MONTH=$(TZ=Europe/Berlin date +%Y-%m)
qh ledger --format csv >"$T/ledger.csv" 2>>"$T/admin.log" || fail "ledger csv"
qh ledger --format datev >"$T/ledger.datev" 2>>"$T/admin.log" || fail "ledger datev"
qh balances --json >"$T/balances.json" 2>>"$T/admin.log" || fail "balances"
qh revenue --month "$MONTH" --json >"$T/revenue.json" 2>>"$T/admin.log" || fail "revenue"
grep -q "$NOTE" "$T/ledger.csv" || fail "the note is not in the ledger: $(cat "$T/ledger.csv")"

# web SERVER BUNDLE: starts qh-console web with the bundle; sets URL.
web() {
	env -u QH_STATE qh-console web --no-browser --listen 127.0.0.1:0 --tech "$2" \
	    >"$T/$1.out" 2>"$T/$1.log" &
	PIDS="$PIDS $!"
	wait_until "grep -q '^http://127.0.0.1:[0-9]*/?token=' '$T/$1.out'" 30 ||
		fail "web ($1) printed no URL: $(cat "$T/$1.out" "$T/$1.log")"
	URL=$(grep '^http://' "$T/$1.out")
}
web bob "$T/bob.pem"
BOB_URL=$URL
web alice "$T/alice.pem"
ALICE_URL=$URL

timeout 110 python3 "$(dirname "$0")/web_account_check.py" "$BOB_URL" "$ALICE_URL" "$T" \
    "$MONTH" "$NOTE" >"$T/check.log" 2>&1 || fail "browser checks: $(cat "$T/check.log")"
cat "$T/check.log"
grep -q 'report ledger' "$T/console.log" || fail "the console ran no ledger report"

# The ledger page's screenshot, for the README (make screenshots copies it).
SHOTS="${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/build/screenshots"
mkdir -p "$SHOTS" && cp "$T/web-ledger.png" "$SHOTS/"
echo "ok: web accounting"
