// SPDX-License-Identifier: GPL-2.0-only
// Host threads fault the memory in through the mapping, each pinned to a CPU of the chosen node
// and owning one contiguous slice, by the method populate.h chooses (MADV_POPULATE_WRITE, falling
// back to a store per page) or the one the caller forces.
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <latch>
#include <thread>

#include "host/populate.h"
#include "host/sysfs.h"
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

// One thread's share of a touch.
struct ThreadResult {
  Error error;  // empty message: the thread did its part (or was stopped at the deadline)
  size_t bytes_done = 0;
  std::string method;  // the populate method that did the work; "" if nothing was done
  double seconds = 0;
};

struct ThreadedTouch {
  std::vector<ThreadResult> threads;
  double seconds = 0;  // from the common start to the last thread's end
};

// Every thread pins itself and runs the hook (where the placement sources register it), then
// waits: the clock starts when all are ready, as in the vcpu toucher. So thread start-up and the
// sources' bookkeeping (a tracefs pid-list write, a cgroup move) are not populate time.
ThreadedTouch populate_in_threads(const std::vector<Slice>& slices, const std::vector<int>& cpus,
                                  Mapping& mapping, std::optional<PopulateMethod> method,
                                  const ThreadHook& hook, std::chrono::milliseconds timeout) {
  const int n = static_cast<int>(slices.size());
  ThreadedTouch out;
  out.threads.resize(n);
  std::vector<Clock::time_point> ends(n);
  std::latch ready(n), go(1);
  std::atomic<bool> abort{false};
  Clock::time_point t0, deadline;
  auto past_deadline = [&deadline] { return Clock::now() >= deadline; };
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ThreadResult& r = out.threads[i];
      Status s = pin_current_thread(cpus[i]);
      if (s) s = run_thread_hook(hook);
      if (!s) r.error = s.error();
      ready.count_down();
      go.wait();
      ends[i] = t0;
      if (abort.load() || !s) return;
      const Slice& slice = slices[i];
      off_t offset = slice.begin - static_cast<char*>(mapping.addr());
      auto done = populate_chunked(method, slice.begin, slice.len, mapping.fd(), offset,
                                   kPopulateChunkBytes, past_deadline);
      ends[i] = Clock::now();
      if (!done) {
        r.error = done.error();
        r.error.message += " on slice " + std::to_string(i);
        return;
      }
      r.bytes_done = done->bytes_done;
      r.seconds = std::chrono::duration<double>(ends[i] - t0).count();
      if (done->method && !done->stopped) r.method = populate_method_name(*done->method);
    });
  }
  ready.wait();
  abort = std::any_of(out.threads.begin(), out.threads.end(),
                      [](const ThreadResult& r) { return !r.error.message.empty(); });
  t0 = Clock::now();
  deadline = t0 + timeout;
  go.count_down();
  for (auto& t : threads) t.join();
  out.seconds =
      std::chrono::duration<double>(*std::max_element(ends.begin(), ends.end()) - t0).count();
  return out;
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
      if (!advised) return advised.error().prefixed("THP on: ");
      thp_advised = *advised;
    }
    auto slices = split_pages(mapping.addr(), mapping.size(), cell.threads);
    const std::chrono::milliseconds timeout = toucher_timeout_for(cell, timeout_);
    ThreadedTouch run = populate_in_threads(slices, *cpus, mapping, opts_.method, hook_, timeout);

    TouchStats stats;
    stats.cpus = *cpus;
    stats.seconds = run.seconds;
    size_t total_done = 0;
    std::vector<std::string> methods;
    for (const ThreadResult& t : run.threads) {
      if (!t.error.message.empty()) return t.error;
      stats.per_thread_seconds.push_back(t.seconds);
      total_done += t.bytes_done;
      methods.push_back(t.method.empty() ? "" : t.method + (thp_advised ? "+thp" : ""));
    }
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
