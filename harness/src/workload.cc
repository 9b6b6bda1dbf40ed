// The locality kernels and their Google Benchmark harness. The kernels need nothing but the
// memory; the harness part compiles only where Google Benchmark was found at configure time.
#include "memplace/workload.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "memplace/toucher.h"

#ifdef MEMPLACE_HAVE_BENCHMARK
#include <benchmark/benchmark.h>
#endif

namespace memplace {
namespace {

struct ChaseSlot {
  ChaseSlot* next;
  char pad[kChaseSlotBytes - sizeof(ChaseSlot*)];
};
static_assert(sizeof(ChaseSlot) == kChaseSlotBytes);

}  // namespace

std::string workload_name(WorkloadKind k) {
  switch (k) {
    case WorkloadKind::kNone:
      return "none";
    case WorkloadKind::kTriad:
      return "triad";
    case WorkloadKind::kChase:
      return "chase";
  }
  return "unknown";
}

Result<WorkloadKind> parse_workload(std::string_view name) {
  for (WorkloadKind k : {WorkloadKind::kNone, WorkloadKind::kTriad, WorkloadKind::kChase})
    if (name == workload_name(k)) return k;
  return make_error("unknown workload '" + std::string(name) + "' (known: none, triad, chase)");
}

TriadArrays prepare_triad(void* mem, size_t len) {
  // Each array starts on a cache line, so threads' parts never share a line at the seams.
  size_t n = (len / 3) / 64 * 64 / sizeof(double);
  auto* base = static_cast<double*>(mem);
  double* a = base;
  double* b = base + n;
  double* c = base + 2 * n;
  for (size_t i = 0; i < n; ++i) {
    a[i] = 0.0;
    b[i] = 1.0;
    c[i] = 2.0;
  }
  return TriadArrays{a, b, c, n};
}

void triad_range(const TriadArrays& t, size_t begin, size_t end, double scalar) {
  double* __restrict a = t.a;
  const double* __restrict b = t.b;
  const double* __restrict c = t.c;
  for (size_t i = begin; i < end; ++i) a[i] = b[i] + scalar * c[i];
}

Status triad_parallel(const TriadArrays& t, const std::vector<int>& cpus, double scalar) {
  const size_t parts = std::max<size_t>(cpus.size(), 1);
  if (parts == 1) {
    triad_range(t, 0, t.n, scalar);
    return {};
  }
  std::vector<Error> errors(parts);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < parts; ++i) {
    threads.emplace_back([&, i] {
      if (auto s = pin_current_thread(cpus[i]); !s) {
        errors[i] = s.error();
        return;
      }
      triad_range(t, t.n * i / parts, t.n * (i + 1) / parts, scalar);
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors)
    if (!e.message.empty()) return e;
  return {};
}

size_t prepare_chase(void* mem, size_t len, uint64_t seed) {
  const size_t n = std::min(len, kChaseMaxBytes) / kChaseSlotBytes;
  if (n == 0) return 0;
  auto* slots = static_cast<ChaseSlot*>(mem);
  for (size_t i = 0; i < n; ++i) slots[i].next = &slots[i];
  // Sattolo: swapping each entry only with an earlier one yields a single n-cycle, so the chase
  // visits every slot before repeating and the prefetcher sees no pattern.
  std::mt19937_64 rng(seed);
  for (size_t i = n - 1; i > 0; --i) {
    size_t j = std::uniform_int_distribution<size_t>(0, i - 1)(rng);
    std::swap(slots[i].next, slots[j].next);
  }
  return n;
}

void* chase(void* start, uint64_t steps) {
  auto* p = static_cast<ChaseSlot*>(start);
  for (uint64_t i = 0; i < steps; ++i) p = p->next;
  return p;
}

#ifdef MEMPLACE_HAVE_BENCHMARK
namespace {

// Google Benchmark writes to its display reporter only; a JSONReporter pointed at the file is
// the whole output (a file reporter would need --benchmark_out, and exits without it).
Status run_registered(const std::string& json_path) {
  std::ofstream out(json_path);
  if (!out) return errno_error("cannot write " + json_path);
  std::ostringstream errors;
  benchmark::JSONReporter reporter;
  reporter.SetOutputStream(&out);
  reporter.SetErrorStream(&errors);
  size_t ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  out.close();
  if (!out) return errno_error("writing " + json_path);
  if (ran == 0) return make_error("no benchmark ran: " + errors.str());
  return {};
}

constexpr uint64_t kChaseStepsPerIteration = 1u << 16;

}  // namespace

Status run_workload_benchmark(WorkloadKind kind, void* mem, size_t len,
                              const std::vector<int>& cpus, const std::string& json_path,
                              double min_time_seconds) {
  if (kind == WorkloadKind::kNone) return make_error("no workload to run");
  const std::vector<int> workers = cpus.empty() ? std::vector<int>{-1} : cpus;
  Status result;
  // The benchmark loop runs on its own thread pinned like the first worker, so the caller's
  // affinity is left alone.
  std::thread runner([&] {
    if (auto s = pin_current_thread(workers.front()); !s) {
      result = s;
      return;
    }
    benchmark::ClearRegisteredBenchmarks();
    std::string name = workload_name(kind);
    if (kind == WorkloadKind::kTriad) {
      TriadArrays t = prepare_triad(mem, len);
      if (t.n == 0) {
        result = make_error("mapping too small for the triad");
        return;
      }
      name += "/threads:" + std::to_string(workers.size());
      benchmark::RegisterBenchmark(name.c_str(),
                                   [t, workers](benchmark::State& state) {
                                     for (auto _ : state) {
                                       if (auto s = triad_parallel(t, workers, 3.0); !s) {
                                         state.SkipWithError(s.error().describe().c_str());
                                         break;
                                       }
                                     }
                                     state.SetBytesProcessed(static_cast<int64_t>(
                                         state.iterations() * 3 * sizeof(double) * t.n));
                                     state.counters["elements"] = static_cast<double>(t.n);
                                   })
          ->UseRealTime()
          ->MinTime(min_time_seconds)
          ->Unit(benchmark::kMillisecond);
    } else {
      size_t n = prepare_chase(mem, len, 0x6d656d706c616365ull);
      if (n < 2) {
        result = make_error("mapping too small for the chase");
        return;
      }
      name += "/threads:1";
      benchmark::RegisterBenchmark(
          name.c_str(),
          [mem, n](benchmark::State& state) {
            void* p = mem;
            for (auto _ : state) {
              p = chase(p, kChaseStepsPerIteration);
              benchmark::DoNotOptimize(p);
            }
            state.SetItemsProcessed(
                static_cast<int64_t>(state.iterations() * kChaseStepsPerIteration));
            // Seconds per dependent load (Google Benchmark prints it scaled, e.g. "95ns").
            state.counters["seconds_per_load"] = benchmark::Counter(
                static_cast<double>(kChaseStepsPerIteration),
                benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
            state.counters["chase_bytes"] = static_cast<double>(n * kChaseSlotBytes);
          })
          ->UseRealTime()
          ->MinTime(min_time_seconds)
          ->Unit(benchmark::kMicrosecond);
    }
    result = run_registered(json_path);
  });
  runner.join();
  return result;
}
#else
Status run_workload_benchmark(WorkloadKind, void*, size_t, const std::vector<int>&,
                              const std::string&, double) {
  return make_error("unsupported: memplace was built without Google Benchmark");
}
#endif

}  // namespace memplace
