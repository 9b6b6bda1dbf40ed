// Host threads fault the memory in through the mapping, each pinned to a CPU of the chosen node
// and owning one contiguous slice, by the method populate.h chooses (MADV_POPULATE_WRITE, falling
// back to a store per page) or the one the caller forces.
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "kernel/populate.h"
#include "kernel/sysfs.h"
#include "touchers/toucher.h"

namespace memplace {
namespace {

using Clock = std::chrono::steady_clock;

struct Slice {
  char* begin = nullptr;
  size_t len = 0;
};

std::vector<Slice> split_pages(void* addr, size_t size, int parts) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t pages = size / page;
  std::vector<Slice> out;
  size_t start = 0;
  for (int i = 0; i < parts; ++i) {
    size_t n = pages / parts + (static_cast<size_t>(i) < pages % parts ? 1 : 0);
    out.push_back({static_cast<char*>(addr) + start * page, n * page});
    start += n;
  }
  return out;
}

// Whether MADV_HUGEPAGE on this backing can change what the kernel allocates: auto advises only
// there, so "+thp" in a record means huge pages were possible (huge_pages_mib says what came).
// guest_memfd has no huge folios in the kernels this runs on.
bool kernel_would_take_thp_advice(const std::string& root, BackingKind backing) {
  if (backing == BackingKind::kGuestMemfd) return false;
  const bool anon = backing == BackingKind::kAnon;
  auto mode = read_thp_setting(root, anon ? "enabled" : "shmem_enabled");
  if (!mode) return false;
  if (anon) return *mode == "always" || *mode == "madvise";
  return *mode == "always" || *mode == "within_size" || *mode == "advise" || *mode == "force";
}

class HostToucher : public Toucher {
 public:
  HostToucher(std::string root, PopulateOptions opts,
              std::optional<std::chrono::milliseconds> timeout)
      : root_(std::move(root)), opts_(opts), timeout_(timeout) {}
  std::string name() const override { return "host"; }

  Result<TouchStats> touch(const Cell& cell, Mapping& mapping) override {
    if (cell.backing == BackingKind::kGuestMemfdPrivate || !mapping.addr())
      return unsupported_error("host threads cannot touch " + backing_name(cell.backing) +
                        ": no host mapping holds its pages (use the vcpu toucher)");
    auto cpus = choose_cpus(root_, cell.cpu_node, cell.threads);
    if (!cpus) return cpus.error();
    if (opts_.method && !populate_method_applies(*opts_.method, mapping.fd() >= 0))
      return unsupported_error("populate method " + populate_method_name(*opts_.method) +
                               " needs a backing file");
    bool thp_advised = false;
    if (opts_.thp != ThpMode::kAuto || kernel_would_take_thp_advice(root_, cell.backing)) {
      auto advised = apply_thp_mode(opts_.thp, mapping.addr(), mapping.size());
      if (!advised) return unsupported_error("THP on: " + advised.error().describe());
      thp_advised = *advised;
    }
    auto slices = split_pages(mapping.addr(), mapping.size(), cell.threads);
    const std::chrono::milliseconds timeout = toucher_timeout_for(cell, timeout_);

    TouchStats stats;
    stats.cpus = *cpus;
    stats.per_thread_seconds.assign(cell.threads, 0);
    std::vector<std::string> methods(cell.threads);
    std::vector<Error> errors(cell.threads);
    std::vector<size_t> done(cell.threads, 0);
    std::vector<std::thread> threads;
    auto t0 = Clock::now();
    const Clock::time_point deadline = t0 + timeout;
    auto past_deadline = [deadline] { return Clock::now() >= deadline; };
    for (int i = 0; i < cell.threads; ++i) {
      threads.emplace_back([&, i] {
        if (auto s = pin_current_thread(stats.cpus[i]); !s) {
          errors[i] = s.error();
          return;
        }
        if (auto s = run_thread_hook(hook_); !s) {
          errors[i] = s.error();
          return;
        }
        auto start = Clock::now();
        const Slice& slice = slices[i];
        off_t offset = slice.begin - static_cast<char*>(mapping.addr());
        auto run = populate_chunked(opts_.method, slice.begin, slice.len, mapping.fd(), offset,
                                    kPopulateChunkBytes, past_deadline);
        if (!run) {
          errors[i] = run.error();
          errors[i].message += " on slice " + std::to_string(i);
          return;
        }
        done[i] = run->bytes_done;
        if (run->stopped) return;  // reported below, with every thread's progress
        if (run->method)
          methods[i] = populate_method_name(*run->method) + (thp_advised ? "+thp" : "");
        stats.per_thread_seconds[i] = std::chrono::duration<double>(Clock::now() - start).count();
      });
    }
    for (auto& t : threads) t.join();
    stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    for (const auto& e : errors)
      if (!e.message.empty()) return e;
    size_t total_done = 0;
    for (size_t d : done) total_done += d;
    if (total_done < mapping.size()) {
      char progress[96];
      std::snprintf(progress, sizeof progress, ": populated %.1f of %.1f MiB",
                    total_done / 1048576.0, mapping.size() / 1048576.0);
      return make_error(timed_out_message("host", timeout) + progress +
                            " (the deadline is checked between " +
                            std::to_string(kPopulateChunkBytes >> 20) +
                            " MiB chunks; one populate call is not interrupted)",
                        ErrorKind::kTimeout);
    }
    stats.method.clear();
    for (const auto& m : methods) {
      if (m.empty()) continue;  // an empty slice (more threads than pages)
      if (stats.method.empty()) stats.method = m;
      if (m != stats.method) stats.method = "mixed";
    }
    stats.extra["thp"] = {{"mode", thp_mode_name(opts_.thp)}, {"advised", thp_advised}};
    return stats;
  }

 private:
  std::string root_;
  PopulateOptions opts_;
  std::optional<std::chrono::milliseconds> timeout_;
};

}  // namespace

std::unique_ptr<Toucher> make_host_toucher(const std::string& sysfs_root) {
  return std::make_unique<HostToucher>(sysfs_root, PopulateOptions{}, std::nullopt);
}

std::unique_ptr<Toucher> make_host_toucher(const std::string& sysfs_root,
                                           const PopulateOptions& opts,
                                           std::optional<std::chrono::milliseconds> timeout) {
  return std::make_unique<HostToucher>(sysfs_root, opts, timeout);
}

Result<std::vector<int>> choose_cpus(const std::string& sysfs_root, std::optional<int> node,
                                     int count) {
  if (count < 1) return make_error("need at least one thread, got " + std::to_string(count));
  if (!node) return std::vector<int>(count, -1);
  auto cpus = read_node_cpulist(sysfs_root, *node);
  if (!cpus) return cpus.error();
  if (cpus->empty())
    return make_error("node " + std::to_string(*node) + " has no CPUs (memory-only node)");
  std::vector<int> out;
  for (int i = 0; i < count; ++i) out.push_back((*cpus)[i % cpus->size()]);
  return out;
}

}  // namespace memplace
