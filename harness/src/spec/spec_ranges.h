// SPDX-License-Identifier: GPL-2.0-only
// The ranges of a spec's numbers, one validator each, shared by the TOML reader (spec.cc) and
// the CLI's flags (cli/commands.cc): a value either path accepts is one --resume accepts again
// from the results dir's spec.toml. Errors name `field` ("matrix.repeats", "--repeats").
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace memplace {

struct Spec;

inline constexpr int kMaxThreads = 1024;
inline constexpr int kMaxRepeats = 10000;
inline constexpr int kMaxSampleIntervalMs = 60000;
// Expanded cells per matrix: far beyond any real experiment, and a bound on what expand()
// allocates before anything else is checked.
inline constexpr uint64_t kMaxCells = 100000;

Result<int> check_threads(int64_t threads, const std::string& field);
Result<int> check_repeats(int64_t repeats, const std::string& field);
Result<int> check_sample_interval_ms(int64_t ms, const std::string& field);
Result<double> check_tolerance(double tolerance, const std::string& field);
// 8 KiB (two sub-buffers) is the least a ring buffer takes; 1 GiB per CPU is plenty; 0 = default.
Result<uint64_t> check_trace_buffer_kib(int64_t kib, const std::string& field);
// "auto" or a populate method's name, kept as spelled.
Result<std::string> check_populate_name(const std::string& name, const std::string& field);
// A locality loop's name, kept as spelled.
Result<std::string> check_locality_name(const std::string& name, const std::string& field);
// The number of cells expand() would produce, refused above kMaxCells.
Status check_matrix_size(const Spec& spec);

}  // namespace memplace
