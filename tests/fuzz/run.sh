#!/bin/sh
# Runs every fuzz target built under build/fuzz/ for SECONDS each (default
# 60), starting from its checked-in seeds in tests/fuzz/seeds/NAME and
# keeping what it finds in a scratch corpus under build/fuzz/corpus/NAME.
# Prints one line per target; a crash leaves its input and log under
# build/fuzz/ and makes the script exit non-zero.
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-60}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
ran=0
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	short=${name#fuzz_}
	seeds="tests/fuzz/seeds/$short"
	corpus="build/fuzz/corpus/$short"
	log="build/fuzz/$name.log"
	mkdir -p "$corpus" build/fuzz/artifacts
	[ -d "$seeds" ] || seeds=""
	"$f" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
	    -artifact_prefix="build/fuzz/artifacts/$name-" \
	    "$corpus" $seeds >"$log" 2>&1
	status=$?
	ran=$((ran + 1))
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' \
	    "$log" | tail -n 1)
	if [ "$status" -eq 0 ]; then
		printf 'ok    %s: %s, corpus %s files\n' "$name" "${runs:-? runs}" \
		    "$(ls "$corpus" | wc -l)"
	else
		failed=$((failed + 1))
		printf 'FAIL  %s: exit %d, see %s\n' "$name" "$status" "$log"
	fi
done
if [ "$ran" -eq 0 ]; then
	echo "no fuzz targets in build/fuzz/; run 'make fuzz-build' first" >&2
	exit 1
fi
[ "$failed" -eq 0 ]
