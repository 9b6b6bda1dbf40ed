// SPDX-License-Identifier: GPL-2.0-only
// The placement sources a cell runs beside move_pages and meminfo (RunContext::placement_sources:
// the page-allocation trace and the memory cgroup), as one window: opened before the "before"
// snapshot (their buffers and cgroup exist before anything is measured), fed each touching task,
// closed right after the touch and before the memory is released.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "experiment/cell_runner.h"
#include "placement/placement_source.h"
#include "spec/cell.h"

namespace memplace {

class PlacementWindow {
 public:
  PlacementWindow(const Cell& cell, const RunContext& ctx);
  PlacementWindow(const PlacementWindow&) = delete;
  PlacementWindow& operator=(const PlacementWindow&) = delete;

  // To every source that opened; a source that cannot take the task records why itself.
  void add_task(pid_t tid);
  void add_process(pid_t pid);
  // Every source's reading, "trace" and "cgroup" always present (a source the run did not ask
  // for reads "unsupported: not requested").
  std::map<std::string, SourceReading> close();

 private:
  std::vector<std::unique_ptr<PlacementSource>> sources_;
  std::map<std::string, SourceReading> not_run_;
};

}  // namespace memplace
