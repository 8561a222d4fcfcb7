#!/bin/sh
# A ticket as a conversation, end to end (issue 13), with the console on an
# accelerated clock (faketime x60 from next Tuesday 08:00 in Berlin, so the
# waiting falls in business hours: a second is a minute):
# - the customer files a premium ticket; a technician asks for more
#   information over TLS (`ticket need`): the ticket waits and its due
#   clock stops; the customer sees the question with `qh-agent tickets` and
#   `ticket show` (also in German with --lang de) and answers with
#   `qh-agent ticket reply` and an attachment: the ticket is open again and
#   due later by exactly the business time it waited (what was left at the
#   question is left at the answer);
# - the technician answers with an attachment; the customer saves it with
#   `qh-agent ticket get` and the technician the customer's, both byte for
#   byte; the customer's reply to that answer (--file) opens the ticket
#   again, due afresh; it is closed with a note, and a reply to it is
#   refused;
# - the same reply sent again is stored once; another customer's PC cannot
#   read, answer or (on the wire) work the ticket;
# - mails: received (with its due time), more information needed, answered
#   and closed reach the customer through the outbox;
# - `qh-agent balance` (and --json) without a technician: the balance,
#   installation credits and the last ten ledger entries, in German too
#   (--lang de, and LANG=de_DE.UTF-8 without a German locale installed);
# - none of these short connections joins the queue (no HELLO).
# Seconds from now to next Tuesday 08:00 Europe/Berlin.
OFF=$(python3 -c '
import datetime, zoneinfo
tz = zoneinfo.ZoneInfo("Europe/Berlin")
now = datetime.datetime.now(tz)
day = now.date() + datetime.timedelta(days=1)
while day.weekday() != 1:
    day += datetime.timedelta(days=1)
start = datetime.datetime.combine(day, datetime.time(8), tz)
print(int((start - now).total_seconds()))')
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"
requires sqlite3:sqlite3 faketime:faketime python3:python3

setup_console
configure_mail
# The tokens are made now and used on the console's clock, days ahead.
sed -i 's/^token_hours = .*/token_hours = 240/' "$STATE/console.conf"
qh() { qh-console "$@" --state "$STATE"; }
qh customer add acme --name "ACME GmbH" --lang de --email it@acme.example \
    >"$T/admin.log" 2>&1 || fail "customer add acme"
qh customer add other --name "Other KG" >>"$T/admin.log" 2>&1 || fail "customer add other"
qh tech add alice --name "Alice Tech" --out "$T/alice.pem" >>"$T/admin.log" 2>&1 ||
    fail "tech add"
# Twelve purchases and an installation credit: the last ten entries show.
i=1
while [ $i -le 12 ]; do
	qh credit acme --units $i --ref "INV-$i" >>"$T/admin.log" 2>&1 || fail "credit $i"
	i=$((i + 1))
done
qh credit acme --installations 2 --ref INST-1 >>"$T/admin.log" 2>&1 ||
    fail "credit installations"
TOKEN_A=$(qh enroll acme 2>>"$T/admin.log") || fail "enroll acme"
TOKEN_O=$(qh enroll other 2>>"$T/admin.log") || fail "enroll other"

start_sink
# The console alone runs on the fast clock; the commands here in real time.
faketime -f "+${OFF}s x60" qh-console serve --state "$STATE" --log-level debug \
    >>"$T/console.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "grep -q 'listening on' '$T/console.log'" 30 || fail "console did not start"
CONSOLE_PID=$(cat "$STATE/serve.lock")
PIDS="$PIDS $CONSOLE_PID"

qh-agent join "$TOKEN_A" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join acme"
qh-agent join "$TOKEN_O" --config "$T/other" >>"$T/join.log" 2>&1 || fail "join other"
export QH_AGENT="$T/agent"
tech() { qh-console "$@" --tech "$T/alice.pem"; }

expect_status() {	# WANT NAME CMD...: output in $T/NAME.out and .err
	_want=$1
	_name=$2
	shift 2
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
	_got=$?
	[ "$_got" -eq "$_want" ] ||
	    fail "$_name: exit $_got, want $_want ($(cat "$T/$_name.err"))"
}
db() { sqlite3 -cmd ".timeout 10000" "$STATE/ledger.db" "$1"; }

# 1. Filed, then a question: the ticket waits, its due time stays put.
printf 'Nichts passiert beim Drucken.\n' >"$T/steps.txt"
expect_status 0 file qh-agent ticket --subject "Drucker druckt nicht" --steps "$T/steps.txt"
N=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/file.out")
[ -n "$N" ] || fail "qh-agent ticket printed '$(cat "$T/file.out")'"
DUE0=$(db "SELECT due_at FROM tickets WHERE id = $N")
expect_status 0 need tech ticket need "$N" --text "Welches Druckermodell ist es?"
[ "$(db "SELECT status FROM tickets WHERE id = $N")" = waiting ] ||
    fail "status after need: $(db "SELECT status FROM tickets WHERE id = $N")"
[ "$(db "SELECT due_at FROM tickets WHERE id = $N")" = "$DUE0" ] ||
    fail "the question moved the due time"
PAUSED=$(db "SELECT paused_at FROM tickets WHERE id = $N")

expect_status 0 list qh-agent tickets
expect_in "$T/list.out" "^Ticket $N: Drucker druckt nicht"
expect_in "$T/list.out" "waiting for your answer"
expect_status 0 list-json qh-agent tickets --json
python3 - "$T/list-json.out" "$N" <<'EOF' || fail "tickets --json: $(cat "$T/list-json.out")"
import json, sys
l = json.load(open(sys.argv[1]))
assert [t["id"] for t in l] == [int(sys.argv[2])], l
assert l[0]["status"] == "waiting" and l[0]["subject"] == "Drucker druckt nicht", l
EOF
expect_status 0 show1 qh-agent ticket show "$N"
expect_in "$T/show1.out" "asks for more information:"
expect_in "$T/show1.out" "    Welches Druckermodell ist es?"
expect_in "$T/show1.out" "qh-agent ticket reply $N --text"
expect_status 0 show1-de qh-agent ticket show "$N" --lang de
expect_in "$T/show1-de.out" "^Status: *wartet auf Ihre Antwort"
expect_in "$T/show1-de.out" "bittet um weitere Angaben:"
expect_status 0 list-de qh-agent tickets --lang de
expect_in "$T/list-de.out" "wartet auf Ihre Antwort"

# Another customer's PC sees nothing of it.
expect_status 0 other-list qh-agent tickets --config "$T/other"
expect_in "$T/other-list.out" "You have no tickets."
expect_status 1 other-show qh-agent ticket show "$N" --config "$T/other"
expect_in "$T/other-show.err" "you have no ticket $N"
expect_status 1 other-reply qh-agent ticket reply "$N" --text "hijack" --config "$T/other"
expect_in "$T/other-reply.err" "you have no ticket $N"

# On the wire: the other customer's PC may not work the ticket nor read it,
# a malformed request is refused, and its connection still answers
# (tests/tools/desk_liar.py speaks the protocol with the real bundle).
timeout 60 python3 "$ROOT/tests/tools/desk_liar.py" "$T/other/agent.pem" "$PORT" \
    "$ROOT/include/qh/wire.h" "$N" >"$T/liar.out" 2>&1 ||
    fail "desk_liar: $(cat "$T/liar.out")"
for want in "ticket-need: forbidden" "ticket-close: forbidden" \
    "ticket-assign: forbidden" "ticket-show: not-found" "ticket-get: not-found" \
    "tickets: request: unknown listing flags" "ticket-show: request: no ticket number" \
    "balance: other 0"; do
	expect_in "$T/liar.out" "^$want"
done
[ "$(db "SELECT status FROM tickets WHERE id = $N")" = waiting ] ||
    fail "the other customer's PC changed the ticket"

# 2. The customer answers, with a file, after some business time.
head -c 200000 /dev/urandom >"$T/drucker-foto.jpg"
sleep 3 # three minutes on the console's clock
expect_status 0 reply qh-agent ticket reply "$N" --text "Ein HP LaserJet 4050." \
    --attach "$T/drucker-foto.jpg"
expect_in "$T/reply.out" "Your reply to ticket $N was sent"
expect_status 0 reply-again qh-agent ticket reply "$N" --text "Ein HP LaserJet 4050." \
    --attach "$T/drucker-foto.jpg"
expect_in "$T/reply-again.out" "was sent before"
[ "$(db "SELECT count(*) FROM ticket_messages WHERE ticket_id = $N")" = 2 ] ||
    fail "messages after the reply sent twice: $(db "SELECT count(*) FROM ticket_messages WHERE ticket_id = $N")"
[ "$(db "SELECT status FROM tickets WHERE id = $N")" = open ] || fail "not open after the reply"
ANSWERED=$(db "SELECT created_at FROM ticket_messages WHERE ticket_id = $N AND seq = 2")
DUE1=$(db "SELECT due_at FROM tickets WHERE id = $N")
python3 - "$DUE0" "$PAUSED" "$ANSWERED" "$DUE1" <<'EOF' || fail "the due time did not pause"
import datetime, sys, zoneinfo
tz = zoneinfo.ZoneInfo("Europe/Berlin")
def at(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
def business(a, b):	# seconds of 07:00-18:00 Mon-Fri in Berlin between a and b
    total, day = 0, a.astimezone(tz).date()
    while True:
        start = datetime.datetime.combine(day, datetime.time(7), tz)
        if start >= b:
            return total
        end = datetime.datetime.combine(day, datetime.time(18), tz)
        if day.weekday() < 5:
            total += max(0, (min(b, end) - max(a, start)).total_seconds())
        day += datetime.timedelta(days=1)
due0, paused, answered, due1 = map(at, sys.argv[1:])
waited = business(paused, answered)
assert waited >= 120, ("the wait is not in business time", paused, answered)
left_at_question = business(paused, due0)
left_at_answer = business(answered, due1)
assert abs(left_at_question - left_at_answer) <= 60, (left_at_question, left_at_answer)
assert abs(business(due0, due1) - waited) <= 60, (due0, due1, waited)
EOF

# 3. The technician answers with a file; each side saves the other's.
printf 'Treiber: https://support.example/lj4050\r\n' >"$T/anleitung.txt"
expect_status 0 answer tech ticket reply "$N" --text "Bitte installieren Sie diesen Treiber." \
    --attach "$T/anleitung.txt"
[ "$(db "SELECT status FROM tickets WHERE id = $N")" = answered ] ||
    fail "not answered after the technician's reply"
expect_status 0 show2 qh-agent ticket show "$N"
expect_in "$T/show2.out" "answered"
expect_in "$T/show2.out" "Support (Alice Tech):"
expect_in "$T/show2.out" "    Bitte installieren Sie diesen Treiber."
expect_in "$T/show2.out" "Attachment: anleitung.txt"
expect_status 0 get qh-agent ticket get "$N" anleitung.txt "$T/got.txt"
cmp -s "$T/anleitung.txt" "$T/got.txt" || fail "the customer's copy differs"
expect_status 1 get-again qh-agent ticket get "$N" anleitung.txt "$T/got.txt"
expect_status 0 tget tech ticket get "$N" drucker-foto.jpg "$T/got.jpg"
cmp -s "$T/drucker-foto.jpg" "$T/got.jpg" || fail "the technician's copy differs"
expect_status 0 show2-json qh-agent ticket show "$N" --json
python3 - "$T/show2-json.out" <<'EOF' || fail "ticket show --json: $(cat "$T/show2-json.out")"
import json, sys
t = json.load(open(sys.argv[1]))
assert t["status"] == "answered", t
m = t["messages"]
assert [x["kind"] for x in m] == ["need", "reply", "reply"], m
assert [x["side"] for x in m] == ["staff", "customer", "staff"], m
assert m[1]["text"] == "Ein HP LaserJet 4050." and m[1]["attachments"] == ["drucker-foto.jpg"], m
EOF

# A reply to an answer (from a file) opens the ticket again, due afresh:
# four business hours for premium.
printf 'Der Treiber ist installiert,\naber die Seite bleibt leer.\n' >"$T/antwort.txt"
expect_status 0 reply2 qh-agent ticket reply "$N" --file "$T/antwort.txt"
[ "$(db "SELECT status FROM tickets WHERE id = $N")" = open ] ||
    fail "not open after a reply to the answer"
[ "$(db "SELECT body FROM ticket_messages WHERE ticket_id = $N AND seq = 4")" = \
    "$(cat "$T/antwort.txt")" ] || fail "the reply from --file is not stored as written"
python3 - "$(db "SELECT created_at FROM ticket_messages WHERE ticket_id = $N AND seq = 4")" \
    "$(db "SELECT due_at FROM tickets WHERE id = $N")" <<'EOF2' || fail "not due afresh"
import datetime, sys
at = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
wrote, due = map(at, sys.argv[1:])
# Tuesday morning: four business hours are four hours.
assert abs((due - wrote).total_seconds() - 4 * 3600) <= 60, (wrote, due)
EOF2

# 4. Closed with a note: shown, and no reply any more.
expect_status 0 close tech ticket close "$N" --note "Treiber installiert, Drucker läuft."
expect_status 0 show3 qh-agent ticket show "$N"
expect_in "$T/show3.out" "^Closed:"
expect_in "$T/show3.out" "Treiber installiert, Drucker läuft."
expect_status 1 reply-closed qh-agent ticket reply "$N" --text "Noch eine Frage"
expect_in "$T/reply-closed.err" "ticket $N is closed; please file a new ticket"
expect_status 1 reply-closed-de qh-agent ticket reply "$N" --text "Noch eine Frage" --lang de
expect_in "$T/reply-closed-de.err" "Ticket $N ist geschlossen"

# 5. The balance, without a technician.
expect_status 0 balance qh-agent balance
expect_in "$T/balance.out" "^ACME GmbH (acme)"
expect_in "$T/balance.out" "^Balance: *78 units (19 h 30 min)"
expect_in "$T/balance.out" "^Installations: *2"
[ "$(grep -c '^  .*purchase\|^  .*installations bought' "$T/balance.out")" = 10 ] ||
    fail "balance shows not the last ten entries: $(cat "$T/balance.out")"
expect_in "$T/balance.out" "installations bought *+2 installations"
expect_status 0 balance-json qh-agent balance --json
python3 - "$T/balance-json.out" <<'EOF' || fail "balance --json: $(cat "$T/balance-json.out")"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["customer"] == "acme" and b["units"] == 78 and b["installations"] == 2, b
e = b["entries"]
assert len(e) == 10, e
assert e[0]["kind"] == "installation_purchase" and e[0]["installations"] == 2, e[0]
assert [x["units"] for x in e[1:]] == list(range(12, 3, -1)), e
EOF
expect_status 0 balance-de qh-agent balance --lang de
expect_in "$T/balance-de.out" "^Guthaben: *78 Einheiten (19 h 30 min)"
expect_in "$T/balance-de.out" "^Installationen: *2"
expect_status 0 list-lang env -u LC_ALL -u LC_MESSAGES LANG=de_DE.UTF-8 qh-agent tickets
expect_in "$T/list-lang.out" "geschlossen; zuletzt geändert "
expect_status 0 balance-other qh-agent balance --config "$T/other"
expect_in "$T/balance-other.out" "^Other KG (other)"
expect_in "$T/balance-other.out" "^Balance: *0 units"
grep -q "waiting with code" "$T/console.log" && fail "a short connection joined the queue"

# 6. The mails: thirteen receipts; received, more information needed,
# answered and closed.
wait_mails 17 60
read_mails
python3 - "$T/mails.json" "$N" <<'EOF' || fail "ticket mails: $(cat "$T/mails.json")"
import json, sys
mails = json.load(open(sys.argv[1]))
N = sys.argv[2]
kinds = sorted(m["event"].split(":")[2] for m in mails if m["event"].startswith("ticket:"))
assert kinds == ["ticket_answered", "ticket_closed", "ticket_need_info",
                 "ticket_received"], kinds
# The customer's: staff may get a due-soon warning on a slow machine.
mails = [m for m in mails if m["event"].endswith(":customer")]
assert len(mails) == 17, [m["event"] for m in mails]
for m in mails:
    assert m["rcpt"] == ["it@acme.example"], m
    if m["event"].endswith(":ticket_need_info:customer"):
        assert "Welches Druckermodell ist es?" in m["text"], m["text"]
        assert "qh-agent ticket reply " + N + " --text" in m["text"], m["text"]
    if m["event"].endswith(":ticket_answered:customer"):
        assert "Bitte installieren Sie diesen Treiber." in m["text"], m["text"]
        assert "qh-agent ticket show " + N in m["text"], m["text"]
EOF
echo "ok"
