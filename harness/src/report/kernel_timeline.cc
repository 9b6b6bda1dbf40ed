// SPDX-License-Identifier: GPL-2.0-only
#include "report/kernel_timeline.h"

#include <map>
#include <set>

#include "report/compare.h"
#include "report/record_view.h"

namespace memplace {
namespace {

using view::CellState;

// "6.19.14+deb13-cloud-amd64" -> "6.19.14": the columns stay narrow; the list above names them.
std::string short_kernel(const std::string& label) {
  return label.substr(0, label.find_first_of("+-"));
}

std::string entry(const view::CellFold* f, const std::vector<int>& nodes) {
  if (!f) return "-";
  const CellState state = f->state();
  if (state == CellState::kUnsupported || state == CellState::kFailed)
    return view::cell_state_name(state);
  std::string split = f->ok ? view::split_text(f->split(), nodes) + " " : "";
  return split +
         (state == CellState::kNotHonored ? "**not honored**" : view::cell_state_name(state));
}

// The first kernel where the cell is honored, and any later one where it is not.
std::string first_honored(const std::vector<std::string>& labels,
                          const std::vector<const view::CellFold*>& folds) {
  std::string first, lost;
  for (size_t k = 0; k < folds.size(); ++k) {
    const bool honored = folds[k] && folds[k]->state() == CellState::kHonored;
    if (honored && first.empty()) first = labels[k];
    if (!honored && !first.empty() && lost.empty() && folds[k]) lost = labels[k];
  }
  if (first.empty()) return "never";
  return first + (lost.empty() ? "" : " (not on " + lost + ")");
}

}  // namespace

std::string render_kernel_timeline(const std::vector<TestbedKernelRecords>& kernels) {
  if (kernels.size() < 3) return "";
  std::vector<std::string> order, labels;
  std::vector<std::map<std::string, view::CellFold>> folds(kernels.size());
  // One node list for the whole table, so every split reads the same way ("0/100", not "100").
  std::set<int> all;
  std::set<std::string> seen;
  for (size_t k = 0; k < kernels.size(); ++k) {
    labels.push_back(short_kernel(kernels[k].label));
    for (const RunRecord& r : kernels[k].records) {
      const std::string key = cell_match_key(r);
      if (seen.insert(key).second) order.push_back(key);
      folds[k][key].add(r);
      if (r.status == RunStatus::kOk)
        for (int n : view::split_nodes(r)) all.insert(n);
    }
  }
  const std::vector<int> cell_nodes(all.begin(), all.end());
  std::string md =
      "## Kernel timeline\n\nEach cell on every kernel, in the order they ran: the split of "
      "placed pages over the nodes and the verdict; the last column is the first kernel where "
      "the cell is honored. Splits are over nodes " +
      view::nodes_text(cell_nodes) + ".\n\n| cell |";
  for (const auto& l : labels) md += " " + view::md_cell(l) + " |";
  md += " first honored |\n|---|";
  for (size_t k = 0; k < labels.size(); ++k) md += "---|";
  md += "---|\n";
  for (const std::string& key : order) {
    std::vector<const view::CellFold*> row;
    md += "| `" + view::md_code(key) + "` |";
    for (size_t k = 0; k < kernels.size(); ++k) {
      auto it = folds[k].find(key);
      row.push_back(it == folds[k].end() ? nullptr : &it->second);
      md += " " + entry(row.back(), cell_nodes) + " |";
    }
    md += " " + view::md_cell(first_honored(labels, row)) + " |\n";
  }
  return md + "\n";
}

}  // namespace memplace
