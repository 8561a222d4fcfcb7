# The customer reads German (issue 13): with --lang de, and with
# LANG=de_DE.UTF-8 and no --lang (this machine has no German locale: the
# texts come from the tables built into the program, not from the C
# library), and English with --lang en whatever the environment says. The
# console writes what it sends the agent (the welcome's warning, the
# notices, the session's summary, a refused join) in the language the
# agent's HELLO or JOIN names; the technician's own lines stay English.
. "$(dirname "$0")/lib.sh"

setup_acme
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
unset LC_ALL LC_MESSAGES

# Enrolment, the help and the facts in German.
qh-agent join "$TOKEN" --config "$T/agent" --lang de >"$T/join.out" 2>&1 || fail "join"
expect_in "$T/join.out" "registriert als acme (ACME GmbH) beim Support-Server"
LANG=de_DE.UTF-8 qh-agent --help >"$T/help.out" 2>&1 || fail "help"
expect_in "$T/help.out" "^Befehle:"
expect_in "$T/help.out" "diesen PC mit dem Token oder dem Kurzcode Ihres Support-Anbieters registrieren"
qh-agent info --lang de >"$T/info.out" 2>&1 || fail "info"
expect_in "$T/info.out" "^Betriebssystem: "
expect_in "$T/info.out" "^Arbeitsspeicher: .* insgesamt, .* verfügbar"
qh-agent run --config "$T/nowhere" --lang de >"$T/none.out" 2>&1 && fail "run without enrolment"
expect_in "$T/none.out" "nicht registriert: .* fehlt; bitte führen Sie zuerst 'qh-agent join TOKEN' aus"
qh-agent run --config "$T/agent" --lang fr >"$T/fr.out" 2>&1
[ $? -eq 2 ] || fail "--lang fr is not a usage error: $(cat "$T/fr.out")"
expect_in "$T/fr.out" "\-\-lang takes de or en"

# A ticket the agent refuses before it connects, in German.
qh-agent ticket --config "$T/agent" --lang de --subject "$(printf 'Drucker\tdruckt nicht')" \
    >"$T/ticket.out" 2>&1 && fail "a subject with a tab was accepted"
expect_in "$T/ticket.out" "der Betreff muss eine einzelne Textzeile ohne Steuerzeichen sein"

code_of() {	# file: the six digits of the last code shown, in either language
	sed -n 's/.*\(session code\|Sitzungscode\): *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\2\3/p' "$1" |
	    tail -n 1
}

# 1. --lang de on a terminal: the question, the answer "j", the notices
#    from the console and the debit at the end, all German.
TM="tmux -S $T/tmux.sock"
$TM new-session -d -x 160 -y 40 \
    "qh-agent run --config '$T/agent' --lang de >'$T/de.out' 2>'$T/de.log'" || fail "tmux"
trap '$TM kill-server 2>/dev/null; cleanup' EXIT INT TERM
wait_until "grep -q 'Sitzungscode' '$T/de.out'" 30 || fail "no German code line: $(cat "$T/de.out")"
CODE=$(code_of "$T/de.out")
expect_in "$T/de.out" "(bitte nennen Sie ihn Ihrem Techniker)"
expect_in "$T/de.out" "^Guthaben: 0 Einheiten (0 h 00 min)"
expect_in "$T/de.out" "^Hinweis: Ihr Guthaben wird knapp: noch 0 Einheiten (0 h 00 min). Bitte buchen Sie weitere Stunden."
timeout 60 qh-console exec "$CODE" --allow-overdraft -- echo hallo >"$T/x.out" 2>"$T/x.log" &
X=$!
wait_until "grep -q 'Techniker Alice Tech (alice) möchte sich mit diesem PC verbinden. Zulassen? \[j/N\]' '$T/de.out'" 30 ||
    fail "no German question: $(cat "$T/de.out")"
