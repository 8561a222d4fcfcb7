#!/bin/sh
# A forward through the Windows agent under Wine (issue 11): the
# technician's local port reaches a Python HTTP server beside the
# customer's PC (here on 127.0.0.1), and a target the customer did not
# allow is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/winlib.sh"

win_session
mkdir -p "$T/www"
echo "hello through windows" >"$T/www/index.html"
HTTP=$(free_port)
(cd "$T/www" && exec python3 -m http.server "$HTTP" --bind 127.0.0.1) >"$T/http.log" 2>&1 &
PIDS="$PIDS $!"
wait_until "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $HTTP))'" 20 ||
    fail "the HTTP server did not start"
LOCAL=$(free_port)
qh-console forward "$CODE" "$LOCAL:127.0.0.1:$HTTP" >"$T/fwd.out" 2>"$T/fwd.err" &
PIDS="$PIDS $!"
wait_until "grep -q '127.0.0.1:$LOCAL' '$T/fwd.out' '$T/fwd.err'" 30 ||
    fail "the forward did not start: $(cat "$T/fwd.out" "$T/fwd.err")"
got=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$LOCAL/index.html', timeout=20).read().decode().strip())") ||
    fail "no answer through the forward"
[ "$got" = "hello through windows" ] || fail "the forward returned '$got'"
tr -d '\r' <"$T/agent.out" >"$T/agent.txt"
expect_in "$T/agent.txt" "alice forwards to 127.0.0.1:$HTTP"

# Not this PC's own address, not allowed with --allow-forward: refused.
timeout 30 qh-console forward "$CODE" "$(free_port):192.0.2.1:80" >"$T/f2.out" 2>"$T/f2.err"
[ $? -ne 0 ] || fail "a forward to a target the customer did not allow was accepted"
expect_in "$T/f2.err" "does not allow forwards to 192.0.2.1:80"
exit 0
