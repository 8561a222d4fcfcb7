#!/bin/sh
# The technician's `qh-console attach CODE` on a real terminal (tmux): the
# shell answers, follows a resize of the technician's window, and "~." at
# the start of a line detaches like ssh: attach exits 0 saying "detached",
# the shell is stopped, but the session stays open in the queue until
# `qh-console end CODE` closes it. The customer's terminal shows who is
# attached.
. "$(dirname "$0")/lib.sh"
requires tmux:tmux sqlite3:sqlite3

setup_session

# $Q EXPR succeeds if the Python expression holds for e, the entry of our
# code in `queue --json` (None when the agent is not listed); the listing
# is left in $T/queue.json. A script, so that wait_until can run it.
cat >"$T/q.py" <<'EOF'
import json, subprocess, sys
out = subprocess.run(["timeout", "30", "qh-console", "queue", "--json"],
                     check=True, stdout=subprocess.PIPE).stdout
open(sys.argv[1] + "/queue.json", "wb").write(out)
e = next((x for x in json.loads(out) if x.get("code") == sys.argv[2]), None)
sys.exit(0 if e is not None and eval(sys.argv[3]) else 1)
EOF
Q="python3 $T/q.py $T $CODE"

TM="tmux -S $T/tmux.sock"
at_exit '$TM kill-server'
$TM new-session -d -x 80 -y 24 \
    "qh-console attach $CODE 2>&1; echo ATTACH-EXIT=\$?; sleep 600" || fail "expected tmux to start a session"
screen() { $TM capture-pane -p -J -S -100; }
wait_until "$TM capture-pane -p | grep -q 'attached to'" 30 || fail "expected 'attached to' on the screen: $(screen)"

# The customer sees who is attached.
wait_until "grep -q 'alice.*attached' '$T/agent.out'" 10 ||
    fail "the agent's terminal does not show alice attached: $(cat "$T/agent.out")"
wait_until "$Q '\"alice\" in e[\"technicians\"]'" 10 ||
    fail "queue does not list alice as attached: $(cat "$T/queue.json")"

$TM send-keys 'echo $((6*7)); echo $$ >'"$T/shell.pid" Enter
wait_until "$TM capture-pane -p | grep -qx 42" 20 || fail "expected 42 on a line of its own after echo \$((6*7)): $(screen)"
wait_until "[ -s '$T/shell.pid' ]" 10 || fail "the shell wrote no pid"
SHELL_PID=$(cat "$T/shell.pid")

$TM resize-window -x 100 -y 30
i=0
while ! $TM capture-pane -p | grep -qx '30 100'; do
	i=$((i + 1))
	[ $i -gt 40 ] && fail "stty size after resizing to 100x30: $(screen)"
	$TM send-keys 'clear; stty size' Enter
	sleep 0.5
done

# "~." at the start of a line: detached, attach exits 0.
$TM send-keys Enter
$TM send-keys -l '~.'
wait_until "$TM capture-pane -p -J -S -100 | grep -q 'ATTACH-EXIT='" 20 ||
    fail "expected ~. to end the attach: $(screen)"
screen | grep -q 'ATTACH-EXIT=0' || fail "attach did not exit 0 after ~.: $(screen)"
screen | grep -q 'detached' || fail "attach did not say it detached: $(screen)"
wait_until "! kill -0 $SHELL_PID 2>/dev/null" 20 || fail "the detached shell still runs"

# The session stays open; nobody is attached any more.
$Q 'e["session"] is not None' 2>>"$T/queue.log" ||
    fail "after ~. the queue has no open session for $CODE: $(cat "$T/queue.json")"
SESSION=$(python3 -c 'import json,sys
print(next(x["session"] for x in json.load(open(sys.argv[1])) if x["code"] == sys.argv[2]))
' "$T/queue.json" "$CODE")
wait_until "$Q 'e[\"technicians\"] == []'" 10 ||
    fail "alice still listed as attached after ~.: $(cat "$T/queue.json")"
[ -z "$(sqlite3 "$STATE/ledger.db" "SELECT closed_at FROM sessions WHERE id = $SESSION")" ] ||
    fail "session $SESSION was closed by ~."
kill -0 "$AGENT" || fail "the agent exited after ~."

# `end` closes it.
timeout 60 qh-console end "$CODE" >"$T/end.out" 2>"$T/end.log" || fail "end: $(cat "$T/end.log")"
expect_in "$T/end.out" "billable time"
[ "$(sqlite3 "$STATE/ledger.db" "SELECT closed_at IS NOT NULL FROM sessions WHERE id = $SESSION")" = 1 ] ||
    fail "session $SESSION is not closed after end"
wait_until "grep -q 'billable time' '$T/agent.out'" 30 || fail "expected the agent to show the billable time: $(tail -n 3 "$T/agent.out")"
wait_until "! kill -0 $AGENT" 20 || fail "attended agent did not exit after end"
wait "$AGENT" || fail "expected the agent to exit 0, it exited $?"
exit 0
