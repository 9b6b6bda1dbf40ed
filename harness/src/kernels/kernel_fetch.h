// SPDX-License-Identifier: GPL-2.0-only
// Kernels under test: "debian:VERSION" fetched from Debian's archives through a private apt
// configuration (never the system's sources), "build:NAME" from scripts/kernel-build.sh's cache,
// or a user's own build given by path (kernel_ref.h parses them). Shared by the testbed and the
// qemu toucher.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "kernels/debian_kernels.h"

namespace memplace {

struct KernelFiles {
  std::string label;        // results subdirectory: the release, the build's name, or the file name
  std::string release;      // uname -r when known ("" for a path kernel without modules)
  std::string vmlinuz;      // absolute path
  std::string modules_dir;  // directory searched for *.ko*; "" = KVM built in
  std::string origin;  // "debian:7.3.4-1~bpo13+1 (trixie-backports)", "build:NAME (...)", the path
  nlohmann::json
      build_info;  // build:NAME only: its checked build.json, for environment.kernel_build
};

struct KernelFetchOptions {
  std::string cache_dir;  // "" = memplace_cache_dir()
  // Packages indices younger than this are reused without `apt-get update`.
  int index_max_age_hours = 24;
  bool progress = true;
  // Never download (dry runs): cached indices only, and a kernel not in the cache is an error.
  bool offline = false;
};

// $XDG_CACHE_HOME/memplace, or $HOME/.cache/memplace; an error when neither is set.
Result<std::string> memplace_cache_dir();

// The private apt configuration: -o options pointing apt at <cache>/apt only.
std::vector<std::string> private_apt_options(const std::string& apt_dir);
std::string debian_sources_list();  // trixie, trixie-backports, sid from deb.debian.org

// Reads the cached indices (updating them when stale or missing) and lists the kernels.
Result<std::vector<DebianKernel>> debian_kernel_index(const KernelFetchOptions& options);

// `spec` is any kernel reference (kernel_ref.h); `modules_dir` goes with a path kernel.
Result<KernelFiles> fetch_kernel(const std::string& spec, const std::string& modules_dir,
                                 const KernelFetchOptions& options);

}  // namespace memplace
