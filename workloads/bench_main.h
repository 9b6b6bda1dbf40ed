// SPDX-License-Identifier: GPL-2.0-only
// The main() the benchmark programs here share: Google Benchmark takes its own flags, the
// program's "--name=value" flags go to their setters, and anything else is refused with exit 2.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>

namespace memplace::bench {

struct Flag {
  const char* name;                            // "--size_mib"
  std::function<bool(const char* value)> set;  // false: the value is refused
  const char* wants;                           // "a positive number of MiB", for the error
};

// --size_mib=N: the size every benchmark of the program maps.
inline Flag size_mib_flag(uint64_t* size) {
  return {"--size_mib",
          [size](const char* v) { return (*size = std::strtoull(v, nullptr, 10) << 20) > 0; },
          "a positive number of MiB"};
}

// Parses the flags, then runs `register_benchmarks` and every benchmark selected.
inline int bench_main(int argc, char** argv, const char* program, std::initializer_list<Flag> flags,
                      const std::function<void()>& register_benchmarks) {
  benchmark::Initialize(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    const Flag* match = nullptr;
    for (const Flag& f : flags) {
      size_t n = std::strlen(f.name);
      if (std::strncmp(argv[i], f.name, n) == 0 && argv[i][n] == '=') match = &f;
    }
    if (!match) {
      std::fprintf(stderr, "%s: unknown argument %s\n", program, argv[i]);
      return 2;
    }
    if (!match->set(argv[i] + std::strlen(match->name) + 1)) {
      std::fprintf(stderr, "%s: %s wants %s\n", program, match->name, match->wants);
      return 2;
    }
  }
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace memplace::bench
