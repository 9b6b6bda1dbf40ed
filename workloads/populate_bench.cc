// SPDX-License-Identifier: GPL-2.0-only
// populate_bench: how fast the vcpu toucher faults a range in against the host toucher, per
// backing and thread/vCPU count, on the same size. Reports bytes/s for the whole populate and
// per thread or vCPU (each one's slice over its own time).
// The "method/..." family times each populate method of populate.h through the host toucher,
// crossed with backing, policy, 4 KiB vs THP and thread count: the figures behind
// populate_order().
//   populate_bench [--size_mib=256] [google benchmark flags]
//   populate_bench --benchmark_filter='^method/anon/'   (one backing's methods)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "bench_main.h"
#include "host/backing.h"
#include "host/populate.h"
#include "host/sysfs.h"
#include "touchers/toucher.h"

namespace memplace {
namespace {

uint64_t g_size = 256ull << 20;

struct PolicyChoice {
  PolicyMode mode;
  std::vector<int> nodes;
  std::string label;  // "default", "bind:0", "interleave:0-1"
};

// One timed populate of a fresh mapping, `policy` applied first when given; nullopt after
// marking the benchmark skipped with the reason.
std::optional<TouchStats> touch_fresh(benchmark::State& state, Toucher& toucher, const Cell& cell,
                                      const PolicyChoice* policy) {
  auto mapping = create_backing(cell.backing, cell.size_bytes);
  Status s = mapping ? Status() : Status(mapping.error());
  if (s && policy) s = apply_policy(mapping->addr(), mapping->size(), policy->mode, policy->nodes);
  Result<TouchStats> stats = s ? toucher.touch(cell, *mapping) : Result<TouchStats>(s.error());
  if (!stats) {
    state.SkipWithError(stats.error().describe().c_str());
    return std::nullopt;
  }
  return *stats;
}

void populate(benchmark::State& state, BackingKind backing, ToucherKind toucher_kind) {
  const int threads = static_cast<int>(state.range(0));
  Cell cell;
  cell.backing = backing;
  cell.toucher = toucher_kind;
  cell.size_bytes = g_size;
  cell.threads = threads;
  auto toucher = toucher_kind == ToucherKind::kVcpu ? make_vcpu_toucher() : make_host_toucher();
  double per_thread_rate_sum = 0;
  std::string stats_method;
  for (auto _ : state) {
    auto stats = touch_fresh(state, *toucher, cell, nullptr);
    if (!stats) return;
    // Only the populate phase counts: not mapping creation, VM setup nor the munmap after.
    state.SetIterationTime(stats->seconds);
    stats_method = stats->method;
    double rate = 0;  // each thread's or vCPU's slice over its own time, averaged
    for (double t : stats->per_thread_seconds) rate += t > 0 ? (g_size / threads) / t : 0;
    per_thread_rate_sum += rate / threads;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_size));
  state.counters["per_thread_bytes_per_second"] =
      benchmark::Counter(per_thread_rate_sum / state.iterations(), benchmark::Counter::kDefaults,
                         benchmark::Counter::kIs1024);
  state.SetLabel(stats_method + " " + std::to_string(g_size >> 20) + "MiB");
}

// default, bind to the first node, interleave over all nodes: enough to see whether a policy
// costs anything on the fault path.
std::vector<PolicyChoice> policy_choices() {
  std::vector<PolicyChoice> out = {{PolicyMode::kDefault, {}, "default"}};
  auto nodes = list_nodes("");
  if (!nodes || nodes->empty()) return out;
  out.push_back({PolicyMode::kBind, {nodes->front()}, "bind:" + std::to_string(nodes->front())});
  std::string all;
  for (int n : *nodes) all += (all.empty() ? "" : ",") + std::to_string(n);
  out.push_back({PolicyMode::kInterleave, *nodes, "interleave:" + all});
  return out;
}

void populate_by_method(benchmark::State& state, BackingKind backing, PopulateMethod method,
                        ThpMode thp, const PolicyChoice& policy) {
  const int threads = static_cast<int>(state.range(0));
  Cell cell;
  cell.backing = backing;
  cell.size_bytes = g_size;
  cell.threads = threads;
  auto toucher = make_host_toucher("", PopulateOptions{method, thp});
  for (auto _ : state) {
    auto stats = touch_fresh(state, *toucher, cell, &policy);
    if (!stats) return;
    state.SetIterationTime(stats->seconds);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_size));
  state.SetLabel(std::to_string(g_size >> 20) + "MiB");
}

void register_methods() {
  for (BackingKind b : {BackingKind::kAnon, BackingKind::kShmem, BackingKind::kGuestMemfd}) {
    for (PopulateMethod m : all_populate_methods()) {
      if (!populate_method_applies(m, b != BackingKind::kAnon)) continue;
      // THP only where the kernel can give huge folios to the mapping: anon ("madvise" mode).
      // Each row names its page size: "off" measures 4 KiB pages even under enabled=always.
      for (ThpMode thp : {ThpMode::kOff, ThpMode::kOn}) {
        if (thp == ThpMode::kOn && b != BackingKind::kAnon) continue;
        for (const PolicyChoice& p : policy_choices()) {
          std::string name = "method/" + backing_name(b) + "/" + populate_method_name(m) +
                             (thp == ThpMode::kOn ? "+thp" : "") + "/" + p.label;
          benchmark::RegisterBenchmark(
              name.c_str(),
              [b, m, thp, p](benchmark::State& s) { populate_by_method(s, b, m, thp, p); })
              ->Arg(1)
              ->Arg(2)
              ->ArgName("threads")
              ->UseManualTime()
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  }
}

void register_all() {
  register_methods();
  for (BackingKind b : {BackingKind::kAnon, BackingKind::kShmem, BackingKind::kGuestMemfd}) {
    for (ToucherKind t : {ToucherKind::kVcpu, ToucherKind::kHost}) {
      benchmark::RegisterBenchmark(("populate/" + backing_name(b) + "/" + toucher_name(t)).c_str(),
                                   [b, t](benchmark::State& s) { populate(s, b, t); })
          ->Arg(1)
          ->Arg(2)
          ->ArgName("threads")
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace
}  // namespace memplace

int main(int argc, char** argv) {
  return memplace::bench::bench_main(argc, argv, "populate_bench",
                                     {memplace::bench::size_mib_flag(&memplace::g_size)},
                                     memplace::register_all);
}
