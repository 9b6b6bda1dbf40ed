#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run by every `make test` (ctest comment_files): a comment that names a source file
("see qemu_run.h", "workload_timing.cc") names one that exists, so a reader is never sent to
a file that was renamed or removed. Looks at the comments of C++, Python, shell and CMake
files under the given folders; a name counts when some file in the repository has it as its
name or its path's ending. Prints each stale name; exit 1 if there is one."""
import pathlib
import re
import subprocess
import sys

NAME = re.compile(r"(?<![\w./$-])((?:[\w-]+/)*[\w-]+\.(?:cc|h|py|sh|c|cmake))\b")
COMMENT = {
    ".cc": re.compile(r"//(.*)$"), ".h": re.compile(r"//(.*)$"), ".c": re.compile(r"//(.*)$"),
    ".py": re.compile(r"#(.*)$"), ".sh": re.compile(r"#(.*)$"), ".txt": re.compile(r"#(.*)$"),
}


def known_paths(top):
    files = subprocess.run(["git", "-C", str(top), "ls-files", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, text=True).stdout.split()
    return set(files)


# Headers of the system and of the kernel's tree are named too; they are not this repository's.
SYSTEM = [pathlib.Path("/usr/include"), *pathlib.Path("/usr/include").glob("*-linux-gnu"),
          pathlib.Path("/usr/include/traceevent")]


def exists(name, paths):
    if name.startswith(("include/", "uapi/", "tools/")):
        return True  # a path in the kernel's source tree
    if any((d / name).exists() for d in SYSTEM):
        return True
    return any(p == name or p.endswith("/" + name) for p in paths)


def main():
    top = pathlib.Path(sys.argv[1])
    folders = [top / a for a in sys.argv[2:]]
    paths = known_paths(top)
    stale = []
    for folder in folders:
        for f in sorted(folder.rglob("*")):
            pattern = COMMENT.get(f.suffix if f.name != "CMakeLists.txt" else ".txt")
            if not f.is_file() or pattern is None:
                continue
            for lineno, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                m = pattern.search(line)
                if not m:
                    continue
                for name in NAME.findall(m.group(1)):
                    if not exists(name, paths):
                        stale.append(f"{f.relative_to(top)}:{lineno}: names {name}, which does not exist")
    for line in stale:
        print(line)
    if stale:
        print(f"FAIL: {len(stale)} comment(s) name a file that does not exist")
        return 1
    print("ok: every file a comment names exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
