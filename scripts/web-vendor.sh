#!/bin/sh
# Refreshes console/web/vendor, then writes SHA256SUMS:
# - xterm.js, its fit addon and asciinema-player from the npm packages
#   package-lock.json pins (npm ci checks their integrity hashes);
# - noVNC's ES modules (core/ and the pako it imports) from Debian 12's
#   novnc package, whose .deb is checked against the SHA-256 below (npm's
#   @novnc/novnc ships CommonJS only, which a browser cannot import).
# Needs npm, apt-get and their registries; `make` itself never does.
set -eu
NOVNC_VERSION=1:1.3.0-1
NOVNC_SHA256=5ff8b8c93c1c6cc911e01bfa77d12d4098e1904f738a996040c8095e02492ebb

cd "$(dirname "$0")/../console/web/vendor"
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
cp package.json package-lock.json "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
m="$tmp/node_modules"
cp "$m/@xterm/xterm/lib/xterm.js" "$m/@xterm/xterm/css/xterm.css" "$m/@xterm/addon-fit/lib/addon-fit.js" .
cp "$m/@xterm/xterm/LICENSE" LICENSE.xterm
cp "$m/@xterm/addon-fit/LICENSE" LICENSE.addon-fit
cp "$m/asciinema-player/dist/bundle/asciinema-player.min.js" \
    "$m/asciinema-player/dist/bundle/asciinema-player.css" .
cp "$m/asciinema-player/LICENSE" LICENSE.asciinema-player

(cd "$tmp" && apt-get download "novnc=$NOVNC_VERSION" >/dev/null 2>&1)
deb=$(ls "$tmp"/novnc_*.deb)
echo "$NOVNC_SHA256  $deb" | sha256sum --quiet -c
dpkg-deb -x "$deb" "$tmp/x"
rm -rf novnc
mkdir -p novnc/vendor/pako
cp -r "$tmp/x/usr/share/novnc/core" novnc/
cp -r "$tmp/x/usr/share/novnc/vendor/pako/lib" novnc/vendor/pako/
cp "$tmp/x/usr/share/doc/novnc/copyright" LICENSE.novnc
cp /usr/share/common-licenses/MPL-2.0 LICENSE.MPL-2.0

{
	sha256sum xterm.js xterm.css addon-fit.js asciinema-player.min.js asciinema-player.css
	find novnc -name '*.js' | LC_ALL=C sort | xargs sha256sum
	sha256sum LICENSE.*
} >SHA256SUMS
echo "vendored: xterm.js $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$m/@xterm/xterm/package.json"), asciinema-player $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$m/asciinema-player/package.json"), noVNC $NOVNC_VERSION"
