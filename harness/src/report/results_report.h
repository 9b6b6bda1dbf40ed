// SPDX-License-Identifier: GPL-2.0-only
// Everything a reader gets for a finished results dir, from its normalised files only:
// report.md (+ runs.csv, summary.csv; compare.* across kernels), charts in DIR/plots/ and the
// self-contained report.html.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace memplace {

struct ReportSettings {
  bool plots = true;  // draw charts (Python); without, the reports say how to get them
  bool html = true;   // report.html
};

// DIR is a results dir (runs.jsonl) or a testbed dir (one subdir per kernel holding runs.jsonl).
// A testbed's kernels are `kernel_dirs` (subdir names, baseline first) when given, else the
// subdirs found, in the order they ran (their first run's start time).
Status write_results_report(const std::string& dir, const ReportSettings& settings,
                            std::vector<std::string> kernel_dirs = {});

// The kernel subdirs of a testbed dir, in the order they ran; empty for a results dir.
Result<std::vector<std::string>> find_kernel_dirs(const std::string& dir);

}  // namespace memplace
