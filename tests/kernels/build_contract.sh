#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# ctest kernel_build_contract: scripts/kernel-build.sh's contract, in seconds, on a fake kernel
# tree whose Makefile stands in for the kernel's (a real build takes most of an hour): reuse of a
# current entry, a variant built in its base's tree and the tree restored afterwards, and the
# failures (unknown name, a patch that does not apply, no disk, a compiler error, SIGINT, a build
# killed outright). Then a broken copy of the real patch must fail the inputs check.
# Exit 0 all held, 1 something did not.
set -uo pipefail
[[ -n "${KB_TRACE:-}" ]] && set -x
set -m  # background jobs keep SIGINT (a non-interactive shell ignores it in them otherwise)
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$here/scripts/kernel-build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
real_cache_home=${XDG_CACHE_HOME:-}
export XDG_CACHE_HOME=$tmp/cache MEMPLACE_KERNELS_DIR=$tmp/kernels
cache=$tmp/cache/memplace
# Nothing here may download: were a build to take the fresh path by mistake, apt fails at once.
mkdir -p "$tmp/bin" && printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/apt-get" && chmod +x "$tmp/bin/apt-get"
real_path=$PATH
export PATH=$tmp/bin:$PATH
failed=0
check() {  # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failed=1; fi
}
has() { grep -qF -- "$2" <<<"$1"; }

# Definitions: a base with a fake tree and entry, variants with a good and a bad patch.
mkdir -p "$tmp/kernels/patches"
printf 'source = linux-source-7.2=7.2.13-1\nfragment = f.config\n' >"$tmp/kernels/base.conf"
printf 'source = linux-source-7.2=7.2.13-1\nfragment = f.config\n' >"$tmp/kernels/fresh.conf"
printf 'base = base\npatches = good.patch\n' >"$tmp/kernels/good.conf"
printf 'base = base\npatches = bad.patch\n' >"$tmp/kernels/bad.conf"
printf 'CONFIG_FOO=y\n# CONFIG_BAR is not set\n' >"$tmp/kernels/f.config"
cat >"$tmp/kernels/patches/good.patch" <<'EOF'
--- a/virt/kvm/guest_memfd.c
+++ b/virt/kvm/guest_memfd.c
@@ -2,3 +2,3 @@
 b
-c
+C
 d
EOF
cat >"$tmp/kernels/patches/bad.patch" <<'EOF'
--- a/virt/kvm/guest_memfd.c
+++ b/virt/kvm/guest_memfd.c
@@ -2,3 +2,3 @@
 b
-c
+C
 d
@@ -10,3 +10,3 @@
 not
-in
+the
 file
EOF

make_base() {  # the base's compiled tree and entry, both current for their inputs
  local tree=$cache/kernel-trees/base hash
  mkdir -p "$tree/virt/kvm" "$cache/builds/base"
  printf '%s\n' a b c d e f g h i j k l >"$tree/virt/kvm/guest_memfd.c"
  echo CONFIG_FOO=y >"$tree/.config"
  cat >"$tree/Makefile" <<'EOF'
olddefconfig: ; @true
kernelrelease: ; @echo 9.9.9-fake
bzImage:
	echo bzImage >>make-calls
	@if [ -n "$$FAKE_FAIL" ]; then for i in $$(seq 1 25); do echo "fake compiler line $$i"; done; exit 1; fi
	@if [ -n "$$FAKE_SLEEP" ]; then echo $$$$ >"$$FAKE_SLEEP"; sleep 60; fi
	mkdir -p arch/x86/boot && echo image >arch/x86/boot/bzImage && echo map >System.map
modules: ; @true
modules_install:
	mkdir -p $(INSTALL_MOD_PATH)/lib/modules/9.9.9-fake/kernel
	cp virt/kvm/guest_memfd.c $(INSTALL_MOD_PATH)/lib/modules/9.9.9-fake/kernel/kvm.ko
EOF
  hash=$("$build" --inputs-hash base) || return 1
  echo "$hash" >"$tree/.memplace-tree"
  printf '{\n  "inputs_sha256": "%s"\n}\n' "$hash" >"$cache/builds/base/build.json"
  echo base-image >"$cache/builds/base/bzImage"
}
make_base || { echo "FAIL: --inputs-hash"; exit 1; }

out=$("$build" nosuch 2>&1); rc=$?
check "unknown build exits 2 and lists the defined ones" test $rc -eq 2
check "  ... naming them" has "$out" "defined: bad base fresh good"

base_tree=$cache/kernel-trees/base
restored() {  # the base's tree as it was: its source unpatched, nothing recorded as applied
  grep -qx c "$base_tree/virt/kvm/guest_memfd.c" && ! grep -qx C "$base_tree/virt/kvm/guest_memfd.c" &&
    test ! -e "$base_tree/.memplace-applied"
}

# A build killed outright (SIGKILL) left good.patch applied in the base's tree.
(cd "$base_tree" && patch -p1 -s <"$tmp/kernels/patches/good.patch")
mkdir -p "$base_tree/.memplace-applied" && cp "$tmp/kernels/patches/good.patch" "$base_tree/.memplace-applied/0-good.patch"
out=$("$build" bad 2>&1); rc=$?
check "a patch that does not apply exits 2" test $rc -eq 2
check "  ... naming the patch, file and hunk" \
  has "$out" "kernels/patches/bad.patch does not apply to linux-source-7.2=7.2.13-1: virt/kvm/guest_memfd.c hunk #2 (at line 10)"
