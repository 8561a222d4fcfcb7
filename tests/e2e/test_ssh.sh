#!/bin/sh
# qh-console ssh: an SSH session through the agent to a real OpenSSH sshd
# that the test starts on 127.0.0.1 with throwaway keys. An unknown host key
# is refused without a terminal (its fingerprint shown); a known one lets a
# command run with its exit status (words joined as OpenSSH does) and an
# interactive shell run with resizes and "~."; a wrong key is "permission
# denied"; a changed host key is refused showing both fingerprints; a key
# of another type than the known one is shown saying so, as OpenSSH does;
# the shell's terminal output is recorded as reported by the client.
. "$(dirname "$0")/lib.sh"
requires /usr/sbin/sshd:openssh-server ssh-keygen:openssh-client ssh-keyscan:openssh-client \
    tmux:tmux jq:jq

setup_session

# A throwaway sshd on a free port, running as us (root in CI).
SSH_PORT=$(free_port)
ME=$(id -un)
mkdir -p /run/sshd 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -C host1 -f "$T/hostkey1" || fail "expected ssh-keygen to make a key"
ssh-keygen -q -t ed25519 -N '' -C host2 -f "$T/hostkey2" || fail "expected ssh-keygen to make a key"
ssh-keygen -q -t ecdsa -N '' -C host3 -f "$T/hostkey3" || fail "expected ssh-keygen to make a key"
ssh-keygen -q -t ed25519 -N '' -C tech -f "$T/client" || fail "expected ssh-keygen to make a key"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/stranger" || fail "expected ssh-keygen to make a key"
cp "$T/client.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
for k in 1 2; do
	cat >"$T/sshd_config.$k" <<EOF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $T/hostkey$k
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
UsePAM no
PermitRootLogin yes
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PrintMotd no
PrintLastLog no
SetEnv PYENV_REHASH_TIMEOUT=1
EOF
done
# 3: an ECDSA key that libssh2 would pick first, besides the known ED25519 one.
sed "s|^HostKey .*|HostKey $T/hostkey3\nHostKey $T/hostkey1|" "$T/sshd_config.1" \
    >"$T/sshd_config.3"
# 4: the ECDSA key alone: a key of another type than the known one.
sed "s|^HostKey .*|HostKey $T/hostkey3|" "$T/sshd_config.1" >"$T/sshd_config.4"

start_sshd() {	# config number
	/usr/sbin/sshd -D -e -f "$T/sshd_config.$1" >>"$T/sshd.log" 2>&1 &
	SSHD=$!
	PIDS="$PIDS $SSHD"
	wait_until "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $SSH_PORT), 1)'" 20 ||
	    fail "expected sshd to listen on 127.0.0.1:$SSH_PORT within 20 s: $(tail -n 5 "$T/sshd.log")"
}
start_sshd 1

# The technician's own HOME: known_hosts lands in it; no ssh-agent of theirs.
TECHHOME="$T/home"
mkdir -p "$TECHHOME"
KNOWN="$TECHHOME/.config/quarterhour/known_hosts"
qssh() {
	env -u SSH_AUTH_SOCK HOME="$TECHHOME" qh-console ssh "$CODE" -p "$SSH_PORT" "$@"
}
FP1=$(ssh-keygen -lf "$T/hostkey1.pub" | awk '{print $2}')
FP2=$(ssh-keygen -lf "$T/hostkey2.pub" | awk '{print $2}')

# 1. An unknown host key and no terminal to ask on: refused, fingerprint shown.
qssh -i "$T/client" "$ME@127.0.0.1" -- true </dev/null >"$T/unknown.out" 2>"$T/unknown.err"
rc=$?
[ "$rc" -eq 1 ] || fail "unknown host key: exit $rc, want 1: $(cat "$T/unknown.err")"
grep -q "not known" "$T/unknown.err" || fail "unknown host key: $(cat "$T/unknown.err")"
grep -qF "$FP1" "$T/unknown.err" || fail "no fingerprint $FP1 in: $(cat "$T/unknown.err")"
# One line, besides the console's meter notice that every command gets.
[ "$(grep -vc ' running, available ' "$T/unknown.err")" -eq 1 ] ||
    fail "more than one line: $(cat "$T/unknown.err")"
