#!/bin/sh
# Workstation facts (issue 5): `qh-agent info` works without a console
# and prints readable lines, or one JSON object with --json; `qh-console
# info CODE` gets the same facts from the agent through the console, the
# customer sees that they were read, and both carry every member the
# support policy asks for, with values that match this machine.
. "$(dirname "$0")/lib.sh"

# Checks that the JSON document in $1 has every fact, of the right type.
check_facts() {
	python3 - "$1" <<'PY' || fail "facts in $1 are incomplete"
import json, os, socket, sys
d = json.load(open(sys.argv[1]))
strings = ["os", "kernel", "arch", "hostname", "user", "cpu_model", "locale", "timezone"]
ints = ["cpu_cores", "memory_total_bytes", "memory_available_bytes", "uptime_seconds"]
for k in strings:
    assert isinstance(d.get(k), str) and d[k], "%s: %r" % (k, d.get(k))
for k in ints:
    assert isinstance(d.get(k), int) and d[k] >= 0, "%s: %r" % (k, d.get(k))
assert d["hostname"] == socket.gethostname(), d["hostname"]
assert d["arch"] == os.uname().machine, d["arch"]
assert d["cpu_cores"] == os.cpu_count(), d["cpu_cores"]
assert d["kernel"].startswith(os.uname().release), d["kernel"]
assert 0 < d["memory_available_bytes"] <= d["memory_total_bytes"]
assert d["disks"] and all(isinstance(x["mount"], str) and isinstance(x["fs"], str) and
    0 <= x["free_bytes"] <= x["size_bytes"] for x in d["disks"]), d["disks"]
assert any(x["mount"] == "/" for x in d["disks"]), d["disks"]
lo = [i for i in d["interfaces"] if i["name"] == "lo"]
assert lo and "127.0.0.1/8" in lo[0]["addresses"], d["interfaces"]
assert all(isinstance(a, str) for i in d["interfaces"] for a in i["addresses"])
PY
}

# Offline, on the customer's side.
qh-agent info --json >"$T/local.json" 2>"$T/local.err" || fail "qh-agent info --json"
check_facts "$T/local.json"
qh-agent info >"$T/local.txt" 2>>"$T/local.err" || fail "qh-agent info"
for label in OS Kernel Architecture "Host name" User CPU Memory Disks Uptime Locale \
    "Time zone" Network; do
	grep -q "^$label: " "$T/local.txt" || fail "qh-agent info lacks '$label:'"
done
expect_in "$T/local.txt" "lo: 127.0.0.1/8"

# Through the console, on the technician's side.
setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "customer add"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add"
start_console
export QH_TECH="$T/alice.pem"
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"
qh-agent run --config "$T/agent" --yes </dev/null >"$T/agent.out" 2>"$T/agent.log" &
PIDS="$PIDS $!"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "agent shows no code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

timeout 60 qh-console info "$CODE" --json >"$T/remote.json" 2>"$T/remote.err" ||
    fail "info --json: $(cat "$T/remote.err")"
check_facts "$T/remote.json"
wait_until "grep -q \"alice reads this PC's facts\" '$T/agent.out'" 10 ||
    fail "the customer was not shown the facts being read"
timeout 60 qh-console info "${CODE%???} ${CODE#???}" >"$T/remote.txt" 2>>"$T/remote.err" ||
    fail "info: $(cat "$T/remote.err")"
for label in OS Kernel Architecture "Host name" User CPU Memory Disks Network; do
	grep -q "^$label: " "$T/remote.txt" || fail "qh-console info lacks '$label:'"
done
grep -q "^Host name: *$(hostname)\$" "$T/remote.txt" || fail "wrong host name in info"

# A code nobody waits with: refused, exit 1.
timeout 60 qh-console info 000000 >/dev/null 2>"$T/nope.err"
st=$?
[ "$st" -eq 1 ] || fail "info for an unknown code exited $st"
expect_in "$T/nope.err" "no waiting agent with code 000 000"
exit 0
