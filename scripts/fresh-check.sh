#!/bin/sh
# make fresh-check: the newcomer's machine (DESIGN §6). Builds once, and
# caches, a Debian 12 chroot made with `debootstrap --variant=minbase
# bookworm` plus build-essential and git and nothing else; clones this
# checkout's committed HEAD into a copy of it and runs there exactly the
# README's two commands, `make demo` and then `make test`, so the set-up
# script (scripts/deps.sh) has to install everything they use. Prints the
# last lines and the time of each and exits 1 if either fails.
#
# Needs root (chroot, mounts); installs debootstrap when it is missing.
# Everything runs in a mount namespace of its own, so the chroot's /proc,
# /sys, /dev and /tmp mounts vanish with it; processes left running in the
# chroot are ended by their pid before the copy is removed.
#
#   FRESH_BASE  the cached base (default /var/tmp/qh-fresh-base-bookworm)
#   FRESH_KEEP  1: keep the chroot copy and print where it is
#   FRESH_CMDS  the commands, one per line (default "make demo" and "make test")
#   FRESH_MIRROR  the Debian mirror (default http://deb.debian.org/debian)
#   FRESH_LOGS  where each command's whole output is kept (default
#               /var/tmp/qh-fresh-logs)
set -u

REPO=$(git rev-parse --show-toplevel 2>/dev/null) || {
	echo "fresh-check: run it from a git checkout" >&2
	exit 2
}
BASE=${FRESH_BASE:-/var/tmp/qh-fresh-base-bookworm}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
CMDS=${FRESH_CMDS:-"make demo
make test"}

if [ "$(id -u)" -ne 0 ]; then
	echo "fresh-check: needs root (debootstrap, chroot, mounts)" >&2
	exit 2
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	echo "fresh-check: installing debootstrap" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
	    exit 2
fi
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]; then
	echo "fresh-check: note: uncommitted changes are not part of the check" >&2
fi

now() { date +%s; }

# The base: built once under a lock, so that two checks never build it at once.
mkdir -p "$(dirname "$BASE")"
exec 9>"$BASE.lock"
flock 9
if [ ! -x "$BASE/usr/bin/make" ] || [ ! -x "$BASE/usr/bin/git" ]; then
	rm -rf --one-file-system "$BASE"
	echo "== building the base chroot in $BASE (once; about a minute)"
	t0=$(now)
	if ! debootstrap --variant=minbase bookworm "$BASE" "$MIRROR" \
	    >"$BASE.log" 2>&1; then
		tail -n 5 "$BASE.log"
		echo "fresh-check: debootstrap failed (log: $BASE.log)"
		exit 1
	fi
	cp /etc/resolv.conf "$BASE/etc/resolv.conf"
	if ! chroot "$BASE" sh -c 'apt-get update -qq &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential git' \
	    >>"$BASE.log" 2>&1; then
		tail -n 5 "$BASE.log"
		rm -rf --one-file-system "$BASE"
		echo "fresh-check: installing build-essential and git failed"
		exit 1
	fi
	echo "   base ready in $(($(now) - t0)) s"
fi
flock -u 9

W=$(mktemp -d /var/tmp/qh-fresh.XXXXXX)
ROOT="$W/root"
# The whole output of each command stays here after the chroot is gone.
LOGS=${FRESH_LOGS:-/var/tmp/qh-fresh-logs}
rm -rf "$LOGS"
mkdir -p "$LOGS"

# Ends what still runs inside the chroot: each process whose root is ours.
end_chroot_processes() {
	for sig in TERM KILL; do
		for d in /proc/[0-9]*; do
			[ "$(readlink "$d/root" 2>/dev/null)" = "$ROOT" ] || continue
			kill -"$sig" "${d#/proc/}" 2>/dev/null
		done
		sleep 1
	done
}

cleanup() {
	end_chroot_processes
	if grep -q " $W/" /proc/self/mounts; then
		# Never reached with the namespace gone; never remove through a mount.
		echo "fresh-check: mounts left under $W; not removing it" >&2
		return
	fi
	if [ "${FRESH_KEEP:-0}" = 1 ]; then
		echo "fresh-check: the chroot is kept in $ROOT"
	else
		rm -rf --one-file-system "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== copying the base"
cp -a "$BASE" "$ROOT" || exit 1
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
git clone -q "$REPO" "$ROOT/root/project" || exit 1
echo "   checking $(git -C "$ROOT/root/project" log -1 --format='%h %s' | cut -c1-72)"

rc=0
# One command a line; none of them reads this script's input.
old_ifs=$IFS
IFS='
'
for cmd in $CMDS; do
	IFS=$old_ifs
	[ -n "$cmd" ] || continue
	echo "== $cmd (fresh Debian 12 chroot)"
	t0=$(now)
	# A mount namespace of our own: the mounts go when the command ends.
	unshare --mount --propagation private sh -c '
		r=$1
		mount -t proc proc "$r/proc" &&
		mount -t sysfs sys "$r/sys" &&
		mount --rbind /dev "$r/dev" &&
		mount -t tmpfs tmpfs "$r/tmp" || exit 99
		exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb \
		    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		    LANG=C.UTF-8 sh -c "cd /root/project && $2"
	' fresh "$ROOT" "$cmd" </dev/null >"$LOGS/out.log" 2>&1
	r=$?
	t=$(($(now) - t0))
	tail -n 25 "$LOGS/out.log"
	mv "$LOGS/out.log" "$LOGS/$(echo "$cmd" | tr -c 'a-z0-9\n' -).log"
	if [ "$r" -ne 0 ]; then
		echo "fresh-check: '$cmd' failed with exit $r after $t s"
		rc=1
		break
	fi
	echo "fresh-check: '$cmd' passed in $t s"
done
IFS=$old_ifs
end_chroot_processes
[ "$rc" -eq 0 ] && echo "fresh-check: passed" || echo "fresh-check: FAILED"
echo "fresh-check: whole output in $LOGS"
exit $rc
