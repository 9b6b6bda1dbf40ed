// SPDX-License-Identifier: GPL-2.0-only
// Golden-file helpers shared by the tests that compare rendered text with checked-in output.
// MEMPLACE_UPDATE_GOLDEN=1 rewrites the goldens instead of comparing.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "results/results.h"

namespace memplace::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Compares `actual` with the file at `path` (a golden, or generated docs).
inline void expect_file_matches(const std::string& actual, const std::string& path) {
  if (std::getenv("MEMPLACE_UPDATE_GOLDEN")) {
    ASSERT_TRUE(write_file_atomic(path, actual).ok());
    return;
  }
  ASSERT_TRUE(std::filesystem::exists(path))
      << path << " missing; run with MEMPLACE_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, slurp(path)) << "differs from " << path;
}

// Compares `actual` with MEMPLACE_FIXTURES/golden/<name>.
inline void expect_golden(const std::string& actual, const std::string& name) {
  expect_file_matches(actual, std::string(MEMPLACE_FIXTURES) + "/golden/" + name);
}

}  // namespace memplace::testing
