#!/bin/sh
# soak-share: 22
# The crash campaign of `make soak` (issue 10): SIGKILL at 1,000 random
# instants while sessions open, close and persist their meter and while
# purchases and corrections are booked, then the promises are checked:
# every session debited exactly once (R4), none lost more than 15 s of
# billable time (R13), no purchase lost or booked twice, every correction
# that was confirmed is there once, and `verify` passes.
#
# Each round starts what is due (a long exec per connected agent opens a
# session, an `end` closes one), waits a random instant, starts a purchase
# (`credit`) or a correction (`correct`) now and then, and a few
# milliseconds later kills the console, the credit or correction under
# way, or both. Killed purchases are booked again with the
# same reference (idempotent) until one succeeds. Everything runs on one
# clock 20 times as fast (faketime, DESIGN §6), so the meter persists every
# half second and an agent's reconnect takes a blink.
#
# Runnable on its own: sh tests/soak/crash.sh
#
#   SOAK_CRASH_POINTS   kill points (default 1000)
#   SOAK_CRASH_MINUTES  the most it may run (default 25; under make soak
#                       its share, $SOAK_SECONDS)
#   QH_SOAK_BIN         the binaries (default bin/, built by `make release`)
#
# Prints one line of figures; exits 1 when a promise is broken or the
# points were not reached in time.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${QH_UNDER_FAKETIME:-}" ]; then
	if [ -z "${QH_SOAK_BIN:-}" ]; then
		make -C "$ROOT" --no-print-directory release >/dev/null ||
		    { echo "crash soak: make release failed"; exit 1; }
	fi
	export QH_UNDER_FAKETIME=1
	exec faketime -f '+0 x20' sh "$0" "$@"
fi
QH_BIN=${QH_SOAK_BIN:-$ROOT/bin}
export QH_BIN
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:verify_asan_link_order=0}"
. "$ROOT/tests/e2e/lib.sh"

POINTS=${SOAK_CRASH_POINTS:-1000}
if [ -n "${SOAK_SECONDS:-}" ] && [ -z "${SOAK_CRASH_MINUTES:-}" ]; then
	MINUTES=$((SOAK_SECONDS / 60)) # the runner's share; its SIGTERM comes a minute later
	[ "$MINUTES" -ge 1 ] || MINUTES=1
else
	MINUTES=${SOAK_CRASH_MINUTES:-25}
fi
AGENTS=2
REAL_START=$(cat /proc/uptime | cut -d' ' -f1)
real_elapsed() {	# seconds since the start, on the real clock
	awk -v a="$REAL_START" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%d", b - a }'
}
rnd() {	# 0..$1-1
	echo $(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1))
}
alive() {	# PID is running (not gone, not a zombie)
	[ -r "/proc/$1/stat" ] || return 1
	read -r _stat <"/proc/$1/stat" 2>/dev/null || return 1
	case "$_stat" in *") Z "*) return 1 ;; esac
	return 0
}
q() { sqlite3 -cmd ".timeout 5000" "$STATE/ledger.db" "$1"; }
spin() {	# waits about $1 microseconds (real ones: sleep is too coarse)
	_i=0
	while [ $_i -lt "$1" ]; do _i=$((_i + 1)); done
}

setup_console
sed -i "s/^grace = .*/grace = 120/" "$STATE/console.conf"
qh-console customer add acme --name "ACME GmbH" --overdraft-units 100000 \
    --state "$STATE" >"$T/admin.log" 2>&1 || fail "customer add"
qh-console credit acme --hours 2000 --ref SOAK-0 --state "$STATE" >>"$T/admin.log" 2>&1 ||
    fail "credit"
echo SOAK-0 >"$T/refs.ok"
qh-console tech add alice --name "Alice" --out "$T/alice.pem" --state "$STATE" \
    >>"$T/admin.log" 2>&1 || fail "tech add"
export QH_TECH="$T/alice.pem"

STARTS=0
console_up() {	# starts serve and waits until it listens
	STARTS=$((STARTS + 1))
	qh-console serve --state "$STATE" >>"$T/console.log" 2>&1 &
	CONSOLE_PID=$!
	PIDS="$PIDS $CONSOLE_PID"
	wait_until "[ \$(grep -c 'listening on' '$T/console.log') -ge $STARTS ]" 600 ||
	    fail "console did not start (start $STARTS)"
}
console_up
a=1
while [ $a -le $AGENTS ]; do
	TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
	qh-agent join "$TOKEN" --config "$T/agent$a" >"$T/join$a.log" 2>&1 || fail "join $a"
	qh-agent run --config "$T/agent$a" --unattended --yes </dev/null \
	    >"$T/agent$a.out" 2>"$T/agent$a.log" &
	PIDS="$PIDS $!"
	a=$((a + 1))
done
codes() {	# the codes of connected agents
	qh-console queue --json 2>/dev/null | python3 -c 'import json,sys
print(" ".join(e["code"] for e in json.load(sys.stdin) if e["connected"]))' 2>/dev/null
}

