// SPDX-License-Identifier: GPL-2.0-only
#include "base/files.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <utility>

#include "base/unique_fd.h"

namespace memplace {
namespace {

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + path);
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status write_file(const std::string& path, std::string_view content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("open " + path);
  return write_all(fd.get(), content, path);
}

Status write_file_atomic(const std::string& path, const std::string& content) {
  // A fresh name created exclusively: a symlink or file planted at a predictable NAME.tmp is
  // never opened, let alone written through.
  std::string tmp = path + ".tmp-XXXXXX";
  {
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd.valid()) return errno_error("create a temporary file next to " + path);
    Status s = ::fchmod(fd.get(), 0644) == 0 ? Status() : errno_error("chmod " + tmp);
    if (s) s = write_all(fd.get(), content, tmp);
    if (s && ::fsync(fd.get()) != 0) s = errno_error("fsync " + tmp);
    if (!s) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = errno_error("rename " + tmp + " -> " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  // The rename itself is only durable once the directory is synced.
  UniqueFd dir(::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) ::fsync(dir.get());
  return {};
}

Status make_dirs(const std::string& path) {
  if (path.empty()) return make_error("make_dirs: empty path");
  for (size_t pos = 1;; ++pos) {
    pos = path.find('/', pos);
    std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return errno_error("mkdir " + prefix);
    if (pos == std::string::npos) break;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path);
  if (!S_ISDIR(st.st_mode)) return system_error(ENOTDIR, path + ": exists and is not a directory");
  return {};
}

Result<TempDir> TempDir::create(const std::string& prefix) {
  std::string tmpl = prefix + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return errno_error("mkdtemp " + tmpl);
  TempDir dir;
  dir.path_ = std::move(tmpl);
  return dir;
}

TempDir::TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, std::string())) {}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  std::swap(path_, o.path_);
  return *this;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace memplace
