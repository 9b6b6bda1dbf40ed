#include "kernel/backing.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <utility>

#include "kernel/kvm_uapi.h"

namespace memplace {

std::string backing_name(BackingKind kind) {
  switch (kind) {
    case BackingKind::kAnon:
      return "anon";
    case BackingKind::kShmem:
      return "shmem";
    case BackingKind::kGuestMemfd:
      return "guest_memfd";
  }
  return "?";
}

Mapping::Mapping(Mapping&& o) noexcept
    : addr_(std::exchange(o.addr_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      kind_(o.kind_),
      fd_(std::move(o.fd_)),
      vm_(std::move(o.vm_)) {}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    release();
    addr_ = std::exchange(o.addr_, nullptr);
    size_ = std::exchange(o.size_, 0);
    kind_ = o.kind_;
    fd_ = std::move(o.fd_);
    vm_ = std::move(o.vm_);
  }
  return *this;
}

Mapping::~Mapping() {
  release();
}

void Mapping::release() {
  if (addr_) ::munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
  fd_.reset();
  vm_.reset();
}

Result<Mapping> Mapping::map_again() const {
  if (!fd_.valid()) return make_error(backing_name(kind_) + " has no file to map again");
  int dup = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return errno_error("dup backing fd");
  Mapping m;
  m.fd_.reset(dup);
  m.kind_ = kind_;
  m.vm_ = vm_;
  m.addr_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, dup, 0);
  if (m.addr_ == MAP_FAILED) {
    m.addr_ = nullptr;
    return errno_error("mmap second view of " + backing_name(kind_));
  }
  m.size_ = size_;
  return m;
}

Result<Mapping> create_backing(BackingKind kind, size_t size) {
  long page = ::sysconf(_SC_PAGESIZE);
  if (size == 0 || size % page != 0)
    return make_error("backing size " + std::to_string(size) + " is not a positive multiple of " +
                      std::to_string(page));
  Mapping m;
  m.kind_ = kind;
  int flags = MAP_SHARED;
  switch (kind) {
    case BackingKind::kAnon:
      flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
      break;
    case BackingKind::kShmem: {
      int fd = ::memfd_create("memplace-shmem", MFD_CLOEXEC);
      if (fd < 0) return errno_error("memfd_create");
      m.fd_.reset(fd);
      if (::ftruncate(fd, size) != 0) return errno_error("ftruncate memfd");
      break;
    }
    case BackingKind::kGuestMemfd: {
      auto sys = KvmSystem::open();
      if (!sys) return sys.error();
      if (sys->check_extension(kvm::kCapGuestMemfd) <= 0)
        return make_error("KVM_CAP_GUEST_MEMFD is not offered by this kernel");
      auto vm = KvmVm::create(*sys);
      if (!vm) return vm.error();
      const uint64_t want = kvm::kGuestMemfdFlagMmap | kvm::kGuestMemfdFlagInitShared;
      uint64_t have = vm->check_extension(kvm::kCapGuestMemfdFlags);
      if ((have & want) != want)
        return make_error("guest_memfd lacks MMAP|INIT_SHARED (KVM_CAP_GUEST_MEMFD_FLAGS=" +
                          std::to_string(have) + "), so it cannot be mapped for placement");
      auto fd = vm->create_guest_memfd(size, want);
      if (!fd) return fd.error();
      m.fd_ = std::move(*fd);
      m.vm_ = std::make_shared<KvmVm>(std::move(*vm));
      break;
    }
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, m.fd_.get(), 0);
  if (p == MAP_FAILED) return errno_error("mmap " + backing_name(kind));
  m.addr_ = p;
  m.size_ = size;
  return m;
}

}  // namespace memplace
