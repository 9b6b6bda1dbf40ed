// SPDX-License-Identifier: GPL-2.0-only
// Thin RAII wrappers over /dev/kvm: the system fd, a VM, capability queries, guest_memfd.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace memplace {

class KvmSystem {
 public:
  static Result<KvmSystem> open(const std::string& dev = "/dev/kvm");
  int fd() const { return fd_.get(); }
  int api_version() const;
  // KVM_CHECK_EXTENSION on the system fd; 0 when absent, negative never (errors read as 0).
  int check_extension(int cap) const;

 private:
  explicit KvmSystem(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class KvmVm {
 public:
  // A default-type (type 0) VM.
  static Result<KvmVm> create(const KvmSystem& sys, unsigned long type = 0);
  int fd() const { return fd_.get(); }
  int check_extension(int cap) const;  // VM-scoped capability query
  // KVM_CREATE_GUEST_MEMFD; returns the new file descriptor.
  Result<UniqueFd> create_guest_memfd(uint64_t size, uint64_t flags) const;

 private:
  explicit KvmVm(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace memplace
