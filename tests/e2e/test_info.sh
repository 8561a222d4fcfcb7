#!/bin/sh
# Workstation facts (issue 5): `qh-agent info` works without a console
# and prints readable lines, or one JSON object with --json; `qh-console
# info CODE` gets the same facts from the agent through the console, the
# customer sees that they were read, and both carry every member the
# support policy asks for, with values that match this machine. In a
# chroot, where / is no mount point and /proc/mounts lists neither / nor
# the home directory (a tmpfs here), both are still among the disks
# (issue 10, #21).
. "$(dirname "$0")/lib.sh"
requires unshare:util-linux findmnt:util-linux chroot:coreutils

# Checks that the JSON document in $1 has every fact, of the right type.
check_facts() {
	python3 - "$1" <<'PY' >"$T/facts.why" 2>&1 ||
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
	    fail "facts in $1: $(tail -n 1 "$T/facts.why")"
}

# Offline, on the customer's side.
qh-agent info --json >"$T/local.json" 2>"$T/local.err" || fail "expected qh-agent info --json to succeed: $(cat "$T/local.err")"
check_facts "$T/local.json"
qh-agent info >"$T/local.txt" 2>>"$T/local.err" || fail "expected qh-agent info to succeed: $(cat "$T/local.err")"
for label in OS Kernel Architecture "Host name" User CPU Memory Disks Uptime Locale \
    "Time zone" Network; do
	grep -q "^$label: " "$T/local.txt" || fail "expected a line '$label: ' from qh-agent info"
done
expect_in "$T/local.txt" "lo: 127.0.0.1/8"

# In a chroot: / is no mount point there, the home is a tmpfs; both are disks.
# The mounts it needs are made in a mount namespace of their own, under
# $P, which is made a private mount first: nothing made there propagates
# back, also when the test itself runs in a chroot (where unshare cannot
# make / private, / being no mount point).
P="$T/ns"
R="$P/root"
mkdir -p "$R/proc" "$R/etc" "$R/usr" "$R/home/cust" "$R$QH_BIN"
for d in bin lib lib32 lib64 libx32 sbin; do
	if [ -L "/$d" ]; then
		ln -s "$(readlink "/$d")" "$R/$d"
	elif [ -d "/$d" ]; then
		mkdir -p "$R/$d"
		echo "$d" >>"$T/binds"
	fi
done
echo "root:x:0:0:root:/home/cust:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"
# $P itself may show in the namespace we came from: unmounted at the end.
at_exit "umount -l '$P'"
in_chroot='
	P=$1 R=$1/root BIN=$2
	mount --bind "$P" "$P" && mount --make-rprivate "$P" &&
	    [ "$(findmnt -n -o PROPAGATION "$P")" = private ] || exit 99
	mount --rbind /usr "$R/usr" && mount --bind "$BIN" "$R$BIN" &&
	    mount -t tmpfs -o size=8m tmpfs "$R/home/cust" &&
	    mount -t proc proc "$R/proc" || exit 99
	for d in $(cat "$P/../binds" 2>/dev/null); do mount --rbind "/$d" "$R/$d" || exit 99; done
	exec chroot "$R" "$BIN/qh-agent" info --json
'
unshare --mount --propagation private sh -c "$in_chroot" chroot "$P" "$QH_BIN" \
    >"$T/chroot.json" 2>"$T/chroot.err"
st=$?
if [ "$st" -ne 0 ] && grep -q "propagation" "$T/chroot.err"; then
	unshare --mount --propagation unchanged sh -c "$in_chroot" chroot "$P" "$QH_BIN" \
	    >"$T/chroot.json" 2>"$T/chroot.err"
	st=$?
fi
[ "$st" -ne 99 ] || fail "expected to build a chroot in a mount namespace (as root): $(cat "$T/chroot.err")"
[ "$st" -eq 0 ] || fail "expected qh-agent info --json to work in a chroot, it exited $st: $(cat "$T/chroot.err")"
python3 - "$T/chroot.json" <<'PY' >"$T/chroot.why" 2>&1 ||
import json, sys
disks = json.load(open(sys.argv[1]))["disks"]
by = {d["mount"]: d for d in disks}
assert "/" in by, "expected / among the disks, got %r" % disks
assert 0 < by["/"]["size_bytes"] and 0 <= by["/"]["free_bytes"] <= by["/"]["size_bytes"], by["/"]
assert "/home/cust" in by, "expected the home /home/cust (a tmpfs) among the disks, got %r" % disks
assert by["/home/cust"]["fs"] == "tmpfs", "expected fs tmpfs for the home, got %r" % by["/home/cust"]
assert by["/home/cust"]["size_bytes"] == 8 << 20, "expected the home's 8 MiB, got %r" % by["/home/cust"]
PY
    fail "in a chroot: $(tail -n 1 "$T/chroot.why")"

# Through the console, on the technician's side.
setup_console
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "expected customer add to succeed"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
start_console
export QH_TECH="$T/alice.pem"
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"
qh-agent run --config "$T/agent" --yes </dev/null >"$T/agent.out" 2>"$T/agent.log" &
PIDS="$PIDS $!"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "expected the agent to show a session code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")

timeout 60 qh-console info "$CODE" --json >"$T/remote.json" 2>"$T/remote.err" ||
    fail "info --json: $(cat "$T/remote.err")"
check_facts "$T/remote.json"
wait_until "grep -q \"alice reads this PC's facts\" '$T/agent.out'" 10 ||
    fail "the customer was not shown the facts being read"
timeout 60 qh-console info "${CODE%???} ${CODE#???}" >"$T/remote.txt" 2>>"$T/remote.err" ||
    fail "info: $(cat "$T/remote.err")"
for label in OS Kernel Architecture "Host name" User CPU Memory Disks Network; do
	grep -q "^$label: " "$T/remote.txt" || fail "expected a line '$label: ' from qh-console info"
done
grep -q "^Host name: *$(hostname)\$" "$T/remote.txt" || fail "expected Host name: $(hostname) in: $(grep "^Host name" "$T/remote.txt")"

# A code nobody waits with: refused, exit 1.
timeout 60 qh-console info 000000 >/dev/null 2>"$T/nope.err"
st=$?
[ "$st" -eq 1 ] || fail "info for an unknown code exited $st, want 1"
expect_in "$T/nope.err" "no waiting agent with code 000 000"
exit 0
