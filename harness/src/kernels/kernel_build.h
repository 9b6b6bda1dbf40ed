// SPDX-License-Identifier: GPL-2.0-only
// Kernels built by scripts/kernel-build.sh (`make kernels`): one entry per build under
// <cache>/builds/NAME/ holding bzImage, modules/lib/modules/RELEASE/ and build.json. An entry
// exists only once complete (the script renames it into place), so a directory with a valid
// build.json is a finished build.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "results/run_record.h"

namespace memplace {

struct KernelBuild {
  std::string name;
  std::string dir;          // <cache>/builds/NAME
  std::string release;      // uname -r of the built kernel
  std::string vmlinuz;      // <dir>/bzImage
  std::string modules_dir;  // <dir>/modules/lib/modules/<release>
  nlohmann::json info;      // build.json, checked: what records carry as environment.kernel_build
};

// A build name as scripts/kernel-build.sh accepts it: [A-Za-z0-9][A-Za-z0-9._-]{0,63}.
bool valid_build_name(std::string_view name);

std::string kernel_builds_dir(const std::string& cache_dir);

// The names of the finished builds (a build.json present), sorted.
std::vector<std::string> list_kernel_builds(const std::string& cache_dir);

// Checks build.json's text (read from disk, so untrusted): size and depth within the bounds
// records keep it to (run_record.h), schema, name and release. No path in it is ever followed.
Result<nlohmann::json> parse_build_json(std::string_view text, std::string_view name);

// The entry of build NAME; an unknown name's error lists the builds that exist.
Result<KernelBuild> load_kernel_build(const std::string& cache_dir, const std::string& name);

}  // namespace memplace
