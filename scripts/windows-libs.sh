#!/bin/sh
# Cross-builds the static libraries qh-agent.exe links (libuv, OpenSSL,
# libjpeg-turbo, libinih; zlib comes ready from libz-mingw-w64-dev) for
# x86-64 Windows with mingw-w64, from Debian's own source packages, so the
# exe carries the same versions and security patches as the Linux build.
#
# Sources and builds are cached outside the clone in
# ${QH_WIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quarterhour/mingw}, one
# prefix per library keyed by its source version, so a run with everything
# built does nothing. Progress goes to stderr; the last line on stdout is
# the prefix (include/, lib/) to build against:
#	WIN_PREFIX := $(shell sh scripts/windows-libs.sh)
set -eu

CACHE=${QH_WIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/quarterhour/mingw}
HOST=x86_64-w64-mingw32
JOBS=2
# Bump when a build recipe below changes, so cached prefixes are rebuilt.
RECIPE=2
# Where OpenSSL would look for its configuration, engines and modules on
# the customer's PC: directories only an administrator can write. The
# agent never loads a configuration (OPENSSL_INIT_NO_LOAD_CONFIG); this
# keeps the compiled-in paths harmless all the same.
OSSL_TOP="C:/Program Files/Common Files/quarterhour"
OSSL_DIR="$OSSL_TOP/ssl"
PKGS="gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 libz-mingw-w64-dev
cmake make nasm perl dpkg-dev xz-utils"
SOURCES="libuv1 openssl libjpeg-turbo libinih"
# Sources whose bookworm version may be replaced by the next release's when
# it does not download (seen here: libinih 55-1's tarballs answer 404).
# inih's API has been stable for years, and it is one small file.
FALLBACK_SOURCES="libinih"
FALLBACK_SUITE=${QH_WIN_FALLBACK_SUITE:-trixie}
# Extra apt options: empty for the system's sources, set by fallback_apt.
APT_OPTS=""

say() {
	echo "windows-libs: $*" >&2
}

die() {
	say "$*"
	exit 1
}

# Installs the build tools as root, or names them and fails.
need_packages() {
	missing=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		say "the Windows build needs these Debian packages; run as root:"
		echo "  apt-get install -y$missing" >&2
		exit 1
	fi
	say "installing:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null ||
		{ apt-get update -qq >&2 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $missing >/dev/null; }
}

# Prints the source versions apt knows for package $1, newest first.
candidates() {
	# shellcheck disable=SC2086
	vs=$(apt-cache $APT_OPTS showsrc --only-source "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | sort -u)
	for v in $vs; do
		n=0
		for w in $vs; do
			dpkg --compare-versions "$w" gt "$v" && n=$((n + 1))
		done
		echo "$n $v"
	done | sort -n | cut -d' ' -f2-
}

# Adds a deb-src entry for every Debian deb entry (deb822 or one-line
# style) when apt has none.
add_deb_src() {
	d=/etc/apt/sources.list.d
	if [ -f "$d/debian.sources" ]; then
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
		/(^|\n)Types:[^\n]*deb/ {
			sub(/Types:[^\n]*/, "Types: deb-src"); print
		}' "$d/debian.sources" >"$d/quarterhour-deb-src.sources.tmp"
		mv "$d/quarterhour-deb-src.sources.tmp" "$d/quarterhour-deb-src.sources"
		say "added $d/quarterhour-deb-src.sources"
	elif grep -qs '^deb ' /etc/apt/sources.list; then
		sed -n 's/^deb /deb-src /p' /etc/apt/sources.list \
			>"$d/quarterhour-deb-src.list.tmp"
		mv "$d/quarterhour-deb-src.list.tmp" "$d/quarterhour-deb-src.list"
		say "added $d/quarterhour-deb-src.list"
	else
		die "no Debian apt source found to derive a deb-src entry from"
	fi
}

# Makes `apt-cache showsrc` answer: adds a deb-src entry if there is none
# and runs apt-get update, both only when needed.
need_sources() {
	[ -n "$(candidates libuv1)" ] && return 0
	[ "$(id -u)" -eq 0 ] ||
		die "apt knows no source packages; as root add a deb-src entry and run apt-get update"
	grep -rqsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' \
		/etc/apt/sources.list /etc/apt/sources.list.d/ || add_deb_src
	say "apt-get update"
	apt-get update -qq >&2
	[ -n "$(candidates libuv1)" ] || die "apt still knows no source of libuv1"
}

# Points APT_OPTS at apt state of our own in the cache that knows the
# sources of $FALLBACK_SUITE, without touching the system's apt set-up.
fallback_apt() {
	a="$CACHE/apt-$FALLBACK_SUITE"
	APT_OPTS="-o Dir::Etc::SourceList=$a/sources.list
-o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists=$a/lists
-o Dir::Cache=$a/cache -o APT::Sandbox::User=root"
	[ -f "$a/done" ] && return 0
	mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources \
		2>/dev/null | grep -m1 '/debian$' || true)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
		"$mirror $FALLBACK_SUITE main" >"$a/sources.list"
	say "apt-get update for $FALLBACK_SUITE sources (in $a)"
	# shellcheck disable=SC2086
	apt-get $APT_OPTS update -qq >&2
	: >"$a/done"
}

