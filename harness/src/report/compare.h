// SPDX-License-Identifier: GPL-2.0-only
// memplace compare: the same cells across result dirs (kernel builds, environments, QEMU
// builds). The first dir is the baseline; every other dir is compared against it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/stats.h"
#include "report/record_view.h"
#include "results/run_record.h"

namespace memplace {

using view::CellState;

// What a side did to a cell against the baseline. kNone is the baseline itself.
enum class Change { kNone, kSame, kRegression, kFix, kChanged, kNew, kMissing };
// "" for kNone, else "same", "regression", "fix", "changed", "new", "missing".
std::string change_name(Change change);

// One dir's view of one cell, folded over its repeats.
struct CompareSide : view::FoldCounts {
  bool present = false;
  std::map<int, double> split;  // fraction of pages per node, summed over ok repeats
  CellState state = CellState::kAbsent;
  std::string kernel;                    // kernels seen for this cell, comma-joined
  std::string message;                   // first unsupported/failed message
  std::vector<double> populate_seconds;  // ok repeats
  double populate_mean = 0, populate_stddev = 0;
  Change change = Change::kNone;             // against the baseline
  std::optional<WelchResult> populate_test;  // this side's times against the baseline's
};

struct CellComparison {
  std::string cell_key;
  std::string policy;
  std::vector<int> nodes;
  std::string backing;
  std::string toucher;
  uint64_t size_bytes = 0;
  std::vector<int> split_nodes;    // nodes the splits are shown over
  std::vector<CompareSide> sides;  // one per dir, in the order given
};

struct CompareResult {
  std::vector<std::string> dirs;
  std::vector<std::string> labels;   // "A", "B", ... (first is the baseline)
  std::vector<std::string> kernels;  // kernels seen in each side, comma-joined
  std::vector<CellComparison> cells;
  std::vector<std::string> warnings;  // skipped runs.jsonl lines
  double alpha = 0.05;                // significance level for populate-time changes
};

// The identity a cell is matched by across dirs: its cell_key, or the fields it is made of.
std::string cell_match_key(const RunRecord& r);

// Pure: one vector of records per side. Labels default to "A", "B", ...
CompareResult compare_runs(const std::vector<std::vector<RunRecord>>& sides,
                           std::vector<std::string> labels = {});
// Reads DIR/runs.jsonl of each dir (at least two).
Result<CompareResult> compare_dirs(const std::vector<std::string>& dirs);
// One side per hostname over all the dirs' runs (a merged dir of several hosts, or several
// dirs), in the order the hosts first appear; the labels are the hostnames. At least two hosts.
Result<CompareResult> compare_dirs_by_host(const std::vector<std::string>& dirs);

// honored -> not honored (or mixed) on any cell of any non-baseline side.
bool has_regression(const CompareResult& r);
int count_changes(const CompareResult& r, Change change);
// What makes `compare --fail-on-regression` exit 1, one line each: a regression, a cell that ran
// in the baseline but failed or is missing in a later dir, a later dir sharing no cell with the
// baseline. Empty when none.
// A kernel that lost a feature fails the gate too: a cell that ran in the baseline and is
// unsupported in a candidate is a failure unless `allow_unsupported`.
std::vector<std::string> regression_failures(const CompareResult& r,
                                             bool allow_unsupported = false);

std::string render_compare_markdown(const CompareResult& r);
std::string render_compare_csv(const CompareResult& r);
nlohmann::json compare_to_json(const CompareResult& r);

// Writes out_dir/compare.md, compare.csv and compare.json atomically (out_dir is created).
Status write_compare(const CompareResult& r, const std::string& out_dir);

}  // namespace memplace
