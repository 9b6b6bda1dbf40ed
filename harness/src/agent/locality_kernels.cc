// SPDX-License-Identifier: GPL-2.0-only
// The locality kernels. Kept free of the rest of the harness (see locality_kernels.h): the
// static guest agent compiles this file.
#include "agent/locality_kernels.h"

#include <algorithm>
#include <random>
#include <thread>

#include "base/enum_names.h"
#include "base/thread_pin.h"

namespace memplace {
namespace {

struct ChaseSlot {
  ChaseSlot* next;
  char pad[kChaseSlotBytes -
           sizeof(ChaseSlot*)];  // NOLINT(bugprone-sizeof-expression): the link's size
};
static_assert(sizeof(ChaseSlot) == kChaseSlotBytes);

}  // namespace

constexpr EnumNames<LocalityKind, 3> kLocalityNames{{"none", "triad", "chase"}};

std::string locality_name(LocalityKind k) {
  return name_of(kLocalityNames, k, "unknown");
}

Result<LocalityKind> parse_locality(std::string_view name) {
  return parse_named(kLocalityNames, name, "locality");
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

}  // namespace memplace
