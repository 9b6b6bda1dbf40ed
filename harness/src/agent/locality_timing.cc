// SPDX-License-Identifier: GPL-2.0-only
// The agent's timer for the locality kernels. Kept to libc, threads and nlohmann (see
// locality_timing.h): the static guest agent compiles this file.
#include "agent/locality_timing.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>

#include "base/thread_pin.h"

namespace memplace {
namespace {

using nlohmann::json;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

// Google Benchmark's growth rule, simplified: aim 40 % past the minimum, at most 10x per step.
uint64_t next_iterations(uint64_t iters, double seconds, double min_time) {
  double factor = seconds > 0 ? min_time * 1.4 / seconds : 10.0;
  factor = std::clamp(factor, 1.0, 10.0);
  return std::max(iters + 1, static_cast<uint64_t>(static_cast<double>(iters) * factor));
}

// Runs `iteration(n)` until one call of n iterations lasts min_time, `repetitions` times.
// The iteration count found for one repetition starts the next.
Result<std::vector<TimedRepetition>> repeat(const RepetitionTiming& timing,
                                            const std::function<Status(uint64_t)>& iteration) {
  std::vector<TimedRepetition> reps;
  uint64_t iters = 1;
  constexpr uint64_t kMaxIterations = 1000000000;
  while (static_cast<int>(reps.size()) < timing.repetitions) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = thread_cpu_seconds();
    if (auto s = iteration(iters); !s) return s.error();
    double cpu = thread_cpu_seconds() - c0;
    double real = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (real >= timing.min_time_seconds || iters >= kMaxIterations) {
      reps.push_back({iters, real, cpu});
    } else {
      iters = std::min(kMaxIterations, next_iterations(iters, real, timing.min_time_seconds));
    }
  }
  return reps;
}

struct Unit {
  const char* name;
  double per_second;
};

json entry_for(const LocalityShape& shape, const std::string& run_name, const Unit& unit,
               const TimedRepetition& r) {
  double iters = static_cast<double>(std::max<uint64_t>(r.iterations, 1));
  double real = r.real_seconds > 0 ? r.real_seconds : 1e-12;
  json e = {{"name", run_name},
            {"run_name", run_name},
            {"run_type", "iteration"},
            {"family_index", 0},
            {"per_family_instance_index", 0},
            {"threads", 1},
            {"iterations", r.iterations},
            {"real_time", r.real_seconds / iters * unit.per_second},
            {"cpu_time", r.cpu_seconds / iters * unit.per_second},
            {"time_unit", unit.name}};
  if (shape.kind == LocalityKind::kTriad) {
    double bytes = iters * static_cast<double>(kTriadBytesPerElement * shape.units);
    e["bytes_per_second"] = bytes / real;
    e["elements"] = static_cast<double>(shape.units);
  } else {
    double loads = iters * static_cast<double>(kChaseStepsPerIteration);
    e["items_per_second"] = loads / real;
    e["seconds_per_load"] = real / loads;
    e["chase_bytes"] = static_cast<double>(shape.units * kChaseSlotBytes);
  }
  return e;
}

}  // namespace

json repeated_benchmark_json(const LocalityShape& shape, const RepetitionTiming& timing,
                             const std::vector<TimedRepetition>& reps, const json& context) {
  char min_time[32];
  std::snprintf(min_time, sizeof min_time, "%.3f", timing.min_time_seconds);
  int threads = shape.kind == LocalityKind::kTriad ? std::max(1, shape.threads) : 1;
  std::string run_name = locality_name(shape.kind) + "/threads:" + std::to_string(threads) +
                         "/min_time:" + min_time + "/repeats:" + std::to_string(reps.size()) +
                         "/real_time";
  Unit unit = shape.kind == LocalityKind::kTriad ? Unit{"ms", 1e3} : Unit{"us", 1e6};
  json benchmarks = json::array();
  for (size_t i = 0; i < reps.size(); ++i) {
    json e = entry_for(shape, run_name, unit, reps[i]);
    e["repetitions"] = reps.size();
    e["repetition_index"] = i;
    benchmarks.push_back(e);
  }
  if (!reps.empty()) {
    // Google Benchmark's median aggregate: the median of every figure, iterations = repetitions.
    json m = benchmarks.front();
    m["name"] = run_name + "_median";
    m["run_type"] = "aggregate";
    m["aggregate_name"] = "median";
    m["aggregate_unit"] = "time";
    m["iterations"] = reps.size();
    m.erase("repetition_index");
    for (auto& [key, v] : m.items()) {
      if (!v.is_number_float()) continue;
      std::vector<double> values;
      for (const auto& b : benchmarks) values.push_back(b[key].get<double>());
      v = median(values);
    }
    benchmarks.push_back(m);
  }
  return {{"context", context}, {"benchmarks", benchmarks}};
}

Result<json> time_locality_repeated(LocalityKind kind, void* mem, size_t len,
                                    const std::vector<int>& cpus, const RepetitionTiming& timing,
                                    json context) {
  if (kind == LocalityKind::kNone) return make_error("no locality to run");
  if (timing.repetitions < 1) return make_error("at least one repetition");
  const std::vector<int> workers = cpus.empty() ? std::vector<int>{-1} : cpus;
  Result<json> result = make_error("the timing thread did not run");
  std::thread runner([&] {
    if (auto s = pin_current_thread(workers.front()); !s) {
      result = s.error();
      return;
    }
    LocalityShape shape{kind, static_cast<int>(workers.size()), 0};
    Result<std::vector<TimedRepetition>> reps = make_error("not timed");
    if (kind == LocalityKind::kTriad) {
      TriadArrays t = prepare_triad(mem, len);
      if (t.n == 0) {
        result = make_error("mapping too small for the triad");
        return;
      }
      shape.units = t.n;
      reps = repeat(timing, [&](uint64_t n) -> Status {
        for (uint64_t i = 0; i < n; ++i)
          if (auto s = triad_parallel(t, workers, 3.0); !s) return s;
        return {};
      });
    } else {
      size_t slots = prepare_chase(mem, len, kChaseSeed);
      if (slots < 2) {
        result = make_error("mapping too small for the chase");
        return;
      }
      shape.threads = 1;
      shape.units = slots;
      void* p = mem;
      reps = repeat(timing, [&](uint64_t n) -> Status {
        for (uint64_t i = 0; i < n; ++i) p = chase(p, kChaseStepsPerIteration);
        return {};
      });
      // Where the chase stopped is an output (as benchmark::DoNotOptimize makes it), so no
      // compiler may drop the loads.
      asm volatile("" : : "r"(p) : "memory");
    }
    if (!reps) {
      result = reps.error();
      return;
    }
    context["repetitions"] = timing.repetitions;
    context["min_time"] = timing.min_time_seconds;
    context["cpus"] = kind == LocalityKind::kTriad ? workers : std::vector<int>{workers.front()};
    result = repeated_benchmark_json(shape, timing, *reps, context);
  });
  runner.join();
  return result;
}

}  // namespace memplace
