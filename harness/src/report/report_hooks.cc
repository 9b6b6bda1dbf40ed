#include "report/report_hooks.h"

#include <cstdio>

#include "report/report.h"
#include "report/testbed_report.h"

namespace memplace {

void attach_reports(RunOptions& options) {
  options.on_dir_finished = [](const std::string& dir) {
    if (auto s = write_report(dir); !s)
      std::fprintf(stderr, "memplace: report: %s\n", s.error().describe().c_str());
  };
}

void attach_testbed_report(TestbedHostConfig& host) {
  host.on_testbed_finished = [](const std::string& out_dir, const std::vector<std::string>& labels) {
    if (auto s = write_testbed_report(out_dir, labels); !s)
      std::fprintf(stderr, "[testbed] report: %s\n", s.error().describe().c_str());
  };
}

}  // namespace memplace
