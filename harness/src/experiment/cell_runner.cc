// SPDX-License-Identifier: GPL-2.0-only
#include "experiment/cell_runner.h"

#include "experiment/record_builder.h"

namespace memplace {

RunRecord run_cell_with(const CellRunners& runners, const Cell& cell, const RunContext& ctx,
                        const std::string& run_id) {
  auto it = runners.find(cell.toucher);
  if (it != runners.end() && it->second) return it->second->run(cell, ctx, run_id);
  RunRecord r = record_for_cell(cell, run_id, ctx.environment);
  r.status = RunStatus::kUnsupported;
  r.message = "toucher '" + toucher_name(cell.toucher) + "' is not available in this build";
  return r;
}

}  // namespace memplace
