#!/usr/bin/env python3
"""check-layers: the dependency rules between the folders of src/.

- SQL, the SQLite API and libpq live in src/store/ only (the store owns the schema).
- No include cycle between folders: a folder's includes of other folders form a
  graph without cycles, except the ones listed in KNOWN (being taken apart;
  a new one fails).
Prints the folder graph with -v."""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
KNOWN = set()
SQL = re.compile(r"sqlite3|libpq|\bPQ[a-z]\w*\(|\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|INDEX)|"
                 r"ALTER TABLE|BEGIN IMMEDIATE)\b")

failed = False
edges = {}
for d, _, files in os.walk(ROOT):
    for f in sorted(files):
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join(d, f)
        rel = os.path.relpath(path, ROOT)
        folder = rel.split(os.sep)[0] if os.sep in rel else ""
        text = open(path, encoding="utf-8", errors="replace").read()
        if folder != "store":
            for n, line in enumerate(text.splitlines(), 1):
                if SQL.search(line):
                    print("check-layers: SQL outside src/store/: src/%s:%d: %s" % (rel, n, line.strip()))
                    failed = True
        for m in re.finditer(r'^\s*#\s*include\s+"([a-z_]+)/', text, re.M):
            to = m.group(1)
            if folder and to != folder and os.path.isdir(os.path.join(ROOT, to)):
                edges.setdefault(folder, set()).add(to)


def reaches(a, b):
    seen, todo = set(), [a]
    while todo:
        x = todo.pop()
        for y in edges.get(x, ()):
            if y == b:
                return True
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return False


for a in sorted(edges):
    for b in sorted(edges[a]):
        if reaches(b, a) and tuple(sorted((a, b))) not in KNOWN:
            print("check-layers: include cycle between src/%s and src/%s" % (a, b))
            failed = True
if "-v" in sys.argv:
    for a in sorted(edges):
        print("%s -> %s" % (a, " ".join(sorted(edges[a]))))
if failed:
    sys.exit(1)
print("check-layers: ok")