$TM send-keys j Enter
wait $X || fail "the command failed after 'j': $(cat "$T/x.log")"
expect_in "$T/x.out" hallo
expect_in "$T/de.out" "Techniker Alice Tech (alice) zugelassen."
expect_in "$T/de.out" "Sitzung [0-9]* gestartet; sie wird aufgezeichnet und je angefangene 15 Minuten abgerechnet"
expect_in "$T/de.out" "Alice Tech (alice) ist jetzt verbunden"
expect_in "$T/de.out" "alice führt aus: echo hallo"
wait_until "grep -q 'hat die Verbindung getrennt' '$T/de.out'" 10 || fail "no German detach notice"
timeout 60 qh-console end "$CODE" >"$T/end.out" 2>&1 || fail "end: $(cat "$T/end.out")"
expect_in "$T/end.out" "closed (technician): billable time .*, [0-9]* units\? debited, balance"
wait_until "grep -q 'abrechenbare Zeit:' '$T/de.out'" 30 || fail "no German billable time: $(cat "$T/de.out")"
expect_in "$T/de.out" "Sitzung [0-9]* beendet (vom Techniker beendet): abrechenbare Zeit .*, [0-9]* Einheit\(en\)\? abgebucht, Guthaben -\?[0-9]* Einheit\(en\)\? (-\?[0-9]* h [0-9]* min)"
grep -q "unit\|session\|Balance\|Warning" "$T/de.out" && fail "English in the German run: $(cat "$T/de.out")"

# 2. LANG=de_DE.UTF-8 and no --lang: German, with no German locale installed.
locale -a 2>/dev/null | grep -qi '^de_' && echo "note: a German locale is installed here"
LANG=de_DE.UTF-8 qh-agent run --config "$T/agent" --yes </dev/null >"$T/env.out" 2>"$T/env.log" &
A=$!
PIDS="$PIDS $A"
wait_until "grep -q 'Sitzungscode' '$T/env.out'" 30 || fail "LANG=de_DE.UTF-8 is not German: $(cat "$T/env.out")"
expect_in "$T/env.out" "^Guthaben: -\?[0-9]* Einheit\(en\)\? (-\?[0-9]* h [0-9]* min)"
expect_in "$T/env.out" "^Hinweis: Ihr Guthaben wird knapp"
CODE=$(code_of "$T/env.out")
timeout 60 qh-console exec "$CODE" --allow-overdraft -- true >"$T/x2.out" 2>&1 || fail "exec 2"
expect_in "$T/env.out" "Techniker Alice Tech (alice) verbunden (zugelassen durch --yes)"
kill -INT $A
wait_until "! kill -0 $A" 20 || fail "agent 2 ignored SIGINT"
expect_in "$T/env.out" "Sitzung [0-9]* beendet (von Ihnen beendet): abrechenbare Zeit"

# 3. --lang en wins over a German environment; the console answers in English.
LANG=de_DE.UTF-8 qh-agent run --config "$T/agent" --yes --lang en </dev/null >"$T/en.out" 2>"$T/en.log" &
A=$!
PIDS="$PIDS $A"
wait_until "grep -q 'session code' '$T/en.out'" 30 || fail "--lang en is not English: $(cat "$T/en.out")"
expect_in "$T/en.out" "^Balance: -\?[0-9]* units\? (-\?[0-9]* h [0-9]* min)"
expect_in "$T/en.out" "^Warning: Your prepaid balance is low: .* left. Please buy more hours."
CODE=$(code_of "$T/en.out")
timeout 60 qh-console exec "$CODE" --allow-overdraft -- true >"$T/x3.out" 2>&1 || fail "exec 3"
kill -INT $A
wait_until "! kill -0 $A" 20 || fail "agent 3 ignored SIGINT"
expect_in "$T/en.out" "Alice Tech (alice) attached"
expect_in "$T/en.out" "session [0-9]* closed (ended by you): billable time .*, [0-9]* units\? debited, balance -\?[0-9]* units\? ("
grep -q "Sitzung\|Einheit\|Guthaben" "$T/en.out" && fail "German in the English run: $(cat "$T/en.out")"

# 4. A refused join in German: the JOIN names the language too.
qh-agent join "$TOKEN" --config "$T/other" --lang de >"$T/join2.out" 2>&1 &&
    fail "a used token enrolled again"
expect_in "$T/join2.out" "Registrierung abgelehnt: dieser Token wurde bereits .*verwendet; bitte fordern Sie einen neuen an"
echo "German with --lang de and LANG=de_DE.UTF-8, English with --lang en"
