#!/bin/sh
# The customer's window (issue 11), under Wine on an Xvfb display: a copy
# of qh-agent.exe made by `enroll --exe` is started as by a double-click
# (--window: under Wine a start from a script cannot look like one) and
# enrols without typing; the window shows the vendor's name, the session
# code in large digits (the one the console queues), the balance, that the
# session is recorded and billed per started 15 minutes, and End session.
# A technician's command brings a dialog naming the technician: Deny keeps
# bob out, Allow lets alice's `cmd /c ver` run, which the window lists.
# End session ends it and shows the billable time; the button then
# closes the window. Not enrolled and without a token, the window asks
# for one, and a pasted token enrols the PC. Send a screenshot files a
# ticket with a PNG of the screen (1024x768, from WIC: 96 dpi) attached.
# Screenshots go to build/screenshots/ (make screenshots copies them to
# docs/).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"
SHOTS="$QH_ROOT/build/screenshots"
mkdir -p "$SHOTS"

command -v Xvfb >/dev/null || fail "no Xvfb: scripts/deps.sh installs xvfb"
win_display

# UI_try TRIES UI-ARGS...: UI until it succeeds, at most TRIES times:
# under load, Wine's UI tool can find a dialog still appearing, without
# its buttons yet (a click that failed posted nothing, so none is doubled).
UI_try() {
	_n=$1
	shift
	while [ "$_n" -gt 0 ]; do
		UI "$@" && return 0
		_n=$((_n - 1))
		sleep 0.5
	done
	return 1
}
shot() {	# name [class]: the window of class (default the agent's), or the screen
	geom=$(UI rect "${2:-QuarterhourAgent}")
	set -- "$1" $geom
	xwd -root -display "$DISPLAY" -silent >"$T/shot.xwd" || fail "xwd"
	/usr/bin/convert "xwd:$T/shot.xwd" -crop "${4}x${5}+${2}+${3}" +repage \
	    "png:$SHOTS/$1.png" || fail "convert"
}

setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "customer add"
qh-console credit acme --hours 10 --ref "PO-4711" --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "credit"
for who in "alice:Alice Tech" "bob:Bob Other"; do
	qh-console tech add "${who%%:*}" --name "${who#*:}" --out "$T/${who%%:*}.pem" \
	    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add ${who%%:*}"
done
printf '\n[vendor]\nname = Example Vendor GmbH\n' >>"$STATE/console.conf"
start_console
qh-console enroll acme --exe "$T/support.exe" --from "$EXE" --state "$STATE" \
    >/dev/null 2>>"$T/admin.log" || fail "enroll --exe"

"$WINE" "$T/support.exe" --window --config "$(winpath "$T/agent")" </dev/null \
    >"$T/agent.out" 2>"$T/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
UI wait QuarterhourAgent "Connected" 60 >/dev/null ||
    fail "the window did not connect: $(UI dump QuarterhourAgent)"
# The dump once the window shows its code (not between two redraws).
_i=0
until UI dump QuarterhourAgent >"$T/window.txt" && grep -q "Your session code:" "$T/window.txt"; do
	_i=$((_i + 1))
	[ "$_i" -lt 40 ] || break
	sleep 0.5
done
shown() {	# class text: a shown control with exactly this text
	grep -q "^$1	$2	shown$" "$T/window.txt" || fail "no shown $1 '$2': $(cat "$T/window.txt")"
}
shown Static "Example Vendor GmbH"
shown Static "Your session code:"
shown Static "Read this code to your technician on the phone."
shown Static "Prepaid balance: 40 units (10 h 00 min)"
shown Static "This session is recorded and billed per started 15 minutes."
shown Static "What your technician does:"
shown Button "End session"
CODE=$(awk -F'\t' '$2 ~ /^[0-9][0-9][0-9] [0-9][0-9][0-9]$/ {print $2}' "$T/window.txt" |
    tr -d ' ')
