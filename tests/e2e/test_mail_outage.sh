#!/bin/sh
# Mail survives an outage of the mail server (issue 13): with the SMTP
# server stopped, a purchase's receipt waits in the outbox, and `outbox
# --failed` shows why (the connection refused); it goes out exactly once
# when the server is back, whether the console is restarted meanwhile
# (before or after the server returns) or keeps running and retries; a
# restart after delivery sends nothing again. The console runs under
# faketime x10, so its first retry, 30 s after a failure, comes after 3 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mail.sh"

setup_console
configure_mail
qh() { qh-console "$@" --state "$STATE"; }
qh customer add acme --name "ACME GmbH" --lang en --email it@acme.example \
    >"$T/admin.log" 2>&1 || fail "customer add"

serve() {	# starts the console (the Nth time: $1) and waits for it
	faketime -f '+0 x10' qh-console serve --state "$STATE" --log-level debug \
	    >>"$T/console.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_until "[ \$(grep -c 'listening on' '$T/console.log') -ge $1 ]" 30 ||
	    fail "console did not start ($1)"
	# faketime runs the console as its child: the console's pid is in its lock.
	CONSOLE_PID=$(cat "$STATE/serve.lock")
	PIDS="$PIDS $CONSOLE_PID"
}
unserve() {
	kill "$CONSOLE_PID"
	wait_until "! kill -0 $CONSOLE_PID" 30 || fail "the console did not stop"
}
# Waits until the receipt of reference $1 failed at least $2 times.
wait_failed() {
	wait_until "qh-console outbox --failed --json --state '$STATE' | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r[\"status\"] == \"queued\"]
sys.exit(0 if len(rows) >= $1 and all(r[\"attempts\"] >= $2 for r in rows) else 1)'" 30 ||
	    fail "no failed attempt: $(qh outbox 2>&1)"
}

# 1. The server is down; the console restarts before it is back.
serve 1
qh credit acme --units 8 --ref INV-A >"$T/credit.log" 2>&1 || fail "credit A"
wait_failed 1 1
qh outbox --failed >"$T/failed.txt" 2>&1 || fail "outbox --failed"
grep -Eqi "connect|refused" "$T/failed.txt" ||
    fail "outbox --failed does not say why: $(cat "$T/failed.txt")"
expect_in "$T/failed.txt" "purchase *queued"
unserve
start_sink
serve 2
wait_mails 1

# 2. The server goes down while the console runs, and comes back: a retry.
stop_sink
qh credit acme --units 4 --ref INV-B >>"$T/credit.log" 2>&1 || fail "credit B"
wait_failed 1 1
start_sink
wait_mails 2 30

# 3. Down again; the console restarts while it is down, then it returns.
stop_sink
qh credit acme --units 2 --ref INV-C >>"$T/credit.log" 2>&1 || fail "credit C"
wait_failed 1 1
unserve
serve 3
wait_failed 1 2 # the start tried it once more
start_sink
wait_mails 3 30

# 4. A restart after delivery sends nothing again.
unserve
serve 4
sleep 3
[ "$(mails)" -eq 3 ] || fail "$(mails) messages after the restart, not 3"

read_mails
qh outbox --json >"$T/outbox.json" 2>"$T/outbox.err" || fail "outbox"
"$SYS_PY" - "$T" <<'EOF' || fail "exactly once: $(cat "$T/outbox.json")"
import json, sys
T = sys.argv[1]
mails = json.load(open(T + "/mails.json"))
events = sorted(m["event"] for m in mails)
assert events == ["entry:1:customer", "entry:2:customer", "entry:3:customer"], events
assert len({m["message-id"] for m in mails}) == 3, mails
assert all(m["rcpt"] == ["it@acme.example"] for m in mails), mails
rows = json.load(open(T + "/outbox.json"))
assert len(rows) == 3 and all(r["status"] == "sent" for r in rows), rows
assert all(r["attempts"] >= 2 for r in rows), rows
assert all(r["answer"].startswith("250") for r in rows), rows
# The Message-ID sent is the one recorded.
assert sorted(r["message_id"] for r in rows) == sorted(m["message-id"] for m in mails)
EOF
qh outbox --failed >"$T/failed2.txt" 2>&1 || fail "outbox --failed"
[ "$(wc -l <"$T/failed2.txt")" -eq 1 ] || fail "still failing: $(cat "$T/failed2.txt")"
echo "ok: mail outage"
exit 0
