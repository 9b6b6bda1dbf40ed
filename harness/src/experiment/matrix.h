// SPDX-License-Identifier: GPL-2.0-only
// Runs a list of cells into a results dir. Every cell becomes exactly one record: a failure or
// an unsupported feature is a row with a status and message, and the matrix goes on.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "experiment/cell_runner.h"
#include "results/manifest.h"
#include "results/run_record.h"
#include "spec/cell.h"
#include "spec/spec.h"

namespace memplace {

struct RunOptions {
  std::string out_dir;
  std::string sysfs_root;   // "" = live system
  bool progress = true;     // human progress lines on stderr
  bool resume = false;      // skip cells already in out_dir/runs.jsonl
  Environment environment;  // kind, kernel; filled from the host when left empty
  std::string invocation;   // the command line, for the manifest
  CellRunners runners;      // by toucher; a toucher without one is "unsupported"
  // Called with each record once it is in runs.jsonl: inside a testbed guest, the cli sets it
  // to stream the record to the host (testbed/record_stream.h).
  std::function<void(const RunRecord& record, const std::string& dir)> on_record;
  // Called with the results dir once its manifest is final, interrupted or not: reports are
  // written by a layer above this one (report/report_hooks.h).
  std::function<void(const std::string& dir)> on_dir_finished;
};

Result<MatrixSummary> run_matrix(const Spec& spec, const std::vector<Cell>& cells,
                                 const RunOptions& options);

}  // namespace memplace
