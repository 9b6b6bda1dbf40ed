#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The A/B's comparison and charts, for scripts/experiment-ab.sh and scripts/reference.sh:
# `memplace compare` with the build without the series as the baseline, so the series shows up as
# fixes (as 6.18 against 7.x does in results/reference/), and `memplace plot`.
#   scripts/ab-compare.sh MEMPLACE OUT_DIR
set -euo pipefail
memplace=${1:?usage: ab-compare.sh MEMPLACE OUT_DIR}
out=${2:?usage: ab-compare.sh MEMPLACE OUT_DIR}
sides=()
for name in 7.2-no-gmem-policy 7.2; do
  [[ -f "$out/$name/runs.jsonl" ]] || { echo "ab-compare: no results for $name in $out" >&2; exit 1; }
  sides+=("$out/$name")
done
"$memplace" compare "${sides[@]}" --out "$out" >/dev/null
"$memplace" plot "${sides[@]}" --out "$out/plots"
echo "ab-compare: $out/compare.md, $out/plots/" >&2
