// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/guest_ram_placement.h"

#include <cstdio>

namespace memplace {

GuestRamPlacement guest_ram_placement(const std::vector<NumaMapsEntry>& maps,
                                      const std::string& backend) {
  GuestRamPlacement g;
  auto add = [&](const NumaMapsEntry& e) {
    for (const auto& [node, n] : e.node_pages) g.pages[node] += n * e.page_size_kb / 4;
    char start[32];
    std::snprintf(start, sizeof start, "%llx", static_cast<unsigned long long>(e.start));
    g.mappings.push_back(std::string(start) + " " + e.policy +
                         (e.file.empty() ? " anon" : " file=" + e.file));
  };
  if (backend != "ram") {
    // QEMU names its memfd after the backend type: "/memfd:memory-backend-memfd (deleted)".
    // A guest_memfd that QEMU mmaps shows up as the KVM anon inode.
    for (const auto& e : maps) {
      if (e.file.find("memory-backend-memfd") != std::string::npos ||
          e.file.find("kvm-gmem") != std::string::npos) {
        add(e);
      }
    }
    g.how = "mappings of the file memfd:memory-backend-memfd";
    return g;
  }
  // memory-backend-ram is anonymous: the anonymous mapping holding the most pages.
  const NumaMapsEntry* best = nullptr;
  uint64_t best_pages = 0;
  for (const auto& e : maps) {
    if (!e.file.empty() || !e.anon) continue;
    uint64_t n = 0;
    for (const auto& [node, p] : e.node_pages) n += p * e.page_size_kb / 4;
    if (n > best_pages) {
      best = &e;
      best_pages = n;
    }
  }
  if (best) add(*best);
  g.how = "the anonymous mapping with the most resident pages";
  return g;
}

uint64_t guest_ram_resident_pages(const std::string& sysfs_root, int qemu_pid,
                                  const std::string& backend) {
  auto maps = read_numa_maps(sysfs_root, qemu_pid);
  if (!maps) return 0;
  uint64_t n = 0;
  for (const auto& [node, pages] : guest_ram_placement(*maps, backend).pages) n += pages;
  return n;
}

}  // namespace memplace
