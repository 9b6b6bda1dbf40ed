// SPDX-License-Identifier: GPL-2.0-only
// Sharding a matrix: run K of N takes a deterministic slice of the expanded runs so that N
// invocations (Slurm array tasks, hosts) with K = 1..N cover every run exactly once. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "spec/cell.h"

namespace memplace {

struct Shard {
  int index = 1;  // K, 1-based
  int count = 1;  // N
  bool operator==(const Shard&) const = default;
};

// "K/N" with 1 <= K <= N <= kMaxShards; errors name `field`.
inline constexpr int kMaxShards = 100000;
Result<Shard> parse_shard(std::string_view text, const std::string& field);
std::string shard_text(const Shard& s);  // "K/N"

// The identity sharding and merging use for one run: "cell_key#repeat", prefixed by the
// testbed kernel ("debian:7.3|cell_key#repeat") where one matrix runs on several kernels.
std::string run_key(const Cell& cell, std::string_view kernel = "");
std::string run_key(std::string_view cell_key, int repeat);  // a record's: "cell_key#repeat"

// Shard number (1..count) of each key, in the order given. Keys are ranked by a stable hash
// (ties by the key itself) and dealt round-robin, so the slices differ in size by at most one
// and do not depend on the order the matrix was expanded in. Duplicate keys share a shard.
std::vector<int> assign_shards(const std::vector<std::string>& keys, int count);

// The runs of `cells` (one kernel, or none) that belong to shard `s` of the whole matrix.
// With kernels, the whole matrix is every kernel times every cell, so one kernel's slice is
// taken from the ranking of all of them.
std::vector<Cell> shard_cells(const std::vector<Cell>& cells, const Shard& s);
// `kernels` are the testbed's kernel references in spec order; a reference given twice is told
// apart by its occurrence ("debian:7.3@2"), as the testbed gives it a second results dir.
std::vector<Cell> shard_cells_for_kernel(const std::vector<Cell>& cells,
                                         const std::vector<std::string>& kernels,
                                         size_t kernel_index, const Shard& s);

// The cells whose run_key (without kernel) is in `keys`, in their own order: the runs a testbed
// guest is told to run.
std::vector<Cell> select_runs(const std::vector<Cell>& cells, const std::vector<std::string>& keys);

}  // namespace memplace
