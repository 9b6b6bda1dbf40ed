// SPDX-License-Identifier: GPL-2.0-only
// Checks made before a matrix starts, so that it does not fail an hour in: disk space for the
// results and access to /dev/kvm. Memory is checked by check_free_memory() in spec.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace memplace {

// Room kept for each run's record and samples file, and for the manifest and reports.
inline constexpr uint64_t kDiskPerRunBytes = 2ull << 20;
inline constexpr uint64_t kDiskBaseBytes = 64ull << 20;

// Free space on the filesystem that will hold `out_dir` (its nearest existing ancestor).
Result<uint64_t> free_disk_bytes(const std::string& out_dir);
Status check_results_disk(const std::string& out_dir, size_t runs);

// The host's memory as the node meminfo files and as /proc/meminfo report it, in kB. They can
// disagree: memory hot-plugged without a node (virtio-mem, a balloon) shows only in /proc. The
// free-memory checks use the node figures, because policies place memory on nodes.
struct MemoryFigures {
  uint64_t node_total_kb = 0, node_free_kb = 0;  // summed over node*/meminfo
  uint64_t proc_total_kb = 0, proc_free_kb = 0;  // /proc/meminfo
};
Result<MemoryFigures> read_memory_figures(const std::string& root);
// Which figure memplace uses, as one line for probe and preflight.
std::string memory_figures_text(const MemoryFigures& m);
// A warning when the node and /proc totals or free figures differ by more than 10%, else "".
std::string memory_figures_warning(const MemoryFigures& m);

// Whether `kvm_dev` can be opened read-write; the error says why not.
Status check_kvm_access(const std::string& kvm_dev = "/dev/kvm");

}  // namespace memplace
