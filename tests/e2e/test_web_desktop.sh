#!/bin/sh
# The customer's screen in the browser (issue 15's desktop): qh-console web,
# headless Chromium (tests/tools/cdp.py) and noVNC against
# /ws/desktop/CODE; the agent on an Xvfb showing an xterm with a known
# pattern, on a terminal (tmux) so that the customer answers the questions.
# web_desktop_check.py drives the page: a foreign Origin gets 403 and the
# customer is asked nothing; View refused (n) shows the reason; View
# allowed (y) gives a canvas of the display's size whose pixels equal
# `xwd -root`, and follow when a picture of many colours appears (within
# JPEG's loss then); Control (y) types `echo ok > typed` + Return into the xterm
# through noVNC's keyboard and the file appears, and the clipboard goes
# both ways (the page's box to the display's CLIPBOARD, xclip's copy into
# the box); a view-only desktop whose
# page sends keys anyway changes nothing (the agent drops them).
. "$(dirname "$0")/lib.sh"
requires chromium:chromium Xvfb:xvfb xdpyinfo:x11-utils xwininfo:x11-utils xwd:x11-apps \
    xterm:xterm tmux:tmux convert:imagemagick display:imagemagick xclip:xclip
unset XDG_SESSION_TYPE
CHECK="$(cd "$(dirname "$0")" && pwd)/web_desktop_check.py"

xvfb_xterm
# A picture of many colours, shown by the check while a view is open.
convert -size 320x320 -seed 7 plasma:fractal "$T/plasma.png" || fail "convert plasma"

setup_acme
TOKEN=$(qh-console enroll acme --state "$STATE" 2>>"$T/admin.log") || fail "enroll"
qh-agent join "$TOKEN" --config "$T/agent" >"$T/join.log" 2>&1 || fail "join"

# The agent on a terminal: --yes lets technicians connect, the screen is asked.
TM="tmux -S $T/tmux.sock"
$TM new-session -d -x 160 -y 40 \
    "DISPLAY=$DISPLAY qh-agent run --config '$T/agent' --yes >'$T/agent.out' 2>'$T/agent.log'" ||
    fail "tmux"
at_exit '$TM kill-server 2>/dev/null'
wait_code

start_web

timeout 150 python3 "$CHECK" "$URL" "$CODE" "$T" "$T/tmux.sock" \
    >"$T/check.log" 2>&1 || fail "browser checks: $(cat "$T/check.log")"
cat "$T/check.log"

grep -q 'refused a WebSocket from .*foreign Origin' "$T/web.log" ||
	fail "the foreign Origin left no log line"
expect_in "$T/agent.out" "Allowed technician Alice Tech (alice) to see this screen."
expect_in "$T/agent.out" "alice no longer sees this screen"

# The page's screenshot, for the README (make screenshots copies it).
SHOTS="${QH_ROOT:-$(cd "$(dirname "$CHECK")/../.." && pwd)}/build/screenshots"
mkdir -p "$SHOTS" && cp "$T/web-desktop.png" "$SHOTS/"

kill -TERM "$WEB"
wait "$WEB"
st=$?
[ "$st" -eq 0 ] || fail "web exited $st after SIGTERM"
echo "ok: web desktop"
