// The oracle: what split a policy should produce, and whether the measured one matches.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "experiment/cell.h"

namespace memplace {

struct Verdict {
  std::map<int, double> expected;  // node -> fraction of pages
  std::map<int, double> measured;  // node -> fraction of pages
  bool honored = false;
  double max_deviation = 0;  // max |measured - expected| over nodes
  double tolerance = 0.05;
  std::string reason;  // one line a person can read
};

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
