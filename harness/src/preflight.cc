#include "memplace/preflight.h"

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

std::vector<std::string> kvm_warnings(const std::vector<Cell>& cells, const std::string& kvm_dev) {
  size_t needing = 0;
  for (const auto& c : cells)
    needing += c.backing == BackingKind::kGuestMemfd || c.toucher == "vcpu";
  if (needing == 0 || ::access(kvm_dev.c_str(), R_OK | W_OK) == 0) return {};
  std::string why = std::strerror(errno);
  return {kvm_dev + " is not usable (" + why + "): " + std::to_string(needing) +
          " run(s) needing KVM (guest_memfd backing or vcpu toucher) will be recorded unsupported"};
}

}  // namespace memplace
