#!/usr/bin/env bash
# Regenerates the committed reference results (results/reference/): the cover letter's
# experiment in the 2-node testbed on Debian 6.18 (no guest_memfd shared policy) and the newest
# 7.x (with it), three repeats per cell. The run itself leaves the cross-kernel comparison, the
# charts (plots/) and report.html, as every `memplace run` does.
#   scripts/reference.sh MEMPLACE_BINARY [OUT_DIR]
set -euo pipefail
memplace=$(realpath "${1:?usage: reference.sh MEMPLACE_BINARY [OUT_DIR]}")
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${2:-$here/results/reference}")
name=$(basename "$out")

# Built in a temporary parent, with relative paths, so the committed files name no machine's
# directories; the old results are replaced only once the new ones are complete.
mkdir -p "$(dirname "$out")"
stage=$(mktemp -d "$(dirname "$out")/.reference-XXXXXX")
trap 'rm -rf "$stage"' EXIT
cd "$stage"
"$memplace" run "$here/specs/cover-letter-testbed.toml" --repeats 3 --out "$name"
kernels=()
for dir in "$name"/*/; do
  [[ -f "$dir/runs.jsonl" ]] && kernels+=("${dir%/}")
done
if [[ ${#kernels[@]} -lt 2 ]]; then
  echo "reference: expected results for two kernels, got ${#kernels[@]}" >&2
  exit 1
fi
if [[ ! -f "$name/plots/headline.png" || ! -f "$name/report.html" ]]; then
  echo "reference: the run left no charts or report.html (is python3-matplotlib installed?)" >&2
  exit 1
fi
# Keep what a reader needs; the guest consoles stay only for failed runs.
for dir in "${kernels[@]}"; do
  if ! grep -q '"status":"failed"' "$dir/runs.jsonl"; then rm -f "$dir/console.log" "$dir/qemu.log"; fi
done
rm -rf "$out"
mv "$name" "$out"
echo "reference: results in $out" >&2
