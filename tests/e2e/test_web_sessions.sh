#!/bin/sh
# The web console's sessions page with an accountant's bundle, in a real
# browser (headless Chromium, tests/tools/cdp.py; web_sessions.py): a
# session with an attach (recorded as a cast), an exec and a note is
# listed with its note; its audit log shows the attach and the exec; the
# cast plays in the page (asciinema-player's terminal shows what was typed
# and its output); the cast the browser fetched is the console's file byte
# for byte (SHA-256); a desktop recording downloads as it is on the
# console; without the cookie 403; a technician's web console gets the
# console's refusals (502). Over TLS, a technician's bundle may not fetch a
# recording, and `qh-console recording get` writes one verified.
. "$(dirname "$0")/lib.sh"

requires chromium:chromium python3:python3

setup_session
qh-console credit acme --hours 2 --ref T1 --state "$STATE" >>"$T/admin.log" 2>&1 ||
	fail "credit"
qh-console tech add bob --name "Bob Books" --role accounting --out "$T/bob.pem" \
    --state "$STATE" >>"$T/admin.log" 2>&1 || fail "tech add bob (accounting)"

# A shell on the agent through a pty (python's), typed into like a person.
python3 - "$CODE" >"$T/attach.log" 2>&1 <<'PY' || fail "attach: $(cat "$T/attach.log")"
import os, pty, re, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("qh-console", ["qh-console", "attach", sys.argv[1]])
seen = b""
def until(want, limit=90):
    global seen
    end = time.time() + limit
    while time.time() < end:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
        if re.search(want, seen):
            return
    sys.exit("did not see %r in %r" % (want, seen[-500:]))
# Type once the shell shows its prompt; a loaded machine may take a while.
until(rb"attached to")
until(rb"[$#] *$")
os.write(fd, b"echo WEB-REC-$((6*7))\r")
until(rb"WEB-REC-42")
os.write(fd, b"exit\r")
_, st = os.waitpid(pid, 0)
print("attach ended:", st)
PY
qh-console exec "$CODE" -- echo audit-row >"$T/exec.out" 2>&1 || fail "exec: $(cat "$T/exec.out")"
NOTE="checked the backups (web sessions)"
qh-console end "$CODE" --note "$NOTE" >"$T/end.out" 2>&1 || fail "end: $(cat "$T/end.out")"
CAST=$(ls "$STATE"/recordings/*/*-attach.cast 2>/dev/null | head -n 1)
[ -n "$CAST" ] || fail "no attach recording under $STATE/recordings"
SID=$(basename "$(dirname "$CAST")")
# A desktop recording's files, as deskrec.c names them (their content is
# not decoded here: the page offers them for download).
head -c 600000 /dev/urandom >"$STATE/recordings/$SID/99-desktop.fbs"
head -c 1000 /dev/urandom >"$STATE/recordings/$SID/99-desktop.client.fbs"

# Over TLS: a technician may not fetch it; the accountant's copy is verified.
QH_TECH="$T/alice.pem" qh-console recording get "$SID" "$(basename "$CAST")" "$T/tech.cast" \
    >"$T/tech-get.out" 2>&1 && fail "a technician fetched a recording"
grep -q 'not allowed\|accounting' "$T/tech-get.out" ||
	fail "no reason for refusing the technician: $(cat "$T/tech-get.out")"
QH_TECH="$T/bob.pem" qh-console recording get "$SID" "$(basename "$CAST")" "$T/got.cast" \
    >"$T/get.out" 2>&1 || fail "recording get: $(cat "$T/get.out")"
cmp -s "$CAST" "$T/got.cast" || fail "recording get wrote another file"
QH_TECH="$T/bob.pem" qh-console recording get "$SID" "999-attach.cast" "$T/none.cast" \
    >"$T/none.out" 2>&1 && fail "a missing recording was fetched"
grep -q 'no recording' "$T/none.out" || fail "missing recording: $(cat "$T/none.out")"
echo "recording get: the accountant's copy is the console's; a technician is refused"

QH_TECH="$T/bob.pem" qh-console web --no-browser --listen 127.0.0.1:0 >"$T/web.out" 2>"$T/web.log" &
WEB=$!
PIDS="$PIDS $WEB"
wait_until "grep -q '^http://127.0.0.1:[0-9]*/?token=' '$T/web.out'" 30 ||
	fail "web printed no URL: $(cat "$T/web.out")"
URL=$(grep '^http://' "$T/web.out")

timeout 100 python3 "$(dirname "$0")/web_sessions.py" "$URL" "$T" "$SID" "$NOTE" \
    "$CAST" "$STATE/recordings/$SID/99-desktop.fbs" >"$T/check.log" 2>&1 ||
	fail "browser checks: $(cat "$T/check.log")"
cat "$T/check.log"
grep -q 'sent recording .*-attach.cast' "$T/console.log" ||
	fail "the console logged no recording sent"

# A technician's web console gets the console's refusals, not the data.
QH_TECH="$T/alice.pem" qh-console web --no-browser --listen 127.0.0.1:0 >"$T/web2.out" \
    2>"$T/web2.log" &
WEB2=$!
PIDS="$PIDS $WEB2"
wait_until "grep -q '^http://127.0.0.1:[0-9]*/?token=' '$T/web2.out'" 30 ||
	fail "the technician's web printed no URL: $(cat "$T/web2.out")"
python3 - "$(grep '^http://' "$T/web2.out")" "$SID" "$(basename "$CAST")" \
    >"$T/tech-web.log" 2>&1 <<'PY' || fail "technician's web: $(cat "$T/tech-web.log")"
import http.client, sys
url, sid, name = sys.argv[1:4]
hostport = url.split("/")[2]
def get(path, cookie=None):
    c = http.client.HTTPConnection(hostport, timeout=30)
    c.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    r = c.getresponse()
    return r.status, r.getheader("Set-Cookie"), r.read().decode(errors="replace")
_, cookie, _ = get(url[len("http://" + hostport):])
cookie = cookie.split(";")[0]
for path, want in (("/api/sessions", "accounting"),
                   ("/api/recording?session=%s&name=%s" % (sid, name), "not allowed")):
    st, _, body = get(path, cookie)
    if st != 502 or want not in body:
        sys.exit("%s for a technician: %d %r" % (path, st, body))
    print("%s for a technician: 502, %s" % (path, body.strip()))
PY
cat "$T/tech-web.log"
kill -TERM "$WEB2"

# The page's screenshot, beside test_web.sh's (make screenshots copies them).
SHOTS="${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/build/screenshots"
mkdir -p "$SHOTS" && cp "$T/web-sessions.png" "$SHOTS/"

kill -TERM "$WEB"
wait "$WEB"
st=$?
[ "$st" -eq 0 ] || fail "web exited $st after SIGTERM"
echo "ok: web sessions"
