#!/bin/sh
# make soak: the long campaigns of issue 10, not part of make test, within
# one total budget of SOAK_MINUTES (default 60). Prints each campaign's
# output as it goes and all their figures in a summary at the end; exits 1
# if any campaign failed (found a defect, or overran its time).
#
# A campaign is one script tests/soak/NAME.sh (every one but this runner);
# they run in the order of their names (a number in front, as in
# 10-fuzz.sh, sets the place). Adding a campaign is adding a script that
#   - says how many minutes of the budget it takes, in a line
#     "# soak-share: MINUTES" (shares are scaled down to fit the budget,
#     never up); a script without one gets an equal part of what the
#     others leave;
#   - finds its time in $SOAK_SECONDS and ends within it (it is stopped
#     with SIGTERM a minute later, SIGKILL ten seconds after that); the
#     release binaries (build/release/bin, bin/), the sanitizer ones
#     (build/asan/bin) and the fuzz targets (build/fuzz/) are built; its
#     scratch space is $SOAK_DIR, under build/soak/;
#   - prints every figure it wants in the closing note as a line
#     "figure: TEXT" (a ratio as N.NNx; of a script that prints none, its
#     last lines are shown), and exits 0, or non-zero when it found a
#     defect.
#
#   SOAK_MINUTES  the total budget (default 60)
#   SOAK_ONLY     run only the campaigns whose name contains this word
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MINUTES=${SOAK_MINUTES:-60}
ONLY=${SOAK_ONLY:-}
export QH_ROOT="$ROOT"
OUT="$ROOT/build/soak"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"

now() { date +%s; }
share_of() { sed -n 's/^# soak-share: *\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1; }

scripts=""
declared=0 # minutes the scripts with a share line ask for
undeclared=0
for s in tests/soak/*.sh; do
	[ -f "$s" ] || continue
	name=$(basename "$s" .sh)
	[ "$name" != run ] || continue
	[ -z "$ONLY" ] || case $name in *"$ONLY"*) ;; *) continue ;; esac
	scripts="$scripts $s"
	share=$(share_of "$s")
	if [ -n "$share" ]; then
		declared=$((declared + share))
	else
		undeclared=$((undeclared + 1))
	fi
done
if [ -z "$scripts" ]; then
	echo "soak: no campaign in tests/soak/ matches '$ONLY'" >&2
	exit 2
fi
echo "== soak: $(echo $scripts | wc -w) campaigns within $MINUTES minutes"

failed=0
declared_left=$declared
start_all=$(now)
for s in $scripts; do
	name=$(basename "$s" .sh)
	share=$(share_of "$s")
	if [ -n "$share" ]; then
		# Scaled down when the shares ask for more than the budget.
		if [ "$declared" -gt "$MINUTES" ]; then
			secs=$((share * 60 * MINUTES / declared))
		else
			secs=$((share * 60))
		fi
		declared_left=$((declared_left - share))
	else
		# An equal part of what the budget has left after the declared shares.
		left=$((MINUTES * 60 - ($(now) - start_all) - declared_left * 60))
		secs=$((left / undeclared))
		[ "$secs" -ge 60 ] || secs=60
		undeclared=$((undeclared - 1))
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
	if [ "$status" != 0 ]; then
		failed=$((failed + 1))
		printf 'FAIL  %-20s %d s of %d, status %s\n' "$name" "$t" "$secs" "$status" \
		    >>"$SUMMARY"
	else
		printf 'ok    %-20s %d s of %d\n' "$name" "$t" "$secs" >>"$SUMMARY"
	fi
	if grep -q '^figure: ' "$log"; then
		grep '^figure: ' "$log" | sed 's/^figure: /      /' >>"$SUMMARY"
	else
		grep -v '^campaign-status: ' "$log" | tail -n 5 | sed 's/^/      /' >>"$SUMMARY"
	fi
done

echo
echo "== soak summary: $(( ($(now) - start_all + 30) / 60 )) min of $MINUTES"
cat "$SUMMARY"
if [ "$failed" -eq 0 ]; then
	echo "soak: all campaigns passed"
else
	echo "soak: $failed campaign(s) failed"
fi
[ "$failed" -eq 0 ]
