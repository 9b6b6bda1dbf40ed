// Background per-node meminfo sampling while a cell populates.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "memplace/result.h"
#include "memplace/sysfs.h"

namespace memplace {

struct MeminfoSample {
  double t_seconds = 0;  // since the sampler started
  // node -> {"MemUsed","MemFree","AnonPages","Shmem","FilePages"} in kB
  std::map<int, std::map<std::string, uint64_t>> nodes;
};

// Fields kept per sample; the full set is only kept for the before/after snapshots.
const std::vector<std::string>& sampled_fields();

// Header `t_seconds,node,MemUsed_kB,MemFree_kB,AnonPages_kB,Shmem_kB,FilePages_kB`, then one row
// per node per sample. The plot scripts read exactly this.
Status write_samples_csv(const std::string& path, const std::vector<MeminfoSample>& samples);

class Sampler {
 public:
  Sampler(std::string sysfs_root, std::chrono::milliseconds interval);
  ~Sampler();  // stops the thread
  void start();
  std::vector<MeminfoSample> stop();

 private:
  void loop();
  std::string root_;
  std::chrono::milliseconds interval_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  std::vector<MeminfoSample> samples_;
};

}  // namespace memplace
