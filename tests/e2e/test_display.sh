#!/bin/sh
# Text from PCs and technicians reaches other people's terminals only
# through the one display filter (issue 10, #11). A HELLO or JOIN whose
# host carries control characters is refused, while UTF-8 names
# ("Büro-PC") are welcome; hostile text that is stored anyway (an exec's
# argv, a note, a customer's name, rows written before the checks) is shown
# with '?' for every control by `queue`, `agents`, `customer list`,
# `balance`, `sessions` and the console's log, while their --json stays
# exact; the technician's client shows a hostile agent's error text the
# same way.
. "$(dirname "$0")/lib.sh"
requires jq:jq sqlite3:sqlite3

setup_session

# Title, bell and a cleared screen; a C1 CSI (U+009B) in UTF-8.
HOSTILE=$(printf '\033]0;PWNED\007\033[2J')
SHOWN='?]0;PWNED??[2J'
C1HOST=$(printf 'pc\302\2332J')

# Fails naming FILE when it holds a control character other than a line
# feed (C0, DEL, C1) or bytes that are not UTF-8.
no_controls() {	# file what
	python3 - "$1" <<'EOF' || fail "$2 shows control characters: $(od -c "$1" | head -n 20)"
import sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
bad = [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f)]
sys.exit(1 if bad else 0)
EOF
}

q() { sqlite3 "$STATE/ledger.db" "$1"; }

# 1. HELLO: a host with control characters is refused, a UTF-8 one is welcome.
TOKEN2=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN2" --config "$T/agent2" >"$T/join2.log" 2>&1 || fail "join 2"
hello() {	# name host [--error TEXT]
	_name=$1
	shift
	qh-fakeagent hello --bundle "$T/agent2/agent.pem" --host "$@" \
	    >"$T/$_name.out" 2>"$T/$_name.log" &
	PIDS="$PIDS $!"
	wait_until "grep -q '^refused\|^welcome' '$T/$_name.out'" 30 ||
	    fail "HELLO $_name: no answer: $(cat "$T/$_name.log")"
}
hello hostile "$HOSTILE"
grep -q '^refused: .*host' "$T/hostile.out" ||
    fail "a HELLO host with an escape sequence was not refused: $(od -c "$T/hostile.out")"
hello c1 "$C1HOST"
grep -q '^refused: .*host' "$T/c1.out" ||
    fail "a HELLO host with a C1 control was not refused: $(od -c "$T/c1.out")"
