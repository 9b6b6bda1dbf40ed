// SPDX-License-Identifier: GPL-2.0-only
// Host topology through hwloc: nodes, memory per node, CPUs per node, distances.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"

namespace memplace {

struct NodeInfo {
  int os_index = 0;
  uint64_t memory_bytes = 0;
  std::vector<int> cpus;  // OS cpu ids; empty for memory-only nodes
};

struct Topology {
  std::vector<NodeInfo> nodes;                   // sorted by os_index
  std::vector<std::vector<uint64_t>> distances;  // [i][j] in nodes order; empty if unknown
  std::vector<int> node_ids() const;
};

Result<Topology> discover_topology();
nlohmann::json to_json(const Topology& t);

}  // namespace memplace
