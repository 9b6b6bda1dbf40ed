// SPDX-License-Identifier: GPL-2.0-only
// Matching cells across result dirs and judging what changed. Rendering is in
// compare_render.cc.
#include "report/compare.h"

#include <algorithm>
#include <set>

#include "base/enum_names.h"
#include "report/record_view.h"
#include "results/results.h"

namespace memplace {
namespace {

bool is_unhonored(CellState state) {
  return state == CellState::kNotHonored || state == CellState::kMixed;
}

Change classify(const CompareSide& base, const CompareSide& side) {
  if (!base.present) return side.present ? Change::kNew : Change::kNone;
  if (!side.present) return Change::kMissing;
  if (base.state == CellState::kHonored && is_unhonored(side.state)) return Change::kRegression;
  if (is_unhonored(base.state) && side.state == CellState::kHonored) return Change::kFix;
  return base.state == side.state ? Change::kSame : Change::kChanged;
}

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

CompareSide fold_side(const std::vector<const RunRecord*>& runs) {
  CompareSide side;
  if (runs.empty()) return side;
  view::CellFold fold;
  std::set<std::string> kernels;
  for (const RunRecord* r : runs) {
    fold.add(*r);
    if (!r->environment.kernel.empty()) kernels.insert(kernel_label(r->environment));
  }
  side.present = true;
  static_cast<view::FoldCounts&>(side) = fold;
  side.split = fold.split();
  side.state = fold.state();
  side.kernel = joined(kernels);
  side.message = fold.message;
  side.populate_seconds = fold.populate_seconds;
  side.populate_mean = mean(side.populate_seconds);
  side.populate_stddev = sample_stddev(side.populate_seconds);
  return side;
}

}  // namespace

// cell_key is the identity memplace writes; records from tools that lack it still match on the
// fields it is made of.
std::string cell_match_key(const RunRecord& r) {
  if (!r.cell_key.empty()) return r.cell_key;
  std::string pol = r.policy + (r.nodes.empty() ? "" : ":" + view::nodes_text(r.nodes));
  return pol + "/" + r.backing + "/" + r.toucher + "/" + view::size_text(r.size_bytes) + "/t" +
         std::to_string(r.threads) + (r.cpu_node ? "/cpu" + std::to_string(*r.cpu_node) : "");
}

constexpr EnumNames<Change, 7> kChangeNames{
    {"", "same", "regression", "fix", "changed", "new", "missing"}};

std::string change_name(Change change) {
  return name_of(kChangeNames, change, "missing");
}

CompareResult compare_runs(const std::vector<std::vector<RunRecord>>& sides,
                           std::vector<std::string> labels) {
  CompareResult out;
  for (size_t i = labels.size(); i < sides.size(); ++i)
    labels.push_back(i < 26 ? std::string(1, static_cast<char>('A' + i))
                            : "D" + std::to_string(i + 1));
  out.labels = std::move(labels);

  // Cells in order of first appearance: the baseline's order, then cells new in later dirs.
  std::vector<std::string> order;
  std::map<std::string, std::vector<std::vector<const RunRecord*>>> runs_by_cell;
  for (size_t s = 0; s < sides.size(); ++s) {
    std::set<std::string> kernels;
    for (const RunRecord& r : sides[s]) {
      std::string key = cell_match_key(r);
      auto [it, inserted] = runs_by_cell.try_emplace(key, sides.size());
      if (inserted) order.push_back(key);
      it->second[s].push_back(&r);
      if (!r.environment.kernel.empty()) kernels.insert(kernel_label(r.environment));
    }
    out.kernels.push_back(joined(kernels));
  }

  for (const std::string& key : order) {
    const auto& per_side = runs_by_cell[key];
    CellComparison cell;
    cell.cell_key = key;
    std::set<int> nodes;
    for (const auto& runs : per_side) {
      for (const RunRecord* r : runs) {
        if (cell.backing.empty()) {
          cell.policy = r->policy;
          cell.nodes = r->nodes;
          cell.backing = r->backing;
          cell.toucher = r->toucher;
          cell.size_bytes = r->size_bytes;
        }
        if (r->status == RunStatus::kOk)
          for (int n : view::split_nodes(*r)) nodes.insert(n);
      }
      cell.sides.push_back(fold_side(runs));
    }
    cell.split_nodes.assign(nodes.begin(), nodes.end());
    for (size_t s = 1; s < cell.sides.size(); ++s) {
      CompareSide& side = cell.sides[s];
      side.change = classify(cell.sides[0], side);
      side.populate_test = welch_t_test(cell.sides[0].populate_seconds, side.populate_seconds);
    }
    out.cells.push_back(std::move(cell));
  }
  return out;
}

Result<CompareResult> compare_dirs(const std::vector<std::string>& dirs) {
  if (dirs.size() < 2) return make_error("compare needs at least two result dirs");
  std::vector<std::vector<RunRecord>> sides;
  std::vector<std::string> warnings;
  for (const std::string& dir : dirs) {
    auto runs = read_runs(dir + "/runs.jsonl");
    if (!runs) return runs.error().prefixed(dir + ": ");
    sides.push_back(std::move(runs->records));
    warnings.insert(warnings.end(), runs->warnings.begin(), runs->warnings.end());
  }
  CompareResult out = compare_runs(sides);
  out.dirs = dirs;
  out.warnings = std::move(warnings);
  return out;
}

Result<CompareResult> compare_dirs_by_host(const std::vector<std::string>& dirs) {
  std::vector<std::string> hosts;
  std::vector<std::vector<RunRecord>> sides;
  std::vector<std::string> warnings;
  for (const std::string& dir : dirs) {
    auto runs = read_runs(dir + "/runs.jsonl");
    if (!runs) return runs.error().prefixed(dir + ": ");
    for (RunRecord& r : runs->records) {
      std::string host = r.environment.hostname.empty() ? "unknown" : r.environment.hostname;
      auto it = std::find(hosts.begin(), hosts.end(), host);
      if (it == hosts.end()) {
        hosts.push_back(host);
        sides.emplace_back();
        it = hosts.end() - 1;
      }
      sides[static_cast<size_t>(it - hosts.begin())].push_back(std::move(r));
    }
    warnings.insert(warnings.end(), runs->warnings.begin(), runs->warnings.end());
  }
  if (hosts.size() < 2)
    return make_error("--by host needs runs from two or more hosts; found " +
                      (hosts.empty() ? std::string("none") : "only " + hosts.front()));
  CompareResult out = compare_runs(sides, hosts);
  out.warnings = std::move(warnings);
  return out;
}

bool has_regression(const CompareResult& r) {
  return count_changes(r, Change::kRegression) > 0;
}

std::vector<std::string> regression_failures(const CompareResult& r, bool allow_unsupported) {
  std::vector<std::string> out;
  size_t sides = r.labels.size();
  std::vector<int> overlap(sides, 0);
  for (const CellComparison& c : r.cells) {
    const CompareSide& base = c.sides[0];
    for (size_t s = 1; s < c.sides.size(); ++s) {
      const CompareSide& side = c.sides[s];
      overlap[s] += base.present && side.present;
      std::string where = c.cell_key + " in " + r.labels[s] + ": ";
      if (side.change == Change::kRegression)
        out.push_back(where + view::cell_state_name(base.state) + " in the baseline, " +
                      view::cell_state_name(side.state) + " here");
      else if (base.ok > 0 && !side.present)
        out.push_back(where + "ran in the baseline, missing here");
      else if (base.ok > 0 && side.ok == 0 && side.failed > 0)
        out.push_back(where + "ran in the baseline, failed here");
      else if (base.ok > 0 && side.ok == 0 && side.unsupported > 0 && !allow_unsupported)
        out.push_back(where +
                      "ran in the baseline, unsupported here (--allow-unsupported "
                      "accepts that)");
    }
  }
  // Nothing to compare is not a pass: the candidate may have run nothing at all.
  for (size_t s = 1; s < sides; ++s)
    if (overlap[s] == 0) out.push_back(r.labels[s] + " shares no cell with the baseline");
  return out;
}

int count_changes(const CompareResult& r, Change change) {
  int n = 0;
  for (const CellComparison& c : r.cells)
    for (const CompareSide& s : c.sides) n += s.change == change;
  return n;
}

}  // namespace memplace