[ ${#CODE} -eq 6 ] || fail "no six-digit code in the window: $(cat "$T/window.txt")"
qh-console queue --json --tech "$T/alice.pem" >"$T/queue.json" 2>&1 || fail "queue"
grep -q "\"code\":\"$CODE\"" "$T/queue.json" || fail "the window's code is not queued"
shot agent-window

# bob: an installation with no installation credit, as overdraft: the
# dialog names him and says so above Allow and Deny; Deny.
printf 'exit\r\n' | qh-console attach "$CODE" --kind installation --allow-overdraft --tech "$T/bob.pem" \
    >"$T/bob.out" 2>"$T/bob.err" &
BOB=$!
UI wait QuarterhourConsent "Bob Other (bob) wants to connect" 30 >/dev/null ||
    fail "no consent dialog for bob"
UI dump QuarterhourConsent >"$T/consent-bob.txt"
grep -q "Note: no installation credit left; this installation is billed as overdraft" \
    "$T/consent-bob.txt" || fail "the dialog does not show the overdraft note: $(cat "$T/consent-bob.txt")"
UI_try 10 click QuarterhourConsent Deny >/dev/null || fail "no Deny button"
wait $BOB
[ $? -ne 0 ] || fail "bob's command ran although he was denied"

# alice: Allow; her command runs and the window lists it.
qh-console exec "$CODE" --tech "$T/alice.pem" -- cmd /c ver >"$T/alice.out" 2>"$T/alice.err" &
ALICE=$!
UI wait QuarterhourConsent "Technician Alice Tech (alice) wants to connect to this PC." 30 \
    >/dev/null || fail "no consent dialog for alice"
UI dump QuarterhourConsent >"$T/consent.txt"
grep -q "^Button	Allow	shown" "$T/consent.txt" && grep -q "^Button	Deny	shown" "$T/consent.txt" ||
    fail "the dialog lacks Allow or Deny: $(cat "$T/consent.txt")"
grep -q "billed per started 15 minutes" "$T/consent.txt" || fail "the dialog does not say it is billed"
# Xvfb keeps Wine's second window in its backing store, not on the
# screen: the dialog is read on its own and laid over the screen.
xwd -root -display "$DISPLAY" -silent >"$T/root.xwd" || fail "xwd"
dlg=$(xwininfo -root -tree -display "$DISPLAY" |
    awk '/"A technician wants to connect"/ {print $1, $NF}')
set -- $dlg
xwd -id "$1" -display "$DISPLAY" -silent >"$T/dialog.xwd" || fail "xwd of the dialog"
/usr/bin/convert "xwd:$T/root.xwd" "xwd:$T/dialog.xwd" -geometry "$2" \
    -composite -crop 520x640+0+0 +repage "png:$SHOTS/agent-consent.png" ||
    fail "the consent screenshot"
UI_try 10 click QuarterhourConsent Allow >/dev/null || fail "no Allow button"
wait $ALICE || fail "alice's command: $(cat "$T/alice.err")"
grep -q "Microsoft Windows" "$T/alice.out" || fail "cmd /c ver printed: $(cat "$T/alice.out")"
UI wait QuarterhourAgent "alice runs: cmd /c ver" 20 >/dev/null ||
    fail "the window does not list alice's command: $(UI dump QuarterhourAgent)"

# Send a screenshot: a ticket with a PNG of the screen attached.
UI click QuarterhourAgent "Send a screenshot" >/dev/null || fail "no Send a screenshot button"
UI wait QuarterhourAgent "The screenshot was sent to your support as a ticket." 90 >/dev/null ||
    fail "the screenshot was not sent: $(UI dump QuarterhourAgent)"
qh-console tickets --json --state "$STATE" >"$T/tickets.json" 2>>"$T/admin.log" || fail "tickets"
N=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print(t[0]["id"] if t else "")' \
    "$T/tickets.json") || fail "tickets --json: $(cat "$T/tickets.json")"
[ -n "$N" ] || fail "no ticket from the screenshot button"
qh-console ticket show "$N" --json --state "$STATE" >"$T/show.json" 2>>"$T/admin.log" ||
    fail "ticket show"
SHOT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["attachments"][0]["name"])' \
    "$T/show.json") || fail "no attachment: $(cat "$T/show.json")"
qh-console ticket get "$N" "$SHOT" "$T/shot.png" --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "ticket get $SHOT"
[ "$(identify -format '%wx%h' "$T/shot.png")" = 1024x768 ] ||
    fail "expected the window's screenshot to be 1024x768"
# Written by the system's WIC encoder, not common/png.c: at 96 dpi (a pHYs
# chunk of 3780 dots per metre), which our writer never states.
python3 - "$T/shot.png" <<'PY' || fail "the screenshot is not WIC's PNG at 96 dpi"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
off, chunks = 8, {}
while off < len(data):
    n, kind = struct.unpack(">I4s", data[off:off + 8])
    chunks[kind] = data[off + 8:off + 8 + n]
    off += 12 + n
phys = chunks.get(b"pHYs")
print("chunks:", b" ".join(sorted(chunks)).decode(), "pHYs:", phys and struct.unpack(">IIB", phys))
sys.exit(0 if phys is not None and struct.unpack(">IIB", phys) == (3780, 3780, 1) else 1)
PY

# End session: the debit is shown, the button closes the window.
UI click QuarterhourAgent "End session" >/dev/null || fail "no End session button"
UI wait QuarterhourAgent "Billable time:" 30 >/dev/null ||
    fail "no billable time after End session: $(UI dump QuarterhourAgent)"
UI wait QuarterhourAgent "Close" 30 >/dev/null || fail "the button did not become Close"
shot agent-ended
UI click QuarterhourAgent Close >/dev/null
wait_until "! kill -0 $AGENT" 30 || fail "the agent did not end when its window closed"

# Not enrolled, no token in the program: the window asks, a paste enrols.
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
"$WINE" "$EXE" --window --config "$(winpath "$T/agent two")" </dev/null >"$T/a2.out" \
    2>"$T/a2.log" &
A2=$!
PIDS="$PIDS $A2"
UI wait QuarterhourAgent "Paste the join token" 60 >/dev/null || fail "no token prompt"
UI type QuarterhourAgent "not a token" >/dev/null
UI click QuarterhourAgent Connect >/dev/null
UI wait QuarterhourAgent "That did not work" 30 >/dev/null ||
    fail "a bad token was not refused: $(UI dump QuarterhourAgent)"
UI type QuarterhourAgent "
  $TOKEN
" >/dev/null || fail "no token field"
shot agent-enrol
UI click QuarterhourAgent Connect >/dev/null
UI wait QuarterhourAgent "Connected" 60 >/dev/null ||
    fail "the pasted token did not enrol: $(UI dump QuarterhourAgent)"
[ -f "$T/agent two/agent.pem" ] || fail "no agent.pem after the pasted token"
UI close QuarterhourAgent >/dev/null
wait_until "! kill -0 $A2" 30 || fail "closing the window did not end the agent"

# In German (--lang de; the window's controls take UTF-16 text).
"$WINE" "$EXE" --window --lang de --config "$(winpath "$T/agent two")" </dev/null \
    >"$T/a3.out" 2>"$T/a3.log" &
A3=$!
PIDS="$PIDS $A3"
UI wait QuarterhourAgent "Verbunden" 60 >/dev/null ||
    fail "the German window did not connect: $(UI dump QuarterhourAgent)"
UI dump QuarterhourAgent >"$T/window-de.txt"
for want in "Button	Sitzung beenden" "Static	Ihr Sitzungscode:" \
    "Static	Guthaben: [0-9]* Einheiten ([0-9]* h [0-9]* min)" "Static	Fernwartung" \
    "QuarterhourAgent	quarterhour Fernwartung" \
    "Static	Diese Sitzung wird aufgezeichnet und je angefangene 15 Minuten abgerechnet." \
    "Static	Bitte nennen Sie diesen Code Ihrem Techniker."; do
	grep -q "^$want	shown$" "$T/window-de.txt" ||
	    fail "no shown '$want' in the German window: $(cat "$T/window-de.txt")"
done
shot agent-window-de
UI close QuarterhourAgent >/dev/null
wait_until "! kill -0 $A3" 30 || fail "closing the German window did not end the agent"
exit 0
