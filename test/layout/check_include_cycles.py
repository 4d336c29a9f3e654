#!/usr/bin/env python3
"""check_include_cycles.py SOURCE_DIR - fail on an include cycle.

Two graphs over include/, plugin/ and tools/ (docs/design.md, Architecture):
- headers: file -> every file it #includes "...";
- modules: a module is plugin/lib/C/M.c or tools/lib/C/M.c with its header
  include/mja/C/M.h (M_jwk.c, M_load.c, M_index.c, M_parse.c and
  M_internal.h belong to module M); a glue or tool file is a node of its
  own. Module A depends on B when a file of A includes a header of B.
Every strongly connected component of more than one node is a cycle: it is
printed, and the exit status is 1."""
import os
import re
import sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
PART = re.compile(r"_(internal|jwk|load|index|parse)$")


def sources():
    for top in ("include", "plugin", "tools"):
        for d, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith((".c", ".h")):
                    yield os.path.join(d, n)


def resolve(src, name):
    for base in (os.path.dirname(src), os.path.join(root, "include"),
                 os.path.join(root, "tools"), os.path.join(root, "plugin", "glue")):
        p = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(p):
            return p
    return None


def module(path):
    stem = os.path.splitext(os.path.relpath(path, root))[0]
    m = re.match(r"(?:include/mja|plugin/lib|tools/lib)/(\w+)/(\w+)$", stem)
    if m:
        return "%s/%s" % (m.group(1), PART.sub("", m.group(2)))
    return stem


def cycles(graph):
    """Tarjan's strongly connected components of size > 1."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    nodes = set(graph) | {w for ws in graph.values() for w in ws}
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return nodes, out


headers, modules = {}, {}
for f in sources():
    with open(f, errors="replace") as fh:
        text = fh.read()
    for name in INCLUDE.findall(text):
        t = resolve(f, name)
        if t is None:
            continue
        headers.setdefault(os.path.relpath(f, root), set()).add(os.path.relpath(t, root))
        a, b = module(f), module(t)
        if a != b:
            modules.setdefault(a, set()).add(b)

bad = False
for title, graph in (("header", headers), ("module", modules)):
    nodes, found = cycles(graph)
    print("%s graph: %d nodes, %d cycles" % (title, len(nodes), len(found)))
    for c in found:
        bad = True
        print("  cycle: " + " <-> ".join(c))
if not headers:
    print("no #include found under %s: wrong folder?" % root)
    bad = True
sys.exit(1 if bad else 0)
