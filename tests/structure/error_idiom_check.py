#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run by every `make test` (ctest error_idiom): an error's kind and errno are set where it
arises, and context is added one way, Error::prefixed (base/result.h). Two other forms lost the
kind and printed errno twice, so this rejects them: a new error whose message embeds another
error's describe() or message (make_error("ctx: " + e.describe())), and an Error{...} built outside
base/result.h. Prints each place; exit 1 if there is one."""
import pathlib
import re
import sys

MAKERS = re.compile(r"\b(make_error|bad_input_error|unsupported_error|errno_error)\s*\(")
BRACED = re.compile(r"\bError\s*\{")


def call_span(text, open_paren):
    """The text of a call's arguments, from its '(' to the matching ')'."""
    depth, i, quote = 0, open_paren, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return text[open_paren:i + 1]
        i += 1
    return text[open_paren:]


def problems(path, text):
    for m in MAKERS.finditer(text):
        args = call_span(text, m.end() - 1)
        if ".describe()" in args or ".error().message" in args:
            line = text.count("\n", 0, m.start()) + 1
            yield f"{path}:{line}: {m.group(1)}(... describe() ...): use e.prefixed(context)"
    if path.name != "result.h":
        for m in BRACED.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            yield f"{path}:{line}: Error{{...}}: use make_error/errno_error/... or prefixed()"


def main():
    roots = [pathlib.Path(a) for a in sys.argv[1:]] or [pathlib.Path("harness/src")]
    bad = [p for root in roots for f in sorted(root.rglob("*"))
           if f.suffix in (".cc", ".h") for p in problems(f, f.read_text())]
    for line in bad:
        print(line)
    if bad:
        print(f"FAIL: {len(bad)} error(s) built another way than the one idiom")
        return 1
    print("ok: one error idiom")
    return 0


if __name__ == "__main__":
    sys.exit(main())
