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
