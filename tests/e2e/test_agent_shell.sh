#!/bin/sh
# A technician's shell on the customer's PC: a login shell on a real
# pseudo-terminal with the technician's size, resized when the technician's
# terminal is; the shell's exit ends the attach with its status and the
# shell is reaped (no zombie). A command the technician abandons is stopped.
. "$(dirname "$0")/lib.sh"
requires tmux:tmux

setup_session

TM="tmux -S $T/tmux.sock"
at_exit '$TM kill-server'
$TM new-session -d -x 80 -y 24 \
    "qh-console attach $CODE; echo ATTACH-EXIT=\$?; sleep 60" || fail "expected tmux to start a session"
screen() { $TM capture-pane -p -J -S -100; }
wait_until "$TM capture-pane -p | grep -q 'attached to'" 30 || fail "expected 'attached to' on the screen: $(screen)"
expect_in "$T/agent.out" "alice opened a shell"

$TM send-keys 'echo $((6*7)); tty' Enter
wait_until "$TM capture-pane -p | grep -qx 42" 20 || fail "expected 42 on a line of its own after echo \$((6*7)): $(screen)"
# tty's line may come a moment after 42's.
wait_until "$TM capture-pane -p | grep -q '^/dev/pts/'" 20 || fail "the shell has no terminal: $(screen)"
$TM send-keys 'stty size' Enter
wait_until "$TM capture-pane -p | grep -qx '24 80'" 20 || fail "expected stty size to say 24 80: $(screen)"
# No signal the agent ignores reaches what the shell runs.
$TM send-keys 'grep SigIgn /proc/self/status' Enter
wait_until "$TM capture-pane -p | grep -Eq '^SigIgn:[[:space:]]+0+$'" 20 ||
    fail "the shell's commands inherit ignored signals: $(screen)"
$TM resize-window -x 100 -y 30
i=0
while ! $TM capture-pane -p | grep -qx '30 100'; do
	i=$((i + 1))
	[ $i -gt 40 ] && fail "expected stty size to say 30 100 after the resize: $(screen)"
	$TM send-keys 'clear; stty size' Enter
	sleep 0.5
done

# The shell's exit status ends the attach; the agent reaps it.
$TM send-keys 'echo $$ >'"$T/shell.pid"'; exit 5' Enter
wait_until "$TM capture-pane -p | grep -q 'ATTACH-EXIT=5'" 30 || fail "expected the attach to end with the shell's status: $(screen)"
SHELL_PID=$(cat "$T/shell.pid")
wait_until "! kill -0 $SHELL_PID 2>/dev/null" 10 || fail "shell $SHELL_PID not reaped"

# A command whose technician goes away is stopped, even if it ignores SIGTERM.
qh-console exec "$CODE" -- sh -c 'trap "" TERM; echo $$ >'"$T/stubborn.pid"'; exec sleep 300' \
    >"$T/stubborn.out" 2>&1 &
X=$!
wait_until "[ -s '$T/stubborn.pid' ]" 20 || fail "expected the stubborn command to start and write its pid"
kill -9 $X
wait_until "! kill -0 $(cat "$T/stubborn.pid") 2>/dev/null" 20 ||
    fail "expected the abandoned command to be ended"
kill -0 "$AGENT" || fail "expected the agent to keep running"
exit 0
