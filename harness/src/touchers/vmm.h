// SPDX-License-Identifier: GPL-2.0-only
// The pure parts of the vcpu toucher's micro-VM: guest physical layout, slices, identity page
// tables, the guest payload and the long-mode register state. Nothing here opens /dev/kvm, so
// all of it is unit-tested on any machine; vcpu_toucher.cc does the ioctls.
#pragma once

#include <linux/kvm.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "host/backing.h"
#include "spec/cell.h"
#include "touchers/toucher.h"

namespace memplace::vmm {

inline constexpr uint64_t kGuestPageSize = 4096;
inline constexpr uint64_t kLargePageSize = 2ull << 20;  // one PD entry with PS set
inline constexpr uint64_t kGiB = 1ull << 30;

// Guest physical layout. The boot slot (code + page tables) sits at 0 in its own memslot so the
// measured range holds only pages the guest touched. Measured RAM starts at 4 GiB: anything
// inside [3 GiB, 4 GiB) collides with the local APIC page at 0xFEE00000 (a 5 GiB range from
// 1 GiB ended in KVM_EXIT_MMIO there on this host), and real VMs put high RAM at 4 GiB too.
inline constexpr uint64_t kBootSlotGpa = 0;
inline constexpr uint64_t kPayloadGpa = 0x1000;
inline constexpr uint64_t kPageTablesGpa = 0x2000;
inline constexpr uint64_t kRamGpa = 4 * kGiB;
inline constexpr uint32_t kBootSlot = 0;
inline constexpr uint32_t kRamSlot = 1;
// One PML4 entry, so the identity map covers at most 512 GiB of guest physical space.
inline constexpr uint64_t kMaxIdentityMap = 512 * kGiB;

// The port a vCPU writes its index to (4-byte OUT) when its slice is done. Nothing else is on
// the bus (no in-kernel irqchip, no devices), so any other port access is a bug.
inline constexpr uint16_t kDonePort = 0x0510;

// One vCPU's share of the measured range, as an offset into it. Slices are whole 4 KiB pages,
// contiguous and in vCPU order; the first (pages % count) slices get one page more.
struct Slice {
  uint64_t offset = 0;
  uint64_t bytes = 0;
};
std::vector<Slice> split_slices(uint64_t size, int count);

// Identity map of guest physical [0, covered) with 2 MiB pages, where covered is `limit`
// rounded up to 1 GiB. Layout from `base_gpa`: PML4, PDPT, then one PD per GiB. 2 MiB pages
// rather than 1 GiB ones because the supported CPUID need not offer PDPE1GB.
struct PageTables {
  uint64_t base_gpa = 0;  // also CR3
  uint64_t covered = 0;   // bytes identity-mapped from guest physical 0
  std::vector<uint8_t> bytes;
};
Result<PageTables> build_identity_page_tables(uint64_t base_gpa, uint64_t limit);

// Decodes the entry the page tables above hold for `gva`; returns the physical address it maps
// to, or an error naming the level that is not present. Lets tests walk the tables like the MMU.
Result<uint64_t> walk_page_tables(const PageTables& tables, uint64_t gva);

// The guest code, position-independent, 64-bit. Register contract on entry:
//   RDI = first guest physical address of the slice, RSI = one past its end,
//   RAX = the 64-bit word to store at the start of each 4 KiB page, RBX = vCPU index,
//   RCX = 0 (counts pages written).
// It stores RAX at RDI, RDI+4K, ... below RSI, incrementing RCX, then does
// `OUT kDonePort, EAX=RBX` and HLT (looping back to HLT should it ever resume).
std::vector<uint8_t> touch_payload();

// Where one vCPU starts and what its slice is.
struct VcpuStart {
  uint64_t rip = kPayloadGpa;
  uint64_t first_gpa = 0;
  uint64_t end_gpa = 0;
  uint64_t word = 0;
  uint64_t index = 0;
};
// General registers for the payload's contract.
kvm_regs payload_regs(const VcpuStart& start);

// Turns the reset-state special registers KVM reports into flat 64-bit long mode: paging with
// PAE and LME/LMA, CR3 = `cr3`, a 64-bit code segment and flat data segments. TR and LDT keep
// KVM's reset values, which pass the entry checks.
void set_long_mode(kvm_sregs& sregs, uint64_t cr3);

// "KVM_EXIT_MMIO (6)" for a kvm_run exit_reason.
std::string exit_reason_name(uint32_t reason);

// Runs `payload` on cell.threads vCPUs over `mapping`, otherwise exactly as the vcpu toucher
// (which calls this with touch_payload()). Tests pass payloads that misbehave to check the
// error reports.
//
// The vCPUs get `timeout` (none: default_toucher_timeout(cell.size_bytes), toucher.h) from the
// moment they start. Past it a watchdog sets kvm_run.immediate_exit on each vCPU and sends each
// unfinished vCPU thread a real-time signal with an empty handler (no SA_RESTART), so KVM_RUN
// returns EINTR; the threads are joined and the error reads "vcpu toucher timed out after N s",
// followed by each unfinished vCPU's registers.
//
// Each vCPU thread runs `hook` (toucher.h) once pinned, before its first KVM_RUN. A
// guest_memfd_private range is bound with KVM_MEM_GUEST_MEMFD and marked private with
// KVM_SET_MEMORY_ATTRIBUTES, so every store takes KVM's private fault path into the guest_memfd.
Result<TouchStats> run_vcpus(const Cell& cell, Mapping& mapping,
                             const std::vector<uint8_t>& payload, const std::string& sysfs_root,
                             std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                             const ThreadHook& hook = {});

// A guest that never finishes: `jmp $`. For tests of the timeout.
std::vector<uint8_t> hang_payload();

// Which path KVM serves a vCPU's store to a KVM_MEM_GUEST_MEMFD slot through: "guest_memfd"
// (the binding, as upstream intends for MMAP guest_memfds) or "userspace_addr" (the slot's
// host address; this host's PVM-backed 6.18.44). Runs one vCPU over a throwaway one-page
// guest_memfd whose slot points userspace_addr at an unrelated anon page, then looks where the
// store landed.
Result<std::string> guest_memfd_fault_path();

}  // namespace memplace::vmm
