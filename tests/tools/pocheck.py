#!/usr/bin/env python3
"""pocheck.py FRESH.pot PO...: the catalogues against the sources.

FRESH.pot is what scripts/po-extract.sh finds in the sources now. Each PO
must hold exactly its msgids (a text marked in the sources but missing
from the catalogue has no translation; one the sources no longer have
means the catalogue is stale: run `make po-update`). A PO named de.po (or
any but en.po) must also translate every one of them: no fuzzy entry, no
empty msgstr, every plural form. No msgid may use an <inttypes.h> macro
(xgettext writes "<PRId64>", which no lookup at run time finds). Prints
one line per problem; exit status 1 if there was one.
"""
import os
import re
import sys

ESC = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r", "a": "\a"}


def unquote(lines):
    out = ""
    for line in lines:
        body = line[line.index('"') + 1:line.rindex('"')]
        out += re.sub(r"\\(.)", lambda m: ESC.get(m.group(1), m.group(1)), body)
    return out


def entries(path):
    """Yields (msgid, plural or None, [msgstr...], fuzzy) of the live entries."""
    with open(path, encoding="utf-8") as f:
        blocks = f.read().split("\n\n")
    for block in blocks:
        fields, cur, fuzzy, obsolete = {}, None, False, False
        for line in block.split("\n"):
            if line.startswith("#~"):
                obsolete = True
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            if line.startswith("#"):
                continue
            m = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(\[\d+\])?) ", line)
            if m:
                cur = m.group(1)
                fields[cur] = [line]
            elif line.startswith('"') and cur is not None:
                fields[cur].append(line)
        if obsolete or "msgid" not in fields:
            continue
        msgid = unquote(fields["msgid"])
        if msgid == "":
            continue
        plural = unquote(fields["msgid_plural"]) if "msgid_plural" in fields else None
        strs = [unquote(v) for k, v in sorted(fields.items()) if k.startswith("msgstr")]
        yield msgid, plural, strs, fuzzy


def main():
    fresh, pos = sys.argv[1], sys.argv[2:]
    problems = []
    want = {m: p for m, p, _, _ in entries(fresh)}
    for m in want:
        if "<PRI" in m or (want[m] and "<PRI" in want[m]):
            problems.append("%s: msgid %r uses an <inttypes.h> macro; write %%lld" %
                            (fresh, m))
    for po in pos:
        name = os.path.basename(po)
        have = {}
        for m, p, strs, fuzzy in entries(po):
            have[m] = p
            if m not in want:
                problems.append("%s: stale: %r is no longer in the sources "
                                "(make po-update)" % (po, m))
                continue
            if want[m] != p:
                problems.append("%s: %r: its plural form differs from the sources "
                                "(make po-update)" % (po, m))
            if name == "en.po" or name.endswith(".pot"):
                continue
            if fuzzy:
                problems.append("%s: fuzzy: %r" % (po, m))
            if not strs or any(s == "" for s in strs) or (p is not None and len(strs) < 2):
                problems.append("%s: untranslated: %r" % (po, m))
        for m in want:
            if m not in have:
                problems.append("%s: missing: %r is marked in the sources but not "
                                "in the catalogue (make po-update, then translate it)"
                                % (po, m))
    for p in problems:
        print(p)
    print("pocheck: %d texts in the sources, %d catalogues, %d problems" %
          (len(want), len(pos), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
