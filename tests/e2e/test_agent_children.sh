#!/bin/sh
# Every process a technician's command starts ends with the agent (issue
# 10, #14). While a command runs, a SIGKILL of the agent ends the command,
# its children and a child that left the process group with setsid (they
# were left running with parent 1 before). A command that ends leaves no
# process of its group behind. The same for a shell: a background job of
# an attach ends when the agent is killed.
. "$(dirname "$0")/lib.sh"

# Unique sleep lengths, so that pgrep finds only this test's processes.
B=$((3000000 + $$ % 1000000))
A1=$((B + 1)) A2=$((B + 2)) A3=$((B + 3)) A4=$((B + 4)) A5=$((B + 5))

running() {	# a condition for wait_until: N of the sleeps of the given lengths run
	n=$1
	shift
	echo "[ \$(pgrep -x -f 'sleep ($(echo "$*" | tr ' ' '|'))' | wc -l) -eq $n ]"
}

left() {
	ps -eo pid,ppid,pgid,sid,stat,args >"$T/ps.log"
	ps -eo pid,ppid,pgid,sid,stat,args | grep "sleep $((B / 10))" | grep -v grep
}

setup_session --yes

# A command that ends: the background process of its group ends with it.
out=$(timeout 30 qh-console exec "$CODE" -- sh -c "sleep $A4 & echo bg" 2>"$T/bg.err") ||
    fail "exec: $(cat "$T/bg.err")"
[ "$out" = bg ] || fail "exec printed '$out'"
wait_until "$(running 0 $A4)" 10 ||
    fail "the background process of a finished command still runs: $(left)"

# A running command, a child, a child in a session of its own.
timeout 60 qh-console exec "$CODE" -- sh -c \
    "sleep $A1 & setsid sleep $A2 & echo started; exec sleep $A3" \
    >"$T/x.out" 2>"$T/x.err" &
X=$!
PIDS="$PIDS $X"
wait_until "grep -q started '$T/x.out'" 20 || fail "the command did not start: $(cat "$T/x.err")"
wait_until "$(running 3 $A1 $A2 $A3)" 10 || fail "not all three sleeps run: $(left)"
kill -9 "$AGENT"
wait_until "$(running 0 $A1 $A2 $A3)" 10 ||
    fail "after kill -9 of the agent these still run: $(left)"

# A shell's background job, the same.
qh-agent run --config "$T/agent" --yes </dev/null >"$T/agent2.out" 2>"$T/agent2.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_until "grep -q 'session code' '$T/agent2.out'" 30 || fail "the agent did not come back"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent2.out")
TM="tmux -L qh-children-$$"
$TM new-session -d -x 100 -y 30 "qh-console attach $CODE; sleep 30" || fail "tmux"
PIDS="$PIDS $($TM display-message -p '#{pid}')"
wait_until "grep -q 'opened a shell' '$T/agent2.out'" 20 || fail "no shell"
# Type once the shell shows its prompt; a loaded machine may take a while.
wait_until "$TM capture-pane -p | grep -q '[\$#] *\$'" 30 ||
    fail "the shell showed no prompt: $($TM capture-pane -p)"
$TM send-keys "sleep $A5 & echo job-started" Enter
wait_until "$(running 1 $A5)" 30 ||
    fail "the shell's job did not start: $($TM capture-pane -p | tail -n 5)"
kill -9 "$AGENT"
wait_until "$(running 0 $A5)" 10 ||
    fail "after kill -9 of the agent the shell's job still runs: $(left)"
$TM kill-server 2>/dev/null
exit 0
