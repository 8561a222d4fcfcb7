#!/bin/sh
# The tunnel against its anchor, in one run on loopback: (a) an OpenSSH
# two-hop reverse tunnel (a throwaway sshd, `ssh -R` as the customer side,
# `ssh -L` as the technician side, aes128-gcm@openssh.com) and (b)
# `qh-console forward` through console and agent, both to the same iperf3
# server and echo server. Bulk throughput: iperf3, 5 s, 3 runs, median.
# Round trip: 5 runs of 10,000 one-byte messages, the medians of their p50
# and p99.
set -eu
[ -n "${QH_BENCH_KEEP:-}" ] && set -x
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/bin"
D=$(mktemp -d /tmp/qh-bench.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${QH_BENCH_KEEP:-}" ] || rm -rf "$D"
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

# Targets: iperf3 and a one-byte echo server.
IPERF=$(port); ECHO=$(port)
iperf3 -s -p "$IPERF" >/dev/null 2>&1 &
PIDS="$PIDS $!"
python3 "$ROOT/bench/echo.py" serve "$ECHO" &
PIDS="$PIDS $!"
wait_port "$IPERF"; wait_port "$ECHO"

# (a) OpenSSH two-hop.
mkdir -p "$D/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$D/ssh/host" && ssh-keygen -q -t ed25519 -N '' -f "$D/ssh/id"
cp "$D/ssh/id.pub" "$D/ssh/authorized_keys"
SSHD=$(port)
cat >"$D/ssh/sshd_config" <<EOC
ListenAddress 127.0.0.1
Port $SSHD
HostKey $D/ssh/host
AuthorizedKeysFile $D/ssh/authorized_keys
PidFile $D/ssh/sshd.pid
UsePAM no
PermitRootLogin yes
StrictModes no
AllowTcpForwarding yes
GatewayPorts no
Ciphers aes128-gcm@openssh.com
EOC
/usr/sbin/sshd -D -f "$D/ssh/sshd_config" 2>"$D/ssh/sshd.log" &
PIDS="$PIDS $!"
wait_port "$SSHD"
SSHOPTS="-q -N -p $SSHD -i $D/ssh/id -c aes128-gcm@openssh.com -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes"
R_IPERF=$(port); R_ECHO=$(port); L_IPERF=$(port); L_ECHO=$(port)
# shellcheck disable=SC2086
ssh $SSHOPTS -R "$R_IPERF:127.0.0.1:$IPERF" -R "$R_ECHO:127.0.0.1:$ECHO" "$(id -un)@127.0.0.1" &
PIDS="$PIDS $!"
wait_port "$R_IPERF"
# shellcheck disable=SC2086
ssh $SSHOPTS -L "$L_IPERF:127.0.0.1:$R_IPERF" -L "$L_ECHO:127.0.0.1:$R_ECHO" "$(id -un)@127.0.0.1" &
PIDS="$PIDS $!"
wait_port "$L_IPERF"

# (b) quarterhour: console, agent, technician forward.
export QH_STATE="$D/state" QH_TECH="$D/tech.pem" QH_AGENT="$D/agent"
CP=$(port)
"$BIN/qh-console" init --name 127.0.0.1 --listen "127.0.0.1:$CP" >/dev/null 2>"$D/init.log"
"$BIN/qh-console" serve --log-level warn 2>"$D/console.log" &
PIDS="$PIDS $!"
wait_port "$CP"
"$BIN/qh-console" tech add bench --name Bench --out "$QH_TECH" >/dev/null
"$BIN/qh-console" customer add acme --name ACME --overdraft-units 1000 >/dev/null
"$BIN/qh-agent" join "$("$BIN/qh-console" enroll acme 2>/dev/null)" >/dev/null
"$BIN/qh-agent" run --unattended >"$D/agent.out" 2>&1 &
PIDS="$PIDS $!"
i=0
until grep -q 'session code' "$D/agent.out" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "bench: agent did not connect" >&2; exit 1; }
	sleep 0.1
done
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$D/agent.out")
Q_IPERF=$(port); Q_ECHO=$(port)
"$BIN/qh-console" forward "$CODE" "$Q_IPERF:127.0.0.1:$IPERF" >/dev/null 2>"$D/fwd1.log" &
PIDS="$PIDS $!"
"$BIN/qh-console" forward "$CODE" "$Q_ECHO:127.0.0.1:$ECHO" >/dev/null 2>"$D/fwd2.log" &
PIDS="$PIDS $!"
wait_port "$Q_IPERF"; wait_port "$Q_ECHO"

# Throughput: three runs each, interleaved, median.
# One iperf3 run; a server still busy with the last test gets a second try.
gbit1() { iperf3 -c 127.0.0.1 -p "$1" -t 5 -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)' 2>/dev/null; }
gbit() { gbit1 "$1" || { sleep 1; gbit1 "$1"; }; }
: >"$D/ours"; : >"$D/ssh.tp"
for r in 1 2 3; do
	gbit "$L_IPERF" >>"$D/ssh.tp"
	gbit "$Q_IPERF" >>"$D/ours"
done
python3 - "$D/ours" "$D/ssh.tp" <<'PY'
import statistics, sys
ours = statistics.median(float(x) for x in open(sys.argv[1]))
ssh = statistics.median(float(x) for x in open(sys.argv[2]))
print(f"throughput: ours {ours:.2f} Gbit/s, OpenSSH two-hop {ssh:.2f} Gbit/s, ratio {ours/ssh:.2f}x")
PY

# Round trip of one-byte messages: five runs of 10,000 each, interleaved;
# p50 and p99 are the medians of the five runs', printed with their spread.
: >"$D/ours.rtt"; : >"$D/ssh.rtt"
for r in 1 2 3 4 5; do
	python3 "$ROOT/bench/echo.py" rtt "$Q_ECHO" 10000 >>"$D/ours.rtt"
	python3 "$ROOT/bench/echo.py" rtt "$L_ECHO" 10000 >>"$D/ssh.rtt"
done
python3 - "$D/ours.rtt" "$D/ssh.rtt" <<'PY'
import statistics, sys
def runs(path):
    v = {"p50": [], "p99": []}
    for l in open(path):
        k, x = l.split()
        v[k].append(float(x))
    return v
o, s = runs(sys.argv[1]), runs(sys.argv[2])
for k in ("p50", "p99"):
    a, b = statistics.median(o[k]), statistics.median(s[k])
    ratios = sorted(x / y for x, y in zip(o[k], s[k]))
    print(f"round trip {k}: ours {a:.0f} us, OpenSSH two-hop {b:.0f} us, ratio {a/b:.2f}x "
          f"(median of {len(o[k])} runs; ours {min(o[k]):.0f}-{max(o[k]):.0f} us, "
          f"OpenSSH {min(s[k]):.0f}-{max(s[k]):.0f} us, run ratios {ratios[0]:.2f}-{ratios[-1]:.2f}x)")
PY
