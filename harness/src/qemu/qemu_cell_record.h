// SPDX-License-Identifier: GPL-2.0-only
// Turning what a qemu cell's guest reported into its record: the agent's done message and
// locality report, the guest RAM's placement from QEMU's numa_maps and the node counters, and
// the guest's logs on failure.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/agent_protocol.h"
#include "base/result.h"
#include "experiment/cell_runner.h"
#include "host/sysfs.h"
#include "results/run_record.h"
#include "spec/cell.h"

namespace memplace {

// Copies the guest's serial console and QEMU's log from `work` to <out>/qemu/<run_id>.*, linked
// from the record as extra.serial_log and extra.qemu_log.
void keep_qemu_logs(RunRecord& r, const RunContext& ctx, const std::string& work);

// The agent's locality report, written like the host path's as
// <out>/locality/<run_id>-<kind>.json and linked as extra.locality.file, its benchmarks copied
// in. A locality that failed leaves the placement result alone and says why in "error".
nlohmann::json locality_into_results(const Result<GuestMessage>& message, const std::string& run_id,
                                     const std::string& kind, const std::string& out_dir);

// The agent's own account of the touch: populate time and method, per-thread times, its log
// lines and what it says its "/" is.
void record_agent_done(RunRecord& r, const AgentDone& done, int progress_messages,
                       const nlohmann::json& agent_log);

// The placement sources QEMU's guest RAM can be read by: numa_maps at done (`maps`) against go
// (`maps_at_go`, optional), and the node counters already in `r`; then the one chosen
// (placement_choice.h). An error when numa_maps holds no guest RAM mapping or nothing could
// measure the cell.
Status record_guest_placement(RunRecord& r, const Cell& cell, const std::string& backend,
                              const std::vector<NumaMapsEntry>& maps,
                              const Result<std::vector<NumaMapsEntry>>& maps_at_go);

}  // namespace memplace
