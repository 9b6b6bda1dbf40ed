// SPDX-License-Identifier: GPL-2.0-only
// The top-level report of a testbed run: the cover letter's interleave/guest_memfd MemUsed
// tables side by side for every kernel, then the cell-by-cell comparison across kernels. Each
// kernel's own report.md stays in its subdirectory.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "results/run_record.h"

namespace memplace {

struct TestbedKernelRecords {
  std::string label;  // subdirectory name
  std::vector<RunRecord> records;
};

// Pure. `comparison_md` is render_compare_markdown() of the kernels, "" with a single kernel;
// `charts_md` (charts_markdown()) follows the list of kernels.
std::string render_testbed_report(const std::string& title,
                                  const std::vector<TestbedKernelRecords>& kernels,
                                  const std::string& comparison_md,
                                  const std::string& charts_md = "");

// Reads out_dir/<label>/runs.jsonl for each label and writes out_dir/report.md (and, with two
// or more kernels, out_dir/compare.md/.csv/.json with the first kernel as the baseline).
Status write_testbed_report(const std::string& out_dir, const std::vector<std::string>& labels,
                            const std::string& charts_md = "");

}  // namespace memplace
