#!/usr/bin/env bash
# Installs memplace's build and run dependencies from Debian's archive. Idempotent: when every
# package is already installed it changes nothing and exits in well under a second.
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --check  exit 1 (listing them) if anything is missing
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libnuma-dev numactl libhwloc-dev hwloc
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  libgtest-dev libbenchmark-dev
  python3 python3-matplotlib
  qemu-system-x86 busybox-static cpio zstd xz-utils e2fsprogs
  stress-ng clang
  # make fuzz: libFuzzer and the sanitizer runtimes (-fsanitize=fuzzer,address,undefined) are
  # only Recommended by clang, which --no-install-recommends leaves out.
  libclang-rt-dev
  # hwloc's XML support (libxml2) is a plugin, only Recommended by the hwloc packages: without it
  # the sparse-topology fixtures cannot be parsed.
  libhwloc-plugins
  ccache
  # Placement of memory the host cannot map: page-allocation tracing.
  libtracefs-dev libtraceevent-dev
  # Test kernels built from Debian's source (make kernels).
  flex bison libelf-dev bc libssl-dev patch kmod
  # Many hosts: a one-node Slurm cluster in the tests.
  slurmctld slurmd slurm-client munge
  # report.html checked in a real browser.
  chromium
  # make check-fresh: the test suite in a clean bookworm chroot.
  debootstrap
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: these packages are missing and installing them needs root:" >&2
  echo "  apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
