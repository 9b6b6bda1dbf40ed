// SPDX-License-Identifier: GPL-2.0-only
#include "results/results_dir.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>

#include "base/bounded_read.h"
#include "base/files.h"
#include "base/hash.h"
#include "results/results.h"

namespace memplace {
namespace {

bool directory_is_empty(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

bool regular_file(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Status ensure_owned_subdir(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return bad_input_error(path + ": is not a directory of memplace's (" +
                           (S_ISLNK(st.st_mode) ? "a symlink" : "a file") +
                           "); memplace writes its " + name + " nowhere else");
  }
  if (errno != ENOENT) return errno_error("lstat " + path);
  if (::mkdir(path.c_str(), 0755) == 0) return {};
  if (errno != EEXIST) return errno_error("mkdir " + path);
  // Made by someone else between the two calls: it must pass the same test.
  if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
  return bad_input_error(path + ": appeared as something other than a directory");
}

Status claim_new_or_empty_dir(const std::string& dir, const std::string& what) {
  if (dir.empty()) return bad_input_error(what + ": an empty path names no directory");
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error(what + " " + dir);
    return make_dirs(dir);
  }
  if (!S_ISDIR(st.st_mode))
    return bad_input_error(what + " " + dir + ": exists and is not a directory");
  if (!directory_is_empty(dir))
    return bad_input_error(what + " " + dir +
                           ": is not empty; memplace writes only into a new or empty directory");
  return {};
}

std::string spec_digest(std::string_view spec_text) {
  return "fnv1a64:" + hex64(fnv1a64(spec_text));
}

Status check_resumable(const std::string& dir, std::string_view spec_text) {
  auto manifest = read_json_file(dir + "/manifest.json");
  if (!manifest && manifest.error().err == ENOENT) return {};  // interrupted before it existed
  if (!manifest) return manifest.error().prefixed("--resume: ");
  const nlohmann::json version = manifest->is_object()
                                     ? manifest->value("schema_version", nlohmann::json(1))
                                     : nlohmann::json();
  if (!version.is_number_integer() || version.get<int64_t>() > kSchemaVersion)
    return bad_input_error("--resume " + dir + ": manifest.json's schema_version " +
                           version.dump().substr(0, 40) + " is not one this memplace writes (" +
                           std::to_string(kSchemaVersion) + ")");
  const nlohmann::json recorded = manifest->value("spec_digest", nlohmann::json());
  if (recorded.is_string()) {
    if (recorded.get<std::string>() == spec_digest(spec_text)) return {};
    return bad_input_error("--resume " + dir + ": spec.toml (" + spec_digest(spec_text) +
                           ") is not the spec this dir ran (" +
                           recorded.get<std::string>().substr(0, 40) +
                           " in manifest.json); restore it, or start a new --out");
  }
  if (spec_text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return bad_input_error("--resume " + dir +
                           ": spec.toml is empty; it holds no matrix to finish");
  return {};
}

bool is_results_dir(const std::string& dir) {
  if (regular_file(dir + "/runs.jsonl") || regular_file(dir + "/manifest.json")) return true;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  bool testbed = false;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || !is_plain_name(name)) continue;
    auto manifest = read_json_file(dir + "/" + name + "/manifest.json");
    if (manifest && manifest->is_object() &&
        manifest->value("kind", nlohmann::json()) == "testbed") {
      testbed = true;
      break;
    }
  }
  ::closedir(d);
  return testbed;
}

}  // namespace memplace
