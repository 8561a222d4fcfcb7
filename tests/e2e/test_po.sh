# The catalogues (issue 13): every text the sources mark for translation
# (_(), N_(), qh_tr, qh_ntr) has its German translation in po/de.po, none
# fuzzy, every plural form there; po/de.po, po/en.po and the template hold
# no text the sources no longer have; msgfmt --check accepts both
# catalogues. Then the check is shown to bite: a text newly marked in a
# copy of the sources, and a translation emptied in a copy of po/de.po.
. "$(dirname "$0")/lib.sh"
ROOT=${QH_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

sh "$ROOT/scripts/po-extract.sh" "$T/fresh.pot" 2>"$T/xgettext.log" ||
    fail "xgettext: $(cat "$T/xgettext.log")"
python3 "$ROOT/tests/tools/pocheck.py" "$T/fresh.pot" "$ROOT/po/de.po" \
    "$ROOT/po/en.po" "$ROOT/po/quarterhour.pot" >"$T/check.log" 2>&1 ||
    fail "the catalogues do not match the sources: $(cat "$T/check.log")"
cat "$T/check.log"
for l in de en; do
	msgfmt --check --statistics -o "$T/$l.mo" "$ROOT/po/$l.po" >"$T/msgfmt-$l.log" 2>&1 ||
	    fail "msgfmt --check po/$l.po: $(cat "$T/msgfmt-$l.log")"
done
cat "$T/msgfmt-de.log"
grep -q "untranslated\|fuzzy" "$T/msgfmt-de.log" && fail "po/de.po: $(cat "$T/msgfmt-de.log")"

# A text marked in the sources but not in the catalogue.
mkdir -p "$T/tree"
(cd "$ROOT" && cp -r common agent console scripts "$T/tree/")
cat >>"$T/tree/agent/ui.c" <<'C'
static const char *const added = N_("a text nobody has translated yet");
C
sh "$T/tree/scripts/po-extract.sh" "$T/new.pot" 2>/dev/null || fail "xgettext on the copy"
python3 "$ROOT/tests/tools/pocheck.py" "$T/new.pot" "$ROOT/po/de.po" >"$T/new.log" 2>&1 &&
    fail "pocheck accepted a marked text that po/de.po lacks"
expect_in "$T/new.log" "missing: 'a text nobody has translated yet'"

# A translation emptied, and one marked fuzzy.
awk 'BEGIN { n = 0 } /^msgstr "Guthaben: %s"$/ && n == 0 { print "msgstr \"\""; n = 1; next } { print }' \
    "$ROOT/po/de.po" >"$T/empty.po"
python3 "$ROOT/tests/tools/pocheck.py" "$T/fresh.pot" "$T/empty.po" >"$T/empty.log" 2>&1 &&
    fail "pocheck accepted an untranslated text"
expect_in "$T/empty.log" "untranslated: 'Balance: %s'"
sed '0,/^msgid "Balance: %s"$/s//#, fuzzy\nmsgid "Balance: %s"/' "$ROOT/po/de.po" >"$T/fuzzy.po"
python3 "$ROOT/tests/tools/pocheck.py" "$T/fresh.pot" "$T/fuzzy.po" >"$T/fuzzy.log" 2>&1 &&
    fail "pocheck accepted a fuzzy translation"
expect_in "$T/fuzzy.log" "fuzzy: 'Balance: %s'"
echo "catalogues match the sources"
