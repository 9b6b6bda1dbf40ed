// SPDX-License-Identifier: GPL-2.0-only
// The checks of spec values a key's plain range cannot state, used by the key codecs
// (spec_key_codecs.cc), so the TOML reader and the flags share them; plain integer ranges are the
// table's own (spec_keys.cc). Errors name `field` ("matrix.threads", "--threads").
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
Result<double> check_tolerance(double tolerance, const std::string& field);
// "auto" or a populate method's name, kept as spelled.
Result<std::string> check_populate_name(const std::string& name, const std::string& field);
// A locality loop's name, kept as spelled.
Result<std::string> check_locality_name(const std::string& name, const std::string& field);
// The number of cells expand() would produce, refused above kMaxCells.
Status check_matrix_size(const Spec& spec);

}  // namespace memplace
