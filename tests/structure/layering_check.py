#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run by every `make test` (ctest include_layering): a folder of harness/src includes only
folders above it in the code map (docs/contributing.md), so arrows point one way. Prints every
include that points up; exit 1 if there is one."""
import pathlib
import re
import sys

# The same order as MEMPLACE_LAYERS in CMakeLists.txt, where the linker enforces it; this check
# is the fast feedback.
ORDER = ["base", "host", "placement", "probe", "agent", "spec", "results", "experiment", "touchers",
         "kernels", "qemu", "testbed", "report", "exec", "cluster", "cli"]
INCLUDE = re.compile(r'\s*#\s*include\s+"(\w+)/')


def upward_includes(src):
    for folder in ORDER:
        # A folder's subfolders (kernel/bpf/) are part of its layer.
        for path in sorted(p for p in (src / folder).rglob("*") if p.is_file()):
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) in ORDER and ORDER.index(m.group(1)) > ORDER.index(folder):
                    yield f"{path.relative_to(src)}:{lineno}: {folder}/ includes {m.group(1)}/"


def main():
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "harness/src")
    missing = [f for f in ORDER if not (src / f).is_dir()]
    if missing:
        print(f"FAIL: no {', '.join(missing)} under {src}")
        return 1
    bad = list(upward_includes(src))
    for line in bad:
        print(f"FAIL: {line}")
    known = {p.name for p in src.iterdir() if p.is_dir()}
    for extra in sorted(known - set(ORDER)):
        print(f"FAIL: {extra}/ is in no layer of the Code map")
        bad.append(extra)
    if not bad:
        print(f"ok: no include points up across {len(ORDER)} folders")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
