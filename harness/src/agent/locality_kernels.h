// SPDX-License-Identifier: GPL-2.0-only
// The locality kernels: a STREAM-like triad (bandwidth) and a dependent-load pointer chase over
// a random cyclic permutation (latency), as plain functions over the caller's memory. libc and
// threads only, so the static guest agent compiles them as they are (like populate.cc); the
// Google Benchmark harness (experiment/locality_run.h) and the agent's repetition timer
// (locality_timing.h) both time these, and nothing else implements them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

enum class LocalityKind { kNone, kTriad, kChase };

std::string locality_name(LocalityKind k);  // "none", "triad", "chase"
Result<LocalityKind> parse_locality(std::string_view name);

// The chase never walks more than this much of the mapping: far larger than any LLC, and
// building the permutation over a whole multi-GiB mapping would dominate the run.
inline constexpr size_t kChaseMaxBytes = 256ull << 20;
inline constexpr size_t kChaseSlotBytes = 64;  // one cache line per hop
// Hops per timed iteration, and the permutation's seed: the same in every timer.
inline constexpr uint64_t kChaseStepsPerIteration = 1u << 16;
inline constexpr uint64_t kChaseSeed = 0x6d656d706c616365ull;

// Splits [mem, mem+len) into three equal double arrays a, b, c and fills b and c.
struct TriadArrays {
  double* a = nullptr;
  const double* b = nullptr;
  const double* c = nullptr;
  size_t n = 0;  // elements per array
};
inline constexpr size_t kTriadBytesPerElement = 3 * sizeof(double);  // read b, c; write a
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

}  // namespace memplace
