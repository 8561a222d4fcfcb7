#!/bin/sh
# Proves the cross-built Windows libraries work: links tests/tools/win_smoke.c
# statically against them (scripts/windows-libs.sh), checks that the exe
# needs no DLL beyond Windows' own, and runs it under Wine 8 against an
# OpenSSL TLS 1.3 server on 127.0.0.1, expecting a verified TLS 1.3
# handshake. The Wine prefix lives in ${QH_WINEPREFIX:-$cache/quarterhour/wine}
# (booted once); the exe is written to build/win/win_smoke.exe.
set -eu

cd "$(dirname "$0")/.."
HOST=x86_64-w64-mingw32
WINE=/usr/lib/wine/wine64
OUT=build/win
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/quarterhour
export WINEPREFIX="${QH_WINEPREFIX:-$CACHE/wine}"
export WINEDEBUG=-all
# Windows' own DLLs; anything else next to the exe would be a packaging bug.
SYSTEM_DLLS=" advapi32 bcrypt crypt32 dbghelp gdi32 iphlpapi kernel32 msvcrt ole32 shell32 user32 userenv ws2_32 "

say() {
	echo "windows-smoke: $*" >&2
}

[ -x "$WINE" ] || {
	say "needs Debian's wine64 (apt-get install -y wine64)"
	exit 1
}
PREFIX=$(sh scripts/windows-libs.sh)
mkdir -p "$OUT"

"$HOST-gcc" -O2 -Wall -Wextra -static -I"$PREFIX/include" \
	-o "$OUT/win_smoke.exe" tests/tools/win_smoke.c -L"$PREFIX/lib" \
	-luv -lssl -lcrypto -lws2_32 -liphlpapi -luserenv -ldbghelp -lole32 \
	-lshell32 -lcrypt32 -luser32 -ladvapi32
say "exe size: $(wc -c <"$OUT/win_smoke.exe") bytes"

dlls=$("$HOST-objdump" -p "$OUT/win_smoke.exe" |
	sed -n 's/^[[:space:]]*DLL Name: //p' | tr '[:upper:]' '[:lower:]' |
	tr '\n' ' ')
say "DLLs: $dlls"
for dll in $dlls; do
	case "$SYSTEM_DLLS" in
	*" ${dll%.dll} "*) ;;
	*)
		say "unexpected DLL dependency: $dll"
		exit 1
		;;
	esac
done

if [ ! -f "$WINEPREFIX/.qh-booted" ]; then
	say "wineboot --init in $WINEPREFIX (once)"
	mkdir -p "$WINEPREFIX"
	"$WINE" wineboot --init >/dev/null 2>&1
	/usr/lib/wine/wineserver -w
	: >"$WINEPREFIX/.qh-booted"
fi

tmp=$(mktemp -d)
srv=""
trap 'if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=localhost -addext subjectAltName=DNS:localhost -days 1 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# s_server ends at EOF on its stdin: give it a FIFO that we hold open.
mkfifo "$tmp/in"
openssl s_server -tls1_3 -accept "127.0.0.1:$port" -naccept 1 \
	-cert "$tmp/cert.pem" -key "$tmp/key.pem" <"$tmp/in" >"$tmp/server.log" 2>&1 &
srv=$!
exec 8>"$tmp/in"
i=0
while ! grep -q '^ACCEPT' "$tmp/server.log"; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || {
		say "s_server did not start"
		exit 1
	}
	sleep 0.1
done

# Wine maps the Linux file system to drive Z:.
if ! "$WINE" "$OUT/win_smoke.exe" "$port" "Z:$tmp/cert.pem" >"$tmp/out" 2>&1; then
	tr -d '\r' <"$tmp/out" >&2
	say "FAILED"
	exit 1
fi
tr -d '\r' <"$tmp/out" >&2
grep -q '^handshake: TLSv1.3 ' "$tmp/out" || {
	say "FAILED: no TLS 1.3 handshake"
	exit 1
}
say "ok"
