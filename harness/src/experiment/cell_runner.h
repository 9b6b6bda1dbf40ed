// SPDX-License-Identifier: GPL-2.0-only
// The one way a cell becomes a record: every toucher (host, vcpu, qemu) is a CellRunner, and the
// matrix picks one by the cell's toucher. Runners never throw and never exit: every failure lands
// in the record's status and message.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "host/populate.h"
#include "probe/probe.h"
#include "results/run_record.h"
#include "spec/cell.h"
#include "spec/spec.h"

namespace memplace {

// Context shared by the cells of one matrix.
struct RunContext {
  std::string sysfs_root;
  std::string out_dir;
  int sample_interval_ms = 10;
  double tolerance = 0.05;
  PopulateOptions populate;       // host toucher only
  std::string locality = "none";  // timed after a successful populate (locality_run.h)
  // Per-cell touch time limit (Spec::toucher_timeout_s); none = by size (toucher.h).
  std::optional<int> toucher_timeout_s;
  // Placement sources beside move_pages and meminfo ("trace", "cgroup"), and the trace's per-CPU
  // buffer (KiB; 0 = sized by the cell). Spec::placement_sources.
  std::vector<std::string> placement_sources = {"trace", "cgroup"};
  uint64_t trace_buffer_kib = 0;
  TraceTransport trace_transport = TraceTransport::kAuto;
  Environment environment;
  ProbeReport probe;
  QemuSpec qemu;  // the spec's [qemu] table, for toucher = "qemu" cells
};

class CellRunner {
 public:
  virtual ~CellRunner() = default;
  virtual RunRecord run(const Cell& cell, const RunContext& ctx, const std::string& run_id) = 0;
};

// Runners by toucher; assembled above this layer (cli/).
using CellRunners = std::map<ToucherKind, std::shared_ptr<CellRunner>>;

// Runs `cell` with the runner for its toucher; a toucher with no runner is an "unsupported" row.
RunRecord run_cell_with(const CellRunners& runners, const Cell& cell, const RunContext& ctx,
                        const std::string& run_id);

}  // namespace memplace
