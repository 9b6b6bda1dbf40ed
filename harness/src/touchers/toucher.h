// SPDX-License-Identifier: GPL-2.0-only
// Touchers fault the memory in. One interface, several implementations: host threads, vCPUs of
// an in-process micro-VM, or a QEMU guest.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/thread_pin.h"  // pin_current_thread, shared with the guest agent
#include "host/backing.h"
#include "host/populate.h"
#include "spec/cell.h"

namespace memplace {

struct TouchStats {
  double seconds = 0;                      // wall time of the populate phase
  std::string method;                      // "madv_populate_write", "store_per_page", "vcpu_store"
  std::vector<double> per_thread_seconds;  // one per thread or vCPU
  std::vector<int> cpus;                   // host CPU each thread/vCPU was pinned to (-1 = none)
  nlohmann::json extra;                    // toucher-specific details, copied into the record
};

// Run by every thread that will fault the cell's memory, in that thread, before it touches
// anything: the placement sources name the thread, the task-policy channel sets its policy. An
// error stops that thread and fails the touch.
using ThreadHook = std::function<Status(pid_t tid)>;
// Calls `hook` (if any) with the calling thread's id.
Status run_thread_hook(const ThreadHook& hook);

class Toucher {
 public:
  virtual ~Toucher() = default;
  void set_thread_hook(ThreadHook hook) { hook_ = std::move(hook); }
  virtual std::string name() const = 0;
  // Faults in every page of `mapping` as `cell` says. The policy is already applied.
  // An Error of ErrorKind::kUnsupported means the kernel or host cannot do this cell at all; the
  // runner records it as status "unsupported" rather than "failed".
  virtual Result<TouchStats> touch(const Cell& cell, Mapping& mapping) = 0;

 protected:
  ThreadHook hook_;
};

// Every touch has a finite time limit (the spec's run.toucher_timeout_s, else
// default_toucher_timeout(cell.size_bytes)); past it the toucher stops and returns an error of
// ErrorKind::kTimeout whose message says "timed out after N s", recorded as status "failed".
//
// The default when a spec leaves it "auto": 120 s plus 60 s per GiB of the cell. Populating runs
// at gigabytes per second on a real host and stays under a few seconds per GiB even in the TCG
// testbed, so only a toucher that is stuck reaches it.
std::chrono::milliseconds default_toucher_timeout(uint64_t size_bytes);
// `configured`, else the default for the cell's size.
std::chrono::milliseconds toucher_timeout_for(const Cell& cell,
                                              std::optional<std::chrono::milliseconds> configured);
// "vcpu toucher timed out after 2 s" (fractions of a second as such: "after 0.25 s").
std::string timed_out_message(const std::string& toucher, std::chrono::milliseconds timeout);

std::unique_ptr<Toucher> make_host_toucher(const std::string& sysfs_root = "");
// The same, populating by a forced method and/or with transparent huge pages (populate.h).
// TouchStats.method then reads e.g. "memset" or "madv_populate_write+thp".
// Host threads check the time limit between chunks of kPopulateChunkBytes (populate.h); one
// populate call (madvise, fallocate, a chunk of stores) is never interrupted, so a touch can end
// up to one chunk's populate time past its limit.
std::unique_ptr<Toucher> make_host_toucher(
    const std::string& sysfs_root, const PopulateOptions& opts,
    std::optional<std::chrono::milliseconds> timeout = std::nullopt);
// The vcpu toucher's TouchStats.extra: {"ram_gpa", "per_vcpu_bytes_per_second", "vcpus": [{
// "index", "cpu", "offset", "bytes", "pages_written", "seconds", "bytes_per_second"}]}, one
// entry per vCPU, its slice of the mapping and the guest's own count of pages written; for
// guest_memfd also "guest_memfd_fault_path" ("guest_memfd" | "userspace_addr", see vmm.h).
// On timeout a watchdog makes every vCPU leave KVM_RUN (vmm::run_vcpus), so a guest that never
// finishes costs the time limit and nothing else.
std::unique_ptr<Toucher> make_vcpu_toucher(
    const std::string& sysfs_root = "",
    std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// CPUs to pin `count` threads to: the CPUs of `node` round-robin, or none (-1) when unpinned.
Result<std::vector<int>> choose_cpus(const std::string& sysfs_root, std::optional<int> node,
                                     int count);

}  // namespace memplace
