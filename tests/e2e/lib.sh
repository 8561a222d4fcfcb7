# Shared helpers of the end-to-end tests. Each test sources this file, gets
# a temporary directory $T that is removed on exit together with every
# process the test started, and uses the binaries in $QH_BIN.
#
# Every failure ends in one line "FAILED: what was expected, and what
# happened" followed by the logs: fail() for a check that does not hold,
# and the exit trap for a script that stops any other way (a command that
# is no check, an unset variable, a signal such as tests/run.sh's time
# limit), so that no test fails without saying why.
set -u
QH_BIN=${QH_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/asan/bin}
export PATH="$QH_BIN:$PATH"
# The agent's shells are login shells of our user (root in CI), which read
# that user's profile. A profile that runs `pyenv rehash` (this machine
# kind's root does) waits up to 60 s on a lock file that a shell killed
# mid-rehash leaves behind, and tests end sessions early: one stale lock
# makes every later shell's prompt a minute late. A second suffices.
export PYENV_REHASH_TIMEOUT=1
# A part of a test run in a process of its own (under another faketime
# clock, say) works in its parent's directory, which the parent removes.
if [ -n "${QH_E2E_T:-}" ]; then
	T=$QH_E2E_T
else
	T=$(mktemp -d /tmp/qh-e2e.XXXXXX)
fi
PIDS=""
AT_EXIT=""
FAILED_SAID=""

# Prints the last lines of every log under $T.
show_logs() {
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		tail -n 40 "$f"
	done
}

# at_exit CMD: runs CMD (a tmux server to kill, say) when the test ends.
at_exit() {
	AT_EXIT="$AT_EXIT
$1"
}

# Ends every process the test started and removes $T. A test that sets
# its own EXIT trap calls it (at_exit is the better way).
cleanup() {
	eval "$AT_EXIT" 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	# Never remove through a mount a test left behind (a bind of /usr...).
	for _m in $(awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo 2>/dev/null |
	    sort -r); do
		umount -l "$_m" 2>/dev/null
	done
	if grep -q " $T/" /proc/self/mountinfo 2>/dev/null; then
		echo "FAILED: mounts are left under $T; not removing it"
		return 1
	fi
	# faketime's shared memory of a process killed above stays behind, and
	# a later faketime with the same pid fails (sem_open: File exists).
	for _f in /dev/shm/faketime_shm_* /dev/shm/sem.faketime_sem_*; do
		[ -e "$_f" ] || continue
		kill -0 "${_f##*_}" 2>/dev/null || rm -f "$_f"
	done
	[ -n "${QH_E2E_T:-}" ] || rm -rf "$T"
}

# The exit trap: a script that stops without a FAILED line says so.
on_exit() {
	_st=$?
	trap - EXIT
	if [ "$_st" -ne 0 ] && [ -z "$FAILED_SAID" ]; then
		echo "FAILED: $(basename "$0") stopped with status $_st outside any check" \
		    "(a command that failed on its own, an unset variable); expected it to" \
		    "run to its end or fail a check"
		show_logs
	fi
	cleanup || _st=1
	exit "$_st"
}
trap on_exit EXIT

# A signal ends the test, saying so (SIGTERM: most likely the time limit of
# tests/run.sh, so the step it was in took too long).
on_signal() {	# name status
	FAILED_SAID=1
	echo "FAILED: $(basename "$0") was stopped by $1; expected it to end by itself"
	show_logs
	exit "$2"
}
trap 'on_signal SIGTERM 143' TERM
trap 'on_signal SIGINT 130' INT
trap 'on_signal SIGHUP 129' HUP

# Prints the message (what was expected, what happened) and every log
# under $T, then fails the test.
fail() {
	FAILED_SAID=1
	echo "FAILED: $*"
	show_logs
	exit 1
}

# requires TOOL:PACKAGE...: the programs this test runs besides ours, each
# with the Debian package that has it. A missing one fails at once, naming
# its package. test_setup checks that scripts/deps.sh installs every
# package named here, so a machine that happens to have a tool cannot hide
# a missing install step.
requires() {
	for _r in "$@"; do
		command -v "${_r%%:*}" >/dev/null 2>&1 ||
		    fail "this test runs ${_r%%:*}, from the Debian package ${_r#*:}, which is" \
		    "not installed: expected scripts/deps.sh to install it"
	done
}

# Succeeds while the process runs (a child that ended and was not waited
# for is a zombie: kill -0 still finds it, this does not).
running() {	# pid
	_s=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -n "$_s" ] && [ "${_s#Z}" = "$_s" ]
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits until the command succeeds, up to $2 seconds (default 20).
wait_until() {
	_cond=$1
	_limit=$(( ${2:-20} * 10 ))
	_i=0
	while ! sh -c "$_cond" >/dev/null 2>&1; do
		_i=$((_i + 1))
		[ "$_i" -ge "$_limit" ] && return 1
		sleep 0.1
	done
	return 0
}

