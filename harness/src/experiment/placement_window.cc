// SPDX-License-Identifier: GPL-2.0-only
#include "experiment/placement_window.h"

#include <algorithm>

#include "placement/memcg.h"
#include "placement/page_trace.h"

namespace memplace {

PlacementWindow::PlacementWindow(const Cell& cell, const RunContext& ctx) {
  auto wanted = [&](const char* name) {
    return std::find(ctx.placement_sources.begin(), ctx.placement_sources.end(), name) !=
           ctx.placement_sources.end();
  };
  if (wanted("trace")) {
    PageTraceOptions o;
    o.root = ctx.sysfs_root;
    o.buffer_kib = ctx.trace_buffer_kib;
    o.transport = ctx.trace_transport;
    o.expected_bytes = cell.size_bytes;
    sources_.push_back(make_trace_source(o));
  } else {
    not_run_["trace"] = source_unsupported("not requested (run.placement_sources)");
  }
  if (wanted("cgroup")) {
    sources_.push_back(make_memcg_source(cell.backing, ctx.sysfs_root));
  } else {
    not_run_["cgroup"] = source_unsupported("not requested (run.placement_sources)");
  }
  // A source that cannot start says why when it is closed.
  for (auto& s : sources_) (void)s->start();
}

// The trace last: what naming a task to the cgroup allocates in that task is not the cell's.
void PlacementWindow::add_task(pid_t tid) {
  for (auto it = sources_.rbegin(); it != sources_.rend(); ++it) (void)(*it)->add_task(tid);
}

void PlacementWindow::add_process(pid_t pid) {
  for (auto it = sources_.rbegin(); it != sources_.rend(); ++it) (void)(*it)->add_process(pid);
}

// The cgroup first: the trace's reading sorts and tallies its events in memplace's own memory,
// which must not be charged to the cell's cgroup while it is still being read.
std::map<std::string, SourceReading> PlacementWindow::close() {
  std::map<std::string, SourceReading> out = not_run_;
  for (auto it = sources_.rbegin(); it != sources_.rend(); ++it) out[(*it)->name()] = (*it)->stop();
  return out;
}

}  // namespace memplace
