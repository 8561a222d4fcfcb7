#!/bin/sh
# Support tickets from the agent (`qh-agent ticket`), end to end:
# - a free-plan customer files a ticket with steps and two attachments; it
#   prints "ticket N" and its due time; `ticket show --json` has the
#   workstation's environment, the steps and the attachments with the
#   SHA-256 of the originals, due one business day after filing (deadline
#   two); `ticket get` restores them byte for byte and never overwrites;
# - the same command again returns the same number (idempotent);
# - an installation outside business hours with one proposal is refused
#   with the rule stated, with two it is filed (local time and UTC offset
#   of the PC kept) and a technician confirms one;
# - a missing, directory, FIFO or oversized attachment, a non-UTF-8
#   subject and steps over 64 KiB are refused before anything is sent (no
#   connection reaches the console);
# - an upload cut in the middle (a proxy killed, the agent killed) leaves
#   no ticket and no temporary file, and so does an attachment that
#   changes while it is sent, or a peer whose data does not match what it
#   announced; the retry files it exactly once;
# - the console's own limits refuse with a clear line;
# - a premium ticket is due in four business hours, and `attach --ticket N`
#   links the session: the ledger's reference column says "ticket N".
. "$(dirname "$0")/lib.sh"
requires sqlite3:sqlite3 faketime:faketime

setup_console
qh-console customer add frei --name "Frei & Söhne" --plan free --state "$STATE" \
    >"$T/admin.log" 2>&1 || fail "expected customer add frei to succeed"
