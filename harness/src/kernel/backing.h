// Creating and releasing the memory under test: anonymous, shmem (memfd) or guest_memfd.
// A Mapping owns everything it needs (fds, the VM a guest_memfd belongs to) and releases it on
// scope exit, so a failed run cannot leak gigabytes into the next cell.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernel/kvm.h"
#include "base/result.h"
#include "base/unique_fd.h"

namespace memplace {

enum class BackingKind { kAnon, kShmem, kGuestMemfd };

std::string backing_name(BackingKind kind);  // "anon", "shmem", "guest_memfd"

class Mapping {
 public:
  Mapping() = default;
  Mapping(Mapping&& o) noexcept;
  Mapping& operator=(Mapping&& o) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  void* addr() const { return addr_; }
  size_t size() const { return size_; }
  BackingKind kind() const { return kind_; }
  // The file behind shmem/guest_memfd mappings; -1 for anon.
  int fd() const { return fd_.get(); }
  // For guest_memfd: the VM the fd was created on (a memslot must use the same VM). Null for
  // anon and shmem.
  const KvmVm* vm() const { return vm_.get(); }

  // A second, independent MAP_SHARED mapping of the same file (shmem, guest_memfd). Used to
  // read placement and shared policy through a VMA the toucher never used.
  Result<Mapping> map_again() const;

 private:
  friend Result<Mapping> create_backing(BackingKind, size_t);
  void release();

  void* addr_ = nullptr;
  size_t size_ = 0;
  BackingKind kind_ = BackingKind::kAnon;
  UniqueFd fd_;
  std::shared_ptr<KvmVm> vm_;
};

// Creates an untouched mapping of `size` bytes (a multiple of the page size). guest_memfd comes
// from a fresh default-type VM with GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED.
Result<Mapping> create_backing(BackingKind kind, size_t size);

}  // namespace memplace
