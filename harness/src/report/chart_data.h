// SPDX-License-Identifier: GPL-2.0-only
// What the charts show, decided here and nowhere else: the folded cells, their states, the
// changes against the baseline, the per-cell splits and the headline cell. plots/ draws from
// this one file (chart-data.json) and never reads runs.jsonl, so a chart cannot say what the
// tables do not.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"
#include "results/run_record.h"

namespace memplace {

inline constexpr int kChartDataVersion = 1;
inline constexpr const char* kChartDataFile = "chart-data.json";

// The runs of one kernel from one results dir: one colour group in every chart.
struct ChartSeries {
  std::string dir;     // the results dir its samples files are relative to
  std::string kernel;  // kernel_label of its runs
  std::vector<RunRecord> runs;
};

// One series per kernel of each results dir, in the order given (a testbed dir's kernels in
// the order they ran). Errors are bad input naming the dir.
Result<std::vector<ChartSeries>> chart_series(const std::vector<std::string>& dirs);

// Pure: the chart data of `series`, the first the baseline.
nlohmann::json chart_data(const std::vector<ChartSeries>& series);

// (cell index, why) of the cover letter's cell: guest_memfd interleaved over nodes 0-1 and
// faulted from node 0 by a guest's vCPUs, or the closest measured; index -1 when none.
struct HeadlineChoice {
  int cell = -1;
  std::string why;
};

}  // namespace memplace
