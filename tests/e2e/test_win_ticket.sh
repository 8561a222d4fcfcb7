#!/bin/sh
# A ticket from the Windows agent under Wine (issue 11): steps and an
# attachment named with Windows paths (one with a space) are filed with
# the console, which stores the attachment byte for byte (ticket get) and
# the PC's Windows facts as the ticket's environment (ticket show).
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
exit 0
