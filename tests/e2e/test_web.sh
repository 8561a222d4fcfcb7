#!/bin/sh
# qh-console web in a real browser (headless Chromium over the DevTools
# protocol, tests/tools/cdp.py): the one-time token becomes an HttpOnly,
# SameSite=Strict cookie; without it, with a foreign Host or a foreign
# Origin the server answers 403 and the agent sees nothing; the queue page
# shows the waiting agent, pushed; "Start session" opens a terminal in which
# `echo $((6*7))` prints 42 on the agent; "End with note" closes the session
# and the note is in the ledger. A non-loopback --listen is refused; [::1]
# serves as 127.0.0.1 does.
. "$(dirname "$0")/lib.sh"

requires chromium:chromium python3:python3

setup_session
qh-console credit acme --hours 2 --ref T1 --state "$STATE" >>"$T/admin.log" 2>&1 ||
	fail "credit"

# Loopback only: anything else is refused, with a reason.
qh-console web --no-browser --listen 0.0.0.0:0 >"$T/wide.out" 2>&1 &&
	fail "web served on 0.0.0.0"
grep -q 'loopback' "$T/wide.out" || fail "no reason for refusing 0.0.0.0: $(cat "$T/wide.out")"

start_web

# A second PC, started by the browser checks while the queue page is open.
TOKEN2=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll 2"
qh-agent join "$TOKEN2" --config "$T/agent2" >>"$T/join.log" 2>&1 || fail "join 2"
SECOND="exec qh-agent run --config '$T/agent2' --yes </dev/null >'$T/agent2.out' 2>'$T/agent2.log'"

NOTE="fixed the printer (web)"
timeout 150 python3 "$(dirname "$0")/web_check.py" "$URL" "$CODE" "$T" "$NOTE" "$SECOND" \
    >"$T/check.log" 2>&1 || fail "browser checks: $(cat "$T/check.log")"
cat "$T/check.log"

# The refused requests reached neither the console nor the agent: the one
# session is the one the page started, and it is closed with the note.
qh-console ledger --format csv --state "$STATE" >"$T/ledger.csv" 2>>"$T/admin.log" ||
	fail "ledger"
grep -q "$NOTE" "$T/ledger.csv" || fail "the note is not in the ledger: $(cat "$T/ledger.csv")"
[ "$(grep -c ',session,' "$T/ledger.csv")" -eq 1 ] ||
	fail "not exactly one session in the ledger: $(cat "$T/ledger.csv")"
grep -q 'refused a WebSocket from .*foreign Origin' "$T/web.log" ||
	fail "the foreign Origin left no log line"

# The pages' screenshots, for the README (make screenshots copies them).
SHOTS="${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/build/screenshots"
mkdir -p "$SHOTS" && cp "$T/web-queue.png" "$T/web-session.png" "$SHOTS/"

# SIGTERM stops it cleanly, exit 0.
kill -TERM "$WEB"
wait "$WEB"
st=$?
[ "$st" -eq 0 ] || fail "web exited $st after SIGTERM"
# IPv6 loopback: [::1] is served as 127.0.0.1 is, its Host checked the same.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	qh-console web --no-browser --listen '[::1]:0' >"$T/web6.out" 2>"$T/web6.log" &
	WEB6=$!
	PIDS="$PIDS $WEB6"
	wait_until "grep -q '^http://\[::1\]:[0-9]*/?token=' '$T/web6.out'" 30 ||
		fail "web on ::1 printed no URL: $(cat "$T/web6.out" "$T/web6.log")"
	python3 - "$(grep '^http://' "$T/web6.out")" <<'EOP' || fail "web on ::1"
import http.cookiejar, sys, urllib.request, urllib.error
url = sys.argv[1]
jar = http.cookiejar.CookieJar()
web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
r = web.open(url, timeout=10)  # the token for the cookie, then the page
assert r.status == 200 and any(c.name == "qh_web" for c in jar), list(jar)
port = url.split("/")[2].rsplit(":", 1)[1]
req = urllib.request.Request(url.split("?")[0], headers={"Host": "evil.example:" + port})
try:
    web.open(req, timeout=10)
    sys.exit("a foreign Host was served on ::1")
except urllib.error.HTTPError as e:
    assert e.code == 403, e.code
EOP
	kill -TERM "$WEB6"
	wait "$WEB6" || fail "web on ::1 exited $? after SIGTERM"
else
	echo "note: this machine has no IPv6 loopback; the [::1] step did not run"
fi
echo "ok: web"
