// SPDX-License-Identifier: GPL-2.0-only
// Building a record from what a cell measured: its identity, meminfo deltas and the verdict's
// inputs. Every producer of records (local touchers, qemu guests, the testbed) uses these.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiment/cell_runner.h"
#include "experiment/verdict.h"
#include "host/sysfs.h"
#include "results/run_record.h"
#include "spec/cell.h"

namespace memplace {

// Per node, after[field] - before[field] in MiB (fields in kB), for nodes that have it in both.
std::map<int, double> delta_mib(const MeminfoSnapshot& before, const MeminfoSnapshot& after,
                                const std::string& field);
// MemUsed's delta less the change in per-CPU free lists (kPcpFreeField): memory that really went
// from free to used. Only nodes whose snapshots carry both fields.
std::map<int, double> delta_used_less_pcp_mib(const MeminfoSnapshot& before,
                                              const MeminfoSnapshot& after);
// {"0": 12.5, ...}: node maps as records write them.
nlohmann::json node_mib_json(const std::map<int, double>& per_node);

// What the verdict oracle needs for a cell: host nodes, the touching CPUs' node, MemFree per node
// before the touch, weighted-interleave weights and the tolerance.
VerdictInputs verdict_inputs(const Cell& cell, const std::vector<int>& host_nodes,
                             const MeminfoSnapshot& before, const RunContext& ctx);

// A record holding a cell's identity (key, policy, nodes, backing, toucher, size, ...), its
// run id and environment; every producer of records (local, testbed, qemu) starts from it.
RunRecord record_for_cell(const Cell& cell, const std::string& run_id, const Environment& env);

// A run that ended in `e`: its status by the error's kind (run_status_for) and e.describe().
void set_error(RunRecord& r, const Error& e);

}  // namespace memplace
