// SPDX-License-Identifier: GPL-2.0-only
#include "report/report_hooks.h"

#include <cstdio>

#include "report/report.h"

namespace memplace {

void attach_reports(RunOptions& options, const ReportSettings& settings) {
  options.on_dir_finished = [settings](const std::string& dir) {
    if (auto s = write_results_report(dir, settings, {}); !s)
      std::fprintf(stderr, "memplace: report: %s\n", s.error().describe().c_str());
  };
}

void attach_testbed_report(RunOptions& options, TestbedHostConfig& host,
                           const ReportSettings& settings) {
  options.on_dir_finished = [](const std::string& dir) {
    if (auto s = write_report(dir); !s)
      std::fprintf(stderr, "memplace: report: %s\n", s.error().describe().c_str());
  };
  host.on_testbed_finished = [settings](const std::string& out_dir,
                                        const std::vector<std::string>& labels) {
    if (labels.empty()) return;  // interrupted before any kernel ran
    if (auto s = write_results_report(out_dir, settings, labels); !s)
      std::fprintf(stderr, "[testbed] report: %s\n", s.error().describe().c_str());
  };
}

}  // namespace memplace
