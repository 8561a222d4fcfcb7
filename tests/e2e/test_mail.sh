#!/bin/sh
# Mail to customers and staff, end to end, through a real SMTP server on
# loopback (issue 13):
# - a purchase's receipt (units, price per unit, new balance) reaches both
#   of the customer's addresses in one message, in German (--lang de);
# - a session's report carries the units its ledger entry debited, the
#   technician and the note; `end --internal` reaches no mail, only the
#   sessions listing; a session that crosses the warning threshold (R5)
#   sends the low-balance mail to the customer and to staff once, and the
#   next session below the threshold sends none;
# - a ticket's receipt, its appointment with an .ics attachment that
#   Python's email package and a strict iCalendar check parse (its start is
#   the proposal's), and its closing note;
# - every mail is multipart/alternative (plain text and HTML), read with a
#   policy that refuses any defect, with unique Message-IDs; `outbox`
#   shows them sent with the server's answer, nothing --failed, and
#   notify_command's rows skipped while none is configured;
# - customer show/set: the contacts as stored, a repeated --email replaces
#   the list, a bad address is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"

setup_console
configure_mail
qh() { qh-console "$@" --state "$STATE"; }
qh customer add acme --name "ACME GmbH" --lang de --warn-units 5 \
    --email it@acme.example --email chef@acme.example >"$T/admin.log" 2>&1 ||
    fail "customer add"
qh tech add alice --name "Alice Tech" --out "$T/alice.pem" >>"$T/admin.log" 2>&1 ||
    fail "tech add"
export QH_TECH="$T/alice.pem"

# Contacts: as given, changed, refused when not an address.
qh customer show acme --json >"$T/show.json" 2>"$T/show.err" || fail "customer show"
python3 - "$T/show.json" <<'EOF' || fail "customer show: $(cat "$T/show.json")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["emails"] == ["it@acme.example", "chef@acme.example"], c
assert c["lang"] == "de" and c["warn_units"] == 5, c
EOF
if qh customer set acme --email "it@acme.example>, x@evil.example" >"$T/bad.out" 2>"$T/bad.err"; then
	fail "a bad address was taken"
fi
expect_in "$T/bad.err" "--email takes an address"
qh customer set acme --email other@acme.example --lang en >"$T/set.out" 2>&1 ||
    fail "customer set: $(cat "$T/set.out")"
qh customer show acme >"$T/show.txt" 2>&1 || fail "customer show (text)"
expect_in "$T/show.txt" "email: *other@acme.example"
grep -q "it@acme.example" "$T/show.txt" && fail "set --email did not replace the list"
qh customer set acme --email it@acme.example --email chef@acme.example --lang de \
    >"$T/set.out" 2>&1 || fail "customer set back"

start_sink
start_console

# 1. The receipt of a purchase.
qh credit acme --units 6 --ref INV-1 >"$T/credit.log" 2>&1 || fail "credit"
wait_mails 1

# 2. Two sessions: the first crosses the threshold (6 -> 5 units).
TOKEN=$(qh enroll acme 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"
qh-agent run --config "$T/agent" --yes --unattended </dev/null >"$T/agent.out" \
    2>"$T/agent.log" &
PIDS="$PIDS $!"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "agent shows no code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")
timeout 120 qh-console exec "$CODE" -- sleep 1 >>"$T/exec.log" 2>&1 || fail "exec 1"
timeout 60 qh-console end "$CODE" --note "Druckertreiber aktualisiert" \
    --internal "Kunde bitte nur vormittags anrufen" >>"$T/end.log" 2>&1 || fail "end 1"
wait_mails 4 # the report, and low balance to the customer and to staff
timeout 120 qh-console exec "$CODE" -- sleep 1 >>"$T/exec.log" 2>&1 || fail "exec 2"
timeout 60 qh-console end "$CODE" >>"$T/end.log" 2>&1 || fail "end 2"
wait_mails 5

