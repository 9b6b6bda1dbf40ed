#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make check-qemu11`: memplace against the newest QEMU Debian ships (11.1 from trixie-backports,
# which needs trixie's libraries, so it runs in a debootstrapped trixie root through a chroot
# wrapper). Checks that `memplace probe` reads it over QMP (sev-snp-guest: yes; no guest_memfd
# backend), and that it accepts every option of the SNP command line specs/cover-letter-snp.toml
# makes, stopping only where SNP hardware is needed.
#   tests/install/qemu11_check.sh BUILD_DIR     (root; network to deb.debian.org)
# Exit 0 passed, 1 a check failed, 3 the root could not be made.
set -euo pipefail
memplace=$(cd "${1:?usage: qemu11_check.sh BUILD_DIR}" && pwd)/memplace
repo=$(cd "$(dirname "$0")/../.." && pwd)
root=${QEMU11_ROOT:-/var/tmp/memplace-trixie}
work=$(mktemp -d /tmp/memplace-qemu11-XXXXXX)
cleanup() {
  for m in sys proc dev; do umount "$root/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "qemu11: FAIL: $*" >&2; exit 1; }

if [[ ! -x $root/usr/bin/qemu-system-x86_64 ]]; then
  debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian >"$work/debootstrap.log" ||
    { echo "qemu11: debootstrap failed ($work/debootstrap.log)" >&2; exit 3; }
  printf 'deb http://deb.debian.org/debian trixie main\ndeb http://deb.debian.org/debian trixie-backports main\n' \
    >"$root/etc/apt/sources.list"
  if ! { chroot "$root" apt-get update -q >"$work/apt.log" &&
          chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends -t trixie-backports qemu-system-x86 >>"$work/apt.log"; }; then
    echo "qemu11: installing QEMU in the root failed" >&2
    exit 3
  fi
fi
wrapper=$work/qemu-trixie
printf '#!/bin/sh\nexec chroot %s /usr/bin/qemu-system-x86_64 "$@"\n' "$root" >"$wrapper"
chmod +x "$wrapper"
"$wrapper" --version | head -1

# The probe, asked over QMP.
json=$("$memplace" probe --json --qemu "$wrapper")
python3 - "$json" <<'PY' || fail "probe"
import json, sys
q = json.loads(sys.argv[1])["qemu"][0]
print(f"probe: QEMU {q['version']}, sev-snp-guest {q['sev_snp_guest']}, "
      f"guest_memfd backend '{q['guest_memfd_backend']}', QMP error '{q['qmp_error']}'")
assert q["version"].startswith("11."), q["version"]
assert q["qmp_error"] == "" and "memory-backend-memfd" in q["memory_backends"]
assert q["sev_snp_guest"] is True
assert q["guest_memfd_backend"] == ""
PY

# The SNP command line, with stand-in kernel, initrd and firmware inside the root.
mkdir -p "$root/tmp/snp"
for f in vmlinuz initrd; do head -c 4096 /dev/zero >"$root/tmp/snp/$f"; done
head -c 2097152 /dev/zero >"$root/tmp/snp/OVMF.fd"
sed "s|^binary = .*|binary = \"$wrapper\"|; s|^ovmf = .*|ovmf = \"/tmp/snp/OVMF.fd\"|" \
  "$repo/specs/cover-letter-snp.toml" >"$work/snp.toml"
"$memplace" run "$work/snp.toml" --dry-run --policy bind:0 --size 64MiB 2>/dev/null |
  sed -n '/^  -\|^\//p' | tr -d '\134' | tr '\n' ' ' |  # \134: the backslashes
  sed "s|'<vmlinuz of [^>]*>'|/tmp/snp/vmlinuz|; s|'<initramfs[^>]*>'|/tmp/snp/initrd|;
       s|'file:<run dir>/serial.log'|file:/tmp/snp/serial.log|;
       s|path=<run dir>/agent.sock'|path=/tmp/snp/agent.sock,server=on,wait=off'|" >"$work/cmd"
for m in dev proc sys; do mount --bind "/$m" "$root/$m"; done
out=$(eval "timeout 30 $(cat "$work/cmd")" 2>&1 || true)
echo "QEMU said: $out"
grep -q "SEV-SNP not supported by KVM\|sev-snp\|/dev/sev" <<<"$out" ||
  fail "QEMU did not stop at SNP: $out"
if grep -qi "invalid parameter\|Property .* not found\|unknown option\|invalid option" <<<"$out"; then
  fail "QEMU refused an option: $out"
fi
echo "qemu11: ok"
