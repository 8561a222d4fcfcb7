#!/bin/sh
# make soak: the long campaigns of issue 10, not part of make test, within
# one total budget of SOAK_MINUTES (default 60). Prints each campaign's
# figures as it goes and again in a summary at the end; exits 1 if any
# campaign failed (found a defect, or overran its time).
#
# A campaign is one script tests/soak/NN-NAME.sh; they run in the order of
# NN. Adding one is adding a script that
#   - says how many minutes of the budget it takes, in a line
#     "# soak-share: MINUTES" (shares are scaled down to fit the total,
#     never up);
#   - finds its time in $SOAK_SECONDS and ends within it (it is stopped
#     with SIGTERM a minute later, SIGKILL ten seconds after that); the
#     sanitizer and release binaries and the fuzz targets are built
#     ($QH_BIN is build/asan/bin, $QH_RELEASE_BIN build/release/bin), its
#     scratch space is $SOAK_DIR;
#   - prints every figure it wants in the closing note as a line
#     "figure: TEXT" (a ratio as N.NNx), and exits 0, or non-zero when it
#     found a defect.
#
#   SOAK_MINUTES  the total budget (default 60)
#   SOAK_ONLY     run only the campaigns whose NAME contains this word
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MINUTES=${SOAK_MINUTES:-60}
ONLY=${SOAK_ONLY:-}
export QH_ROOT="$ROOT" QH_BIN="$ROOT/build/asan/bin" QH_RELEASE_BIN="$ROOT/build/release/bin"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:verify_asan_link_order=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
OUT="$ROOT/build/soak"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"

now() { date +%s; }
share_of() { sed -n 's/^# soak-share: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1; }

scripts=""
total=0
for s in tests/soak/[0-9][0-9]-*.sh; do
	[ -f "$s" ] || continue
	name=$(basename "$s" .sh)
	[ -z "$ONLY" ] || case $name in *"$ONLY"*) ;; *) continue ;; esac
	share=$(share_of "$s")
	if [ -z "$share" ]; then
		echo "soak: $s has no '# soak-share: MINUTES' line" >&2
		exit 2
	fi
	scripts="$scripts $s"
	total=$((total + share))
done
if [ -z "$scripts" ]; then
	echo "soak: no campaign in tests/soak/ matches '$ONLY'" >&2
	exit 2
fi
echo "== soak: $(echo $scripts | wc -w) campaigns, $total of $MINUTES minutes asked"

failed=0
start_all=$(now)
for s in $scripts; do
	name=$(basename "$s" .sh)
	share=$(share_of "$s")
	# Scaled down when the shares ask for more than the budget.
	if [ "$total" -gt "$MINUTES" ]; then
		secs=$((share * 60 * MINUTES / total))
	else
		secs=$((share * 60))
	fi
	log="$OUT/$name.log"
	mkdir -p "$OUT/$name"
	echo "== $name: $secs s (log: $log)"
	t0=$(now)
	# The campaign's status travels in its log: a pipe keeps only tee's.
	{
		SOAK_SECONDS=$secs SOAK_DIR="$OUT/$name" \
		    timeout -k 10 $((secs + 60)) sh "$s"
		echo "campaign-status: $?"
	} 2>&1 | tee "$log"
	t=$(($(now) - t0))
	status=$(sed -n 's/^campaign-status: //p' "$log" | tail -n 1)
	if [ "$t" -gt $((secs + 60)) ] || [ "$status" != 0 ]; then
		failed=$((failed + 1))
		printf 'FAIL  %-20s %d s of %d, status %s\n' "$name" "$t" "$secs" "$status" \
		    >>"$SUMMARY"
	else
		printf 'ok    %-20s %d s of %d\n' "$name" "$t" "$secs" >>"$SUMMARY"
	fi
	grep '^figure: ' "$log" | sed 's/^figure: /      /' >>"$SUMMARY"
done

echo
echo "== soak summary: $(( ($(now) - start_all) / 60 )) min of $MINUTES"
cat "$SUMMARY"
[ "$failed" -eq 0 ] && echo "soak: all campaigns passed" || echo "soak: $failed campaign(s) failed"
[ "$failed" -eq 0 ]
