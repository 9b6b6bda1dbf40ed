#!/usr/bin/env bash
# The default experiment (`make experiment`): the cover letter's analysis on this machine.
# With two or more memory nodes it runs on the host itself; otherwise it runs in the emulated
# 2-node testbed on a generic (6.18) and a NUMA-aware (newest 7.x) kernel.
#   scripts/experiment.sh MEMPLACE_BINARY OUT_DIR
set -euo pipefail
memplace=${1:?usage: experiment.sh MEMPLACE_BINARY OUT_DIR}
out=${2:?usage: experiment.sh MEMPLACE_BINARY OUT_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)

# Memory nodes are nodes whose meminfo reports a non-zero MemTotal.
mem_nodes=0
for meminfo in /sys/devices/system/node/node*/meminfo; do
  total=$(awk '/MemTotal/ {print $4}' "$meminfo")
  [[ ${total:-0} -gt 0 ]] && mem_nodes=$((mem_nodes + 1))
done

if [[ $mem_nodes -ge 2 ]]; then
  echo "experiment: $mem_nodes memory nodes here; running on the host" >&2
  spec=$here/specs/cover-letter.toml
else
  echo "experiment: this host has $mem_nodes memory node(s), so placement cannot be judged here;" \
       "running the 2-node testbed" >&2
  spec=$here/specs/cover-letter-testbed.toml
fi

"$memplace" probe
"$memplace" run "$spec" --out "$out"
echo "experiment: report at $out/report.html (and report.md, charts in $out/plots/)" >&2
