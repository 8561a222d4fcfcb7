#!/bin/sh
# The Windows agent under Wine (issue 11) against the Linux console: it
# enrols into a configuration directory named with a Windows path, runs
# unattended, runs `exec -- cmd /c ...` without a shell and passes the
# exit status back (127 and the reason for a program that is not there),
# serves `info` with the Windows facts, gives an interactive cmd.exe
# (attach --shell cmd) on a pseudo console (ConPTY) with its exit status,
# and when it is killed with SIGKILL mid-command, its Job Object ends the
# command and the program that command started (issue 10, #14, on
# Windows).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"

win_session
tr -d '\r' <"$T/agent.out" >"$T/agent.txt"
expect_in "$T/agent.txt" "connected to 127.0.0.1:$PORT as acme (ACME GmbH)"

out=$(timeout 60 qh-console exec "$CODE" -- cmd /c echo hello from windows 2>"$T/x.err" |
    tr -d '\r') || fail "exec: $(cat "$T/x.err")"
[ "$out" = "hello from windows" ] || fail "exec printed '$out'"
timeout 60 qh-console exec "$CODE" -- cmd /c exit 3 >/dev/null 2>"$T/x.err"
st=$?
[ "$st" -eq 3 ] || fail "cmd /c exit 3 gave $st"
# Quoting by Windows' rules: each word arrives as it was sent.
out=$(timeout 60 qh-console exec "$CODE" -- cmd /c echo "a b" 'c"d' 2>"$T/x.err" |
    tr -d '\r') || fail "exec with quotes: $(cat "$T/x.err")"
[ "$out" = '"a b" "c\"d"' ] || fail "cmd saw '$out'"
timeout 60 qh-console exec "$CODE" -- no-such-program.exe >/dev/null 2>"$T/x.err"
st=$?
[ "$st" -eq 127 ] || fail "a missing program gave $st"
expect_in "$T/x.err" "no-such-program.exe: No such file or directory"
tr -d '\r' <"$T/agent.out" >"$T/agent.txt"
expect_in "$T/agent.txt" "alice runs: cmd /c echo hello from windows"

# info through the technician: Windows, in the Linux agent's layout.
timeout 60 qh-console info "$CODE" >"$T/info.txt" 2>"$T/info.err" ||
    fail "info: $(cat "$T/info.err")"
expect_in "$T/info.txt" "OS: *Microsoft Windows 10"
expect_in "$T/info.txt" "Architecture: *x86_64"
expect_in "$T/info.txt" "Disks: *C:"

# attach: cmd.exe on a pseudo console, typed into, its exit status back.
TM="tmux -L qh-win-$$"
$TM new-session -d -x 100 -y 30 "qh-console attach $CODE --shell cmd; echo ATTACH-EXIT=\$?; sleep 60" ||
    fail "tmux"
PIDS="$PIDS $($TM display-message -p '#{pid}')"
screen() { $TM capture-pane -p; }
wait_until "$TM capture-pane -p | grep -q '>$'" 30 || fail "no cmd prompt: $(screen)"
$TM send-keys 'echo marker-%OS%-4242' Enter
wait_until "$TM capture-pane -p | grep -q '^marker-Windows_NT-4242'" 20 ||
    fail "no output from cmd.exe: $(screen)"
$TM send-keys 'exit 5' Enter
wait_until "$TM capture-pane -p | grep -q 'ATTACH-EXIT=5'" 20 || fail "attach exit: $(screen)"
$TM kill-server 2>/dev/null

# kill -9 of the agent mid-command: the command and its child end too.
timeout 120 qh-console exec "$CODE" -- cmd /c ping -n 300 127.0.0.1 >"$T/ping.out" \
    2>"$T/ping.err" &
PIDS="$PIDS $!"
wait_until "pgrep -f '^ping -n 300 127.0.0.1' >/dev/null" 30 ||
    fail "ping did not start: $(cat "$T/ping.out" "$T/ping.err")"
pgrep -f '^cmd /c ping -n 300' >/dev/null || fail "no cmd.exe above ping"
# Wine registers a new process with its server a moment after it exists.
sleep 1
kill -9 "$AGENT"
left() {	# the command's processes still alive (zombies aside)
	ps -eo stat=,args= | awk '$1 !~ /^Z/ && ($2 == "ping" || ($2 == "cmd" && $4 == "ping"))'
}
wait_until "[ -z \"\$(ps -eo stat=,args= | awk '\$1 !~ /^Z/ && (\$2 == \"ping\" || (\$2 == \"cmd\" && \$4 == \"ping\"))')\" ]" 15 ||
    fail "after kill -9 of the agent still running: $(left)"
exit 0
