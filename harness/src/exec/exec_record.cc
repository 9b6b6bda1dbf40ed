// SPDX-License-Identifier: GPL-2.0-only
// An exec's outcome as the one record of its results dir: the peak's pages are the placement
// (the cgroup source's), the verdict judges them against --expect, and extra.exec keeps the
// end, the marker, the kinds of memory and the command's own exit status.
#include <nlohmann/json.hpp>

#include "base/nodelist.h"
#include "exec/exec_run.h"
#include "experiment/verdict.h"
#include "host/sysfs.h"

namespace memplace {
namespace {

using nlohmann::json;

json node_pages(const std::map<int, uint64_t>& m) {
  json j = json::object();
  for (const auto& [node, pages] : m) j[std::to_string(node)] = pages;
  return j;
}

// The three kinds a VMM's memory falls in, as far as the cgroup's counters tell them apart.
json kinds(const ExecSample& s, MemcgVersion v) {
  json j = {{"t_seconds", s.t},
            {"total", node_pages(s.pages.total)},
            {"anon", node_pages(s.pages.anon)},
            {"file", node_pages(s.pages.file)},
            {"unevictable", node_pages(s.pages.unevictable)}};
  j["reading"] = v == MemcgVersion::kV2
                     ? "anon: the process heap and anonymous RAM; file: shmem/memfd guest RAM "
                       "and guest_memfd (page cache); unevictable: guest_memfd's folios"
                     : "cgroup v1 counts by LRU list: shmem is in anon, guest_memfd in "
                       "unevictable";
  return j;
}

std::string cell_name(const ExecOptions& o) {
  if (o.attach_pid) return "attach:pid" + std::to_string(*o.attach_pid);
  if (!o.attach_cgroup.empty()) return "attach:" + o.attach_cgroup;
  const std::string& c = o.argv.front();
  return "exec:" + c.substr(c.rfind('/') == std::string::npos ? 0 : c.rfind('/') + 1);
}

void judge_placement(const ExecOptions& o, const ExecOutcome& out, RunRecord& r) {
  const std::optional<PolicyEntry>& want = o.expect ? o.expect : o.policy;
  if (!want || r.placement_pages.empty()) return;
  Cell cell;
  cell.policy = want->mode;
  cell.nodes = want->nodes.value_or(std::vector<int>{});
  cell.size_bytes = r.size_bytes;  // the peak: how much the policy had to place
  VerdictInputs in;
  if (auto nodes = list_nodes(o.sysfs_root)) in.host_nodes = *nodes;
  in.toucher_node = o.cpu_node.value_or(-1);
  in.tolerance = o.tolerance;
  for (const auto& [node, m] : out.meminfo_before)
    if (auto f = m.find("MemFree"); f != m.end()) in.free_bytes[node] = f->second * 1024;
  r.verdict = judge(cell, r.placement_pages, in);
  r.policy = policy_name(want->mode);
  r.nodes = cell.nodes;
}

}  // namespace

RunRecord exec_record(const ExecOptions& o, const ExecOutcome& out) {
  RunRecord r;
  r.run_id = "r0001";
  r.cell_key = cell_name(o);
  r.policy = o.policy ? policy_name(o.policy->mode) : "default";
  r.backing = "exec";
  r.toucher = o.argv.empty() ? "attach" : "exec";
  r.cpu_node = o.cpu_node;
  r.status = out.peak ? RunStatus::kOk : RunStatus::kFailed;
  if (!out.peak) r.message = "no reading of " + out.cgroup + " was taken";
  if (out.peak) {
    r.placement_pages = out.peak->pages.total;
    r.size_bytes = out.peak->pages.total_pages() * 4096;
    r.placement_source = "cgroup";
    SourceReading cg;
    cg.state = SourceReading::State::kOk;
    cg.pages = out.peak->pages.total;
    cg.detail = {{"cgroup", out.cgroup}, {"covers", "every page charged to the cgroup"}};
    r.placement_sources["cgroup"] = cg;
  }
  r.meminfo_before = out.meminfo_before;
  r.meminfo_after = out.meminfo_at_peak;
  r.populate_seconds = out.peak ? out.peak->t : 0;
  r.wall_seconds = out.seconds;
  judge_placement(o, out, r);
  json e = {{"argv", o.argv},
            {"exit_status", out.exit_status},
            {"forwarded_signal", out.forwarded_signal},
            {"cgroup", out.cgroup},
            {"samples", out.samples.size()}};
  if (out.peak) e["peak"] = kinds(*out.peak, out.version);
  if (out.end) e["end"] = kinds(*out.end, out.version);
  if (out.mark) e["mark"] = kinds(*out.mark, out.version), e["mark"]["line"] = out.mark_line;
  e["sources"] = o.argv.empty()
                     ? "cgroup: the whole current placement of the cgroup's processes"
                     : "cgroup: every page charged to the command's cgroup, mapped or not; the "
                       "page-allocation trace is not used by exec";
  r.extra["exec"] = e;
  return r;
}

}  // namespace memplace
