// Touchers fault the memory in. One interface, several implementations: host threads, vCPUs of
// an in-process micro-VM, or a QEMU guest.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "memplace/backing.h"
#include "memplace/cell.h"
#include "memplace/populate.h"
#include "memplace/result.h"
#include "memplace/thread_pin.h"  // pin_current_thread, shared with the guest agent

namespace memplace {

struct TouchStats {
  double seconds = 0;                      // wall time of the populate phase
  std::string method;                      // "madv_populate_write", "store_per_page", "vcpu_store"
  std::vector<double> per_thread_seconds;  // one per thread or vCPU
  std::vector<int> cpus;                   // host CPU each thread/vCPU was pinned to (-1 = none)
  nlohmann::json extra;                    // toucher-specific details, copied into the record
};

class Toucher {
 public:
  virtual ~Toucher() = default;
  virtual std::string name() const = 0;
  // Faults in every page of `mapping` as `cell` says. The policy is already applied.
  // An Error whose message starts with "unsupported:" means the kernel or host cannot do this
  // cell at all; the runner records it as status "unsupported" rather than "failed".
  virtual Result<TouchStats> touch(const Cell& cell, Mapping& mapping) = 0;
};

std::unique_ptr<Toucher> make_host_toucher(const std::string& sysfs_root = "");
// The same, populating by a forced method and/or with transparent huge pages (populate.h).
// TouchStats.method then reads e.g. "memset" or "madv_populate_write+thp".
std::unique_ptr<Toucher> make_host_toucher(const std::string& sysfs_root,
                                           const PopulateOptions& opts);
// The vcpu toucher's TouchStats.extra: {"ram_gpa", "per_vcpu_bytes_per_second", "vcpus": [{
// "index", "cpu", "offset", "bytes", "pages_written", "seconds", "bytes_per_second"}]}, one
// entry per vCPU, its slice of the mapping and the guest's own count of pages written; for
// guest_memfd also "guest_memfd_fault_path" ("guest_memfd" | "userspace_addr", see vmm.h).
std::unique_ptr<Toucher> make_vcpu_toucher(const std::string& sysfs_root = "");
// A QEMU guest owns the memory it touches, so this toucher's touch() refuses: the runner sends
// toucher "qemu" cells to run_qemu_cell() (qemu_run.h) instead of its Mapping-based flow.
std::unique_ptr<Toucher> make_qemu_toucher();

// CPUs to pin `count` threads to: the CPUs of `node` round-robin, or none (-1) when unpinned.
Result<std::vector<int>> choose_cpus(const std::string& sysfs_root, std::optional<int> node,
                                     int count);

}  // namespace memplace
