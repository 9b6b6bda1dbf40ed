#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run by `make lint`, which CI runs after the tests: .clang-tidy's checks over every translation unit
# the build compiles for harness/, guest-agent/ and workloads/ (the unity batches of
# compile_commands.json, so each source is read once). Exit 1 on any finding.
#   tests/structure/tidy_check.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$(cd "${1:?usage: tidy_check.sh SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: tidy_check.sh SOURCE_DIR BUILD_DIR}" && pwd)
tidy=$(command -v clang-tidy || command -v clang-tidy-14) || {
  echo "clang-tidy is not installed (scripts/install-deps.sh installs it)"
  exit 1
}
[[ -f $build/compile_commands.json ]] || { echo "no $build/compile_commands.json"; exit 1; }
# The units, in a compile database without GCC's precompiled header (clang cannot read it; every
# source includes what it uses, the header only saves time).
db=$(mktemp -d)
log=$db/log
trap 'rm -rf "$db"' EXIT
mapfile -t units < <(python3 - "$build/compile_commands.json" "$db/compile_commands.json" <<'PY'
import json, re, sys
out = []
for e in json.load(open(sys.argv[1])):
    f = e["file"]
    if "/tests/" in f or "memplace_pch" in f:
        continue
    cmd = re.sub(r" -include \S*cmake_pch\.hxx", "", e["command"]).replace(" -Winvalid-pch", "")
    out.append(dict(e, command=cmd))
    print(f)
json.dump(out, open(sys.argv[2], "w"))
PY
)
printf '%s\n' "${units[@]}" |
  (cd "$src" && xargs -P "$(nproc)" -n 1 "$tidy" -p "$db" --quiet >"$log" 2>&1)
findings=$(grep -cE '(warning|error): ' "$log")
if [[ $findings -gt 0 ]]; then
  grep -E '(warning|error): ' "$log" | sort -u
  echo "FAIL: $findings clang-tidy finding(s) in ${#units[@]} translation units"
  exit 1
fi
echo "ok: ${#units[@]} translation units clean under .clang-tidy"
