// SPDX-License-Identifier: GPL-2.0-only
// Exact per-page placement of a mapped range, through move_pages(2) in query mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "base/result.h"

namespace memplace {

class Mapping;

struct Placement {
  std::map<int, uint64_t> pages_per_node;
  uint64_t pages_absent = 0;            // -ENOENT: not present (never faulted)
  std::map<int, uint64_t> pages_error;  // other negative statuses: -errno -> count
  uint64_t total_pages() const;         // present pages only
};

// Queries every page of [addr, addr+len) in batches. Reads nothing and allocates nothing.
Result<Placement> query_placement(const void* addr, size_t len);

// For shmem/guest_memfd, whose pages may be mapped only elsewhere (guest_memfd pages faulted by
// KVM vCPUs never enter this process's page tables). Maps the file a second time, finds the
// pages resident in its page cache with mincore(), reads one byte of each resident page through
// that view (mapping the existing folio, allocating nothing), then queries the view. Pages not
// in the page cache count as absent; so do fallocate()d pages never faulted anywhere, because
// the kernel marks a folio up to date (and mincore reports it) only once it is first used.
Result<Placement> query_placement_of_file(const Mapping& m);

}  // namespace memplace