# Creates a console state in $T/state listening on a free port ($PORT).
setup_console() {
	PORT=$(free_port)
	STATE="$T/state"
	qh-console init --state "$STATE" --name 127.0.0.1 --listen "127.0.0.1:$PORT" \
	    >"$T/init.log" 2>&1 || fail "expected qh-console init to succeed: $(tail -n 3 "$T/init.log")"
}

# Starts qh-console serve in the background and waits for it to listen.
start_console() {
	qh-console serve --state "$STATE" --log-level debug "$@" >>"$T/console.log" 2>&1 &
	CONSOLE_PID=$!
	PIDS="$PIDS $CONSOLE_PID"
	wait_until "grep -q 'listening on' '$T/console.log'" 30 ||
	    fail "expected qh-console serve to log 'listening on' within 30 s"
}

# Checks that the file contains the text; prints context otherwise.
expect_in() {	# file text
	grep -q -- "$2" "$1" ||
	    fail "expected '$2' in $1, which holds: $(tail -n 5 "$1" 2>&1)"
}

# Xvfb at 1024x768x24 on a display it picks itself (-displayfd: a fixed
# range can be full of other runs' lock files); exports DISPLAY.
start_xvfb() {
	Xvfb -displayfd 3 -screen 0 1024x768x24 -noreset -nolisten tcp 3>"$T/display" \
	    </dev/null >"$T/xvfb.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_until "[ -s '$T/display' ]" 20 || fail "expected Xvfb to start: $(cat "$T/xvfb.log")"
	export DISPLAY=":$(cat "$T/display")"
}

# start_xvfb with an xterm (title qhterm) showing a known pattern and a
# shell, in $T (the test requires xdpyinfo, xwininfo and xterm).
xvfb_xterm() {
	start_xvfb
	wait_until "xdpyinfo >/dev/null" 20 || fail "Xvfb $DISPLAY did not start"
	cd "$T" || fail "cd $T"
	xterm -title qhterm -geometry 100x40+0+0 -e sh -c \
	    'printf "quarterhour %s\n" "#### pattern 0123456789 ####"; PS1="$ " exec sh' \
	    >"$T/xterm.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_until "xwininfo -root -tree | grep -q qhterm" 20 || fail "the xterm did not appear"
}

# qh-console web on loopback with the technician's bundle ($QH_TECH); sets
# WEB (its pid) and URL (the one-time token's address it printed).
start_web() {
	qh-console web --no-browser --listen 127.0.0.1:0 >"$T/web.out" 2>"$T/web.log" &
	WEB=$!
	PIDS="$PIDS $WEB"
	wait_until "grep -q '^http://127.0.0.1:[0-9]*/?token=' '$T/web.out'" 30 ||
	    fail "web printed no URL: $(cat "$T/web.out")"
	URL=$(grep '^http://' "$T/web.out")
}

# The X screen ($DISPLAY) as xwd dumps it, into a PPM file (the test
# requires xwd and convert).
root_ppm() {	# out.ppm
	xwd -root -silent -out "$T/root.xwd" || fail "xwd -root failed"
	convert "xwd:$T/root.xwd" "$1" || fail "convert could not read the xwd dump"
}

# A console with customer acme (100 units of overdraft) and technician
# alice ($QH_TECH), serving.
setup_acme() {
	setup_console
	qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
	    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
	qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
	    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
	export QH_TECH="$T/alice.pem"
	start_console
}

# Waits for the agent's session code in $T/agent.out; sets CODE (six digits).
wait_code() {
	wait_until "grep -q 'session code' '$T/agent.out'" 30 ||
	    fail "expected the agent to show a session code within 30 s: $(tail -n 3 "$T/agent.out")"
	CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")
	[ ${#CODE} -eq 6 ] || fail "expected a six-digit code in agent.out: $(cat "$T/agent.out")"
}

# The common start of a session test: setup_acme and an enrolled agent
# running with the given flags (default --yes). Sets AGENT (its pid) and
# CODE (its six digits).
setup_session() {
	setup_acme
	TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") ||
	    fail "expected enroll to print a token"
	qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 ||
	    fail "expected qh-agent join to succeed"
	[ $# -gt 0 ] || set -- --yes
	qh-agent run --config "$T/agent" "$@" </dev/null >"$T/agent.out" 2>"$T/agent.log" &
	AGENT=$!
	PIDS="$PIDS $AGENT"
	wait_code
}

# Every test runs Python (free_port, checks of JSON) and ps (running).
requires python3:python3 ps:procps
