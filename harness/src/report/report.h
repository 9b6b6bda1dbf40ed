// SPDX-License-Identifier: GPL-2.0-only
// Paper-style tables from a results dir: per-run Before/After/Delta MemUsed in the cover
// letter's (numastat -m) layout, and a policy x backing summary. Reads only normalised files.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "report/record_view.h"
#include "results/run_record.h"

namespace memplace {

// The cover letter's table for one run: MemUsed in MB per node, then the total, for the rows
// Before, After and Delta. A value the run did not record is nullopt (and so is its total).
struct MemusedTable {
  std::vector<int> nodes;
  std::array<std::vector<std::optional<double>>, 3> rows;  // nodes.size() + 1 values each
};
MemusedTable memused_table(const RunRecord& r);

// "                 Node 0     Node 1      Total" table for one run, MB with two decimals.
std::string format_memused_table(const RunRecord& r);

// Runs grouped by the kernel that placed the memory, in order of first appearance.
std::vector<std::pair<std::string, std::vector<const RunRecord*>>> runs_by_kernel(
    const std::vector<RunRecord>& runs);

// The policy x backing summary of one kernel's runs: a row per cell without its backing.
struct SummaryGrid {
  std::vector<std::string> rows;  // row keys in order of appearance
  std::vector<std::string> backings;
  std::map<std::pair<std::string, std::string>, view::CellFold> cells;
  std::vector<int> split_nodes;
  const view::CellFold* find(const std::string& row, const std::string& backing) const;
};
SummaryGrid summarise(const std::vector<const RunRecord*>& runs);

// `charts_md` (a "## Charts" section, or "") goes after the run counts.
std::string render_report_markdown(const std::vector<RunRecord>& runs, const std::string& title,
                                   const std::string& charts_md = "");
std::string render_runs_csv(const std::vector<RunRecord>& runs);
std::string render_summary_csv(const std::vector<RunRecord>& runs);

// Reads dir/runs.jsonl (+ manifest), writes report.md, runs.csv, summary.csv atomically.
Status write_report(const std::string& dir, const std::string& charts_md = "");

}  // namespace memplace
