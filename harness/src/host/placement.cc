// SPDX-License-Identifier: GPL-2.0-only
#include "host/placement.h"

#include <numaif.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "host/backing.h"

namespace memplace {
namespace {

// 64Ki pages per move_pages call: 256 MiB of 4 KiB pages, 768 KiB of arrays. Large enough that
// a 64 GiB range needs 256 calls, small enough not to matter next to the memory under test.
constexpr size_t kBatchPages = 64 * 1024;

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

uint64_t Placement::total_pages() const {
  uint64_t sum = 0;
  for (const auto& [node, pages] : pages_per_node) sum += pages;
  return sum;
}

Result<Placement> query_placement(const void* addr, size_t len) {
  const size_t page = page_size();
  if (reinterpret_cast<uintptr_t>(addr) % page != 0)
    return make_error("placement query address is not page aligned");
  const size_t npages = (len + page - 1) / page;
  const char* base = static_cast<const char*>(addr);
  Placement out;
  std::vector<void*> pages(std::min(npages, kBatchPages));
  std::vector<int> status(pages.size());
  for (size_t first = 0; first < npages; first += kBatchPages) {
    const size_t n = std::min(kBatchPages, npages - first);
    for (size_t i = 0; i < n; ++i) pages[i] = const_cast<char*>(base + (first + i) * page);
    // nodes == nullptr: query mode, the kernel only reports each page's node in status[].
    if (::move_pages(0, n, pages.data(), nullptr, status.data(), 0) != 0)
      return errno_error("move_pages query of " + std::to_string(n) + " pages");
    for (size_t i = 0; i < n; ++i) {
      const int s = status[i];
      if (s >= 0)
        ++out.pages_per_node[s];
      else if (s == -ENOENT)
        ++out.pages_absent;
      else
        ++out.pages_error[s];
    }
  }
  return out;
}

Result<Placement> query_placement_of_file(const Mapping& m) {
  const size_t page = page_size();
  auto view = m.map_again();
  if (!view) return view.error();
  const size_t npages = (view->size() + page - 1) / page;
  std::vector<unsigned char> resident(npages);
  // For a shared file mapping mincore() answers from the page cache, so it sees pages faulted
  // through other mappings (the toucher's, or a KVM vCPU's) without faulting anything in.
  if (::mincore(view->addr(), view->size(), resident.data()) != 0)
    return errno_error("mincore over a second view of the backing");
  volatile const char* p = static_cast<volatile const char*>(view->addr());
  uint64_t not_resident = 0;
  for (size_t i = 0; i < npages; ++i) {
    // Reading a resident page maps the existing folio into the view; nothing new is allocated.
    if (resident[i] & 1)
      (void)p[i * page];
    else
      ++not_resident;
  }
  auto placement = query_placement(view->addr(), view->size());
  if (!placement) return placement.error();
  // Pages that were not resident were never read, so move_pages saw them as absent already;
  // the check keeps the two counts honest against each other.
  if (placement->pages_absent < not_resident)
    return make_error("placement of file: " + std::to_string(not_resident) +
                      " pages not resident but only " + std::to_string(placement->pages_absent) +
                      " reported absent");
  return placement;
}

}  // namespace memplace
