#!/bin/sh
# Reruns the Wine 8 checks written up in docs/windows-notes.md: builds
# tests/tools/win_*.c for Windows (scripts/windows-libs.sh for libuv), boots
# a throwaway Wine prefix and prints each check's raw result, a to g
# (ConPTY, uv_spawn, console process list, registry, job objects, a window
# under Xvfb, GDI capture). Takes about two minutes; leaves
# build/win/window.png and build/win/capture.png behind.
set -eu

cd "$(dirname "$0")/../.."
HOST=x86_64-w64-mingw32
W=/usr/lib/wine/wine64
OUT=build/win
DPY=${QH_XVFB_DISPLAY:-:97}
tmp=$(mktemp -d)
export WINEPREFIX="$tmp/wine" WINEDEBUG=-all
xvfb=""
cleanup() {
	/usr/lib/wine/wineserver -k 2>/dev/null || true
	if [ -n "$xvfb" ]; then kill "$xvfb" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

PREFIX=$(sh scripts/windows-libs.sh)
mkdir -p "$OUT"
cc() {
	n=$1
	shift
	"$HOST-gcc" -O2 -Wall -static -I"$PREFIX/include" -o "$OUT/$n.exe" \
		"tests/tools/$n.c" -L"$PREFIX/lib" "$@"
}
cc win_conpty
cc win_console
cc win_reg
cc win_job
cc win_spawn -luv -lws2_32 -liphlpapi -luserenv -ldbghelp -lole32 \
	-lshell32 -luser32 -ladvapi32
cc win_window -lgdi32 -luser32
cc win_capture -lgdi32 -luser32
"$W" wineboot --init >/dev/null 2>&1
/usr/lib/wine/wineserver -w
# Wine prints CRLF; a Windows path for files Wine's programs write.
crlf() { tr -d '\r'; }
# shellcheck disable=SC1003
wpath() { echo "Z:$1" | tr / '\\'; }

echo "== a. ConPTY (cmd.exe in a pseudo console)"
for mode in "" "--nowindow" "--detach" "--free-alloc --swap" \
	"--detach --alloc --swap"; do
	rm -f "$tmp/r"
	# shellcheck disable=SC2086
	"$W" "$OUT/win_conpty.exe" $mode --out "$(wpath "$tmp/r")" \
		</dev/null >"$tmp/so" 2>&1 || true
	printf '%s: ' "${mode:-no console, stdio redirected}"
	grep '^input reached' "$tmp/r" | crlf
	grep -q 'Microsoft Windows' "$tmp/so" &&
		echo "   (the child wrote to our own stdout instead)"
done
rm -f "$tmp/r"
script -qc "$W $OUT/win_conpty.exe --out '$(wpath "$tmp/r")'" /dev/null \
	</dev/null >/dev/null 2>&1 || true
printf 'in a terminal (script): '
grep '^input reached' "$tmp/r" | crlf

echo "== b. uv_spawn"
"$W" "$OUT/win_spawn.exe" -- cmd /c echo hello -- cmd /c exit 3 \
	</dev/null 2>&1 | crlf

echo "== c. GetConsoleProcessList"
printf 'stdio redirected:        '
"$W" "$OUT/win_console.exe" </dev/null 2>&1 | crlf
printf 'in a terminal:           '
script -qc "$W $OUT/win_console.exe --out '$(wpath "$tmp/c")'" /dev/null \
	</dev/null >/dev/null 2>&1
crlf <"$tmp/c"
printf 'terminal, via cmd /c:    '
script -qc "$W cmd /c $OUT/win_console.exe --out '$(wpath "$tmp/c")'" \
	/dev/null </dev/null >/dev/null 2>&1
crlf <"$tmp/c"
printf 'start /b, redirected:    '
"$W" start /b /wait "$OUT/win_console.exe" --out "$(wpath "$tmp/c")" </dev/null
crlf <"$tmp/c"
printf 'wineconsole:             '
"$W" wineconsole "$OUT/win_console.exe" --out "$(wpath "$tmp/c")" \
	</dev/null >/dev/null 2>&1
crlf <"$tmp/c"

echo "== d. Registry (fresh prefix, then reg add, then winecfg /v win10)"
"$W" "$OUT/win_reg.exe" </dev/null 2>&1 | crlf
ndp='HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP'
un='HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'
{
	"$W" reg add "$ndp\\v4\\Full" /v Release /t REG_DWORD /d 528040 /f
	"$W" reg add "$ndp\\v4\\Full" /v Version /d 4.8.04084 /f
	"$W" reg add "$ndp\\v3.5" /v Version /d 3.5.30729.4926 /f
	"$W" reg add "$un\\ActCRM" /v DisplayName /d 'Act! Premium' /f /reg:64
	"$W" reg add "$un\\Sugar32" /v DisplayName /d 'SugarCRM (32-bit)' /f /reg:32
	"$W" reg add 'HKCU\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\UserApp' \
		/v DisplayName /d 'Per-user app' /f
} >/dev/null 2>&1
echo "-- after reg add:"
"$W" "$OUT/win_reg.exe" </dev/null 2>&1 | crlf | sed -n '/^HKLM\\SOFTWARE\\Microsoft\\NET/,$p'
"$W" winecfg /v win10 >/dev/null 2>&1
echo "-- after winecfg /v win10:"
"$W" "$OUT/win_reg.exe" </dev/null 2>&1 | crlf | sed -n '2,11p'

echo "== e. Job object with KILL_ON_JOB_CLOSE"
# Unix pids of our own test processes, found by their command lines.
upid() {
	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		case "$c" in
		*win_job.exe\ --child*) [ "$1" = child ] && echo "${p#/proc/}" ;;
		*win_job.exe\ --grandchild*) [ "$1" = grandchild ] && echo "${p#/proc/}" ;;
		*win_job.exe*) [ "$1" = parent ] && echo "${p#/proc/}" ;;
		esac
	done
	return 0
}
for mode in exit terminate taskkill kill9 nojob-kill9; do
	case $mode in
	exit) arg=--exit ;;
	terminate) arg=--terminate ;;
	nojob-kill9) arg=--nojob ;;
	*) arg="" ;;
	esac
	"$W" "$OUT/win_job.exe" $arg >"$tmp/job" 2>&1 &
	sleep 3
	before="parent $(upid parent) child $(upid child) grandchild $(upid grandchild)"
	case $mode in
	taskkill)
		"$W" taskkill /F /PID "$(sed -n 's/^parent pid \([0-9]*\).*/\1/p' "$tmp/job")" \
			>/dev/null 2>&1
		;;
	*kill9) kill -9 "$(upid parent)" ;;
	esac
	sleep 6
	echo "$mode: before: $before; after: child $(upid child) grandchild $(upid grandchild)"
	for p in $(upid child) $(upid grandchild) $(upid parent); do
		kill -9 "$p"
	done
	wait 2>/dev/null || true
