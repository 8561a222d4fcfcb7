#!/usr/bin/env python3
"""Checks the parts of quarterhour against docs/dependencies.txt.

depcheck.py ROOT [BUILD]

For every C file and header of every part: each #include of a library's
header needs that library in the part's list, each include of another
part's header needs that part in the list and may name only its public
header, and a libqh header that needs more than libqh (the mux needs libuv)
counts as those libraries too. Inside each console part, the modules'
includes form no cycle. With BUILD, each part's archive there is checked
with nm: it calls no function of a library the part may not use.

Prints one line per problem and exits 1 if there is any; prints a summary
and exits 0 otherwise.
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def read_table(path):
    parts, public, libs, headers, links, symbols = {}, {}, {}, {}, {}, {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            kind, name, rest = words[0], words[1], words[2:]
            if kind == "part":
                colon = rest.index(":")
                parts[name] = (rest[:colon], set(rest[colon + 1:]))
            elif kind == "public":
                public[name] = rest[0]
            elif kind == "lib":
                libs[name] = rest
            elif kind == "header":
                headers[name] = set(rest)
            elif kind == "link":
                links[name] = rest[0]
            elif kind == "symbols":
                symbols[name] = rest[0]
            else:
                sys.exit("%s:%d: unknown line kind %r" % (path, n, kind))
    return parts, public, libs, headers, links, symbols


def lib_of(header, libs):
    for name, patterns in libs.items():
        for p in patterns:
            if (p.endswith("/") and header.startswith(p)) or \
               (p.endswith("*") and header.startswith(p[:-1])) or header == p:
                return name
    return None


def files_of(root, places):
    for place in places:
        full = os.path.join(root, place)
        if os.path.isfile(full):
            yield place
            continue
        for d, _, names in os.walk(full):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, n), root)


def part_of(path, parts):
    best, best_len = None, -1
    for name, (places, _) in parts.items():
        for p in places:
            if (path == p or path.startswith(p.rstrip("/") + "/")) and len(p) > best_len:
                best, best_len = name, len(p)
    return best


def check_includes(root, table, problems):
    parts, public, libs, headers, _, _ = table
    graph = {}  # part -> module -> set of modules it includes
    nfiles = 0
    for part, (places, allowed) in parts.items():
        for path in files_of(root, places):
            nfiles += 1
            with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                text = f.read()
            # A module is NAME.c with NAME.h and its internal NAME_int.h.
            module = re.sub(r"_int$", "", os.path.splitext(path)[0])
            for angle, inc in INCLUDE.findall(text):
                where = "%s: #include %s%s%s" % (path, angle, inc, ">" if angle == "<" else '"')
                if angle == "<":
                    lib = lib_of(inc, libs)
                    if lib is not None and lib != part and lib not in allowed:
                        problems.append("%s: %s may not use %s" % (where, part, lib))
                    continue
                if inc.startswith("qh/"):
                    if part != "common" and "common" not in allowed:
                        problems.append("%s: %s may not use libqh" % (where, part))
                    for lib in sorted(headers.get(inc, ())):
                        if lib not in allowed:
                            problems.append("%s: %s needs %s, which %s may not use" %
                                            (where, inc, lib, part))
                    continue
                # As the compiler looks: beside the file, then -I include,
                # console, agent (the Makefile's BASE_CFLAGS).
                target = None
                for base in (os.path.dirname(path), "include", "console", "agent"):
                    cand = os.path.normpath(os.path.join(base, inc))
                    if os.path.exists(os.path.join(root, cand)):
                        target = cand
                        break
                if target is None:
                    problems.append("%s: no such header" % where)
                    continue
                other = part_of(target, parts)
                if other is None:
                    continue
                if other != part:
                    if other not in allowed:
                        problems.append("%s: %s may not use %s" % (where, part, other))
                    elif public.get(other) != target:
                        problems.append("%s: %s is private to %s (its public header is %s)"
                                        % (where, target, other, public.get(other, "none")))
                else:
                    graph.setdefault(part, {}).setdefault(module, set()).add(
                        re.sub(r"_int$", "", os.path.splitext(target)[0]))
    return graph, nfiles


def find_cycle(edges):
    """A cycle in edges (module -> set of modules) as a list, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if n == m:
                continue
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if state.get(n) is None:
                c = visit(n)
                if c:
                    return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if state.get(m) is None:
            c = visit(m)
            if c:
                return c
    return None


def check_cycles(graph, problems):
    for part, edges in sorted(graph.items()):
        # A module is its .c and its .h together: X.c including X.h is no edge.
        c = find_cycle(edges)
        if c:
            problems.append("%s: include cycle: %s" % (part, " -> ".join(c)))


def check_links(build, table, problems):
    parts, _, _, _, links, symbols = table
    checked = 0
    for part, archive in sorted(links.items()):
        path = os.path.join(build, archive)
        if not os.path.exists(path):
            problems.append("%s: %s was not built" % (part, path))
            continue
        out = subprocess.run(["nm", "-u", path], capture_output=True, text=True,
                             check=True).stdout
        allowed = parts[part][1]
        for lib, prefix in sorted(symbols.items()):
            if lib in allowed:
                continue
            used = sorted({l.split()[-1] for l in out.splitlines()
                           if l.split() and l.split()[-1].startswith(prefix)})
            if used:
                problems.append("%s: %s calls %s (%s), which %s may not use" %
                                (part, archive, lib, ", ".join(used[:3]), part))
        checked += 1
    return checked


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: depcheck.py ROOT [BUILD]")
    root = sys.argv[1]
    table = read_table(os.path.join(root, "docs", "dependencies.txt"))
    problems = []
    graph, nfiles = check_includes(root, table, problems)
    check_cycles(graph, problems)
    narchives = check_links(sys.argv[2], table, problems) if len(sys.argv) > 2 else 0
    for p in problems:
        print("depcheck: " + p)
    if problems:
        return 1
    print("depcheck: %d files of %d parts, %d archives: every dependency is allowed, "
          "no include cycle" % (nfiles, len(table[0]), narchives))
    return 0


if __name__ == "__main__":
    sys.exit(main())
