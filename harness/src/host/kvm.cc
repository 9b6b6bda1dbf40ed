// SPDX-License-Identifier: GPL-2.0-only
#include "host/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include "host/kvm_uapi.h"

namespace memplace {

Result<KvmSystem> KvmSystem::open(const std::string& dev) {
  int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    // No device, or one this user may not use: the host offers no KVM to memplace. Any other
    // failure is a real one.
    const bool absent =
        errno == ENOENT || errno == ENODEV || errno == ENXIO || errno == EACCES || errno == EPERM;
    return errno_error("open " + dev, absent ? ErrorKind::kUnsupported : ErrorKind::kFailed);
  }
  return KvmSystem(UniqueFd(fd));
}

int KvmSystem::api_version() const {
  return ::ioctl(fd_.get(), KVM_GET_API_VERSION, 0);
}

int KvmSystem::check_extension(int cap) const {
  int r = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
  return r < 0 ? 0 : r;
}

Result<KvmVm> KvmVm::create(const KvmSystem& sys, unsigned long type) {
  // KVM_CREATE_VM fails with EINTR when a signal lands mid-setup; retrying is what VMMs do.
  int fd;
  do {
    fd = ::ioctl(sys.fd(), KVM_CREATE_VM, type);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error("KVM_CREATE_VM type " + std::to_string(type));
  return KvmVm(UniqueFd(fd));
}

int KvmVm::check_extension(int cap) const {
  int r = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
  return r < 0 ? 0 : r;
}

Result<UniqueFd> KvmVm::create_guest_memfd(uint64_t size, uint64_t flags) const {
  kvm::CreateGuestMemfd args{};
  args.size = size;
  args.flags = flags;
  int fd = ::ioctl(fd_.get(), kvm::kIoctlCreateGuestMemfd, &args);
  if (fd < 0) {
    return errno_error("KVM_CREATE_GUEST_MEMFD size " + std::to_string(size) + " flags 0x" + [&] {
      char b[32];
      std::snprintf(b, sizeof b, "%llx", (unsigned long long)flags);
      return std::string(b);
    }());
  }
  return UniqueFd(fd);
}

}  // namespace memplace
