// SPDX-License-Identifier: GPL-2.0-only
#include "report/chart_data.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "report/compare.h"
#include "report/record_view.h"
#include "report/report.h"
#include "report/results_report.h"
#include "results/results.h"

namespace memplace {
namespace {

using nlohmann::json;

// The cover letter's memory is faulted by a guest's vCPUs: a real QEMU guest is the closest
// toucher, memplace's micro-VM vCPUs next, host threads last.
int toucher_rank(const std::string& toucher) {
  return toucher == "qemu" ? 0 : toucher == "vcpu" ? 1 : toucher == "host" ? 2 : 9;
}

template <class V>
json node_map(const std::map<int, V>& m) {
  json out = json::object();
  for (const auto& [node, v] : m) out[std::to_string(node)] = v;
  return out;
}

json memused_map(const MeminfoSnapshot& s) {
  std::map<int, uint64_t> kb;
  for (const auto& [node, _] : s)
    if (auto v = view::memused_kb(s, node)) kb[node] = *v;
  return node_map(kb);
}

// The ok repeats of one cell: what the MemUsed and timeline charts draw.
json ok_runs(const std::vector<const RunRecord*>& runs) {
  json out = json::array();
  for (const RunRecord* r : runs) {
    if (r->status != RunStatus::kOk) continue;
    out.push_back({{"run_id", r->run_id},
                   {"repeat", r->repeat},
                   {"before_kb", memused_map(r->meminfo_before)},
                   {"after_kb", memused_map(r->meminfo_after)},
                   {"samples_file", safe_samples_path(r->samples_file) ? r->samples_file : ""}});
  }
  return out;
}

std::map<int, double> expected_split(const std::vector<const RunRecord*>& runs) {
  for (const RunRecord* r : runs)
    if (r->status == RunStatus::kOk && r->verdict && !r->verdict->expected.empty())
      return r->verdict->expected;
  return {};
}

// cell key -> its runs, per series.
using RunsByCell = std::vector<std::map<std::string, std::vector<const RunRecord*>>>;

RunsByCell runs_by_cell(const std::vector<ChartSeries>& series) {
  RunsByCell out(series.size());
  for (size_t s = 0; s < series.size(); ++s)
    for (const RunRecord& r : series[s].runs) out[s][cell_match_key(r)].push_back(&r);
  return out;
}

json fold_json(const CompareSide& side, const std::vector<const RunRecord*>& runs) {
  if (!side.present) return nullptr;
  return {{"state", view::cell_state_name(side.state)},
          {"change", change_name(side.change)},
          {"honored", side.honored},
          {"judged", side.judged},
          {"split", node_map(side.split)},
          {"expected", node_map(expected_split(runs))},
          {"runs", ok_runs(runs)}};
}

HeadlineChoice choose_headline(const CompareResult& cmp,
                               const std::vector<const RunRecord*>& first) {
  std::vector<size_t> candidates;
  auto measured = [&](size_t c, bool everywhere) {
    const auto& sides = cmp.cells[c].sides;
    auto ok = [](const CompareSide& s) { return s.ok > 0; };
    return everywhere ? std::all_of(sides.begin(), sides.end(), ok)
                      : std::any_of(sides.begin(), sides.end(), ok);
  };
  for (size_t c = 0; c < cmp.cells.size(); ++c)
    if (first[c]->policy == "interleave" && first[c]->backing == "guest_memfd" &&
        measured(c, false))
      candidates.push_back(c);
  if (candidates.empty()) return {-1, "no interleave cell on guest_memfd was measured"};
  auto rank = [&](size_t c) {
    const RunRecord& r = *first[c];
    return std::make_tuple(!measured(c, true), r.nodes != std::vector<int>{0, 1},
                           r.cpu_node.value_or(0) != 0, toucher_rank(r.toucher),
                           -static_cast<int64_t>(r.size_bytes), r.threads, c);
  };
  std::sort(candidates.begin(), candidates.end(),
            [&](size_t a, size_t b) { return rank(a) < rank(b); });
  HeadlineChoice out{static_cast<int>(candidates[0]),
                     "the run's only interleave cell on guest_memfd"};
  if (candidates.size() == 1) return out;
  std::string others;
  for (size_t i = 1; i < candidates.size() && i < 4; ++i)
    others += (i > 1 ? ", " : "") + cmp.cells[candidates[i]].cell_key;
  if (candidates.size() > 4) others += " and " + std::to_string(candidates.size() - 4) + " more";
  out.why =
      "the closest of this run's cells to the cover letter's, where a guest's vCPUs fault the "
      "memory from node 0 (also measured: " +
      others + ")";
  return out;
}

}  // namespace

Result<std::vector<ChartSeries>> chart_series(const std::vector<std::string>& dirs) {
  std::vector<ChartSeries> out;
  for (const std::string& dir : dirs) {
    auto kernels = find_kernel_dirs(dir);
    if (!kernels) return kernels.error();
    std::vector<std::string> inputs;
    for (const auto& k : *kernels) inputs.push_back(dir + "/" + k);
    if (inputs.empty()) inputs.push_back(dir);
    for (const std::string& input : inputs) {
      auto runs = read_runs(input + "/runs.jsonl");
      if (!runs) return runs.error().prefixed(input + ": ");
      for (const std::string& w : runs->warnings)
        std::fprintf(stderr, "memplace: warning: %s\n", w.c_str());
      for (auto& [kernel, records] : runs_by_kernel(runs->records)) {
        ChartSeries s{input, kernel, {}};
        for (const RunRecord* r : records) s.runs.push_back(*r);
        out.push_back(std::move(s));
      }
    }
  }
  return out;
}

json chart_data(const std::vector<ChartSeries>& series) {
  std::vector<std::vector<RunRecord>> sides;
  for (const ChartSeries& s : series) sides.push_back(s.runs);
  const CompareResult cmp = compare_runs(sides);
  const RunsByCell by_cell = runs_by_cell(series);
  json cells = json::array(), folds = json::array();
  std::vector<const RunRecord*> first;
  for (const CellComparison& c : cmp.cells) {
    for (const auto& per_series : by_cell)
      if (auto it = per_series.find(c.cell_key); it != per_series.end()) {
        first.push_back(it->second.front());
        break;
      }
    const RunRecord& r = *first.back();
    std::set<int> nodes(c.split_nodes.begin(), c.split_nodes.end());
    nodes.insert(r.nodes.begin(), r.nodes.end());
    json cell = cell_fields_json(r);
    cell["key"] = c.cell_key;
    cell["split_nodes"] = std::vector<int>(nodes.begin(), nodes.end());
    cells.push_back(std::move(cell));
  }
  for (size_t s = 0; s < series.size(); ++s) {
    json row = json::array();
    for (const CellComparison& c : cmp.cells) {
      auto it = by_cell[s].find(c.cell_key);
      row.push_back(fold_json(
          c.sides[s], it == by_cell[s].end() ? std::vector<const RunRecord*>{} : it->second));
    }
    folds.push_back(std::move(row));
  }
  json list = json::array();
  for (const ChartSeries& s : series) list.push_back({{"dir", s.dir}, {"kernel", s.kernel}});
  const HeadlineChoice headline = choose_headline(cmp, first);
  return {
      {"chart_data_version", kChartDataVersion},
      {"series", list},
      {"cells", cells},
      {"folds", folds},
      {"headline",
       {{"cell", headline.cell < 0 ? json(nullptr) : json(headline.cell)}, {"why", headline.why}}}};
}

}  // namespace memplace