# The cache key of source package $1 at version $2 (no ':' for make).
key() {
	echo "$1-$2-r$RECIPE" | tr ':' '_'
}

# Downloads source package $1 version $2 into the cache unless it is
# there; fails when that version cannot be downloaded.
fetch() {
	dir="$CACHE/src/$(echo "$1_$2" | tr ':' '_')"
	[ -d "$dir" ] && return 0
	t=$(mktemp -d "$CACHE/tmp/src.XXXXXX")
	# shellcheck disable=SC2086
	if (cd "$t" && apt-get $APT_OPTS source -qq --download-only "$1=$2") \
		>"$t.log" 2>&1; then
		mv "$t" "$dir"
		rm -f "$t.log"
		return 0
	fi
	rm -rf "$t" "$t.log"
	return 1
}

# Prints the version of source package $1 to use: the newest that is built
# or downloads. A version that failed to download is not tried again for a
# day. Sources in FALLBACK_SOURCES then try the next Debian release.
pick() {
	if pick_from "$1"; then
		return 0
	fi
	case " $FALLBACK_SOURCES " in
	*" $1 "*) ;;
	*) return 1 ;;
	esac
	fallback_apt
	v=$(pick_from "$1") || return 1
	say "$1: using $FALLBACK_SUITE's $v, as no bookworm version downloads"
	echo "$v"
}

pick_from() {
	for v in $(candidates "$1"); do
		[ -d "$CACHE/lib/$(key "$1" "$v")" ] && { echo "$v"; return 0; }
		mark="$CACHE/unavailable/$(echo "$1_$v" | tr ':' '_')"
		if [ -f "$mark" ] && [ -z "$(find "$mark" -mmin +1440)" ]; then
			continue
		fi
		if fetch "$1" "$v"; then
			rm -f "$mark"
			echo "$v"
			return 0
		fi
		say "$1 $v does not download; trying an older version"
		: >"$mark"
	done
	return 1
}

# The CMake options of a cross build for Windows x86-64.
cmake_win() {
	cmake -S "$1" -B "$2" -G "Unix Makefiles" \
		-DCMAKE_SYSTEM_NAME=Windows -DCMAKE_SYSTEM_PROCESSOR=AMD64 \
		-DCMAKE_C_COMPILER="$HOST-gcc" -DCMAKE_RC_COMPILER="$HOST-windres" \
		-DCMAKE_FIND_ROOT_PATH="/usr/$HOST" \
		-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
		-DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
		-DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
		-DCMAKE_BUILD_TYPE=Release "$@"
}

build_libuv1() {
	cmake_win "$1" "$1/b" -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
	cmake --build "$1/b" --target uv_a -j"$JOBS"
	mkdir -p "$2/include" "$2/lib"
	cp -R "$1/include/uv.h" "$1/include/uv" "$2/include/"
	cp "$1/b/libuv_a.a" "$2/lib/libuv.a"
}

build_openssl() {
	# OpenSSL 3.0 builds neither apps nor docs for build_libs and does not
	# know no-apps/no-docs yet (3.2 does): pass them only where known.
	opts="no-shared no-tests"
	for o in apps docs; do
		grep -q "^ *\"$o\"," "$1/Configure" && opts="$opts no-$o"
	done
	# --prefix fixes the compiled-in engine and module directories (which
	# would otherwise lie under C:\, where any user may create folders);
	# nothing is installed there. Perl on Linux does not take "C:/..." for
	# an absolute path and would put the prefix in front of --openssldir:
	# make is given OPENSSLDIR as it is.
	cd "$1"
	# shellcheck disable=SC2086
	./Configure mingw64 $opts --cross-compile-prefix="$HOST-" \
		--prefix="$OSSL_TOP" --libdir=lib --openssldir="$OSSL_DIR"
	make -j"$JOBS" build_libs OPENSSLDIR="$OSSL_DIR"
	mkdir -p "$2/include" "$2/lib"
	cp -R include/openssl "$2/include/"
	cp libcrypto.a libssl.a "$2/lib/"
}

