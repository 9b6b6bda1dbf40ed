// SPDX-License-Identifier: GPL-2.0-only
// The Google Benchmark harness around the locality kernels (agent/locality_kernels.cc). It compiles
// only where Google Benchmark was found at configure time.
#include "experiment/locality_run.h"

#include <fstream>
#include <sstream>
#include <thread>

#include "base/thread_pin.h"

#ifdef MEMPLACE_HAVE_BENCHMARK
#include <benchmark/benchmark.h>
#endif

namespace memplace {

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

}  // namespace

Status run_locality_benchmark(LocalityKind kind, void* mem, size_t len,
                              const std::vector<int>& cpus, const std::string& json_path,
                              double min_time_seconds) {
  if (kind == LocalityKind::kNone) return make_error("no locality to run");
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
    std::string name = locality_name(kind);
    if (kind == LocalityKind::kTriad) {
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
                                         state.iterations() * kTriadBytesPerElement * t.n));
                                     state.counters["elements"] = static_cast<double>(t.n);
                                   })
          ->UseRealTime()
          ->MinTime(min_time_seconds)
          ->Unit(benchmark::kMillisecond);
    } else {
      size_t n = prepare_chase(mem, len, kChaseSeed);
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
Status run_locality_benchmark(LocalityKind, void*, size_t, const std::vector<int>&,
                              const std::string&, double) {
  return unsupported_error("memplace was built without Google Benchmark");
}
#endif

}  // namespace memplace
