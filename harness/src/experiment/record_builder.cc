// SPDX-License-Identifier: GPL-2.0-only
#include "experiment/record_builder.h"

namespace memplace {

std::map<int, double> delta_mib(const MeminfoSnapshot& before, const MeminfoSnapshot& after,
                                const std::string& field) {
  std::map<int, double> out;
  for (const auto& [node, fields] : after) {
    auto b = before.find(node);
    auto a_value = fields.find(field);
    if (b == before.end() || a_value == fields.end()) continue;
    auto b_value = b->second.find(field);
    if (b_value == b->second.end()) continue;
    out[node] =
        (static_cast<double>(a_value->second) - static_cast<double>(b_value->second)) / 1024.0;
  }
  return out;
}

std::map<int, double> delta_used_less_pcp_mib(const MeminfoSnapshot& before,
                                              const MeminfoSnapshot& after) {
  auto used = delta_mib(before, after, "MemUsed");
  auto pcp = delta_mib(before, after, kPcpFreeField);
  std::map<int, double> out;
  for (const auto& [node, mib] : used) {
    auto it = pcp.find(node);
    if (it != pcp.end()) out[node] = mib - it->second;
  }
  return out;
}

nlohmann::json node_mib_json(const std::map<int, double>& per_node) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [node, mib] : per_node) j[std::to_string(node)] = mib;
  return j;
}

VerdictInputs verdict_inputs(const Cell& cell, const std::vector<int>& host_nodes,
                             const MeminfoSnapshot& before, const RunContext& ctx) {
  VerdictInputs in;
  in.host_nodes = host_nodes;
  in.toucher_node = cell.cpu_node.value_or(-1);
  for (const auto& [node, fields] : before) {
    auto it = fields.find("MemFree");
    if (it != fields.end()) in.free_bytes[node] = it->second * 1024;
  }
  auto weights = read_weighted_interleave_weights(ctx.sysfs_root);
  if (weights) in.interleave_weights = *weights;
  in.tolerance = ctx.tolerance;
  return in;
}

RunRecord record_for_cell(const Cell& cell, const std::string& run_id, const Environment& env) {
  RunRecord r;
  r.run_id = run_id;
  r.environment = env;
  r.cell_key = cell_key(cell);
  r.repeat = cell.repeat;
  r.policy = policy_name(cell.policy);
  r.nodes = cell.nodes;
  r.backing = backing_name(cell.backing);
  r.toucher = toucher_name(cell.toucher);
  r.size_bytes = cell.size_bytes;
  r.threads = cell.threads;
  r.cpu_node = cell.cpu_node;
  r.policy_channel = policy_channel_name(cell.channel);
  return r;
}

void set_error(RunRecord& r, const Error& e) {
  r.status = run_status_for(e);
  r.message = e.describe();
}

}  // namespace memplace