build_libjpeg_turbo() {
	cmake_win "$1" "$1/b" -DENABLE_SHARED=OFF -DENABLE_STATIC=ON \
		-DWITH_TURBOJPEG=ON -DWITH_JAVA=OFF -DREQUIRE_SIMD=ON \
		-DCMAKE_INSTALL_PREFIX="$2"
	cmake --build "$1/b" --target jpeg-static turbojpeg-static -j"$JOBS"
	mkdir -p "$2/include" "$2/lib"
	cp "$1/jpeglib.h" "$1/jmorecfg.h" "$1/jerror.h" "$1/turbojpeg.h" \
		"$1/b/jconfig.h" "$2/include/"
	cp "$1/b/libjpeg.a" "$1/b/libturbojpeg.a" "$2/lib/"
}

build_libinih() {
	cd "$1"
	"$HOST-gcc" -O2 -Wall -c ini.c -o ini.o
	"$HOST-ar" rcs libinih.a ini.o
	mkdir -p "$2/include" "$2/lib"
	cp "$1/ini.h" "$2/include/"
	cp "$1/libinih.a" "$2/lib/"
}

# Builds source package $1 version $2 in a temporary directory and moves
# the finished prefix into place in one rename.
build() {
	k=$(key "$1" "$2")
	[ -d "$CACHE/lib/$k" ] && return 0
	say "building $1 $2 (log: $CACHE/log/$k.log)"
	t=$(mktemp -d "$CACHE/tmp/build.XXXXXX")
	log="$CACHE/log/$k.log"
	start=$(date +%s)
	# A shell of its own, so that set -e holds inside the build steps.
	if ! sh "$0" --build "$1" "$CACHE/src/$(echo "$1_$2" | tr ':' '_')" "$t" \
		>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -rf "$t"
		die "building $1 $2 failed; the whole log is $log"
	fi
	echo "$1 $2" >"$t/prefix/VERSION"
	mv "$t/prefix" "$CACHE/lib/$k"
	rm -rf "$t"
	say "built $1 $2 in $(($(date +%s) - start)) s"
}

# Internal: --build SOURCE SRCDIR TMPDIR unpacks and builds one library
# into TMPDIR/prefix.
if [ "${1:-}" = --build ]; then
	dpkg-source -x "$3"/*.dsc "$4/src"
	"build_$(echo "$2" | tr '-' '_')" "$4/src" "$4/prefix"
	exit 0
fi

need_packages
mkdir -p "$CACHE/src" "$CACHE/lib" "$CACHE/log" "$CACHE/tmp" "$CACHE/unavailable"
# One run at a time; a second waits for the first and then finds its work done.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$CACHE/lock"
	flock 9
fi
# Whatever an interrupted run left half-done.
rm -rf "$CACHE/tmp" && mkdir "$CACHE/tmp"
need_sources

versions=""
keys=""
for s in $SOURCES; do
	v=$(pick "$s") || die "no version of $s can be downloaded"
	versions="$versions${versions:+, }$s $v"
	keys="$keys $s=$v"
done
zv=$(dpkg-query -W -f='${Version}' libz-mingw-w64-dev)
echo "windows libs: $versions, zlib $zv (libz-mingw-w64-dev)" >&2

for kv in $keys; do
	build "${kv%%=*}" "${kv#*=}"
done

# One prefix holding every library, named by a hash of what went into it.
id=$(echo "$RECIPE $keys zlib=$zv" | sha256sum | cut -c1-12)
prefix="$CACHE/win64-$id"
if [ ! -d "$prefix" ]; then
	t=$(mktemp -d "$CACHE/tmp/prefix.XXXXXX")
	chmod 755 "$t"
	mkdir -p "$t/include" "$t/lib"
	for kv in $keys; do
		d="$CACHE/lib/$(key "${kv%%=*}" "${kv#*=}")"
		cp -R "$d/include/." "$t/include/"
		cp -R "$d/lib/." "$t/lib/"
	done
	cp "/usr/$HOST/include/zlib.h" "/usr/$HOST/include/zconf.h" "$t/include/"
	cp "/usr/$HOST/lib/libz.a" "$t/lib/"
	echo "$versions, zlib $zv" >"$t/VERSIONS"
	mv "$t" "$prefix"
fi
echo "$prefix"
