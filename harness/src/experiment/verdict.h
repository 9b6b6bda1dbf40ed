// SPDX-License-Identifier: GPL-2.0-only
// The oracle: what split a policy should produce, and whether the measured one matches (the
// Verdict it gives is record data: results/run_record.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "results/run_record.h"
#include "spec/cell.h"

namespace memplace {

struct VerdictInputs {
  std::vector<int> host_nodes;            // every node of the host
  int toucher_node = -1;                  // node of the touching CPUs (-1: unknown/unpinned)
  std::map<int, uint64_t> free_bytes;     // MemFree per node before the touch
  std::map<int, int> interleave_weights;  // weighted-interleave weights; empty = all 1
  double tolerance = 0.05;
};

std::map<int, double> expected_split(const Cell& cell, const VerdictInputs& in);
Verdict judge(const Cell& cell, const std::map<int, uint64_t>& pages_per_node,
              const VerdictInputs& in);

}  // namespace memplace
