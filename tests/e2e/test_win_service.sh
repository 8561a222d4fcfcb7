#!/bin/sh
# qh-agent service install | uninstall under Wine (issue 11): the copy of
# qh-agent.exe that `enroll --exe` made installs itself as the Windows
# service quarterhour-agent (into Program Files, its state enrolled into
# ProgramData), which starts, connects unattended and runs a technician's
# command; uninstall stops and removes it, and the agent leaves the queue.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"

win_setup
C="$WINEPREFIX/drive_c"
uninstall() {
	"$WINE" "$EXE" service uninstall </dev/null >/dev/null 2>&1
	rm -rf "$C/ProgramData/quarterhour" "$C/Program Files/quarterhour"
}
trap 'uninstall; cleanup' EXIT INT TERM
uninstall
# Wine starts its service manager from the first program that needs it;
# if that were the agent, the agent's Job Object would end it with the
# agent (Windows' own is never our child).
"$WINE" sc query quarterhour-agent </dev/null >/dev/null 2>&1

setup_acme
qh-console enroll acme --exe "$T/server-agent.exe" --from "$EXE" --state "$STATE" \
    >/dev/null 2>>"$T/admin.log" || fail "enroll --exe"

"$WINE" "$T/server-agent.exe" service install </dev/null >"$T/install.out" 2>&1 ||
    fail "service install: $(cat "$T/install.out")"
unix_text "$T/install.out"
expect_in "$T/install.out" "service quarterhour-agent installed and started"
[ -f "$C/Program Files/quarterhour/qh-agent.exe" ] || fail "no copy in Program Files"
[ -f "$C/ProgramData/quarterhour/agent/agent.pem" ] || fail "not enrolled into ProgramData"
"$WINE" sc query quarterhour-agent </dev/null >"$T/sc.out" 2>&1
unix_text "$T/sc.out"
expect_in "$T/sc.out" "RUNNING"

wait_until "qh-console queue --json | grep -q '\"customer\":\"acme\"'" 30 ||
    fail "the service's agent did not connect: $(cat "$C/ProgramData/quarterhour/agent/service.log")"
CODE=$(qh-console queue --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["code"])')
out=$(timeout 60 qh-console exec "$CODE" -- cmd /c echo from the service 2>"$T/x.err" |
    tr -d '\r') || fail "exec through the service: $(cat "$T/x.err")"
[ "$out" = "from the service" ] || fail "exec through the service printed '$out'"
grep -q "waiting with code" "$C/ProgramData/quarterhour/agent/service.log" ||
    fail "the service does not log to service.log"

"$WINE" "$EXE" service uninstall </dev/null >"$T/uninstall.out" 2>&1 ||
    fail "service uninstall: $(cat "$T/uninstall.out")"
unix_text "$T/uninstall.out"
expect_in "$T/uninstall.out" "service quarterhour-agent removed"
"$WINE" sc query quarterhour-agent </dev/null >"$T/sc2.out" 2>&1
unix_text "$T/sc2.out"
grep -q RUNNING "$T/sc2.out" && fail "the service still runs: $(cat "$T/sc2.out")"
wait_until "qh-console queue --json | grep -q '\"connected\":false'" 30 ||
    fail "the agent did not leave: $(qh-console queue)"
exit 0
