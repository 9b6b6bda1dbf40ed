// SPDX-License-Identifier: GPL-2.0-only
// Which placement source a record's verdict uses, and how far the sources that worked disagree.
// Every producer of records (local touchers, qemu guests) fills RunRecord::placement_sources and
// calls choose_placement; reports read the disagreement back from the record.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "host/placement.h"
#include "host/sysfs.h"
#include "placement/placement_source.h"
#include "results/run_record.h"

namespace memplace {

// move_pages' reading of a mapped range: the pages it found per node; how many it did not find
// (never faulted, or outside its view) goes to detail.absent, so the chooser can tell whether it
// saw every page.
SourceReading move_pages_reading(const Placement& p);
// Per-node MemUsed delta less the per-CPU free lists' change, in pages (negative deltas as 0):
// host-wide, so it moves with every other allocation on the host.
SourceReading meminfo_reading(const MeminfoSnapshot& before, const MeminfoSnapshot& after);

// Sets r.placement_source and r.placement_pages from r.placement_sources: the mapped view
// ("move_pages", or "numa_maps" for qemu guests) where it saw all `expected_pages`, else
// "trace", else "cgroup", else "meminfo" (the first that worked). False when none did.
bool choose_placement(RunRecord& r, uint64_t expected_pages);

struct SourceDisagreement {
  std::string a, b;    // the two sources, in name order
  int node = -1;       // the node where they differ most
  uint64_t pages = 0;  // |a - b| on that node
  double percent = 0;  // of the cell's pages
};
// The largest per-node difference between any two sources that worked; none when fewer than two
// worked.
std::optional<SourceDisagreement> largest_disagreement(const RunRecord& r);
// Above this share of the cell the report and the run's progress print a warning.
inline constexpr double kDisagreementWarnPercent = 1.0;
// "r0003: trace and meminfo differ by 2048 pages (12.50% of the cell) on node 0", or "" when
// the sources agree within kDisagreementWarnPercent.
std::string disagreement_warning(const RunRecord& r);

}  // namespace memplace
