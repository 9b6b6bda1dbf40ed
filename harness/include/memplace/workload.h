// Locality workloads run on memory a policy has placed: a STREAM-like triad (bandwidth) and a
// dependent-load pointer chase over a random cyclic permutation (latency). The kernels are plain
// functions over the caller's memory; run_workload_benchmark() times them with Google Benchmark
// and writes its JSON, so `memplace run --workload` and workloads/locality_bench share them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memplace/result.h"

namespace memplace {

enum class WorkloadKind { kNone, kTriad, kChase };

std::string workload_name(WorkloadKind k);  // "none", "triad", "chase"
Result<WorkloadKind> parse_workload(std::string_view name);

// The chase never walks more than this much of the mapping: far larger than any LLC, and
// building the permutation over a whole multi-GiB mapping would dominate the run.
inline constexpr size_t kChaseMaxBytes = 256ull << 20;
inline constexpr size_t kChaseSlotBytes = 64;  // one cache line per hop

// Splits [mem, mem+len) into three equal double arrays a, b, c and fills b and c.
struct TriadArrays {
  double* a = nullptr;
  const double* b = nullptr;
  const double* c = nullptr;
  size_t n = 0;  // elements per array
};
TriadArrays prepare_triad(void* mem, size_t len);
// a[i] = b[i] + scalar * c[i] for i in [begin, end). 24 bytes of traffic per element.
void triad_range(const TriadArrays& t, size_t begin, size_t end, double scalar);
// Runs the triad once over all elements with one pinned thread per entry of `cpus` (-1 = not
// pinned), each owning a contiguous part.
Status triad_parallel(const TriadArrays& t, const std::vector<int>& cpus, double scalar);

// Links min(len, kChaseMaxBytes) / kChaseSlotBytes slots into one random cycle (Sattolo's
// algorithm, in place): each slot's first word points at the next slot. Returns the slot count.
size_t prepare_chase(void* mem, size_t len, uint64_t seed);
// Follows `steps` links from `start`; returns where it stopped (the caller keeps it alive).
void* chase(void* start, uint64_t steps);

// Times `kind` over the populated mapping [mem, mem+len) with Google Benchmark, threads pinned to
// `cpus`, and writes its JSON to `json_path`. Benchmark names start "triad/threads:N" or
// "chase/threads:1" (a chase is one dependent chain, so one thread); Google Benchmark appends
// "/min_time:.../real_time". `min_time_seconds` is
// Google Benchmark's per-benchmark minimum. Errors starting "unsupported:" mean this build has no
// Google Benchmark.
Status run_workload_benchmark(WorkloadKind kind, void* mem, size_t len,
                              const std::vector<int>& cpus, const std::string& json_path,
                              double min_time_seconds = 0.5);

}  // namespace memplace
