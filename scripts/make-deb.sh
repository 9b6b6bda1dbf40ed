#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make deb`: memplace_VERSION_ARCH.deb, a plain `dpkg-deb --build` of a staged tree.
#   scripts/make-deb.sh [BUILD_DIR [OUT_DIR]]   (defaults: build-deb, the top of the tree)
#
# VERSION is CMakeLists.txt's project(... VERSION ...). BUILD_DIR is a CMake tree of its own
# (no tests, no workloads: the package needs memplace, the agent and the man pages only), made
# by the project's default build type (the optimisation the tests ran) with Debian's hardening
# flags added. The staged tree is `cmake --install --prefix /usr --strip` plus the docs; Depends
# comes from dpkg-shlibdeps, the run-time tools are Recommends and Suggests (docs/packaging.md
# says why).
# Then lintian, when installed: its findings are printed, and an error fails the build.
# Environment: JOBS (build parallelism, default nproc), DEB_MAINTAINER (the Maintainer field).
# Exit: 0 built, 1 a step failed, 2 bad usage.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$repo/build-deb}")  # absolute: later steps change directory
out=$(realpath -m "${2:-$repo}")
[[ $# -le 2 ]] || { echo "usage: make-deb.sh [BUILD_DIR [OUT_DIR]]" >&2; exit 2; }
jobs=${JOBS:-$(nproc)}
maintainer=${DEB_MAINTAINER:-memplace maintainers <maintainers@users.noreply.r-seed-44484426.example>}

say() { echo "make-deb: $*" >&2; }

version=$(sed -n 's/^project(memplace VERSION \([0-9][0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
[[ -n $version ]] || { say "no project(memplace VERSION ...) in CMakeLists.txt"; exit 1; }
arch=$(dpkg --print-architecture)
deb=$out/memplace_${version}_${arch}.deb
[[ -z $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]] ||
  say "note: uncommitted changes are built in, but the binary records only the commit"

# Times in the package are the commit's, so two builds of one commit differ only in the binaries.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}

# Debian's build flags for a package (fortify, stack protector, relro and bindnow) go first on
# the command line, so the project's own -O1 -g1 (and -O2 for the measured loops) still win.
flags() { (cd "$repo" && DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get "$1"); }
# Configured every time: the git revision memplace records is read when CMake configures.
cmake -S "$repo" -B "$build" -G Ninja -DMEMPLACE_TESTS=OFF -DMEMPLACE_BENCHMARKS=OFF \
  -DCMAKE_C_FLAGS="$(flags CPPFLAGS) $(flags CFLAGS)" \
  -DCMAKE_CXX_FLAGS="$(flags CPPFLAGS) $(flags CXXFLAGS)" \
  -DCMAKE_EXE_LINKER_FLAGS="$(flags LDFLAGS)" >/dev/null
cmake --build "$build" -j "$jobs" --target memplace memplace-agent man

stage=$build/deb-root
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
DESTDIR=$stage cmake --install "$build" --prefix /usr --strip >/dev/null
# What dh_strip also removes: the compilers' version strings.
objcopy --remove-section=.comment --remove-section=.note "$stage/usr/bin/memplace"
objcopy --remove-section=.comment --remove-section=.note "$stage/usr/bin/memplace-agent"

doc=$stage/usr/share/doc/memplace
install -d "$doc/docs/schema" "$doc/guest-agent"
install -m 644 "$repo/README.md" "$repo/CHANGELOG.md" "$doc/"
install -m 644 "$repo"/docs/*.md "$doc/docs/"
install -m 644 "$repo"/docs/schema/*.json "$doc/docs/schema/"
install -m 644 "$repo/guest-agent/README.md" "$doc/guest-agent/"
# A machine-readable copyright (what Debian's tools parse); the licence text is the system's copy.
# The years are the first and the last commit's.
first=$(git -C "$repo" log --max-parents=0 --format=%ad --date=format:%Y HEAD 2>/dev/null | sort | sed -n 1p)
last=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
years=${first:-$last}
[[ $years == "$last" ]] || years+="-$last"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: memplace
Comment: The source tree's LICENSE is the full text of the GNU GPL version 2; on Debian
 systems it is /usr/share/common-licenses/GPL-2.

Files: *
Copyright: $years the memplace authors
License: GPL-2
 This program is free software; you can redistribute it and/or modify it under the terms of
 the GNU General Public License version 2 as published by the Free Software Foundation.
 .
 This program is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY;
 without even the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.
 See the GNU General Public License for more details.
 .
 On Debian systems, the complete text of the GNU General Public License version 2 can be
 found in /usr/share/common-licenses/GPL-2.
EOF
# A native package's changelog.gz is in Debian's format; the project's history is CHANGELOG.md.
rev=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
cat >"$doc/changelog" <<EOF
memplace ($version) unstable; urgency=medium

  * Built by make deb from commit $rev. The changes are in CHANGELOG.md.

 -- $maintainer  $(date -R -u -d "@$SOURCE_DATE_EPOCH")
EOF
gzip -9n "$doc/changelog"
gzip -9n "$stage"/usr/share/man/man1/*.1

# The agent is static on purpose (lintian's one override).
install -d "$stage/usr/share/lintian/overrides"
cat >"$stage/usr/share/lintian/overrides/memplace" <<'EOF'
# The guest agent runs as PID 1 in initramfs images that carry no shared libraries.
memplace: statically-linked-binary [usr/bin/memplace-agent]
EOF

# Python caches that running the chart scripts as root leaves beside them (not dpkg's files).
cat >"$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
rm -rf /usr/share/memplace/plots/__pycache__
EOF
chmod 755 "$stage/DEBIAN/prerm"

# Shared libraries of the dynamic binaries; dpkg-shlibdeps wants a debian/control to read.
shlibs_dir=$build/deb-shlibs
rm -rf "$shlibs_dir"
mkdir -p "$shlibs_dir/debian"
printf 'Source: memplace\n\nPackage: memplace\nArchitecture: any\n' >"$shlibs_dir/debian/control"
depends=$(cd "$shlibs_dir" && dpkg-shlibdeps -O "$stage/usr/bin/memplace" | sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { say "dpkg-shlibdeps found no libraries"; exit 1; }

find "$stage" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$stage" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
installed_size=$(du -sk --apparent-size --exclude=DEBIAN "$stage" | cut -f1)

cat >"$stage/DEBIAN/control" <<EOF
Package: memplace
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Recommends: python3-matplotlib, qemu-system-x86, busybox-static, zstd, xz-utils
Suggests: numactl, ovmf, slurm-client
Section: utils
Priority: optional
Description: measures where guest memory lands on a NUMA host
 memplace runs a memory policy (bind, interleave, preferred) against a backing
 (anonymous memory, shmem, KVM guest_memfd, SEV-SNP private memory), touches the
 memory from the host, from vCPUs or from a QEMU guest, and reads back on which
 NUMA node every page landed. Each cell gets a verdict: honored or not.
 .
 It runs on this host, or in a QEMU testbed that boots Debian's kernels or
 your own with an emulated NUMA topology, and writes records, a report with
 charts and a comparison between kernels.
EOF

mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
say "built $deb ($(du -k "$deb" | cut -f1) KiB)"
say "Depends: $depends"

if command -v lintian >/dev/null; then
  say "lintian:"
  lintian --fail-on error "$deb" || { say "lintian found errors"; exit 1; }
else
  say "lintian is not installed (scripts/install-deps.sh installs it); not checked"
fi
