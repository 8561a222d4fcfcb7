#!/bin/sh
# Runs every test against the sanitizer build: cmocka unit tests, a short
# run of each fuzz target, then the end-to-end scripts. Prints each result,
# the logs of what failed, and last the line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export QH_BIN="$ROOT/build/asan/bin"
export QH_ROOT="$ROOT"
# LeakSanitizer would flag OpenSSL's and libuv's process-lifetime state in
# children killed by signal; leaks are checked in the unit tests instead.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:verify_asan_link_order=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

passed=0
failed=0
failures=""
LOGDIR=$(mktemp -d /tmp/qh-test.XXXXXX)

now() { date +%s.%N | cut -c1-14; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
SUITE_START=$(now)

record() {	# name status logfile start
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'ok    %-40s %s\n' "$1" "$(took "$4")"
	else
		failed=$((failed + 1))
		failures="$failures $1"
		printf 'FAIL  %-40s %s\n' "$1" "$(took "$4")"
		sed 's/^/    | /' "$3" | tail -n 80
		# An end-to-end test's reason last, where it is seen: the logs
		# after it can be long.
		case $1 in
		test_*)
			grep '^FAILED: ' "$3" | sed 's/^/    = /'
			grep -q '^FAILED: ' "$3" ||
			    echo "    = no FAILED line: it stopped with status $2 without saying why"
			;;
		esac
	fi
}

# Unit tests: each cmocka case counts.
for t in build/asan/unit/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	log="$LOGDIR/$name.log"
	start=$(now)
	ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0" "$t" >"$log" 2>&1
	status=$?
	ok=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	bad=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
	ok=${ok:-0}
	bad=${bad:-0}
	if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1	# crashed or leaked outside any case
	fi
	passed=$((passed + ok))
	if [ "$bad" -gt 0 ]; then
		failed=$((failed + bad))
		failures="$failures $name"
		printf 'FAIL  %-40s %s\n' "$name ($bad failed)" "$(took "$start")"
		sed 's/^/    | /' "$log" | tail -n 60
	else
		printf 'ok    %-40s %s\n' "$name ($ok cases)" "$(took "$start")"
	fi
done

# Fuzz targets: a short run each, from the checked-in seeds and the corpus
# that make soak keeps (read here, never written).
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	log="$LOGDIR/$name.log"
	corpus="$LOGDIR/corpus-$name"
	mkdir -p "$corpus"
	kept="tests/fuzz/corpus/${name#fuzz_}"
	[ -d "$kept" ] || kept=""
	start=$(now)
	# shellcheck disable=SC2086
	"$f" -max_total_time=10 -rss_limit_mb=1024 -artifact_prefix="$LOGDIR/$name-" \
	    "$corpus" "tests/fuzz/seeds/${name#fuzz_}" $kept \
	    >"$log" 2>&1
	record "$name (10 s)" $? "$log" "$start"
done

# End-to-end tests: each script is one test.
for t in tests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	log="$LOGDIR/$name.log"
	start=$(now)
	timeout 300 sh "$t" >"$log" 2>&1
	status=$?
	# timeout(1) says 124: the script's own trap has named the signal.
	[ "$status" -eq 124 ] && echo "FAILED: $name took longer than its limit of 300 s" >>"$log"
	record "$name" "$status" "$log" "$start"
done

rm -rf "$LOGDIR"
echo
echo "all tests: $(took "$SUITE_START")"
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
