// Touchers fault the memory in. One interface, several implementations: host threads, vCPUs of
// an in-process micro-VM, or a QEMU guest.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "memplace/backing.h"
#include "memplace/cell.h"
#include "memplace/result.h"

namespace memplace {

// One thread's or vCPU's share of the mapping and what it reported back. The vcpu toucher fills
// it from the guest's own page counter, so tests can check each vCPU stayed in its slice.
struct TouchSlice {
  uint64_t offset = 0;  // into the mapping
  uint64_t bytes = 0;
  uint64_t pages_written = 0;  // as counted by the thread/vCPU itself
};

struct TouchStats {
  double seconds = 0;                      // wall time of the populate phase
  std::string method;                      // "madv_populate_write", "store_per_page", "vcpu_store"
  std::vector<double> per_thread_seconds;  // one per thread or vCPU
  std::vector<int> cpus;                   // host CPU each thread/vCPU was pinned to (-1 = none)
  std::vector<TouchSlice> slices;          // one per thread/vCPU; empty if the toucher can't say
};

class Toucher {
 public:
  virtual ~Toucher() = default;
  virtual std::string name() const = 0;
  // Faults in every page of `mapping` as `cell` says. The policy is already applied.
  // An Error whose message starts with "unsupported:" means this host or kernel cannot run the
  // cell at all (no /dev/kvm, no guest_memfd memslot for a default VM, ...): the runner records
  // status "unsupported" with the message as reason. Any other Error is a failed run.
  virtual Result<TouchStats> touch(const Cell& cell, Mapping& mapping) = 0;
};

std::unique_ptr<Toucher> make_host_toucher(const std::string& sysfs_root = "");
std::unique_ptr<Toucher> make_vcpu_toucher();

// CPUs to pin `count` threads to: the CPUs of `node` round-robin, or none (-1) when unpinned.
Result<std::vector<int>> choose_cpus(const std::string& sysfs_root, std::optional<int> node,
                                     int count);

}  // namespace memplace
