#!/bin/sh
# Refreshes console/web/vendor from the npm packages its package-lock.json
# pins (npm ci checks their integrity hashes), then writes SHA256SUMS.
# Needs npm and the npm registry; `make` itself never does.
set -eu
cd "$(dirname "$0")/../console/web/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp package.json package-lock.json "$tmp/"
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
m="$tmp/node_modules/@xterm"
cp "$m/xterm/lib/xterm.js" "$m/xterm/css/xterm.css" "$m/addon-fit/lib/addon-fit.js" .
cp "$m/xterm/LICENSE" LICENSE.xterm
cp "$m/addon-fit/LICENSE" LICENSE.addon-fit
sha256sum xterm.js xterm.css addon-fit.js LICENSE.xterm LICENSE.addon-fit >SHA256SUMS
echo "vendored: $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$m/xterm/package.json") xterm.js"
