#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Regenerates the committed reference results, three repeats per cell, each with its comparison
# and charts:
#   results/reference/     the cover letter's experiment in the 2-node testbed on Debian 6.18 (no
#                          guest_memfd shared policy) and the newest 7.x (with it)
#   results/reference-ab/  the same matrix on one 7.2 built with and without the series' hooks
#                          (specs/series-ab.toml); only when both builds exist (make kernels)
#   scripts/reference.sh [--ab-only] MEMPLACE_BINARY [OUT_DIR [AB_OUT_DIR]]
set -euo pipefail
ab_only=0
if [[ "${1:-}" == --ab-only ]]; then ab_only=1; shift; fi
memplace=$(realpath "${1:?usage: reference.sh [--ab-only] MEMPLACE_BINARY [OUT_DIR [AB_OUT_DIR]]}")
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${2:-$here/results/reference}")
ab_out=$(realpath -m "${3:-$here/results/reference-ab}")

# Runs SPEC into a temporary sibling of OUT, with relative paths so the committed files name no
# machine's directories, then COMPARE_CMD... with the staged dir's name appended; the old results
# are replaced only once the new ones are complete.
reference() {  # reference SPEC OUT COMPARE_CMD...
  local spec=$1 out=$2 name stage dir
  shift 2
  name=$(basename "$out")
  mkdir -p "$(dirname "$out")"
  stage=$(mktemp -d "$(dirname "$out")/.reference-XXXXXX")
  (
    trap 'rm -rf "$stage"' EXIT
    cd "$stage"
    "$memplace" run "$spec" --repeats 3 --out "$name"
    "$@" "$name"
    # Keep what a reader needs; the guest consoles stay only for failed runs.
    for dir in "$name"/*/; do
      [[ -f "$dir/runs.jsonl" ]] || continue
      grep -q '"status":"failed"' "$dir/runs.jsonl" || rm -f "$dir/console.log" "$dir/qemu.log"
    done
    rm -rf "$out"
    mv "$name" "$out"
  )
  echo "reference: results in $out" >&2
}

compare_all() {  # every kernel's dir, in name order (6.18 before 7.x)
  local name=$1 kernels=() dir
  for dir in "$name"/*/; do
    [[ -f "$dir/runs.jsonl" ]] && kernels+=("${dir%/}")
  done
  if [[ ${#kernels[@]} -lt 2 ]]; then
    echo "reference: expected results for two kernels, got ${#kernels[@]}" >&2
    return 1
  fi
  "$memplace" compare "${kernels[@]}" --out "$name" >/dev/null
  "$memplace" plot "${kernels[@]}" --out "$name/plots"
}

((ab_only)) || reference "$here/specs/cover-letter-testbed.toml" "$out" compare_all
builds=$("$here/scripts/kernel-build.sh" --list)
if grep -Eq '^7\.2-no-gmem-policy +.* current$' <<<"$builds" &&
   grep -Eq '^7\.2 +.* current$' <<<"$builds"; then
  reference "$here/specs/series-ab.toml" "$ab_out" "$here/scripts/ab-compare.sh" "$memplace"
else
  echo "reference: $ab_out not regenerated: build:7.2 and build:7.2-no-gmem-policy are not both" \
       "current (make kernels builds them)" >&2
fi
