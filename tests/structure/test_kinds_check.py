#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run by every `make test` (ctest test_kinds): tests/unit holds only tests that need nothing
of this host, so they pass the same on every machine. A unit test may not require a host
feature (tests/host_features.h), run a program (memplace_exec.h, MEMPLACE_BINARY, the
command_* entry points) or open a device; such a test belongs in host/ or e2e/
(tests/README.md). Prints each offending line; exit 1 if there is one."""
import pathlib
import re
import sys

FORBIDDEN = [
    (re.compile(r'#\s*include\s+"(host_features|memplace_exec)\.h"'), "needs the host"),
    (re.compile(r"\bMEMPLACE_BINARY\b"), "runs the memplace program"),
    (re.compile(r"\bcommand_[a-z_]+\("), "runs a whole command"),
    (re.compile(r'"/dev/'), "opens a device"),
    (re.compile(r"\brun_probe\(\)"), "probes this host"),
]


def main():
    unit = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "tests/unit")
    bad = 0
    for path in sorted(unit.glob("*.cc")):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            for pattern, why in FORBIDDEN:
                if pattern.search(line):
                    print(f"{path}:{lineno}: {why}: {line.strip()}")
                    bad += 1
    if bad:
        print(f"FAIL: {bad} line(s) in {unit} need the host; move those tests to host/ or e2e/")
        return 1
    print(f"ok: {unit} needs nothing of this host")
    return 0


if __name__ == "__main__":
    sys.exit(main())
