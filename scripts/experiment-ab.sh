#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make experiment-ab`: the cover letter's matrix on one 7.2 kernel with and without guest_memfd's
# shared-policy hooks (specs/series-ab.toml). Builds whatever kernel is missing (niced: it takes
# many minutes), then memplace and the agent, runs both kernels in the testbed, compares them and
# plots. Expected: exactly the guest_memfd cells with a non-default policy differ.
#   scripts/experiment-ab.sh BUILD_DIR OUT_DIR [memplace run options...]
set -euo pipefail
build=${1:?usage: experiment-ab.sh BUILD_DIR OUT_DIR [run options]}
out=${2:?usage: experiment-ab.sh BUILD_DIR OUT_DIR [run options]}
shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
memplace=$build/memplace
spec=$here/specs/series-ab.toml

echo "experiment-ab: the kernels (reused when already built)" >&2
nice -n "${NICE:-19}" "$here/scripts/kernel-build.sh" 7.2 7.2-no-gmem-policy

echo "experiment-ab: memplace and memplace-agent" >&2
[[ -f $build/build.ninja ]] || cmake -S "$here" -B "$build" -G Ninja >/dev/null
cmake --build "$build" -j "$(nproc)" --target memplace memplace-agent

"$memplace" run "$spec" --out "$out" "$@"
"$here/scripts/ab-compare.sh" "$memplace" "$out"
