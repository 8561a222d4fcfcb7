#!/bin/sh
# qh-console backup and restore, as an admin uses them: backups taken while
# serve runs and sessions close are each one consistent snapshot (restore
# verifies the ledger, which is a prefix of the live one), carry the keys
# and configuration by pattern (a key file added later included), and with
# --with-files the attachments and recordings; a restored state serves the same agents.
# The archive is 0600 and never overwrites; restore refuses a non-empty or
# locked target and anything but a backup.
. "$(dirname "$0")/lib.sh"
requires flock:util-linux tar:tar sqlite3:sqlite3

setup_console
qh-console customer add acme --name "ACME GmbH" --state "$STATE" >"$T/admin.log" 2>&1 ||
    fail "customer add"
qh-console credit acme --hours 10 --ref B-1 --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "credit"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" --state "$STATE" \
    >>"$T/admin.log" 2>&1 || fail "tech add"
export QH_TECH="$T/alice.pem"
# A key file a later version keeps in the state directory, by a new name.
echo "later-key-$$" >"$STATE/zz-later.key"
chmod 600 "$STATE/zz-later.key"
# A lock file is a running process's, not state.
echo 1 >"$STATE/other.lock"
start_console
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"
qh-agent run --config "$T/agent" --unattended </dev/null >"$T/agent.out" 2>"$T/agent.log" &
PIDS="$PIDS $!"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "agent shows no code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out" |
    head -n 1)

# A ticket with an attachment, kept under attachments/.
head -c 200000 /dev/urandom >"$T/report.bin"
qh-agent ticket --config "$T/agent" --subject "Drucker" --attach "$T/report.bin" \
    >"$T/ticket.out" 2>&1 || fail "qh-agent ticket: $(cat "$T/ticket.out")"
TICKET=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/ticket.out")

# Sessions open and close (each a ledger entry) while backups are taken.
(
	for i in 1 2 3 4 5 6; do
		if [ "$i" -eq 2 ]; then	# a shell, recorded by the console
			{ sleep 1; echo "echo run $i"; sleep 0.5; echo exit; } |
			    script -qec "qh-console attach $CODE" /dev/null \
			    >>"$T/sessions.log" 2>&1 || exit 1
		else
			qh-console exec "$CODE" -- echo "run $i" >>"$T/sessions.log" 2>&1 ||
			    exit 1
		fi
		qh-console end "$CODE" --note "session $i" >>"$T/sessions.log" 2>&1 || exit 1
	done
	echo done >>"$T/sessions.log"
) &
SESSIONS=$!
PIDS="$PIDS $SESSIONS"
n=0
while [ $n -lt 8 ] || ! grep -q '^done' "$T/sessions.log"; do
	n=$((n + 1))
	flag=
	[ $((n % 2)) -eq 0 ] && flag=--with-files
	qh-console backup --out "$T/b$n.tar" $flag --state "$STATE" >"$T/backup$n.out" \
	    2>"$T/backup$n.err" || fail "backup $n: $(cat "$T/backup$n.err")"
	[ $n -lt 100 ] || fail "the sessions did not finish"
	sleep 0.3
done
wait "$SESSIONS" || fail "a session command failed: $(tail -n 5 "$T/sessions.log")"
n=$((n + 1))
qh-console backup --out "$T/final.tar" --with-files --state "$STATE" >"$T/final.out" \
    2>&1 || fail "final backup"
expect_in "$T/final.out" "written to $T/final.tar"
[ "$(stat -c %a "$T/final.tar")" = 600 ] || fail "backup mode $(stat -c %a "$T/final.tar")"
tar tf "$T/final.tar" >"$T/final.list" || fail "tar cannot list the backup"
[ "$(head -n 2 "$T/final.list" | tr '\n' ' ')" = "quarterhour-backup ledger.db " ] ||
    fail "the backup does not start with its manifest and the database"
grep -q -e '^ledger.db-' -e '\.lock$' "$T/final.list" && fail "the backup holds a lock or WAL file"
echo "$n backups taken while 6 sessions closed"

qh-console ledger --format csv --state "$STATE" >"$T/live.csv" || fail "live ledger"
[ "$(grep -c ',session,' "$T/live.csv")" -eq 6 ] || fail "live ledger: not 6 sessions"

