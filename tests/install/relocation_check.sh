#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run by every `make test` (ctest install_relocation): `cmake --install` gives a copy of memplace
# that works on its own. The copy is installed to a temporary prefix, moved elsewhere (so no
# install path is baked in either), and run with the source tree and the build dir hidden behind
# empty tmpfs mounts in a private mount namespace, which is what deleting them would look like to
# the binary: probe, one local cell, report (with charts) and plot must all work.
# Usage: relocation_check.sh SOURCE_DIR BUILD_DIR
# Exit 0 all good, 1 a check failed, 77 skipped (the reason is printed).
set -uo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
if [[ $(id -u) != 0 ]]; then echo "SKIP: hiding the build dir needs root (mount namespace)"; exit 77; fi
if ! unshare --mount true 2>/dev/null; then echo "SKIP: unshare --mount is not permitted here"; exit 77; fi
tmp=$(mktemp -d /tmp/memplace-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1; then
  echo "FAIL: cmake --install"; cat "$tmp/install.log"; exit 1
fi
mv "$tmp/prefix" "$tmp/moved"
p=$tmp/moved
for f in bin/memplace bin/memplace-agent share/memplace/plots/memplace_plots.py \
         share/memplace/specs/cover-letter.toml; do
  [[ -e $p/$f ]] || { echo "FAIL: $f was not installed"; exit 1; }
done

# Inside the namespace: hide the trees, then run the installed copy from an unrelated cwd.
unshare --mount --propagation private bash -s "$src" "$build" "$p" "$tmp" <<'INNER'
set -uo pipefail
src=$1 build=$2 p=$3 tmp=$4
mount -t tmpfs none "$src" || { echo "FAIL: cannot hide $src"; exit 1; }
[[ -d $build/CMakeFiles ]] && { mount -t tmpfs none "$build" || exit 1; }
[[ -e $src/CMakeLists.txt || -e $build/CMakeCache.txt ]] && { echo "FAIL: trees still visible"; exit 1; }
cd "$tmp" || exit 1
unset MEMPLACE_PLOTS_DIR MEMPLACE_AGENT MEMPLACE_QEMU_AGENT
failed=0
step() {
  local name=$1; shift
  if "$@" >"$tmp/$name.log" 2>&1; then echo "ok: $name"; else
    echo "FAIL: $name (exit $?)"; tail -20 "$tmp/$name.log"; failed=1; fi
}
step probe "$p/bin/memplace" probe --json
step run "$p/bin/memplace" run --policy bind:0 --backing anon --size 8MiB --toucher host \
  --out "$tmp/out" --no-plots
step report "$p/bin/memplace" report "$tmp/out"
step plot "$p/bin/memplace" plot "$tmp/out" --out "$tmp/charts"
grep -q '"status": *"ok"' "$tmp/out/runs.jsonl" || { echo "FAIL: the cell is not ok"; failed=1; }
ls "$tmp/out/plots/"*.png >/dev/null 2>&1 || { echo "FAIL: report drew no charts"; failed=1; }
ls "$tmp/charts/"*.png >/dev/null 2>&1 || { echo "FAIL: plot drew no charts"; failed=1; }
exit $failed
INNER
