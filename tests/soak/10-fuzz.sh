#!/bin/sh
# soak-share: 30
# Campaign 1 of make soak (issue 10): every fuzz target built from
# tests/fuzz/ for its share of the campaign's time ($SOAK_SECONDS), as many
# at once as there are processors, each starting from its seeds
# (tests/fuzz/seeds/NAME) and the kept corpus (tests/fuzz/corpus/NAME).
# What a run finds is merged into the kept corpus with libFuzzer's
# -merge=1, so only inputs that add coverage stay: small and without
# duplicates (files are named by their SHA-1); commit the changes. Prints
# one figure per target: executions, rate, corpus size, and any crash
# (its input and log kept under $SOAK_DIR). Exits 1 after a crash.
set -u
cd "$(dirname "$0")/../.."
TOTAL=${SOAK_SECONDS:-1800}
DIR=${SOAK_DIR:-build/soak/10-fuzz}
JOBS=${SOAK_JOBS:-$(nproc)}
MERGE_S=10 # kept free per round for the merges
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

mkdir -p "$DIR"
rm -f "$DIR/all-figures" "$DIR"/*.figure
targets=""
for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] && targets="$targets $f"
done
n=$(echo $targets | wc -w)
if [ "$n" -eq 0 ]; then
	echo "no fuzz targets in build/fuzz/ (make fuzz-build)"
	exit 1
fi
[ "$JOBS" -ge 1 ] || JOBS=1
[ "$JOBS" -le "$n" ] || JOBS=$n
rounds=$(((n + JOBS - 1) / JOBS))
END=$(($(date +%s) + TOTAL))
echo "$n targets, $JOBS at a time in $rounds rounds, within $TOTAL s"

# One target: fuzz, merge into the kept corpus, print its figure.
fuzz_one() {	# binary
	name=$(basename "$1")
	short=${name#fuzz_}
	work="$DIR/$name/new"
	kept="tests/fuzz/corpus/$short"
	seeds="tests/fuzz/seeds/$short"
	rm -rf "${DIR:?}/$name"
	mkdir -p "$work" "$kept" "$DIR/$name/merged"
	[ -d "$seeds" ] || seeds=""
	before=$(ls "$kept" | wc -l)
	"$1" -max_total_time="$EACH" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$DIR/$name-" \
	    "$work" "$kept" $seeds >"$DIR/$name.log" 2>&1
	st=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$DIR/$name.log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$DIR/$name.log" | tail -n 1)
	# Without final stats (a crash), the last status line's count.
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$DIR/$name.log" | tail -n 1)
	execs=${execs:-0}
	secs=${secs:-$EACH}
	[ "$secs" -gt 0 ] || secs=1
	# Keep what adds coverage, whatever the run's end: a crash's finds count too.
	if "$1" -merge=1 -timeout=10 -rss_limit_mb=2048 "$DIR/$name/merged" "$kept" "$work" \
	    >"$DIR/$name.merge.log" 2>&1; then
		rm -f "$kept"/*
		find "$DIR/$name/merged" -type f -exec mv {} "$kept/" \;
		merge="corpus $before -> $(ls "$kept" | wc -l) files ($(cat "$kept"/* 2>/dev/null | wc -c) bytes)"
	else
		merge="merge failed (see $DIR/$name.merge.log), corpus kept at $before files"
		st=${st:-1}
		[ "$st" -ne 0 ] || st=1
	fi
	if [ "$st" -eq 0 ]; then
		outcome="no crash"
	else
		art=$(ls "$DIR/$name"-* 2>/dev/null | head -n 1)
		outcome="CRASH (exit $st): input ${art:-none}, log $DIR/$name.log"
	fi
	echo "figure: $name: $execs executions in $secs s ($((execs / secs))/s), $merge, $outcome"
	[ "$st" -eq 0 ]
}

failed=0
left=$rounds
set -- $targets
while [ $# -gt 0 ]; do
	# The time left, shared by the rounds left: merges that took less than
	# their reserve give their time to the rounds after them.
	EACH=$(((END - $(date +%s)) / left - MERGE_S))
	[ "$EACH" -ge 10 ] || EACH=10
	left=$((left - 1))
	pids=""
	i=0
	while [ $# -gt 0 ] && [ "$i" -lt "$JOBS" ]; do
		fuzz_one "$1" >"$DIR/$(basename "$1").figure" &
		pids="$pids $!"
		shift
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p" || failed=$((failed + 1))
	done
	cat "$DIR"/*.figure 2>/dev/null | sort -u >"$DIR/figures"
	rm -f "$DIR"/*.figure
	cat "$DIR/figures" >>"$DIR/all-figures"
	cat "$DIR/figures"
done
total=$(sed -n 's/^figure: [^:]*: \([0-9]*\) executions.*/\1/p' "$DIR/all-figures" | awk '{s += $1} END {print s + 0}')
echo "figure: fuzz, all $n targets: $total executions, $failed crashing"
[ "$failed" -eq 0 ]
