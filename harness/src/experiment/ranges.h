// The valid range of each numeric setting of a run: one definition for a spec's TOML and for
// the command line's flags, so `threads = 0` and `--threads 0` are refused alike. Errors name
// the field as the user wrote it: "matrix.threads[1]: must be 1..1024, got 0".
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace memplace {

struct IntRange {
  int64_t lo;
  int64_t hi;
};

inline constexpr IntRange kThreadsRange{1, 1024};            // touching threads or vCPUs
inline constexpr IntRange kRepeatsRange{1, 10000};           // repeats of each cell
inline constexpr IntRange kSampleIntervalMsRange{1, 60000};  // meminfo sampling
inline constexpr IntRange kNodeIdRange{0, 4095};             // a cpu_node

// `value` as an int when it lies in `range`.
Result<int> check_range(int64_t value, IntRange range, const std::string& field);
// The verdict tolerance: a share of the cell strictly between 0 and 1.
Result<double> check_tolerance(double value, const std::string& field);

}  // namespace memplace
