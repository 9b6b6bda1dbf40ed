// SPDX-License-Identifier: GPL-2.0-only
// The results dir of `memplace exec`: manifest.json, runs.jsonl with its one record, the cgroup's
// time series as samples/r0001.csv, then report.md, charts and report.html like any run's.
#pragma once

#include <string>

#include "base/result.h"
#include "exec/exec_run.h"

namespace memplace {

// `dir` is claimed already (new or empty, under memplace's lock).
Status write_exec_dir(const std::string& dir, const ExecOutcome& out, RunRecord record,
                      const std::string& invocation, bool plots);

}  // namespace memplace
