// SPDX-License-Identifier: GPL-2.0-only
// Planning a merge: which records go in, in what order, under what ids, and what is missing.
// Pure: merge_io.cc reads the inputs and writes the plan out.
#include "results/merge.h"

#include <algorithm>
#include <map>
#include <set>

#include "results/host_identity.h"
#include "results/results.h"
#include "spec/shard.h"

namespace memplace {
namespace {

using nlohmann::json;

std::string json_str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// j[key] when j is an object that has it, else null: a manifest is untrusted, and json::value()
// throws on a manifest of the wrong type.
const json& member(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// What a record says of its host, completed from its dir's manifest for records made before
// records carried a topology digest.
Environment host_of(const RunRecord& r, const MergeInput& in) {
  Environment env = r.environment;
  const json& menv = member(in.manifest, "environment");
  if (env.hostname.empty()) env.hostname = json_str(menv, "hostname");
  if (env.hostname.empty()) env.hostname = "unknown";
  if (env.topology_digest.empty()) env.topology_digest = json_str(menv, "topology_digest");
  if (env.topology_digest.empty() && in.manifest.is_object()) {
    auto probe = in.manifest.find("probe");
    if (probe != in.manifest.end() && probe->is_object() && probe->contains("topology"))
      env.topology_digest = topology_digest((*probe)["topology"]);
  }
  return env;
}

Status check_same_spec(const std::vector<MergeInput>& inputs) {
  std::string others;
  for (const auto& in : inputs)
    if (in.spec_identity != inputs.front().spec_identity) others += " " + in.dir;
  if (others.empty()) return {};
  return bad_input_error("these results dirs were made from a different spec than " +
                         inputs.front().dir + " (spec '" + inputs.front().spec.name +
                         "'):" + others + "; merge only dirs of one matrix");
}

Result<std::string> merge_mode(const std::vector<MergeInput>& inputs) {
  std::string shards, whole;
  std::set<int> counts;
  for (const auto& in : inputs) {
    if (in.spec.shard) {
      shards += " " + in.dir + " (" + shard_text(*in.spec.shard) + ")";
      counts.insert(in.spec.shard->count);
    } else {
      whole += " " + in.dir;
    }
  }
  if (!shards.empty() && !whole.empty())
    return bad_input_error(
        "shards and whole-matrix results dirs cannot be merged together; shards:" + shards +
        "; whole matrix:" + whole);
  if (counts.size() > 1)
    return bad_input_error("these shards split the matrix in different ways:" + shards);
  return std::string(shards.empty() ? "hosts" : "shards");
}

struct Placed {
  size_t input;
  const RunRecord* record;
  Environment host;
  size_t host_order;
  size_t matrix_index;
};

}  // namespace

namespace {

size_t host_index(std::vector<std::string>& hosts, const std::string& name) {
  auto it = std::find(hosts.begin(), hosts.end(), name);
  if (it != hosts.end()) return static_cast<size_t>(it - hosts.begin());
  hosts.push_back(name);
  return hosts.size() - 1;
}

Error duplicate_error(const std::vector<std::string>& twice,
                      const std::map<std::string, std::vector<std::string>>& dirs_of) {
  std::string msg = std::to_string(twice.size()) + " run(s) appear more than once:";
  for (size_t i = 0; i < twice.size() && i < 20; ++i) {
    msg += "\n  " + twice[i] + " in";
    for (const auto& d : dirs_of.at(twice[i])) msg += " " + d;
  }
  if (twice.size() > 20) msg += "\n  ... and " + std::to_string(twice.size() - 20) + " more";
  return bad_input_error(msg + "\n(overlapping shards, or one dir given twice)");
}

// Every record of every input, placed in the matrix; a run twice or outside the matrix is an
// error. `hosts` gains each hostname in the order first seen.
Result<std::vector<Placed>> collect_runs(const std::vector<MergeInput>& inputs, bool by_host,
                                         const std::map<std::string, size_t>& matrix_index,
                                         std::vector<std::string>& hosts) {
  std::vector<Placed> out;
  std::map<std::string, std::vector<std::string>> dirs_of;
  std::vector<std::string> twice;
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (const RunRecord& r : inputs[i].records) {
      std::string key = run_key(r.cell_key, r.repeat);
      auto at = matrix_index.find(key);
      if (at == matrix_index.end())
        return bad_input_error(inputs[i].dir + ": run " + key + " (" + r.run_id +
                               ") is not in the spec's matrix");
      Environment host = host_of(r, inputs[i]);
      std::string id = by_host ? host.hostname + "|" + key : key;
      auto& dirs = dirs_of[id];
      dirs.push_back(inputs[i].dir);
      if (dirs.size() == 2) twice.push_back(id);
      out.push_back({i, &r, host, host_index(hosts, host.hostname), at->second});
    }
  }
  if (!twice.empty()) return duplicate_error(twice, dirs_of);
  return out;
}

// The locality JSON keeps its name after the run id: locality/r0003-triad.json (or a legacy
// workloads/r0003-triad.json) becomes locality/r0011-triad.json.
void retarget_locality(RunRecord& r, const std::string& old_id, size_t input, MergePlan& plan) {
  if (!r.extra.is_object() || !r.extra.contains("locality")) return;
  json& w = r.extra["locality"];
  if (!w.is_object() || !w.contains("file")) return;
  std::string from = w["file"].is_string() ? w["file"].get<std::string>() : "";
  std::string_view dir = from.rfind(kLegacyLocalityDir, 0) == 0 ? kLegacyLocalityDir : kLocalityDir;
  std::string base = from.size() > dir.size() ? from.substr(dir.size()) : "";
  std::string rest =
      !old_id.empty() && base.rfind(old_id, 0) == 0 ? base.substr(old_id.size()) : "-" + base;
  std::string to = std::string(kLocalityDir) + r.run_id + rest;
  if (!safe_locality_path(from) || !safe_locality_path(to)) {
    plan.warnings.push_back(r.run_id + ": locality file name '" + from.substr(0, 200) +
                            "' is not one memplace writes; dropped");
    w.erase("file");
    w["file_error"] = "dropped by merge: not a locality/<name>.json name";
    return;
  }
  plan.copies.push_back({input, from, to, plan.records.size(), true});
  w["file"] = to;
}

void renumber(MergePlan& plan, const std::vector<MergeInput>& inputs,
              const std::vector<Placed>& placed) {
  for (const Placed& p : placed) {
    RunRecord r = *p.record;
    std::string old_id = r.run_id;
    char id[16];
    std::snprintf(id, sizeof id, "r%04zu", plan.records.size() + 1);
    r.run_id = id;
    r.environment.hostname = p.host.hostname;
    r.environment.topology_digest = p.host.topology_digest;
    if (safe_samples_path(r.samples_file)) {
      std::string to = "samples/" + r.run_id + ".csv";
      plan.copies.push_back({p.input, r.samples_file, to, plan.records.size(), false});
      r.samples_file = to;
    } else if (!r.samples_file.empty()) {
      plan.warnings.push_back(inputs[p.input].dir + ": " + old_id + ": samples file name '" +
                              r.samples_file.substr(0, 200) +
                              "' is not one memplace writes; "
                              "dropped");
      r.samples_file.clear();
    }
    retarget_locality(r, old_id, p.input, plan);
    plan.records.push_back(std::move(r));
  }
}

}  // namespace

namespace {

std::vector<std::string> missing_runs(const std::vector<Cell>& cells,
                                      const std::vector<Placed>& placed,
                                      const std::vector<std::string>& hosts, bool by_host) {
  std::set<std::string> present;
  for (const Placed& p : placed)
    present.insert((by_host ? p.host.hostname + "|" : "") +
                   run_key(p.record->cell_key, p.record->repeat));
  std::vector<std::string> missing;
  std::vector<std::string> scopes = by_host ? hosts : std::vector<std::string>{""};
  for (const auto& host : scopes)
    for (const auto& c : cells) {
      std::string key = (by_host ? host + "|" : "") + run_key(c);
      if (!present.count(key)) missing.push_back(key);
    }
  return missing;
}

// The probe a dir's manifest holds for one host: its own, or a merged dir's entry for it.
json probe_for(const MergeInput& in, const Environment& host) {
  // find_host points into the manifest itself (a copy of "hosts" would die with the statement).
  if (const json* h = find_host(member(in.manifest, "hosts"), host.hostname, host.topology_digest))
    return member(*h, "probe");
  if (json_str(member(in.manifest, "environment"), "hostname") == host.hostname)
    return member(in.manifest, "probe");
  return nullptr;
}

json hosts_json(const std::vector<MergeInput>& inputs, const std::vector<Placed>& placed) {
  json hosts = json::array();
  std::map<std::string, size_t> at;
  for (const Placed& p : placed) {
    std::string id = p.host.hostname + "|" + p.host.topology_digest;
    auto [it, fresh] = at.try_emplace(id, hosts.size());
    if (fresh) {
      Environment env = p.host;
      hosts.push_back(host_identity_json(env, probe_for(inputs[p.input], env)));
      hosts.back()["dirs"] = json::array();
    }
    json& dirs = hosts[it->second]["dirs"];
    if (std::find(dirs.begin(), dirs.end(), inputs[p.input].dir) == dirs.end())
      dirs.push_back(inputs[p.input].dir);
  }
  return hosts;
}

json sources_json(const std::vector<MergeInput>& inputs) {
  json out = json::array();
  for (const auto& in : inputs) {
    const json& menv = member(in.manifest, "environment");
    out.push_back({{"dir", in.dir},
                   {"shard", in.spec.shard ? json(shard_text(*in.spec.shard)) : json()},
                   {"hostname", json_str(menv, "hostname")},
                   {"status", json_str(in.manifest, "status")},
                   {"runs", in.records.size()}});
  }
  return out;
}

}  // namespace

namespace {

// Two dirs that claim the same shard K/N hold the same runs: one of them is not what it says.
Status check_distinct_shards(const std::vector<MergeInput>& inputs) {
  std::map<std::string, std::string> claimed;  // "K/N" -> the first dir that claims it
  for (const auto& in : inputs) {
    if (!in.spec.shard) continue;
    const std::string shard = shard_text(*in.spec.shard);
    auto [at, fresh] = claimed.emplace(shard, in.dir);
    if (!fresh)
      return bad_input_error(in.dir + " and " + at->second + " both claim shard " + shard);
  }
  return {};
}

}  // namespace

Result<MergePlan> plan_merge(const std::vector<MergeInput>& inputs) {
  if (inputs.empty()) return bad_input_error("merge needs at least one results dir");
  if (auto s = check_same_spec(inputs); !s) return s.error();
  auto mode = merge_mode(inputs);
  if (!mode) return mode.error();
  Spec whole = inputs.front().spec;
  whole.shard.reset();
  std::vector<Cell> cells = expand(whole);
  std::map<std::string, size_t> matrix_index;
  for (size_t i = 0; i < cells.size(); ++i) matrix_index.emplace(run_key(cells[i]), i);

  MergePlan plan;
  plan.mode = *mode;
  bool by_host = plan.mode == "hosts";
  // A dir whose host made no runs still counts: all of its runs are missing.
  std::vector<std::string> hosts;
  for (const auto& in : inputs) {
    std::string name = json_str(member(in.manifest, "environment"), "hostname");
    if (!name.empty() && !in.manifest.contains("merged_from")) host_index(hosts, name);
  }
  auto placed = collect_runs(inputs, by_host, matrix_index, hosts);
  if (!placed) return placed.error();  // overlapping runs are named there, dirs and runs
  if (auto s = check_distinct_shards(inputs); !s) return s.error();
  if (hosts.empty()) hosts.push_back("unknown");
  std::stable_sort(placed->begin(), placed->end(), [&](const Placed& a, const Placed& b) {
    size_t ha = by_host ? a.host_order : 0, hb = by_host ? b.host_order : 0;
    return ha != hb ? ha < hb : a.matrix_index < b.matrix_index;
  });
  renumber(plan, inputs, *placed);
  plan.missing = missing_runs(cells, *placed, hosts, by_host);
  plan.expected_runs = cells.size() * (by_host ? std::max<size_t>(1, hosts.size()) : 1);
  plan.hosts = hosts_json(inputs, *placed);
  plan.sources = sources_json(inputs);
  for (const auto& in : inputs)
    plan.warnings.insert(plan.warnings.end(), in.warnings.begin(), in.warnings.end());
  return plan;
}

}  // namespace memplace
