// SPDX-License-Identifier: GPL-2.0-only
// KVM UAPI the distro's <linux/kvm.h> (Debian 12: 6.1 headers) lacks. One place, checked against
// the kernel's struct layouts so a typo cannot silently corrupt an ioctl.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace memplace::kvm {

// Capabilities (include/uapi/linux/kvm.h).
inline constexpr int kCapUserMemory2 = 231;
inline constexpr int kCapGuestMemfd = 234;
inline constexpr int kCapMemoryAttributes = 233;  // returns the supported attribute bits
inline constexpr int kCapVmTypes = 235;           // returns a bitmask of 1 << VM type
inline constexpr int kCapGuestMemfdFlags = 244;   // returns the supported GUEST_MEMFD_FLAG_* bits

inline constexpr uint64_t kGuestMemfdFlagMmap = 1ull << 0;
inline constexpr uint64_t kGuestMemfdFlagInitShared = 1ull << 1;

inline constexpr uint32_t kMemGuestMemfd = 1u << 2;  // KVM_MEM_GUEST_MEMFD

// KVM_X86_SW_PROTECTED_VM: private guest_memfd memory without confidential-computing hardware
// (CONFIG_KVM_SW_PROTECTED_VM).
inline constexpr unsigned long kX86SwProtectedVm = 1;
inline constexpr uint64_t kMemoryAttributePrivate = 1ull << 3;

struct MemoryAttributes {
  uint64_t address;
  uint64_t size;
  uint64_t attributes;
  uint64_t flags;
};
static_assert(sizeof(MemoryAttributes) == 32, "struct kvm_memory_attributes is 32 bytes");
inline constexpr unsigned long kIoctlSetMemoryAttributes = _IOW(KVMIO, 0xd2, MemoryAttributes);

struct CreateGuestMemfd {
  uint64_t size;
  uint64_t flags;
  uint64_t reserved[6];
};
static_assert(sizeof(CreateGuestMemfd) == 64, "struct kvm_create_guest_memfd is 64 bytes");

struct UserspaceMemoryRegion2 {
  uint32_t slot;
  uint32_t flags;
  uint64_t guest_phys_addr;
  uint64_t memory_size;
  uint64_t userspace_addr;
  uint64_t guest_memfd_offset;
  uint32_t guest_memfd;
  uint32_t pad1;
  uint64_t pad2[14];
};
static_assert(sizeof(UserspaceMemoryRegion2) == 160,
              "struct kvm_userspace_memory_region2 is 160 bytes");

inline constexpr unsigned long kIoctlCreateGuestMemfd = _IOWR(KVMIO, 0xd4, CreateGuestMemfd);
inline constexpr unsigned long kIoctlSetUserMemoryRegion2 =
    _IOW(KVMIO, 0x49, UserspaceMemoryRegion2);

// struct kvm_cpuid2 without its entries. Debian 12's <linux/kvm.h> declares the flexible array
// with __DECLARE_FLEX_ARRAY, which g++ sizes as 12 bytes rather than C's 8, so the header's own
// KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2 encode the wrong size and the kernel answers EINVAL
// (measured on this host). Entries (struct kvm_cpuid_entry2, 40 bytes) follow the 8 bytes.
struct Cpuid2Header {
  uint32_t nent;
  uint32_t padding;
};
static_assert(sizeof(Cpuid2Header) == 8, "struct kvm_cpuid2 is 8 bytes before its entries");
static_assert(sizeof(kvm_cpuid_entry2) == 40, "struct kvm_cpuid_entry2 is 40 bytes");

inline constexpr unsigned long kIoctlGetSupportedCpuid = _IOWR(KVMIO, 0x05, Cpuid2Header);
inline constexpr unsigned long kIoctlSetCpuid2 = _IOW(KVMIO, 0x90, Cpuid2Header);

}  // namespace memplace::kvm
