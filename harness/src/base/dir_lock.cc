// SPDX-License-Identifier: GPL-2.0-only
#include "base/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace memplace {

Result<DirLock> DirLock::acquire(const std::string& dir) {
  std::string path = dir + "/" + kDirLockName;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid()) return errno_error("open " + path);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return errno_error("flock " + path);
    // The holder wrote its pid when it took the lock; it may be mid-write, hence "unknown".
    char buf[24] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) pid = "unknown";
    return make_error(dir + " is in use by pid " + pid, ErrorKind::kBadInput);
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), me.data(), me.size(), 0) < 0)
    return errno_error("write " + path);
  return DirLock(std::move(fd));
}

}  // namespace memplace
