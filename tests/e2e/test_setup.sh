#!/bin/sh
# The set-up script installs what the tests use (issue 10, #21): every
# Debian package that a test names in its `requires` line (tests/e2e/
# lib.sh) is in scripts/deps.sh's list (tests/tools/reqcheck.py), and
# installed. A machine that happens to have a tool must not hide a missing
# install step, as it once hid jq: the list is checked, not only the
# machine. Then the check is shown to bite.
. "$(dirname "$0")/lib.sh"
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

python3 "$ROOT/tests/tools/reqcheck.py" "$ROOT" >"$T/req.out" 2>&1 ||
    fail "$(cat "$T/req.out")"
cat "$T/req.out"

# Installed here: make test ran scripts/deps.sh before anything else.
for p in $(sed -n '/^PKGS="/,/"$/p' "$ROOT/scripts/deps.sh" | tr -d '"' | sed 's/^PKGS=//'); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
	    fail "expected the package $p, listed in scripts/deps.sh, to be installed"
done

# A test that requires a package the list lacks is caught, naming both.
mkdir -p "$T/tree/tests/e2e" "$T/tree/scripts"
cp "$ROOT/scripts/deps.sh" "$T/tree/scripts/"
printf '. lib.sh\nrequires frob:frobnicator tmux:tmux\n' >"$T/tree/tests/e2e/test_x.sh"
python3 "$ROOT/tests/tools/reqcheck.py" "$T/tree" >"$T/bad.out" 2>&1 &&
    fail "expected reqcheck to refuse a package missing from scripts/deps.sh: $(cat "$T/bad.out")"
expect_in "$T/bad.out" "expected scripts/deps.sh to install frobnicator: frobnicator is required by test_x.sh"
exit 0
