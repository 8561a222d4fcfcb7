#!/bin/sh
# The desktop core (issue 12) on a real X server, through qh-rfbserve (the
# agent's RFB engine and X11 backend over TCP on 127.0.0.1): under Xvfb with
# an xterm showing a known pattern, the test client's frame equals
# `xwd -root` pixel for pixel (Raw and ZRLE, the pointer not painted since
# the client announces Cursor); with --control, typing `echo ok > FILE` and
# Return into the xterm creates FILE, without it the same events change
# nothing; vncsnapshot, a real viewer, gets an image of the screen's size;
# the FBS recording replays to a PNG equal to what the client saw; the
# server exits when its viewer leaves; no display and Wayland are refused.
. "$(dirname "$0")/lib.sh"
requires Xvfb:xvfb xterm:xterm vncsnapshot:vncsnapshot compare:imagemagick identify:imagemagick xwd:x11-apps
CLIENT="python3 $(cd "$(dirname "$0")/../tools" && pwd)/rfbclient.py"
unset XDG_SESSION_TYPE

# Xvfb on a free display number, an xterm with a pattern, both stopped on exit.
xvfb_xterm
sleep 1 # the xterm draws its first lines

# Starts qh-rfbserve with the given flags; sets SRV (pid) and ADDR (host:port).
start_server() {	# name flags...
	_name=$1
	shift
	qh-rfbserve --port 0 "$@" >"$T/$_name.out" 2>"$T/$_name.log" &
	SRV=$!
	PIDS="$PIDS $SRV"
	wait_until "grep -q 'listening on' '$T/$_name.out'" 20 ||
	    fail "qh-rfbserve ($_name) did not start"
	ADDR=$(sed -n 's/^listening on //p' "$T/$_name.out")
	case $ADDR in 127.0.0.1:*) ;; *) fail "expected to listen on 127.0.0.1, got '$ADDR'" ;; esac
}

# Waits for qh-rfbserve to exit by itself and checks that it exited with 0.
expect_server_exit() {	# name
	wait_until "! kill -0 $SRV 2>/dev/null" 20 ||
	    fail "expected qh-rfbserve ($1) to exit when its viewer left"
	wait "$SRV" || fail "expected qh-rfbserve ($1) to exit with status 0"
}

# The display's own picture as PPM.
# 1. The frame equals the display, Raw and ZRLE (with CopyRect offered).
for enc in raw,cursor zrle,copyrect,cursor,desktopsize; do
	start_server "snap-$enc" --record "$T/rec-$enc.fbs"
	$CLIENT snap "$ADDR" "$T/frame.ppm" --encodings "$enc" >"$T/client.log" 2>&1 ||
	    fail "the test client could not take a frame with $enc"
	expect_server_exit "snap-$enc"
	root_ppm "$T/root.ppm"
	$CLIENT compare "$T/frame.ppm" "$T/root.ppm" ||
	    fail "expected the $enc frame to equal xwd -root pixel for pixel"
	# 2. The recording replays to the same picture.
	qh-console replay "$T/rec-$enc.fbs" --png-at 60 "$T/rec.png" >"$T/replay.out" 2>&1 ||
	    fail "replay of the $enc recording failed: $(cat "$T/replay.out")"
	grep -q '^1024x768 ' "$T/replay.out" ||
	    fail "expected a 1024x768 replay, got: $(cat "$T/replay.out")"
	[ "$(identify -format '%wx%h' "$T/rec.png")" = 1024x768 ] ||
	    fail "expected the replayed PNG to be 1024x768"
	convert "$T/rec.png" "$T/rec.ppm" || fail "convert could not read the replayed PNG"
	$CLIENT compare "$T/rec.ppm" "$T/frame.ppm" ||
	    fail "expected the replayed $enc frame to equal what the client saw"
done

# 3. Without --control, input is dropped: no file, the same picture.
root_ppm "$T/before.ppm"
start_server view
$CLIENT type "$ADDR" "echo no > untyped" --enter --shift --pointer 300,200 \
    >"$T/client.log" 2>&1 || fail "the test client could not send keys"
expect_server_exit view
sleep 1
[ ! -e "$T/untyped" ] || fail "expected no file 'untyped' without --control"
root_ppm "$T/after.ppm"
$CLIENT compare "$T/before.ppm" "$T/after.ppm" ||
    fail "expected the screen unchanged by input without --control"

# 4. With --control, the same keys type into the xterm; the incremental
#    updates that follow (only what changed, ZRLE) give the screen as it is.
start_server control --control
$CLIENT type "$ADDR" "echo ok > typed" --enter --shift --pointer 300,200 \
    --encodings zrle,copyrect,cursor --out "$T/typed.ppm" >"$T/client.log" 2>&1 ||
    fail "the test client could not send keys"
expect_server_exit control
wait_until "[ -s '$T/typed' ]" 10 || fail "expected 'typed' to appear with --control"
[ "$(cat "$T/typed")" = ok ] || fail "expected 'ok' in typed, got '$(cat "$T/typed")'"
root_ppm "$T/root.ppm"
$CLIENT compare "$T/typed.ppm" "$T/root.ppm" ||
    fail "expected the frame after the incremental updates to equal xwd -root"

# 5. A real viewer: vncsnapshot writes an image of the screen's size.
start_server vncsnapshot
timeout 60 vncsnapshot -quiet "127.0.0.1::${ADDR#127.0.0.1:}" "$T/snap.jpg" \
    >"$T/vncsnapshot.log" 2>&1 || fail "vncsnapshot failed"
expect_server_exit vncsnapshot
[ "$(identify -format '%wx%h' "$T/snap.jpg")" = 1024x768 ] ||
    fail "expected vncsnapshot's image to be 1024x768"

# 6. Sessions that cannot be shared are refused with a reason.
XDG_SESSION_TYPE=wayland qh-rfbserve --port 0 >"$T/wayland.out" 2>"$T/wayland.log" &
SRV=$!
PIDS="$PIDS $SRV"
wait_until "grep -q 'listening on' '$T/wayland.out'" 20 || fail "qh-rfbserve did not start"
ADDR=$(sed -n 's/^listening on //p' "$T/wayland.out")
$CLIENT snap "$ADDR" "$T/no.ppm" >"$T/client.log" 2>&1 &&
    fail "expected no frame from a Wayland session"
wait_until "! kill -0 $SRV 2>/dev/null" 20 || fail "expected qh-rfbserve to give up"
expect_in "$T/wayland.log" "Wayland sessions cannot be shared; log in with an X11 session"
env -u DISPLAY qh-rfbserve --port 0 >"$T/nodisplay.out" 2>"$T/nodisplay.log" &
SRV=$!
PIDS="$PIDS $SRV"
wait_until "grep -q 'listening on' '$T/nodisplay.out'" 20 || fail "qh-rfbserve did not start"
ADDR=$(sed -n 's/^listening on //p' "$T/nodisplay.out")
$CLIENT snap "$ADDR" "$T/no.ppm" >"$T/client.log" 2>&1 &&
    fail "expected no frame without \$DISPLAY"
wait_until "! kill -0 $SRV 2>/dev/null" 20 || fail "expected qh-rfbserve to give up"
expect_in "$T/nodisplay.log" "DISPLAY is not set"
echo "ok: frames equal xwd (raw, zrle), replay, control, view-only, vncsnapshot, refusals"