check "  ... leaving no entry or tree" test ! -e "$cache/builds/bad" -a ! -e "$cache/kernel-trees/bad"
check "  ... after taking a killed build's patch back out of the base's tree" restored

out=$(MEMPLACE_TEST_KERNEL_NEED_MB=999999999 "$build" fresh 2>&1); rc=$?
check "not enough disk exits 3" test $rc -eq 3
check "  ... saying so" has "$out" "not enough disk in $cache"
check "  ... before fetching anything" test ! -e "$cache/sources" -a ! -e "$cache/apt"

out=$(FAKE_FAIL=1 "$build" good 2>&1); rc=$?
check "a compiler failure exits 3" test $rc -eq 3
check "  ... with the log's last lines" has "$out" "fake compiler line 25"
check "  ... but not all of them" bash -c '! grep -qx "fake compiler line 1" <<<"$1"' _ "$out"
check "  ... and the log's path" has "$out" "full log: $cache/build-logs/good.log"
check "  ... and no entry" test ! -e "$cache/builds/good"
check "  ... and the base's tree restored" restored

FAKE_SLEEP=$tmp/sleep.pid "$build" good >"$tmp/int.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [[ -s "$tmp/sleep.pid" ]] && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"; rc=$?
check "SIGINT during make exits 130" test $rc -eq 130
check "  ... saying so" has "$(cat "$tmp/int.out")" "interrupted by SIGINT during compile"
check "  ... and stops make" bash -c '! kill -0 "$(cat "$1")" 2>/dev/null' _ "$tmp/sleep.pid"
check "  ... leaving no entry, staged or final" \
  bash -c '! compgen -G "$1/builds/*good*[^k]" >/dev/null' _ "$cache"
check "  ... and the base's tree restored" restored

out=$("$build" good 2>&1); rc=$?
check "a variant builds on its base's tree" test $rc -eq 0
check "  ... after the base was found current" has "$out" "up to date: $cache/builds/base"
check "  ... with a build.json that parses" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b["name"] == "good" and b["base"] == "base" and b["release"] == "9.9.9-fake"
assert [p["file"] for p in b["patches"]] == ["good.patch"] and len(b["patches"][0]["sha256"]) == 64
assert b["source"] == {"package": "linux-source-7.2", "version": "7.2.13-1", "deb_sha256": ""}
assert len(b["fragment"]["config_lines_sha256"]) == 64 and b["cpu_seconds"] >= 0
assert b["files"]["modules"] == "modules/lib/modules/9.9.9-fake" and b["image_same_as_base"] is False
assert set(b["phase_seconds"]) >= {"compile", "modules", "package"}
' "$cache/builds/good/build.json"
check "  ... the image" test -f "$cache/builds/good/bzImage"
check "  ... and modules made from the patched source" \
  grep -qx C "$cache/builds/good/modules/lib/modules/9.9.9-fake/kernel/kvm.ko"
check "  ... in the base's tree, restored afterwards" restored
check "  ... and no tree of its own" test ! -e "$cache/kernel-trees/good"
calls=$(wc -l <"$base_tree/make-calls")
out=$("$build" good 2>&1); rc=$?
check "a current entry is reused" test $rc -eq 0
check "  ... without running make" test "$(wc -l <"$base_tree/make-calls")" -eq "$calls"
sed -i '1i A new explanation at the top of the patch.' "$tmp/kernels/patches/good.patch"
sed -i '1i # A new comment' "$tmp/kernels/f.config"
check "comments in a patch or fragment change nothing" bash -c '! grep -q stale <<<"$1"' _ "$("$build" --list)"
echo "+D" >>"$tmp/kernels/patches/good.patch"
check "a changed diff makes the entry stale" has "$("$build" --list)" "good                         9.9.9-fake"
check "  ... saying so" has "$("$build" --list)" "stale (inputs changed)"

# A source update that breaks the real patch must fail the inputs check (needs the source .deb).
export MEMPLACE_KERNELS_DIR=$tmp/real-kernels XDG_CACHE_HOME=$real_cache_home PATH=$real_path
[[ -n "$XDG_CACHE_HOME" ]] || unset XDG_CACHE_HOME
cp -r "$here/kernels" "$tmp/real-kernels"
sed -i 's/^ static const struct vm_operations_struct kvm_gmem_vm_ops = {$/ static const struct vm_ops_renamed = {/' \
  "$tmp/real-kernels/patches/no-gmem-policy.patch"
out=$("$here/tests/kernels/inputs_check.sh" 2>&1); rc=$?
if [[ $rc -eq 77 ]]; then
  echo "skip: the broken-patch case needs the source package: $out"
else
  check "the inputs check fails on a patch that no longer applies" test $rc -eq 1
  check "  ... naming the hunk" has "$out" "Hunk #2 FAILED"
fi
exit $failed
