#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The default experiment (`make experiment`): the cover letter's analysis on this machine, from
# a fresh clone. Installs what is missing, builds only what the experiment runs (memplace and
# the guest agent), runs, and ends with how long each phase took.
# With two or more memory nodes it runs on the host itself; otherwise it runs in the emulated
# 2-node testbed on a generic (6.18) and a NUMA-aware (newest 7.x) kernel.
#   scripts/experiment.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=${1:?usage: experiment.sh BUILD_DIR OUT_DIR}
out=${2:?usage: experiment.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
memplace=$build/memplace

phases=()
phase_start=0
begin() { phase_start=$(date +%s%N); echo "experiment: $1" >&2; }
end() {
  local ms=$((($(date +%s%N) - phase_start) / 1000000))
  phases+=("$(printf '%-24s %5d.%01d s' "$1" $((ms / 1000)) $((ms % 1000 / 100)))")
}

begin "installing missing Debian packages"
"$here/scripts/install-deps.sh" --check --for experiment >/dev/null 2>&1 ||
  "$here/scripts/install-deps.sh" --for experiment
end "packages"

begin "building memplace and memplace-agent"
[[ -f $build/build.ninja ]] || cmake -S "$here" -B "$build" -G Ninja >/dev/null
cmake --build "$build" -j "$(nproc)" --target memplace memplace-agent
end "build"

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

begin "running $(basename "$spec")"
"$memplace" probe
status=0
"$memplace" run "$spec" --out "$out" || status=$?
end "experiment (all of it)"

# The testbed's own split: each kernel's fetch, boot and runs, from its manifest.
for manifest in "$out"/*/manifest.json; do
  [[ -f $manifest ]] || continue
  python3 - "$manifest" <<'PY' || true
import json, os, sys
m = json.load(open(sys.argv[1]))
label = os.path.basename(os.path.dirname(sys.argv[1]))
def f(key):
    v = m.get(key)
    return f"{v:7.1f} s" if isinstance(v, (int, float)) and v >= 0 else "      - "
print(f"  {label}: fetch {f('fetch_seconds')}, boot {f('boot_seconds')}, boot+runs {f('wall_seconds')}")
PY
done > "$out/.phases" 2>/dev/null || true

echo >&2
echo "experiment: time per phase" >&2
for p in "${phases[@]}"; do echo "  $p" >&2; done
[[ -s $out/.phases ]] && cat "$out/.phases" >&2
rm -f "$out/.phases"
echo "experiment: report at $out/report.html (and report.md, charts in $out/plots/)" >&2
exit $status
