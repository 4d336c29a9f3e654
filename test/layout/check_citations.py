#!/usr/bin/env python3
"""check_citations.py SOURCE_DIR - fail when a tracked file cites a document
the repository does not hold.

The project's own documents are docs/ (design.md, testing.md,
performance.md), README.md and the RFCs and standards cited by section.
Refused: "spec 4" / "Spec section 2" style references to an outside
specification, "(notes)", issue numbers ("issue 9", "#12"), commit ids,
the names of outside documents. Prints each offending line; exit status 1 if any, 77
(skipped) when the folder is no git checkout."""
import os
import re
import subprocess
import sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
SELF = os.path.relpath(os.path.abspath(__file__), root)
PATTERNS = [
    (re.compile(r"\b[Ss]pec(ification)?( section)? \d"), "an outside specification's section"),
    (re.compile(r"\([Nn]otes\)"), "\"(notes)\""),
    (re.compile(r"\b[Ii]ssue #?\d+"), "an issue number"),
    (re.compile(r"(?<![\w&])#\d{1,4}\b(?!\w)"), "an issue number"),
    (re.compile(r"product-spec|plugin-notes|shared/docs|TEAM\.md"), "an outside document"),
    (re.compile(r"\bcommit [0-9a-f]{7,40}\b|\b[0-9a-f]{7,40} on branch\b"), "a commit id"),
]
# Text that matches a pattern without being a citation.
ALLOW = re.compile(r"#\d+\s*(=|\))|'#\d|\"#\d|#[0-9a-fA-F]{6}\b")

try:
    ls = subprocess.run(["git", "-C", root, "ls-files"], capture_output=True, text=True,
                        timeout=60)
except OSError as e:
    ls = None
    why = str(e)
if ls is None or ls.returncode != 0 or not ls.stdout.strip():
    # The files to check are the tracked ones: without a git checkout (a
    # package build's copy of the tree) there is nothing to go by.
    print("SKIP: %s is no git checkout (%s)" % (root, why if ls is None else
                                                  (ls.stderr.strip() or "no tracked files")))
    sys.exit(77)
files = ls.stdout.split("\n")
hits = []
for rel in files:
    if not rel or rel == SELF or rel.startswith("fuzz/corpus/"):
        continue
    path = os.path.join(root, rel)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        continue
    for n, line in enumerate(lines, 1):
        for rx, what in PATTERNS:
            m = rx.search(line)
            if m and not ALLOW.search(line[max(0, m.start() - 2):m.end() + 3]):
                hits.append("%s:%d: %s: %s" % (rel, n, what, line.strip()[:160]))
print("%d tracked files checked, %d citations of outside documents" % (len(files), len(hits)))
for h in hits:
    print("  " + h)
sys.exit(1 if hits else 0)
