// SPDX-License-Identifier: GPL-2.0-only
// locality_bench: what a placement costs or gains. Memory of each backing is placed by a policy
// and populated by the host toucher, then a STREAM-like triad (bandwidth, bytes/s) and a
// dependent-load pointer chase over a random cycle (latency, seconds_per_load) run on it with
// threads pinned to the CPUs of --cpu_node. The kernels are the core library's
// (agent/locality_kernels.h), the same ones `memplace run --locality triad|chase` times after a
// cell's populate.
//   locality_bench [--size_mib=256] [--cpu_node=N (default: lowest node with CPUs)] [gbench flags]
// On one-node hosts and emulated nodes the numbers only show the plumbing; on multi-socket hosts
// bind:<remote node> against bind:<cpu node> is the point.
#include <benchmark/benchmark.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "bench_main.h"
#include "experiment/locality_run.h"
#include "host/backing.h"
#include "host/sysfs.h"
#include "touchers/toucher.h"

namespace memplace {
namespace {

uint64_t g_size = 256ull << 20;
std::optional<int> g_cpu_node;

struct PolicyChoice {
  PolicyMode mode;
  std::vector<int> nodes;
  std::string label;
};

// default, bind to each node, interleave over all.
std::vector<PolicyChoice> policy_choices() {
  std::vector<PolicyChoice> out = {{PolicyMode::kDefault, {}, "default"}};
  auto nodes = list_nodes("");
  if (!nodes || nodes->empty()) return out;
  std::string all;
  for (int n : *nodes) {
    out.push_back({PolicyMode::kBind, {n}, "bind:" + std::to_string(n)});
    all += (all.empty() ? "" : ",") + std::to_string(n);
  }
  if (nodes->size() > 1) out.push_back({PolicyMode::kInterleave, *nodes, "interleave:" + all});
  return out;
}

// Placed, populated memory and the CPUs to run on; the error says why there is none.
struct Placed {
  Mapping mapping;
  std::vector<int> cpus;
};

Result<Placed> place(BackingKind backing, const PolicyChoice& policy, int threads) {
  auto mapping = create_backing(backing, g_size);
  if (!mapping) return mapping.error();
  if (auto s = apply_policy(mapping->addr(), mapping->size(), policy.mode, policy.nodes); !s)
    return s.error();
  Cell cell;
  cell.backing = backing;
  cell.size_bytes = g_size;
  cell.threads = threads;
  cell.cpu_node = g_cpu_node;
  auto stats = make_host_toucher()->touch(cell, *mapping);
  if (!stats) return stats.error();
  return Placed{std::move(*mapping), stats->cpus};
}

void triad(benchmark::State& state, BackingKind backing, const PolicyChoice& policy) {
  auto placed = place(backing, policy, static_cast<int>(state.range(0)));
  if (!placed) {
    state.SkipWithError(placed.error().describe().c_str());
    return;
  }
  TriadArrays t = prepare_triad(placed->mapping.addr(), placed->mapping.size());
  for (auto _ : state) {
    if (auto s = triad_parallel(t, placed->cpus, 3.0); !s) {
      state.SkipWithError(s.error().describe().c_str());
      return;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * 3 * sizeof(double) * t.n));
}

void pointer_chase(benchmark::State& state, BackingKind backing, const PolicyChoice& policy) {
  auto placed = place(backing, policy, 1);
  if (!placed) {
    state.SkipWithError(placed.error().describe().c_str());
    return;
  }
  // The chase itself runs on this thread: pin it where the toucher ran.
  if (placed->cpus.front() >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(placed->cpus.front(), &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  size_t n = prepare_chase(placed->mapping.addr(), placed->mapping.size(), 42);
  constexpr uint64_t kSteps = 1u << 16;
  void* p = placed->mapping.addr();
  for (auto _ : state) {
    p = chase(p, kSteps);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSteps));
  state.counters["seconds_per_load"] = benchmark::Counter(
      static_cast<double>(kSteps),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["chase_bytes"] = static_cast<double>(n * kChaseSlotBytes);
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
  sched_setaffinity(0, sizeof all, &all);
}

void register_all() {
  for (BackingKind b : {BackingKind::kAnon, BackingKind::kShmem, BackingKind::kGuestMemfd}) {
    for (const PolicyChoice& p : policy_choices()) {
      std::string where = backing_name(b) + "/" + p.label;
      benchmark::RegisterBenchmark(("triad/" + where).c_str(),
                                   [b, p](benchmark::State& s) { triad(s, b, p); })
          ->Arg(1)
          ->Arg(2)
          ->ArgName("threads")
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("chase/" + where).c_str(),
                                   [b, p](benchmark::State& s) { pointer_chase(s, b, p); })
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

// Like memplace run: the lowest node that has CPUs.
std::optional<int> first_node_with_cpus() {
  auto nodes = list_nodes("");
  for (int n : nodes ? *nodes : std::vector<int>{}) {
    auto cpus = read_node_cpulist("", n);
    if (cpus && !cpus->empty()) return n;
  }
  return std::nullopt;
}

}  // namespace
}  // namespace memplace

int main(int argc, char** argv) {
  using memplace::bench::Flag;
  Flag size = memplace::bench::size_mib_flag(&memplace::g_size);
  Flag cpu_node{"--cpu_node",
                [](const char* v) { return *(memplace::g_cpu_node = std::atoi(v)) >= 0; },
                "a node id"};
  return memplace::bench::bench_main(argc, argv, "locality_bench", {size, cpu_node}, [] {
    if (!memplace::g_cpu_node) memplace::g_cpu_node = memplace::first_node_with_cpus();
    memplace::register_all();
  });
}
