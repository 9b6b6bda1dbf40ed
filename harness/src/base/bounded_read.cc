// SPDX-License-Identifier: GPL-2.0-only
#include "base/bounded_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace memplace {
namespace {

Result<std::string> read_open_file(UniqueFd fd, size_t max_bytes, const std::string& shown_as) {
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + shown_as);
  // Refusals of what a directory holds are the input's fault, not the host's.
  if (!S_ISREG(st.st_mode)) return bad_input_error(shown_as + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return bad_input_error(shown_as + ": larger than the " + std::to_string(max_bytes) +
                           " bytes allowed");
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + shown_as);
    if (n == 0) break;
    // The file may grow while we read it; the limit holds regardless.
    if (out.size() + static_cast<size_t>(n) > max_bytes)
      return make_error(shown_as + ": larger than the " + std::to_string(max_bytes) +
                        " bytes allowed");
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

bool is_plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

Result<UniqueFd> open_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open directory " + path);
  return fd;
}

Result<UniqueFd> open_subdir(int dir, const std::string& name, const std::string& shown_as) {
  if (!is_plain_name(name)) return make_error(shown_as + ": not a plain file name");
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open directory " + shown_as);
  return fd;
}

Result<std::string> read_file_at(int dir, const std::string& name, size_t max_bytes,
                                 const std::string& shown_as) {
  if (!is_plain_name(name)) return make_error(shown_as + ": not a plain file name");
  // O_NONBLOCK: a FIFO planted under a regular name must not block the open.
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + shown_as);
  return read_open_file(std::move(fd), max_bytes, shown_as);
}

Result<std::string> read_file_bounded(const std::string& path, size_t max_bytes,
                                      bool follow_symlink) {
  const int nofollow = follow_symlink ? 0 : O_NOFOLLOW;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | nofollow | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid() && errno == ELOOP)
    return errno_error(path + ": a symlink, not followed", ErrorKind::kBadInput);
  if (!fd.valid()) return errno_error("open " + path);
  return read_open_file(std::move(fd), max_bytes, path);
}

}  // namespace memplace
