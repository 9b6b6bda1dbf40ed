// SPDX-License-Identifier: GPL-2.0-only
// `memplace compare` and `memplace plot` through the real binary, on the checked-in sample dirs.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "memplace_exec.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;

// The exit status of `memplace <args>`.
int memplace_status(const std::string& args) {
  return memplace::testing::run_memplace(args).status;
}

using memplace::testing::fixture_path;
using memplace::testing::fresh_temp_dir;

// The checked-in sample dirs: a kernel without the series and one with it.
const std::string kWithout = fixture_path("results/k6.18");
const std::string kWith = fixture_path("results/k7.0");

TEST(CompareCommand, FailOnRegressionExitsOneOnlyWhenSomethingRegressed) {
  EXPECT_EQ(memplace_status("compare " + kWithout + " " + kWith + " --fail-on-regression"), 1);
  EXPECT_EQ(memplace_status("compare " + kWithout + " " + kWithout + " --fail-on-regression"), 0);
  EXPECT_EQ(memplace_status("compare " + kWithout + " " + kWith), 0);
}

TEST(CompareCommand, WritesAllThreeFormats) {
  std::string out = fresh_temp_dir("cmp");
  ASSERT_EQ(memplace_status("compare " + kWithout + " " + kWith + " --format json --out " + out),
            0);
  for (const char* f : {"compare.md", "compare.csv", "compare.json"})
    EXPECT_GT(fs::file_size(out + "/" + f), 0u) << f;
  fs::remove_all(out);
}

TEST(CompareCommand, BadInputExitsTwo) {
  EXPECT_EQ(memplace_status("compare " + kWithout), 2);
  EXPECT_EQ(memplace_status("compare " + kWithout + " " + kWith + " --format yaml"), 2);
  EXPECT_EQ(memplace_status("compare " + kWithout + " /nonexistent/dir"), 2);
}

TEST(PlotCommand, DrawsTheChartsOfADir) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-matplotlib is not installed";
  std::string out = fresh_temp_dir("plot");
  ASSERT_EQ(memplace_status("plot " + kWithout + " " + kWith + " --out " + out), 0);
  size_t pngs = 0;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().extension() == ".png" && fs::file_size(e.path()) > 1000) ++pngs;
  EXPECT_GE(pngs, 4u);
  fs::remove_all(out);
}

}  // namespace
