// SPDX-License-Identifier: GPL-2.0-only
#include "kernels/kernel_build.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "base/json_bounded.h"

namespace memplace {

namespace fs = std::filesystem;
using nlohmann::json;

bool valid_build_name(std::string_view name) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return std::regex_match(name.begin(), name.end(), re);
}

std::string kernel_builds_dir(const std::string& cache_dir) {
  return cache_dir + "/builds";
}

std::vector<std::string> list_kernel_builds(const std::string& cache_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(kernel_builds_dir(cache_dir), ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string n = it->path().filename().string();
    // Staged and half-removed entries start with '.', which no build name does.
    if (valid_build_name(n) && fs::is_regular_file(it->path() / "build.json")) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

bool valid_release(const std::string& r) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._+-]{0,63}");
  return std::regex_match(r, re);
}

std::string available(const std::string& cache_dir) {
  auto names = list_kernel_builds(cache_dir);
  if (names.empty()) return "none (make kernels builds them)";
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

Result<std::string> read_bounded(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errno_error("open " + path);
  std::string text(kMaxKernelBuildBytes + 1, '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (f.bad()) return errno_error("read " + path);
  return text;
}

}  // namespace

Result<json> parse_build_json(std::string_view text, std::string_view name) {
  if (text.size() > kMaxKernelBuildBytes)
    return make_error("build.json is larger than " + std::to_string(kMaxKernelBuildBytes) +
                      " bytes");
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error("build.json is not a JSON object");
  if (!json_depth_at_most(j, kMaxKernelBuildDepth))
    return make_error("build.json nests too deeply");
  auto version = j.find("schema_version");
  if (version == j.end() || *version != 1) return make_error("build.json: schema_version is not 1");
  auto n = j.find("name");
  if (n == j.end() || !n->is_string() || *n != name)
    return make_error("build.json: name is not '" + std::string(name) + "'");
  auto r = j.find("release");
  if (r == j.end() || !r->is_string() || !valid_release(r->get<std::string>()))
    return make_error("build.json: release is missing or not a kernel release");
  return j;
}

Result<KernelBuild> load_kernel_build(const std::string& cache_dir, const std::string& name) {
  if (!valid_build_name(name))
    return make_error("build:" + name + ": not a build name ([A-Za-z0-9][A-Za-z0-9._-]*)",
                      ErrorKind::kBadInput);
  KernelBuild b;
  b.name = name;
  b.dir = kernel_builds_dir(cache_dir) + "/" + name;
  std::error_code ec;
  if (!fs::is_regular_file(b.dir + "/build.json", ec))
    return make_error("build:" + name + ": no such kernel build in " +
                          kernel_builds_dir(cache_dir) + "; builds: " + available(cache_dir),
                      ErrorKind::kBadInput);
  auto text = read_bounded(b.dir + "/build.json");
  if (!text) return text.error();
  auto info = parse_build_json(*text, name);
  if (!info) return info.error().prefixed("build:" + name + ": ").as_kind(ErrorKind::kEnvironment);
  b.info = std::move(*info);
  b.release = b.info["release"].get<std::string>();
  // The paths are memplace's own layout, never ones build.json names.
  b.vmlinuz = b.dir + "/bzImage";
  b.modules_dir = b.dir + "/modules/lib/modules/" + b.release;
  if (!fs::is_regular_file(b.vmlinuz, ec))
    return make_error("build:" + name + ": " + b.vmlinuz + " is missing", ErrorKind::kEnvironment);
  if (!fs::is_directory(b.modules_dir, ec)) b.modules_dir.clear();  // everything built in
  return b;
}

}  // namespace memplace
