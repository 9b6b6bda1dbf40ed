// SPDX-License-Identifier: GPL-2.0-only
#include "host/backing.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <utility>

#include "base/enum_names.h"
#include "base/text.h"
#include "host/kvm_uapi.h"

namespace memplace {

constexpr EnumNames<BackingKind, 4> kBackingNames{
    {"anon", "shmem", "guest_memfd", "guest_memfd_private"}};

std::string backing_name(BackingKind kind) {
  return name_of(kBackingNames, kind);
}

bool is_guest_memfd(BackingKind kind) {
  return kind == BackingKind::kGuestMemfd || kind == BackingKind::kGuestMemfdPrivate;
}

Mapping::Mapping(Mapping&& o) noexcept
    : addr_(std::exchange(o.addr_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      kind_(o.kind_),
      fd_(std::move(o.fd_)),
      vm_(std::move(o.vm_)),
      gmem_flags_(o.gmem_flags_) {}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    release();
    addr_ = std::exchange(o.addr_, nullptr);
    size_ = std::exchange(o.size_, 0);
    kind_ = o.kind_;
    fd_ = std::move(o.fd_);
    vm_ = std::move(o.vm_);
    gmem_flags_ = o.gmem_flags_;
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
  m.gmem_flags_ = gmem_flags_;
  m.addr_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, dup, 0);
  if (m.addr_ == MAP_FAILED) {
    m.addr_ = nullptr;
    return errno_error("mmap second view of " + backing_name(kind_));
  }
  m.size_ = size_;
  return m;
}

namespace {}  // namespace

// A SW_PROTECTED VM, a guest_memfd on it (MMAP only when asked), mapped only when asked.
Result<Mapping> create_private_guest_memfd(size_t size, const BackingOptions& options) {
  auto sys = KvmSystem::open();
  if (!sys) return sys.error();
  const int types = sys->check_extension(kvm::kCapVmTypes);
  if (!(types & (1 << kvm::kX86SwProtectedVm)))
    return unsupported_error("this kernel offers no KVM_X86_SW_PROTECTED_VM (KVM_CAP_VM_TYPES=" +
                             hex_string(types) + "; CONFIG_KVM_SW_PROTECTED_VM is unset)");
  auto vm = KvmVm::create(*sys, kvm::kX86SwProtectedVm);
  if (!vm) return vm.error();
  if (vm->check_extension(kvm::kCapGuestMemfd) <= 0)
    return unsupported_error("a SW_PROTECTED VM here offers no guest_memfd");
  const uint64_t attributes = vm->check_extension(kvm::kCapMemoryAttributes);
  if (!(attributes & kvm::kMemoryAttributePrivate))
    return unsupported_error(
        "a SW_PROTECTED VM here cannot mark memory private "
        "(KVM_CAP_MEMORY_ATTRIBUTES=" +
        hex_string(attributes) + ")");
  uint64_t flags = 0;
  if (options.map_private) {
    const uint64_t have = vm->check_extension(kvm::kCapGuestMemfdFlags);
    if (!(have & kvm::kGuestMemfdFlagMmap))
      return unsupported_error(
          "a SW_PROTECTED VM's guest_memfd offers no MMAP here "
          "(KVM_CAP_GUEST_MEMFD_FLAGS=" +
          hex_string(have) + "), so no mapping can carry an mbind");
    flags = kvm::kGuestMemfdFlagMmap;
  }
  auto fd = vm->create_guest_memfd(size, flags);
  if (!fd) return fd.error();
  Mapping m;
  m.kind_ = BackingKind::kGuestMemfdPrivate;
  m.fd_ = std::move(*fd);
  m.vm_ = std::make_shared<KvmVm>(std::move(*vm));
  m.gmem_flags_ = flags;
  m.size_ = size;
  if (options.map_private) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd_.get(), 0);
    if (p == MAP_FAILED) return errno_error("mmap the private guest_memfd");
    m.addr_ = p;
  }
  return m;
}

Result<Mapping> create_backing(BackingKind kind, size_t size, const BackingOptions& options) {
  long page = ::sysconf(_SC_PAGESIZE);
  if (size == 0 || size % page != 0)
    return make_error("backing size " + std::to_string(size) + " is not a positive multiple of " +
                      std::to_string(page));
  if (kind == BackingKind::kGuestMemfdPrivate) return create_private_guest_memfd(size, options);
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
        return unsupported_error("KVM_CAP_GUEST_MEMFD is not offered by this kernel");
      auto vm = KvmVm::create(*sys);
      if (!vm) return vm.error();
      const uint64_t want = kvm::kGuestMemfdFlagMmap | kvm::kGuestMemfdFlagInitShared;
      uint64_t have = vm->check_extension(kvm::kCapGuestMemfdFlags);
      if ((have & want) != want)
        return unsupported_error("guest_memfd lacks MMAP|INIT_SHARED (KVM_CAP_GUEST_MEMFD_FLAGS " +
                                 hex_string(have) + "), so it cannot be mapped for placement");
      auto fd = vm->create_guest_memfd(size, want);
      if (!fd) return fd.error();
      m.fd_ = std::move(*fd);
      m.vm_ = std::make_shared<KvmVm>(std::move(*vm));
      m.gmem_flags_ = want;
      break;
    }
    case BackingKind::kGuestMemfdPrivate:
      break;  // above
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, flags, m.fd_.get(), 0);
  if (p == MAP_FAILED) return errno_error("mmap " + backing_name(kind));
  m.addr_ = p;
  m.size_ = size;
  return m;
}

}  // namespace memplace
