// Exact per-page placement of a mapped range, through move_pages(2) in query mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "memplace/backing.h"
#include "memplace/result.h"

namespace memplace {

struct Placement {
  std::map<int, uint64_t> pages_per_node;
  uint64_t pages_absent = 0;             // -ENOENT: not present (never faulted)
  std::map<int, uint64_t> pages_error;   // other negative statuses: -errno -> count
  uint64_t total_pages() const;          // present pages only
};

// Queries every page of [addr, addr+len) in batches. Reads nothing and allocates nothing.
Result<Placement> query_placement(const void* addr, size_t len);

// For file-backed mappings whose pages need not be in this process's page tables (guest_memfd
// pages faulted by KVM vCPUs are not): maps the file again, finds resident pages with mincore,
// read-faults only those (maps existing folios, allocates nothing), then queries them.
Result<Placement> query_placement_of_file(const Mapping& m);

}  // namespace memplace
