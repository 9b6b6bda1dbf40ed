// SPDX-License-Identifier: GPL-2.0-only
// The oracle. Kept deliberately simple and explainable: a fill model over nodes in the order the
// kernel's page allocator would try them, or equal/weighted shares for interleave. Node distance
// is approximated by id order when the toucher's node is not in the set.
#include "experiment/verdict.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/nodelist.h"

namespace memplace {
namespace {

std::vector<int> fill_order(std::vector<int> preferred_first, const std::vector<int>& rest) {
  for (int n : rest)
    if (std::find(preferred_first.begin(), preferred_first.end(), n) == preferred_first.end())
      preferred_first.push_back(n);
  return preferred_first;
}

// Toucher's node first when it is allowed, then the allowed nodes by id.
std::vector<int> local_first(const std::vector<int>& allowed, int toucher_node) {
  std::vector<int> order;
  if (std::find(allowed.begin(), allowed.end(), toucher_node) != allowed.end())
    order.push_back(toucher_node);
  return fill_order(order, allowed);
}

std::map<int, double> fill(const std::vector<int>& order, uint64_t size, const VerdictInputs& in) {
  std::map<int, double> out;
  if (order.empty() || size == 0) return out;
  uint64_t remaining = size;
  for (size_t i = 0; i < order.size() && remaining > 0; ++i) {
    int n = order[i];
    auto it = in.free_bytes.find(n);
    bool last = i + 1 == order.size();
    uint64_t room =
        (it == in.free_bytes.end() || last) ? remaining : std::min(remaining, it->second);
    if (room == 0) continue;
    out[n] = static_cast<double>(room) / static_cast<double>(size);
    remaining -= room;
  }
  return out;
}

std::string percent_split(const std::map<int, double>& m) {
  std::string s;
  for (const auto& [node, frac] : m) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%sN%d %.1f%%", s.empty() ? "" : ", ", node, frac * 100);
    s += buf;
  }
  return s.empty() ? "nothing" : s;
}

}  // namespace

std::map<int, double> expected_split(const Cell& cell, const VerdictInputs& in) {
  int home =
      in.toucher_node >= 0 ? in.toucher_node : (in.host_nodes.empty() ? 0 : in.host_nodes.front());
  switch (cell.policy) {
    case PolicyMode::kDefault:
    case PolicyMode::kLocal:
      return fill(fill_order({home}, in.host_nodes), cell.size_bytes, in);
    case PolicyMode::kBind: {
      // Bind never spills outside its mask, so the last allowed node takes any remainder.
      return fill(local_first(cell.nodes, home), cell.size_bytes, in);
    }
    case PolicyMode::kPreferred:
      return fill(fill_order(cell.nodes.empty() ? std::vector<int>{home}
                                                : std::vector<int>{cell.nodes.front()},
                             fill_order({home}, in.host_nodes)),
                  cell.size_bytes, in);
    case PolicyMode::kPreferredMany:
      return fill(fill_order(local_first(cell.nodes, home), fill_order({home}, in.host_nodes)),
                  cell.size_bytes, in);
    case PolicyMode::kInterleave:
    case PolicyMode::kWeightedInterleave: {
      std::map<int, double> out;
      double total = 0;
      for (int n : cell.nodes) {
        double w = 1;
        if (cell.policy == PolicyMode::kWeightedInterleave) {
          auto it = in.interleave_weights.find(n);
          if (it != in.interleave_weights.end() && it->second > 0) w = it->second;
        }
        out[n] = w;
        total += w;
      }
      for (auto& [n, w] : out) w /= total;
      return out;
    }
  }
  return {};
}

Verdict judge(const Cell& cell, const std::map<int, uint64_t>& pages_per_node,
              const VerdictInputs& in) {
  Verdict v;
  v.tolerance = in.tolerance;
  v.expected = expected_split(cell, in);
  uint64_t total = 0;
  for (const auto& [n, p] : pages_per_node) total += p;
  if (total == 0) {
    v.honored = false;
    v.max_deviation = 1;
    v.reason = "no pages were placed, so the policy cannot be judged";
    return v;
  }
  for (const auto& [n, p] : pages_per_node)
    if (p > 0) v.measured[n] = static_cast<double>(p) / static_cast<double>(total);
  std::map<int, bool> nodes;
  for (const auto& [n, _] : v.expected) nodes[n] = true;
  for (const auto& [n, _] : v.measured) nodes[n] = true;
  for (const auto& [n, _] : nodes) {
    double e = v.expected.count(n) ? v.expected.at(n) : 0;
    double m = v.measured.count(n) ? v.measured.at(n) : 0;
    v.max_deviation = std::max(v.max_deviation, std::fabs(m - e));
  }
  v.honored = v.max_deviation <= v.tolerance;
  char buf[64];
  std::snprintf(buf, sizeof buf, " (max deviation %.1f%%, tolerance %.1f%%)", v.max_deviation * 100,
                v.tolerance * 100);
  v.reason = std::string(v.honored ? "honored: " : "NOT honored: ") + "expected " +
             percent_split(v.expected) + ", measured " + percent_split(v.measured) + buf;
  return v;
}

}  // namespace memplace
