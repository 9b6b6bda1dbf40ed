// SPDX-License-Identifier: GPL-2.0-only
#include "kernels/kernel_ref.h"

#include <filesystem>

#include "kernels/kernel_build.h"

namespace memplace {

namespace fs = std::filesystem;

Result<KernelRef> parse_kernel_ref(std::string_view text) {
  if (text.empty()) return make_error("empty kernel reference", ErrorKind::kBadInput);
  KernelRef ref;
  if (text.rfind("debian:", 0) == 0) {
    ref.kind = KernelRef::Kind::kDebian;
    ref.value = text.substr(7);
    if (ref.value == "newest") ref.value.clear();
    return ref;
  }
  if (text.rfind("build:", 0) == 0) {
    ref.kind = KernelRef::Kind::kBuild;
    ref.value = text.substr(6);
    if (!valid_build_name(ref.value))
      return make_error(std::string(text) + ": not a build name ([A-Za-z0-9][A-Za-z0-9._-]*)",
                        ErrorKind::kBadInput);
    return ref;
  }
  // "debain:7.3" is a typo, not a file name: a word and a colon before any '/' is a scheme.
  size_t colon = text.find(':');
  if (colon != std::string_view::npos && text.substr(0, colon).find('/') == std::string_view::npos)
    return make_error(
        std::string(text) + ": unknown kernel reference; use debian:VERSION, build:NAME or a path",
        ErrorKind::kBadInput);
  ref.value = text;
  return ref;
}

Status check_kernel_ref(std::string_view text, const std::string& modules_dir,
                        const std::string& cache_dir) {
  auto ref = parse_kernel_ref(text);
  if (!ref) return ref.error();
  std::error_code ec;
  switch (ref->kind) {
    case KernelRef::Kind::kDebian:
      break;  // the archive's index says whether the version exists (at run time)
    case KernelRef::Kind::kBuild:
      if (auto b = load_kernel_build(cache_dir, ref->value); !b) return b.error();
      break;
    case KernelRef::Kind::kPath:
      if (!fs::is_regular_file(ref->value, ec))
        return make_error("kernel image not found: " + ref->value, ErrorKind::kBadInput);
      if (!modules_dir.empty() && !fs::is_directory(modules_dir, ec))
        return make_error("modules directory not found: " + modules_dir, ErrorKind::kBadInput);
      return {};
  }
  if (!modules_dir.empty())
    return make_error(std::string(text) + ": --modules applies only to a kernel given by path",
                      ErrorKind::kBadInput);
  return {};
}

}  // namespace memplace