[ ! -s "$KNOWN" ] || fail "an unconfirmed key was stored: $(cat "$KNOWN")"
[ "$(stat -c %a "$TECHHOME/.config/quarterhour")" = 700 ] ||
    fail "known_hosts directory mode $(stat -c %a "$TECHHOME/.config/quarterhour")"

# 2. Known (as ssh-keyscan writes it): a command and its exit status.
ssh-keyscan -p "$SSH_PORT" -t ed25519 127.0.0.1 >"$KNOWN" 2>/dev/null
grep -q ssh-ed25519 "$KNOWN" || fail "expected ssh-keyscan to write the ed25519 host key"
qssh -i "$T/client" "$ME@127.0.0.1" -- sh -c "'echo hi; exit 7'" \
    </dev/null >"$T/cmd.out" 2>"$T/cmd.err"
rc=$?
[ "$rc" -eq 7 ] || fail "command: exit $rc, want 7: $(cat "$T/cmd.err")"
[ "$(cat "$T/cmd.out")" = hi ] || fail "command output: $(cat "$T/cmd.out")"
# OpenSSH semantics: the words are joined with spaces for the remote shell.
qssh -i "$T/client" "$ME@127.0.0.1" -- echo one ';' echo two '>&2;' exit 5 \
    </dev/null >"$T/join.out" 2>"$T/join.err"
rc=$?
[ "$rc" -eq 5 ] || fail "joined command: exit $rc, want 5: $(cat "$T/join.err")"
[ "$(cat "$T/join.out")" = one ] || fail "joined command stdout: $(cat "$T/join.out")"
grep -qx two "$T/join.err" || fail "joined command stderr: $(cat "$T/join.err")"
# Standard input reaches the command; a signal becomes 128 + N.
printf 'abc\n' | qssh -i "$T/client" "$ME@127.0.0.1" -- tr a-z A-Z >"$T/stdin.out" \
    2>"$T/stdin.err" || fail "stdin command failed: $(cat "$T/stdin.err")"
[ "$(cat "$T/stdin.out")" = ABC ] || fail "stdin command: $(cat "$T/stdin.out")"
qssh -i "$T/client" "$ME@127.0.0.1" -- 'kill -TERM $$' </dev/null >"$T/sig.out" 2>&1
rc=$?
[ "$rc" -eq 143 ] || fail "signalled command: exit $rc, want 143: $(cat "$T/sig.out")"

# 3. A key the server does not know: permission denied, one line, exit 1.
qssh -i "$T/stranger" "$ME@127.0.0.1" -- true </dev/null >"$T/denied.out" 2>"$T/denied.err"
rc=$?
[ "$rc" -eq 1 ] || fail "wrong key: exit $rc, want 1"
grep -q "permission denied (publickey)" "$T/denied.err" ||
    fail "wrong key: $(cat "$T/denied.err")"
# A target nobody listens on: the agent's dial refusal, exit 1.
env -u SSH_AUTH_SOCK HOME="$TECHHOME" qh-console ssh "$CODE" -p "$(free_port)" \
    -i "$T/client" "$ME@127.0.0.1" -- true </dev/null >"$T/closed.out" 2>"$T/closed.err"
rc=$?
[ "$rc" -eq 1 ] || fail "closed port: exit $rc, want 1: $(cat "$T/closed.err")"
[ "$(grep -vc ' running, available ' "$T/closed.err")" -eq 1 ] ||
    fail "closed port: $(cat "$T/closed.err")"

