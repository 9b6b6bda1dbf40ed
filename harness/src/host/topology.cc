// SPDX-License-Identifier: GPL-2.0-only
#include "host/topology.h"

#include <hwloc.h>

#include <algorithm>
#include <map>
#include <memory>

namespace memplace {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;

std::vector<int> bitmap_ids(hwloc_const_bitmap_t set) {
  std::vector<int> ids;
  for (int i = hwloc_bitmap_first(set); i >= 0; i = hwloc_bitmap_next(set, i)) ids.push_back(i);
  return ids;
}

}  // namespace

std::vector<int> Topology::node_ids() const {
  std::vector<int> ids;
  for (const auto& n : nodes) ids.push_back(n.os_index);
  return ids;
}

Result<Topology> discover_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return errno_error("hwloc_topology_init");
  TopologyPtr topo(raw);
  if (hwloc_topology_load(topo.get()) != 0) return errno_error("hwloc_topology_load");

  Topology out;
  // PU os index -> cpuset sizes of the nodes whose locality holds it, to drop wide matches.
  std::vector<std::pair<hwloc_obj_t, std::vector<int>>> raw_nodes;
  for (hwloc_obj_t node = hwloc_get_next_obj_by_type(topo.get(), HWLOC_OBJ_NUMANODE, nullptr); node;
       node = hwloc_get_next_obj_by_type(topo.get(), HWLOC_OBJ_NUMANODE, node)) {
    raw_nodes.emplace_back(node, node->cpuset ? bitmap_ids(node->cpuset) : std::vector<int>{});
  }
  if (raw_nodes.empty()) return make_error("hwloc found no NUMA node");

  // hwloc gives a CPU-less node (CXL, HBM-only, a QEMU node without cpus) the locality of the
  // object it hangs from, often the whole machine. The kernel says such a node has no CPUs, so
  // a CPU belongs only to the nodes with the narrowest locality that contains it.
  std::map<int, size_t> narrowest;
  for (const auto& [obj, cpus] : raw_nodes)
    for (int c : cpus) {
      auto [it, fresh] = narrowest.emplace(c, cpus.size());
      if (!fresh) it->second = std::min(it->second, cpus.size());
    }
  for (const auto& [obj, cpus] : raw_nodes) {
    NodeInfo info;
    info.os_index = static_cast<int>(obj->os_index);
    info.memory_bytes = obj->attr ? obj->attr->numanode.local_memory : 0;
    for (int c : cpus)
      if (narrowest[c] == cpus.size()) info.cpus.push_back(c);
    out.nodes.push_back(std::move(info));
  }
  std::sort(out.nodes.begin(), out.nodes.end(),
            [](const NodeInfo& a, const NodeInfo& b) { return a.os_index < b.os_index; });

  // Distances: the OS-provided (SLIT) matrix when hwloc has one; with one node there is none.
  unsigned nr = 1;
  hwloc_distances_s* dist = nullptr;
  if (hwloc_distances_get_by_type(topo.get(), HWLOC_OBJ_NUMANODE, &nr, &dist, 0, 0) == 0 &&
      nr >= 1 && dist) {
    std::map<unsigned, size_t> index_of;  // os_index -> row in dist
    for (unsigned i = 0; i < dist->nbobjs; ++i) index_of[dist->objs[i]->os_index] = i;
    bool complete = true;
    for (const auto& n : out.nodes) complete &= index_of.count(n.os_index) > 0;
    if (complete) {
      const size_t k = out.nodes.size();
      out.distances.assign(k, std::vector<uint64_t>(k, 0));
      for (size_t i = 0; i < k; ++i)
        for (size_t j = 0; j < k; ++j)
          out.distances[i][j] = dist->values[index_of[out.nodes[i].os_index] * dist->nbobjs +
                                             index_of[out.nodes[j].os_index]];
    }
    hwloc_distances_release(topo.get(), dist);
  }
  return out;
}

nlohmann::json to_json(const Topology& t) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : t.nodes)
    nodes.push_back({{"os_index", n.os_index}, {"memory_bytes", n.memory_bytes}, {"cpus", n.cpus}});
  return {{"nodes", nodes}, {"distances", t.distances}};
}

}  // namespace memplace
