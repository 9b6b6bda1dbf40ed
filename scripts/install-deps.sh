#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Installs memplace's build and run dependencies from Debian's archive. Idempotent: when every
# package is already installed it changes nothing and exits in well under a second.
#   scripts/install-deps.sh [--check] [--for experiment]
#     --check           exit 1 (listing them) if anything is missing; install nothing
#     --for experiment  only what `make experiment` builds and runs: the compilers, libraries,
#                       QEMU and matplotlib, not the tools of the tests, fuzzing, kernel builds,
#                       the Slurm cluster or the browser (a fresh machine's first result waits
#                       on every package installed before it)
set -euo pipefail

# `make experiment`: configure and build (CMake finds GTest and Google Benchmark even when only
# memplace and the agent are built), the testbed's QEMU and initramfs tools, the charts.
experiment_packages=(
  build-essential cmake ninja-build pkg-config git
  libnuma-dev numactl libhwloc-dev hwloc
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  libgtest-dev libbenchmark-dev
  # Placement of memory the host cannot map: page-allocation tracing, through tracefs or
  # through BPF programs that clang compiles and libbpf loads.
  libtracefs-dev libtraceevent-dev
  libbpf-dev clang
  python3 python3-matplotlib
  qemu-system-x86 busybox-static cpio zstd xz-utils e2fsprogs
)
# Everything else: `make test`, `make bench`, `make fuzz`, `make kernels`, `make check-fresh`.
more_packages=(
  stress-ng
  # The style checks of make test (tests/structure): clang-format, and clang-tidy on changes.
  clang-format clang-tidy
  # The masked test runs (tests/masks): a seccomp filter answers "no" for one kernel feature.
  libseccomp-dev
  # make fuzz: libFuzzer and the sanitizer runtimes (-fsanitize=fuzzer,address,undefined) are
  # only Recommended by clang, which --no-install-recommends leaves out.
  libclang-rt-dev
  # hwloc's XML support (libxml2) is a plugin, only Recommended by the hwloc packages: without it
  # the sparse-topology fixtures cannot be parsed.
  libhwloc-plugins
  ccache
  # Test kernels built from Debian's source (make kernels).
  flex bison libelf-dev bc libssl-dev patch kmod
  # Many hosts: a one-node Slurm cluster in the tests.
  slurmctld slurmd slurm-client munge
  # report.html checked in a real browser.
  chromium
  # The committed results checked against docs/schema/ (tests/structure/schema_check.py), and
  # memplace's JUnit read by a real consumer (tests/e2e/test_formats_test.cc).
  python3-jsonschema python3-junitparser
  # make check-fresh: the test suite in a clean bookworm chroot.
  debootstrap
  # make deb: the package's checks (dpkg-shlibdeps comes with build-essential's dpkg-dev).
  lintian
)

check_only=0 profile=all
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) check_only=1 ;;
    --for)
      [[ "${2:-}" == experiment ]] || { echo "install-deps: --for takes 'experiment'" >&2; exit 2; }
      profile=experiment
      shift ;;
    *) echo "usage: install-deps.sh [--check] [--for experiment]" >&2; exit 2 ;;
  esac
  shift
done
packages=("${experiment_packages[@]}")
[[ $profile == experiment ]] || packages+=("${more_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if ((check_only)); then
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
