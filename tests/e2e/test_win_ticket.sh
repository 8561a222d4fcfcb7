#!/bin/sh
# A ticket from the Windows agent under Wine (issue 11): steps and an
# attachment named with Windows paths (one with a space) are filed with
# the console, which stores the attachment byte for byte (ticket get) and
# the PC's Windows facts as the ticket's environment (ticket show); then
# the conversation: the customer reads the technician's answer, saves its
# file, replies with one, and reads the balance in German, while the
# running agent keeps its one place in the queue.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"

win_session
printf 'Outlook add-in crashes\nwhen opening a contact\n' >"$T/steps.txt"
head -c 300000 /dev/urandom >"$T/crash dump.bin"
wine_agent ticket --config "$(winpath "$WINCONF")" --subject "Act! add-in crashes" \
    --steps "$(winpath "$T/steps.txt")" --attach "$(winpath "$T/crash dump.bin")" \
    </dev/null >"$T/ticket.out" 2>"$T/ticket.err" ||
    fail "ticket: $(cat "$T/ticket.out" "$T/ticket.err")"
unix_text "$T/ticket.out"
N=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/ticket.out")
[ -n "$N" ] || fail "no ticket number: $(cat "$T/ticket.out")"

qh-console ticket show "$N" --json --state "$STATE" >"$T/show.json" 2>"$T/show.err" ||
    fail "ticket show: $(cat "$T/show.err")"
python3 - "$T/show.json" <<'PY' || fail "ticket show --json: $(cat "$T/show.json")"
import json, sys
t = json.load(open(sys.argv[1]))
text = json.dumps(t)
if "Act! add-in crashes" not in text or "crash dump.bin" not in text:
    sys.exit("subject or attachment missing")
if "Microsoft Windows 10" not in text:
    sys.exit("the environment does not name Windows")
if "when opening a contact" not in text:
    sys.exit("steps missing")
PY
qh-console ticket get "$N" "crash dump.bin" "$T/got.bin" --state "$STATE" >/dev/null \
    2>"$T/get.err" || fail "ticket get: $(cat "$T/get.err")"
cmp -s "$T/got.bin" "$T/crash dump.bin" || fail "the attachment differs"

# The conversation on Windows: the technician answers with a file; the
# customer lists and reads the ticket, saves the file and answers with one
# of their own (Windows paths with spaces), and reads the balance in
# German, each on the agent's own short connection while the running
# agent keeps its place in the queue.
printf 'regsvr32 actaddin.dll\r\n' >"$T/fix.txt"
qh-console ticket reply "$N" --text "Please register the add-in again." \
    --attach "$T/fix.txt" --state "$STATE" >"$T/answer.out" 2>&1 ||
    fail "ticket reply: $(cat "$T/answer.out")"
C="$(winpath "$WINCONF")"
wine_agent tickets --config "$C" </dev/null >"$T/list.out" 2>"$T/list.err" ||
    fail "tickets: $(cat "$T/list.out" "$T/list.err")"
unix_text "$T/list.out"
expect_in "$T/list.out" "^Ticket $N: Act! add-in crashes"
expect_in "$T/list.out" "answered; last change "
wine_agent ticket show "$N" --config "$C" </dev/null >"$T/tshow.out" 2>"$T/tshow.err" ||
    fail "ticket show: $(cat "$T/tshow.out" "$T/tshow.err")"
unix_text "$T/tshow.out"
expect_in "$T/tshow.out" "^    Please register the add-in again."
expect_in "$T/tshow.out" "^    Attachment: fix.txt"
wine_agent ticket get "$N" fix.txt "$(winpath "$T/saved fix.txt")" --config "$C" \
    </dev/null >"$T/tget.out" 2>"$T/tget.err" ||
    fail "ticket get: $(cat "$T/tget.out" "$T/tget.err")"
cmp -s "$T/fix.txt" "$T/saved fix.txt" || fail "the saved attachment differs"
head -c 100000 /dev/urandom >"$T/event log.evtx"
wine_agent ticket reply "$N" --text "Done; it still crashes." --config "$C" \
    --attach "$(winpath "$T/event log.evtx")" </dev/null >"$T/treply.out" 2>"$T/treply.err" ||
    fail "ticket reply: $(cat "$T/treply.out" "$T/treply.err")"
unix_text "$T/treply.out"
expect_in "$T/treply.out" "Your reply to ticket $N was sent"
qh-console ticket get "$N" "event log.evtx" "$T/got.evtx" --state "$STATE" >/dev/null \
    2>"$T/get2.err" || fail "ticket get of the reply's file: $(cat "$T/get2.err")"
cmp -s "$T/got.evtx" "$T/event log.evtx" || fail "the reply's attachment differs"
wine_agent balance --lang de --config "$C" </dev/null >"$T/balance.out" 2>"$T/balance.err" ||
    fail "balance: $(cat "$T/balance.out" "$T/balance.err")"
unix_text "$T/balance.out"
expect_in "$T/balance.out" "^ACME GmbH (acme)"
expect_in "$T/balance.out" "^Guthaben: *0 Einheiten"
[ "$(grep -c 'waiting with code' "$T/console.log")" = 1 ] ||
    fail "a short connection joined the queue: $(grep 'waiting with code' "$T/console.log")"
exit 0
