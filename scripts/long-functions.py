#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Lists C++ functions longer than N lines, longest first, so the house rule (functions under
60 lines, never over 120) can be checked rather than remembered.

  scripts/long-functions.py [--over N] [--fail-over M] [PATH ...]   (default: harness/src)

A function is counted from the line its signature starts on to its closing brace; lambdas and
local classes count towards the function that holds them. The parser is a brace matcher over
the source with comments, strings and preprocessor lines blanked out: good enough for this
code base's style, not a C++ front end. Exits 1 when a function is over --fail-over lines.
"""
import argparse
import os
import re
import sys

CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else|try)\b")
NAMESPACE = re.compile(r"\bnamespace\b|\bextern\s+\"C\"")
AGGREGATE = re.compile(r"\b(class|struct|union)\b")


def blank(text):
    """The source with comments, string and char literals and preprocessor lines replaced by
    spaces, newlines kept so line numbers stay right."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":
            # A directive, with its backslash continuations.
            while i < n and not (text[i] == "\n" and text[i - 1] != "\\"):
                out.append("\n" if text[i] == "\n" else " ")
                i += 1
            continue
        line_start = False
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                out.append(" ")
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        m = re.match(r'R"([^(\s]{0,16})\(', text[i:i + 20])
        if m:
            close = ")" + m.group(1) + '"'
            end = text.find(close, i + len(m.group(0)))
            end = n if end < 0 else end + len(close)
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
            continue
        if c == "\n":
            line_start = True
        out.append(c)
        i += 1
    return "".join(out)


def function_name(header):
    paren = header.find("(")
    m = re.search(r"([~\w:]+(?:operator\s*\S+?)?)\s*$", header[:paren])
    return m.group(1) if m else header[:paren].strip()[-40:]


def classify(header, scope):
    """What a '{' opens: a namespace, a class body, a function body, or something else."""
    if scope in ("func", "other"):
        return "other"
    h = header.strip()
    if NAMESPACE.search(h):
        return "ns"
    if CONTROL.match(h) or h.endswith("=") or h.endswith("return") or not h:
        return "other"
    paren = h.find("(")
    agg = AGGREGATE.search(h)
    if agg and (paren < 0 or agg.start() < paren) and not re.search(r"\benum\b", h):
        return "class"
    if paren >= 0 and not re.search(r"=\s*[^=]*\($", h[:paren + 1]):
        return "func"
    return "other"


def functions(path):
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    stack = []  # (kind, start line, name)
    header_start = 0
    line = 1
    found = []
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c in ";":
            header_start = i + 1
        elif c == "{":
            scope = stack[-1][0] if stack else "ns"
            header = text[header_start:i]
            kind = classify(header, scope)
            first = len(header) - len(header.lstrip())
            start_line = line - header[first:].count("\n")
            stack.append((kind, start_line, function_name(header) if kind == "func" else ""))
            header_start = i + 1
        elif c == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind == "func":
                    found.append((line - start + 1, path, start, name))
            header_start = i + 1
    return found


def sources(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, _, files in os.walk(p):
            for f in sorted(files):
                if f.endswith((".cc", ".h", ".cpp", ".hpp")):
                    yield os.path.join(root, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=["harness/src"])
    ap.add_argument("--over", type=int, default=60, help="list functions longer than this")
    ap.add_argument("--fail-over", type=int, default=120, help="exit 1 above this")
    args = ap.parse_args()
    rows = [f for p in sources(args.paths) for f in functions(p)]
    rows.sort(key=lambda r: (-r[0], r[1], r[2]))
    worst = 0
    for length, path, start, name in rows:
        if length > args.over:
            print(f"{length:5d}  {path}:{start}  {name}")
        worst = max(worst, length)
    over = sum(1 for r in rows if r[0] > args.fail_over)
    print(f"{len(rows)} functions, {sum(1 for r in rows if r[0] > args.over)} over {args.over} "
          f"lines, {over} over {args.fail_over}; longest {worst}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