# book REF: a purchase booked until it succeeds (the same reference: idempotent).
book() {
	_n=0
	until qh-console credit acme --units 8 --ref "$1" --state "$STATE" \
	    >>"$T/credit.log" 2>&1; do
		_n=$((_n + 1))
		[ $_n -lt 50 ] || fail "purchase $1 cannot be booked"
		sleep 1
	done
	echo "$1" >>"$T/refs.ok"
}

# A correction the bounds allow: one unit back to a recent debit, or one
# unit off a recent purchase's lot.
correction_args() {
	if [ "$(rnd 2)" = 0 ]; then
		q "SELECT e.id || ' 1' FROM ledger e WHERE e.kind = 'session' AND e.units < 0
		    AND -e.units > (SELECT coalesce(sum(c.units), 0) FROM ledger c
		    WHERE c.corrects = e.id) ORDER BY e.id DESC LIMIT 1"
	else
		q "SELECT e.id || ' -1' FROM ledger e JOIN lots l ON l.entry_id = e.id
		    WHERE e.kind = 'purchase' AND l.units - (SELECT coalesce(sum(a.units), 0)
		    FROM allocations a WHERE a.lot_id = l.id) > 1 ORDER BY e.id DESC LIMIT 1"
	fi
}

: >"$T/kills"
: >"$T/ends"
: >"$T/corr.ok"
points=0 console_kills=0 credit_kills=0 correct_kills=0 rounds=0 EXECS=""
while [ $points -lt "$POINTS" ]; do
	rounds=$((rounds + 1))
	if [ "$(real_elapsed)" -gt $((MINUTES * 60)) ]; then
		echo "crash soak: stopped at $points kill points after $MINUTES minutes"
		# Under make soak the share ends the killing; the promises are
		# still checked for every point reached. Alone, it is a failure.
		[ -n "${SOAK_SECONDS:-}" ] && [ "$points" -gt 0 ] && break
		fail "the kill points did not fit in $MINUTES minutes"
	fi
	alive "$CONSOLE_PID" || console_up
	# Both agents back (a second or two of their clock), else go on without.
	wait_until "[ \$(qh-console queue --json 2>/dev/null | grep -o '\"connected\":true' | wc -l) -ge $AGENTS ]" 100
	CODES=$(codes)
	# Opens: a long command per agent whose last one is gone.
	for c in $CODES; do
		eval "_p=\${EXEC_$c:-}"
		if [ -z "$_p" ] || ! alive "$_p"; then
			qh-console exec "$c" -- sleep 100000 >/dev/null 2>>"$T/exec.log" &
			eval "EXEC_$c=$!"
		fi
	done
	# Closes: now and then the technician ends one.
	if [ -n "$CODES" ] && [ "$(rnd 4)" = 0 ]; then
		set -- $CODES
		echo "$1 $(date +%s)" >>"$T/ends"
		qh-console end "$1" --note "soak round $rounds" >/dev/null 2>>"$T/end.log" &
	fi
	# A random instant after the opens and closes began...
	sleep "$(rnd 8).$(rnd 10)"
	# ...and purchases and corrections just started or under way by then.
	CREDIT="" CORRECT=""
	if [ "$(rnd 2)" = 0 ]; then
		REF="SOAK-$rounds"
		qh-console credit acme --units 8 --ref "$REF" --state "$STATE" \
		    >>"$T/credit.log" 2>&1 &
		CREDIT=$!
	fi
	if [ "$(rnd 3)" = 0 ] && args=$(correction_args) && [ -n "$args" ]; then
		set -- $args
		qh-console correct "$1" --units "$2" --reason "soak-corr-$rounds" \
		    --state "$STATE" >>"$T/correct.log" 2>&1 &
		CORRECT=$!
	fi
	spin "$(rnd 8000)"
	victim=$(rnd 4)	# 0, 1: the console; 2: the admin command; 3: both
	if [ "$victim" != 2 ] && alive "$CONSOLE_PID"; then
		kill -9 "$CONSOLE_PID" && date +%s >>"$T/kills"
		wait "$CONSOLE_PID" 2>/dev/null
		console_kills=$((console_kills + 1))
		points=$((points + 1))
	fi
	if [ "$victim" -ge 2 ]; then
		if [ -n "$CREDIT" ] && alive "$CREDIT" && kill -9 "$CREDIT" 2>/dev/null; then
			credit_kills=$((credit_kills + 1))
			points=$((points + 1))
		elif [ -n "$CORRECT" ] && alive "$CORRECT" && kill -9 "$CORRECT" 2>/dev/null; then
			correct_kills=$((correct_kills + 1))
			points=$((points + 1))
		fi
	fi
	# What the admin commands made of it: a lost purchase is booked again.
	if [ -n "$CREDIT" ]; then
		if wait "$CREDIT" 2>/dev/null; then
			echo "$REF" >>"$T/refs.ok"
		else
			book "$REF"
		fi
	fi
	if [ -n "$CORRECT" ] && wait "$CORRECT" 2>/dev/null; then
		echo "soak-corr-$rounds" >>"$T/corr.ok"
	fi