# Every backup restores into a verified state whose ledger is a prefix of
# the live one: a snapshot, never a torn copy.
for b in "$T"/b*.tar "$T/final.tar"; do
	r="$T/restored-$(basename "$b" .tar)"
	qh-console restore "$b" --state "$r" >"$T/restore.out" 2>&1 ||
	    fail "restore $b: $(cat "$T/restore.out")"
	expect_in "$T/restore.out" "ledger ok"
	qh-console verify --state "$r" >"$T/verify.out" 2>&1 ||
	    fail "verify of $r: $(cat "$T/verify.out")"
	qh-console ledger --format csv --state "$r" >"$T/restored.csv" ||
	    fail "ledger of $r"
	lines=$(wc -l <"$T/restored.csv")
	head -n "$lines" "$T/live.csv" | cmp -s - "$T/restored.csv" ||
	    fail "$r: its ledger is not a prefix of the live one"
	for f in ca-key.pem ca.pem console-key.pem console.pem console.conf zz-later.key; do
		cmp -s "$STATE/$f" "$r/$f" || fail "$r: $f differs or is missing"
	done
	[ "$(stat -c %a "$r/ca-key.pem")" = 600 ] || fail "$r: ca-key.pem mode"
	[ "$(stat -c %a "$r")" = 700 ] || fail "$r: mode $(stat -c %a "$r")"
done
cmp -s "$T/live.csv" "$T/restored.csv" || fail "the final backup misses entries"

# Without --with-files no recordings; with it every recording, unchanged.
[ -d "$T/restored-b1/recordings" ] && fail "b1 holds recordings without --with-files"
(cd "$STATE" && find recordings -type f | sort) >"$T/live-recs"
[ -s "$T/live-recs" ] || fail "the sessions left no recordings"
while read -r f; do
	cmp -s "$STATE/$f" "$T/restored-final/$f" || fail "recording $f not restored"
done <"$T/live-recs"

qh-console ticket get "$TICKET" report.bin "$T/report.out" --state "$T/restored-final" \
    >/dev/null 2>&1 || fail "the restored state lacks the ticket's attachment"
cmp -s "$T/report.bin" "$T/report.out" || fail "the restored attachment differs"
qh-console ticket get "$TICKET" report.bin "$T/report.b1" --state "$T/restored-b1" \
    >/dev/null 2>&1 && fail "b1 holds attachments without --with-files"

# Refusals: an existing archive, a non-empty or locked target, a non-backup.
qh-console backup --out "$T/final.tar" --state "$STATE" >"$T/again.out" 2>&1 &&
    fail "backup overwrote an archive"
expect_in "$T/again.out" "exists"
qh-console backup --state "$STATE" >/dev/null 2>&1
[ $? -eq 2 ] || fail "backup without --out is not a usage error"
qh-console restore "$T/final.tar" --state "$T/restored-b1" >"$T/full.out" 2>&1 &&
    fail "restore into a non-empty directory"
expect_in "$T/full.out" "not empty"
mkdir "$T/locked"
flock --no-fork "$T/locked" sleep 30 >/dev/null 2>&1 &
LOCKER=$!
PIDS="$PIDS $LOCKER"
sleep 0.3
qh-console restore "$T/final.tar" --state "$T/locked" >"$T/locked.out" 2>&1 &&
    fail "restore into a locked directory"
expect_in "$T/locked.out" "locked"
kill "$LOCKER"
[ -z "$(ls -A "$T/locked")" ] || fail "a refused restore wrote into the target"
echo "not a backup" >"$T/junk.tar"
qh-console restore "$T/junk.tar" --state "$T/junk" >"$T/junk.out" 2>&1 &&
    fail "restore of a file that is no backup"
[ -e "$T/junk" ] && fail "a refused restore left its target behind"

# As root, into a directory the service's user owns: the files become its.
if [ "$(id -u)" -eq 0 ]; then
	mkdir "$T/owned"
	chown nobody:nogroup "$T/owned"
	qh-console restore "$T/b1.tar" --state "$T/owned" >"$T/owned.out" 2>&1 ||
	    fail "restore into a directory nobody owns: $(cat "$T/owned.out")"
	[ -z "$(find "$T/owned" ! -user nobody)" ] ||
	    fail "restored files not owned by the directory's owner"
fi

# The restored state serves: the same agent comes back to it.
kill "$CONSOLE_PID"
wait "$CONSOLE_PID" 2>/dev/null
STATE="$T/restored-final"
: >"$T/console.log"
start_console
wait_until "qh-console queue 2>/dev/null | grep -q '$CODE\|acme'" 40 ||
    fail "the agent did not come back to the restored console"
qh-console exec "$CODE" -- echo restored-ok >"$T/exec.out" 2>&1 ||
    fail "exec against the restored console: $(cat "$T/exec.out")"
expect_in "$T/exec.out" "restored-ok"
qh-console end "$CODE" >/dev/null 2>&1 || fail "end against the restored console"
qh-console verify --state "$STATE" >"$T/verify.out" 2>&1 || fail "verify after serving"
expect_in "$T/verify.out" "7 sessions"
echo "backup and restore ok"
