// SPDX-License-Identifier: GPL-2.0-only
// Host-dependent spec checks, run before anything is allocated: a cell that names a node the
// host lacks, or that could push a node into OOM, must fail the whole invocation up front rather
// than half-way through a matrix.
#include <algorithm>

#include "base/nodelist.h"
#include "host/preflight.h"
#include "spec/spec.h"

namespace memplace {
namespace {

bool has_node(const HostFacts& host, int node) {
  return std::find(host.nodes.begin(), host.nodes.end(), node) != host.nodes.end();
}

uint64_t free_on(const HostFacts& host, int node) {
  auto it = host.free_bytes.find(node);
  return it == host.free_bytes.end() ? 0 : it->second;
}

std::string mib(uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

// Strict policies may not spill to other nodes, so each target node must hold its share.
// Others (default, local, preferred*) may spill, so only the host as a whole must hold the cell.
Status check_capacity(const Cell& cell, const HostFacts& host) {
  bool strict = cell.policy == PolicyMode::kBind || cell.policy == PolicyMode::kInterleave ||
                cell.policy == PolicyMode::kWeightedInterleave;
  if (strict) {
    uint64_t share =
        cell.policy == PolicyMode::kBind ? cell.size_bytes : cell.size_bytes / cell.nodes.size();
    uint64_t total_free = 0;
    for (int n : cell.nodes)
      total_free += free_on(host, n) > host.margin_bytes ? free_on(host, n) - host.margin_bytes : 0;
    if (cell.policy == PolicyMode::kBind) {
      if (cell.size_bytes > total_free)
        return make_error("size " + format_size(cell.size_bytes) +
                          " exceeds the free memory of nodes " + format_id_list(cell.nodes) + " (" +
                          mib(total_free) + " after a " + mib(host.margin_bytes) +
                          " safety margin per node)");
      return {};
    }
    for (int n : cell.nodes) {
      uint64_t avail =
          free_on(host, n) > host.margin_bytes ? free_on(host, n) - host.margin_bytes : 0;
      if (share > avail)
        return make_error("size " + format_size(cell.size_bytes) + " puts " + mib(share) +
                          " on node " + std::to_string(n) + ", which has " + mib(avail) +
                          " free after a " + mib(host.margin_bytes) + " safety margin");
    }
    return {};
  }
  uint64_t total = 0;
  for (int n : host.nodes)
    total += free_on(host, n) > host.margin_bytes ? free_on(host, n) - host.margin_bytes : 0;
  if (cell.size_bytes > total)
    return make_error("size " + format_size(cell.size_bytes) + " exceeds the host's free memory (" +
                      mib(total) + " after a " + mib(host.margin_bytes) +
                      " safety margin per node)");
  return {};
}

}  // namespace

Status validate_cells(const std::vector<Cell>& cells, const HostFacts& host) {
  std::string have = format_id_list(host.nodes);
  for (const auto& cell : cells) {
    std::string where = "cell " + cell_key(cell) + ": ";
    for (int n : cell.nodes)
      if (!has_node(host, n))
        return make_error(where + "node " + std::to_string(n) +
                          " does not exist on this host (nodes: " + have + ")");
    if (cell.cpu_node && !has_node(host, *cell.cpu_node))
      return make_error(where + "cpu_node " + std::to_string(*cell.cpu_node) +
                        " does not exist on this host (nodes: " + have + ")");
    if (cell.size_bytes == 0) return make_error(where + "size must be positive");
    if (cell.size_bytes % 4096 != 0)
      return make_error(where + "size " + std::to_string(cell.size_bytes) +
                        " is not a multiple of 4 KiB");
  }
  return {};
}

Status check_free_memory(const std::vector<Cell>& cells, const HostFacts& host) {
  for (const auto& cell : cells)
    if (auto s = check_capacity(cell, host); !s)
      return s.error().prefixed("cell " + cell_key(cell) + ": ");
  return {};
}

Status check_vm_fits_host(uint64_t vm_bytes, const HostFacts& host) {
  uint64_t total = 0;
  for (int n : host.nodes)
    total += free_on(host, n) > host.margin_bytes ? free_on(host, n) - host.margin_bytes : 0;
  if (vm_bytes > total)
    return make_error("the guest needs " + mib(vm_bytes) + " of host memory, but the host has " +
                      mib(total) + " free after a " + mib(host.margin_bytes) +
                      " safety margin per node");
  return {};
}

std::vector<std::string> kvm_warnings(const std::vector<Cell>& cells, const std::string& kvm_dev) {
  size_t needing = 0;
  for (const auto& c : cells)
    needing += c.backing == BackingKind::kGuestMemfd || c.toucher == ToucherKind::kVcpu;
  if (needing == 0) return {};
  auto access = check_kvm_access(kvm_dev);
  if (access) return {};
  return {access.error().describe() + ": " + std::to_string(needing) +
          " run(s) needing KVM (guest_memfd backing or vcpu toucher) will be recorded unsupported"};
}

}  // namespace memplace
