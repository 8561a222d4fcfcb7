#!/bin/sh
# Makes sure every Debian package that building, testing, the demo and the
# benchmarks use is installed. As root it installs what is missing; as
# anyone else it prints the exact apt-get line and fails.
set -eu

PKGS="build-essential pkg-config libuv1-dev libssl-dev openssl libssh2-1-dev
libsqlite3-dev sqlite3 libcmocka-dev libinih-dev libarchive-dev clang libclang-rt-14-dev
faketime tmux asciinema jq openssh-server openssh-client iperf3 tzdata
python3 socat procps util-linux ca-certificates
zlib1g-dev libjpeg62-turbo-dev libxcb1-dev libxcb-shm0-dev libxcb-xfixes0-dev
libxcb-xtest0-dev libxcb-randr0-dev libxcb-damage0-dev xvfb xauth x11-apps x11-utils xterm x11vnc vncsnapshot xclip
imagemagick systemd man-db debhelper lintian
gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 libz-mingw-w64-dev cmake nasm perl dpkg-dev
xz-utils wine64 fonts-wine osslsigncode gettext testssl.sh
libcurl4-openssl-dev python3-aiosmtpd python3-icalendar
libcairo2-dev fonts-dejavu-core poppler-utils chromium
libwebsockets-dev libwebsockets-evlib-uv"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "quarterhour needs these Debian packages; run as root:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