done

# The end: a last kill, the start that recovers, and a clean stop.
if alive "$CONSOLE_PID"; then
	kill -9 "$CONSOLE_PID" && date +%s >>"$T/kills"
	wait "$CONSOLE_PID" 2>/dev/null
fi
console_up
wait_until "[ \"\$(sqlite3 '$STATE/ledger.db' 'SELECT count(*) FROM sessions WHERE closed_at IS NULL')\" = 0 ]" 600 ||
    fail "sessions left open after the last start"
kill -TERM "$CONSOLE_PID"
wait "$CONSOLE_PID" 2>/dev/null
qh-console verify --state "$STATE" >"$T/verify.log" 2>&1 || fail "verify: $(cat "$T/verify.log")"

python3 - "$STATE/ledger.db" "$T/kills" "$T/ends" "$T/refs.ok" "$T/corr.ok" \
    >"$T/figures" 2>"$T/check.log" <<'EOF' || fail "$(cat "$T/check.log")"
import datetime, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
kills = sorted(int(x) for x in open(sys.argv[2]))
ends = {}
for line in open(sys.argv[3]):
    code, t = line.split()
    ends.setdefault(code, []).append(int(t))
refs = [x.strip() for x in open(sys.argv[4]) if x.strip()]
corrs = [x.strip() for x in open(sys.argv[5]) if x.strip()]
t = lambda s: int(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
                  .replace(tzinfo=datetime.timezone.utc).timestamp())
bad = []

# R4: every session closed and debited exactly once.
n = db.execute("SELECT count(*) FROM sessions").fetchone()[0]
open_ = db.execute("SELECT count(*) FROM sessions WHERE closed_at IS NULL").fetchone()[0]
debits = dict(db.execute("SELECT session_id, count(*) FROM ledger WHERE session_id "
                         "IS NOT NULL GROUP BY session_id"))
if open_:
    bad.append(f"{open_} sessions still open")
for (sid,) in db.execute("SELECT id FROM sessions"):
    if debits.get(sid, 0) != 1:
        bad.append(f"session {sid} has {debits.get(sid, 0)} debits")

# R13: a session closed by recovery lost at most 15 s: its commands ran from
# their start until the kill that ended it (or until an end was asked).
worst, recovered, unattached = 0, 0, 0
for sid, code, opened, persisted, secs in db.execute(
        "SELECT id, code, opened_at, persisted_at, billable_seconds FROM sessions "
        "WHERE close_reason = 'crash_recovery'"):
    recovered += 1
    after = [k for k in kills if k >= t(opened)]
    if not after:
        bad.append(f"session {sid} recovered without a kill")
        continue
    kill = after[0]
    asked = [e for e in ends.get(code, []) if t(opened) <= e <= kill]
    stop = min([kill] + asked)
    spans = []
    for s, e in db.execute("SELECT started_at, ended_at FROM session_events WHERE "
                           "session_id = ? AND kind = 'attach'", (sid,)):
        end = stop if e is None or t(e) >= t(persisted) else min(t(e), stop)
        if end > t(s):
            spans.append((t(s), end))
    if not spans:
        unattached += 1
        continue
    spans.sort()
    ran, cur = 0, None
    for s, e in spans:
        if cur and s <= cur[1]:
            cur = (cur[0], max(cur[1], e))
        else:
            if cur:
                ran += cur[1] - cur[0]
            cur = (s, e)
    ran += cur[1] - cur[0]
    lost = ran - secs
    worst = max(worst, lost)
    if lost > 15 + 2:  # the timestamps' seconds, rounded both ways
        bad.append(f"session {sid}: ran {ran} s, billed {secs} s, lost {lost} s")

# No purchase lost or booked twice; every confirmed correction there once.
booked = dict(db.execute("SELECT reference, count(*) FROM ledger WHERE kind = "
                         "'purchase' GROUP BY reference"))
for r in set(refs):
    if booked.get(r, 0) != 1:
        bad.append(f"purchase {r} booked {booked.get(r, 0)} times")
extra = set(booked) - set(refs)
if extra:
    bad.append(f"purchases nobody asked for: {sorted(extra)[:5]}")
notes = dict(db.execute("SELECT note, count(*) FROM ledger WHERE kind = 'correction' "
                        "GROUP BY note"))
for c in corrs:
    if notes.get(c, 0) != 1:
        bad.append(f"correction {c} confirmed but booked {notes.get(c, 0)} times")
ncorr = sum(notes.values())
print(f"{n} sessions each debited once ({recovered} closed by recovery, worst loss "
      f"{worst} s of 15 allowed, {unattached} without a command), {len(set(refs))} "
      f"purchases none lost, {ncorr} corrections ({len(corrs)} confirmed) each once")
for b in bad[:20]:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
echo "figure: crash soak: $points kill points ($console_kills console, $credit_kills credit," \
    "$correct_kills correction) in $rounds rounds, $(real_elapsed) s: $(cat "$T/figures"); verify ok"
exit 0