done

echo "== f. A window under Xvfb, and its texts read by a second process"
Xvfb "$DPY" -screen 0 1024x768x24 -noreset >/dev/null 2>&1 &
xvfb=$!
sleep 1
export DISPLAY="$DPY"
"$W" "$OUT/win_window.exe" --seconds 20 >/dev/null 2>&1 &
sleep 6
"$W" "$OUT/win_window.exe" --find </dev/null 2>&1 | crlf
xwd -root -display "$DPY" | /usr/bin/convert xwd:- png:"$OUT/window.png"
echo "screenshot: $OUT/window.png"

echo "== g. GDI capture compared with the X root window"
xlogo -display "$DPY" -geometry 200x200+700+400 -bg red -fg yellow &
logo=$!
sleep 1
"$W" "$OUT/win_capture.exe" "$(wpath "$tmp/cap.ppm")" </dev/null 2>&1 | crlf
xwd -root -display "$DPY" | /usr/bin/convert xwd:- ppm:"$tmp/x.ppm"
/usr/bin/convert "$tmp/cap.ppm" "$OUT/capture.png"
printf 'pixels differing from xwd -root: '
/usr/bin/compare -metric AE "$tmp/cap.ppm" "$tmp/x.ppm" null: 2>&1 || true
echo
kill "$logo"
