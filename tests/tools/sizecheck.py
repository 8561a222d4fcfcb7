#!/usr/bin/env python3
"""Checks the size limits of the layout (docs/architecture.md).

sizecheck.py ROOT [MAX_FILE_LINES MAX_FUNCTION_LINES]

No C file under common/, console/ or agent/ has more than MAX_FILE_LINES
lines (default 1000) and no function more than MAX_FUNCTION_LINES (default
120). Functions are found the way the code is formatted (KNF, .clang-format):
a definition's name starts a line, its body ends at the first line that is
a lone "}". Prints the ten longest functions, one line per problem, and
exits 1 if there is any.
"""
import os
import re
import sys

DEFINITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(")


def functions(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    start = name = None
    for n, line in enumerate(lines, 1):
        m = DEFINITION.match(line)
        if m and start is None and not line.rstrip().endswith(";"):
            start, name = n, m.group(1)
        elif start is not None and line == "}":
            yield name, start, n - start + 1
            start = None
        elif start is not None and line.endswith(";") and not line.startswith(
                ("\t", " ")) and "{" not in "".join(lines[start - 1:n]):
            start = None  # a prototype spread over lines
    return


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    max_file = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    max_func = int(sys.argv[3]) if len(sys.argv) > 3 else 120
    problems, funcs, nfiles = [], [], 0
    for top in ("common", "console", "agent"):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if not n.endswith(".c"):
                    continue
                path = os.path.join(d, n)
                rel = os.path.relpath(path, root)
                nfiles += 1
                with open(path, encoding="utf-8", errors="replace") as f:
                    count = f.read().count("\n")
                if count > max_file:
                    problems.append("%s: %d lines (at most %d)" % (rel, count, max_file))
                for name, line, length in functions(path):
                    funcs.append((length, "%s:%d %s()" % (rel, line, name)))
                    if length > max_func:
                        problems.append("%s:%d: %s() has %d lines (at most %d)" %
                                        (rel, line, name, length, max_func))
    funcs.sort(reverse=True)
    print("sizecheck: %d files, %d functions; the longest:" % (nfiles, len(funcs)))
    for length, where in funcs[:10]:
        print("  %4d  %s" % (length, where))
    for p in problems:
        print("sizecheck: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
