// SPDX-License-Identifier: GPL-2.0-only
// Background per-node meminfo sampling while a cell populates.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "host/sysfs.h"

namespace memplace {

struct MeminfoSample {
  double t_seconds = 0;  // since the sampler started
  // node -> {"MemUsed","MemFree","AnonPages","Shmem","FilePages"} in kB
  std::map<int, std::map<std::string, uint64_t>> nodes;
};

// Fields kept per sample; the full set is only kept for the before/after snapshots.
const std::vector<std::string>& sampled_fields();

// CSV time series: header "t_seconds,node,MemUsed_kB,MemFree_kB,AnonPages_kB,Shmem_kB,
// FilePages_kB", then one row per node per sample.
Status write_samples_csv(const std::string& path, const std::vector<MeminfoSample>& samples);

class Sampler {
 public:
  Sampler(std::string sysfs_root, std::chrono::milliseconds interval);
  ~Sampler();  // stops the thread
  // Samples once before returning (so the series always starts before the caller's work), then
  // every interval on a thread until stop(), which takes a last sample.
  void start();
  std::vector<MeminfoSample> stop();
  // The first read failure, if any (a failed tick is skipped, not recorded as zeros).
  const std::string& error() const { return error_; }

 private:
  void loop(std::chrono::steady_clock::time_point t0);
  void take_sample(std::chrono::steady_clock::time_point t0);
  std::string root_;
  std::chrono::milliseconds interval_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::vector<MeminfoSample> samples_;
  std::vector<MeminfoReader> readers_;
  std::string error_;
  std::mutex mu_;  // guards the wake-up only; samples_ belongs to the thread until join
  std::condition_variable wake_;
};

}  // namespace memplace
