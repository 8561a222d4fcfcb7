#!/bin/sh
# make deb, as a packager sees it: debhelper builds quarterhour-console and
# quarterhour-agent outside the tree's build/, lintian reports no error,
# the runtime dependencies are the libraries each program links (the agent
# no SQLite, libssh2 or libarchive), and each package holds its program,
# man pages and systemd unit under /usr and /lib, the console's creating
# its user in postinst. (About a minute: a release build with Debian's
# flags, then lintian. Should the suite outgrow its time, this is a soak
# test.)
. "$(dirname "$0")/lib.sh"
requires dpkg-buildpackage:dpkg-dev dpkg-deb:dpkg lintian:lintian man:man-db
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
for t in dpkg-buildpackage dh lintian; do
	command -v $t >/dev/null || fail "no $t (scripts/deps.sh installs it)"
done

unset MAKEFLAGS MFLAGS MAKELEVEL
make -C "$ROOT" --no-print-directory deb >"$T/deb.log" 2>&1 ||
    fail "make deb: $(tail -n 30 "$T/deb.log")"
grep '^lintian:' "$T/deb.log"
grep -q '^lintian: 0 errors' "$T/deb.log" || fail "lintian: $(cat "$T/deb.log")"
OUT="$ROOT/build/deb"
VERSION=$(cd "$ROOT" && dpkg-parsechangelog -S Version)
C="$OUT/quarterhour-console_${VERSION}_amd64.deb"
A="$OUT/quarterhour-agent_${VERSION}_amd64.deb"
[ -f "$C" ] && [ -f "$A" ] || fail "no packages in $OUT: $(ls "$OUT")"

deps() { dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//'; }
deps "$C" >"$T/console.deps"
deps "$A" >"$T/agent.deps"
for d in libuv1 libssl3 libssh2-1 libsqlite3-0 libinih1 libarchive13 adduser; do
	grep -qx "$d" "$T/console.deps" || fail "quarterhour-console does not depend on $d"
done
for d in libuv1 libssl3; do
	grep -qx "$d" "$T/agent.deps" || fail "quarterhour-agent does not depend on $d"
done
for d in libsqlite3-0 libssh2-1 libarchive13; do
	grep -qx "$d" "$T/agent.deps" && fail "quarterhour-agent depends on $d needlessly"
done

dpkg-deb -c "$C" | awk '{ print $6 }' >"$T/console.files"
dpkg-deb -c "$A" | awk '{ print $6 }' >"$T/agent.files"
for f in ./usr/bin/qh-console ./usr/share/man/man1/qh-console.1.gz \
    ./usr/share/man/man5/qh-console.conf.5.gz ./lib/systemd/system/qh-console.service \
    ./usr/share/doc/quarterhour-console/copyright; do
	grep -qx "$f" "$T/console.files" || fail "quarterhour-console lacks $f"
done
for f in ./usr/bin/qh-agent ./usr/share/man/man1/qh-agent.1.gz \
    ./lib/systemd/system/qh-agent.service; do
	grep -qx "$f" "$T/agent.files" || fail "quarterhour-agent lacks $f"
done
mkdir -p "$T/x"
dpkg-deb -x "$C" "$T/x"
grep -qx 'ExecStart=/usr/bin/qh-console serve --state /var/lib/quarterhour' \
    "$T/x/lib/systemd/system/qh-console.service" || fail "the packaged unit's ExecStart"
"$T/x/usr/bin/qh-console" backup --help >/dev/null 2>&1 || fail "packaged qh-console"
dpkg-deb -e "$C" "$T/ctl"
grep -q 'adduser --system' "$T/ctl/postinst" || fail "postinst makes no user"
grep -q 'deb-systemd-helper' "$T/ctl/postinst" || fail "postinst does not enable the unit"
echo "packages built; lintian clean of errors"
