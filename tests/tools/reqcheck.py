#!/usr/bin/env python3
"""Checks that scripts/deps.sh installs every Debian package that an
end-to-end test names in its `requires TOOL:PACKAGE...` line (see
tests/e2e/lib.sh). Prints one line and exits 0, or names what is missing
and exits 1.

usage: reqcheck.py ROOT
"""
import glob
import os
import re
import sys

# Essential on every Debian system, also a debootstrap minbase one, or
# brought by a package of the list (build-essential, man-db).
ESSENTIAL = {"bsdutils", "coreutils", "util-linux", "findutils", "grep",
             "sed", "diffutils", "debianutils", "mawk", "tar", "dpkg"}
IMPLIED = {"dpkg-dev": "build-essential", "groff-base": "man-db"}


def main(root):
    deps = open(os.path.join(root, "scripts/deps.sh")).read()
    listed = set(re.search(r'PKGS="([^"]*)"', deps).group(1).split())
    needed = {}
    for path in sorted(glob.glob(os.path.join(root, "tests/e2e/*.sh"))):
        text = open(path).read().replace("\\\n", " ")
        for line in text.splitlines():
            words = line.split()
            if not words or words[0] != "requires":
                continue
            for spec in words[1:]:
                tool, _, pkg = spec.partition(":")
                if not pkg:
                    sys.exit("%s: '%s' names no package (TOOL:PACKAGE)" % (path, spec))
                needed.setdefault(pkg, set()).add(os.path.basename(path))
    missing = sorted(p for p in needed if p not in listed and p not in ESSENTIAL and
                     IMPLIED.get(p) not in listed)
    if missing:
        sys.exit("expected scripts/deps.sh to install %s: %s" % (
            ", ".join(missing),
            "; ".join("%s is required by %s" % (p, ", ".join(sorted(needed[p])))
                      for p in missing)))
    print("%d packages required by the tests, all installed by scripts/deps.sh"
          % len(needed))


main(sys.argv[1])
