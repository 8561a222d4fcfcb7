#!/bin/sh
# make demo: a real remote-support session on loopback, from nothing. It
# creates a console state in a temporary directory, enrols a customer's
# agent, lets a technician run commands on the "customer's" machine, ends
# the session and shows what was recorded and debited. Everything it starts
# is stopped at the end.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/bin"
D=$(mktemp -d /tmp/qh-demo.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
wait_for() {	# file text seconds
	i=0
	while ! grep -q -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $(($3 * 10)) ]; then
			echo "demo: timed out waiting for '$2' in $1" >&2
			cat "$1" >&2
			exit 1
		fi
		sleep 0.1
	done
}

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export QH_STATE="$D/state" QH_TECH="$D/alice.pem" QH_AGENT="$D/agent"
QC="$BIN/qh-console"
QA="$BIN/qh-agent"

step "The vendor sets up a console (CA, server certificate, ledger)"
run "$QC" init --name 127.0.0.1 --listen "127.0.0.1:$PORT"
"$QC" serve >"$D/console.log" 2>&1 &
PIDS="$PIDS $!"
wait_for "$D/console.log" "listening on" 20
echo "console listening on 127.0.0.1:$PORT (log: console.log)"

step "An admin enrols a technician and a premium customer, and books 2 hours"
run "$QC" tech add alice --name "Alice Tech" --out "$QH_TECH"
run "$QC" customer add acme --name "ACME GmbH"
run "$QC" credit acme --hours 2 --ref "INV-2026-001"
TOKEN=$("$QC" enroll acme)
echo "join token: $(echo "$TOKEN" | cut -c1-24)..."

step "The customer enrols their PC and starts the agent (dials out; no open port)"
run "$QA" join "$TOKEN"
"$QA" run --yes >"$D/agent.out" 2>&1 &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_for "$D/agent.out" "session code" 20
cat "$D/agent.out"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) *\([0-9]\{3\}\).*/\1\2/p' "$D/agent.out" | head -n 1)

step "The technician finds the customer by the code read out on the phone"
run "$QC" queue

step "... and works on the customer's machine"
run "$QC" exec "$CODE" -- uname -sr
run "$QC" exec "$CODE" -- sh -c 'echo "hello from $(hostname), user $(id -un)"; df -h / | tail -n 1'
printf 'printf "%%s\\n" "stdin reaches the remote command"\n' | run "$QC" exec "$CODE" -- sh
set +e
"$QC" exec "$CODE" -- sh -c 'exit 3'
echo "(remote exit status $? became ours)"
set -e

step "The technician ends the session; the console debits it"
run "$QC" end "$CODE" --note "demo: checked the system"
wait_for "$D/agent.out" "closed" 20

step "What the customer saw"
cat "$D/agent.out"

step "What accounting sees"
run "$QC" balance acme
run "$QC" ledger --customer acme
run "$QC" verify
echo
echo "demo finished: every process it started is stopped."
