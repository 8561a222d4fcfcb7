#!/bin/sh
# po-extract.sh OUT.pot: the template of every text marked for translation in
# the sources (_(), N_(), qh_tr's and qh_ntr's msgids), the one way both
# `make po-update` and the catalogue test (tests/e2e/test_po.sh) run xgettext.
set -eu
cd "$(dirname "$0")/.."
out=$1
# Every C file of the programs, tracked or not, in a stable order.
files=$(find common agent console -name '*.c' | LC_ALL=C sort)
# shellcheck disable=SC2086
xgettext --force-po --from-code=UTF-8 --language=C --keyword=_ --keyword=N_ \
    --keyword=qh_tr:2 --keyword=qh_ntr:2,3 --add-comments=TRANSLATORS \
    --package-name=quarterhour --msgid-bugs-address= --no-location --sort-output \
    -o "$out" $files
