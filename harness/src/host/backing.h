// SPDX-License-Identifier: GPL-2.0-only
// Creating and releasing the memory under test: anonymous, shmem (memfd) or guest_memfd.
// A Mapping owns everything it needs (fds, the VM a guest_memfd belongs to) and releases it on
// scope exit, so a failed run cannot leak gigabytes into the next cell.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "host/kvm.h"

namespace memplace {

// kGuestMemfdPrivate: a guest_memfd of a KVM_X86_SW_PROTECTED_VM whose pages are private to the
// guest (KVM_SET_MEMORY_ATTRIBUTES, done by the vcpu toucher that binds it): like an SEV-SNP
// guest's private memory, no host mapping ever holds a page of it.
enum class BackingKind { kAnon, kShmem, kGuestMemfd, kGuestMemfdPrivate };

// "anon", "shmem", "guest_memfd", "guest_memfd_private"
std::string backing_name(BackingKind kind);
bool is_guest_memfd(BackingKind kind);  // shared or private

struct BackingOptions {
  // guest_memfd_private only: create it with GUEST_MEMFD_FLAG_MMAP and map it, so an mbind
  // through that mapping can set the file's policy (the pages stay private and unmapped). Without
  // it the guest_memfd has no MMAP flag and the Mapping has no address.
  bool map_private = false;
};

class Mapping {
 public:
  Mapping() = default;
  Mapping(Mapping&& o) noexcept;
  Mapping& operator=(Mapping&& o) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  // Null for a guest_memfd_private created without a mapping.
  void* addr() const { return addr_; }
  size_t size() const { return size_; }
  BackingKind kind() const { return kind_; }
  // The file behind shmem/guest_memfd mappings; -1 for anon.
  int fd() const { return fd_.get(); }
  // For guest_memfd: the VM the fd was created on (a memslot must use the same VM). Null for
  // anon and shmem.
  const KvmVm* vm() const { return vm_.get(); }
  uint64_t guest_memfd_flags() const { return gmem_flags_; }

  // A second, independent MAP_SHARED mapping of the same file (shmem, guest_memfd). Used to
  // read placement and shared policy through a VMA the toucher never used.
  Result<Mapping> map_again() const;

 private:
  friend Result<Mapping> create_backing(BackingKind, size_t, const BackingOptions&);
  friend Result<Mapping> create_private_guest_memfd(size_t, const BackingOptions&);
  void release();

  void* addr_ = nullptr;
  size_t size_ = 0;
  BackingKind kind_ = BackingKind::kAnon;
  UniqueFd fd_;
  std::shared_ptr<KvmVm> vm_;
  uint64_t gmem_flags_ = 0;
};

// Creates an untouched mapping of `size` bytes (a multiple of the page size). guest_memfd comes
// from a fresh default-type VM with GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
// guest_memfd_private from a KVM_X86_SW_PROTECTED_VM (see BackingOptions). Where the kernel
// lacks what a backing needs, the error's kind is ErrorKind::kUnsupported.
Result<Mapping> create_backing(BackingKind kind, size_t size, const BackingOptions& options = {});

}  // namespace memplace