grep -q 'refused.*host' "$T/console.log" || fail "the console logged no refusal"
# Facts that are JSON, with a C1 control and a DEL left raw in a string.
FACTS=$(printf '{"hostname":"pc\302\2332J\177x","os":"Linux"}')
hello buero "Büro-PC" --error "cannot open x: $HOSTILE" --info "$FACTS"
CODE2=$(sed -n 's/^welcome \([0-9]\{6\}\)$/\1/p' "$T/buero.out")
[ ${#CODE2} -eq 6 ] || fail "HELLO with host Büro-PC: $(cat "$T/buero.out")"

qh-console queue >"$T/queue.txt" 2>"$T/queue.err" || fail "queue: $(cat "$T/queue.err")"
no_controls "$T/queue.txt" "queue"
grep -q 'Büro-PC' "$T/queue.txt" || fail "queue lost the UTF-8 host: $(cat "$T/queue.txt")"
[ "$(grep -c '^[0-9]\{3\} [0-9]\{3\} ' "$T/queue.txt")" -eq 2 ] ||
    fail "queue should list the two welcomed agents only: $(od -c "$T/queue.txt")"
qh-console queue --json | jq -e 'any(.[]; .host == "Büro-PC")' >/dev/null ||
    fail "queue --json: $(qh-console queue --json)"

# 2. JOIN: the same rule; the refused token is not spent.
TOKEN3=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-fakeagent join --token "$TOKEN3" --host "$HOSTILE" >"$T/join3.out" 2>"$T/join3.log"
grep -q '^refused: .*host' "$T/join3.out" ||
    fail "a JOIN host with an escape sequence was not refused: $(od -c "$T/join3.out")"
qh-fakeagent join --token "$TOKEN3" --host "Zoë's PC" >"$T/join4.out" 2>"$T/join4.log"
grep -qx joined "$T/join4.out" || fail "JOIN after a refused host: $(cat "$T/join4.out" "$T/join4.log")"

# 3. A row written before the checks existed, and a customer's name (the
# admin's to choose; test_ledger_cli gives one a line break): shown
# filtered, their JSON exact.
q "UPDATE agents SET host = '$HOSTILE' WHERE host = 'Büro-PC'" || fail "sqlite3"
qh-console customer add evil --name "Evil$HOSTILE" --state "$STATE" >"$T/evil.out" 2>&1 ||
    fail "customer add: $(cat "$T/evil.out")"
qh-console agents --state "$STATE" >"$T/agents.txt" 2>&1 || fail "agents: $(cat "$T/agents.txt")"
no_controls "$T/agents.txt" "agents"
grep -qF "$SHOWN" "$T/agents.txt" || fail "agents: $(cat "$T/agents.txt")"
qh-console agents --json --state "$STATE" | jq -r '.[].host' | grep -qxF "$HOSTILE" ||
    fail "agents --json does not keep the host exact"
qh-console customer list --state "$STATE" >"$T/customers.txt" 2>&1 || fail "customer list"
no_controls "$T/customers.txt" "customer list"
grep -qF "Evil$SHOWN" "$T/customers.txt" || fail "customer list: $(cat "$T/customers.txt")"
qh-console customer list --json --state "$STATE" | jq -r '.[].name' | grep -qxF "Evil$HOSTILE" ||
    fail "customer list --json does not keep the name exact"
qh-console balance evil --state "$STATE" >"$T/balance.txt" 2>&1 || fail "balance"
no_controls "$T/balance.txt" "balance"
grep -qF "Evil$SHOWN" "$T/balance.txt" || fail "balance: $(cat "$T/balance.txt")"

# 4. The technician's client: a hostile agent's error text for a pull.
timeout 60 qh-console pull "$CODE2" /etc/hostname "$T/pulled" >"$T/pull.out" 2>"$T/pull.err"
rc=$?
[ "$rc" -eq 1 ] || fail "pull from the hostile agent: exit $rc, want 1: $(cat "$T/pull.err")"
no_controls "$T/pull.err" "the technician's client"
grep -qF "cannot open x: $SHOWN" "$T/pull.err" || fail "pull error: $(cat "$T/pull.err")"

# info: the facts shown filtered; as --json only if a terminal can show them as they are.
timeout 60 qh-console info "$CODE2" >"$T/info.out" 2>"$T/info.err" ||
    fail "info: $(cat "$T/info.err")"
no_controls "$T/info.out" "info"
grep -q "pc?2J?x" "$T/info.out" || fail "info: $(cat "$T/info.out")"
timeout 60 qh-console info "$CODE2" --json >"$T/info.json" 2>"$T/info-json.err"
rc=$?
[ "$rc" -eq 1 ] || fail "info --json with raw controls: exit $rc, want 1: $(od -c "$T/info.json")"
no_controls "$T/info.json" "info --json"
grep -q "not JSON a terminal can show" "$T/info-json.err" || fail "info --json: $(cat "$T/info-json.err")"

# 5. sessions: an exec's argv and a note cannot rewrite the audit lines.
timeout 60 qh-console exec "$CODE" -- true "$HOSTILE" >"$T/exec.out" 2>"$T/exec.err" ||
    fail "exec: $(cat "$T/exec.err")"
FORGED="    2024-01-01T00:00:00Z  exec      bob          rm -rf /"
NOTE=$(printf 'done\n%s\033[2J' "$FORGED")
timeout 60 qh-console end "$CODE" --note "$NOTE" >"$T/end.out" 2>"$T/end.err" ||
    fail "end: $(cat "$T/end.err")"
no_controls "$T/end.out" "end's summary"
qh-console sessions --state "$STATE" >"$T/sessions.txt" 2>&1 || fail "sessions"
no_controls "$T/sessions.txt" "sessions"
grep -qF "true $SHOWN" "$T/sessions.txt" || fail "sessions lost the argv: $(cat "$T/sessions.txt")"
! grep -qxF "$FORGED" "$T/sessions.txt" && ! grep -q '^    2024-01-01' "$T/sessions.txt" ||
    fail "a note forged an audit line: $(cat "$T/sessions.txt")"
grep -qF "note: done $FORGED?[2J" "$T/sessions.txt" ||
    fail "sessions does not show the note on its line: $(cat "$T/sessions.txt")"
qh-console sessions --json --state "$STATE" | jq -r '.[] | select(.note != null) | .note' |
    grep -qF "$(printf '%s\033[2J' "$FORGED")" || fail "sessions --json does not keep the note exact"

# 6. A PC whose host name has controls: the agent sends what the console
# shows, so it is not refused (where a user namespace can rename the host).
if unshare -ru true 2>/dev/null; then
	# unshare and python exec, so $! is the agent's pid.
	RENAME='import os, socket, sys
socket.sethostname(sys.argv[1])
os.execvp(sys.argv[2], sys.argv[2:])'
	TOKEN5=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
	unshare -ru python3 -c "$RENAME" "pc$HOSTILE" qh-agent join "$TOKEN5" --config "$T/agent5" \
	    >"$T/join5.log" 2>&1 || fail "join from a PC named with controls: $(cat "$T/join5.log")"
	unshare -ru python3 -c "$RENAME" "pc$HOSTILE" qh-agent run --config "$T/agent5" --yes \
	    </dev/null >"$T/agent5.out" 2>"$T/agent5.log" &
	PIDS="$PIDS $!"
	wait_until "grep -q 'session code' '$T/agent5.out'" 30 ||
	    fail "an agent on a PC named with controls: $(cat "$T/agent5.out" "$T/agent5.log")"
	qh-console queue >"$T/queue5.txt" 2>&1 || fail "queue"
	grep -qF "pc$SHOWN" "$T/queue5.txt" || fail "queue: $(cat "$T/queue5.txt")"
	[ "$(q "SELECT count(*) FROM agents WHERE host = 'pc$SHOWN'")" = 1 ] ||
	    fail "agents: $(q 'SELECT host FROM agents')"
else
	echo "no user namespace here: the agent's own host name filter is not driven"
fi

# The customer's own terminal never saw a control either, nor the console's log.
no_controls "$T/agent.out" "the agent's terminal"
no_controls "$T/console.log" "the console's log"
grep -qF "runs exec true $SHOWN" "$T/console.log" || fail "the log lacks the filtered argv"
exit 0
