#!/bin/sh
# make deb: builds the Debian packages quarterhour-console and
# quarterhour-agent with debhelper (dpkg-buildpackage -b) from a copy of
# the tree in a temporary directory, so the package build (whose clean step
# is `make clean`) never touches the tree's build/ and bin/; then runs
# lintian. The packages, the .changes file and both logs land in
# build/deb/. Prints lintian's findings; fails on a build error or a
# lintian error.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/build/deb"
VERSION=$(dpkg-parsechangelog -S Version)
W=$(mktemp -d "${TMPDIR:-/tmp}/qh-deb.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
SRC="$W/quarterhour-$VERSION"

rm -rf "$OUT"
mkdir -p "$OUT" "$SRC"
# The tree as git sees it (committed or not, ignored files left out), or
# everything but the build output outside a git checkout.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files --cached --others --exclude-standard | while IFS= read -r f; do
		if [ -e "$f" ]; then echo "$f"; fi
	done | tar --verbatim-files-from -T - -cf - | tar -xf - -C "$SRC"
else
	tar --exclude=./build --exclude=./bin --exclude=./dist -cf - . | tar -xf - -C "$SRC"
fi

echo "building quarterhour $VERSION in $SRC"
if ! (cd "$SRC" && dpkg-buildpackage -b -us -uc) >"$OUT/build.log" 2>&1; then
	tail -n 40 "$OUT/build.log"
	echo "make deb: dpkg-buildpackage failed; the log is $OUT/build.log" >&2
	exit 1
fi
cp "$W"/*.deb "$W"/*.changes "$W"/*.buildinfo "$OUT/"
status=0
lintian --display-info --fail-on error "$OUT"/quarterhour_"$VERSION"_*.changes \
    >"$OUT/lintian.log" 2>&1 || status=$?
grep -v '^running with root privileges' "$OUT/lintian.log" || true
echo "lintian: $(grep -c '^E: ' "$OUT/lintian.log") errors, $(grep -c '^W: ' \
    "$OUT/lintian.log") warnings"
ls -1 "$OUT"/*.deb
[ "$status" -eq 0 ] || { echo "make deb: lintian reports errors" >&2; exit 1; }
