#!/bin/sh
# The Windows agent in German under Wine (issue 13): --lang de and
# LANG=de_DE.UTF-8 give German texts, --lang en English; on a console (a
# pty here) the text goes out through WriteConsoleW, so umlauts show as
# such: written as UTF-8 bytes they would come out as box characters in
# the console's code page 437. A session in German: the code, the balance
# and what the console sends (the technician connected, the summary).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"

win_setup
unset LC_ALL LC_MESSAGES

# The facts and the help, to a file: UTF-8 as it is.
wine_agent info --lang de </dev/null >"$T/info-de.out" 2>"$T/info-de.log" || fail "info --lang de"
unix_text "$T/info-de.out"
expect_in "$T/info-de.out" "^Betriebssystem: *Microsoft Windows"
expect_in "$T/info-de.out" "^Arbeitsspeicher: .* insgesamt, .* verfügbar"
LANG=de_DE.UTF-8 wine_agent --help </dev/null >"$T/help.out" 2>&1 || fail "help"
unix_text "$T/help.out"
expect_in "$T/help.out" "^Befehle:"
expect_in "$T/help.out" "Ziele, die Weiterleitungen erreichen dürfen"
LANG=de_DE.UTF-8 wine_agent info --lang en </dev/null >"$T/info-en.out" 2>&1 || fail "info --lang en"
unix_text "$T/info-en.out"
expect_in "$T/info-en.out" "^Memory: .* total, .* available"

# On a console: WriteConsoleW.
timeout 60 script -qc "'$WINE' '$EXE' info --lang de" "$T/tty.out" </dev/null >/dev/null 2>&1 ||
    fail "info on a pty"
grep -aq "Arbeitsspeicher: .* verfügbar" "$T/tty.out" ||
    fail "the console did not show the umlaut: $(grep -a Arbeitsspeicher "$T/tty.out" | od -c | head -5)"

# A session in German.
setup_acme
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
WINCONF="$T/agent"
wine_agent join "$TOKEN" --config "$(winpath "$WINCONF")" --lang de </dev/null \
    >"$T/join.log" 2>&1 || fail "join under Wine: $(cat "$T/join.log")"
unix_text "$T/join.log"
expect_in "$T/join.log" "registriert als acme (ACME GmbH) beim Support-Server 127.0.0.1:$PORT"
LANG=de_DE.UTF-8 "$WINE" "$EXE" run --config "$(winpath "$WINCONF")" --unattended </dev/null \
    >"$T/agent.out" 2>"$T/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_until "grep -q 'Sitzungscode' '$T/agent.out'" 60 || fail "no German code line: $(cat "$T/agent.out")"
CODE=$(tr -d '\r' <"$T/agent.out" |
    sed -n 's/.*Sitzungscode: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p')
[ ${#CODE} -eq 6 ] || fail "no six-digit code in agent.out"
timeout 60 qh-console exec "$CODE" --allow-overdraft -- cmd /c echo hallo >"$T/x.out" 2>"$T/x.log" ||
    fail "exec: $(cat "$T/x.log")"
timeout 60 qh-console end "$CODE" >"$T/end.out" 2>&1 || fail "end: $(cat "$T/end.out")"
wait_until "grep -q 'Sitzung [0-9]* beendet' '$T/agent.out'" 30 || fail "no German summary: $(cat "$T/agent.out")"
kill $AGENT 2>/dev/null
wait $AGENT 2>/dev/null
unix_text "$T/agent.out"
expect_in "$T/agent.out" "^Guthaben: 0 Einheiten (0 h 00 min)"
expect_in "$T/agent.out" "Techniker Alice Tech (alice) verbunden (zugelassen durch --unattended)"
expect_in "$T/agent.out" "Alice Tech (alice) ist jetzt verbunden"
expect_in "$T/agent.out" "alice führt aus: cmd /c echo hallo"
expect_in "$T/agent.out" "Sitzung [0-9]* beendet (vom Techniker beendet): abrechenbare Zeit"
echo "German under Wine: to files, to the console, and from the console"
