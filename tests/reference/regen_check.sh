#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The committed reference results regenerate byte for byte from their own runs.jsonl: the
# reports, compare files and CSV tables of results/reference (a testbed dir: `memplace report`)
# and results/reference-ab (its kernels' dirs by `memplace report`, the A/B comparison by
# `memplace compare`, as scripts/ab-compare.sh makes it). A deliberate change to those outputs
# regenerates the committed files in the same commit.
#   tests/reference/regen_check.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(cd "${1:?usage: regen_check.sh SOURCE_DIR BUILD_DIR}" && pwd)
memplace=$(cd "${2:?usage: regen_check.sh SOURCE_DIR BUILD_DIR}" && pwd)/memplace
work=$(mktemp -d /tmp/memplace-regen-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$src/results/reference" "$src/results/reference-ab" "$work/"
cd "$work"
"$memplace" report reference >/dev/null 2>&1
"$memplace" report reference-ab >/dev/null 2>&1
# scripts/ab-compare.sh compares before it draws, so its report.md has no charts section.
rm -rf reference-ab/plots
"$memplace" compare reference-ab/7.2-no-gmem-policy reference-ab/7.2 --out reference-ab >/dev/null 2>&1
differ=0 same=0
for dir in reference reference-ab; do
  while IFS= read -r f; do
    if cmp -s "$src/results/$dir/$f" "$dir/$f"; then
      same=$((same + 1))
    else
      echo "differs: results/$dir/$f"
      diff "$src/results/$dir/$f" "$dir/$f" | head -5
      differ=$((differ + 1))
    fi
  done < <(cd "$src/results/$dir" &&
           find . -path '*/plots' -prune -o \( -name report.md -o -name 'compare.*' -o \
             -name runs.csv -o -name summary.csv \) -print |
           sort)
done
echo "$same files regenerate byte for byte, $differ differ"
[[ $same -gt 0 && $differ -eq 0 ]]
