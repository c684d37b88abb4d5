#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that the module's files call only down their floors (make lint).

The floors are the ones module/hugedma.h lists, top first, in its comment
"Files call only down the floors".  An arrow A -> B is drawn wherever file A
calls or names a non-static function that file B defines; every arrow must go
from a higher floor to a lower one, so the files form no circle.  kunit.c, the
KUnit tests that include the pure files into a module of their own, counts as
the top floor.

  python3 tests/floors.py [--arrows]     exit 1 and name each upward arrow
"""
import os
import re
import sys

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
mod = os.path.join(top, "module")


def floors():
    text = open(os.path.join(mod, "hugedma.h")).read()
    m = re.search(r"Files call only down the floors[^\n]*\n \*\n((?: \*   [^\n]*\n)+)", text)
    if not m:
        sys.exit("tests/floors.py: no floor list in module/hugedma.h")
    rows = [line[len(" *   "):].split("  ")[0] for line in m.group(1).splitlines()]
    level = {}
    for i, row in enumerate(reversed(rows)):
        for name in row.split(","):
            level[name.strip() + ".c"] = i
    level["kunit.c"] = len(rows)
    return level


def strip(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def arrows():
    files = sorted(f for f in os.listdir(mod) if f.endswith(".c"))
    src = {f: strip(open(os.path.join(mod, f)).read()) for f in files}
    owner = {}
    for f in files:
        for m in re.finditer(r"^([A-Za-z_][\w \*]*?)\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*\{",
                             src[f], flags=re.M):
            if "static" not in m.group(1).split():
                owner.setdefault(m.group(2), set()).add(f)
    owner = {n: fs.pop() for n, fs in owner.items() if len(fs) == 1}
    edges = set()
    for f in files:
        for name in set(re.findall(r"\b[A-Za-z_]\w*\b", src[f])):
            o = owner.get(name)
            if o and o != f:
                edges.add((f, o, name))
    return files, edges


def main():
    level = floors()
    files, edges = arrows()
    bad = []
    for f in files:
        if f not in level:
            bad.append(f"{f}: on no floor of module/hugedma.h's list")
    for a, b, name in sorted(edges):
        la, lb = level.get(a, -1), level.get(b, -1)
        up = la <= lb
        if up:
            bad.append(f"{a} -> {b} ({name}): not downward")
        if "--arrows" in sys.argv[1:]:
            print(f"{'UP' if up else '  '} {a} -> {b} ({name})")
    for line in bad:
        print("tests/floors.py:", line, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