qh-console customer add prem --name "Premium AG" --overdraft-units 100 \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected customer add prem to succeed"
qh-console tech add alice --name "Alice Tech" --out "$T/alice.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "expected tech add to succeed"
export QH_TECH="$T/alice.pem"
start_console
TOKEN=$(qh-console enroll frei --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll to print a token"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "expected qh-agent join to succeed"
export QH_AGENT="$T/agent"

# expect_status WANT NAME CMD...: runs CMD, checks its exit status; output
# in $T/NAME.out and $T/NAME.err.
expect_status() {
	_want=$1
	_name=$2
	shift 2
	"$@" >"$T/$_name.out" 2>"$T/$_name.err"
	_got=$?
	[ "$_got" -eq "$_want" ] ||
	    fail "$_name: exit $_got, want $_want ($(cat "$T/$_name.err"))"
}

tickets() {	# number of tickets in the database
	sqlite3 "$STATE/ledger.db" 'SELECT count(*) FROM tickets'
}

connections() {	# TLS peers the console has accepted so far
	grep -c ': connected$' "$T/console.log"
}

tmp_files() {	# temporary attachment files on the console
	find "$STATE/attachments/tmp" -type f 2>/dev/null | wc -l
}

# 1. A free-plan ticket with steps and two attachments.
printf '1. Rechnung öffnen\n2. Drucken drücken\n3. Nichts passiert (Fehler 0x1F)\n' \
    >"$T/steps.txt"
head -c 3000000 /dev/urandom >"$T/screen shot.png"
printf 'CREATE TABLE kunden (id INTEGER);\nINSERT INTO kunden VALUES (1);\n' \
    >"$T/db-backup.sql"
expect_status 0 file qh-agent ticket --subject "Drucker druckt nicht" \
    --steps "$T/steps.txt" --attach "$T/screen shot.png" --attach "$T/db-backup.sql"
grep -Eq '^ticket [0-9]+: due .*, at the latest ' "$T/file.out" ||
    fail "qh-agent ticket printed '$(cat "$T/file.out")'"
N=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/file.out")
[ "$(tickets)" = 1 ] || fail "$(tickets) tickets after the first"
[ "$(tmp_files)" = 0 ] || fail "temporary files left after a good upload"

expect_status 0 show qh-console ticket show "$N" --json --state "$STATE"
python3 - "$T" <<'EOF' || fail "ticket show --json: $(cat "$T/show.out")"
import datetime, hashlib, json, sys, zoneinfo
T = sys.argv[1]
t = json.load(open(T + "/show.out"))
assert t["customer"] == "frei" and t["customer_name"] == "Frei & Söhne", t
assert t["plan"] == "free" and t["kind"] == "support" and t["status"] == "open", t
assert t["subject"] == "Drucker druckt nicht", t
assert t["steps"] == open(T + "/steps.txt", encoding="utf-8").read(), t["steps"]
env = t["environment"]
for key in ("os", "kernel", "arch", "hostname", "user", "cpu_cores",
            "memory_total_bytes", "disks", "locale", "timezone", "interfaces"):
    assert key in env, (key, env)
assert [a["name"] for a in t["attachments"]] == ["screen shot.png", "db-backup.sql"]
for a in t["attachments"]:
    data = open(T + "/" + a["name"], "rb").read()
    assert a["size"] == len(data), a
    assert a["sha256"] == hashlib.sha256(data).hexdigest(), a
assert t["proposals"] == [] and t["sessions"] == [], t
# Due one business day (660 business minutes), deadline two, Europe/Berlin.
tz = zoneinfo.ZoneInfo("Europe/Berlin")
def at(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
def business_seconds(a, b):
    total, day = 0, a.astimezone(tz).date()
    while True:
        start = datetime.datetime.combine(day, datetime.time(7), tz)
        if start >= b:
            return total
        end = datetime.datetime.combine(day, datetime.time(18), tz)
        if day.weekday() < 5:
            lo, hi = max(a, start), min(b, end)
            total += max(0, (hi - lo).total_seconds())
        day += datetime.timedelta(days=1)
created = at(t["created_at"])
for key, minutes in (("due_at", 660), ("deadline_at", 1320)):
    got = business_seconds(created, at(t[key]))
    assert abs(got - minutes * 60) <= 60, (key, got, t)
EOF

# The environment is the agent's own account of the PC.
if qh-agent info --json >"$T/info.json" 2>/dev/null; then
	python3 - "$T" <<'EOF' || fail "the ticket's environment is not the agent's info"
import json, sys
T = sys.argv[1]
env = json.load(open(T + "/show.out"))["environment"]
info = json.load(open(T + "/info.json"))
assert set(env) == set(info), (sorted(env), sorted(info))
EOF
fi

# ticket get: byte for byte, verified, never over an existing file.
expect_status 0 get1 qh-console ticket get "$N" "screen shot.png" "$T/out1.png" \
    --state "$STATE"
cmp -s "$T/screen shot.png" "$T/out1.png" || fail "ticket get: screen shot.png differs"
expect_status 0 get2 qh-console ticket get "$N" db-backup.sql "$T/out2.sql" \
    --state "$STATE"
cmp -s "$T/db-backup.sql" "$T/out2.sql" || fail "expected ticket get to restore db-backup.sql byte for byte"
expect_status 1 get-exists qh-console ticket get "$N" db-backup.sql "$T/out2.sql" \
    --state "$STATE"
expect_in "$T/get-exists.err" "exists; not overwriting it"
cmp -s "$T/db-backup.sql" "$T/out2.sql" || fail "a refused get changed the file"
expect_status 1 get-none qh-console ticket get "$N" nope.txt "$T/out3" --state "$STATE"
expect_in "$T/get-none.err" "has no attachment named nope.txt"
[ ! -e "$T/out3" ] || fail "a refused get left a file"
expect_status 1 get-noticket qh-console ticket get 999 x "$T/out4" --state "$STATE"
expect_in "$T/get-noticket.err" "no ticket 999"

# A damaged store is noticed, and the bad copy is not left behind.
H=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' \
    "$T/db-backup.sql")
STORED="$STATE/attachments/$(echo "$H" | cut -c1-2)/$H"
[ -f "$STORED" ] || fail "expected the content-addressed file $STORED"
cp "$STORED" "$T/stored.bak"
printf 'X' >>"$STORED"
expect_status 1 get-damaged qh-console ticket get "$N" db-backup.sql "$T/out5" \
    --state "$STATE"
expect_in "$T/get-damaged.err" "damaged"
[ ! -e "$T/out5" ] || fail "a damaged attachment was left in OUT"
cp "$T/stored.bak" "$STORED"

# The same command again: the same ticket, not a second one.
expect_status 0 again qh-agent ticket --subject "Drucker druckt nicht" \
    --steps "$T/steps.txt" --attach "$T/screen shot.png" --attach "$T/db-backup.sql"
grep -q "^ticket $N (filed before): due" "$T/again.out" ||
    fail "the retry printed '$(cat "$T/again.out")'"
[ "$(tickets)" = 1 ] || fail "the retry filed a second ticket"

# 2. Installations: outside business hours one proposal is not enough.
SAT=$(python3 -c 'import datetime
d = datetime.date.today() + datetime.timedelta(days=8)
while d.weekday() != 5: d += datetime.timedelta(days=1)
print(d.isoformat())')
MON=$(python3 -c 'import datetime,sys
d = datetime.date.fromisoformat(sys.argv[1]) + datetime.timedelta(days=2)
print(d.isoformat())' "$SAT")
before=$(tickets)
expect_status 1 inst1 env TZ=Europe/Berlin qh-agent ticket --kind installation \
    --subject "Neuen Drucker einrichten" --propose "${SAT}T10:00"
expect_in "$T/inst1.err" \
    "installations outside business hours need at least two proposed appointments"
expect_status 1 inst0 qh-agent ticket --kind installation --subject "Einrichten"
expect_in "$T/inst0.err" "at least one proposed appointment"
[ "$(tickets)" = "$before" ] || fail "a refused installation ticket was filed"
# Two proposals, typed in New York local time: the offset travels along.
expect_status 0 inst2 env TZ=America/New_York qh-agent ticket --kind installation \
    --subject "Neuen Drucker einrichten" --propose "${SAT}T10:00" \
    --propose "${MON}T04:30"
M=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/inst2.out")
[ -n "$M" ] || fail "installation ticket: '$(cat "$T/inst2.out")'"
# New York's offset on those days (-05:00 in winter, -04:00 in summer).
OFF=$(python3 -c 'import datetime,sys,zoneinfo
d = datetime.datetime.fromisoformat(sys.argv[1] + "T04:30")
o = d.replace(tzinfo=zoneinfo.ZoneInfo("America/New_York")).utcoffset()
m = int(o.total_seconds()) // 60
print("%s%02d:%02d" % ("-" if m < 0 else "+", abs(m) // 60, abs(m) % 60))' "$MON")
expect_status 0 confirm qh-console ticket confirm "$M" --slot 2 --state "$STATE"
expect_in "$T/confirm.out" "appointment 2 confirmed: ${MON}T04:30 $OFF"
expect_status 1 confirm-bad qh-console ticket confirm "$M" --slot 3 --state "$STATE"
expect_in "$T/confirm-bad.err" "has 2 proposed appointments"
expect_status 0 show2 qh-console ticket show "$M" --json --state "$STATE"
python3 - "$T" "$SAT" "$MON" <<'EOF' || fail "installation ticket: $(cat "$T/show2.out")"
import datetime, json, sys, zoneinfo
T, sat, mon = sys.argv[1:]
ny = zoneinfo.ZoneInfo("America/New_York")
def utc(local):
    d = datetime.datetime.fromisoformat(local).replace(tzinfo=ny)
    return d.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
def offset(local):
    d = datetime.datetime.fromisoformat(local).replace(tzinfo=ny)
    return int(d.utcoffset().total_seconds()) // 60
t = json.load(open(T + "/show2.out"))
assert t["kind"] == "installation", t
p = t["proposals"]
assert [x["slot"] for x in p] == [1, 2], p
for x, local in zip(p, (sat + "T10:00", mon + "T04:30")):
    assert x["local_time"] == local, p
    assert x["utc_offset_minutes"] == offset(local), p
    assert x["starts_at"] == utc(local), p
# Saturday is outside business hours; Monday 04:30 in New York is 09:30 or
# 10:30 in Berlin, inside.
assert p[0]["after_hours"] is True and p[1]["after_hours"] is False, p
assert [x["confirmed"] for x in p] == [False, True], p
assert p[1]["confirmed_by"], p
EOF

# 3. Refused before anything is sent: no connection reaches the console.
mkfifo "$T/fifo"
mkdir "$T/adir"
truncate -s 257M "$T/huge.bin"
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/long-steps.txt"
printf 'caf\351\n' >"$T/latin1-steps.txt"
before=$(connections)
expect_status 1 missing qh-agent ticket --subject "x" --attach "$T/nope.png"
expect_in "$T/missing.err" "attachment $T/nope.png: no such file"
expect_status 1 dir qh-agent ticket --subject "x" --attach "$T/adir"
expect_in "$T/dir.err" "is a directory, not a file"
expect_status 1 fifo timeout 20 qh-agent ticket --subject "x" --attach "$T/fifo"
expect_in "$T/fifo.err" "is not a regular file"
expect_status 1 huge qh-agent ticket --subject "x" --attach "$T/huge.bin"
expect_in "$T/huge.err" "is 257 MiB; at most 256 MiB per attachment are accepted"
expect_status 1 latin1 qh-agent ticket --subject "$(printf 'Fehler im Men\374')"
expect_in "$T/latin1.err" "the subject is not valid UTF-8 text"
expect_status 1 empty qh-agent ticket --subject ""
expect_in "$T/empty.err" "the subject is empty"
expect_status 1 long qh-agent ticket --subject "x" --steps "$T/long-steps.txt"
expect_in "$T/long.err" "the steps are longer than 64 KiB"
expect_status 1 latin1-steps qh-agent ticket --subject "x" --steps - \
    <"$T/latin1-steps.txt"
expect_in "$T/latin1-steps.err" "not valid UTF-8"
expect_status 1 past qh-agent ticket --subject "x" --propose 2020-01-06T10:00
expect_in "$T/past.err" "lies in the past"
expect_status 2 badtime qh-agent ticket --subject "x" --propose "tomorrow"
expect_status 2 nosubject qh-agent ticket --attach "$T/db-backup.sql"
[ "$(connections)" = "$before" ] || fail "a refused ticket connected to the console"

# 4. An upload cut in the middle leaves nothing; the retry files it once.
# A proxy slows the upload to about 2 MB/s, so that it can be cut midway.
cat >"$T/slowproxy.py" <<'EOF'
import socket, sys, threading, time
listen, target, rate = int(sys.argv[1]), int(sys.argv[2]), 2_000_000
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen))
srv.listen(8)
print("ready", flush=True)
def pipe(a, b, slow):
    try:
        while True:
            d = a.recv(16384)
            if not d:
                break
            b.sendall(d)
            if slow:
                time.sleep(len(d) / rate)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(c, u, True), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, False), daemon=True).start()
EOF
# Each case gets a proxy of its own, on a port of its own, with output of
# its own: a proxy restarted on the same port could be taken for ready by
# the "ready" its killed predecessor printed, or lose the port to it, and
# the agent would then find nobody listening (the failures once seen
# under load).
cp -r "$T/agent" "$T/agent-slow"
start_proxy() {	# name: a slow proxy for case NAME ($PROXY), the agent pointed at it
	PPORT=$(free_port)
	python3 "$T/slowproxy.py" "$PPORT" "$PORT" >"$T/proxy-$1.out" 2>&1 &
	PROXY=$!
	PIDS="$PIDS $PROXY"
	wait_until "grep -q ready '$T/proxy-$1.out'" 60 ||
	    fail "the proxy for $1 should print ready within 60 s: $(cat "$T/proxy-$1.out")"
	sed -i "1s/.*/# console: 127.0.0.1:$PPORT/" "$T/agent-slow/agent.pem"
}
stop_proxy() {	# kills the proxy (the network goes) and reaps it
	kill -9 "$PROXY" 2>/dev/null
	wait "$PROXY" 2>/dev/null
}
head -c 12000000 /dev/urandom >"$T/big.bin"
slow_ticket() {	# name: files the big ticket through the proxy in the background
	qh-agent ticket --config "$T/agent-slow" --subject "Langsame Datenbank" \
	    --steps "$T/steps.txt" --attach "$T/big.bin" --attach "$T/db-backup.sql" \
	    >"$T/$1.out" 2>"$T/$1.err" &
	SLOW=$!
	PIDS="$PIDS $SLOW"
}
in_flight() {	# name: waits until the console holds part of upload NAME; fails saying why not
	_i=0
	while [ -z "$(find "$STATE/attachments/tmp" -type f -size +1M 2>/dev/null)" ]; do
		if ! running "$SLOW"; then
			wait "$SLOW"
			_st=$?
			fail "upload $1 should be under way (over 1 MiB in $STATE/attachments/tmp), but the agent exited $_st first: $(cat "$T/$1.err"); its proxy: $(cat "$T/proxy-$1.out")"
		fi
		_i=$((_i + 1))
		[ "$_i" -lt 1200 ] ||
		    fail "upload $1 should put over 1 MiB into $STATE/attachments/tmp within 120 s; it holds: $(ls -l "$STATE/attachments/tmp" 2>&1); the agent: $(cat "$T/$1.err"); its proxy: $(cat "$T/proxy-$1.out")"
		sleep 0.1
	done
}
before=$(tickets)

# 4a. The network goes: the proxy is killed mid-upload.
start_proxy cut1
slow_ticket cut1
in_flight cut1
stop_proxy
wait "$SLOW"
st=$?
[ "$st" -eq 1 ] || fail "the cut agent exited $st, want 1"
expect_in "$T/cut1.err" "run the same command again"
wait_until "[ \$(find '$STATE/attachments/tmp' -type f | wc -l) = 0 ]" 60 ||
    fail "temporary files left after the cut: $(ls -l "$STATE/attachments/tmp")"
[ "$(tickets)" = "$before" ] || fail "a cut upload filed a ticket"
expect_in "$T/console.log" "nothing was filed"

# 4b. The agent is killed mid-upload.
start_proxy cut2
slow_ticket cut2
in_flight cut2
kill -9 "$SLOW"
wait "$SLOW" 2>/dev/null
wait_until "[ \$(find '$STATE/attachments/tmp' -type f | wc -l) = 0 ]" 60 ||
    fail "temporary files left after the agent was killed"
[ "$(tickets)" = "$before" ] || fail "a killed upload filed a ticket"
stop_proxy

# 4c. The file changes while it is sent: refused, nothing filed.
cp "$T/big.bin" "$T/big.orig"
start_proxy cut3
slow_ticket cut3
in_flight cut3
head -c 1000000 /dev/urandom |
    dd of="$T/big.bin" bs=1000000 seek=10 conv=notrunc status=none
wait "$SLOW"
st=$?
[ "$st" -eq 1 ] || fail "an attachment that changed while it was sent: exit $st, want 1"
grep -Eq "changed while it was sent|different SHA-256" "$T/cut3.err" ||
    fail "the changed attachment was not reported: $(cat "$T/cut3.err")"
wait_until "[ \$(find '$STATE/attachments/tmp' -type f | wc -l) = 0 ]" 60 ||
    fail "temporary files left after the changed attachment"
[ "$(tickets)" = "$before" ] || fail "a changed attachment filed a ticket"
stop_proxy
cp "$T/big.orig" "$T/big.bin"

# 4d. A peer that lies: the console checks every byte itself
# (tests/tools/ticket_liar.py speaks the protocol with the real bundle).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for case in hash early more; do
	timeout 60 python3 "$ROOT/tests/tools/ticket_liar.py" "$T/agent/agent.pem" "$PORT" \
	    "$ROOT/include/qh/wire.h" "$case" >"$T/liar-$case.out" 2>&1 ||
	    fail "ticket_liar $case: $(cat "$T/liar-$case.out")"
done
expect_in "$T/liar-hash.out" "a.txt arrived with a different SHA-256 than announced"
expect_in "$T/liar-early.out" "attachment data before the console asked for it"
expect_in "$T/liar-more.out" "more attachment data than announced"
[ "$(tickets)" = "$before" ] || fail "a lying peer filed a ticket"
wait_until "[ \$(find '$STATE/attachments/tmp' -type f | wc -l) = 0 ]" 60 ||
    fail "temporary files left after a lying peer"

# The retry, directly: filed exactly once; once more gives the same number.
expect_status 0 retry qh-agent ticket --subject "Langsame Datenbank" \
    --steps "$T/steps.txt" --attach "$T/big.bin" --attach "$T/db-backup.sql"
R=$(sed -n 's/^ticket \([0-9]*\): due.*/\1/p' "$T/retry.out")
[ -n "$R" ] || fail "the retry printed '$(cat "$T/retry.out")'"
[ "$(tickets)" = $((before + 1)) ] || fail "the retry filed $(($(tickets) - before)) tickets"
expect_status 0 retry2 qh-agent ticket --subject "Langsame Datenbank" \
    --steps "$T/steps.txt" --attach "$T/big.bin" --attach "$T/db-backup.sql"
grep -q "^ticket $R (filed before)" "$T/retry2.out" ||
    fail "the second retry printed '$(cat "$T/retry2.out")'"
expect_status 0 get-big qh-console ticket get "$R" big.bin "$T/big.out" --state "$STATE"
cmp -s "$T/big.bin" "$T/big.out" || fail "expected the retried attachment to arrive unchanged"
# db-backup.sql is stored once, though two tickets carry it.
[ "$(find "$STATE/attachments" -name "$H" | wc -l)" = 1 ] ||
    fail "the same content is stored twice"

# 5. Listings, closing.
expect_status 0 list qh-console tickets --json --state "$STATE"
python3 - "$T" "$N" "$M" "$R" <<'EOF' || fail "tickets --json: $(cat "$T/list.out")"
import json, sys
T, n, m, r = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ts = json.load(open(T + "/list.out"))
assert sorted(t["id"] for t in ts) == sorted([n, m, r]), ts
assert [t["due_at"] for t in ts] == sorted(t["due_at"] for t in ts), "not by due time"
assert all(t["overdue"] is False for t in ts), ts
assert next(t for t in ts if t["id"] == m)["confirmed_slot"] == 2, ts
EOF
expect_status 2 close-nonote qh-console ticket close "$N" --state "$STATE"
expect_status 0 close qh-console ticket close "$N" --note "Treiber neu installiert" \
    --state "$STATE"
expect_status 1 close-again qh-console ticket close "$N" --note "again" --state "$STATE"
expect_in "$T/close-again.err" "is closed already"
expect_status 0 open-list qh-console tickets --open --json --state "$STATE"
python3 -c 'import json,sys
ts = json.load(open(sys.argv[1]))
assert int(sys.argv[2]) not in [t["id"] for t in ts], ts
' "$T/open-list.out" "$N" || fail "a closed ticket is listed as open"
expect_status 0 list-text qh-console tickets --customer frei --state "$STATE"
expect_in "$T/list-text.out" "Drucker druckt nicht"
# Ten days on, the open tickets are overdue and past their deadline.
expect_status 0 later env ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
    faketime -f '+10d' qh-console tickets --json --state "$STATE"
python3 - "$T/later.out" "$N" <<'EOF2' || fail "overdue: $(cat "$T/later.out")"
import json, sys
for t in json.load(open(sys.argv[1])):
    closed = t["id"] == int(sys.argv[2])
    assert t["overdue"] is (not closed) and t["past_deadline"] is (not closed), t
EOF2
expect_status 0 later-text env ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
    faketime -f '+10d' qh-console tickets --open --state "$STATE"
[ "$(grep -c ' LATE ' "$T/later-text.out")" = 2 ] ||
    fail "overdue tickets are not marked: $(cat "$T/later-text.out")"
expect_status 0 show-text qh-console ticket show "$N" --state "$STATE"
expect_in "$T/show-text.out" "Treiber neu installiert"

# 6. The premium customer: due in four business hours; a session linked to
# the ticket carries it into the ledger.
qh-console credit prem --hours 2 --ref INV-7 --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "expected credit to succeed"
TOKEN=$(qh-console enroll prem --state "$STATE" 2>>"$T/admin.log") || fail "expected enroll prem to print a token"
qh-agent join "$TOKEN" --config "$T/agent-prem" >>"$T/join.log" 2>&1 || fail "expected qh-agent join for prem to succeed"
expect_status 0 prem qh-agent ticket --config "$T/agent-prem" --subject "VPN bricht ab"
grep -Eq '^ticket [0-9]+: due [^,]*$' "$T/prem.out" ||
    fail "premium ticket printed '$(cat "$T/prem.out")'"
P=$(sed -n 's/^ticket \([0-9]*\).*/\1/p' "$T/prem.out")
expect_status 0 show-prem qh-console ticket show "$P" --json --state "$STATE"
python3 -c 'import json,sys
t = json.load(open(sys.argv[1]))
assert t["plan"] == "premium" and t["deadline_at"] is None, t
' "$T/show-prem.out" || fail "premium ticket: $(cat "$T/show-prem.out")"

qh-agent run --config "$T/agent-prem" --yes </dev/null >"$T/agent.out" 2>"$T/agent.log" &
AGENT=$!
PIDS="$PIDS $AGENT"
wait_until "grep -q 'session code' '$T/agent.out'" 30 || fail "expected the agent to show a session code"
CODE=$(sed -n 's/.*session code: *\([0-9]\{3\}\) \([0-9]\{3\}\).*/\1\2/p' "$T/agent.out")
# A ticket that is not this customer's is refused, and opens no session.
if printf 'exit\n' | timeout 60 qh-console attach "$CODE" --ticket 999999 \
    >"$T/attach-bad.out" 2>"$T/attach-bad.err"; then
	fail "attach with an unknown ticket was accepted"
fi
grep -q "has no ticket 999999" "$T/attach-bad.err" || fail "unknown ticket: $(cat "$T/attach-bad.err")"
printf 'exit\n' | timeout 60 qh-console attach "$CODE" --ticket "$P" \
    >"$T/attach.out" 2>"$T/attach.err" || fail "attach --ticket: $(cat "$T/attach.err")"
expect_status 0 end timeout 60 qh-console end "$CODE"
expect_status 0 ledger qh-console ledger --customer prem --format csv --state "$STATE"
python3 - "$T/ledger.out" "$P" <<'EOF' || fail "ledger reference: $(cat "$T/ledger.out")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
s = [r for r in rows if r["kind"] == "session"]
assert len(s) == 1 and s[0]["reference"] == "ticket " + sys.argv[2], rows
EOF
expect_status 0 show-linked qh-console ticket show "$P" --json --state "$STATE"
python3 -c 'import json,sys
assert len(json.load(open(sys.argv[1]))["sessions"]) == 1
' "$T/show-linked.out" || fail "the linked session is not shown: $(cat "$T/show-linked.out")"

# 7. The console's configured limits, refused with a clear line.
kill "$AGENT" 2>/dev/null
kill "$CONSOLE_PID"
wait "$CONSOLE_PID" 2>/dev/null
mv "$T/console.log" "$T/console-1.log"
sed -i -e 's/^max_attachment_mib = .*/max_attachment_mib = 2/' \
    -e 's/^max_ticket_mib = .*/max_ticket_mib = 5/' "$STATE/console.conf"
start_console
head -c 3000000 /dev/urandom >"$T/three.bin"
before=$(tickets)
expect_status 1 over1 qh-agent ticket --subject "zu groß" --attach "$T/three.bin"
expect_in "$T/over1.err" "attachment three.bin is 3 MiB; at most 2 MiB per attachment are accepted"
for i in 1 2 3; do head -c 2000000 /dev/urandom >"$T/part$i.bin"; done
expect_status 1 over2 qh-agent ticket --subject "zu viel" --attach "$T/part1.bin" \
    --attach "$T/part2.bin" --attach "$T/part3.bin"
expect_in "$T/over2.err" "at most 5 MiB per ticket are accepted"
[ "$(tickets)" = "$before" ] || fail "an over-limit ticket was filed"
[ "$(tmp_files)" = 0 ] || fail "temporary files left after refusals"

echo "ok"
