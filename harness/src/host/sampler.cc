// SPDX-License-Identifier: GPL-2.0-only
#include "host/sampler.h"

#include <cinttypes>
#include <cstdio>

namespace memplace {

const std::vector<std::string>& sampled_fields() {
  static const std::vector<std::string> fields = {"MemUsed", "MemFree", "AnonPages", "Shmem",
                                                  "FilePages"};
  return fields;
}

Sampler::Sampler(std::string sysfs_root, std::chrono::milliseconds interval)
    : root_(std::move(sysfs_root)), interval_(interval) {}

Sampler::~Sampler() {
  if (thread_.joinable()) stop();
}

void Sampler::start() {
  if (thread_.joinable()) return;
  samples_.clear();
  error_.clear();
  // Nodes do not come and go during a cell; opening their files once keeps each tick to the
  // reads (see MeminfoReader).
  readers_.clear();
  auto nodes = list_nodes(root_);
  if (!nodes.ok()) error_ = nodes.error().describe();
  for (int n : nodes.ok() ? *nodes : std::vector<int>{}) {
    auto reader = MeminfoReader::open(root_, n);
    if (!reader) {
      error_ = reader.error().describe();
      readers_.clear();  // a sample without this node would read as a node with no memory
      break;
    }
    readers_.push_back(std::move(*reader));
  }
  const auto t0 = std::chrono::steady_clock::now();
  take_sample(t0);
  running_ = true;
  thread_ = std::thread([this, t0] { loop(t0); });
}

std::vector<MeminfoSample> Sampler::stop() {
  if (!thread_.joinable()) return std::move(samples_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
  }
  wake_.notify_all();
  thread_.join();
  return std::move(samples_);
}

void Sampler::take_sample(std::chrono::steady_clock::time_point t0) {
  MeminfoSample s;
  s.t_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& reader : readers_) {
    auto info = reader.read(sampled_fields());
    if (!info) {
      if (error_.empty()) error_ = info.error().describe();
      return;  // a partial sample would read as a node with no memory
    }
    s.nodes[reader.node()] = std::move(*info);
  }
  if (!s.nodes.empty()) samples_.push_back(std::move(s));
}

void Sampler::loop(std::chrono::steady_clock::time_point t0) {
  // Ticks are scheduled from t0, not from the end of the last read, so the series does not
  // drift; a late tick is taken at once rather than skipped.
  auto next = t0 + interval_;
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_until(lock, next, [this] { return !running_; })) {
    lock.unlock();
    take_sample(t0);
    lock.lock();
    next += interval_;
  }
  lock.unlock();
  take_sample(t0);  // the state at stop(), so the series ends where the cell ended
}

Status write_samples_csv(const std::string& path, const std::vector<MeminfoSample>& samples) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return errno_error("open " + path);
  std::fputs("t_seconds,node,MemUsed_kB,MemFree_kB,AnonPages_kB,Shmem_kB,FilePages_kB\n", f);
  for (const auto& s : samples) {
    for (const auto& [node, fields] : s.nodes) {
      std::fprintf(f, "%.6f,%d", s.t_seconds, node);
      for (const auto& name : sampled_fields()) {
        auto it = fields.find(name);
        if (it == fields.end()) {
          std::fclose(f);
          return make_error(path + ": sample at t=" + std::to_string(s.t_seconds) + " node " +
                            std::to_string(node) + " lacks " + name);
        }
        std::fprintf(f, ",%" PRIu64, it->second);
      }
      std::fputc('\n', f);
    }
  }
  if (std::ferror(f)) {
    std::fclose(f);
    return make_error("write " + path + " failed");
  }
  if (std::fclose(f) != 0) return errno_error("close " + path);
  return {};
}

}  // namespace memplace
