// SPDX-License-Identifier: GPL-2.0-only
#include "report/testbed_report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "results/results.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

// Real records (host toucher, 64 MiB, bind:1 and interleave:0-1 on anon and guest_memfd) from a
// testbed run on Debian's 6.18.15 and 7.3.4 cloud kernels.
using testing::kGenericKernel;
using testing::kNumaAwareKernel;

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TestbedReport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("memplace-testbed-report-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    for (const char* k : {kGenericKernel, kNumaAwareKernel}) {
      fs::create_directories(dir_ / k);
      fs::copy_file(fs::path(MEMPLACE_FIXTURES) / "testbed" / k / "runs.jsonl",
                    dir_ / k / "runs.jsonl");
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

size_t find_after(const std::string& text, const std::string& needle, size_t from) {
  size_t p = text.find(needle, from);
  EXPECT_NE(p, std::string::npos) << needle << " not found after " << from << " in:\n" << text;
  return p == std::string::npos ? from : p;
}

TEST_F(TestbedReport, ShowsTheCoverLetterPairAndTheFixes) {
  ASSERT_TRUE(write_testbed_report(dir_.string(), {kGenericKernel, kNumaAwareKernel}).ok());
  std::string md = read_text(dir_ / "report.md");
  EXPECT_NE(md.find("- [6.18.15+deb13-cloud-amd64](6.18.15+deb13-cloud-amd64/report.md): 4 runs, "
                    "tcg"),
            std::string::npos)
      << md;
  // Generic kernel first: interleave on guest_memfd is not honored, then its MemUsed table.
  size_t p = find_after(md, "## The cover letter's case: interleave on guest_memfd", 0);
  p = find_after(md, "### 6.18.15+deb13-cloud-amd64", p);
  p = find_after(md, "`interleave:0-1/guest_memfd/host/64MiB/t1/cpu0` repeat 0: not honored", p);
  p = find_after(md, "MemUsed (MB)", p);
  p = find_after(md, "### 7.3.4+deb13-cloud-amd64", p);
  p = find_after(md, "`interleave:0-1/guest_memfd/host/64MiB/t1/cpu0` repeat 0: honored", p);
  p = find_after(md, "MemUsed (MB)", p);
  // The comparison nests under the report's own section.
  p = find_after(md, "## Every cell across kernels", p);
  p = find_after(md, "### memplace compare", p);
  find_after(md, "**fix**", p);
  EXPECT_TRUE(fs::exists(dir_ / "compare.md"));
  EXPECT_TRUE(fs::exists(dir_ / "compare.json"));
}

TEST_F(TestbedReport, OneKernelHasNoComparison) {
  ASSERT_TRUE(write_testbed_report(dir_.string(), {kNumaAwareKernel}).ok());
  std::string md = read_text(dir_ / "report.md");
  EXPECT_EQ(md.find("across kernels"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "compare.md"));
  EXPECT_NE(md.find("### 7.3.4+deb13-cloud-amd64"), std::string::npos);
}

TEST(TestbedReportPure, SaysSoWhenTheMatrixHasNoInterleaveGuestMemfdRun) {
  RunRecord r;
  r.policy = "bind";
  r.backing = "anon";
  std::string md = render_testbed_report("t", {{"k", {r}}}, "");
  EXPECT_NE(md.find("No interleave/guest_memfd run in this matrix."), std::string::npos) << md;
}

// Three kernels read as a timeline: the 6.18 records (guest_memfd not honored) first, then 7.3's
// (honored) twice; the first kernel where each cell is honored, and one lost again, are named.
TEST(KernelTimeline, NamesTheFirstKernelWhereEachCellIsHonored) {
  auto older =
      read_runs(std::string(MEMPLACE_FIXTURES) + "/testbed/" + kGenericKernel + "/runs.jsonl");
  auto newer =
      read_runs(std::string(MEMPLACE_FIXTURES) + "/testbed/" + kNumaAwareKernel + "/runs.jsonl");
  ASSERT_TRUE(older.ok() && newer.ok());
  std::vector<TestbedKernelRecords> kernels = {{"6.18.15+deb13-cloud-amd64", older->records},
                                               {"7.3.4+deb13-cloud-amd64", newer->records},
                                               {"7.4.0+test", older->records}};
  std::string md = render_testbed_report("t", kernels, "");
  ASSERT_NE(md.find("## Kernel timeline"), std::string::npos) << md;
  EXPECT_NE(md.find("| cell | 6.18.15 | 7.3.4 | 7.4.0 | first honored |"), std::string::npos) << md;
  const size_t row = md.find("| `interleave:0-1/guest_memfd/host/64MiB/t1/cpu0` |");
  ASSERT_NE(row, std::string::npos) << md;
  const std::string line = md.substr(row, md.find('\n', row) - row);
  EXPECT_NE(line.find("**not honored**"), std::string::npos) << line;
  EXPECT_NE(line.find("| 7.3.4 (not on 7.4.0) |"), std::string::npos) << line;
  const size_t anon = md.find("| `interleave:0-1/anon/host/64MiB/t1/cpu0` |");
  ASSERT_NE(anon, std::string::npos);
  EXPECT_NE(md.substr(anon, md.find('\n', anon) - anon).find("| 6.18.15 |"), std::string::npos);
  // Two kernels are a comparison, not a timeline.
  EXPECT_EQ(render_testbed_report("t", {kernels[0], kernels[1]}, "").find("## Kernel timeline"),
            std::string::npos);
}

}  // namespace
}  // namespace memplace
