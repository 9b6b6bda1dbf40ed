#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# shellcheck disable=SC2317  # the steps run through "step_$1" and look unreachable to it
# `make check-deb`: the .deb installed by apt into a fresh Debian 12 root, then used as a user
# would. This script runs INSIDE that root, one step per call, started by
# `scripts/check-fresh.sh --deb FILE` (which makes the root, copies this script and the .deb
# into the current directory, and times each step as a phase). Steps, in this order:
#   install  apt-get install ./memplace_*.deb: Depends and Recommends come from Debian's archive
#   probe    memplace probe, text and JSON; the QEMU it finds is the one Recommends brought
#   run      one local cell (host toucher, anonymous memory, 4 MiB), no charts
#   report   memplace report with charts (matplotlib came with Recommends); memplace plot
#   qemu     one qemu-toucher cell: Debian's newest cloud kernel fetched, an initramfs of
#            busybox-static and the agent found beside /usr/bin/memplace, a guest that says hello
#   man      man-db installed, then `man memplace` and the other pages; the docs are in place
#   remove   apt-get purge leaves nothing of memplace behind (also the chart scripts' caches)
# Usage: deb_install_check.sh STEP. Exit 0 passed, 1 a check failed, 2 bad usage.
set -uo pipefail

out=/tmp/memplace-deb-check  # the results dir the steps share
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }
ok() { echo "ok: $*" >&2; }
# must NAME CMD...: CMD exits 0, its output kept in $out.logs/NAME.log (shown on failure).
must() {
  local name=$1; shift
  mkdir -p "$out.logs"
  if "$@" >"$out.logs/$name.log" 2>&1; then ok "$name"; else
    local rc=$?
    fail "$name (exit $rc): $*"
    tail -25 "$out.logs/$name.log" >&2
  fi
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

step_install() {
  local debs=(./memplace_*.deb)
  [[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || { fail "not exactly one memplace_*.deb in $PWD"; return; }
  local deb=$PWD/${debs[0]#./} version
  version=$(dpkg-deb -f "$deb" Version)
  export DEBIAN_FRONTEND=noninteractive
  must apt-update apt-get update -q
  # As a user would: Recommends are installed (apt's default).
  must apt-install apt-get install -y -q "$deb"
  installed memplace || fail "memplace is not installed"
  local p
  for p in python3-matplotlib qemu-system-x86 busybox-static zstd xz-utils; do
    installed "$p" || fail "$p (Recommends) was not installed"
  done
  [[ $(command -v memplace) == /usr/bin/memplace ]] || fail "memplace is not /usr/bin/memplace"
  [[ -x /usr/bin/memplace-agent ]] || fail "no /usr/bin/memplace-agent"
  must version memplace --version
  grep -q "memplace $version" "$out.logs/version.log" || fail "--version does not say $version"
  must verify dpkg --verify memplace
}

step_probe() {
  must probe memplace probe
  grep -q '^features' "$out.logs/probe.log" || fail "probe printed no features section"
  must probe-json memplace probe --json
  python3 - "$out.logs/probe-json.log" <<'EOF' || fail "probe --json: not the expected JSON"
import json, sys
p = json.load(open(sys.argv[1]))
assert {"kvm", "bpf", "tracefs"} <= set(p["features"]), p["features"]
assert any(q.get("binary") == "/usr/bin/qemu-system-x86_64" for q in p["qemu"]), p["qemu"]
EOF
}

step_run() {
  rm -rf "$out"
  cd /tmp || return
  must run memplace run --policy bind:0 --backing anon --size 4MiB --toucher host \
    --out "$out" --no-plots
  [[ -s $out/manifest.json ]] || fail "no manifest.json"
  grep -q '"status": *"ok"' "$out/runs.jsonl" 2>/dev/null || fail "the cell is not ok (runs.jsonl)"
  [[ ! -e $out/plots ]] || fail "--no-plots drew charts"
}

step_report() {
  # run wrote a report without charts; this one must be written anew, with them.
  rm -f "$out/report.md" "$out/report.html"
  must report memplace report "$out"
  [[ -s $out/report.md ]] || fail "no report.md"
  compgen -G "$out/plots/*.png" >/dev/null || fail "report drew no charts (plots/*.png)"
  grep -q 'plots/[^)]*\.png' "$out/report.md" || fail "report.md links no chart"
  ! grep -qi 'matplotlib' "$out/report.md" || fail "report.md says matplotlib is missing"
  must plot memplace plot "$out" --out /tmp/memplace-deb-charts
  compgen -G "/tmp/memplace-deb-charts/*.png" >/dev/null || fail "plot drew no charts"
}

step_qemu() {
  local q=$out-qemu
  rm -rf "$q"
  cd /tmp || return
  must qemu memplace run --toucher qemu --policy bind:0 --backing anon --size 4MiB \
    --out "$q" --no-plots
  python3 - "$q/runs.jsonl" <<'EOF' || fail "the qemu cell's record is not ok or has no guest"
import json, sys
r = [json.loads(line) for line in open(sys.argv[1])]
assert len(r) == 1 and r[0]["status"] == "ok", r
assert r[0]["extra"]["guest"]["kernel"], "no hello from the agent"
print("guest kernel:", r[0]["extra"]["guest_kernel"], file=sys.stderr)
EOF
}

step_man() {
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v man >/dev/null; then
    must man-db apt-get install -y -q --no-install-recommends man-db
  fi
  local page
  for page in memplace memplace-run memplace-report memplace-agent; do
    must "man-$page" env MANPAGER=cat MANWIDTH=80 man "$page"
  done
  grep -q 'memplace' "$out.logs/man-memplace.log" || fail "man memplace does not say memplace"
  grep -q -- '--size' "$out.logs/man-memplace-run.log" || fail "man memplace-run lacks --size"
  grep -q 'PID 1' "$out.logs/man-memplace-agent.log" || fail "man memplace-agent is not the agent's"
  local f
  for f in copyright changelog.gz README.md CHANGELOG.md docs/user-guide.md; do
    [[ -s /usr/share/doc/memplace/$f ]] || fail "/usr/share/doc/memplace/$f missing"
  done
  [[ -s /usr/share/memplace/specs/cover-letter.toml ]] || fail "the specs are not installed"
}

step_remove() {
  export DEBIAN_FRONTEND=noninteractive
  # Running the chart scripts as root left Python caches beside them; prerm removes those.
  [[ -d /usr/share/memplace/plots/__pycache__ ]] && echo "note: the chart scripts left __pycache__" >&2
  must purge apt-get purge -y -q memplace
  ! installed memplace || fail "memplace is still installed"
  local p
  for p in /usr/bin/memplace /usr/bin/memplace-agent /usr/share/memplace /usr/share/doc/memplace; do
    [[ ! -e $p ]] || fail "$p is left after purge"
  done
}

case "${1:-}" in
  install | probe | run | report | qemu | man | remove) "step_$1" ;;
  *) echo "usage: deb_install_check.sh install|probe|run|report|qemu|man|remove" >&2; exit 2 ;;
esac
exit "$failed"
