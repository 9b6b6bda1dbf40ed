#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The host suites (host, e2e) once per hidden feature: each mask runs, under feature_mask, only
# the tests labelled with a feature it hides (tests/feature_labels.py), and those must pass there
# too: by skipping for the probe's reason, or by checking that memplace answers "unsupported".
# Before each run the mask is proven: `memplace probe --require F` must answer "no" under it.
#   tests/masks/run_masks.sh BUILD_DIR [MASK...]    (default: every mask)
# Prints one line per mask (ran, passed, skipped, failed) and a few skip reasons; logs in
# BUILD_DIR/masks/. Exit 1 when a test failed or a mask did not hide its feature.
set -uo pipefail
build=${1:?usage: run_masks.sh BUILD_DIR [MASK...]}
shift
build=$(cd "$build" && pwd)
mask_tool=$build/tests/feature_mask
memplace=$build/memplace
jobs=${TEST_JOBS:-$(( $(nproc) + 1 ))}

# mask | the feature the probe must then lack | the labels of the tests it runs
table=(
  "kvm|kvm|kvm|guest_memfd|guest_memfd_mmap|sw_protected_vm"
  "guest_memfd|guest_memfd|guest_memfd|guest_memfd_mmap|sw_protected_vm"
  "guest_memfd_mmap|guest_memfd_mmap|guest_memfd_mmap"
  "bpf|bpf|bpf"
  "tracefs|tracefs|tracefs"
  "memcg|memcg|memcg"
)

if [[ $(id -u) -ne 0 ]]; then
  echo "feature masks: skipped: they need root (mount namespaces, seccomp)"
  exit 0
fi
if [[ ! -x $mask_tool ]]; then
  echo "feature masks: $mask_tool is not built (libseccomp-dev missing?)" >&2
  exit 1
fi
mkdir -p "$build/masks"
failed=0
printf '%-18s %5s %6s %7s %6s %s\n' mask ran passed skipped failed seconds
for row in "${table[@]}"; do
  IFS='|' read -r mask feature labels <<<"$row"
  if [[ $# -gt 0 && " $* " != *" $mask "* ]]; then continue; fi
  log=$build/masks/$mask.log
  # The proof that the mask hides what it says: the product's own probe, under it, says no
  # (exit 1). The tool's own exit 125 means this host cannot hide it (no mount namespace in
  # this container, say): that mask is skipped, with the tool's reason.
  "$mask_tool" --hide "$mask" -- "$memplace" probe --require "$feature" >"$log.probe" 2>&1
  case $? in
    1) ;;
    125)
      printf '%-18s skipped: %s\n' "$mask" "$(grep -m1 feature_mask "$log.probe")"
      continue ;;
    *)
      echo "feature masks: under --hide $mask the probe still finds $feature:" >&2
      cat "$log.probe" >&2
      failed=1
      continue ;;
  esac
  start=$(date +%s)
  "$mask_tool" --hide "$mask" -- ctest --test-dir "$build" -j "$jobs" -L "^(${labels})\$" \
    -LE '^(emulated|script)$' --output-on-failure --output-junit "$log.xml" >"$log" 2>&1
  rc=$?
  total=$(sed -nE 's/.* tests failed out of ([0-9]+).*/\1/p' "$log" | tail -1)
  nfail=$(sed -nE 's/.*, ([0-9]+) tests failed out of.*/\1/p' "$log" | tail -1)
  nskip=$(grep -c '(Skipped)' "$log")
  total=${total:-0} nfail=${nfail:-0}
  printf '%-18s %5d %6d %7d %6d %s\n' "$mask" "$total" $((total - nfail - nskip)) "$nskip" \
    "$nfail" $(($(date +%s) - start))
  # A few skip reasons as the tests printed them (the probe's words).
  grep -ohE 'needs [a-z_0-9]+ \(probe: .*\)' "$log.xml" | sort | uniq -c | sort -rn | head -2 |
    sed 's/^ */    skipped: /'
  if [[ $rc -ne 0 || $nfail -ne 0 || $total -eq 0 ]]; then
    failed=1
    sed -n '/The following tests FAILED/,$p' "$log"
    [[ $total -eq 0 ]] && echo "feature masks: --hide $mask ran no test" >&2
  fi
done
exit $failed