# 3. A ticket with an appointment on the next Monday at 10:00, confirmed, closed.
MON=$(python3 -c 'import datetime
d = datetime.date.today() + datetime.timedelta(days=1)
while d.weekday() != 0: d += datetime.timedelta(days=1)
print(d.isoformat())')
QH_AGENT="$T/agent" TZ=Europe/Berlin qh-agent ticket --kind installation \
    --subject "Neuen Drucker einrichten; Etage 2, Büro \"Süd\"" \
    --propose "${MON}T10:00" >"$T/ticket.out" 2>"$T/ticket.err" ||
    fail "ticket: $(cat "$T/ticket.err")"
N=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/ticket.out")
[ -n "$N" ] || fail "no ticket number in '$(cat "$T/ticket.out")'"
wait_mails 6
qh ticket confirm "$N" --slot 1 >"$T/confirm.out" 2>&1 || fail "confirm: $(cat "$T/confirm.out")"
wait_mails 7
qh ticket close "$N" --note "Drucker eingerichtet, Testseite gedruckt." \
    >"$T/close.out" 2>&1 || fail "close: $(cat "$T/close.out")"
wait_mails 8
sleep 2 # nothing more arrives: once per event
[ "$(mails)" -eq 8 ] || fail "$(mails) messages, not 8"

read_mails
qh ledger --format jsonl >"$T/ledger.jsonl" 2>"$T/ledger.log" || fail "ledger"
qh sessions --json >"$T/sessions.json" 2>"$T/sessions.log" || fail "sessions"
"$SYS_PY" - "$T" "$ROOT" "$MON" <<'EOF' || fail "the mails: see above"
import datetime, json, sys, zoneinfo
T, ROOT, MON = sys.argv[1:]
sys.path.insert(0, ROOT + "/tests/tools")
import icscheck

mails = json.load(open(T + "/mails.json"))
by = {}
for m in mails:
    by.setdefault(m["event"], []).append(m)
for e, ms in by.items():
    assert len(ms) == 1, "%s arrived %d times" % (e, len(ms))
ids = [m["message-id"] for m in mails]
assert len(set(ids)) == len(ids), ids
customer = ["chef@acme.example", "it@acme.example"]
for m in mails:
    assert m["auto-submitted"] == "auto-generated", m
    assert "Muster IT GmbH" in m["from"] and "support@muster-it.example" in m["from"], m
    assert "Mit freundlichen Grüßen" in m["text"] or m["rcpt"] != customer, m
    assert "Kunde bitte nur vormittags" not in m["text"] + m["html"], "internal note mailed"

# The receipt.
r = by["entry:1:customer"][0]
assert r["rcpt"] == customer, r["rcpt"]
assert r["subject"] == "Beleg zu Ihrem Kauf: 6 Einheiten (1 h 30 min)", r["subject"]
for line in ("Gekauft: 6 Einheiten (1 h 30 min)", "Preis pro Einheit: 30,00 EUR",
             "Gesamtbetrag: 180,00 EUR", "Neues Guthaben: 6 Einheiten (1 h 30 min)"):
    assert line in r["text"], (line, r["text"])
assert "<td>30,00 EUR</td>" in r["html"], r["html"]
assert r["content-language"] == "de"

# The session reports carry their ledger entry's units and balance.
ledger = [json.loads(l) for l in open(T + "/ledger.jsonl")]
sessions = [e for e in ledger if e["kind"] == "session"]
assert len(sessions) == 2, ledger
for e in sessions:
    m = by["session:%d:customer" % e["session_id"]][0]
    units = -e["units"]
    want = "Abgebucht: %d %s" % (units, "Einheit" if units == 1 else "Einheiten")
    assert want in m["text"], (want, m["text"])
    assert "Guthaben nach der Sitzung: %d Einheiten" % e["balance_after"] in m["text"], m["text"]
    assert "Techniker: Alice Tech" in m["text"], m["text"]
    assert "Sitzung: %d" % e["session_id"] in m["text"], m["text"]
    assert m["subject"].startswith("Bericht zu Ihrer Fernwartungssitzung vom"), m["subject"]
first = by["session:%d:customer" % sessions[0]["session_id"]][0]
assert "> Druckertreiber aktualisiert" in first["text"], first["text"]

# Low balance: once, to the customer and to staff, for the one crossing.
low = [m for m in mails if m["event"].startswith("notification:")]
assert sorted(m["event"].rsplit(":", 1)[1] for m in low) == ["customer", "staff"], \
    [m["event"] for m in low]
for m in low:
    if m["event"].endswith(":customer"):
        assert m["rcpt"] == customer and m["subject"] == "Ihr Support-Guthaben geht zur Neige", m
        assert "beträgt nur noch 5 Einheiten (1 h 15 min)" in m["text"], m["text"]
    else:
        assert m["rcpt"] == ["desk@muster-it.example"], m["rcpt"]
        assert m["subject"] == "Low balance: ACME GmbH (acme)", m["subject"]
        assert m["content-language"] == "en"

# The internal note is for staff: in the sessions listing only.
ss = json.load(open(T + "/sessions.json"))
notes = [s.get("internal_note") for s in (ss if isinstance(ss, list) else ss["sessions"])]
assert "Kunde bitte nur vormittags anrufen" in notes, notes

# The ticket: received (with its due time), the appointment, closed.
rec = [m for m in mails if m["event"].endswith(":ticket_received:customer")]
assert len(rec) == 1 and "Fällig bis:" in rec[0]["text"], rec
appt = [m for m in mails if ":appointment:" in m["event"]]
assert len(appt) == 1, [m["event"] for m in mails]
a = appt[0]
assert a["subject"].startswith("Termin bestätigt: Montag, "), a["subject"]
(name, att), = a["attachments"].items()
assert name.endswith(".ics") and att["type"] == "text/calendar", att
assert att["method"] == "PUBLISH", att
open(T + "/appointment.ics", "wb").write(att["bytes"].encode("utf-8"))
ev, = icscheck.check(att["bytes"].encode("utf-8"))
start = datetime.datetime.fromisoformat(MON + "T10:00").replace(
    tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")).astimezone(datetime.timezone.utc)
assert ev["DTSTART"] == start.strftime("%Y%m%dT%H%M%SZ"), (ev, start)
assert ev["SUMMARY"] == "Fernwartung: Neuen Drucker einrichten\\; Etage 2\\, Büro \"Süd\"", ev
assert ev["UID"].startswith("ticket-") and ev["UID"].endswith("@muster-it.example"), ev
closed = [m for m in mails if m["event"].endswith(":ticket_closed:customer")]
assert len(closed) == 1 and "> Drucker eingerichtet, Testseite gedruckt." in closed[0]["text"], closed
print("mails ok")
EOF
"$SYS_PY" "$ROOT/tests/tools/icscheck.py" "$T/appointment.ics" >"$T/ics.json" ||
    fail "icscheck"

# The outbox: every mail sent with the server's answer; none failed.
qh outbox --json >"$T/outbox.json" 2>"$T/outbox.err" || fail "outbox"
python3 - "$T/outbox.json" <<'EOF' || fail "outbox: $(cat "$T/outbox.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
mail = [r for r in rows if r["channel"] == "mail"]
assert len(mail) == 8 and all(r["status"] == "sent" for r in mail), rows
assert all(r["answer"].startswith("250") and r["message_id"] for r in mail), rows
cmd = [r for r in rows if r["channel"] == "command"]
assert len(cmd) == 1 and cmd[0]["status"] == "skipped", cmd
EOF
qh outbox --failed >"$T/failed.txt" 2>&1 || fail "outbox --failed"
[ "$(wc -l <"$T/failed.txt")" -eq 1 ] || fail "outbox --failed lists: $(cat "$T/failed.txt")"
qh outbox >"$T/outbox.txt" 2>&1 || fail "outbox (text)"
expect_in "$T/outbox.txt" "session_report *sent"
echo "ok: mail"
exit 0
