// SPDX-License-Identifier: GPL-2.0-only
// Where a qemu guest's RAM sits on the host, read from QEMU's own /proc/PID/numa_maps: the
// placement of a qemu cell, as move_pages is for the local touchers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "host/sysfs.h"

namespace memplace {

// Per-node pages of the guest RAM mapping(s) in QEMU's numa_maps, in 4 KiB pages.
struct GuestRamPlacement {
  std::map<int, uint64_t> pages;
  std::vector<std::string> mappings;  // "7f..000 bind:0 file=/memfd:memory-backend-memfd..."
  std::string how;                    // how the mapping was recognised
};
GuestRamPlacement guest_ram_placement(const std::vector<NumaMapsEntry>& maps,
                                      const std::string& backend);

// Pages of the guest RAM mapping(s) in all, or 0 when QEMU's numa_maps cannot be read.
uint64_t guest_ram_resident_pages(const std::string& sysfs_root, int qemu_pid,
                                  const std::string& backend);

}  // namespace memplace
