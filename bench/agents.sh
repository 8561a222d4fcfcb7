#!/bin/sh
# Agents at scale against their anchors, in one run on loopback:
#
#   (a) quarterhour: a console with QH_BENCH_CERTS enrolled agents'
#       certificates, a real qh-agent for a technician's exec, and
#       bench/agents holding QH_BENCH_AGENTS agents in one process
#       (connect rates full and resumed, the console's resident memory
#       per idle agent, the exec round trip quiet and loaded);
#   (b) OpenSSH: a throwaway sshd on loopback with an ECDSA P-256 host key
#       and user key (the key type of our certificates): 200 idle
#       `ssh -N -R` tunnels (its memory per tunnel: the proportional set
#       size of the per-connection sshd processes, whose shared pages are
#       split among them), and full connects per second from parallel
#       clients, each making the same key exchange as ours (X25519; not
#       OpenSSH's default sntrup761 hybrid, which would slow it fourfold),
#       authenticating and opening the sftp subsystem served in-process
#       (internal-sftp), then ending at once. No shell runs: `ssh host
#       true` ran root's ~/.bashrc (bash reads it for sshd's commands),
#       and a profile that runs `pyenv rehash` halved the anchor's rate.
#
# Prints the lines of issue 16's Decisions.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/bin"
AGENTS="$ROOT/build/release/bench/agents"
N=${QH_BENCH_AGENTS:-10000}
CERTS=${QH_BENCH_CERTS:-200}
RESUME=${QH_BENCH_RESUME:-5000}
SSH_IDLE=200
SSH_CONNECTS=300
D=$(mktemp -d /tmp/qh-bench-agents.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {	# port
	i=0
	until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),1)" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "bench: port $1 never opened" >&2; exit 1; }
		sleep 0.1
	done
}

# (a) quarterhour.
export QH_STATE="$D/state" QH_TECH="$D/tech.pem"
CP=$(port)
"$BIN/qh-console" init --name 127.0.0.1 --listen "127.0.0.1:$CP" >/dev/null 2>"$D/init.log"
"${QH_BENCH_CONSOLE:-$BIN/qh-console}" serve --log-level warn 2>"$D/console.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_port "$CP"
"$BIN/qh-console" tech add bench --name Bench --out "$QH_TECH" >/dev/null
"$BIN/qh-console" customer add acme --name ACME --overdraft-units 100000 >/dev/null
mkdir -p "$D/bundles"
enrol() {	# n
	tok=$("$BIN/qh-console" enroll acme 2>/dev/null)
	"$BIN/qh-agent" join "$tok" --config "$D/agent-$1" >/dev/null 2>&1
	cp "$D/agent-$1/agent.pem" "$D/bundles/$1.pem"
	rm -rf "$D/agent-$1"
}
i=0
while [ $i -lt "$CERTS" ]; do
	w=""
	for k in 1 2 3 4; do enrol $((i + k)) & w="$w $!"; done
	for p in $w; do wait "$p"; done
	i=$((i + 4))
done
"$BIN/qh-agent" join "$("$BIN/qh-console" enroll acme 2>/dev/null)" --config "$D/real" >/dev/null
"$BIN/qh-agent" run --unattended --config "$D/real" >"$D/agent.out" 2>&1 &
PIDS="$PIDS $!"
i=0
until grep -q 'session code' "$D/agent.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "bench: agent did not connect" >&2; exit 1; }
	sleep 0.1
