// SPDX-License-Identifier: GPL-2.0-only
// What a results dir's manifest.json says about its run, and the tally of how its runs ended.
// The matrix (experiment/matrix.cc) and the testbed (one dir per kernel) build theirs the same
// way: written when the run starts ("status": "running") and again when it ends, so the dir of
// an interrupted or crashed run still says what it was.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "results/run_record.h"

namespace memplace {

struct MatrixSummary {
  int ok = 0;
  int unsupported = 0;
  int failed = 0;
  int not_honored = 0;     // ok runs whose verdict failed
  int skipped = 0;         // already present (resume)
  int interrupted_by = 0;  // signal number that stopped the matrix early, 0 if it ran through

  void count(const RunRecord& r);        // one more finished run, by its status and verdict
  void add(const MatrixSummary& other);  // another dir's tally (the testbed's kernels)
};

// The git revision memplace was built from, for manifests.
std::string memplace_revision();

class Manifest {
 public:
  // The fields every manifest has: schema_version, memplace_revision, invocation, cells, and
  // "status": "running".
  Manifest(std::string dir, const std::string& invocation, size_t cells);
  nlohmann::json& fields() { return json_; }  // the run's own fields
  // Sets "status" and "summary" ({ok, unsupported, failed, not_honored}).
  void finish(const std::string& status, const MatrixSummary& summary);
  Status write() const;  // <dir>/manifest.json, atomically

 private:
  std::string dir_;
  nlohmann::json json_;
};

}  // namespace memplace
