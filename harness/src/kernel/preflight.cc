#include "kernel/preflight.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace memplace {

Result<uint64_t> free_disk_bytes(const std::string& out_dir) {
  std::string path = out_dir.empty() ? "." : out_dir;
  struct statvfs st {};
  while (::statvfs(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error("statvfs " + path);
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) {
      path = ".";
    } else if (slash == 0) {
      path = "/";
    } else {
      path = path.substr(0, slash);
    }
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

Status check_results_disk(const std::string& out_dir, size_t runs) {
  auto free = free_disk_bytes(out_dir);
  if (!free) return free.error();
  uint64_t need = kDiskBaseBytes + runs * kDiskPerRunBytes;
  if (*free < need)
    return make_error("only " + std::to_string(*free >> 20) + " MiB free for results in " +
                      out_dir + "; " + std::to_string(runs) + " runs need about " +
                      std::to_string(need >> 20) + " MiB");
  return {};
}

Status check_kvm_access(const std::string& kvm_dev) {
  if (::access(kvm_dev.c_str(), R_OK | W_OK) == 0) return {};
  return make_error(kvm_dev + " is not usable (" + std::strerror(errno) + ")");
}

}  // namespace memplace