# 4. An interactive shell in a terminal: output, resize, exit status.
TM="tmux -S $T/tmux.sock"
TM2="tmux -S $T/tmux2.sock"
at_exit '$TM kill-server; $TM2 kill-server'
$TM new-session -d -x 80 -y 24 "env -u SSH_AUTH_SOCK HOME=$TECHHOME \
    qh-console ssh $CODE -p $SSH_PORT -i $T/client $ME@127.0.0.1; \
    echo SSH-EXIT=\$?; sleep 60" || fail "expected tmux to start a session"
screen() { $TM capture-pane -p -J -S -100; }
$TM send-keys 'echo $((6*7))' Enter
wait_until "$TM capture-pane -p | grep -qx 42" 30 || fail "expected 42 on a line of its own after echo \$((6*7)): $(screen)"
$TM send-keys 'stty size' Enter
wait_until "$TM capture-pane -p | grep -qx '24 80'" 20 || fail "expected stty size to say 24 80: $(screen)"
$TM resize-window -x 100 -y 30
i=0
while ! $TM capture-pane -p | grep -qx '30 100'; do
	i=$((i + 1))
	[ $i -gt 40 ] && fail "expected stty size to say 30 100 after the resize: $(screen)"
	$TM send-keys 'clear; stty size' Enter
	sleep 0.5
done
$TM send-keys 'exit 3' Enter
wait_until "$TM capture-pane -p | grep -q 'SSH-EXIT=3'" 30 || fail "ssh exit: $(screen)"

# "~." at the start of a line ends the ssh command; the session stays open.
$TM kill-server 2>/dev/null
TM=$TM2
$TM new-session -d -x 80 -y 24 "env -u SSH_AUTH_SOCK HOME=$TECHHOME \
    qh-console ssh $CODE -p $SSH_PORT -i $T/client $ME@127.0.0.1; \
    echo SSH-EXIT=\$?; sleep 60" || fail "expected tmux to start a session"
$TM send-keys 'echo rea""dy' Enter
wait_until "$TM capture-pane -p | grep -qx ready" 30 || fail "no shell: $(screen)"
$TM send-keys Enter '~.'
wait_until "$TM capture-pane -p | grep -q 'SSH-EXIT=0'" 30 || fail "expected ~. to end ssh with status 0: $(screen)"
screen | grep -q "detached" || fail "expected ~. to say detached: $(screen)"

