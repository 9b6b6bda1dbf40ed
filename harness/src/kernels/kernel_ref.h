// SPDX-License-Identifier: GPL-2.0-only
// The one parser of kernel references, wherever a kernel is named: `--kernel`, a spec's
// testbed.kernels, [qemu] kernel and MEMPLACE_QEMU_KERNEL.
//   debian:          the newest usable Debian cloud kernel (also debian:newest)
//   debian:VERSION   a Debian cloud kernel, fetched through the private apt configuration
//   build:NAME       a kernel built by scripts/kernel-build.sh (`make kernels`), from the cache
//   anything else    a path to a bzImage (with --modules for its module tree)
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace memplace {

struct KernelRef {
  enum class Kind { kDebian, kBuild, kPath };
  Kind kind = Kind::kPath;
  std::string value;  // kDebian: the version, "" for the newest; kBuild: the name; kPath: the path
};

// Syntax only: an empty reference, an unknown "scheme:" or a malformed build name is an error.
Result<KernelRef> parse_kernel_ref(std::string_view text);

// Everything that can be known without fetching: the syntax, a build's entry in the cache (an
// unknown name lists the builds that exist), a path's file, and that a modules directory goes
// only with a path. Failures here are bad input.
Status check_kernel_ref(std::string_view text, const std::string& modules_dir,
                        const std::string& cache_dir);

}  // namespace memplace
