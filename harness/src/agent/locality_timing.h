// SPDX-License-Identifier: GPL-2.0-only
// The locality kernels timed without Google Benchmark, for the static guest agent (Debian ships
// libbenchmark as a shared library only): a fixed number of repetitions, each running enough
// iterations to last at least a minimum time, reported in Google Benchmark's JSON shape (one
// "iteration" entry per repetition, then their "median" aggregate, with the counters the
// libbenchmark harness in experiment/locality_run.cc sets) so one reader serves host and guest
// results. Compiled into the agent and the core library; depends on the kernels, threads and
// nlohmann.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "agent/locality_kernels.h"
#include "base/result.h"

namespace memplace {

struct RepetitionTiming {
  int repetitions = 5;
  double min_time_seconds = 0.1;
};

// One repetition as measured.
struct TimedRepetition {
  uint64_t iterations = 0;
  double real_seconds = 0;  // wall time of all its iterations
  double cpu_seconds = 0;   // CPU time of the timing thread (Google Benchmark's cpu_time)
};

// What one iteration of a kernel did, for the names and rate counters.
struct LocalityShape {
  LocalityKind kind = LocalityKind::kNone;
  int threads = 1;     // triad workers; a chase is one thread
  uint64_t units = 0;  // triad: elements per array; chase: slots in the cycle
};

// Pure. Names follow Google Benchmark's for the same registration as experiment/locality_run.cc's
// plus Repetitions(): "triad/threads:2/min_time:0.100/repeats:5/real_time" and "..._median". The
// triad reports bytes_per_second and elements (ms); the chase items_per_second,
// seconds_per_load and chase_bytes (us). `context` is copied as the "context" object.
nlohmann::json repeated_benchmark_json(const LocalityShape& shape, const RepetitionTiming& timing,
                                       const std::vector<TimedRepetition>& reps,
                                       const nlohmann::json& context);

// Prepares `kind` on the populated [mem, mem+len) and times it: the triad with one worker per
// entry of `cpus` (-1 = unpinned), the chase on the first. The timing loop runs on its own
// thread pinned like the first worker, so the caller's affinity is left alone. Returns
// repeated_benchmark_json() with `context` extended by "repetitions", "min_time" and "cpus".
Result<nlohmann::json> time_locality_repeated(LocalityKind kind, void* mem, size_t len,
                                              const std::vector<int>& cpus,
                                              const RepetitionTiming& timing,
                                              nlohmann::json context);

}  // namespace memplace
