// Runs a list of cells into a results dir. Every cell becomes exactly one record: a failure or
// an unsupported feature is a row with a status and message, and the matrix goes on.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "experiment/cell.h"
#include "experiment/cell_runner.h"
#include "kernel/populate.h"
#include "kernel/probe.h"
#include "base/result.h"
#include "experiment/run_record.h"
#include "experiment/spec.h"

namespace memplace {

struct RunOptions {
  std::string out_dir;
  std::string sysfs_root;   // "" = live system
  bool progress = true;     // human progress lines on stderr
  bool resume = false;      // skip cells already in out_dir/runs.jsonl
  std::string stream_path;  // also write each record line here (testbed's virtio port)
  Environment environment;  // kind, kernel; filled from the host when left empty
  std::string invocation;   // the command line, for the manifest
  CellRunners runners;      // by toucher; a toucher without one is "unsupported"
  // Called with the results dir once its manifest is final, interrupted or not: reports are
  // written by a layer above this one (report/report_hooks.h).
  std::function<void(const std::string& dir)> on_dir_finished;
};

struct MatrixSummary {
  int ok = 0;
  int unsupported = 0;
  int failed = 0;
  int not_honored = 0;     // ok runs whose verdict failed
  int skipped = 0;         // already present (resume)
  int interrupted_by = 0;  // signal number that stopped the matrix early, 0 if it ran through

  void count(const RunRecord& r);  // one more finished run, by its status and verdict
};

// The git revision memplace was built from, for manifests.
std::string memplace_revision();

Result<MatrixSummary> run_matrix(const Spec& spec, const std::vector<Cell>& cells,
                                 const RunOptions& options);

}  // namespace memplace