# 5. The shells' terminal output is recorded, reported by the client.
wait_until "qh-console sessions --json --state '$STATE' | jq -e '[.[].recordings[] |
    select(.kind == \"ssh\" and .source == \"reported\")] | length >= 2'" 20 ||
    fail "no reported ssh recordings: $(qh-console sessions --json --state "$STATE")"
CAST=$(qh-console sessions --json --state "$STATE" |
    jq -r '[.[].recordings[] | select(.kind == "ssh")][0].path')
head -n 1 "$CAST" | jq -e '.quarterhour.source == "reported by the technician'"'"'s client"
    and (.quarterhour.target | startswith("'"$ME"'@127.0.0.1:"))' >/dev/null ||
    fail "cast header: $(head -n 1 "$CAST")"
grep -q '42' "$CAST" || fail "the recording lacks the shell's output"
grep -q '"r", "100x30"' "$CAST" || fail "the recording lacks the resize: $(grep '"r"' "$CAST")"

# 6. The server offers an unknown ECDSA key before the known ED25519 one:
# the known type is asked for (DESIGN §6), so the host is still known.
kill "$SSHD"
wait_until "! kill -0 $SSHD" 10 || fail "expected sshd to stop"
start_sshd 3
qssh -i "$T/client" "$ME@127.0.0.1" -- echo known </dev/null >"$T/pref.out" 2>"$T/pref.err" ||
    fail "known type not preferred: $(cat "$T/pref.err")"
[ "$(cat "$T/pref.out")" = known ] || fail "preferred type: $(cat "$T/pref.out")"

# 7. The server's key changes: refused, both fingerprints shown, nothing stored.
kill "$SSHD"
wait_until "! kill -0 $SSHD" 10 || fail "expected sshd to stop"
cp "$KNOWN" "$T/known.before"
start_sshd 2
qssh -i "$T/client" "$ME@127.0.0.1" -- true </dev/null >"$T/changed.out" 2>"$T/changed.err"
rc=$?
[ "$rc" -eq 1 ] || fail "changed key: exit $rc, want 1: $(cat "$T/changed.err")"
grep -q CHANGED "$T/changed.err" || fail "changed key: $(cat "$T/changed.err")"
grep -qF "$FP1" "$T/changed.err" || fail "no old fingerprint: $(cat "$T/changed.err")"
grep -qF "$FP2" "$T/changed.err" || fail "no new fingerprint: $(cat "$T/changed.err")"
cmp -s "$KNOWN" "$T/known.before" || fail "known_hosts changed on a refused key"
[ ! -s "$T/changed.out" ] || fail "a command ran despite the changed key"

# 8. The server offers only a key of another type (ECDSA) than the known
# ED25519 one: as OpenSSH, say that a key of another type is known for the
# host, with its fingerprint, both without a terminal and at the prompt.
kill "$SSHD"
wait_until "! kill -0 $SSHD" 10 || fail "expected sshd to stop"
start_sshd 4
FP3=$(ssh-keygen -lf "$T/hostkey3.pub" | awk '{print $2}')
qssh -i "$T/client" "$ME@127.0.0.1" -- true </dev/null >"$T/other.out" 2>"$T/other.err"
rc=$?
[ "$rc" -eq 1 ] || fail "other key type: exit $rc, want 1: $(cat "$T/other.err")"
grep -q "keys of different type are already known for this host" "$T/other.err" ||
    fail "other key type, no terminal: want 'keys of different type are already known for this host': $(cat "$T/other.err")"
grep -qF "$FP3" "$T/other.err" || fail "no offered fingerprint $FP3 in: $(cat "$T/other.err")"
grep -qF "ED25519 key $FP1" "$T/other.err" ||
    fail "no known fingerprint 'ED25519 key $FP1' in: $(cat "$T/other.err")"
cmp -s "$KNOWN" "$T/known.before" || fail "known_hosts changed without a terminal"
TM="tmux -S $T/tmux3.sock" # killed at exit with the others (at_exit above)
$TM new-session -d -x 120 -y 40 "env -u SSH_AUTH_SOCK HOME=$TECHHOME \
    qh-console ssh $CODE -p $SSH_PORT -i $T/client $ME@127.0.0.1 -- true; \
    echo SSH-EXIT=\$?; sleep 60" || fail "expected tmux to start a session"
wait_until "$TM capture-pane -p | grep -q 'Trust this host key'" 30 ||
    fail "expected the prompt 'Trust this host key': $(screen)"
screen >"$T/prompt.txt"
grep -q "keys of different type are already known for this host" "$T/prompt.txt" ||
    fail "the prompt does not say that a key of another type is known: $(cat "$T/prompt.txt")"
grep -qF "WARNING: ED25519 key found for host" "$T/prompt.txt" ||
    fail "the prompt does not name the known key: $(cat "$T/prompt.txt")"
grep -qF "$FP1" "$T/prompt.txt" || fail "the prompt lacks the known fingerprint: $(cat "$T/prompt.txt")"
grep -qF "ECDSA key fingerprint is $FP3" "$T/prompt.txt" ||
    fail "the prompt lacks the offered fingerprint: $(cat "$T/prompt.txt")"
$TM send-keys 'no' Enter
wait_until "$TM capture-pane -p | grep -q 'SSH-EXIT=1'" 30 || fail "expected ssh to exit 1 once the key is declined: $(screen)"
cmp -s "$KNOWN" "$T/known.before" || fail "known_hosts changed on a declined key"
$TM kill-server 2>/dev/null

kill -0 "$AGENT" || fail "expected the agent to keep running"
exit 0
