// One experiment cell: a point of the spec's matrix. Plain data; logic lives in spec.cc,
// runner.cc and the touchers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/backing.h"
#include "kernel/policy.h"

namespace memplace {

struct Cell {
  PolicyMode policy = PolicyMode::kDefault;
  std::vector<int> nodes;  // host nodes for the policy; empty for default/local
  BackingKind backing = BackingKind::kAnon;
  std::string toucher = "host";  // "host" | "vcpu" | "qemu"
  uint64_t size_bytes = 0;
  int threads = 1;              // touching threads (host) or vCPUs (vcpu/qemu)
  std::optional<int> cpu_node;  // node whose CPUs the touchers run on; none = unpinned
  int repeat = 0;               // 0-based repeat index
};

// Stable identity of a cell across result dirs and resumes, without the repeat index:
// "interleave:0-1/guest_memfd/host/64MiB/t1/cpu0".
std::string cell_key(const Cell& cell);

}  // namespace memplace
