#!/bin/sh
# The web console's tickets pages in a real browser (headless Chromium over
# the DevTools protocol, tests/tools/cdp.py; issue 15): a customer's PC
# files a ticket with an attachment and a proposed appointment; the queue
# page links to the tickets page, which lists it with its due time and
# links to its page; that shows the PC's environment, and the attachment
# downloads through the page with the SHA-256 on record (and is cut short
# when the console's copy is not what it announces); a reply from the
# page with an attachment reaches the customer (`qh-agent ticket show`,
# `ticket get`, byte for byte); an assignment to an
# unknown login shows the console's refusal; the proposal is confirmed and
# the ticket closed with a note, which the customer sees. Without the
# cookie, and for a POST with the cookie but a foreign Origin or another
# Content-Type, the server answers 403 and the console sees no change.
. "$(dirname "$0")/lib.sh"

requires chromium:chromium sqlite3:sqlite3

setup_acme
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"
export QH_AGENT="$T/agent"
db() { sqlite3 -cmd ".timeout 10000" "$STATE/ledger.db" "$1"; }

# A ticket with steps, an attachment and a proposal next week on a weekday.
printf 'Der Drucker druckt nicht.\nFehler 0x1F\n' >"$T/steps.txt"
head -c 700000 /dev/urandom >"$T/scan page.pdf"
WHEN=$(python3 -c 'import datetime
d = datetime.date.today() + datetime.timedelta(days=7)
while d.weekday() > 3: d += datetime.timedelta(days=1)
print(d.isoformat() + "T10:30")')
qh-agent ticket --subject "Drucker druckt nicht" --steps "$T/steps.txt" \
    --attach "$T/scan page.pdf" --propose "$WHEN" >"$T/file.out" 2>"$T/file.log" ||
	fail "qh-agent ticket: $(cat "$T/file.log")"
N=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/file.out")
[ -n "$N" ] || fail "qh-agent ticket printed '$(cat "$T/file.out")'"
SHA=$(sha256sum "$T/scan page.pdf" | cut -d' ' -f1)
STORED="$STATE/attachments/$(echo "$SHA" | cut -c1-2)/$SHA"
[ -f "$STORED" ] || fail "the attachment is not stored at $STORED"

start_web

REPLY="Bitte den Treiber neu installieren (Web)."
NOTE="Treiber installiert, druckt wieder (Web)."
timeout 110 python3 "$(dirname "$0")/web_tickets_check.py" "$URL" "$N" "$T" "$SHA" \
    "$REPLY" "$NOTE" "$STORED" >"$T/check.log" 2>&1 || fail "browser checks: $(cat "$T/check.log")"
cat "$T/check.log"

# The customer's side: the reply, the confirmed appointment, closed with the note.
qh-agent ticket show "$N" >"$T/show.out" 2>"$T/show.log" || fail "ticket show: $(cat "$T/show.log")"
expect_in "$T/show.out" "$REPLY"
qh-agent ticket get "$N" anleitung.txt "$T/got.txt" >"$T/get.out" 2>"$T/get.log" ||
	fail "ticket get of the page's attachment: $(cat "$T/get.log")"
cmp -s "$T/anleitung.txt" "$T/got.txt" || fail "the customer's copy of the page's attachment differs"
expect_in "$T/show.out" "$NOTE"
expect_in "$T/show.out" "closed"
[ "$(db "SELECT status FROM tickets WHERE id = $N")" = closed ] || fail "not closed in the database"
[ "$(db "SELECT count(*) FROM ticket_messages WHERE ticket_id = $N AND side = 'staff'")" = 1 ] ||
	fail "not exactly one staff message: the refused POSTs changed something"
[ "$(db "SELECT count(*) FROM ticket_proposals WHERE ticket_id = $N AND confirmed = 1")" = 1 ] ||
	fail "the proposal is not confirmed"
grep -q 'desk: refused a page.s request: a POST from a foreign Origin' "$T/web.log" ||
	fail "the foreign Origin left no log line"
grep -q 'the attachment arrived other than the console announced it' "$T/web.log" ||
	fail "the damaged download left no log line"

SHOTS="${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/build/screenshots"
mkdir -p "$SHOTS" && cp "$T/web-tickets.png" "$T/web-ticket.png" "$SHOTS/"

kill -TERM "$WEB"
wait "$WEB"
st=$?
[ "$st" -eq 0 ] || fail "web exited $st after SIGTERM"
echo "ok: web tickets"
