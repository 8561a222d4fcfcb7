# Shared helpers of the end-to-end tests. Each test sources this file, gets
# a temporary directory $T that is removed on exit together with every
# process the test started, and uses the binaries in $QH_BIN.
set -u
QH_BIN=${QH_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build/asan/bin}
export PATH="$QH_BIN:$PATH"
# A part of a test run in a process of its own (under another faketime
# clock, say) works in its parent's directory, which the parent removes.
if [ -n "${QH_E2E_T:-}" ]; then
	T=$QH_E2E_T
else
	T=$(mktemp -d /tmp/qh-e2e.XXXXXX)
fi
PIDS=""

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${QH_E2E_T:-}" ] || rm -rf "$T"
}
trap cleanup EXIT INT TERM

# Prints the message and every log under $T, then fails the test.
fail() {
	echo "FAILED: $*"
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $f"
		tail -n 40 "$f"
	done
	exit 1
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
	    >"$T/init.log" 2>&1 || fail "init"
}

# Starts qh-console serve in the background and waits for it to listen.
start_console() {
	qh-console serve --state "$STATE" --log-level debug "$@" >>"$T/console.log" 2>&1 &
	CONSOLE_PID=$!
	PIDS="$PIDS $CONSOLE_PID"
	wait_until "grep -q 'listening on' '$T/console.log'" 30 || fail "console did not start"
}

# Checks that the file contains the text; prints context otherwise.
expect_in() {	# file text
	grep -q -- "$2" "$1" || fail "expected '$2' in $1"
}

# The common start of a session test: a console with customer acme (100
# units of overdraft) and technician alice ($QH_TECH), serving, and an
# enrolled agent running with the given flags (default --yes). Sets AGENT
# (its pid) and CODE (its six digits).
setup_session() {
	setup_console
	qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
	    --state "$STATE" >"$T/admin.log" 2>&1 || fail "customer add"
	qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
	    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add"
	export QH_TECH="$T/alice.pem"
	start_console
	TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
	qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"
	[ $# -gt 0 ] || set -- --yes
	qh-agent run --config "$T/agent" "$@" </dev/null >"$T/agent.out" 2>"$T/agent.log" &
	AGENT=$!
	PIDS="$PIDS $AGENT"
	wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "agent shows no code"
	CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")
	[ ${#CODE} -eq 6 ] || fail "no six-digit code in agent.out"
}
