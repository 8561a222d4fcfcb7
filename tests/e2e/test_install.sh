#!/bin/sh
# make install, as a packager and an admin see it: with DESTDIR and PREFIX
# it lays out both programs, the man pages qh-console(1), qh-agent(1) and
# qh-console.conf(5) and the systemd units, whose ExecStart names the
# installed programs; `systemd-analyze verify` passes on the units of a
# real install (their programs and man pages exist), the console's unit
# scores at most 1.5 in `systemd-analyze security` (OK), the man pages
# render without a warning, qh-console(1) describes every command the
# program lists and qh-console.conf(5) every key console.conf may hold.
. "$(dirname "$0")/lib.sh"
requires groff:groff-base lintian:lintian man:man-db systemd-analyze:systemd
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v systemd-analyze >/dev/null || fail "no systemd-analyze (Debian package systemd)"
command -v man >/dev/null || fail "no man (Debian package man-db)"

# The test runs inside `make test`: the inner make gets no jobserver of it.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -C "$ROOT" -j2 --no-print-directory install DESTDIR="$T/dest" PREFIX=/usr \
    >"$T/make.log" 2>&1 || fail "make install DESTDIR: $(tail -n 20 "$T/make.log")"

D="$T/dest"
for f in usr/bin/qh-console usr/bin/qh-agent; do
	[ -x "$D/$f" ] || fail "$f not installed"
	[ "$(stat -c %a "$D/$f")" = 755 ] || fail "$f mode $(stat -c %a "$D/$f")"
done
for f in usr/share/man/man1/qh-console.1 usr/share/man/man1/qh-agent.1 \
    usr/share/man/man5/qh-console.conf.5 usr/lib/systemd/system/qh-console.service \
    usr/lib/systemd/system/qh-agent.service; do
	[ -f "$D/$f" ] || fail "$f not installed"
	[ "$(stat -c %a "$D/$f")" = 644 ] || fail "$f mode $(stat -c %a "$D/$f")"
done
extra=$(cd "$D" && find . -type f | sort | grep -v -e '^./usr/bin/qh-' \
    -e '^./usr/share/man/man[15]/qh-' -e '^./usr/lib/systemd/system/qh-')
[ -z "$extra" ] || fail "make install wrote more: $extra"
grep -qx 'ExecStart=/usr/bin/qh-console serve --state /var/lib/quarterhour' \
    "$D/usr/lib/systemd/system/qh-console.service" || fail "console unit's ExecStart"
grep -q '^ExecStart=/usr/bin/qh-agent run --unattended --config ' \
    "$D/usr/lib/systemd/system/qh-agent.service" || fail "agent unit's ExecStart"
"$D/usr/bin/qh-console" --help >"$T/help.txt" 2>&1 || fail "installed qh-console --help"
"$D/usr/bin/qh-agent" --help >/dev/null 2>&1 || fail "installed qh-agent --help"

# A real install into a prefix: verify checks that ExecStart's program and
# the Documentation= man pages exist.
make -C "$ROOT" --no-print-directory install PREFIX="$T/prefix" >"$T/make2.log" 2>&1 ||
    fail "make install PREFIX: $(tail -n 20 "$T/make2.log")"
UNITS="$T/prefix/lib/systemd/system"
MANPATH="$T/prefix/share/man" systemd-analyze verify "$UNITS/qh-console.service" \
    "$UNITS/qh-agent.service" >"$T/verify.log" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$T/verify.log")"
[ -s "$T/verify.log" ] && fail "systemd-analyze verify complains: $(cat "$T/verify.log")"
systemd-analyze security --offline=true --threshold=15 "$UNITS/qh-console.service" \
    >"$T/security.log" 2>&1 ||
    fail "the console's unit scores above 1.5: $(tail -n 1 "$T/security.log")"
tail -n 1 "$T/security.log"
for want in 'User=quarterhour' 'StateDirectory=quarterhour' 'ProtectSystem=strict' \
    'NoNewPrivileges=yes' 'PrivateTmp=yes'; do
	grep -qx "$want" "$UNITS/qh-console.service" || fail "console unit lacks $want"
done

# The man pages: no warning from groff (lintian asks the same), and
# qh-agent(1) points to qh-console(1).
for page in man1/qh-console.1 man1/qh-agent.1 man5/qh-console.conf.5; do
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z \
	    "$T/prefix/share/man/$page" 2>"$T/man.log" >/dev/null || fail "man $page"
	[ -s "$T/man.log" ] && fail "$page: $(cat "$T/man.log")"
done
grep -q '^\.Xr qh-console 1' "$D/usr/share/man/man1/qh-agent.1" ||
    fail "qh-agent(1) does not point to qh-console(1)"
MANPATH="$T/prefix/share/man" man -w qh-console.conf >/dev/null 2>&1 ||
    fail "man qh-console.conf finds no page"

# qh-console(1) has an item for every command the program lists, and
# qh-console.conf(5) one for every key of console/store/conf.c's table.
python3 - "$T/help.txt" "$ROOT/docs/qh-console.1" "$ROOT/console/store/conf.c" \
    "$ROOT/docs/qh-console.conf.5" >"$T/docs.log" 2>&1 <<'PY' || fail "$(cat "$T/docs.log")"
import re, sys
helptext, page1, conf_c, page5 = (open(p, encoding="utf-8").read() for p in sys.argv[1:])
cmds = re.findall(r"^  (\S+(?: \S+)?)  ", helptext.split("commands:", 1)[1], re.M)
cmds = [c.strip() for c in cmds]
items = re.findall(r"^\.It Cm (.*)$", page1, re.M)
missing = [c for c in cmds if not any(i == c or i.startswith(c + " ") for i in items)]
table = conf_c.split("conf_keys[]", 1)[1].split("};", 1)[0]
keys = re.findall(r'"([a-z0-9_]+)",\s*"([a-z0-9_]+)"', table)
documented, section = set(), None
for line in page5.splitlines():
    m = re.match(r"^\.Ss \[([a-z0-9_]+)\]", line)
    if m:
        section = m.group(1)
    m = re.match(r"^\.It Cm ([a-z0-9_]+)", line)
    if m and section:
        documented.add((section, m.group(1)))
undocumented = ["[%s] %s" % k for k in keys if k not in documented]
if len(cmds) < 20 or len(keys) < 15:
    sys.exit("could not read the commands (%d) or the keys (%d)" % (len(cmds), len(keys)))
if missing:
    print("qh-console(1) lacks an '.It Cm' item for: " + ", ".join(missing))
if undocumented:
    print("qh-console.conf(5) lacks an '.It Cm' item for: " + ", ".join(undocumented))
sys.exit(1 if missing or undocumented else 0)
PY
echo "installed, verified; $(grep -c '^\.It Cm' "$ROOT/docs/qh-console.1") commands documented"
