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

// Whether `kvm_dev` can be opened read-write; the error says why not.
Status check_kvm_access(const std::string& kvm_dev = "/dev/kvm");

}  // namespace memplace
