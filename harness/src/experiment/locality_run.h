// SPDX-License-Identifier: GPL-2.0-only
// Timing the locality kernels (agent/locality_kernels.h) with Google Benchmark on the host:
// run_locality_benchmark() writes Google Benchmark's JSON, which `memplace run --locality` links
// from the record and workloads/locality_bench produces too. The guest agent, which cannot link
// libbenchmark, times the same kernels with agent/locality_timing.h into the same JSON shape.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "agent/locality_kernels.h"
#include "base/result.h"

namespace memplace {

// Times `kind` over the populated mapping [mem, mem+len) with Google Benchmark, threads pinned to
// `cpus`, and writes its JSON to `json_path`. Benchmark names start "triad/threads:N" or
// "chase/threads:1" (a chase is one dependent chain, so one thread); Google Benchmark appends
// "/min_time:.../real_time". `min_time_seconds` is
// Google Benchmark's per-benchmark minimum. An ErrorKind::kUnsupported error means this build has
// no Google Benchmark.
Status run_locality_benchmark(LocalityKind kind, void* mem, size_t len,
                              const std::vector<int>& cpus, const std::string& json_path,
                              double min_time_seconds = 0.5);

}  // namespace memplace
