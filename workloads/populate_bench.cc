// populate_bench: how fast the vcpu toucher faults a range in against the host toucher, per
// backing and thread/vCPU count, on the same size. Reports bytes/s for the whole populate and
// per thread or vCPU (each one's slice over its own time).
//   populate_bench [--size_mib=256] [google benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "memplace/backing.h"
#include "memplace/toucher.h"

namespace memplace {
namespace {

uint64_t g_size = 256ull << 20;

void populate(benchmark::State& state, BackingKind backing, const std::string& toucher_name) {
  const int threads = static_cast<int>(state.range(0));
  Cell cell;
  cell.backing = backing;
  cell.toucher = toucher_name;
  cell.size_bytes = g_size;
  cell.threads = threads;
  auto toucher = toucher_name == "vcpu" ? make_vcpu_toucher() : make_host_toucher();
  double per_thread_rate_sum = 0;
  std::string stats_method;
  for (auto _ : state) {
    auto mapping = create_backing(backing, g_size);
    if (!mapping) {
      state.SkipWithError(mapping.error().describe().c_str());
      return;
    }
    auto stats = toucher->touch(cell, *mapping);
    if (!stats) {
      state.SkipWithError(stats.error().describe().c_str());
      return;
    }
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

void register_all() {
  for (BackingKind b : {BackingKind::kAnon, BackingKind::kShmem, BackingKind::kGuestMemfd}) {
    for (const char* t : {"vcpu", "host"}) {
      benchmark::RegisterBenchmark(("populate/" + backing_name(b) + "/" + t).c_str(),
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
  benchmark::Initialize(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--size_mib=", 11) == 0) {
      memplace::g_size = std::strtoull(argv[i] + 11, nullptr, 10) << 20;
    } else {
      std::fprintf(stderr, "populate_bench: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (memplace::g_size == 0) {
    std::fprintf(stderr, "populate_bench: --size_mib must be positive\n");
    return 2;
  }
  memplace::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
