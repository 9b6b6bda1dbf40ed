// SPDX-License-Identifier: GPL-2.0-only
// Which NUMA node a physical page frame belongs to: the page-allocation trace reports pfns, and
// a placement is pages per node. Read from the memory blocks each node lists in sysfs, with the
// zone spans of /proc/zoneinfo where the kernel has no memory block devices.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

class PfnNodeMap {
 public:
  struct Range {
    uint64_t first_pfn = 0;
    uint64_t end_pfn = 0;  // one past the last
    int node = -1;
  };
  // Ranges may arrive in any order; overlapping ranges of different nodes are an error (the map
  // would have to guess).
  static Result<PfnNodeMap> from_ranges(std::vector<Range> ranges, std::string source);

  std::optional<int> node_of(uint64_t pfn) const;
  const std::vector<Range>& ranges() const { return ranges_; }
  const std::string& source() const { return source_; }  // "memory_blocks" | "zoneinfo"

 private:
  std::vector<Range> ranges_;  // sorted, adjacent ranges of one node merged
  std::string source_;
};

// Memory blocks: <root>/sys/devices/system/memory/block_size_bytes (hex) and the memory<M>
// entries of each <root>/sys/devices/system/node/node<N>; block M covers pfns
// [M * block/4096, (M+1) * block/4096).
Result<PfnNodeMap> read_pfn_node_map_from_blocks(const std::string& root);
// Zone spans: "Node N, zone Z" headers with their "spanned" and "start_pfn:" lines; empty
// zones are skipped.
Result<PfnNodeMap> parse_zoneinfo_spans(std::string_view text);
// Memory blocks, else zone spans; the error names both failures.
Result<PfnNodeMap> read_pfn_node_map(const std::string& root);

}  // namespace memplace