done
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$D/agent.out")
# A technician's exec round trip: the median of 15, from a process of its own.
exec_ms() {
	python3 - "$BIN/qh-console" "$CODE" <<'PY'
import statistics, subprocess, sys, time
t = []
for _ in range(15):
    a = time.perf_counter()
    subprocess.run([sys.argv[1], "exec", sys.argv[2], "--", "true"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t.append((time.perf_counter() - a) * 1000)
print(f"{statistics.median(t):.1f}")
PY
}
sleep 1
echo "exec_quiet_ms $(exec_ms)" >"$D/exec"
"$AGENTS" --bundles "$D/bundles" --count "$N" --pid "$CPID" --resume "$RESUME" \
    --inflight "${QH_BENCH_INFLIGHT:-200}" --settle "${QH_BENCH_SETTLE:-5}" --wait \
    >"$D/ours" 2>"$D/agents.err" &
BPID=$!
PIDS="$PIDS $BPID"
i=0
until grep -q '^waiting' "$D/ours" 2>/dev/null; do
	kill -0 "$BPID" 2>/dev/null || { echo "bench: bench/agents failed:" >&2; tail -5 "$D/agents.err" >&2; exit 1; }
	i=$((i + 1)); [ $i -gt 3000 ] && { echo "bench: agents never held" >&2; exit 1; }
	sleep 0.1
done
echo "exec_loaded_ms $(exec_ms)" >>"$D/exec"
kill -USR1 "$BPID"
wait "$BPID" || { echo "bench: bench/agents failed:" >&2; tail -5 "$D/agents.err" >&2; exit 1; }
cat "$D/exec" >>"$D/ours"
kill "$CPID" 2>/dev/null || true

# (b) OpenSSH.
mkdir -p "$D/ssh" /run/sshd
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$D/ssh/host"
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$D/ssh/id"
cp "$D/ssh/id.pub" "$D/ssh/authorized_keys"
SSHD=$(port)
cat >"$D/ssh/sshd_config" <<EOC
ListenAddress 127.0.0.1
Port $SSHD
HostKey $D/ssh/host
HostKeyAlgorithms ecdsa-sha2-nistp256
PubkeyAcceptedAlgorithms ecdsa-sha2-nistp256
AuthorizedKeysFile $D/ssh/authorized_keys
PidFile $D/ssh/sshd.pid
UsePAM no
PermitRootLogin yes
StrictModes no
AllowTcpForwarding yes
MaxStartups 100:30:200
Ciphers aes128-gcm@openssh.com
KexAlgorithms curve25519-sha256
Subsystem sftp internal-sftp
EOC
/usr/sbin/sshd -D -f "$D/ssh/sshd_config" 2>"$D/ssh/sshd.log" &
SPID=$!
PIDS="$PIDS $SPID"
wait_port "$SSHD"
SSHOPTS="-q -p $SSHD -i $D/ssh/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o HostKeyAlgorithms=ecdsa-sha2-nistp256 -o KexAlgorithms=curve25519-sha256"
# Connects: SSH_CONNECTS clients, 8 at a time.
t0=$(date +%s.%N)
seq "$SSH_CONNECTS" | xargs -P 8 -I{} sh -c "ssh $SSHOPTS -s $(id -un)@127.0.0.1 sftp </dev/null" 2>/dev/null
t1=$(date +%s.%N)
# Idle tunnels: SSH_IDLE clients holding a reverse forward each.
i=0
while [ $i -lt $SSH_IDLE ]; do
	# shellcheck disable=SC2086
	ssh $SSHOPTS -N -R 0:127.0.0.1:9 "$(id -un)@127.0.0.1" &
	PIDS="$PIDS $!"
	i=$((i + 1))
	[ $((i % 8)) -eq 0 ] && sleep 0.3
done
i=0
while [ "$(pgrep -c -P "$SPID" || true)" -lt $SSH_IDLE ] && [ $i -lt 100 ]; do
	sleep 0.2; i=$((i + 1))
done
sleep 2
python3 - "$SPID" "$SSH_IDLE" >"$D/ssh.mem" <<'PY'
import os, sys
root, n = int(sys.argv[1]), int(sys.argv[2])
kids = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        kids.setdefault(ppid, []).append(int(p))
def tree(p):
    for k in kids.get(p, []):
        yield k
        yield from tree(k)
pss = 0
conns = len(kids.get(root, []))
for p in tree(root):
    try:
        for l in open(f"/proc/{p}/smaps_rollup"):
            if l.startswith("Pss:"):
                pss += int(l.split()[1])
    except OSError:
        pass
print(conns, pss / max(conns, 1))
PY

python3 - "$D/ours" "$D/ssh.mem" "$t0" "$t1" "$SSH_CONNECTS" <<'PY'
import sys
o = dict(l.split() for l in open(sys.argv[1]) if len(l.split()) == 2)
conns, ssh_kib = open(sys.argv[2]).read().split()
ssh_rate = int(sys.argv[5]) / (float(sys.argv[4]) - float(sys.argv[3]))
mem, full = float(o["kib_per_agent"]), float(o["full_per_s"])
held = int(o["held"])
print(f"agents held: {held} idle agents by one console (connect failures {o['connect_failed']}), "
      f"console {int(o['rss_held_kib']) // 1024} MiB resident")
print(f"idle agent memory: ours {mem:.1f} KiB, anchor {float(ssh_kib):.0f} KiB (sshd, {conns} idle ssh -R), "
      f"ratio {mem / float(ssh_kib):.2f}x")
print(f"agent connects: ours {full:.0f}/s, anchor {ssh_rate:.0f}/s (sshd with the same key type), "
      f"ratio {full / ssh_rate:.2f}x")
if "resumed_per_s" in o:
    r = float(o["resumed_per_s"])
    print(f"agent connects resumed: ours {r:.0f}/s (TLS 1.3 tickets, {o['resume_failed']} not resumed), "
          f"anchor {ssh_rate:.0f}/s (sshd full), ratio {r / ssh_rate:.2f}x")
if "resumed_cpu_us" in o:
    f, r = float(o["full_cpu_us"]), float(o["resumed_cpu_us"])
    print(f"agent connect cost: full {f:.0f} us, resumed {r:.0f} us of console CPU each "
          f"(on one free core: {1e6 / f:.0f}/s full, {1e6 / r:.0f}/s resumed; the agents' side "
          f"in bench/agents, on the other core: {float(o['full_self_us']):.0f} us full, "
          f"{float(o['resumed_self_us']):.0f} us resumed)")
q, l = float(o["exec_quiet_ms"]), float(o["exec_loaded_ms"])
print(f"exec round trip with {held} agents: ours {l:.1f} ms, anchor {q:.1f} ms (same console, no agents), "
      f"ratio {l / q:.2f}x")
PY
