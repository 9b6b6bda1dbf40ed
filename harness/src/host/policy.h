// SPDX-License-Identifier: GPL-2.0-only
// NUMA memory policies: names, kernel constants, mbind and read-back. Knows nothing of backings.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

enum class PolicyMode {
  kDefault,
  kBind,
  kInterleave,
  kPreferred,
  kPreferredMany,
  kWeightedInterleave,
  kLocal,
};

// Spec spellings: "default", "bind", "interleave", "preferred", "preferred-many",
// "weighted-interleave", "local".
Result<PolicyMode> parse_policy(std::string_view name);
std::string policy_name(PolicyMode mode);
std::vector<PolicyMode> all_policies();

// The kernel's MPOL_* value (uapi/linux/mempolicy.h), defined locally because distro numaif.h
// lags the kernel.
int mpol_value(PolicyMode mode);
std::optional<PolicyMode> policy_from_mpol(int mpol);

// Whether the mode needs a node list (bind, interleave, ...) or forbids one (default, local).
bool policy_takes_nodes(PolicyMode mode);

// mbind(addr, len, mode, nodes). Must run before the range is touched.
Status apply_policy(void* addr, size_t len, PolicyMode mode, const std::vector<int>& nodes);

// set_mempolicy(mode, nodes) for the calling thread: the task policy its later allocations use
// wherever no VMA or file policy applies.
Status apply_task_policy(PolicyMode mode, const std::vector<int>& nodes);

// How a cell's policy reaches the kernel: mbind on a mapping of the memory (the VMM's way, and
// for shmem and guest_memfd with a shared policy the file's), or the task policy of every thread
// that faults it (set_mempolicy): for private guest memory, whose pages no mapping holds, the
// only channel on kernels whose guest_memfd offers no mmap.
enum class PolicyChannel { kMbind, kTask };
std::string policy_channel_name(PolicyChannel c);  // "mbind" | "task"
Result<PolicyChannel> parse_policy_channel(std::string_view name);

struct PolicyReadback {
  int mpol = 0;            // raw MPOL_* value the kernel reported
  std::vector<int> nodes;  // nodemask the kernel reported
};

// get_mempolicy(MPOL_F_ADDR) on the VMA holding `addr`.
Result<PolicyReadback> read_policy_at(void* addr);

// Whether this kernel accepts `mode` at all (tries set_mempolicy on a throwaway thread state
// and restores the default). Used by probe and to mark cells unsupported.
bool kernel_supports_policy(PolicyMode mode, int node);

}  // namespace memplace
